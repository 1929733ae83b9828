#!/usr/bin/env bash
# The network model through VLCP's WebAPI and vlcpctl, on one vlcpd with the embedded store:
#  - vlcpctl's verbs for every object (tables, --json, a config file, exit codes, completion);
#  - bad input (malformed JSON, wrong types, a huge body, bad CIDRs, VLANs out of range, an
#    unknown method, a batch with one bad item) gets a clear 4xx and changes nothing;
#  - many clients at once: 100 ports created by 16 concurrent clients in one subnet all get
#    different addresses, and 200 concurrent connections are all answered;
#  - untrusted input never crashes vlcpd (issue 14): bytes that are not UTF-8 (a parameter, a
#    form body, a literal, raw in the path), JSON and literals nested 60,000 deep (a port's
#    attribute, /objectdb/restore) are a 400; 600 idle connections from one address do not lock
#    out another client; literals decode Python's escapes as Python does;
#  - https:// with a bearer token: vlcpctl with the CA and token works, without them it is
#    refused; the scheme is case-insensitive; off loopback vlcpd refuses to serve without TLS
#    and a token; a metrics password is checked.
# (Two vlcpd nodes sharing a model through ZooKeeper: objectdb_api.sh.)
vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL}
. "$(dirname "$0")/../lib/system.sh"

port=$(sb_free_port)
mport=$(sb_free_port)
sb_vlcpd_api_conf "$SB_DIR/a.conf" "$port" "module.metrics.url = 'tcp://127.0.0.1:$mport'"
sb_vlcpd_start a "$SB_DIR/a.conf"
api="http://127.0.0.1:$port"
check "vlcpd serves its WebAPI" sb_wait 20 curl -sf "$api/manager/modules"
# vlcpctl finds vlcpd through its config file.
echo "api = $api  # the sandbox's vlcpd" >"$SB_DIR/vlcpctl.conf"
export VLCPCTL_CONFIG=$SB_DIR/vlcpctl.conf
ctl() { "$vlcpctl" "$@"; }

# --- vlcpctl, every object ----------------------------------------------------------------------
check_output "physicalnetwork create (a table)" "pn1  vlan" ctl physicalnetwork create --id pn1 --type vlan --vlanrange '[[100,199]]'
check_output "logicalnetwork create takes a VLAN" "ln1  pn1              100" ctl logicalnetwork create --id ln1 --network pn1
check_output "subnet create" "10.20.0.0/24" ctl subnet create --id sn1 --network ln1 --cidr 10.20.0.0/24 --gateway 10.20.0.1
check_output "logicalport create --network N --mac M" "02:00:00:00:01:01  10.20.0.2" \
  ctl logicalport create --id lp1 --network ln1 --subnet sn1 --mac 02:00:00:00:01:01
check_output "physicalport create" "eth1" ctl physicalport create --name eth1 --network pn1
check_output "logicalport list" "lp1" ctl logicalport list
check_output "logicalport list --json (VLCP's result)" '"_type": "vlcp.utils.networkmodel.LogicalPort"' ctl logicalport list lp1 --json
check_output "logicalport update" "web1" ctl logicalport update lp1 --hostname web1 --json
check_output "router create, add-interface, interfaces" "sn1" bash -c \
  "'$vlcpctl' router create --id r1 >/dev/null && '$vlcpctl' router add-interface --router r1 --subnet sn1 >/dev/null && '$vlcpctl' router interfaces r1"
check_output "  the router named by position (router remove-interface R --subnet S, add-interface R ...)" "sn1" bash -c \
  "'$vlcpctl' router remove-interface r1 --subnet sn1 >/dev/null && '$vlcpctl' router add-interface r1 --subnet sn1 >/dev/null && '$vlcpctl' router interfaces r1"
