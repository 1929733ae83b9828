# Preamble of every system test: assertions, the sandbox library, and a sandbox of its own that
# is torn down however the test ends. Source it: . "$(dirname "$0")/../lib/system.sh"
# shellcheck shell=bash
set -u
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
. "$here/../lib/assert.sh"
. "$here/../sandbox/lib.sh"
sb_init || exit 1
trap sb_down EXIT
