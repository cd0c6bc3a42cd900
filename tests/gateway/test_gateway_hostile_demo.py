"""`vmgated --demo DIR` in a folder someone else can write to (issue 8 #13).

The demo keeps the files it finds in DIR, so whoever can write there decides
the gateway's policy and can aim its writes elsewhere with symbolic links.
These start the real vmgated on this host (no KVM needed: the demo does its
file work, and announces its ssh commands, before any VM runs).
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from gwharness import VMGATED, VMM, free_port


@pytest.fixture
def parent():
    p = tempfile.mkdtemp(prefix="vmgate-hdemo-")
    yield p
    shutil.rmtree(p, ignore_errors=True)


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def demo_folder(parent, name="demo", port=None):
    """A demo folder as an admin leaves it: 0700, an edited config on a port
    of its own (so tests run side by side)."""
    folder = os.path.join(parent, name)
    os.mkdir(folder, 0o700)
    write(os.path.join(folder, "vmgate.yaml"),
          f'listen:\n  ssh: "127.0.0.1:{port or free_port()}"\nstate_dir: state\n'
          "policy: policy.yaml\nvms:\n  demo1: {kernel: demo}\n  demo2: {kernel: demo}\n")
    return folder


def run_demo(folder, timeout=60, env=None):
    """Starts vmgated --demo FOLDER; returns (exit status, stdout, stderr)
    once it exits or has printed its ssh commands (then it is stopped)."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen([VMGATED, "--demo", folder, "--vmm", VMM],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                            env=None if env is None else dict(os.environ, **env))
    end = time.time() + timeout
    try:
        while proc.poll() is None:
            out.seek(0)
            if b"Ctrl-C here stops" in out.read():
                proc.send_signal(signal.SIGINT)
                proc.wait(30)
                break
            assert time.time() < end, "vmgated --demo neither announced nor exited"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out.seek(0)
    err.seek(0)
    return proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace")


def assert_refused(folder, st, out, err, path, what):
    assert st == 1, (st, out, err)
    assert "Ctrl-C here stops" not in out, out
    assert path in err and re.search(what, err), err


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702])
def test_folder_writable_by_group_or_others_is_refused(parent, mode):
    folder = demo_folder(parent)
    os.chmod(folder, mode)
    st, out, err = run_demo(folder)
    assert_refused(folder, st, out, err, folder,
                   r"writable by group or others.*chmod go-w " + re.escape(folder))
    # Refused before anything was written there.
    assert not os.path.exists(os.path.join(folder, "demo_key"))
    # What the message says to do is enough.
    os.chmod(folder, mode & ~0o022)
    st, out, err = run_demo(folder)
    assert st == 0 and "Ctrl-C here stops" in out, (out, err)


def test_state_folder_writable_by_others_is_refused(parent):
    folder = demo_folder(parent)
    state = os.path.join(folder, "state")
    os.mkdir(state, 0o700)
    os.chmod(state, 0o777)
    st, out, err = run_demo(folder)
    assert_refused(folder, st, out, err, state, r"writable by group or others.*chmod go-w")
    assert not os.path.exists(os.path.join(state, "ssh_host_ed25519_key"))


def test_symlinked_state_folder_is_refused(parent):
    folder = demo_folder(parent)
    elsewhere = os.path.join(parent, "elsewhere")
    os.mkdir(elsewhere, 0o700)
    os.symlink(elsewhere, os.path.join(folder, "state"))
    st, out, err = run_demo(folder)
    assert_refused(folder, st, out, err, os.path.join(folder, "state"), r"symbolic link")
    assert os.listdir(elsewhere) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the folder away")
def test_folder_owned_by_another_user_is_refused(parent):
    folder = demo_folder(parent)
    os.chown(folder, 65534, 65534)
    st, out, err = run_demo(folder)
    assert_refused(folder, st, out, err, folder, r"owned by uid 65534.*chown 0 ")
    assert not os.path.exists(os.path.join(folder, "demo_key"))
    # tools/run.sh names the owner a kvmbox share shows: that one is trusted.
    st, out, err = run_demo(folder, env={"VMGATE_DEMO_OWNER": "65534"})
    assert st == 0 and "Ctrl-C here stops" in out, (out, err)
    st, out, err = run_demo(folder, env={"VMGATE_DEMO_OWNER": "65534x"})
    assert_refused(folder, st, out, err, folder, r"owned by uid 65534")


