#!/usr/bin/env bash
# CNI for real (issue 19, docs/CONTAINERS_DESIGN.md §4, §5, §8.2): two simulated servers, each a
# namespace with a userspace OVS (bridge br0, a VXLAN port) and a vlcpd with the cniserver module
# (module.cniserver.url / bridge / socketmode / grace), the model on one ZooKeeper. The real
# vlcp-cni is run exactly as a runtime runs it (CNI_* variables, the config on stdin); pods are
# network namespaces, attached to a server by the socket they are ADDed through. ADD in every
# result version; a pod on hv1 and one on hv2 ping each other over VXLAN; ADD again answers the
# same, differently is code 100; CHECK passes, then 103 once the pod's eth0 is deleted; DEL twice,
# DEL after the netns is gone; GC removes the pods not listed; cniserver/status counts the
# attachments and the last GC. vlcpd killed with -9, a pod's netns deleted meanwhile, vlcpd again:
# the start-up clean-up removes that pod's OVSDB port and model port and keeps the live pod, which
# a DEL naming another network leaves alone and which still pings across the tunnel. With go and
# Debian's libcni, a pass through libcni (tests/tools/cnirun.go: ADD, CHECK with its cached
# prevResult, DEL twice). Then nothing left on either server (veths, OVSDB rows with a vlcp-owner,
# model ports, CNI infos); with vlcpd stopped STATUS is 50 and ADD 11.
cni=${VLCP_CNI:?set VLCP_CNI to the vlcp-cni binary}
: "${VLCP_VLCPD:?set VLCP_VLCPD to the vlcpd binary}"
. "$(dirname "$0")/../lib/system.sh"

api() { sb_exec "$1" curl -sf --max-time 10 "http://127.0.0.1:8081$2"; }
post() { sb_exec "$1" curl -s --fail-with-body --max-time 10 -X POST -d "$3" "http://127.0.0.1:8081$2"; }
# pyres HV PATH EXPR: Python over a WebAPI answer's result (r).
pyres() { api "$1" "$2" | python3 -c "import json, sys; r = json.load(sys.stdin)['result']; print($3)"; }
sock_of() { echo "$SB_DIR/$1-cni/vlcp.sock"; }

check "ZooKeeper, two servers with br0 and a VXLAN underlay" sb_overlay_servers br0 || { finish; exit 1; }
for hv in hv1 hv2; do
  sb_vlcpd_server_conf "$SB_DIR/$hv.conf" "$hv" "server.loglevel = 'info'" \
    "module.ovsdbmanager.bridges = ['br0']" "module.cniserver.url = 'unix://$(sock_of "$hv")'" \
    "module.cniserver.bridge = 'br0'" "module.cniserver.socketmode = 0o600" "module.cniserver.grace = 0"
  sb_vlcpd_start "$hv" "$SB_DIR/$hv.conf" "$hv"
done
for hv in hv1 hv2; do
  check "$hv: vlcpd's cniserver serves on its socket" sb_wait 30 test -S "$(sock_of "$hv")" ||
    { tail -20 "$SB_DIR/vlcpd-$hv.log" >&2; finish; exit 1; }
done
check_output "the socket has module.cniserver.socketmode (0600)" "600" stat -c %a "$(sock_of hv1)"
for p in pod1 pod2 pod3 pod4 pod5 pod6; do sb_netns "$p"; done
ns_path() { echo "/run/netns/$(sb_ns "$1")"; }

