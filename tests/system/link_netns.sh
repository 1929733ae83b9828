#!/usr/bin/env bash
# The link layer (src/link, issue 19) on the real kernel, through link_tool (a real LinkExecutor:
# the vlcp-link thread): in a "server" namespace (where vlcpd runs), a veth pair whose container
# end is made directly in a pod's namespace under its final name with MTU, MAC and the owner
# alias; the pod's address, lo, default and plain routes; a ping across; a second pair made beside
# the host end and then moved into the pod under a new name; links listed by alias; typed errors
# (exists, not found, a path that is not a network namespace); deletion leaving nothing. The
# link thread is checked to be back in its own namespace after every request that entered one.
tool=${VLCP_LINK_TOOL:?set VLCP_LINK_TOOL to the link_tool binary}
. "$(dirname "$0")/../lib/system.sh"

sb_netns srv
sb_netns pod
SRV=$(sb_ns srv)
POD=$(sb_ns pod)
POD_PATH=/run/netns/$POD
SRV_PATH=/run/netns/$SRV
A=vlcp${SB_ID}a   # host ends (9 characters)
B=vlcp${SB_ID}b
T() { sb_exec srv "$tool" "$@"; }
link() { ip -n "$1" -d link show "$2"; }
count() { "$@" | grep -c .; }  # lines of output
txcsum() { ip netns exec "$1" ethtool -k "$2" | sed -n 's/^tx-checksumming: //p'; }

# --- a pod interface made in the pod's namespace in one request ------------------------------
check "veth $A with its peer made in the pod as eth0" \
  T veth "$A" eth0 --netns "$POD_PATH" --mtu 1400 --mac 02:00:00:00:01:02 --alias vlcp:test:a --check-home
check_output "the host end is up" "MULTICAST,UP>" link "$SRV" "$A"
check_output "the host end has MTU 1400" "mtu 1400" link "$SRV" "$A"
check_output "the host end carries the owner alias" "alias vlcp:test:a" link "$SRV" "$A"
check_output "the pod end is eth0 with the MAC asked for" "link/ether 02:00:00:00:01:02" link "$POD" eth0
check_output "the pod end has MTU 1400" "mtu 1400" link "$POD" eth0
check_output "the pod end carries the owner alias" "alias vlcp:test:a" link "$POD" eth0
check_fails "the pod end never appeared in the server namespace" ip -n "$SRV" link show eth0
check_output "TX checksum offload is off on the host end" "off" txcsum "$SRV" "$A"
check_output "TX checksum offload is off on the pod end" "off" txcsum "$POD" eth0

# --- inside the pod: lo, up, address, routes; the host end's address ------------------------
check "the pod's address and routes" \
  T setup "$POD_PATH" eth0 --addr 10.77.0.2/24 --route 0.0.0.0/0@10.77.0.1 --route 10.88.0.0/16@10.77.0.1 \
  --route 10.99.0.0/16 --check-home
check "the host end's address (the server namespace by path)" T setup "$SRV_PATH" "$A" --addr 10.77.0.1/24
check_output "pod: the default route via the gateway" "default via 10.77.0.1 dev eth0" ip -n "$POD" route show
check_output "pod: a plain route via the gateway" "10.88.0.0/16 via 10.77.0.1 dev eth0" ip -n "$POD" route show
check_output "pod: an on-link route" "10.99.0.0/16 dev eth0 scope link" ip -n "$POD" route show
check_output "pod: the address" "inet 10.77.0.2/24" ip -n "$POD" addr show eth0
check_output "pod: lo is up" "LOOPBACK,UP" ip -n "$POD" link show lo
check "the pod pings the host end across the pair" sb_exec pod ping -c 2 -W 2 -i 0.2 10.77.0.1

