#!/usr/bin/env bash
# OpenFlow over TLS: vlcpd beside a userspace OVS (in its namespace), both with certificates from
# one CA (as `ovs-pki` sets up); the switch connects over ssl: and vlcpd holds it. A peer
# without a client certificate, and one speaking plain TCP to the TLS port, are refused. This
# vlcpd reaches OVSDB over TCP (the other system test uses its unix socket).
. "$(dirname "$0")/../lib/system.sh"

sb_ovs_start hv1 || { fail "start OVS"; finish; exit; }
sb_bridge hv1 br0 00000000000000a1
sb_host h1 hv1 br0 10.0.0.1/24 ofport=1

pki=$SB_DIR/pki
mkdir -p "$pki"
cert() {  # cert NAME: a key and a certificate signed by the CA
  openssl req -newkey rsa:2048 -nodes -keyout "$pki/$1-key.pem" -subj "/CN=$1" -out "$pki/$1.csr" 2>/dev/null &&
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" -CAcreateserial \
      -days 2 -out "$pki/$1-cert.pem" 2>/dev/null
}
check "a CA" openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca-key.pem" -out "$pki/ca.pem" \
  -days 2 -subj "/CN=vlcp-test-ca"
check "controller certificate" cert controller
check "switch certificate" cert switch

port=16653
http=18081
cat >"$SB_DIR/vlcp.conf" <<CONF
module.openflowserver.url = 'ssl://127.0.0.1:$port'
module.openflowserver.key = '$pki/controller-key.pem'
module.openflowserver.certificate = '$pki/controller-cert.pem'
module.openflowserver.ca_certs = '$pki/ca.pem'
module.ovsdbmanager.url = 'tcp://127.0.0.1:16640'
module.httpserver.url = 'tcp://127.0.0.1:$http'
module.metrics.url = ''
module.sched.workers = 0
CONF
sb_ovs hv1 ovs-appctl -t "$(sb_ovs_dir hv1)/run/ovsdb-server.ctl" ovsdb-server/add-remote ptcp:16640:127.0.0.1
# vlcpd runs in the OVS namespace, so the switch reaches it on that namespace's loopback.
sb_vlcpd_start tls "$SB_DIR/vlcp.conf" hv1
api() { sb_exec hv1 curl -sf --max-time 5 "http://127.0.0.1:$http$1"; }
check "vlcpd is up" sb_wait 20 api /introspect/switches

sb_vsctl hv1 set-ssl "$pki/switch-key.pem" "$pki/switch-cert.pem" "$pki/ca.pem"
sb_vsctl hv1 set-controller br0 "ssl:127.0.0.1:$port" -- set controller br0 max_backoff=1000
tls_connected() { [[ $(api /introspect/switches) == *'"connected": true'* ]]; }
check "the switch connects over TLS" sb_wait 20 tls_connected
check_output "with its ports" "$(sb_host_port h1)" api /introspect/switches
check_output "vlcpd logged the TLS connection" "ssl:127.0.0.1" cat "$SB_DIR/vlcpd-tls.log"
check_output "OVSDB over TCP: the replica has the bridge" '"datapath_id": "00000000000000a1"' api /introspect/ovsdb

# No client certificate: refused during the handshake.
no_cert() {
  sb_exec hv1 python3 - "$port" "$pki/ca.pem" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            s.sendall(bytes.fromhex("0400001000000001000100080000001" + "0"))
            sys.exit(0 if s.recv(8) else 1)  # TLS 1.3 may report the refusal on the first read
except (ssl.SSLError, ConnectionError, OSError):
    sys.exit(1)
PY
}
check_fails "a peer without a client certificate is refused" no_cert
plain() {
  sb_exec hv1 python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $port), timeout=5)
s.sendall(bytes.fromhex('04000010000000010001000800000010'))
data = s.recv(64)
sys.exit(0 if data[:1] == b'\x04' else 1)"
}
check_fails "plain OpenFlow on the TLS port gets no OpenFlow answer" plain
check "the TLS switch is still connected" tls_connected
check_output "refusals were logged" "TLS handshake failed" cat "$SB_DIR/vlcpd-tls.log"

pid=$(sb_vlcpd_pid tls)
kill -TERM "$pid"
check "vlcpd exits on SIGTERM" sb_wait 10 bash -c "! kill -0 $pid 2>/dev/null"
[ "$T_FAILED" -gt 0 ] && tail -20 "$SB_DIR/vlcpd-tls.log"
finish