# cni_on HV CMD CID POD VERSION [EXTRA_CONFIG_JSON] [CNI_ARGS]: vlcp-cni as a runtime runs it,
# through server HV's socket.
cni_on() {
  local hv=$1 cmd=$2 cid=$3 pod=$4 ver=$5 extra=${6:-} args=${7:-} ns=""
  [ -n "$pod" ] && ns=$(ns_path "$pod")
  printf '{"cniVersion":"%s","name":"blue","type":"vlcp-cni","socket":"%s"%s}' "$ver" "$(sock_of "$hv")" "$extra" |
    env CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" CNI_NETNS="$ns" CNI_IFNAME=eth0 CNI_ARGS="$args" \
      CNI_PATH=/opt/cni/bin "$cni"
}
cni_run() { cni_on hv1 "$@"; }
# quiet CMD...: CMD with its output dropped (for checks on the exit status alone).
quiet() { "$@" >/dev/null 2>&1; }
# code_of: the CNI error code on stdin's error object.
code_of() { jq -r .code; }
C1=pod1$SB_ID
C2=pod2$SB_ID
C3=pod3$SB_ID
C4=pod4$SB_ID
C5=pod5$SB_ID
C6=pod6$SB_ID
# owned HV CID: the OVSDB interfaces on HV carrying CID's owner mark (CID "": any vlcp-owner).
owned() {
  if [ -n "${2:-}" ]; then
    sb_vsctl "$1" --bare --columns=external_ids list Interface | grep -c "cni:$2:eth0"
  else
    sb_vsctl "$1" --bare --columns=external_ids list Interface | grep -c vlcp-owner
  fi
}
# is DESCRIPTION WANT CMD...: CMD's output is exactly WANT.
is() {
  local what=$1 want=$2 out
  shift 2
  out=$("$@" 2>&1)
  if [ "$out" = "$want" ]; then pass "$what"; else fail "$what (wanted '$want', got: ${out:0:400})"; fi
}
# k8s_ports: the model's CNI ports (any server's).
k8s_ports() { pyres hv1 /viperflow/listlogicalports "' '.join(sorted(p['id'] for p in r if p['id'].startswith('k8s-')))"; }

for hv in hv1 hv2; do
  check "$hv: STATUS says ready (the model and OVSDB with br0)" sb_wait 30 quiet cni_on "$hv" STATUS "" "" 1.1.0
done
model() {
  post hv1 /viperflow/createphysicalnetwork '{"id": "vx", "type": "vxlan", "vnirange": [[10000, 10100]]}' &&
    post hv1 /viperflow/createphysicalport '{"name": "vxlan0", "physicalnetwork": "vx"}' &&
    post hv1 /viperflow/createlogicalnetwork '{"id": "blue", "physicalnetwork": "vx", "mtu": 1450}' &&
    post hv1 /viperflow/createsubnet '{"id": "blue-s", "logicalnetwork": "blue", "cidr": "10.1.0.0/24",
      "gateway": "10.1.0.1", "dns_nameservers": ["10.1.0.2"]}'
}
model_out=$(model 2>&1)
check "the model: VXLAN physical network, logical network blue (MTU 1450), subnet blue-s" test $? -eq 0 ||
  echo "$model_out" >&2

# --- VERSION, STATUS -----------------------------------------------------------------------------
check_output "VERSION lists 1.1.0 (answered by vlcp-cni itself)" '"1.1.0"' \
  bash -c "echo '{\"cniVersion\":\"1.0.0\"}' | CNI_COMMAND=VERSION '$cni'"
check "STATUS: ready (exit 0)" cni_run STATUS "" "" 1.1.0

# --- ADD in each version, on two servers ---------------------------------------------------------
R1=$(cni_run ADD "$C1" pod1 1.1.0)
check "ADD pod1 on hv1 (1.1.0) exits 0" test $? -eq 0
check_output "1.1.0 result: cniVersion" '1.1.0' jq -r .cniVersion <<<"$R1"
check_output "1.1.0 result: the pod's interface in its netns" "$(ns_path pod1)" jq -r '.interfaces[1].sandbox' <<<"$R1"
check_output "1.1.0 result: the interface MTU (the network's 1450)" 1450 jq -r '.interfaces[1].mtu' <<<"$R1"
check_output "1.1.0 result: an address in 10.1.0.0/24" "10.1.0." jq -r '.ips[0].address' <<<"$R1"
check_output "1.1.0 result: the default route via the gateway" "10.1.0.1" \
  jq -r '.routes[] | select(.dst == "0.0.0.0/0") | .gw' <<<"$R1"
check_output "1.1.0 result: the subnet's DNS server" "10.1.0.2" jq -r '.dns.nameservers[0]' <<<"$R1"
IP1=$(jq -r '.ips[0].address' <<<"$R1")
MAC1=$(jq -r '.interfaces[1].mac' <<<"$R1")
HOST1=$(jq -r '.interfaces[0].name' <<<"$R1")

