#!/usr/bin/env bash
# Unit test of the appliance's first-boot seed (overlay/usr/sbin/vlcp-firstboot): the parser
# (files and kernel command line, quoting, precedence, every refusal; SSH keys checked by
# ssh-keygen, the site's TLS pair by openssl) and what it writes (the drop-in
# vlcp.conf.d/50-firstboot.conf, vlcp.conf left byte-identical; the OVS system-id file; the
# stamp; root's authorized_keys; the TLS pair in /etc/vlcp/tls; the seed consumed off the ESP),
# in a scratch root, and the merged configuration handed to `vlcpd --check-config` (a stand-in
# vlcpd). No network; as root it also checks owners.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fb=$here/overlay/usr/sbin/vlcp-firstboot
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() {
  echo "FAIL $1" >&2
  fail=1
}
# expect_print NAME WANT ARGS...: --print succeeds and prints exactly WANT.
expect_print() {
  local name=$1 want=$2 out
  shift 2
  if out=$("$fb" --print "$@" 2>"$t/err"); then
    [ "$out" = "$want" ] && ok "$name" || bad "$name: got [$out] want [$want]"
  else
    bad "$name: refused: $(cat "$t/err")"
  fi
}
# expect_refused NAME MESSAGE ARGS...: --print fails and stderr contains MESSAGE.
expect_refused() {
  local name=$1 msg=$2
  shift 2
  if "$fb" --print "$@" >"$t/out" 2>"$t/err"; then
    bad "$name: accepted: $(cat "$t/out")"
  elif grep -qF -- "$msg" "$t/err"; then
    ok "$name"
  else
    bad "$name: message [$(cat "$t/err")] lacks [$msg]"
  fi
}
seed() { printf '%s\n' "$@" >"$t/seed.conf"; }
empty=$t/empty-cmdline
: >"$empty"

seed "# a comment" "" "system_id = hv1" "tunnel_ip=192.168.99.1" \
  "zookeeper = 10.0.0.1:2181,zk2.example:2181/vlcp" "  token = \"0123456789abcdef\"  " \
  "vlcp.api = 0.0.0.0:8081" "datapath_type = netdev"
expect_print "a seed file: every line, quotes, vlcp. prefix, spaces" \
  "$(printf '%s\n' system_id=hv1 tunnel_ip=192.168.99.1 zookeeper=10.0.0.1:2181,zk2.example:2181/vlcp \
    token=0123456789abcdef api=0.0.0.0:8081 datapath_type=netdev)" --cmdline "$empty" "$t/seed.conf"

echo "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet vlcp.system_id=hv9 vlcp.zookeeper=embedded vlcp.metrics=127.0.0.1:9999" >"$t/cmdline"
expect_print "the kernel command line wins over the file; other words ignored" \
  "$(printf '%s\n' system_id=hv9 tunnel_ip=192.168.99.1 zookeeper=embedded token=0123456789abcdef \
    api=0.0.0.0:8081 metrics=127.0.0.1:9999 datapath_type=netdev)" --cmdline "$t/cmdline" "$t/seed.conf"
expect_print "the command line alone (from stdin)" "tunnel_ip=fd00::1" --cmdline - <<<"vlcp.tunnel_ip=fd00::1"
expect_print "no seed at all: nothing" "" --cmdline "$empty" --root "$t/nothing"
printf 'system_id=crlf\r\n' >"$t/crlf.conf"
expect_print "CRLF line endings" "system_id=crlf" --cmdline "$empty" "$t/crlf.conf"

