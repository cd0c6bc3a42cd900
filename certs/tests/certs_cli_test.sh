#!/bin/sh
# vmgatectl certs as an admin uses it, each result checked with the real
# openssl command: the chain verifies for its purpose, the names and
# addresses are there, a TLS handshake with the server certificate and a
# client certificate succeeds, keys are 0600, nothing is overwritten without
# --force, and a broken file is named with its reason.
#
# usage: certs_cli_test.sh PATH/TO/vmgatectl
set -u
ctl=$1
tmp=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect WANT_STATUS CMD...: run CMD in $tmp, output in $tmp/out
expect() {
	want=$1
	shift
	(cd "$tmp" && "$@") >"$tmp/out" 2>&1
	status=$?
	[ "$status" = "$want" ] || {
		fail "$*: exit status $status, want $want"
		sed 's/^/	/' "$tmp/out"
	}
}

has() {
	grep -qF -- "$1" "$tmp/out" || {
		fail "expected '$1' in:"
		sed 's/^/	/' "$tmp/out"
	}
}

hasnt() {
	if grep -qF -- "$1" "$tmp/out"; then
		fail "unexpected '$1' in:"
		sed 's/^/	/' "$tmp/out"
	fi
}

mode() {
	m=$(stat -c %a "$tmp/$1")
	[ "$m" = "$2" ] || fail "$1: mode $m, want $2"
}

fp() {
	openssl x509 -in "$tmp/$1" -noout -fingerprint -sha256 | sed 's/.*=//'
}

cat >"$tmp/vmgate.yaml" <<'EOF'
listen:
  ssh: "192.0.2.9:2222"
state_dir: st
EOF
d=st/certs

# init with the config's names: its listen address, loopback
expect 0 "$ctl" certs init
has "wrote $d/ca-key.pem (0600)"
has "wrote $d/server.pem (0644)"
has "server certificate for IP:192.0.2.9, "
mode $d/ca-key.pem 600
mode $d/server-key.pem 600
mode $d/ca.pem 644
mode $d 700
expect 0 openssl verify -purpose sslserver -CAfile $d/ca.pem $d/server.pem
has "$d/server.pem: OK"
expect 0 openssl verify -purpose sslserver -verify_ip 192.0.2.9 -CAfile $d/ca.pem $d/server.pem
expect 0 openssl verify -purpose sslserver -verify_hostname localhost -CAfile $d/ca.pem $d/server.pem
expect 2 openssl verify -purpose sslserver -verify_hostname gw.example.org -CAfile $d/ca.pem $d/server.pem
has "hostname mismatch"
expect 2 openssl verify -purpose sslclient -CAfile $d/ca.pem $d/server.pem
expect 0 openssl x509 -in $d/server.pem -noout -text
has "Public Key Algorithm: id-ecPublicKey"
has "NIST CURVE: P-256"
has "Signature Algorithm: ecdsa-with-SHA256"
has "TLS Web Server Authentication"
has "IP Address:192.0.2.9"
has "DNS:localhost"
has "IP Address:127.0.0.1"
has "IP Address:0:0:0:0:0:0:0:1"
has "CA:FALSE"
expect 0 openssl x509 -in $d/ca.pem -noout -text
has "CA:TRUE, pathlen:0"
has "Certificate Sign, CRL Sign"
# a 128-bit random serial: 16 bytes, different each time
s1=$(openssl x509 -in "$tmp/$d/ca.pem" -noout -serial | sed 's/serial=//')
s2=$(openssl x509 -in "$tmp/$d/server.pem" -noout -serial | sed 's/serial=//')
[ "${#s1}" -ge 16 ] && [ "${#s1}" -le 32 ] || fail "CA serial $s1"
[ "$s1" != "$s2" ] || fail "same serial twice: $s1"
# the key on disk is the certificate's
k=$(openssl pkey -in "$tmp/$d/server-key.pem" -pubout)
c=$(openssl x509 -in "$tmp/$d/server.pem" -noout -pubkey)
[ "$k" = "$c" ] || fail "server-key.pem is not the key of server.pem"

# nothing replaced without --force
ca_fp=$(fp $d/ca.pem)
srv_fp=$(fp $d/server.pem)
expect 1 "$ctl" certs init
has "vmgatectl certs init: $d/server.pem exists (--force replaces it)"
[ "$(fp $d/server.pem)" = "$srv_fp" ] || fail "server.pem replaced without --force"

# a client certificate
expect 0 "$ctl" certs issue alice
has "wrote $d/clients/alice-key.pem (0600)"
mode $d/clients/alice-key.pem 600
expect 0 openssl verify -purpose sslclient -CAfile $d/ca.pem $d/clients/alice.pem
expect 2 openssl verify -purpose sslserver -CAfile $d/ca.pem $d/clients/alice.pem
expect 0 openssl x509 -in $d/clients/alice.pem -noout -subject -text
has "subject=O = vmgate, CN = alice"
has "TLS Web Client Authentication"
expect 1 "$ctl" certs issue alice
has "vmgatectl certs issue: $d/clients/alice.pem exists (--force replaces it)"
expect 1 "$ctl" certs issue "al ice"
has "vmgatectl certs issue: 'al ice' is not a user name"
expect 2 "$ctl" certs issue
has "vmgatectl: certs issue: missing NAME"