R2=$(cni_on hv2 ADD "$C2" pod2 0.4.0 "" "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-2;IP=10.1.0.42")
check "ADD pod2 on hv2 (0.4.0, CNI_ARGS IP=10.1.0.42) exits 0" test $? -eq 0
check_output "0.4.0 result: \"version\": \"4\" in the ip" '4' jq -r '.ips[0].version' <<<"$R2"
check_output "0.4.0 result: the address asked for" '10.1.0.42/24' jq -r '.ips[0].address' <<<"$R2"
check_fails "0.4.0 result: no interface MTU (a 1.1.0 field)" jq -e '.interfaces[1].mtu' <<<"$R2"

# --- what exists ---------------------------------------------------------------------------------
check_output "pod1: eth0 has the result's address" "inet ${IP1}" ip -n "$(sb_ns pod1)" addr show eth0
check_output "pod1: eth0 has the result's MAC" "link/ether $MAC1" ip -n "$(sb_ns pod1)" link show eth0
check_output "pod1: eth0 has MTU 1450" "mtu 1450" ip -n "$(sb_ns pod1)" link show eth0
check_output "pod1: the default route via the gateway" "default via 10.1.0.1 dev eth0" ip -n "$(sb_ns pod1)" route
check_output "hv1: the host end carries the owner alias" "alias vlcp:cni:$C1:eth0" \
  ip -n "$(sb_ns hv1)" -d link show "$HOST1"
check_output "hv1 OVSDB: the interface's iface-id is the port" "k8s-$C1" \
  sb_vsctl hv1 get interface "$HOST1" external_ids:iface-id
check_output "hv1 OVSDB: the interface's owner mark" "cni:$C1:eth0" \
  sb_vsctl hv1 get interface "$HOST1" external_ids:vlcp-owner
ofport=$(sb_vsctl hv1 get interface "$HOST1" ofport)
check "hv1 OVSDB: the interface has an ofport ($ofport)" test "${ofport:-0}" -gt 0
check "hv2 OVSDB: pod2's interface is on hv2's br0" test "$(owned hv2 "$C2")" -eq 1
check "pod1 (hv1) pings pod2 (hv2) over VXLAN" sb_wait 20 sb_exec pod1 ping -c 1 -W 1 10.1.0.42
check "pod2 pings pod1 (3 of 3)" sb_exec pod2 ping -c 3 -W 2 -i 0.2 "${IP1%/*}"
is "cniserver/status on hv1: one attachment, pod1's" "1 cni:$C1:eth0" \
  pyres hv1 /cniserver/status "'%d %s' % (r['attachments']['count'], ' '.join(r['attachments']['list']))"

# --- ADD again -----------------------------------------------------------------------------------
again=$(cni_run ADD "$C1" pod1 1.1.0)
check "ADD pod1 again with the same parameters exits 0" test $? -eq 0
check "...and answers the same result" test "$again" = "$R1"
other=$(cni_run ADD "$C1" pod1 1.1.0 "" "IP=10.1.0.99")
check_output "ADD pod1 again with another address: code 100" 100 code_of <<<"$other"

# --- CHECK ---------------------------------------------------------------------------------------
prev=$(cni_run ADD "$C1" pod1 1.0.0)  # the same attachment, in 1.0.0's shape (prevResult)
check "CHECK pod1 passes (exit 0)" cni_run CHECK "$C1" pod1 1.0.0 ",\"prevResult\":$prev"
out=$(cni_run CHECK "$C1" pod1 1.0.0)
check_output "CHECK without prevResult: code 7" 7 code_of <<<"$out"
ip -n "$(sb_ns pod1)" link del eth0
out=$(cni_run CHECK "$C1" pod1 1.0.0 ",\"prevResult\":$prev")
check_output "CHECK after 'ip -n pod1 link del eth0' (the veth removed): code 103" 103 code_of <<<"$out"
check_output "...naming the interface and the netns" "eth0 not found in $(ns_path pod1)" jq -r .details <<<"$out"