seed "system_id = hv1" "tokn = 0123456789abcdef"
expect_refused "an unknown key names the file and line" "seed.conf:2: unknown key 'tokn'" --cmdline "$empty" "$t/seed.conf"
seed "system_id hv1"
expect_refused "a line without =" "seed.conf:1: not a 'key = value' line" --cmdline "$empty" "$t/seed.conf"
echo "vlcp.tunnel_ip=300.1.1.1" >"$t/cmdline"
expect_refused "a bad address on the command line" "kernel command line: tunnel_ip: bad value '300.1.1.1'" --cmdline "$t/cmdline"
echo "vlcp.zookeeper=10.0.0.1:2181,10.0.0.2" >"$t/cmdline"
expect_refused "a ZooKeeper member without a port" "bad member '10.0.0.2'" --cmdline "$t/cmdline"
echo "vlcp.zookeeper=10.0.0.1:99999" >"$t/cmdline"
expect_refused "a port out of range" "zookeeper: bad value" --cmdline "$t/cmdline"
echo "vlcp.token=short" >"$t/cmdline"
expect_refused "a short token, not echoed" "token: bad value: 16 to 256" --cmdline "$t/cmdline"
grep -q short "$t/err" && bad "the refused token is echoed" || ok "a refused secret is not echoed"
echo "vlcp.token=0123456789abcdef'; import os" >"$t/cmdline"
expect_refused "a token that would break out of the literal" "token: bad value" --cmdline "$t/cmdline"
echo "vlcp.system_id=a/b" >"$t/cmdline"
expect_refused "a system id with a slash" "system_id: bad value 'a/b'" --cmdline "$t/cmdline"
echo "vlcp.api=0.0.0.0:8081" >"$t/cmdline"
expect_refused "the API off loopback without a token" "off loopback: the seed must give a token" --cmdline "$t/cmdline"
echo "vlcp.metrics=10.0.2.15:9464" >"$t/cmdline"
expect_refused "metrics off loopback without a password" "must give metrics_password" --cmdline "$t/cmdline"
echo "vlcp.zookeeper_auth=vlcp:secret" >"$t/cmdline"
expect_refused "ZooKeeper auth without an ensemble" "zookeeper_auth without a zookeeper ensemble" --cmdline "$t/cmdline"
echo "vlcp.bogus=1 vlcp.system_id=ok" >"$t/cmdline"
expect_refused "an unknown command-line key" "unknown key 'bogus'" --cmdline "$t/cmdline"
head -c 70000 /dev/zero | tr '\0' '#' >"$t/big.conf"
expect_refused "an oversized seed file" "larger than 65536 bytes" --cmdline "$empty" "$t/big.conf"

# SSH keys: checked by ssh-keygen; several on lines of a file (they add up) or separated by commas;
# on the command line quoted as the kernel quotes; a later source's keys replace a file's.
ssh-keygen -q -t ed25519 -N '' -C 'op@site' -f "$t/id1"
ssh-keygen -q -t ecdsa -N '' -C 'second key' -f "$t/id2"
ssh-keygen -q -t rsa -b 1024 -N '' -C weak -f "$t/id3"
k1=$(cat "$t/id1.pub") k2=$(cat "$t/id2.pub") k3=$(cat "$t/id3.pub")
seed "ssh_authorized_keys = $k1" "system_id = hv1" "ssh_authorized_keys = $k2"
expect_print "ssh_authorized_keys on two lines of a file: both keys" \
  "$(printf '%s\n' system_id=hv1 "ssh_authorized_keys=$k1,$k2")" --cmdline "$empty" "$t/seed.conf"
seed "ssh_authorized_keys = $k1 , $k2"
expect_print "  or separated by a comma" "ssh_authorized_keys=$k1,$k2" --cmdline "$empty" "$t/seed.conf"
printf 'root=UUID=x vlcp.ssh_authorized_keys="%s" quiet dyndbg="file a.c +p" vlcp.system_id=q\n' "$k2" >"$t/cmdline"
expect_print "  on the command line in quotes, replacing the file's keys; other quoted words skipped" \
  "$(printf '%s\n' system_id=q "ssh_authorized_keys=$k2")" --cmdline "$t/cmdline" "$t/seed.conf"
