# The test sandbox: real Open vSwitch (userspace and DPDK), namespace hosts, underlay and
# management links, and ZooKeeper, each created with a per-run unique name, recorded, and
# removed by sb_down (processes stopped by PID). Sourced by system tests and by
# tests/sandbox/sandbox (the by-hand CLI). All state lives in files under $SB_DIR, so a
# sandbox made by one command can be inspected and torn down by another.
#
# Every resource is also appended to a ledger ($VLCP_SANDBOX_LEDGER, or $SB_DIR/ledger) that
# outlives the sandbox: tests/system/sandbox_leaks.sh checks that nothing in it survives.
# shellcheck shell=bash

SB_ROOT=${VLCP_SANDBOX_ROOT:-/tmp}
SB_OVS_VSWITCHD=/usr/lib/openvswitch-switch/ovs-vswitchd
SB_OVS_VSWITCHD_DPDK=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
SB_OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
SB_MGMT_PREFIX=10.254.0   # management network, only inside the sandbox's own namespaces
SB_ZK_HOST=$SB_MGMT_PREFIX.1

sb_log() { echo "sandbox: $*" >&2; }
sb_die() {
  echo "sandbox: error: $*" >&2
  return 1
}

# --- state -----------------------------------------------------------------------------------

# Creates a fresh sandbox and exports SB_DIR and SB_ID (4 hex digits, unique among live ones).
sb_init() {
  [ "$(id -u)" -eq 0 ] || sb_die "the sandbox needs root (network namespaces)" || return 1
  local id
  for _ in 1 2 3 4 5 6 7 8; do
    id=$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')
    ip netns list 2>/dev/null | grep -q "^vsb$id-" && continue
    compgen -G "$SB_ROOT/vlcp-sb.$id.*" >/dev/null && continue
    break
  done
  SB_ID=$id
  SB_DIR=$(mktemp -d "$SB_ROOT/vlcp-sb.$id.XXXX")
  export SB_ID SB_DIR
  : >"$SB_DIR/resources"
  echo "$SB_ID" >"$SB_DIR/id"
  echo "${VLCP_SANDBOX_LEDGER:-$SB_DIR/ledger}" >"$SB_DIR/ledger-path"
  sb_record dir "$SB_DIR"
}

# Loads an existing sandbox (for the CLI): sb_attach DIR
sb_attach() {
  [ -f "$1/id" ] || sb_die "$1 is not a sandbox directory" || return 1
  SB_DIR=$(cd "$1" && pwd)
  SB_ID=$(cat "$SB_DIR/id")
  export SB_ID SB_DIR
}

# Records a resource for teardown and in the ledger: sb_record KIND NAME [EXTRA]
#   kinds: dir PATH | netns NAME | link NAME | pid PID LABEL
sb_record() {
  local line="$*"
  if [ "$1" = pid ]; then
    # The process start time tells a live process from a later one that reused the PID.
    line="pid $2 $(sb_pid_start "$2") ${3:-}"
  fi
  echo "$line" >>"$SB_DIR/resources"
  echo "$line" >>"$(cat "$SB_DIR/ledger-path")"
}