def test_symlinked_folder_is_refused(parent):
    real = demo_folder(parent, "real")
    link = os.path.join(parent, "demo")
    os.symlink(real, link)
    st, out, err = run_demo(link)
    assert_refused(link, st, out, err, link, r"symbolic link")
    assert sorted(os.listdir(real)) == ["vmgate.yaml"]


def test_symlinked_known_hosts_tmp_is_not_followed(parent):
    folder = demo_folder(parent)
    target = os.path.join(parent, "precious")
    write(target, "precious\n", 0o644)
    os.symlink(target, os.path.join(folder, ".known_hosts.tmp"))
    st, out, err = run_demo(folder)
    with open(target) as f:
        assert f.read() == "precious\n"
    # The link was replaced, not written through: known_hosts is a file of
    # the gateway's own, with its host keys.
    kh = os.path.join(folder, "known_hosts")
    assert st == 0 and "Ctrl-C here stops" in out, (out, err)
    assert not os.path.islink(kh) and os.path.isfile(kh)
    with open(kh) as f:
        assert re.search(r"^\[127\.0\.0\.1\]:\d+ ssh-ed25519 ", f.read(), re.M)
    assert not os.path.lexists(os.path.join(folder, ".known_hosts.tmp"))


@pytest.mark.parametrize("name", ["policy.yaml", "vmgate.yaml", "demo_key.pub"])
def test_symlinked_kept_file_is_refused(parent, name):
    folder = demo_folder(parent)
    path = os.path.join(folder, name)
    outside = os.path.join(parent, "outside")
    if os.path.exists(path):
        os.rename(path, outside)
    else:
        write(outside, "users: {}\n" if name == "policy.yaml" else "ssh-ed25519 AAAA x\n")
    os.symlink(outside, path)
    st, out, err = run_demo(folder)
    assert_refused(folder, st, out, err, path, r"symbolic link")


def test_kept_policy_writable_by_others_is_refused(parent):
    folder = demo_folder(parent)
    st, out, err = run_demo(folder)
    assert st == 0, (out, err)
    policy = os.path.join(folder, "policy.yaml")
    os.chmod(policy, 0o666)
    st, out, err = run_demo(folder)
    assert_refused(folder, st, out, err, policy,
                   r"writable by group or others.*chmod go-w " + re.escape(policy))


def test_fresh_folder_then_edits_are_kept(parent):
    folder = os.path.join(parent, "demo")
    # A fresh folder: the default config (port 2222, which may be taken on
    # this machine: then the gateway stops at listening, after the files).
    run_demo(folder)
    files = sorted(os.listdir(folder))
    assert [f for f in files if f not in ("state", "known_hosts")] == \
        ["demo_key", "demo_key.pub", "policy.yaml", "vmgate.yaml"], files
    assert os.stat(folder).st_mode & 0o777 == 0o700
    for name in files:
        st = os.lstat(os.path.join(folder, name))
        # private: the key and the policy; nothing anyone else may change
        assert st.st_mode & 0o022 == 0, (name, oct(st.st_mode))
        assert st.st_uid == os.geteuid()
    for name in ("demo_key", "policy.yaml"):
        assert os.stat(os.path.join(folder, name)).st_mode & 0o777 == 0o600, name

    # The admin edits the config (another port) and the policy; both are
    # kept on the next start, as the README says.
    port = free_port()
    cfg = os.path.join(folder, "vmgate.yaml")
    with open(cfg) as f:
        text = f.read()
    assert '"127.0.0.1:2222"' in text
    write(cfg, text.replace("2222", str(port)), 0o644)
    policy = os.path.join(folder, "policy.yaml")
    with open(policy) as f:
        text = f.read()
    write(policy, text + "# edited by the admin\n")
    with open(os.path.join(folder, "demo_key")) as f:
        key = f.read()

    st, out, err = run_demo(folder)
    assert st == 0 and "Ctrl-C here stops" in out, (out, err)
    assert f"-p {port} demo@127.0.0.1" in out, out
    with open(policy) as f:
        assert f.read().endswith("# edited by the admin\n")
    with open(os.path.join(folder, "demo_key")) as f:
        assert f.read() == key
    kh = os.path.join(folder, "known_hosts")
    assert os.stat(kh).st_mode & 0o022 == 0
    with open(kh) as f:
        assert re.search(rf"^\[127\.0\.0\.1\]:{port} ssh-ed25519 ", f.read(), re.M)
    assert not [f for f in os.listdir(folder) if f.endswith(".tmp")]