seed "ssh_authorized_keys = ${k1% *} "
expect_print "  a key without a comment" "ssh_authorized_keys=${k1% *}" --cmdline "$empty" "$t/seed.conf"
seed "ssh_authorized_keys = ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBroken op@site"
expect_refused "a key ssh-keygen cannot read" "key 1 is not a public key ssh-keygen reads" --cmdline "$empty" "$t/seed.conf"
seed "ssh_authorized_keys = $k3"
expect_refused "an RSA key under 2048 bits" "key 1 is an RSA key of 1024 bits (2048 at least)" --cmdline "$empty" "$t/seed.conf"
seed "ssh_authorized_keys = from=\"10.0.0.1\" $k1"
expect_refused "a key with options" "ssh_authorized_keys: bad value" --cmdline "$empty" "$t/seed.conf"
seed "ssh_authorized_keys = $k1,,$k2"
expect_refused "an empty key between commas" "key 2 is empty" --cmdline "$empty" "$t/seed.conf"
seed "ssh_authorized_keys = $k2, $(sed -n 2p "$t/id1")"
expect_refused "a private key's line pasted" "ssh_authorized_keys: bad value: key 2 is not 'TYPE BASE64 [COMMENT]'" --cmdline "$empty" "$t/seed.conf"
grep -qF -- "$(sed -n 2p "$t/id1" | cut -c1-16)" "$t/err" && bad "  the refused value is echoed" || ok "  the refused value is not echoed"
printf 'vlcp.ssh_authorized_keys="%s\n' "$k1" >"$t/cmdline"
expect_refused "an unbalanced quote on the command line" "an unbalanced quote" --cmdline "$t/cmdline"

# The site's TLS pair: relative to the seed file's directory (on the command line, the ESP's).
mkpair() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=$1" \
  -keyout "$2.key" -out "$2.crt" 2>/dev/null; }
mkdir -p "$t/medium/tls" "$t/other"
mkpair site "$t/medium/tls/site"
mkpair other "$t/other/o"
openssl pkey -in "$t/medium/tls/site.key" -aes256 -passout pass:secret -out "$t/medium/enc.key" 2>/dev/null
cp "$t/other/o.key" "$t/medium/other.key"
echo "not a certificate" >"$t/medium/junk.crt"
seedm() { printf '%s\n' "$@" >"$t/medium/vlcp-seed.conf"; }
seedm "tls_cert_file = tls/site.crt" "tls_key_file = tls/site.key" "api = 0.0.0.0:443" "token = 0123456789abcdef"
expect_print "tls_cert_file/tls_key_file: relative to the seed file's directory, checked" \
  "$(printf '%s\n' token=0123456789abcdef api=0.0.0.0:443 "tls_cert_file=$t/medium/tls/site.crt" \
    "tls_key_file=$t/medium/tls/site.key")" --cmdline "$empty" "$t/medium/vlcp-seed.conf"
mkdir -p "$t/r2/boot/efi"
cp "$t/medium/tls/site.crt" "$t/medium/tls/site.key" "$t/r2/boot/efi/"
echo "vlcp.tls_cert_file=site.crt vlcp.tls_key_file=site.key" >"$t/cmdline"
expect_print "  on the command line: relative to the ESP" \
  "$(printf '%s\n' "tls_cert_file=$t/r2/boot/efi/site.crt" "tls_key_file=$t/r2/boot/efi/site.key")" \
  --root "$t/r2" --cmdline "$t/cmdline"
seedm "tls_cert_file = tls/site.crt" "tls_key_file = other.key"
expect_refused "a key that is not the certificate's" "does not match the certificate" --cmdline "$empty" "$t/medium/vlcp-seed.conf"
seedm "tls_cert_file = junk.crt" "tls_key_file = tls/site.key"
expect_refused "a certificate that does not parse" "junk.crt is not a PEM certificate" --cmdline "$empty" "$t/medium/vlcp-seed.conf"
seedm "tls_cert_file = tls/site.crt" "tls_key_file = enc.key"
expect_refused "an encrypted key" "enc.key is not an unencrypted PEM private key" --cmdline "$empty" "$t/medium/vlcp-seed.conf"
seedm "tls_cert_file = tls/site.crt" "tls_key_file = tls/missing.key"
expect_refused "a missing file" "cannot read $t/medium/tls/missing.key" --cmdline "$empty" "$t/medium/vlcp-seed.conf"
seedm "tls_cert_file = tls/site.crt"
expect_refused "a certificate without its key" "tls_cert_file and tls_key_file come together" --cmdline "$empty" "$t/medium/vlcp-seed.conf"
seedm "tls_cert_file = ../other/o.crt" "tls_key_file = ../other/o.key"
expect_refused "a path out of the medium" "tls_cert_file: bad value '../other/o.crt'" --cmdline "$empty" "$t/medium/vlcp-seed.conf"
seedm "tls_cert_file = /etc/ssl/certs/x.pem" "tls_key_file = tls/site.key"
expect_refused "an absolute path" "tls_cert_file: bad value '/etc/ssl/certs/x.pem'" --cmdline "$empty" "$t/medium/vlcp-seed.conf"
seedm "tls_cert_file = tls/site.crt" "tls_key_file = tls/site.key" "api = 127.0.0.1:8081"
expect_refused "a certificate for a WebAPI on loopback (plain http)" "is plain http" --cmdline "$empty" "$t/medium/vlcp-seed.conf"

