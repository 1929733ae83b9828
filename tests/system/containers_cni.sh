#!/usr/bin/env bash
# CNI for real (issue 19, docs/CONTAINERS_DESIGN.md §5, §8.2): vlcpd's cniserver module
# (cni_server_tool: the module with its key table, an embedded ObjectDB, the OVSDB client, the
# link thread — without the rest of the daemon) in a server namespace beside a userspace OVS,
# driven by the real vlcp-cni exactly as a runtime runs it (CNI_* variables, the config on
# stdin). Pods are network namespaces. ADD in every result version; two pods ping each other
# across the bridge (OVS's NORMAL action: no flow app runs here); ADD again answers the same,
# differently is code 100; CHECK passes, then 103 once the pod's eth0 is deleted; DEL twice, DEL
# after the netns is gone; GC removes the pods not listed; STATUS 0, then 50 and ADD 11 with
# vlcpd stopped; VERSION; and nothing left: veths, OVSDB ports, model ports and CNI infos. With go
# and Debian's libcni, a second pass through libcni (tests/tools/cnirun.go: ADD, CHECK with its
# cached prevResult, DEL twice).
tool=${VLCP_CNI_SERVER_TOOL:?set VLCP_CNI_SERVER_TOOL to the cni_server_tool binary}
cni=${VLCP_CNI:?set VLCP_CNI to the vlcp-cni binary}
. "$(dirname "$0")/../lib/system.sh"

BR=brc$SB_ID
SOCK=$SB_DIR/cni/vlcp.sock
sb_ovs_start srv || { fail "OVS starts"; finish; exit 1; }
sb_bridge srv "$BR" || { fail "bridge $BR"; finish; exit 1; }
sb_ofctl srv add-flow "$BR" "actions=normal"
SRV=$(sb_ns srv)
# (ip netns exec execs the tool: $! is its PID.)
ip netns exec "$SRV" "$tool" "$(sb_ovs_dir srv)/run/db.sock" "$BR" "$SOCK" "$SB_DIR/cni-store.mdb" \
  >"$SB_DIR/tool.out" 2>"$SB_DIR/tool.log" &
TOOL=$!
sb_record pid "$TOOL" cni_server_tool
if ! sb_wait 30 grep -q '^ready' "$SB_DIR/tool.out"; then
  fail "cni_server_tool serves"
  cat "$SB_DIR/tool.log" >&2
  finish
  exit 1
fi
pass "the cniserver module serves on $SOCK"
check_output "the socket has module.cniserver.socketmode (0600)" "600" stat -c %a "$SOCK"

for p in pod1 pod2 pod3 pod4; do sb_netns "$p"; done
ns_path() { echo "/run/netns/$(sb_ns "$1")"; }

# cni_run CMD CID POD VERSION [EXTRA_CONFIG_JSON] [CNI_ARGS]: vlcp-cni as a runtime runs it.
cni_run() {
  local cmd=$1 cid=$2 pod=$3 ver=$4 extra=${5:-} args=${6:-} ns=""
  [ -n "$pod" ] && ns=$(ns_path "$pod")
  printf '{"cniVersion":"%s","name":"blue","type":"vlcp-cni","socket":"%s"%s}' "$ver" "$SOCK" "$extra" |
    env CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" CNI_NETNS="$ns" CNI_IFNAME=eth0 CNI_ARGS="$args" \
      CNI_PATH=/opt/cni/bin "$cni"
}
# quiet CMD...: CMD with its output dropped (for checks on the exit status alone).
quiet() { "$@" >/dev/null 2>&1; }
# code_of: the CNI error code on stdin's error object.
code_of() { jq -r .code; }
C1=pod1$SB_ID
C2=pod2$SB_ID
C3=pod3$SB_ID
C4=pod4$SB_ID

# --- VERSION, STATUS -----------------------------------------------------------------------------
check_output "VERSION lists 1.1.0 (answered by vlcp-cni itself)" '"1.1.0"' \
  bash -c "echo '{\"cniVersion\":\"1.0.0\"}' | CNI_COMMAND=VERSION '$cni'"
check "STATUS: ready (exit 0)" cni_run STATUS "" "" 1.1.0

# --- ADD in each version -------------------------------------------------------------------------
R1=$(cni_run ADD "$C1" pod1 1.1.0)
check "ADD pod1 (1.1.0) exits 0" test $? -eq 0
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

R2=$(cni_run ADD "$C2" pod2 0.4.0 "" "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-2;IP=10.1.0.42")
check "ADD pod2 (0.4.0, CNI_ARGS IP=10.1.0.42) exits 0" test $? -eq 0
check_output "0.4.0 result: \"version\": \"4\" in the ip" '4' jq -r '.ips[0].version' <<<"$R2"
check_output "0.4.0 result: the address asked for" '10.1.0.42/24' jq -r '.ips[0].address' <<<"$R2"
check_fails "0.4.0 result: no interface MTU (a 1.1.0 field)" jq -e '.interfaces[1].mtu' <<<"$R2"