cat >"$SB_DIR/batch.json" <<'JSON'
[{"id": "b1", "logicalnetwork": "ln1", "subnet": "sn1"}, {"id": "b2", "logicalnetwork": "ln1", "subnet": "sn1"}]
JSON
check_output "create-batch: a JSON list in one transaction" "b2" ctl logicalport create-batch "$SB_DIR/batch.json"
check_output "delete" "OK" ctl logicalport delete b1
check_output "call: any method" '"objectdb": "vlcpd.objectdb"' ctl call manager activemodules
check_output "methods lists a module's methods" "viperflow/createlogicalport" ctl methods viperflow
check_output "module list" "objectdb        running" ctl module list
check_output "tables: the pipeline by name (VLCP's L2 numbering)" "4   l2output       (main)" ctl tables
check_output "openflowmanager/lastacquiredtables in VLCP's shape" '[[["ingress",0],["l2input",1]' \
  curl -sf "$api/openflowmanager/lastacquiredtables"
echo "module.openflowmanager.apps = ['ioprocessing', 'nosuchapp']" >"$SB_DIR/badapps.conf"
check_output "an unknown app in the pipeline is a configuration error" "no app nosuchapp" \
  "${VLCP_VLCPD:?}" -c "$SB_DIR/badapps.conf" --check-config
check_status "refused: exit 1" 1 ctl logicalport delete nosuch
check_output "  with vlcpd's message" "no logical port nosuch (HTTP 404)" ctl logicalport delete nosuch
check_status "usage error: exit 2" 2 ctl logicalport frobnicate
check_status "vlcpd unreachable: exit 3" 3 ctl logicalport list --api http://127.0.0.1:1
check_output "--api overrides the config file" "lp1" ctl --api "$api" logicalport list
check "the completion script is valid bash" bash -n <("$vlcpctl" completion bash)
complete_words() {  # the completions of a command line (words after vlcpctl)
  bash -c "source <('$vlcpctl' completion bash); COMP_WORDS=(vlcpctl $*); COMP_CWORD=\${#COMP_WORDS[@]}; COMP_WORDS+=(''); _vlcpctl; echo \${COMPREPLY[*]}"
}
check_output "completion offers the objects" "logicalport" complete_words
check_output "completion offers an object's actions" "add-interface" complete_words router

# --- bad input: a clear 4xx, nothing changed ------------------------------------------------------
state() { ctl db dump viperflow. | md5sum; }
before=$(state)
status() { curl -s -o "$SB_DIR/body" -w '%{http_code}' -m 5 "$@"; }
bad() {  # bad WHAT WANT_STATUS WANT_TEXT CURL_ARGS...
  local what=$1 want=$2 text=$3
  shift 3
  local got
  got=$(status "$@")
  if [ "$got" = "$want" ] && grep -q "$text" "$SB_DIR/body"; then pass "$what: $want"; else
    fail "$what (wanted $want with '$text', got $got: $(head -c 300 "$SB_DIR/body"))"; fi
}
bad "malformed JSON" 400 '"error"' -X POST -H 'Content-Type: application/json' -d '{"id": "x", ' "$api/viperflow/createlogicalport"
bad "a wrong type (vlanid)" 400 "vlanid" -g "$api/viperflow/createlogicalnetwork?physicalnetwork=pn1&vlanid=abc"
bad "a wrong type (mac_address)" 400 "mac_address" -X POST -H 'Content-Type: application/json' \
  -d '{"logicalnetwork": "ln1", "mac_address": 5}' "$api/viperflow/createlogicalport"
