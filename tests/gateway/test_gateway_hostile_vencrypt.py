"""The direct VNC listener (issue 11, path 2): VeNCrypt X509Plain over TLS
1.2/1.3 only, strong suites only, the gateway's certificate chain, logins
as USER:VM with the policy password, failures audited and slowed. Runs on
the host: no KVM needed (the VMs never run, on any host: tools/no-kvm
hides /dev/kvm, so a right login ends at "web1 is not running";
test_gateway_vnc.py goes on to the display)."""
import os
import re
import socket
import ssl
import subprocess
import time

import pytest

from gwharness import VMGATED, Gateway
from vencrypt import StartTls, VencryptError, login, tls_context, to_tls

CTL = os.path.join(os.path.dirname(VMGATED), "vmgatectl")

POLICY = """\
users:
  alice: {{ password: "{alice}" }}
  carol: {{ password: "{carol}" }}
rules:
  - allow: [console:write, display:control]
    to: [user:alice]
    vms: ["web*"]
  - allow: [console:write]
    to: [user:carol]
    vms: ["*"]
"""


def passwd_hash(pw):
    p = subprocess.run([CTL, "passwd"], input=pw + "\n", capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


@pytest.fixture(scope="module")
def gw():
    policy = POLICY.format(alice=passwd_hash("alice-pw"), carol=passwd_hash("carol-pw"))
    g = Gateway(vms=("web1",), policy=policy, vnc=True)
    yield g
    g.cleanup()


def ca(gw):
    return os.path.join(gw.state, "certs", "ca.pem")


def test_certificates_are_made_at_first_start(gw):
    d = os.path.join(gw.state, "certs")
    for f, mode in (("ca.pem", 0o644), ("ca-key.pem", 0o600), ("server.pem", 0o644),
                    ("server-key.pem", 0o600)):
        assert os.stat(os.path.join(d, f)).st_mode & 0o777 == mode, f
    assert "vnc listening on 127.0.0.1 port %d" % gw.vnc_port in gw.log()


def test_login_reaches_the_vm_check_and_reasons_are_told(gw):
    ok, why, t = login(gw.vnc_port, ca(gw), "alice:web1", "alice-pw")
    t.close()
    assert not ok and why == "web1 is not running", why
    ok, why, t = login(gw.vnc_port, ca(gw), "carol:web1", "carol-pw")
    t.close()
    assert not ok and why == "not allowed: display of web1", why
    ok, why, t = login(gw.vnc_port, ca(gw), "alice:db9", "alice-pw")
    t.close()
    assert not ok and why == "no such VM: db9", why
    for user, pw in (("alice:web1", "wrong"), ("alice", "alice-pw"), ("mallory:web1", "x")):
        ok, why, t = login(gw.vnc_port, ca(gw), user, pw)
        t.close()
        assert not ok and why == "wrong user or password", (user, why)
    a = [e for e in gw.audit() if e["event"] == "auth" and e["method"] == "vnc-password"]
    assert [e["result"] for e in a[:3]] == ["success"] * 3, a
    assert [e["result"] for e in a[3:6]] == ["failure"] * 3, a
    d = [e for e in gw.audit() if e["event"] == "decision" and e["action"] == "vnc"]
    assert [(e["user"], e["allowed"]) for e in d] == [("alice", True), ("carol", False)], d
    # A password with a NUL in it: crypt(3) would stop there, and "alice-pw"
    # plus anything would open alice's account. Refused, saying why.
    ok, why, t = login(gw.vnc_port, ca(gw), "alice:web1", "alice-pw\0junk")
    t.close()
    assert not ok and why == "password contains a NUL byte", why


def test_failures_are_slowed_like_ssh(gw):
    times = []
    for _ in range(6):
        t0 = time.monotonic()
        ok, why, t = login(gw.vnc_port, ca(gw), "alice:web1", "nope")
        times.append(time.monotonic() - t0)
        t.close()
        assert not ok
    # From the 4th failure of an address on, each waits 250 ms, doubling.
    assert times[-1] - times[0] > 0.9, times


def test_only_tls_12_and_13_with_strong_suites(gw):
    for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        ctx = tls_context(ca(gw))
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = v
        try:
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        with pytest.raises((ssl.SSLError, ConnectionError, VencryptError)):
            ctx.wrap_socket(to_tls(gw.vnc_port), server_hostname="127.0.0.1").do_handshake()
    # TLS 1.2 with CBC or RSA key exchange: refused.
    for weak in ("AES128-SHA", "AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-SHA"):
        ctx = tls_context(ca(gw), maximum_version=ssl.TLSVersion.TLSv1_2)
        ctx.set_ciphers(weak)
        with pytest.raises((ssl.SSLError, ConnectionError)):
            ctx.wrap_socket(to_tls(gw.vnc_port), server_hostname="127.0.0.1").do_handshake()
    for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = tls_context(ca(gw), minimum_version=v, maximum_version=v)
        t = ctx.wrap_socket(to_tls(gw.vnc_port), server_hostname="127.0.0.1")
        assert t.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[v]
        print(t.version(), t.cipher())
        t.close()


def test_certificate_chain_verifies_against_the_gateways_ca(gw, tmp_path):
    s = to_tls(gw.vnc_port)
    t = tls_context(ca(gw)).wrap_socket(s, server_hostname="localhost")
    der = t.getpeercert(binary_form=True)
    t.close()
    pem = tmp_path / "server.pem"
    pem.write_text(ssl.DER_cert_to_PEM_cert(der))
    r = subprocess.run(["openssl", "verify", "-CAfile", ca(gw), str(pem)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and ": OK" in r.stdout, r
    # A client that trusts only the system's CAs refuses it: no silent trust.
    with pytest.raises(ssl.SSLCertVerificationError):
        ssl.create_default_context().wrap_socket(to_tls(gw.vnc_port),
                                                 server_hostname="127.0.0.1").do_handshake()


def test_garbage_and_silence_cost_nothing(gw):
    s = socket.create_connection(("127.0.0.1", gw.vnc_port), timeout=10)
    assert s.recv(12) == b"RFB 003.008\n"
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(100) == b""  # not a VNC viewer: closed, nothing sent
    s.close()
    gw.wait_log(r"vnc \d+: 127.0.0.1:\d+ closed: ")
    # The gateway still serves.
    ok, why, t = login(gw.vnc_port, ca(gw), "alice:web1", "alice-pw")
    t.close()
    assert why == "web1 is not running"


def test_renewed_certificate_is_used_after_sighup_without_dropping_anyone(gw):
    def fingerprint(t):
        return ssl.DER_cert_to_PEM_cert(t.getpeercert(binary_form=True))

    held = tls_context(ca(gw)).wrap_socket(to_tls(gw.vnc_port), server_hostname="127.0.0.1")
    before = fingerprint(held)
    r = subprocess.run([CTL, "certs", "init", "--force", "--san", "127.0.0.1",
                        "--dir", os.path.join(gw.state, "certs")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    n = gw.log().count("TLS certificate re-read")
    gw.hup()
    gw.wait_log("TLS certificate re-read", count=n + 1)
    t = tls_context(ca(gw)).wrap_socket(to_tls(gw.vnc_port), server_hostname="127.0.0.1")
    assert fingerprint(t) != before, "the new certificate is served"
    t.close()
    # The connection made before is still there and goes on.
    held.sendall(b"\x00\x00\x00\x01\x00\x00\x00\x00a")  # user "a", no password
    assert held.recv(4) == b"\x00\x00\x00\x01"
    held.close()
    # A broken certificate file: the one in use stays.
    with open(os.path.join(gw.state, "certs", "server.pem"), "w") as f:
        f.write("not a certificate\n")
    gw.hup()
    gw.wait_log("keeping the TLS certificate in use: .*server.pem")
    t = tls_context(ca(gw)).wrap_socket(to_tls(gw.vnc_port), server_hostname="127.0.0.1")
    t.close()


# --- One-time tickets for classic VNC authentication (gateway/ticket.h) ---

PROBE = os.path.join(os.path.dirname(os.path.dirname(VMGATED)), "tests", "vnc", "vncprobe")

TICKET_POLICY = """\
users:
{users}
rules:
  - allow: [console:write, display:control]
    to: [user:alice]
    vms: ["web*"]
  - allow: [console:write]
    to: [user:carol]
    vms: ["*"]
"""


@pytest.fixture(scope="module")
def tgw():
    g = Gateway(vms=("web1",), policy=TICKET_POLICY, vnc=True,
                config_extra="vnc:\n  tickets: true\n  ticket_lifetime: 2\n")
    yield g
    g.cleanup()


def classic(gw, password):
    """vncprobe (libvncclient) with classic VNC authentication."""
    r = subprocess.run([PROBE, f"127.0.0.1:{gw.vnc_port}", "--password", password],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def test_a_ticket_opens_once_then_never_again(tgw):
    st, ticket, err = tgw.ssh("alice", "vnc-ticket", "web1")
    assert st == 0 and re.fullmatch(r"[a-zA-Z2-9]{8}\n", ticket), (st, ticket, err)
    ticket = ticket.strip()
    st, out = classic(tgw, ticket)
    assert st == 1 and "web1 is not running" in out, out  # accepted; no-kvm
    st, out = classic(tgw, ticket)
    assert st == 1 and "wrong, used or expired ticket" in out, out
    st, out = classic(tgw, "guessing")
    assert st == 1 and "wrong, used or expired ticket" in out, out
    a = [(e["method"], e["result"], e["user"]) for e in tgw.audit()
         if e["event"] == "auth" and e["method"] == "vnc-ticket"]
    assert a == [("vnc-ticket", "success", "alice"), ("vnc-ticket", "failure", ""),
                 ("vnc-ticket", "failure", "")], a


def test_an_expired_ticket_is_refused(tgw):
    st, ticket, err = tgw.ssh("alice", "vnc-ticket", "web1")
    assert st == 0, err
    time.sleep(2.5)
    st, out = classic(tgw, ticket.strip())
    assert st == 1 and "wrong, used or expired ticket" in out, out


def test_tickets_need_the_display_right_and_the_config(tgw, gw):
    st, out, err = tgw.ssh("carol", "vnc-ticket", "web1")
    assert st == 1 and "not allowed: display of web1" in err, err
    # a gateway without tickets says so
    plain = Gateway(vms=("web1",), policy=TICKET_POLICY)
    try:
        st, out, err = plain.ssh("alice", "vnc-ticket", "web1")
        assert st == 1 and "VNC tickets are not enabled" in err, err
    finally:
        plain.cleanup()
    # ... and its VNC listener offers no classic authentication at all
    st, out = classic(gw, "whatever")
    assert st == 1 and "We have 1 security types" in out, out


def test_tickets_on_a_non_loopback_listener_are_refused_at_start(tmp_path):
    g = Gateway(vms=("web1",), start=False, vnc=True,
                config_extra="vnc:\n  tickets: true\n")
    try:
        with open(g.config) as f:
            text = f.read()
        with open(g.config, "w") as f:
            f.write(text.replace(f'vnc: "127.0.0.1:{g.vnc_port}"', f'vnc: "0.0.0.0:{g.vnc_port}"'))
        r = subprocess.run([VMGATED, "--config", g.config, "--vmm", "/bin/false"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0
        assert "classic VNC authentication is offered only on a loopback" in r.stderr, r.stderr
    finally:
        g.cleanup()


def test_openssl_s_client_and_sslscan_see_only_strong_tls(gw):
    """Debian's own TLS tools, through a shim that does the RFB/VeNCrypt
    preamble (they know no VNC STARTTLS): the chain verifies, TLS 1.1 is
    refused, and sslscan finds only TLS 1.2/1.3 and only ECDHE with an
    AEAD cipher."""
    with StartTls(gw.vnc_port) as shim:
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % shim.port, "-CAfile", ca(gw),
                            "-verify_return_error", "-verify_ip", "127.0.0.1", "-brief"],
                           input="", capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Verification: OK" in r.stderr and "Protocol version: TLSv1.3" in r.stderr, r.stderr
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % shim.port, "-tls1_1",
                            "-cipher", "ALL:@SECLEVEL=0", "-brief"],
                           input="", capture_output=True, text=True, timeout=60)
        assert r.returncode != 0, r.stdout + r.stderr
        r = subprocess.run(["sslscan", "--no-colour", "--no-heartbleed", "127.0.0.1:%d" % shim.port],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        out = r.stdout
        print(out)
        assert not shim.errors, shim.errors
    protos = dict(re.findall(r"^(SSLv[23]|TLSv1\.[0-3])\s+(enabled|disabled)", out, re.M))
    assert protos == {"SSLv2": "disabled", "SSLv3": "disabled", "TLSv1.0": "disabled",
                      "TLSv1.1": "disabled", "TLSv1.2": "enabled", "TLSv1.3": "enabled"}, out
    suites = re.findall(r"^(?:Preferred|Accepted)\s+(TLSv1\.[23])\s+\d+ bits\s+(\S+)", out, re.M)
    assert {v for v, _ in suites} == {"TLSv1.2", "TLSv1.3"}, out
    for v, name in suites:
        if v == "TLSv1.2":
            assert name.startswith("ECDHE-ECDSA-") and ("GCM" in name or "CHACHA20" in name), name
        else:
            assert name.startswith("TLS_") and ("GCM" in name or "CHACHA20" in name), name