# --- apply in a scratch root -----------------------------------------------------------------
r=$t/root
mkdir -p "$r/etc/vlcp" "$r/boot/efi/loader/entries"
printf '%s\n' "server.loglevel = 'info'" "module.httpserver.url = 'tcp://127.0.0.1:8081'" \
  "module.objectdb.backend = 'embedded'" "module.openflowmanager.apps = ['ioprocessing'," "    'l2switch']" \
  "module.metrics.url = 'tcp://127.0.0.1:9464'" >"$r/etc/vlcp/vlcp.conf"
chmod 644 "$r/etc/vlcp/vlcp.conf"
cp -p "$r/etc/vlcp/vlcp.conf" "$t/vlcp.conf.shipped"
printf '%s\n' "system_id = hv7" "zookeeper = 10.0.0.1:2181,10.0.0.2:2181" "token = 0123456789abcdefXYZ" \
  "api = 0.0.0.0:8081" >"$r/boot/efi/vlcp-seed.conf"
# The boot entry as seed-image.sh --cmdline leaves it: the seed's words, a secret among them.
printf '%s\n' "title   VLCP" "linux   /vmlinuz" "initrd  /initrd.img" \
  "options root=UUID=abc rw console=ttyS0,115200 vlcp.metrics=0.0.0.0:9464 vlcp.metrics_password=pass-word-1 quiet" \
  >"$r/boot/efi/loader/entries/vlcp.conf"
echo "BOOT_IMAGE=/vmlinuz root=UUID=abc vlcp.metrics=0.0.0.0:9464 vlcp.metrics_password=pass-word-1" >"$t/cmdline"
if "$fb" --root "$r" --no-ovs --cmdline "$t/cmdline" >"$t/out" 2>&1; then
  ok "apply from the ESP's seed file and the command line"
else
  bad "apply failed: $(cat "$t/out")"
fi
conf=$r/etc/vlcp/vlcp.conf
dropin=$r/etc/vlcp/vlcp.conf.d/50-firstboot.conf
cmp -s "$conf" "$t/vlcp.conf.shipped" && [ "$(stat -c %a "$conf")" = 644 ] &&
  ok "vlcp.conf (the package's conffile) is byte-identical afterwards" || bad "vlcp.conf changed: $(diff "$t/vlcp.conf.shipped" "$conf")"
want=$(printf '%s\n' \
  "module.httpserver.certificate = '/etc/vlcp/tls/api.crt'" "module.httpserver.key = '/etc/vlcp/tls/api.key'" \
  "module.httpserver.token = '0123456789abcdefXYZ'" "module.httpserver.url = 'https://0.0.0.0:8081'" \
  "module.metrics.password = 'pass-word-1'" "module.metrics.url = 'tcp://0.0.0.0:9464'" \
  "module.objectdb.backend = 'zookeeper'" "module.zookeeperdb.url = 'tcp://10.0.0.1:2181,10.0.0.2:2181'")
got=$(grep -v -e '^#' -e '^$' "$dropin" 2>&1)
[ "$got" = "$want" ] && ok "vlcp.conf.d/50-firstboot.conf holds the seeded keys, once each" || bad "50-firstboot.conf is [$got] want [$want]"
[ "$(stat -c %a "$dropin")" = 600 ] && ok "the drop-in is 0600 when the root has no group vlcp (it holds the token)" ||
  bad "drop-in mode $(stat -c %a "$dropin")"
[ -z "$(ls -A "$r/etc/vlcp/vlcp.conf.d" | grep -v '^50-firstboot.conf$')" ] && ok "no temporary file left in vlcp.conf.d" ||
  bad "left in vlcp.conf.d: $(ls -A "$r/etc/vlcp/vlcp.conf.d")"