sb_pid_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# True while PID is the very process that was recorded with START.
sb_pid_alive() {
  [ -e "/proc/$1" ] || return 1
  [ "$(sb_pid_start "$1")" = "$2" ] || return 1
  # A reaped-late zombie is as good as gone.
  [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

sb_ns() { echo "vsb$SB_ID-$1"; }       # namespace name of sandbox object NAME
sb_ifname() { echo "v$SB_ID$1"; }      # interface name (<= 15 chars: keep NAME <= 10)

sb_exec() {
  local ns
  ns=$(sb_ns "$1")
  shift
  ip netns exec "$ns" "$@"
}

sb_netns() {
  local ns
  ns=$(sb_ns "$1")
  ip netns list | grep -q "^$ns\b" && return 0
  ip netns add "$ns" || return 1
  sb_record netns "$ns"
  ip -n "$ns" link set lo up
}

# Waits until "$@" succeeds, polling every 50 ms for at most SECONDS: sb_wait SECONDS cmd...
sb_wait() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}

# Polls "cmd..." until its output contains WANT (the last argument), for at most SECONDS, and
# prints the last output: sb_wait_output SECONDS cmd... WANT
sb_wait_output() {
  local deadline=$((SECONDS + $1))
  shift
  local want=${*: -1} out
  local cmd=("${@:1:$#-1}")
  while :; do
    out=$("${cmd[@]}" 2>&1)
    if [[ $out == *"$want"* ]]; then echo "$out"; return 0; fi
    if [ $SECONDS -ge $deadline ]; then echo "$out"; return 1; fi
    sleep 0.05
  done
}

# --- Open vSwitch ----------------------------------------------------------------------------

sb_ovs_dir() { echo "$SB_DIR/ovs-$1"; }

# Runs an OVS tool against instance NAME: sb_ovs NAME ovs-vsctl ...
sb_ovs() {
  local d
  d=$(sb_ovs_dir "$1")
  shift
  OVS_RUNDIR=$d/run OVS_DBDIR=$d/db OVS_LOGDIR=$d/log OVS_SYSCONFDIR=$d/etc \
    OVS_PKGDATADIR=/usr/share/openvswitch "$@"
}
sb_vsctl() {
  local name=$1
  shift
  sb_ovs "$name" ovs-vsctl --timeout=20 --db="unix:$(sb_ovs_dir "$name")/run/db.sock" "$@"
}
sb_ofctl() {
  local name=$1
  shift
  sb_ovs "$name" ovs-ofctl -O OpenFlow13 "$@"
}
sb_appctl() {
  local name=$1
  shift
  sb_ovs "$name" ovs-appctl -t "$(sb_ovs_dir "$name")/run/ovs-vswitchd.ctl" "$@"
}
# The unix socket path a controller listens on for instance NAME (OVS accepts only its rundir).
sb_ovs_controller_socket() { echo "$(sb_ovs_dir "$1")/run/controller.sock"; }

# Starts ovsdb-server and ovs-vswitchd for instance NAME in its own network namespace (also
# named NAME), so several instances can play separate servers. sb_ovs_start NAME [dpdk]
sb_ovs_start() {
  local name=$1 flavour=${2:-userspace} d ns
  d=$(sb_ovs_dir "$name")
  ns=$(sb_ns "$name")
  sb_netns "$name" || return 1
  mkdir -p "$d/run" "$d/db" "$d/log" "$d/etc"
  sb_ovs "$name" ovsdb-tool create "$d/db/conf.db" "$SB_OVS_SCHEMA" || return 1
  sb_ovs "$name" ip netns exec "$ns" ovsdb-server "$d/db/conf.db" --remote="punix:$d/run/db.sock" \
    --pidfile="$d/run/ovsdb-server.pid" --unixctl="$d/run/ovsdb-server.ctl" --detach -vconsole:off \
    --log-file="$d/log/ovsdb-server.log" || return 1
  sb_record pid "$(cat "$d/run/ovsdb-server.pid")" "ovsdb-server:$name"
  sb_vsctl "$name" --no-wait init || return 1
  local vswitchd=$SB_OVS_VSWITCHD
  if [ "$flavour" = dpdk ]; then
    vswitchd=$SB_OVS_VSWITCHD_DPDK
    # No hugepages: --no-huge needs --legacy-mem, or OVS adds --in-memory and EAL aborts.
    sb_vsctl "$name" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
      "other_config:dpdk-extra=--no-huge --legacy-mem --no-shconf --no-pci -m ${SB_DPDK_MEM_MB:-256} --no-telemetry" \
      other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 other_config:pmd-maxsleep=1000 ||
      return 1
  fi
  sb_ovs "$name" ip netns exec "$ns" "$vswitchd" "unix:$d/run/db.sock" --pidfile="$d/run/ovs-vswitchd.pid" \
    --unixctl="$d/run/ovs-vswitchd.ctl" --detach -vconsole:off --log-file="$d/log/ovs-vswitchd.log" ||
    { sb_log "ovs-vswitchd failed; log:"; tail -20 "$d/log/ovs-vswitchd.log" >&2; return 1; }
  sb_record pid "$(cat "$d/run/ovs-vswitchd.pid")" "ovs-vswitchd:$name"
  echo "$flavour" >"$d/flavour"
  if [ "$flavour" = dpdk ]; then
    sb_wait 30 sb_ovs_dpdk_ready "$name" || sb_die "OVS-DPDK $name: dpdk_initialized never became true" || return 1
  fi
}

sb_ovs_dpdk_ready() { [ "$(sb_vsctl "$1" get Open_vSwitch . dpdk_initialized)" = true ]; }

# Stops instance NAME: vswitchd with `exit --cleanup` (a plain SIGTERM leaves its taps behind),
# then ovsdb-server; both by PID, SIGKILL after 10 s.
sb_ovs_stop() {
  local name=$1 d
  d=$(sb_ovs_dir "$name")
  [ -d "$d/run" ] || return 0
  if [ -f "$d/run/ovs-vswitchd.pid" ]; then
    timeout 10 bash -c "$(declare -f sb_ovs sb_ovs_dir sb_appctl); SB_DIR='$SB_DIR'; sb_appctl '$name' exit --cleanup" \
      >/dev/null 2>&1 || true
    sb_stop_pid "$(cat "$d/run/ovs-vswitchd.pid")"
  fi
  [ -f "$d/run/ovsdb-server.pid" ] && sb_stop_pid "$(cat "$d/run/ovsdb-server.pid")"
  return 0
}

# A bridge as the controller expects: userspace datapath, OpenFlow 1.3, fail_mode=secure.
# sb_bridge OVS BRIDGE [DPID] [extra ovs-vsctl args after --]
sb_bridge() {
  local name=$1 br=$2 dpid=${3:-}
  shift 3 2>/dev/null || shift $#
  local extra=()
  [ -n "$dpid" ] && extra+=(other_config:datapath-id="$dpid")
  sb_vsctl "$name" add-br "$br" -- set bridge "$br" datapath_type=netdev protocols=OpenFlow13 \
    fail_mode=secure "${extra[@]}" "$@"
}

# --- hosts -----------------------------------------------------------------------------------

# A host: a namespace whose eth0 is a veth into bridge BR of OVS instance OVS.
# sb_host NAME OVS BR IP/PREFIX [mac=..] [mtu=..] [iface_id=..] [ofport=..] [dpdk=af_packet|tap]
sb_host() {
  local name=$1 ovs=$2 br=$3 addr=$4
  shift 4
  local mac="" mtu="" iface_id="" ofport="" dpdk=""
  local kv
  for kv in "$@"; do
    case "$kv" in
      mac=*) mac=${kv#mac=} ;;
      mtu=*) mtu=${kv#mtu=} ;;
      iface_id=*) iface_id=${kv#iface_id=} ;;
      ofport=*) ofport=${kv#ofport=} ;;
      dpdk=*) dpdk=${kv#dpdk=} ;;
      *) sb_die "sb_host: unknown option $kv" || return 1 ;;
    esac
  done
  [ ${#name} -le 10 ] || sb_die "host name '$name' longer than 10 characters" || return 1
  local hns ons port
  hns=$(sb_ns "$name")
  ons=$(sb_ns "$ovs")
  port=$(sb_ifname "$name")
  sb_netns "$name" || return 1

  # The switch side: a veth end (plain or af_packet-backed DPDK port), or a DPDK tap that is
  # then moved into the host as its eth0.
  local args=(add-port "$br") ofname=$port
  if [ -n "$dpdk" ]; then
    local n
    n=$(($(cat "$(sb_ovs_dir "$ovs")/dpdk-ports" 2>/dev/null || echo 0) + 1))
    echo "$n" >"$(sb_ovs_dir "$ovs")/dpdk-ports"
    ofname=dpdk$n
    args+=("$ofname" -- set interface "$ofname" type=dpdk "options:dpdk-devargs=net_${dpdk}$n,iface=$port")
    # net_tap needs as many rx queues as OVS gives it tx queues (PMDs + 1).
    [ "$dpdk" = tap ] && args+=(options:n_rxq=2)
  else
    args+=("$port" -- set interface "$port")
  fi
  echo "$ofname" >"$SB_DIR/host-$name.port"
  [ -n "$ofport" ] && args+=(ofport_request="$ofport")
  [ -n "$iface_id" ] && args+=(external_ids:iface-id="$iface_id")
  [ -n "$mac" ] && args+=(external_ids:attached-mac="$mac")

  if [ "$dpdk" = tap ]; then
    sb_vsctl "$ovs" "${args[@]}" || return 1
    sb_wait 20 ip -n "$ons" link show "$port" || sb_die "DPDK tap $port never appeared" || return 1
    ip -n "$ons" link set "$port" netns "$hns" || return 1
    ip -n "$hns" link set "$port" name eth0 || return 1
  else
    ip -n "$ons" link add "$port" type veth peer name eth0 netns "$hns" || return 1
    sb_record link "$port"
    ip -n "$ons" link set "$port" up
    ip netns exec "$ons" ethtool -K "$port" tx off >/dev/null 2>&1 || true
    [ -n "$mtu" ] && ip -n "$ons" link set "$port" mtu "$mtu"
  fi
  [ -n "$mac" ] && ip -n "$hns" link set eth0 address "$mac"
  [ -n "$mtu" ] && ip -n "$hns" link set eth0 mtu "$mtu"
  ip -n "$hns" addr add "$addr" dev eth0
  ip -n "$hns" link set eth0 up
  # The userspace datapath does not fill in checksums the kernel leaves to offload: without
  # this, ICMP works and TCP silently hangs.
  ip netns exec "$hns" ethtool -K eth0 tx off >/dev/null 2>&1 || true
  if [ "$dpdk" != tap ]; then
    sb_vsctl "$ovs" "${args[@]}" || return 1
  fi
  echo "${addr%/*}" >"$SB_DIR/host-$name.ip"
}

# Removes host NAME from OVS instance OVS (its port and its namespace): sb_host_del NAME OVS
sb_host_del() {
  sb_vsctl "$2" --if-exists del-port "$(sb_host_port "$1")"
  ip netns del "$(sb_ns "$1")" 2>/dev/null || true
}

# A "physical" switch shared by servers: namespace NAME with a Linux bridge that forwards
# tagged frames as they are (no VLAN filtering). sb_physwitch NAME
sb_physwitch() {
  sb_netns "$1" || return 1
  ip -n "$(sb_ns "$1")" link add sw type bridge || return 1
  ip -n "$(sb_ns "$1")" link set sw up
}
# Cables bridge BR of OVS instance OVS to physical switch SW; prints the port's name in OVS.
# sb_physport OVS BR SW [TAG]   (TAG tells apart several cables of one server)
sb_physport() {
  local ovs=$1 br=$2 sw=$3 tag=${4:-} port outer
  port=$(sb_ifname "p$tag$ovs")
  outer=$(sb_ifname "s$tag$ovs")
  ip -n "$(sb_ns "$ovs")" link add "$port" type veth peer name "$outer" netns "$(sb_ns "$sw")" || return 1
  sb_record link "$port"
  ip -n "$(sb_ns "$sw")" link set "$outer" master sw up
  ip -n "$(sb_ns "$ovs")" link set "$port" up
  ip netns exec "$(sb_ns "$ovs")" ethtool -K "$port" tx off >/dev/null 2>&1 || true
  sb_vsctl "$ovs" add-port "$br" "$port" >/dev/null || return 1
  echo "$port"
}

# The real ISC dhclient in HOST, once (-1) on eth0, with what directory DIR holds (dhclient.conf,
# resolv.conf, exit-hooks/, enter-hooks/) and its lease, pid and log files there, in a private
# mount namespace where /etc/resolv.conf and the hook directories are DIR's: dhclient-script
# touches nothing of the machine's. $DHCLIENT (default /usr/sbin/dhclient). Returns its status.
# sb_dhclient HOST DIR
sb_dhclient() {
  local h=$1 d=$2
  sb_exec "$h" unshare -m --propagation private sh -c "
    mount --bind '$d/resolv.conf' /etc/resolv.conf &&
    mount --bind '$d/exit-hooks' /etc/dhcp/dhclient-exit-hooks.d &&
    mount --bind '$d/enter-hooks' /etc/dhcp/dhclient-enter-hooks.d &&
    exec '${DHCLIENT:-/usr/sbin/dhclient}' -1 -v -cf '$d/dhclient.conf' -lf '$d/leases' -pf '$d/pid' -sf /sbin/dhclient-script eth0
  " >"$d/log" 2>&1
}

sb_host_ip() { cat "$SB_DIR/host-$1.ip"; }
sb_host_port() { cat "$SB_DIR/host-$1.port"; }
sb_ofport() { sb_vsctl "$1" get interface "$2" ofport; }

# Forgets what hosts learnt about their neighbours: a ping that failed leaves an unresolved
# (FAILED) entry that makes the next pings error out for a while. sb_neigh_flush HOST...
sb_neigh_flush() {
  local h
  for h in "$@"; do sb_exec "$h" ip neigh flush all; done
}

# ping from host A to host B (or an address): sb_ping A B|IP [count] [extra ping args]
sb_ping() {
  local from=$1 to=$2 count=${3:-3}
  shift 3 2>/dev/null || shift $#
  [[ $to =~ ^[0-9.]+$ ]] || to=$(sb_host_ip "$to")
  sb_exec "$from" ping -q -c "$count" -i 0.2 -W 2 "$@" "$to"
}

# --- underlay and management -----------------------------------------------------------------

# An underlay between two OVS "servers" (for VXLAN): a veth pair, each end in bridge br-phy of
# its server, whose internal port holds the tunnel endpoint address (the userspace datapath
# routes tunnels through an OVS bridge). sb_underlay OVS_A IP_A OVS_B IP_B   (IP with /prefix)
sb_underlay() {
  local a=$1 ipa=$2 b=$3 ipb=$4
  local la lb
  la=$(sb_ifname "ul$a")
  lb=$(sb_ifname "ul$b")
  ip -n "$(sb_ns "$a")" link add "$la" type veth peer name "$lb" netns "$(sb_ns "$b")" || return 1
  sb_record link "$la"
  sb_record link "$lb"
  local side
  for side in "$a:$la:$ipa" "$b:$lb:$ipb"; do
    IFS=: read -r ovs link ip <<<"$side"
    local ns
    ns=$(sb_ns "$ovs")
    ip -n "$ns" link set "$link" up
    ip netns exec "$ns" ethtool -K "$link" tx off >/dev/null 2>&1 || true
    sb_vsctl "$ovs" --may-exist add-br br-phy -- set bridge br-phy datapath_type=netdev \
      -- add-port br-phy "$link" || return 1
    ip -n "$ns" addr add "$ip" dev br-phy
    ip -n "$ns" link set br-phy up
    echo "${ip%/*}" >"$(sb_ovs_dir "$ovs")/vtep-ip"
  done
  sb_wait 10 sb_exec "$a" ping -c1 -W1 "${ipb%/*}" || sb_die "underlay $a -> $b does not answer" || return 1
  # OVS resolves tunnel next hops itself and drops the first tunnelled packets (about a second)
  # until it has: give each side the other's address now.
  local mac_a mac_b
  mac_a=$(ip -n "$(sb_ns "$a")" -br link show br-phy | awk '{print $3}')
  mac_b=$(ip -n "$(sb_ns "$b")" -br link show br-phy | awk '{print $3}')
  sb_appctl "$a" tnl/arp/set br-phy "${ipb%/*}" "$mac_b" >/dev/null || return 1
  sb_appctl "$b" tnl/arp/set br-phy "${ipa%/*}" "$mac_a" >/dev/null || return 1
}

sb_vtep_ip() { cat "$(sb_ovs_dir "$1")/vtep-ip"; }

# A VXLAN port on a server's integration bridge: sb_vxlan_port OVS BR PORT REMOTE_IP [ofport]
sb_vxlan_port() {
  local ovs=$1 br=$2 port=$3 remote=$4 ofport=${5:-}
  local args=(add-port "$br" "$port" -- set interface "$port" type=vxlan "options:remote_ip=$remote"
    "options:local_ip=$(sb_vtep_ip "$ovs")" options:key=flow)
  [ -n "$ofport" ] && args+=(ofport_request="$ofport")
  sb_vsctl "$ovs" "${args[@]}"
}

# The management network: a namespace "mgmt" with a Linux bridge at $SB_MGMT_PREFIX.1/24, where
# ZooKeeper runs; sb_mgmt_attach NS N gives namespace NS the address $SB_MGMT_PREFIX.N on it.
sb_mgmt() {
  local ns
  ns=$(sb_ns mgmt)
  [ -f "$SB_DIR/mgmt" ] && return 0
  sb_netns mgmt || return 1
  ip -n "$ns" link add mgmt type bridge || return 1
  ip -n "$ns" addr add "$SB_MGMT_PREFIX.1/24" dev mgmt
  ip -n "$ns" link set mgmt up
  touch "$SB_DIR/mgmt"
}

sb_mgmt_attach() {
  local name=$1 n=$2
  sb_mgmt || return 1
  local ns mns inner outer
  ns=$(sb_ns "$name")
  mns=$(sb_ns mgmt)
  outer=$(sb_ifname "m$name")
  ip -n "$mns" link add "$outer" type veth peer name mgmt0 netns "$ns" || return 1
  sb_record link "$outer"
  ip -n "$mns" link set "$outer" master mgmt up
  ip -n "$ns" addr add "$SB_MGMT_PREFIX.$n/24" dev mgmt0
  ip -n "$ns" link set mgmt0 up
}

# --- ZooKeeper -------------------------------------------------------------------------------

sb_zk_dir() { echo "$SB_DIR/zk$1"; }
sb_zk_client_port() { echo $((2180 + $1)); }

# Starts N members (1 = standalone, 3 = ensemble) in the management namespace, 127.0.0.1 and
# $SB_ZK_HOST only, admin server off; returns when every member serves. sb_zk_start N
sb_zk_start() {
  local n=${1:-1} i
  sb_mgmt || return 1
  echo "$n" >"$SB_DIR/zk-members"
  for i in $(seq "$n"); do
    local d
    d=$(sb_zk_dir "$i")
    mkdir -p "$d/data"
    {
      echo "tickTime=500"
      echo "initLimit=20"
      echo "syncLimit=10"
      echo "dataDir=$d/data"
      echo "clientPort=$(sb_zk_client_port "$i")"
      echo "clientPortAddress=0.0.0.0"
      echo "admin.enableServer=false"
      echo "4lw.commands.whitelist=ruok,srvr,stat,mntr,conf"
      echo "maxClientCnxns=200"
      if [ "$n" -gt 1 ]; then
        local j
        for j in $(seq "$n"); do echo "server.$j=$SB_ZK_HOST:$((2887 + j)):$((3887 + j))"; done
      fi
    } >"$d/zoo.cfg"
    [ "$n" -gt 1 ] && echo "$i" >"$d/data/myid"
  done
  for i in $(seq "$n"); do sb_zk_start_member "$i" nowait || return 1; done
  for i in $(seq "$n"); do
    sb_wait 60 sb_zk_serving "$i" || { sb_log "ZooKeeper member $i not serving; log:"; tail -20 "$(sb_zk_dir "$i")/zookeeper.log" >&2; return 1; }
  done
}

sb_zk_start_member() {
  local i=$1 wait=${2:-wait} d
  d=$(sb_zk_dir "$i")
  # The same start line as Debian's init script, in the foreground, with log4j so it logs.
  # Small and quick to start for tests; benchmarks pass production-like options (full JIT).
  # shellcheck disable=SC2086
  ip netns exec "$(sb_ns mgmt)" java ${SB_ZK_JAVA_OPTS:--Xms32m -Xmx192m -XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
    -cp "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar" \
    -Dzookeeper.log.dir="$d" -Dzookeeper.root.logger=INFO,ROLLINGFILE -Dzookeeper.log.file=zookeeper.log \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >"$d/stdout.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$d/pid"
  sb_record pid "$pid" "zookeeper:$i"
  if [ "$wait" = wait ]; then
    sb_wait 60 sb_zk_serving "$i" || sb_die "ZooKeeper member $i not serving" || return 1
  fi
}

# Kills member I (SIGKILL, the fault tests' "crash"), waiting until it is gone.
sb_zk_stop_member() {
  local d
  d=$(sb_zk_dir "$1")
  [ -f "$d/pid" ] && sb_stop_pid "$(cat "$d/pid")" KILL
  rm -f "$d/pid"
}

# A ZooKeeper four-letter word to member I: sb_zk_4lw I srvr
sb_zk_4lw() {
  echo "$2" | sb_exec mgmt nc -w 2 -N "$SB_ZK_HOST" "$(sb_zk_client_port "$1")" 2>/dev/null
}
# Serving, not merely up: `ruok` answers before the server serves, `srvr` shows a Mode only then.
sb_zk_serving() { sb_zk_4lw "$1" srvr | grep -q '^Mode: '; }
sb_zk_mode() { sb_zk_4lw "$1" srvr | sed -n 's/^Mode: //p'; }
sb_zk_leader() {
  local i
  for i in $(seq "$(cat "$SB_DIR/zk-members")"); do
    [ "$(sb_zk_mode "$i")" = leader ] && { echo "$i"; return 0; }
  done
  return 1
}
# The client connect string, as seen from the management network.
sb_zk_hosts() {
  local i out=""
  for i in $(seq "$(cat "$SB_DIR/zk-members")"); do out+="${out:+,}$SB_ZK_HOST:$(sb_zk_client_port "$i")"; done
  echo "$out"
}

# --- teardown --------------------------------------------------------------------------------

# Stops PID: SIGTERM (or the given signal), then SIGKILL after 10 s; waits until it is gone.
sb_stop_pid() {
  local pid=$1 sig=${2:-TERM} start
  [ -n "$pid" ] && [ -e "/proc/$pid" ] || return 0
  start=$(sb_pid_start "$pid")
  kill -"$sig" "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + 10))
  while sb_pid_alive "$pid" "$start"; do
    if [ $SECONDS -ge $deadline ]; then
      kill -KILL "$pid" 2>/dev/null
      deadline=$((SECONDS + 5))
    fi
    sleep 0.05
  done
}

# Removes everything the sandbox made, newest first: processes, links, namespaces, its dir.
sb_down() {
  [ -n "${SB_DIR:-}" ] && [ -f "$SB_DIR/resources" ] || return 0
  local d
  for d in "$SB_DIR"/docker-*; do [ -d "$d" ] && sb_dockerd_stop "${d##*/docker-}"; done
  for d in "$SB_DIR"/ovs-*; do [ -d "$d" ] && sb_ovs_stop "${d##*/ovs-}"; done
  local kind a b c
  # Processes first (they hold namespaces open), then links, then namespaces.
  while read -r kind a b c; do
    [ "$kind" = pid ] && sb_pid_alive "$a" "$b" && sb_stop_pid "$a"
  done < <(tac "$SB_DIR/resources")
  while read -r kind a b c; do
    [ "$kind" = link ] && ip link show "$a" >/dev/null 2>&1 && ip link del "$a" 2>/dev/null
  done < <(tac "$SB_DIR/resources")
  while read -r kind a b c; do
    [ "$kind" = netns ] && ip netns del "$a" 2>/dev/null
  done < <(tac "$SB_DIR/resources")
  local dir=$SB_DIR
  unset SB_DIR SB_ID
  rm -rf "$dir"
}

# What is alive in sandbox $SB_DIR, one line per resource.
sb_status() {
  local kind a b c state
  while read -r kind a b c; do
    case "$kind" in
      pid) sb_pid_alive "$a" "$b" && state=running || state=stopped; echo "process $c pid $a: $state" ;;
      netns) ip netns list | grep -q "^$a\b" && state=present || state=absent; echo "netns $a: $state" ;;
      link) echo "link $a" ;;
      dir) echo "dir $a" ;;
    esac
  done <"$SB_DIR/resources"
}

