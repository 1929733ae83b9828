#!/usr/bin/env bash
# Fails when a C/C++ file under SRC spells a model key ("viperflow.…" in a string literal) outside
# the declaration of the model's kinds (src/schema/kinds.h), or when the declaration spells one
# twice: every key prefix is declared once and read from schema::kind(). Usage:
# check-model-keys.sh SRC_DIR. Prints every violation as file:line.
set -euo pipefail

src=${1:?usage: check-model-keys.sh SRC_DIR}
decl=schema/kinds.h
[ -f "$src/$decl" ] || { echo "check-model-keys: no declaration $src/$decl" >&2; exit 2; }

bad=0
# Code without its comments: // to the end of the line, and /* ... */ on one line.
code() { sed -e 's://.*$::' -e 's:/\*.*\*/::g' "$1"; }

while IFS= read -r -d '' file; do
  rel=${file#"$src"/}
  [ "$rel" = "$decl" ] && continue
  while IFS=: read -r lineno text; do
    echo "src/$rel:$lineno: a model key spelled outside src/$decl (use schema::kind(...)): ${text#"${text%%[![:space:]]*}"}" >&2
    bad=1
  done < <(code "$file" | grep -n '"viperflow\.' || true)
done < <(find "$src" -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.c' -o -name '*.cc' -o -name '*.cpp' \
  -o -name '*.def' -o -name '*.in' \) -print0)

dups=$(code "$src/$decl" | grep -o '"viperflow\.[^"]*"' | sort | uniq -d || true)
if [ -n "$dups" ]; then
  echo "src/$decl: declared more than once: $(echo $dups)" >&2
  bad=1
fi

if [ $bad -ne 0 ]; then
  echo "check-model-keys: model keys spelled outside their declaration" >&2
  exit 1
fi
echo "check-model-keys: ok"