if openssl x509 -noout -in "$r/etc/vlcp/tls/api.crt" 2>/dev/null && [ "$(stat -c %a "$r/etc/vlcp/tls/api.key")" = 640 ] &&
  grep -q "WebAPI TLS certificate /etc/vlcp/tls/api.crt (self-signed, made now), .*Fingerprint=" "$t/out"; then
  ok "the API off loopback gets a TLS key (0640) and certificate, fingerprint logged"
else
  bad "TLS key/certificate: $(ls -l "$r/etc/vlcp/tls" 2>&1) $(cat "$t/out")"
fi
[ "$(cat "$r/etc/openvswitch/system-id.conf" 2>/dev/null)" = hv7 ] && ok "OVS system-id.conf written" || bad "system-id.conf missing"
grep -q 0123456789abcdefXYZ "$t/out" "$r/var/lib/vlcp-firstboot/applied" && bad "the token is logged" || ok "the token is neither logged nor stamped"
grep -q '^system_id=hv7 # .*vlcp-seed.conf:1$' "$r/var/lib/vlcp-firstboot/applied" && ok "the stamp says what came from where" ||
  bad "stamp: $(cat "$r/var/lib/vlcp-firstboot/applied" 2>&1)"
# The seed consumed: nothing on the ESP holds its secrets any more.
[ ! -e "$r/boot/efi/vlcp-seed.conf" ] && ok "the ESP's seed file is gone after the first boot" || bad "the ESP's seed file is still there"
grep -q '^system_id = hv7$' "$r/boot/efi/vlcp-seed.conf.consumed" && grep -q '^token = (secret, removed)$' "$r/boot/efi/vlcp-seed.conf.consumed" &&
  ok "  replaced by vlcp-seed.conf.consumed: its keys, the secrets' values removed" || bad "consumed: $(cat "$r/boot/efi/vlcp-seed.conf.consumed" 2>&1)"
grep -rqe 0123456789abcdefXYZ -e pass-word-1 "$r/boot" && bad "a secret is still on the ESP: $(grep -rle 0123456789abcdefXYZ -e pass-word-1 "$r/boot")" ||
  ok "  no file on the ESP holds the token or the metrics password"
[ "$(grep '^options' "$r/boot/efi/loader/entries/vlcp.conf")" = "options root=UUID=abc rw console=ttyS0,115200 quiet" ] &&
  ok "  the boot entry lost the seed's vlcp.* words, kept the others" || bad "entry: $(cat "$r/boot/efi/loader/entries/vlcp.conf")"

# A second seed: a key it gives is replaced (once), those it does not give are kept; vlcp.conf
# still untouched; with a group vlcp in the root the drop-in is root:vlcp 0640.
echo "vlcp:x:4242:" >"$r/etc/group"
rm -f "$r/var/lib/vlcp-firstboot/applied"
echo "vlcp.zookeeper=embedded" >"$t/cmdline"
"$fb" --root "$r" --no-ovs --cmdline "$t/cmdline" >"$t/out" 2>&1 || bad "re-apply failed: $(cat "$t/out")"
[ "$(grep -c '^module.objectdb.backend' "$dropin")" = 1 ] && grep -q "^module.objectdb.backend = 'embedded'" "$dropin" &&
  grep -q "^module.httpserver.token = '0123456789abcdefXYZ'" "$dropin" &&
  ok "re-seeding replaces a key instead of adding a duplicate, keeps the others" || bad "after re-seed: $(cat "$dropin")"
cmp -s "$conf" "$t/vlcp.conf.shipped" && ok "  vlcp.conf still byte-identical" || bad "vlcp.conf changed by the re-seed"
if [ "$(id -u)" = 0 ]; then
  [ "$(stat -c '%a %u:%g' "$dropin")" = "640 0:4242" ] && ok "  the drop-in is root:vlcp 0640 when the group exists" ||
    bad "drop-in $(stat -c '%a %u:%g' "$dropin")"
fi
cp "$dropin" "$t/before"
echo "vlcp.zookeeper=embedded vlcp.tunnel_ip=nope" >"$t/cmdline"
if "$fb" --root "$r" --no-ovs --cmdline "$t/cmdline" >"$t/out" 2>&1; then
  bad "a bad seed was applied"
