#!/usr/bin/env bash
# Builds the Debian packages vlcpd and vlcpctl into build/deb/ (`make deb`).
#
# The committed tree (git archive HEAD) is staged in build/deb/stage/vlcp with appliance/debian
# as its debian/, and dpkg-buildpackage builds there (binary packages only) with debhelper and
# the project's own CMake; libopenvswitch comes from build/ovs, built by the same script
# `make libovs` runs. Then lintian checks the packages (errors and warnings fail the build).
#
#   VLCP_DEB_WORKTREE=1   stage the working tree (tracked and untracked files) instead of HEAD
#   VLCP_DEB_VERSION=V    the package version (default: the project's version from
#                         CMakeLists.txt + "+git<commit time>.<commit>", so every commit upgrades)
#   JOBS=N                parallel compile jobs (default: nproc)
#
# build-deb.sh --prebuilt TREE [--out DIR]: package the vlcpd and vlcpctl of build tree TREE
# (the working tree's appliance/debian, no compile: about a minute) into DIR (default
# TREE/deb); the test suite packages its own build this way (tests/system/deb_package.sh).
set -euo pipefail
# (all of it in one block: bash reads it whole before running it, so an edit during a build
# cannot break that build)
{
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/deb
prebuilt=
while [ $# -gt 0 ]; do
  case "$1" in
    --prebuilt) prebuilt=$(realpath "$2"); out=$prebuilt/deb; export VLCP_DEB_WORKTREE=1; shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    *) echo "usage: build-deb.sh [--prebuilt TREE] [--out DIR]" >&2; exit 2 ;;
  esac
done
stage=$out/stage
src=$stage/vlcp
libovs=$root/build/ovs
jobs=${JOBS:-$(nproc)}
t0=$SECONDS

for tool in dpkg-buildpackage dh lintian git; do
  command -v "$tool" >/dev/null || { echo "deb: $tool missing (make deps installs it)" >&2; exit 1; }
done

[ -n "$prebuilt" ] || "$root/src/tools/build-libovs.sh" "$libovs"
mkdir -p "$out"

# Stage: a fixed path, so ccache (when present) hits across builds of unchanged files.
rm -rf "$src"
mkdir -p "$src"
if [ -n "${VLCP_DEB_WORKTREE:-}" ]; then
  (cd "$root" && git ls-files -co --exclude-standard -z | grep -zv '^build/' |
    xargs -0 cp --parents -t "$src" 2>/dev/null) || true
  state=$( [ -n "$(cd "$root" && git status --porcelain -- . ':!build')" ] && echo ".dirty" || true)
else
  git -C "$root" archive --format=tar HEAD | tar -x -C "$src"
  state=
fi
[ -d "$src/appliance/debian" ] || { echo "deb: appliance/debian is not in the staged tree (committed?)" >&2; exit 1; }
cp -a "$src/appliance/debian" "$src/debian"

upstream=$(sed -n 's/^project(vlcp VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
commit_time=$(git -C "$root" show -s --format=%cd --date=format-local:%Y%m%d%H%M%S HEAD)
commit=$(git -C "$root" rev-parse --short=7 HEAD)
version=${VLCP_DEB_VERSION:-$upstream+git$commit_time.$commit$state}
# The snapshot's changelog entry, above the committed history.
{
  echo "vlcp ($version) unstable; urgency=medium"
  echo
  echo "  * Snapshot of $commit$state."
  echo
  echo " -- VLCP developers <vlcp-dev@lists.example.org>  $(date -R -u)"
  echo
  cat "$src/debian/changelog"
} >"$src/debian/changelog.new"
mv "$src/debian/changelog.new" "$src/debian/changelog"

rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo "$stage"/*.deb "$stage"/*.ddeb \
  "$stage"/*.changes "$stage"/*.buildinfo
echo "deb: building vlcp $version in $src ($jobs jobs)"
export VLCP_LIBOVS_DIR=$libovs VLCP_PREBUILT=$prebuilt
if command -v ccache >/dev/null; then
  export VLCP_CCACHE=1 CCACHE_BASEDIR=$src CCACHE_NOHASHDIR=1
fi
# A prebuilt tree's packages are for the tests: no -dbgsym packages (compressing vlcpd's debug
# info alone takes minutes here).
options="parallel=$jobs${prebuilt:+ noautodbgsym}"
(cd "$src" && DEB_BUILD_OPTIONS="$options" dpkg-buildpackage -b -uc -us) >"$out/build.log" 2>&1 || {
  tail -40 "$out/build.log" >&2
  echo "deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
  exit 1
}
grep -E '^(vlcpctl\(1\)|bash completion):' "$out/build.log" || true
mv "$stage"/*.deb "$stage"/*.changes "$stage"/*.buildinfo "$out"/
mv "$stage"/*.ddeb "$out"/ 2>/dev/null || true
echo "deb: built in $((SECONDS - t0)) s:"
(cd "$out" && ls -l --block-size=K -- *.deb | awk '{print "  " $5 "  " $9}')

changes=$(ls "$out"/*.changes)
echo "deb: lintian $(basename "$changes")"
lintian --fail-on error,warning --display-info "$changes" |
  tee "$out/lintian.log"
echo "deb: lintian clean (errors and warnings; info tags above, if any)"
exit 0
}