# --- what exists ---------------------------------------------------------------------------------
check_output "pod1: eth0 has the result's address" "inet ${IP1}" ip -n "$(sb_ns pod1)" addr show eth0
check_output "pod1: eth0 has the result's MAC" "link/ether $MAC1" ip -n "$(sb_ns pod1)" link show eth0
check_output "pod1: eth0 has MTU 1450" "mtu 1450" ip -n "$(sb_ns pod1)" link show eth0
check_output "pod1: the default route via the gateway" "default via 10.1.0.1 dev eth0" ip -n "$(sb_ns pod1)" route
check_output "the host end carries the owner alias" "alias vlcp:cni:$C1:eth0" ip -n "$SRV" -d link show "$HOST1"
check_output "OVSDB: the interface's iface-id is the port" "k8s-$C1" \
  sb_vsctl srv get interface "$HOST1" external_ids:iface-id
check_output "OVSDB: the interface's owner mark" "cni:$C1:eth0" sb_vsctl srv get interface "$HOST1" external_ids:vlcp-owner
ofport=$(sb_vsctl srv get interface "$HOST1" ofport)
check "OVSDB: the interface has an ofport ($ofport)" test "${ofport:-0}" -gt 0
check "pod1 pings pod2 across the bridge" sb_exec pod1 ping -c 2 -W 2 -i 0.2 10.1.0.42
check "pod2 pings pod1" sb_exec pod2 ping -c 2 -W 2 -i 0.2 "${IP1%/*}"

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
check_output "CHECK after 'ip -n pod1 link del eth0': code 103" 103 code_of <<<"$out"
check_output "...naming the interface and the netns" "eth0 not found in $(ns_path pod1)" jq -r .details <<<"$out"

# --- DEL -----------------------------------------------------------------------------------------
check "DEL pod1 exits 0" cni_run DEL "$C1" pod1 1.1.0
check "DEL pod1 again exits 0" cni_run DEL "$C1" pod1 1.1.0
check_fails "pod1's host end is gone" ip -n "$SRV" link show "$HOST1"
check_fails "pod1's OVSDB port is gone" sb_vsctl srv port-to-br "$HOST1"
ip netns del "$(sb_ns pod2)"
check "DEL pod2 after its netns was deleted exits 0" cni_run DEL "$C2" pod2 0.4.0
check "ADD pod1 once more after DEL (a fresh attachment)" quiet cni_run ADD "$C1" pod1 1.1.0
check "...and DEL it" cni_run DEL "$C1" pod1 1.1.0

# --- GC ------------------------------------------------------------------------------------------
R3=$(cni_run ADD "$C3" pod3 1.0.0)
check "ADD pod3 (1.0.0)" test $? -eq 0
R4=$(cni_run ADD "$C4" pod4 0.3.1)
check "ADD pod4 (0.3.1)" test $? -eq 0
check_output "0.3.1 result: cniVersion" '0.3.1' jq -r .cniVersion <<<"$R4"
HOST3=$(jq -r '.interfaces[0].name' <<<"$R3")
HOST4=$(jq -r '.interfaces[0].name' <<<"$R4")
check "GC with only pod3 valid exits 0" cni_run GC "" "" 1.1.0 \
  ",\"cni.dev/valid-attachments\":[{\"containerID\":\"$C3\",\"ifname\":\"eth0\"}]"
check "GC kept pod3's port" quiet sb_vsctl srv port-to-br "$HOST3"
check_fails "GC removed pod4's port" sb_vsctl srv port-to-br "$HOST4"
check_fails "GC removed pod4's veth" ip -n "$SRV" link show "$HOST4"
check "DEL pod3" cni_run DEL "$C3" pod3 1.0.0

# --- libcni (containerd's and CRI-O's runtime library), when Debian's copy and go are there ------
gocode=/usr/share/gocode
if command -v go >/dev/null && [ -d "$gocode/src/github.com/containernetworking/cni/libcni" ]; then
  work=$SB_DIR/libcni
  mkdir -p "$work/src/cnirun" "$work/cache"
  cp "$(dirname "$0")/../tools/cnirun.go" "$work/src/cnirun/main.go"
  if (cd "$work/src/cnirun" && GO111MODULE=off GOPATH="$work:$gocode" GOCACHE="${GOCACHE:-$work/gocache}" \
    GOFLAGS='' go build -o "$work/cnirun" .); then
    printf '{"cniVersion":"1.0.0","name":"blue","plugins":[{"type":"vlcp-cni","socket":"%s"}]}' "$SOCK" \
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
check_output "no link marked vlcp:cni: in the server namespace" "0" \
  bash -c "ip -n '$SRV' -d link show | grep -c 'alias vlcp:cni:'"
check_output "no port left on $BR" "" sb_vsctl srv list-ports "$BR"
sb_stop_pid "$TOOL"
check_output "the module published vlcp_cni_requests_total" 'vlcp_cni_requests_total{command="ADD",code="0"}' \
  cat "$SB_DIR/tool.log"
check_output "no model port and no CNI info left" '{"ports": 0, "cni_infos": 0}' tail -1 "$SB_DIR/tool.out"
out=$(cni_run STATUS "" "" 1.1.0)
check_output "STATUS with vlcpd stopped: code 50" 50 code_of <<<"$out"
out=$(cni_run ADD "$C1" pod1 1.1.0)
check_output "ADD with vlcpd stopped: code 11 (try again later)" 11 code_of <<<"$out"
check_fails "the socket file went with the module" test -e "$SOCK"
finish