# --- DEL -----------------------------------------------------------------------------------------
check "DEL pod1 exits 0" cni_run DEL "$C1" pod1 1.1.0
check "DEL pod1 again exits 0" cni_run DEL "$C1" pod1 1.1.0
check_fails "pod1's host end is gone" ip -n "$(sb_ns hv1)" link show "$HOST1"
check_fails "pod1's OVSDB port is gone" sb_vsctl hv1 port-to-br "$HOST1"
ip netns del "$(sb_ns pod2)"
check "DEL pod2 on hv2 after its netns was deleted exits 0" cni_on hv2 DEL "$C2" pod2 0.4.0
check "hv2: pod2's OVSDB port is gone" test "$(owned hv2 "$C2")" -eq 0
check "ADD pod1 once more after DEL (a fresh attachment)" quiet cni_run ADD "$C1" pod1 1.1.0
check "...and DEL it" cni_run DEL "$C1" pod1 1.1.0
is "the model has no CNI port left" "" k8s_ports

# --- GC ------------------------------------------------------------------------------------------
R3=$(cni_run ADD "$C3" pod3 1.0.0)
check "ADD pod3 (1.0.0)" test $? -eq 0
R4=$(cni_run ADD "$C4" pod4 0.3.1)
check "ADD pod4 (0.3.1)" test $? -eq 0
check_output "0.3.1 result: cniVersion" '0.3.1' jq -r .cniVersion <<<"$R4"
IP3=$(jq -r '.ips[0].address' <<<"$R3")
HOST3=$(jq -r '.interfaces[0].name' <<<"$R3")
HOST4=$(jq -r '.interfaces[0].name' <<<"$R4")
check "GC with only pod3 valid exits 0" cni_run GC "" "" 1.1.0 \
  ",\"cni.dev/valid-attachments\":[{\"containerID\":\"$C3\",\"ifname\":\"eth0\"}]"
check "GC kept pod3's port" quiet sb_vsctl hv1 port-to-br "$HOST3"
check_fails "GC removed pod4's port" sb_vsctl hv1 port-to-br "$HOST4"
check_fails "GC removed pod4's veth" ip -n "$(sb_ns hv1)" link show "$HOST4"
is "cniserver/status: the last GC removed one attachment of blue" "1 blue" \
  pyres hv1 /cniserver/status "'%d %s' % (r['last_gc']['removed'], r['last_gc']['network'])"

# --- vlcpd killed with -9; a pod goes meanwhile; the start-up clean-up ---------------------------
R5=$(cni_run ADD "$C5" pod5 1.1.0)
check "ADD pod5" test $? -eq 0
HOST5=$(jq -r '.interfaces[0].name' <<<"$R5")
pid=$(sb_vlcpd_pid hv1)
kill -KILL "$pid"
wait "$pid" 2>/dev/null
ip netns del "$(sb_ns pod5)"
check "pod5's netns deleted while vlcpd was down: its OVSDB port stays (nobody removed it)" \
  test "$(owned hv1 "$C5")" -eq 1
sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
cleaned() { [ "$(pyres hv1 /cniserver/status "r['cleanup'].get('result', '')" 2>/dev/null)" = ok ]; }
check "vlcpd again: its start-up clean-up runs and succeeds" sb_wait 30 cleaned
is "the clean-up removed pod5 (netns gone) and only it" "k8s-$C5:netns_gone" \
  pyres hv1 /cniserver/status "' '.join(p['port'] + ':' + p['reason'] for p in r['cleanup']['plan'])"
check "pod5's OVSDB port is gone" test "$(owned hv1 "$C5")" -eq 0
check_fails "pod5's host end is gone" ip -n "$(sb_ns hv1)" link show "$HOST5"
is "pod5's model port is gone, pod3's stays" "k8s-$C3" k8s_ports
check "pod3 (alive) keeps its OVSDB port" test "$(owned hv1 "$C3")" -eq 1
check "DEL of pod3 naming another network (red) exits 0" cni_run DEL "$C3" pod3 1.1.0 ',"logicalnetwork":"red"'
check "...and leaves pod3 attached to blue (the model says which network it is on)" \
  test "$(owned hv1 "$C3")" -eq 1
