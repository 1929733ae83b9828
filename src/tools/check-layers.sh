#!/usr/bin/env bash
# Fails when a file under SRC includes a layer or a third-party header that src/LAYERS does not
# allow it. Usage: check-layers.sh SRC_DIR [RULES_FILE]. Prints every violation as file:line.
set -euo pipefail

src=${1:?usage: check-layers.sh SRC_DIR [RULES]}
rules=${2:-$src/LAYERS}
[ -f "$rules" ] || { echo "check-layers: no rules file $rules" >&2; exit 2; }

declare -A allowed externs private
while read -r kind name rest; do
  case "$kind" in
    layer) allowed[$name]=" $rest " ;;
    extern) externs[$name]=" $rest " ;;
    private) private[$name]=1 ;;
    ''|'#'*) ;;
    *) echo "check-layers: $rules: unknown rule '$kind'" >&2; exit 2 ;;
  esac
done < <(sed 's/#.*//' "$rules")

bad=0
report() { echo "$1: $2" >&2; bad=1; }

while IFS= read -r -d '' file; do
  rel=${file#"$src"/}
  layer=${rel%%/*}
  [ "$layer" = "$rel" ] && continue           # files at the top of src/ (LAYERS, CMakeLists)
  if [ -z "${allowed[$layer]+x}" ]; then
    report "src/$rel" "directory '$layer' is not a layer in $(basename "$rules")"
    continue
  fi
  while IFS=: read -r lineno text; do
    if [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"/]+)/([^\"/]+)/ ]] &&
       [ -n "${private[${BASH_REMATCH[1]}]+x}" ]; then
      # A private layer's subdirectories (each app in apps/<app>/) are included only from
      # subdirectories of that layer: the platform and the daemon name no app.
      inner=${rel#"${BASH_REMATCH[1]}"/}
      if [ "$layer" != "${BASH_REMATCH[1]}" ] || [ "${inner%%/*}" = "$inner" ]; then
        report "src/$rel:$lineno" "'${BASH_REMATCH[1]}/${BASH_REMATCH[2]}/' may only be included from a subdirectory of '${BASH_REMATCH[1]}' (private in $(basename "$rules"))"
      fi
    fi
    if [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"/]+)/ ]]; then
      dep=${BASH_REMATCH[1]}
      [ "$dep" = "$layer" ] && continue
      [[ ${allowed[$layer]} == *" * "* || ${allowed[$layer]} == *" $dep "* ]] && continue
      if [ -n "${allowed[$dep]+x}" ]; then
        report "src/$rel:$lineno" "layer '$layer' must not include layer '$dep' (allowed:${allowed[$layer]% })"
      fi
    elif [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
      header=${BASH_REMATCH[1]}
      for prefix in "${!externs[@]}"; do
        [[ $header == "$prefix"* ]] || continue
        who=${externs[$prefix]}
        [[ $who == *" $layer "* || $who == *" src/$rel "* ]] && continue
        report "src/$rel:$lineno" "<$header> may only be included by:${who% }"
      done
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$file" || true)
done < <(find "$src" -type f \( -name '*.h' -o -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.hpp' -o -name '*.in' \) -print0)

if [ $bad -ne 0 ]; then
  echo "check-layers: layering violations found (rules: $rules)" >&2
  exit 1
fi
echo "check-layers: ok"