head -c 2097152 /dev/zero | tr '\0' 'a' >"$SB_DIR/huge"
bad "a 2 MiB body" 413 "over" -X POST --data-binary @"$SB_DIR/huge" "$api/viperflow/createlogicalport"
bad "a bad CIDR" 400 "cidr" -g "$api/viperflow/createsubnet?logicalnetwork=ln1&cidr=10.30.0.0/33"
bad "a CIDR with host bits" 400 "host bits" -g "$api/viperflow/createsubnet?logicalnetwork=ln1&cidr=10.30.0.1/24"
bad "an overlapping subnet" 409 "overlaps" -g "$api/viperflow/createsubnet?logicalnetwork=ln1&cidr=10.20.0.128/25"
bad "a VLAN out of range" 400 "" -g "$api/viperflow/createlogicalnetwork?physicalnetwork=pn1&vlanid=4095"
bad "a VLAN range out of bounds" 400 "" -g "$api/viperflow/createphysicalnetwork?type=vlan&vlanrange=\`[[0,5000]]\`"
bad "a taken MAC" 409 "in use" -g "$api/viperflow/createlogicalport?logicalnetwork=ln1&mac_address=02:00:00:00:01:01"
bad "an address outside the pool" 400 "outside" -g "$api/viperflow/createlogicalport?logicalnetwork=ln1&subnet=sn1&ip_address=10.99.0.5"
bad "a batch with one bad item" 404 "no logical network" -X POST -H 'Content-Type: application/json' \
  -d '{"ports": [{"id": "ok1", "logicalnetwork": "ln1"}, {"id": "ok2", "logicalnetwork": "nope"}]}' \
  "$api/viperflow/createlogicalports"
bad "an unknown method (at once)" 404 "no method" "$api/viperflow/nosuchmethod"
bad "an unknown module" 404 '"error"' "$api/nosuchmodule/list"
# Untrusted input: a 400 where it enters, never a crash (issue 14 items 2 and 3).
bad "%FF in a parameter" 400 "UTF-8" -g "$api/objectdb/getonce?key=a%FF"
bad "%FF in a form body" 400 "UTF-8" -X POST -d 'logicalnetwork=ln1&hostname=a%FF' "$api/viperflow/createlogicalport"
bad "%FF in a back-quoted literal" 400 "UTF-8" -X POST -d "logicalnetwork=ln1&hostname=\`'a%FF'\`" \
  "$api/viperflow/createlogicalport"
raw_request() {  # raw_request BYTES: the status line vlcpd answers to those bytes
  python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
print(s.recv(200).split(b"\r\n")[0].decode("latin-1"))' "$port" "$1"
}
check_output "raw 0xFF in the path: 400" "400" raw_request 'GET /viperflow/\xff HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
deep() { python3 -c "import sys; d = 60000; sys.stdout.write(sys.argv[1].replace('@', '[' * d + ']' * d))" "$1"; }
deep '{"logicalnetwork": "ln1", "x": @}' >"$SB_DIR/deep.json"
bad "a JSON attribute nested 60,000 deep" 400 "deeper" -X POST -H 'Content-Type: application/json' \
  --data-binary @"$SB_DIR/deep.json" "$api/viperflow/createlogicalport"
deep 'logicalnetwork=ln1&x=`@`' >"$SB_DIR/deep.form"
bad "a form literal nested 60,000 deep" 400 "deeper" -X POST --data-binary @"$SB_DIR/deep.form" \
  "$api/viperflow/createlogicalport"
deep '{"viperflow.deep": @}' >"$SB_DIR/deep-restore.json"
bad "/objectdb/restore nested 60,000 deep" 400 "deeper" -X POST --data-binary @"$SB_DIR/deep-restore.json" \
  "$api/objectdb/restore"
check "vlcpd is still up and answering" curl -sf -m 5 -o /dev/null "$api/manager/modules"
check_output "nothing changed" "$before" state