elif cmp -s "$dropin" "$t/before" && cmp -s "$conf" "$t/vlcp.conf.shipped" && grep -q "nothing applied" "$t/out"; then
  ok "a bad seed changes nothing and says so"
else
  bad "a bad seed changed the configuration or said nothing: $(cat "$t/out")"
fi

# The site's TLS pair and SSH keys, seeded on the ESP (the certificate named by the file, the key
# in a subdirectory) over the self-signed pair: installed, root:vlcp 0640, the key gone from the ESP.
rm -f "$r/var/lib/vlcp-firstboot/applied"
mkdir -p "$r/boot/efi/tls"
cp "$t/medium/tls/site.crt" "$r/boot/efi/site.crt"
cp "$t/medium/tls/site.key" "$r/boot/efi/tls/site.key"
printf '%s\n' "tls_cert_file = site.crt" "tls_key_file = tls/site.key" "ssh_authorized_keys = $k1" \
  "ssh_authorized_keys = $k2" >"$r/boot/efi/vlcp-seed.conf"
printf '%s\n' "title   VLCP" \
  "options root=UUID=abc rw vlcp.ssh_authorized_keys=\"$k2\" console=ttyS0,115200 \"vlcp.system_id=hv8\" quiet" \
  >"$r/boot/efi/loader/entries/vlcp.conf"
cp "$r/etc/vlcp/tls/api.crt" "$t/selfsigned.crt"
fp=$(openssl x509 -noout -fingerprint -sha256 -in "$t/medium/tls/site.crt")
if "$fb" --root "$r" --no-ovs --cmdline "$empty" >"$t/out" 2>&1; then
  ok "apply the site's TLS pair and two SSH keys from the ESP"
else
  bad "apply TLS/SSH failed: $(cat "$t/out")"
fi
cmp -s "$r/etc/vlcp/tls/api.crt" "$t/medium/tls/site.crt" && cmp -s "$r/etc/vlcp/tls/api.key" "$t/medium/tls/site.key" &&
  ok "  /etc/vlcp/tls/api.crt and api.key are the seed's (the self-signed pair replaced)" ||
  bad "  the installed pair is not the seed's: $(cat "$t/out")"
grep -qF "WebAPI TLS certificate /etc/vlcp/tls/api.crt (the seed's $r/boot/efi/site.crt), $fp" "$t/out" &&
  ok "  its fingerprint logged ($fp)" || bad "  fingerprint not logged: $(cat "$t/out")"
if [ "$(id -u)" = 0 ]; then
  modes=$(stat -c '%a %u:%g' "$r/etc/vlcp/tls/api.crt" "$r/etc/vlcp/tls/api.key" "$r/etc/vlcp/tls" | paste -sd' ')
  [ "$modes" = "640 0:4242 640 0:4242 750 0:4242" ] && ok "  root:vlcp 0640 (the directory 0750)" || bad "  modes: $modes"
fi
grep -q "^module.httpserver.certificate = '/etc/vlcp/tls/api.crt'" "$dropin" && grep -q "^module.httpserver.key = '/etc/vlcp/tls/api.key'" "$dropin" &&
  [ "$(grep -c '^module.httpserver.certificate' "$dropin")" = 1 ] && ok "  the drop-in names them, once" || bad "  drop-in: $(cat "$dropin")"
[ "$(ls -A "$r/etc/vlcp/tls" | paste -sd' ')" = "api.crt api.key" ] && ok "  nothing staged left in /etc/vlcp/tls" ||
  bad "  left in tls: $(ls -A "$r/etc/vlcp/tls")"
[ ! -e "$r/boot/efi/tls/site.key" ] && [ -f "$r/boot/efi/site.crt" ] &&
  ! grep -rqF "$(sed -n 2p "$t/medium/tls/site.key")" "$r/boot" && ok "  the TLS key left the ESP (the certificate stays)" ||
  bad "  the TLS key is still on the ESP: $(find "$r/boot/efi" -type f)"
