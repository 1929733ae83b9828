#!/usr/bin/env bash
# The model's keys are spelled in one place (src/schema/kinds.h): the checker fails on a key
# literal elsewhere (naming file and line), ignores comments, refuses a prefix declared twice,
# and the real source tree is clean.
set -u
checker=${1:?usage: model_keys_test.sh CHECKER SRC}
src=${2:?}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../lib/assert.sh
. "$here/../../lib/assert.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/src/schema" "$tmp/src/model" "$tmp/src/cli"
cp "$src/schema/kinds.h" "$tmp/src/schema/kinds.h"
printf '// keys: "viperflow.logicalport.<id>"\nint x = 1;  // viperflow.subnet.\n' >"$tmp/src/model/a.cc"
check_status "the declaration and comments pass" 0 "$checker" "$tmp/src"

printf 'const char* k = "viperflow.logicalport.";\n' >>"$tmp/src/model/a.cc"
check_status "a declared prefix spelled in the model fails" 1 "$checker" "$tmp/src"
check_output "the violation names file and line" "src/model/a.cc:3:" "$checker" "$tmp/src"
printf '#include <string>\n' >"$tmp/src/model/a.cc"

printf 'auto k = std::string("viperflow.dockerplugin.portinfo.") + id;\n' >"$tmp/src/cli/b.cc"
check_output "an undeclared kind's prefix fails too" "src/cli/b.cc:1:" "$checker" "$tmp/src"
rm "$tmp/src/cli/b.cc"

printf 'inline constexpr std::string_view kAgain = "viperflow.subnetset";\n' >>"$tmp/src/schema/kinds.h"
check_output "a key declared twice fails" "declared more than once" "$checker" "$tmp/src"

check_status "the real source tree is clean" 0 "$checker" "$src"
"$checker" "$src" 2>&1 | tail -3
finish