# Literals decode Python's escapes as Python's ast.literal_eval (issue 14 item 12).
form() {  # form KEY=VALUE...: a urlencoded form body
  python3 -c 'import sys, urllib.parse; sys.stdout.write(urllib.parse.urlencode([tuple(a.split("=", 1)) for a in sys.argv[1:]]))' "$@"
}
created_name() {  # created_name FORM_FILE: the name of the port that form creates, as JSON
  curl -s -X POST --data-binary @"$1" "$api/viperflow/createlogicalport" |
    python3 -c 'import json, sys; r = json.load(sys.stdin); print(json.dumps(r["result"][0]["name"]) if "result" in r else r)'
}
# shellcheck disable=SC2016  # (back-quotes are the literal's, not the shell's)
form logicalnetwork=ln1 id=esc1 'name=`'"'"'caf\u00e9 \x41\101\u0000b'"'"'`' >"$SB_DIR/esc.form"
check_output "a literal's escapes as Python reads them" '"caf\u00e9 AA\u0000b"' created_name "$SB_DIR/esc.form"
ctl logicalport delete esc1 >/dev/null
# shellcheck disable=SC2016
form logicalnetwork=ln1 'name=`'"'"'\ud800'"'"'`' >"$SB_DIR/surrogate.form"
bad "an escape with no JSON form is refused, not changed" 400 "surrogate" -X POST \
  --data-binary @"$SB_DIR/surrogate.form" "$api/viperflow/createlogicalport"

# 600 idle connections from one address: another client still gets in (issue 14 item 5).
check_output "600 idle connections from 127.0.0.2; a client on 127.0.0.1 is answered" "200 200" python3 -c '
import socket, subprocess, sys, time
port = int(sys.argv[1])
held = []
for i in range(600):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    held.append(s)
def get():
    return subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5",
                           "http://127.0.0.1:%d/manager/modules" % port], capture_output=True, text=True).stdout
now = get()    # at once: a slot kept for loopback clients that hold few
time.sleep(1.5)  # idle past the grace period: the oldest are shed for new clients
print(now, get())' "$port"
check "vlcpd is still up and answering" curl -sf -m 5 -o /dev/null "$api/manager/modules"

# --- many clients at once ---------------------------------------------------------------------------
seq 100 | xargs -P 16 -I{} curl -sf -m 30 -o "$SB_DIR/c{}.json" -g \
  "$api/viperflow/createlogicalport?logicalnetwork=ln1&subnet=sn1&id=c{}"
check_output "16 concurrent clients created 100 ports" "100" bash -c "ls '$SB_DIR'/c*.json | wc -l"
check "  each with a different address" python3 -c "
import json, glob, sys
ips = [json.load(open(f))['result'][0]['ip_address'] for f in glob.glob('$SB_DIR/c*.json')]
sys.exit(0 if len(ips) == 100 and len(set(ips)) == 100 else 1)"
check_output "  which the listing agrees with (lp1, b2 and those 100)" "102 102" bash -c \
  "curl -s '$api/viperflow/listlogicalports?logicalnetwork=ln1' | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"result\"]; print(len(r), len({p[\"ip_address\"] for p in r}))'"
seq 200 | xargs -P 200 -I{} sh -c "curl -s -m 30 -o /dev/null -w '%{http_code}\n' '$api/viperflow/listphysicalnetworks'" >"$SB_DIR/codes"
check_output "200 concurrent connections are all answered" "200 200" bash -c "grep -c '^200$' '$SB_DIR/codes' | tr '\n' ' '; wc -l <'$SB_DIR/codes'"

# --- metrics -------------------------------------------------------------------------------------------
metric() { curl -sf -m 5 "http://127.0.0.1:$mport/metrics" | grep "^$1" ; }
sleep 1.2  # the control thread publishes each second
check_output "metrics: ObjectDB transactions" "vlcp_objectdb_transactions_total" metric vlcp_objectdb_transactions_total
check "  more than the 100 creates" test "$(metric vlcp_objectdb_transactions_total | awk '{print int($2)}')" -gt 100
check_output "metrics: WebAPI requests by module and status" 'vlcp_api_requests_total{module="viperflow",code="200"}' \
  metric vlcp_api_requests_total