ak=$r/root/.ssh/authorized_keys
[ "$(grep -v '^#' "$ak" 2>&1)" = "$(printf '%s\n' "$k1" "$k2")" ] && ok "  /root/.ssh/authorized_keys holds both keys" ||
  bad "  authorized_keys: $(cat "$ak" 2>&1)"
[ "$(stat -c %a "$ak" "$r/root/.ssh" | paste -sd' ')" = "600 700" ] && ok "  0600 in a 0700 .ssh" ||
  bad "  modes $(stat -c %a "$ak" "$r/root/.ssh" | paste -sd' ')"
grep -qF "authorized_keys: 2 key(s): $(ssh-keygen -lf "$t/id1.pub" | awk '{print $2}') (op@site), " "$t/out" &&
  ok "  the keys' fingerprints logged" || bad "  fingerprints: $(cat "$t/out")"
[ "$(grep '^options' "$r/boot/efi/loader/entries/vlcp.conf")" = "options root=UUID=abc rw console=ttyS0,115200 quiet" ] &&
  ok "  quoted vlcp.* words (a key with spaces) left the boot entry whole" || bad "  entry: $(cat "$r/boot/efi/loader/entries/vlcp.conf")"
# A bad pair (another certificate's key) with a new SSH key: refused, nothing changes.
rm -f "$r/var/lib/vlcp-firstboot/applied"
cp "$t/other/o.crt" "$r/boot/efi/o.crt"
cp "$t/medium/tls/site.key" "$r/boot/efi/wrong.key"
printf '%s\n' "tls_cert_file = o.crt" "tls_key_file = wrong.key" "ssh_authorized_keys = $k2" >"$r/boot/efi/vlcp-seed.conf"
cp "$dropin" "$t/before"
cp "$ak" "$t/ak.before"
if "$fb" --root "$r" --no-ovs --cmdline "$empty" >"$t/out" 2>&1; then
  bad "a TLS pair that does not match was applied"
elif grep -q "does not match the certificate" "$t/out" && cmp -s "$dropin" "$t/before" && cmp -s "$ak" "$t/ak.before" &&
  cmp -s "$r/etc/vlcp/tls/api.crt" "$t/medium/tls/site.crt" && [ -f "$r/boot/efi/vlcp-seed.conf" ] && [ -f "$r/boot/efi/wrong.key" ]; then
  ok "a TLS pair that does not match changes nothing (certificate, drop-in, authorized_keys, the seed files)"
else
  bad "a bad pair: $(cat "$t/out")"
fi
rm -f "$r/boot/efi/vlcp-seed.conf" "$r/boot/efi/o.crt" "$r/boot/efi/wrong.key"

# vlcpd checks the merged configuration before the drop-in is renamed in: a stand-in vlcpd (and
# ovs-vsctl) first on PATH records what -c names; refusing, nothing is written.
bin=$t/bin
mkdir -p "$bin"
printf '%s\n' '#!/bin/bash' '# args: --check-config -c FILE' 'c=$3' \
  '{ echo "main: $(head -1 "$c")"; for f in "$c.d"/*.conf; do echo "dropin: $(basename "$f") $(grep -c . "$f")"; done' \
  '  grep -h -e "^module.objectdb.backend" -e "^module.httpserver.certificate" "$c.d"/*.conf' \
  '  c2=$(sed -n "s/^module.httpserver.certificate = .\(.*\).$/\1/p" "$c.d/50-firstboot.conf"); [ -z "$c2" ] || cmp "$c2" "$SITE_CRT"; } >"$VLCPD_SAW"' \
  '[ ! -e "$VLCPD_SAW.refuse" ] || { echo "$c.d/50-firstboot.conf:3: refused" >&2; exit 1; }' >"$bin/vlcpd"
printf '%s\n' '#!/bin/sh' 'exit 0' >"$bin/ovs-vsctl"
chmod +x "$bin/vlcpd" "$bin/ovs-vsctl"
export VLCPD_SAW=$t/vlcpd-saw
echo "module.sched.workers = 2" >"$r/etc/vlcp/vlcp.conf.d/60-perf-profile.conf"
echo "vlcp.zookeeper=10.9.9.9:2181" >"$t/cmdline"
if PATH=$bin:$PATH "$fb" --root "$r" --cmdline "$t/cmdline" >"$t/out" 2>&1 &&
  grep -q "^main: server.loglevel = 'info'" "$t/vlcpd-saw" && grep -q "^dropin: 50-firstboot.conf" "$t/vlcpd-saw" &&
  grep -q "^dropin: 60-perf-profile.conf 1" "$t/vlcpd-saw" && grep -q "^module.objectdb.backend = 'zookeeper'" "$t/vlcpd-saw"; then
  ok "vlcpd --check-config is given the merged set: vlcp.conf, the new 50-firstboot.conf, the other drop-ins"