# --- vlcpd -----------------------------------------------------------------------------------

# Starts vlcpd (binary $VLCP_VLCPD) with config file CONF, logging to $SB_DIR/vlcpd-NAME.log,
# recorded for teardown by PID.
# With NS, it runs inside sandbox namespace NS (beside that OVS, as on a server).
# sb_vlcpd_start NAME CONF [NS]
sb_vlcpd_start() {
  local name=$1 conf=$2 ns=${3:-} bin=${VLCP_VLCPD:?set VLCP_VLCPD to the vlcpd binary}
  local run=()
  [ -n "$ns" ] && run=(ip netns exec "$(sb_ns "$ns")")
  # Its embedded ObjectDB lives in the sandbox unless the config says otherwise.
  grep -q '^module.objectdb.path' "$conf" || echo "module.objectdb.path = \"$SB_DIR/objectdb-$name.mdb\"" >>"$conf"
  "${run[@]}" "$bin" -c "$conf" >>"$SB_DIR/vlcpd-$name.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$SB_DIR/vlcpd-$name.pid"
  sb_record pid "$pid" "vlcpd:$name"
}
sb_vlcpd_pid() { cat "$SB_DIR/vlcpd-$1.pid"; }
# sb_vlcpd_api_conf FILE HTTP_PORT [LINE...]: a vlcpd with only its WebAPI and model (on
# HTTP_PORT): OpenFlow on a free port, no OVSDB, no metrics, no worker lcores; a LINE
# ("key = value") adds to or replaces these.
sb_vlcpd_api_conf() {
  local file=$1 port=$2 line key
  shift 2
  {
    for line in "module.openflowserver.url = 'tcp://127.0.0.1:$(sb_free_port)'" "module.ovsdbmanager.url = ''" \
      "module.httpserver.url = 'tcp://127.0.0.1:$port'" "module.metrics.url = ''" "module.sched.workers = 0"; do
      key=${line%% =*}
      printf '%s\n' "$@" | grep -q "^$key =" || echo "$line"
    done
    printf '%s\n' "$@"
  } >"$file"
}
sb_vlcpd_log() { cat "$SB_DIR/vlcpd-$1.log"; }
# sb_vlcpd_server_conf FILE OVS [LINE...]: a vlcpd beside OVS instance OVS (run it in that
# namespace), as on a server: it takes br-int over through OVSDB, serves its WebAPI on
# 127.0.0.1:8081 and metrics on :9464 there, and keeps the model on the sandbox's ZooKeeper.
# A LINE ("key = value") adds to or replaces these.
sb_vlcpd_server_conf() {
  local file=$1 ovs=$2 line key
  shift 2
  {
    for line in "module.openflowserver.url = 'unix://$(sb_ovs_controller_socket "$ovs")'" \
      "module.ovsdbmanager.url = 'unix://$(sb_ovs_dir "$ovs")/run/db.sock'" \
      "module.ovsdbmanager.controller = 'unix:$(sb_ovs_controller_socket "$ovs")'" \
      "module.ovsdbmanager.bridges = ['br-int']" "module.httpserver.url = 'tcp://127.0.0.1:8081'" \
      "module.metrics.url = 'tcp://127.0.0.1:9464'" "module.sched.workers = 0" \
      "module.objectdb.backend = 'zookeeper'" "module.zookeeperdb.url = 'tcp://$(sb_zk_hosts)'"; do
      key=${line%% =*}
      printf '%s\n' "$@" | grep -q "^$key =" || echo "$line"
    done
    printf '%s\n' "$@"
  } >"$file"
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
sb_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- Docker (issue 19, docs/CONTAINERS_DESIGN.md §1.2, §8.1) ----------------------------------
# One dockerd per simulated server, in that server's network namespace, with everything of its
# own under $SB_DIR/docker-NAME/: data root, exec root (containerd's state and sockets), pidfile,
# API socket, /etc/docker (key.json, plugins/*.spec). Images are imported from a local rootfs:
# nothing is pulled from a registry. Debian's docker.io 20.10 speaks API 1.41: the tests use
# /usr/bin/docker, never the newer CLI some machines have first in PATH (it refuses 1.41).
SB_DOCKER=/usr/bin/docker
SB_DOCKERD=/usr/sbin/dockerd
SB_DOCKER_IMAGE=vlcp-test/busybox:1

sb_docker_dir() { echo "$SB_DIR/docker-$1"; }
sb_docker_sock() { echo "$(sb_docker_dir "$1")/docker.sock"; }
# The cgroup parent of dockerd NAME's containers (one per daemon, removed by sb_dockerd_stop).
sb_docker_cgroup() { echo "vsb$SB_ID-docker-$1"; }

# Runs inside `ip netns exec` (a private mount namespace, /sys remounted, so the cgroup v1
# hierarchies are hidden and dockerd would fail "Devices cgroup isn't mounted"): mounts them again,
# gives dockerd a private /etc/docker and a private /run (containerd's shims put their sockets in
# /run/containerd/s, dockerd makes /run/docker/plugins, where a host-wide plugin socket would
# shadow the spec files), then becomes dockerd. Nothing of it is visible outside the namespace.
# sb_dockerd_exec DIR CGROUP_PARENT [dockerd args]
sb_dockerd_exec() {
  local d=$1 parent=$2 c
  shift 2
  mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup || return 1
  for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
    mkdir -p "/sys/fs/cgroup/$c" && mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" || return 1
  done
  mount --bind "$d/etc" /etc/docker || return 1
  mount -t tmpfs -o mode=755 tmpfs /run || return 1
  mkdir -p /run/docker/plugins /run/netns
  exec "$SB_DOCKERD" --data-root "$d/root" --exec-root "$d/exec" -H "unix://$d/docker.sock" \
    --pidfile "$d/docker.pid" --iptables=false --ip6tables=false --ip-masq=false --bridge=none \
    --cgroup-parent "/$parent" "$@"
}

# Starts dockerd NAME in sandbox namespace NS (default NAME; made if missing) and waits until its
# API answers; recorded for teardown by PID (sb_down calls sb_dockerd_stop).
# Its /etc/docker/plugins/vlcp.spec names unix://$SB_DIR/NAME-docker.sock, the socket a vlcpd of
# that server serves the Docker plugin on. sb_dockerd_start NAME [NS] [dockerd args]
sb_dockerd_start() {
  local name=$1 ns=${2:-$1} d
  shift 2 2>/dev/null || shift $#
  d=$(sb_docker_dir "$name")
  # containerd's socket lives under the exec root: unix paths stop at 108 bytes.
  [ ${#d} -le 60 ] || sb_die "dockerd directory $d too long for containerd's socket" || return 1
  sb_netns "$ns" || return 1
  mkdir -p "$d/etc/plugins" "$d/root" "$d/exec" || return 1
  echo "unix://$SB_DIR/$name-docker.sock" >"$d/etc/plugins/vlcp.spec"
  # A dockerd killed with -9 leaves its pidfile, and the next start refuses ("pid file found").
  rm -f "$d/docker.pid"
  # ... and its containerd's, naming a containerd stopped since that may still be a zombie (init
  # reaps late here): dockerd takes it for a live one ("containerd is still running"), waits on its
  # socket, which is gone, and gives up ("timeout waiting for containerd to start").
  local cpid
  cpid=$(cat "$d/exec/containerd/containerd.pid" 2>/dev/null)
  if [ -n "$cpid" ] && [[ " $(sb_docker_procs "$name" | tr '\n' ' ') " != *" $cpid "* ]]; then
    rm -f "$d/exec/containerd/containerd.pid"
  fi
  ip netns exec "$(sb_ns "$ns")" bash -c "$(declare -f sb_dockerd_exec); SB_DOCKERD='$SB_DOCKERD'; \
    sb_dockerd_exec \"\$@\"" sb_dockerd_exec "$d" "$(sb_docker_cgroup "$name")" "$@" >>"$d/dockerd.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$d/pid"
  sb_record pid "$pid" "dockerd:$name"
  if ! sb_wait 60 sb_docker_ready "$name"; then
    sb_log "dockerd $name: its API never answered; log:"
    tail -20 "$d/dockerd.log" >&2
    return 1
  fi
  # Its containerd too, so that the leak check sees one that outlived everything.
  local p
  for p in $(sb_docker_procs "$name"); do [ "$p" != "$pid" ] && sb_record pid "$p" "containerd:$name"; done
  return 0
}

sb_docker_ready() { curl -sf --max-time 2 --unix-socket "$(sb_docker_sock "$1")" http://docker/_ping >/dev/null; }
sb_dockerd_pid() { cat "$(sb_docker_dir "$1")/pid"; }

# The Docker CLI against dockerd NAME: sb_docker NAME ARGS...
sb_docker() {
  local name=$1
  shift
  DOCKER_HOST="unix://$(sb_docker_sock "$name")" DOCKER_CONFIG="$(sb_docker_dir "$name")/cli" "$SB_DOCKER" "$@"
}

# Imports $SB_DOCKER_IMAGE into dockerd NAME: a static busybox (busybox-static) with one link
# per applet, built once per sandbox. sb_docker_image NAME
sb_docker_image() {
  local tar=$SB_DIR/busybox-rootfs.tar
  if [ ! -s "$tar" ]; then
    local r=$SB_DIR/busybox-rootfs a
    mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp,root} || return 1
    cp /bin/busybox "$r/bin/busybox" || return 1
    file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' ||
      ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' || sb_die "/bin/busybox is not static (busybox-static)" || return 1
    for a in $("$r/bin/busybox" --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
    echo 'root:x:0:' >"$r/etc/group"
    tar -C "$r" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar" || return 1
    rm -rf "$r"
  fi
  sb_docker "$1" import - "$SB_DOCKER_IMAGE" <"$tar" >/dev/null
}

# Two simulated servers, hv1 and hv2, on the sandbox's ZooKeeper (one member, reached through the
# management network): each an OVS (system-id hvN) with bridge BRIDGE and its VXLAN port vxlan0
# over an underlay 192.168.99.0/24 (hv1 .1, hv2 .2). sb_overlay_servers BRIDGE
sb_overlay_servers() {
  local br=$1
  sb_zk_start 1 && sb_ovs_start hv1 && sb_ovs_start hv2 &&
    sb_vsctl hv1 set Open_vSwitch . external_ids:system-id=hv1 &&
    sb_vsctl hv2 set Open_vSwitch . external_ids:system-id=hv2 &&
    sb_mgmt_attach hv1 11 && sb_mgmt_attach hv2 12 &&
    sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 &&
    sb_bridge hv1 "$br" 0000000000000001 && sb_vxlan_port hv1 "$br" vxlan0 flow &&
    sb_bridge hv2 "$br" 0000000000000002 && sb_vxlan_port hv2 "$br" vxlan0 flow
}

# A simulated server for the Docker plugin (containers_docker*.sh): OVS NAME (system-id NAME)
# with bridge dockerbr0, and $SB_DIR/NAME.conf for a vlcpd beside it (sb_vlcpd_server_conf's,
# with the embedded model and the dockerplugin module on $SB_DIR/NAME-docker.sock, the socket
# sb_dockerd_start's plugin spec names, over dockerbr0 as Docker's driver `vlcp`; each LINE adds
# another key). Start it with sb_vlcpd_start NAME "$SB_DIR/NAME.conf" NAME.
# sb_docker_plugin_server NAME [LINE...]
sb_docker_plugin_server() {
  local name=$1
  shift
  sb_ovs_start "$name" && sb_vsctl "$name" set Open_vSwitch . external_ids:system-id="$name" &&
    sb_bridge "$name" dockerbr0 0000000000000001 || return 1
  sb_vlcpd_server_conf "$SB_DIR/$name.conf" "$name" "server.loglevel = 'info'" \
    "module.ovsdbmanager.bridges = ['dockerbr0']" "module.objectdb.backend = 'embedded'" \
    "module.zookeeperdb.url = ''" "module.dockerplugin.url = 'unix://$SB_DIR/$name-docker.sock'" \
    "module.dockerplugin.ovsbridge = 'dockerbr0'" "module.dockerplugin.drivername = 'vlcp'" "$@"
}

# Stops dockerd NAME and everything it started: every container removed (while it still
# answers), dockerd by PID (SIGTERM, SIGKILL after 10 s), then whatever still names this
# daemon's directory on its command line (containerd, a shim that outlived a kill -9: found
# through /proc by that unique path, never by a bare name), its pidfile and its cgroups.
# sb_dockerd_stop NAME
sb_dockerd_stop() {
  local name=$1 d pid
  d=$(sb_docker_dir "$name")
  [ -d "$d" ] || return 0
  if sb_docker_ready "$name"; then
    local cli=(env DOCKER_HOST="unix://$(sb_docker_sock "$name")" DOCKER_CONFIG="$d/cli" "$SB_DOCKER") ids
    ids=$(timeout 20 "${cli[@]}" ps -aq 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && timeout 60 "${cli[@]}" rm -f $ids >/dev/null 2>&1
  fi
  [ -f "$d/pid" ] && sb_stop_pid "$(cat "$d/pid")"
  local p
  # Containers whose daemon died with -9: their processes are in this daemon's cgroup parent (a
  # shim stopped first would leave them to init).
  for p in $(cat /sys/fs/cgroup/pids/"$(sb_docker_cgroup "$name")"/*/cgroup.procs 2>/dev/null); do
    sb_stop_pid "$p" KILL
  done
  for p in $(sb_docker_procs "$name"); do sb_stop_pid "$p"; done
  rm -f "$d/docker.pid"
  local cg
  for cg in /sys/fs/cgroup/*/"$(sb_docker_cgroup "$name")"; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  return 0
}

# PIDs of live processes whose command line names dockerd NAME's directory (containerd, shims).
sb_docker_procs() {
  local d p cmd
  d=$(sb_docker_dir "$1")/
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
    cmd=$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)
    [[ $cmd == *"$d"* ]] || continue
    [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
    echo "$p"
  done
}