check_output "  the refusals too" 'module="viperflow",code="409"' metric vlcp_api_requests_total
check_output "metrics: the store is connected" 'vlcp_objectdb_store_connected{store="embedded:' metric vlcp_objectdb_store_connected
check "metrics: connections over the cap refused (counted)" test "$(metric vlcp_api_connections_refused_total | awk '{print int($2)}')" -gt 0
check "metrics: at most maxconnections open" test "$(metric vlcp_api_connections_open | awk '{print int($2)}')" -le 512

# --- TLS and a token ------------------------------------------------------------------------------
pki=$SB_DIR/pki
mkdir -p "$pki"
check "a CA and a server certificate for 127.0.0.1" bash -c "
  openssl req -x509 -newkey rsa:2048 -nodes -keyout '$pki/ca-key.pem' -out '$pki/ca.pem' -days 2 -subj /CN=vlcp-test-ca &&
  openssl req -newkey rsa:2048 -nodes -keyout '$pki/srv-key.pem' -subj /CN=127.0.0.1 -out '$pki/srv.csr' &&
  echo subjectAltName=IP:127.0.0.1 >'$pki/ext' &&
  openssl x509 -req -in '$pki/srv.csr' -CA '$pki/ca.pem' -CAkey '$pki/ca-key.pem' -CAcreateserial \
    -out '$pki/srv.pem' -days 2 -extfile '$pki/ext'" 2>/dev/null
sport=$(sb_free_port)
sb_vlcpd_api_conf "$SB_DIR/s.conf" "$sport" "module.objectdb.path = \"$SB_DIR/s.mdb\"" \
  "module.httpserver.key = '$pki/srv-key.pem'" "module.httpserver.certificate = '$pki/srv.pem'" \
  "module.httpserver.token = 's3cret'" "module.httpserver.url = 'https://127.0.0.1:$sport'" \
  "module.metrics.url = 'tcp://127.0.0.1:$(sb_free_port)'" "module.metrics.password = 'pw'"
sb_vlcpd_start s "$SB_DIR/s.conf"
sapi="https://127.0.0.1:$sport"
check "vlcpd serves https" sb_wait 20 curl -s -o /dev/null --cacert "$pki/ca.pem" "$sapi/manager/modules"
check_output "vlcpctl over https with the CA and the token" "objectdb" \
  ctl module list --api "$sapi" --cacert "$pki/ca.pem" --token s3cret
check_output "  without the token: 401, exit 1" "missing or wrong bearer token (HTTP 401)" \
  ctl module list --api "$sapi" --cacert "$pki/ca.pem"
check_status "  without the CA: the certificate is not trusted, exit 3" 3 ctl module list --api "$sapi" --token s3cret
check_output "  'Authorization: bearer' in lower case is accepted (RFC 7235)" "200" \
  curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/ca.pem" -H 'Authorization: bearer s3cret' "$sapi/manager/modules"
smport=$(sed -n "s/^module.metrics.url = 'tcp:\/\/127.0.0.1:\([0-9]*\)'/\1/p" "$SB_DIR/s.conf")
check_output "metrics with its password: 200" "200" curl -s -o /dev/null -w '%{http_code}' -u vlcp:pw "http://127.0.0.1:$smport/metrics"
check_output "  a wrong password: 401" "401" curl -s -o /dev/null -w '%{http_code}' -u vlcp:pv "http://127.0.0.1:$smport/metrics"
check_output "  none: 401" "401" curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$smport/metrics"
check_fails "plain http to the https port gets nothing" curl -sf -m 5 "http://127.0.0.1:$sport/manager/modules"
sb_vlcpd_api_conf "$SB_DIR/open.conf" 18099 "module.httpserver.token = 's3cret'" \
  "module.httpserver.url = 'tcp://0.0.0.0:18099'"
check_output "off loopback without TLS vlcpd refuses the configuration" "use https://" \
  "${VLCP_VLCPD:?}" -c "$SB_DIR/open.conf" --check-config
finish
