"""Password timing must not tell users apart, and the failure penalty must
hold across source addresses (issue 8, defect 6).

The policy accepts $6$, $5$, $2b$ and any yescrypt cost, but an unknown user
used to be checked against one yescrypt dummy: a $6$ user's wrong password
was answered several times faster than an unknown user's. And the penalty
was kept per address only, so a guesser rotating through addresses was never
slowed. Runs on the host: no KVM needed (the VM fails to start:
tools/no-kvm hides /dev/kvm; SSH and authentication do not care). Sources
are 127.0.0.x: Linux routes all of 127/8 to the loopback.
"""
import os
import socket
import statistics
import subprocess
import time

import paramiko

from gwharness import DEFAULT_POLICY, Gateway

PENALTY_FREE = 3  # gateway/penalty.h
GLOBAL_PER_MIN = 60


def sha512crypt(pw):
    # the $6$ hash an admin might paste from /etc/shadow (default rounds)
    salt = os.urandom(12).hex()[:16]
    out = subprocess.run(["perl", "-e", 'print crypt($ARGV[0], "\\$6\\$$ARGV[1]\\$")',
                          pw, salt], capture_output=True, text=True, check=True).stdout
    assert out.startswith("$6$") and len(out) > 80, out
    return out


def transport(port, src):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30,
                                    source_address=(src, 0))
    # no Nagle: a request held back for a delayed ACK costs 40 ms
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = paramiko.Transport(sock)
    t.start_client(timeout=30)
    # the first request also asks for the ssh-userauth service, a round
    # trip of its own: "none" (free, as every client starts) takes it
    try:
        t.auth_none("probe")
    except paramiko.BadAuthenticationType:
        pass
    return t


def failed_password(t, user, pw="not the password"):
    """Seconds from the request to the refusal."""
    t0 = time.perf_counter()
    try:
        t.auth_password(user, pw)
    except paramiko.AuthenticationException:
        return time.perf_counter() - t0
    raise AssertionError(f"{user} logged in with a wrong password")


def test_unknown_user_costs_what_a_known_sha512crypt_user_costs():
    g = Gateway(vms=("web1",), start=False)
    try:
        users = g.users_yaml() + f'\n  erin:\n    password: "{sha512crypt("erin pw")}"'
        g.write_policy(DEFAULT_POLICY.replace("{users}", users))
        g.start()
        known, unknown = [], []
        n = 25
        # one connection per source address and two failures each, so no
        # source reaches its penalty and the global budget is not reached
        # either: what is timed is the check alone
        for i in range(n):
            t = transport(g.port, f"127.0.0.{10 + i}")
            try:
                pairs = [("erin", known), ("nobody-" + str(i), unknown)]
                if i % 2:
                    pairs.reverse()
                for user, times in pairs:
                    times.append(failed_password(t, user))
            finally:
                t.close()
        mk, mu = statistics.median(known), statistics.median(unknown)
        print(f"median failed password: known $6$ user {1000 * mk:.1f} ms, "
              f"unknown user {1000 * mu:.1f} ms (ratio {max(mk, mu) / min(mk, mu):.2f}); "
              f"known {[round(1000 * x, 1) for x in known]}, "
              f"unknown {[round(1000 * x, 1) for x in unknown]}")
        # Tolerance: the medians are within a factor of 2 of each other, or
        # within 3 ms (loopback noise on a busy, shared machine); before the
        # fix the unknown user took a yescrypt check: 5 to 40 times the $6$
        # user's time here (4.7 ms vs 188 ms on a loaded machine).
        assert max(mk, mu) / min(mk, mu) < 2.0 or abs(mk - mu) < 0.003, (mk, mu)
        assert all(e["result"] == "failure" for e in g.audit()
                   if e["event"] == "auth" and e["method"] == "password")
    finally:
        g.cleanup()


def failed_key(t, user, key):
    t0 = time.perf_counter()
    try:
        t.auth_publickey(user, key)
    except paramiko.AuthenticationException:
        return time.perf_counter() - t0
    raise AssertionError(f"{user} logged in with a stranger's key")


def test_penalty_holds_across_source_addresses():
    g = Gateway(vms=("web1",))
    try:
        stranger = paramiko.Ed25519Key.from_private_key_file(g.stranger_key)
        failures = 0
        slowed_at = None
        # A guesser rotating addresses: each address stays within its free
        # failures. Past the global budget, replies wait all the same.
        for a in range(2, 120):
            t = transport(g.port, f"127.0.0.{a}")
            try:
                for _ in range(PENALTY_FREE):
                    dt = failed_key(t, "alice", stranger)
                    failures += 1
                    if dt >= 0.2:
                        slowed_at = (a, failures, dt)
                        break
            finally:
                t.close()
            if slowed_at:
                break
        print(f"first slowed reply: {slowed_at} (address, failures so far, seconds)")
        assert slowed_at is not None, \
            f"{failures} failures from {a - 1} addresses, none slowed"
        # within the budget plus what drained meanwhile (1 a second)
        assert GLOBAL_PER_MIN < slowed_at[1] <= GLOBAL_PER_MIN + 30, slowed_at
        # the log says so, once
        assert g.log().count(f"failed logins from all addresses passed "
                             f"{GLOBAL_PER_MIN} a minute") == 1, g.log()
        # a fresh address is slowed from its first failure
        t = transport(g.port, "127.0.0.200")
        try:
            dt = failed_key(t, "bob", stranger)
        finally:
            t.close()
        print(f"fresh address, first failure: {dt:.3f} s")
        assert dt >= 0.2, dt
        # a right key is never delayed, from any address
        t0 = time.perf_counter()
        t = transport(g.port, "127.0.0.201")
        try:
            t.auth_publickey("alice", paramiko.Ed25519Key.from_private_key_file(g.keys["alice"]))
            assert t.is_authenticated()
        finally:
            t.close()
        assert time.perf_counter() - t0 < 2.0
    finally:
        g.cleanup()