check "ADD pod6 on hv2" quiet cni_on hv2 ADD "$C6" pod6 1.1.0 "" "IP=10.1.0.66"
check "pod6 (hv2) pings pod3 (hv1, attached before the restart)" sb_wait 20 sb_exec pod6 ping -c 1 -W 1 "${IP3%/*}"
check "DEL pod3" cni_run DEL "$C3" pod3 1.0.0
check "DEL pod6 on hv2" cni_on hv2 DEL "$C6" pod6 1.1.0

# --- libcni (containerd's and CRI-O's runtime library), when Debian's copy and go are there ------
gocode=/usr/share/gocode
if command -v go >/dev/null && [ -d "$gocode/src/github.com/containernetworking/cni/libcni" ]; then
  work=$SB_DIR/libcni
  mkdir -p "$work/src/cnirun" "$work/cache"
  cp "$(dirname "$0")/../tools/cnirun.go" "$work/src/cnirun/main.go"
  if (cd "$work/src/cnirun" && GO111MODULE=off GOPATH="$work:$gocode" GOCACHE="${GOCACHE:-$work/gocache}" \
    GOFLAGS='' go build -o "$work/cnirun" .); then
    printf '{"cniVersion":"1.0.0","name":"blue","plugins":[{"type":"vlcp-cni","socket":"%s"}]}' "$(sock_of hv1)" \
      >"$work/blue.conflist"
    L() { "$work/cnirun" "$1" "$work/blue.conflist" "$(dirname "$(realpath "$cni")")" "$work/cache" "$2" \
      "$(ns_path "$3")" eth0; }
    LC=lc$SB_ID
    out=$(L ADD "$LC" pod1)
    check "libcni ADD (conflist, 1.0.0) exits 0" test $? -eq 0
    check_output "libcni reads the result: an address in 10.1.0.0/24" '"10.1.0.' echo "$out"
    check "libcni CHECK with its cached prevResult" quiet L CHECK "$LC" pod1
    ip -n "$(sb_ns pod1)" link del eth0
    check_output "libcni CHECK after the pod's eth0 is deleted fails: interface missing (103)" \
      "interface missing; interface eth0 not found in" L CHECK "$LC" pod1
    check "libcni DEL" quiet L DEL "$LC" pod1
    check "libcni DEL again" quiet L DEL "$LC" pod1
  else
    fail "building the libcni driver (tests/tools/cnirun.go)"
  fi
else
  echo "skipped the libcni pass: needs golang-go and golang-github-appc-cni-dev"
fi

# --- leaks, then vlcpd stopped -------------------------------------------------------------------
for hv in hv1 hv2; do
  is "$hv: no link marked vlcp:cni: in the server namespace" "0" \
    bash -c "ip -n '$(sb_ns "$hv")' -d link show | grep -c 'alias vlcp:cni:'"
  is "$hv: no OVSDB interface with a vlcp-owner" "0" owned "$hv"
  is "$hv: only vxlan0 left on br0" "vxlan0" sb_vsctl "$hv" list-ports br0
done
is "no model port left" "" k8s_ports
is "no CNI info left" "0" pyres hv1 "/objectdb/list?prefix=viperflow.cniplugin.portinfo." "len(r)"
# (the metrics board is refreshed on a timer: wait for it rather than scrape once)
cni_metric() {
  sb_exec hv1 curl -sf --max-time 10 http://127.0.0.1:9464/metrics |
    grep -qF 'vlcp_cni_requests_total{command="ADD",code="0"}'
}
check "hv1 publishes vlcp_cni_requests_total" sb_wait 15 cni_metric
sb_stop_pid "$(sb_vlcpd_pid hv1)"
out=$(cni_run STATUS "" "" 1.1.0)
check_output "STATUS with vlcpd stopped: code 50" 50 code_of <<<"$out"
out=$(cni_run ADD "$C1" pod1 1.1.0)
check_output "ADD with vlcpd stopped: code 11 (try again later)" 11 code_of <<<"$out"
check_fails "the socket file went with the module" test -e "$(sock_of hv1)"
finish
