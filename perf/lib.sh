# Helpers the perf scripts share (source it).
# shellcheck shell=bash
# median: the median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# field NAME: a field of the JSON object on stdin.
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }
