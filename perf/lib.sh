# Helpers the perf scripts share (source it).
# shellcheck shell=bash
# median: the median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# field NAME: a field of the JSON object on stdin.
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }
# learning_conf FILE OPENFLOW_PORT HTTP_PORT DB: vlcpd as the controller-learning benchmark runs
# it (run_l2.sh section 3, learn_ab.sh): OpenFlow and the WebAPI on loopback, no OVSDB, no
# metrics, one worker lcore, controller learning.
learning_conf() {
  cat >"$1" <<CONF
server.loglevel = 'warn'
server.startup = ['openflowserver', 'httpserver']
module.openflowserver.url = 'tcp://127.0.0.1:$2'
module.ovsdbmanager.url = ''
module.httpserver.url = 'tcp://127.0.0.1:$3'
module.metrics.url = ''
module.sched.workers = 1
module.sched.memory_mb = 32
module.l2switch.learning = True
module.l2switch.nxlearn = False
module.objectdb.path = '$4'
CONF
}
