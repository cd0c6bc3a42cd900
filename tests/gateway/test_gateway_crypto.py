"""The SSH front's crypto posture, as ssh-audit sees it (no KVM needed: the
monitors fail to start, as ctest runs this under tools/no-kvm, which hides
/dev/kvm; the SSH side does not care)."""
import re
import shutil
import subprocess

import pytest

from gwharness import Gateway


@pytest.mark.skipif(shutil.which("ssh-audit") is None, reason="ssh-audit not installed")
def test_ssh_audit_no_fail_and_only_strict_kex_warn():
    g = Gateway(vms=("web1",))
    try:
        p = subprocess.run(["ssh-audit", "-n", "-p", str(g.port), "127.0.0.1"],
                           capture_output=True, text=True, timeout=300)
        out = p.stdout
        assert "(kex) curve25519-sha256" in out, out
        assert "[fail]" not in out, out
        warns = [l for l in out.splitlines() if "[warn]" in l]
        assert len(warns) == 1 and "kex-strict-s-v00@openssh.com" in warns[0], warns
        assert "(cve)" not in out, out
        assert not re.search(r"nistp|ssh-rsa |sha1|ecdh", out), out
        # host keys were created 0600 and are reused on the next start
        import os
        key = os.path.join(g.state, "ssh_host_ed25519_key")
        assert os.stat(key).st_mode & 0o777 == 0o600
        assert os.stat(g.state).st_mode & 0o777 == 0o700
        before = open(key).read()
        g.stop()
        g.start()
        assert open(key).read() == before
    finally:
        g.cleanup()
