#!/usr/bin/env bash
# Installs every Debian package the project needs to build, test and run (`make deps`).
# Idempotent: asks dpkg first and calls apt-get only for what is missing.
# `install-deps.sh --list` prints the list, one package a line (tests/tools/check-link-deps.py
# checks every library the build links against it).
set -euo pipefail

# One list, grouped by what needs it. Keep it sorted inside each group.
PACKAGES=(
  # toolchain and test frameworks
  build-essential clang clang-format clang-tidy cmake googletest libbenchmark-dev libclang-rt-14-dev
  libgmock-dev libgtest-dev pkg-config python3
  # libraries vlcpd links
  libboost-dev libdpdk-dev liblmdb-dev libnuma-dev libssl-dev libzookeeper-mt-dev nlohmann-json3-dev
  prometheus-cpp-dev
  # libopenvswitch is built from this source package (Debian has no libopenvswitch-dev)
  autoconf automake libtool openvswitch-source
  # the real components system tests run
  openvswitch-switch openvswitch-switch-dpdk openvswitch-testcontroller prometheus zookeeper
  default-jre-headless
  # host tools used by the sandbox
  curl ethtool iperf3 iproute2 iputils-ping isc-dhcp-client netcat-openbsd openssl procps tcpdump
  # packaging and the appliance: make deb / deb-test / image / image-test, and the man page and
  # systemd unit checks in make test
  debhelper lintian man-db mmdebstrap ovmf qemu-system-x86 qemu-utils systemd systemd-container
  # containers on VLCP networks (issue 19): dockerd started by the tests in the servers'
  # namespaces, images imported from busybox-static (nothing pulled); Go and Debian's libcni drive
  # vlcp-cni as a runtime does (tests/unit/cni: the libcni oracle)
  busybox-static docker.io golang-github-appc-cni-dev golang-go
  # the peers the benchmarks compare with (perf/run_l2.sh: controller learning;
  # perf/run_dhcp_lease.sh: OVN's native DHCP)
  ovn-central ovn-host python3-os-ken
)

if [ "${1:-}" = --list ]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages (${missing[*]}); run 'make deps' as root" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they are absent or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mmin -1440 2>/dev/null | head -1)" ]; then
  apt-get update -q
fi
apt-get install -y -q "${missing[@]}"