# --- a pair beside the host end, then moved into the pod under a new name -------------------
check "veth $B with its peer in the server namespace" T veth "$B" "${B}c" --mtu 1450 --alias vlcp:test:b
check_output "both ends of $B listed by alias" "${B}c" T list --alias-prefix vlcp:test:
check_output "the list names $A's alias" "$A" T list --alias-prefix vlcp:test:a
check "moved into the pod as eth1 with MTU 1300 and up" \
  T set "${B}c" --move "$POD_PATH" --name eth1 --mtu 1300 --up --check-home
check_output "pod: eth1 with MTU 1300" "mtu 1300" link "$POD" eth1
check_output "pod: eth1 listed by alias in the pod" "eth1" T list --netns "$POD_PATH" --alias-prefix vlcp:test:b
check "changes in place: MTU, MAC, alias, down" \
  T set eth1 --netns "$POD_PATH" --mtu 1280 --mac 02:00:00:00:01:03 --alias vlcp:test:b2 --down
check_output "pod: eth1 changed" "link/ether 02:00:00:00:01:03" link "$POD" eth1
check_output "pod: eth1's new alias" "alias vlcp:test:b2" link "$POD" eth1

# --- typed errors, nothing made ------------------------------------------------------------------
check_status "a name in use is 'exists' (exit 3)" 3 T veth "$A" x"$SB_ID"
check_output "...and the existing pair is untouched" "alias vlcp:test:a" link "$SRV" "$A"
check_fails "...and no half pair is left" ip -n "$SRV" link show "x$SB_ID"
check_status "a non-network namespace is refused (exit 5)" 5 T veth "vlcp${SB_ID}u" u"$SB_ID" --netns /proc/self/ns/uts
check_status "a plain file is refused (exit 5)" 5 T veth "vlcp${SB_ID}f" f"$SB_ID" --netns /etc/hostname
check_status "setup in a non-network namespace is refused (exit 5)" 5 T setup /proc/self/ns/mnt eth0 --addr 10.1.1.1/24
check_fails "...nothing was made for them" ip -n "$SRV" link show "vlcp${SB_ID}u"
check_status "a missing namespace is 'not found' (exit 4)" 4 T veth "vlcp${SB_ID}m" m"$SB_ID" --netns /run/netns/vsb-none
check_status "deleting a missing link is 'not found' (exit 4)" 4 T del "vlcp${SB_ID}z"
check_status "a bad name is refused (exit 5)" 5 T veth "bad name" p

# --- deletion leaves nothing ---------------------------------------------------------------------
for i in 1 2 3; do T veth "vlcp${SB_ID}c$i" "vlcp${SB_ID}d$i" --alias vlcp:test:c >/dev/null; done
check_output "three more pairs, both ends listed by alias" "6" count T list --alias-prefix vlcp:test:c
check_status "deleted in one batch with a missing one among them: that one is 'not found'" 4 \
  T del "vlcp${SB_ID}c1" "vlcp${SB_ID}c2" "vlcp${SB_ID}zz" "vlcp${SB_ID}c3"
check_output "...and the three others are gone, their peers with them" "0" count T list --alias-prefix vlcp:test:c
check "delete $A (its pod end goes with it)" T del "$A"
check "delete $B from the server namespace" T del "$B"
check_output "no link marked vlcp:test: in the server namespace" "0" count T list --alias-prefix vlcp:test:
check_output "no link marked vlcp:test: in the pod" "0" count T list --netns "$POD_PATH" --alias-prefix vlcp:test:
check_output "the pod has only lo left" "1" bash -c "ip -n '$POD' -o link show | wc -l"
check_output "the server namespace has only lo left" "1" bash -c "ip -n '$SRV' -o link show | wc -l"
check_fails "nothing of this test in the root namespace" bash -c "ip -o link show | grep -q 'vlcp$SB_ID'"
ip netns del "$POD"
ip netns del "$SRV"
check_fails "both namespaces are gone" bash -c "ip netns list | grep -q '^vsb$SB_ID-'"
finish