else
  bad "the check saw [$(cat "$t/vlcpd-saw" 2>&1)]: $(cat "$t/out")"
fi
# The site's pair is checked where it is staged (a new pair, from the command line: relative to the
# ESP); refused, nothing is written, the staged files go.
mkpair site2 "$t/site2"
export SITE_CRT=$t/site2.crt
cp "$t/site2.crt" "$t/site2.key" "$r/boot/efi/"
rm -f "$r/var/lib/vlcp-firstboot/applied"
echo "vlcp.tls_cert_file=site2.crt vlcp.tls_key_file=site2.key" >"$t/cmdline"
if PATH=$bin:$PATH "$fb" --root "$r" --cmdline "$t/cmdline" >"$t/out" 2>&1 &&
  grep -q "^module.httpserver.certificate = '$r/etc/vlcp/tls/.api.crt.new'" "$t/vlcpd-saw" &&
  ! grep -q "differ" "$t/vlcpd-saw" && cmp -s "$r/etc/vlcp/tls/api.crt" "$t/site2.crt"; then
  ok "  the check is given the staged pair (the seed's certificate), then it is installed"
else
  bad "  the check of the staged pair saw [$(cat "$t/vlcpd-saw" 2>&1)]: $(cat "$t/out")"
fi
cp "$dropin" "$t/before"
touch "$t/vlcpd-saw.refuse"
mkpair site3 "$t/site3"
cp "$t/site3.crt" "$t/site3.key" "$r/boot/efi/"
rm -f "$r/var/lib/vlcp-firstboot/applied"
echo "vlcp.zookeeper=embedded vlcp.tls_cert_file=site3.crt vlcp.tls_key_file=site3.key" >"$t/cmdline"
if PATH=$bin:$PATH "$fb" --root "$r" --cmdline "$t/cmdline" >"$t/out" 2>&1; then
  bad "a configuration vlcpd refuses was applied"
elif cmp -s "$dropin" "$t/before" && grep -q "vlcpd refuses the seeded configuration; nothing applied" "$t/out" &&
  [ -z "$(ls -A "$r/etc/vlcp/vlcp.conf.d" | grep -v '\.conf$')" ] && cmp -s "$r/etc/vlcp/tls/api.crt" "$t/site2.crt" &&
  [ "$(ls -A "$r/etc/vlcp/tls" | paste -sd' ')" = "api.crt api.key" ] && [ -f "$r/boot/efi/site3.key" ]; then
  ok "  a configuration vlcpd refuses is not written (nor a temporary file or a staged TLS file left)"
else
  bad "refused by vlcpd: $(cat "$t/out"; ls -A "$r/etc/vlcp/vlcp.conf.d" "$r/etc/vlcp/tls")"
fi

# The image recipe refuses seed words in IMAGE_CMDLINE (they would become /etc/kernel/cmdline,
# copied back onto the ESP at every kernel upgrade), before anything else — here as non-root, so
# a recipe that went past the check would stop at "needs root" instead of building.
if env IMAGE_CMDLINE="quiet vlcp.token=abc" VLCP_IMAGE_DIR="$t/img" \
  bash -c 'id() { echo 1000; }; export -f id; exec "$0"' "$(dirname "$0")/build.sh" >"$t/out" 2>&1; then
  bad "build.sh accepted vlcp.* in IMAGE_CMDLINE"
elif grep -q "IMAGE_CMDLINE holds vlcp.\* seed words" "$t/out" && [ ! -e "$t/img" ]; then
  ok "build.sh refuses vlcp.* seed words in IMAGE_CMDLINE, creating nothing"
else
  bad "build.sh's refusal: $(cat "$t/out")"
fi

exit $fail