# --force with --san: a new server certificate for exactly those names,
# from the same CA (alice's certificate still verifies)
expect 0 "$ctl" certs init --force --san gw.example.org --san 2001:db8::1
has "using the CA in $d/ca.pem"
has "server certificate for DNS:gw.example.org, IP:2001:db8::1, valid until"
[ "$(fp $d/ca.pem)" = "$ca_fp" ] || fail "the CA changed without --new-ca"
[ "$(fp $d/server.pem)" != "$srv_fp" ] || fail "server.pem not replaced"
expect 0 openssl x509 -in $d/server.pem -noout -text
has "DNS:gw.example.org, IP Address:2001:DB8:0:0:0:0:0:1"
hasnt "localhost"
expect 0 openssl verify -purpose sslserver -verify_hostname gw.example.org -CAfile $d/ca.pem $d/server.pem
expect 0 openssl verify -purpose sslclient -CAfile $d/ca.pem $d/clients/alice.pem
expect 2 "$ctl" certs init --san "bad name"
has "vmgatectl certs init: --san 'bad name': not a DNS name"

# a TLS 1.3 handshake with both certificates: openssl s_server asks for a
# client certificate, s_client checks the server's name against the CA
port=$((20000 + $$ % 20000))
(cd "$tmp" && exec openssl s_server -accept "127.0.0.1:$port" -naccept 1 \
	-cert $d/server.pem -key $d/server-key.pem -CAfile $d/ca.pem \
	-Verify 1 -verify_return_error -tls1_3 -www) >"$tmp/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
	grep -q ACCEPT "$tmp/server.out" && break
	sleep 0.1
done
printf 'GET / HTTP/1.0\r\n\r\n' | (cd "$tmp" && timeout 20 openssl s_client \
	-connect "127.0.0.1:$port" -CAfile $d/ca.pem -verify_return_error \
	-verify_hostname gw.example.org -cert $d/clients/alice.pem \
	-key $d/clients/alice-key.pem -ign_eof) >"$tmp/out" 2>&1 ||
	fail "s_client: exit $?"
has "Verify return code: 0 (ok)"
has "HTTP/1.0 200 ok"
has "TLSv1.3"
wait "$server_pid" 2>/dev/null
server_pid=
grep -q "CN = alice" "$tmp/server.out" ||
	fail "s_server did not see alice's certificate: $(cat "$tmp/server.out")"

# show: what is in use, the fingerprints openssl computes
expect 0 "$ctl" certs show
has "$d/server.pem"
has "  names:     DNS:gw.example.org, IP:2001:db8::1"
has "  sha256:    $(fp $d/server.pem)"
has "  sha256:    $(fp $d/ca.pem)"
# 825 days from its making, less the seconds since
grep -Eq "^  not after: .* \((824|825) days left\)$" "$tmp/out" ||
	fail "no 824 or 825 days left in: $(cat "$tmp/out")"
has "  chain:     verified by $d/ca.pem (serverAuth)"
has "  key:       $d/server-key.pem matches"
has "$d/clients: 1 client certificate"
has "  alice.pem: CN=alice,O=vmgate, not after"
has "sha256 $(fp $d/clients/alice.pem)"
# --dir, without a config
mv "$tmp/vmgate.yaml" "$tmp/vmgate.yaml.off"
expect 0 "$ctl" certs show --dir $d
expect 1 "$ctl" certs show
has "vmgatectl certs: vmgate.yaml is needed for the state folder (or give --dir DIR)"
mv "$tmp/vmgate.yaml.off" "$tmp/vmgate.yaml"

# broken files: named, with the reason; nothing crashes
cp "$tmp/$d/server.pem" "$tmp/server.pem.good"
printf -- '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n' >"$tmp/$d/server.pem"
expect 1 "$ctl" certs show
has "$d/server.pem: not a PEM certificate"
head -c 300 "$tmp/server.pem.good" >"$tmp/$d/server.pem"
expect 1 "$ctl" certs show
has "$d/server.pem: not a PEM certificate"
cp "$tmp/server.pem.good" "$tmp/$d/server.pem"
chmod 644 "$tmp/$d/ca-key.pem"
expect 1 "$ctl" certs issue bob
has "vmgatectl certs issue: $d/ca-key.pem: mode 0644: a private key must not be open to group or others (chmod 600 $d/ca-key.pem)"
chmod 600 "$tmp/$d/ca-key.pem"
cp "$tmp/$d/server-key.pem" "$tmp/$d/ca-key.pem"
expect 1 "$ctl" certs issue bob
has "vmgatectl certs issue: $d/ca-key.pem: not the key of $d/ca.pem"
expect 1 "$ctl" certs show
has "$d/ca-key.pem: not the key of this certificate"

# --new-ca needs --force over an existing CA, and then old clients fail
expect 1 "$ctl" certs init --new-ca --san gw.example.org
has "$d/ca.pem exists (--force replaces it)"
expect 0 "$ctl" certs init --new-ca --force --san gw.example.org
has "the CA is new: client certificates of the old one no longer verify"
[ "$(fp $d/ca.pem)" != "$ca_fp" ] || fail "--new-ca kept the CA"
expect 0 openssl verify -purpose sslserver -CAfile $d/ca.pem $d/server.pem
expect 1 "$ctl" certs show
has "$d/clients/alice.pem: does not verify: unable to get local issuer certificate"

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all vmgatectl certs checks passed"
