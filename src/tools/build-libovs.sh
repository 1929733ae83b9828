#!/usr/bin/env bash
# Builds libopenvswitch (static) and its generated headers from Debian's openvswitch-source
# into the build tree: build-libovs.sh OUTDIR. Used only by test binaries (the differential
# oracle of our codec) and the OVSDB IDL; idempotent through a stamp file.
set -euo pipefail

out=$(realpath -m "${1:?usage: build-libovs.sh OUTDIR}")
tarball=/usr/src/openvswitch/openvswitch.tar.gz
stamp=$out/.built

# Every optional feature OVS's configure would detect on its own is decided here, so every machine
# builds the same libopenvswitch and links the same libraries (CMakeLists.txt reads them from the
# lib/libopenvswitch.pc configure writes). On: OpenSSL (libssl-dev, in install-deps.sh). Off: what
# neither the codec oracle nor the OVSDB IDL needs: libcap-ng, AF_XDP (libxdp/libbpf/libnuma),
# DPDK, and unbound and libunwind, which have no --disable switch: their cached link tests are
# answered "no". Turning one on means adding its -dev package to install-deps.sh (the
# link_deps test fails otherwise).
CONFIGURE_OPTIONS=(
  --enable-ssl --disable-libcapng --disable-afxdp --without-dpdk --disable-usdt-probes
  ac_cv_lib_unbound_ub_ctx_create=no ac_cv_lib_unwind_unw_backtrace=no
)

# Up to date when built from this tarball with these options (the stamp records them).
if [ -f "$stamp" ] && [ "$stamp" -nt "$tarball" ] &&
  [ "$(cat "$stamp")" = "${CONFIGURE_OPTIONS[*]}" ]; then
  echo "libovs: up to date in $out"
  exit 0
fi
[ -f "$tarball" ] || { echo "libovs: $tarball missing (install openvswitch-source: make deps)" >&2; exit 1; }

start=$(date +%s)
rm -rf "$out"
mkdir -p "$out"
tar -xzf "$tarball" -C "$out" --strip-components=1
cd "$out"
[ -x configure ] || ./boot.sh >/dev/null
# No kernel module, no Python extensions: just the library and what it generates.
./configure --quiet --enable-silent-rules "${CONFIGURE_OPTIONS[@]}" >configure.log 2>&1 || {
  tail -30 configure.log >&2
  exit 1
}
jobs=$(nproc)
# The generated headers (odp-netlink.h, the IDLs, ...) are automake's BUILT_SOURCES, which a
# targeted make of the library does not produce: list them from the Makefile and make them first.
built_sources=$(make -s -f Makefile -f <(printf 'vlcp-print-built-sources:\n\t@echo $(BUILT_SOURCES)\n') \
  vlcp-print-built-sources)
# shellcheck disable=SC2086
make -s -j"$jobs" $built_sources >make.log 2>&1 || {
  tail -30 make.log >&2
  exit 1
}
make -s -j"$jobs" lib/libopenvswitch.la lib/libopenvswitchavx512.la >>make.log 2>&1 || {
  tail -30 make.log >&2
  exit 1
}
echo "${CONFIGURE_OPTIONS[*]}" >"$stamp"
echo "libovs: built in $(($(date +%s) - start)) s into $out"
