#!/usr/bin/env bash
# The link-dependency checker: a library whose -dev package `make deps` does not install fails
# (the -lunbound of issue 14), libraries reached through the packages' dependencies pass, what the
# compiler driver adds by itself counts, and the real build trees are clean.
# Usage: check_link_deps_test.sh CHECKER BUILD_DIR [OTHER_BUILD_DIR...]  (others: when they exist)
set -u
checker=${1:?usage: check_link_deps_test.sh CHECKER BUILD_DIR [OTHER_BUILD_DIR...]}
builds=("${2:?}")
for b in "${@:3}"; do
  [ -f "$b/CMakeCache.txt" ] && builds+=("$b")
done
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/assert.sh
. "$here/../lib/assert.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A fake build tree: one target whose CMake link line we write.
mkdir -p "$tmp/b/CMakeFiles/t.dir"
cxx=/usr/bin/c++
link() { echo "$cxx -O2 CMakeFiles/t.dir/t.cc.o -o t $*" >"$tmp/b/CMakeFiles/t.dir/link.txt"; }
"$here/../../src/tools/install-deps.sh" --list >"$tmp/all"

link -lssl -lcrypto -lm -lpthread
check_status "libraries of listed packages pass" 0 "$checker" "$tmp/b" --packages "$tmp/all"

link -lssl -lcrypto -lunbound
check_status "-lunbound without libunbound-dev in the list fails" 1 "$checker" "$tmp/b" --packages "$tmp/all"
check_output "the violation names the flag" "t: -lunbound" "$checker" "$tmp/b" --packages "$tmp/all"

echo build-essential >"$tmp/toolchain"
link -lm -lpthread
check_status "libc's libraries come with build-essential" 0 "$checker" "$tmp/b" --packages "$tmp/toolchain"
link -lssl
check_status "-lssl is not a dependency of build-essential" 1 "$checker" "$tmp/b" --packages "$tmp/toolchain"
check_output "the violation names the owning package" "from libssl-dev" \
  "$checker" "$tmp/b" --packages "$tmp/toolchain"
printf 'build-essential\nlibdpdk-dev\n' >"$tmp/dpdk"
check_status "a dependency of a listed package counts (libdpdk-dev -> libssl-dev)" 0 \
  "$checker" "$tmp/b" --packages "$tmp/dpdk"

link -lvlcp_no_such_library
check_output "a library nobody installs fails" "-lvlcp_no_such_library: cannot find it" \
  "$checker" "$tmp/b" --packages "$tmp/all"

link "$tmp/b/libours.a" -lssl
check_status "libraries built in the tree are ours" 0 "$checker" "$tmp/b" --packages "$tmp/all"

# What the driver links by itself: clang's libFuzzer runtime comes from libclang-rt-14-dev.
cxx=$(command -v clang++)
link -fsanitize=fuzzer
check_status "the libFuzzer runtime is in the list (libclang-rt-14-dev)" 0 \
  "$checker" "$tmp/b" --packages "$tmp/all"
check_output "an implicit runtime library is checked too" "from libclang-rt-14-dev" \
  "$checker" "$tmp/b" --packages "$tmp/toolchain"

check_status "the real build trees link only what make deps installs (${builds[*]})" 0 \
  "$checker" "${builds[@]}"
finish
