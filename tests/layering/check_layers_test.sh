#!/usr/bin/env bash
# The layering checker: a forbidden include fails with file:line, allowed ones pass, and the
# real source tree is clean.
set -u
checker=${1:?usage: check_layers_test.sh CHECKER SRC}
src=${2:?}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/assert.sh
. "$here/../lib/assert.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/src/base" "$tmp/src/ofp" "$tmp/src/apps" "$tmp/src/sched"
cat >"$tmp/src/LAYERS" <<'R'
layer base
layer ofp base
layer sched base
layer apps base ofp
extern rte_ring.h src/sched/ring.cc
R
echo '#include "base/x.h"' >"$tmp/src/ofp/a.cc"
echo '#include <vector>' >"$tmp/src/base/x.h"
check_status "clean tree passes" 0 "$checker" "$tmp/src"

printf '#include <string>\n#include "ofp/a.h"\n' >"$tmp/src/base/bad.h"
check_status "upward include fails" 1 "$checker" "$tmp/src"
check_output "violation names file, line and layers" "src/base/bad.h:2: layer 'base' must not include layer 'ofp'" \
  "$checker" "$tmp/src"
rm "$tmp/src/base/bad.h"

echo '#include <rte_ring.h>' >"$tmp/src/apps/ring_user.cc"
check_output "restricted third-party header is caught" "src/apps/ring_user.cc:1: <rte_ring.h> may only be included by" \
  "$checker" "$tmp/src"
mv "$tmp/src/apps/ring_user.cc" "$tmp/src/sched/ring.cc"
check_status "the one allowed file may include it" 0 "$checker" "$tmp/src"

# An app's directory is private to the apps: the platform (apps/*.h) may not name it.
echo 'private apps' >>"$tmp/src/LAYERS"
mkdir -p "$tmp/src/apps/one" "$tmp/src/apps/two"
echo '#include "apps/one/one.h"' >"$tmp/src/apps/two/two.cc"
check_status "an app may include another app" 0 "$checker" "$tmp/src"
echo '#include "apps/one/one.h"' >"$tmp/src/apps/host.cc"
check_output "the platform naming an app fails" "src/apps/host.cc:1: 'apps/one/' may only be included from a subdirectory of 'apps'" \
  "$checker" "$tmp/src"
rm "$tmp/src/apps/host.cc"

mkdir "$tmp/src/rogue" && echo 'int x;' >"$tmp/src/rogue/r.cc"
check_output "undeclared layer directory fails" "directory 'rogue' is not a layer" "$checker" "$tmp/src"
rm -r "$tmp/src/rogue"

check_status "the real source tree is clean" 0 "$checker" "$src"
finish
