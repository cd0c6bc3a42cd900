#!/usr/bin/env bash
# kvmbox-selftest.sh: proves tools/kvmbox gives a working /dev/kvm.
#
# Runs a few commands under tools/kvmbox (in whichever mode it picks: host
# /dev/kvm, or nested KVM in QEMU TCG) and checks:
#   - /dev/kvm answers KVM_GET_API_VERSION == 12, KVM_CREATE_VM works, and a
#     tiny real-mode guest actually runs (KVM_RUN: an OUT then a HLT exit);
#   - ptys (openpty + round trip) and memfd_create work;
#   - CMD's exit status, stdout and stderr come back, separately and intact;
#   - the cwd is shared read-write (even under /tmp); no NIC by default;
#   - --timeout kills a hung command with status 124;
#   - --interactive: piped stdin reaches a CMD on a pty; and, driven from a
#     pty here: CMD sees a tty of our size, gets keys (Ctrl-C as a byte)
#     promptly, sees resizes; the exit status comes back and our terminal's
#     modes are restored;
#   - --forward: a server on the guest's 127.0.0.1 answers curl on the
#     host's, while the guest reaches nothing through the network.
#
# Host mode ("kvmbox: host /dev/kvm": tools/kvm-select or VMGATE_KVM=host
# chose the host's /dev/kvm) promises less: CMD is exec'd on the host with
# our environment, files, network, stdin and terminal. There the checks of
# what only the box provides (no NIC but lo; a pty for piped --interactive
# input; the box's closed network) are not run, each named on a
# "BOX ONLY, not run in host mode:" line, and host mode's own promises are
# checked instead: CMD ran on this kernel (same boot_id) with its /dev/kvm
# working, in our network namespace with our interfaces, got our piped stdin
# as is (no pty) and our terminal itself (same device). In box mode the
# probe's boot_id must differ from ours (it ran in the box). The mode is the
# first run's mode line; a run in the other mode fails these checks.
#
# Prints PASS/FAIL lines and a closing "N passed, N failed" (plus how many
# box-only checks were not run); exits 1 if any check failed. Extra
# arguments are passed to kvmbox (e.g. --force-vm).
set -uo pipefail

KVMBOX=$(cd "$(dirname "$0")" && pwd)/kvmbox
EXTRA=("$@")
pass=0 fail=0 boxonly=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Run from $work: kvmbox shares the cwd by default, and wherever we were
# started (ctest's build folder, perhaps under /tmp, which is a tmpfs in
# the box) may not be visible inside.
[ -z "${VMGATE_BUILD:-}" ] || VMGATE_BUILD=$(realpath "$VMGATE_BUILD")
cd "$work" || exit 1

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() {
	echo "FAIL: $1"
	fail=$((fail + 1))
	# Show what the failing run printed, indented.
	for f in "$work/out" "$work/err"; do
		[ -s "$f" ] && sed 's/^/    | /' "$f" | tail -n 30
	done
}
# check NAME CONDITION...: PASS if the condition command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else ko "$name"; fi
}
# box_check NAME CONDITION...: a check of what only the box provides; in
# host mode it is not run, and says so.
box_check() {
	if [ -n "$host" ]; then
		echo "BOX ONLY, not run in host mode: $1"
		boxonly=$((boxonly + 1))
	else
		check "$@"
	fi
}
# kvmbox ARGS...: run kvmbox, stdin from $STDIN (default /dev/null),
# stdout/stderr to $work/out and $work/err, status in $rc, wall time in $secs.
kvmbox() {
	local t0=$EPOCHREALTIME
	"$KVMBOX" "${EXTRA[@]}" "$@" <"${STDIN:-/dev/null}" >"$work/out" 2>"$work/err"
	rc=$?
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
}

# The guest-side probe. Everything prints one line per fact so the checks
# below can grep for them; it exits 3 on purpose.
read -r -d '' PROBE <<'EOF'
import ctypes, fcntl, mmap, os, pty, struct, sys

KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
KVM_GET_VCPU_MMAP_SIZE = 0xAE04
KVM_CREATE_VCPU = 0xAE41
KVM_SET_USER_MEMORY_REGION = 0x4020AE46  # _IOW(KVMIO, 0x46, 32 bytes)
KVM_RUN = 0xAE80
KVM_SET_REGS = 0x4090AE82                # _IOW(KVMIO, 0x82, 144 bytes)
KVM_GET_SREGS = 0x8138AE83               # _IOR(KVMIO, 0x83, 312 bytes)
KVM_SET_SREGS = 0x4138AE84               # _IOW(KVMIO, 0x84, 312 bytes)
KVM_EXIT_IO, KVM_EXIT_HLT = 2, 5

kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
print("api-version", fcntl.ioctl(kvm, KVM_GET_API_VERSION))
vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
print("create-vm", "ok" if vm >= 0 else vm)

# A 64 KiB guest; code at 0x1000 in real mode: mov al,0x42; out 0x10,al; hlt
mem = mmap.mmap(-1, 0x10000)
mem[0x1000:0x1005] = bytes([0xB0, 0x42, 0xE6, 0x10, 0xF4])
addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION, struct.pack("IIQQQ", 0, 0, 0, 0x10000, addr))
vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
run = mmap.mmap(vcpu, fcntl.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE), mmap.MAP_SHARED,
                mmap.PROT_READ | mmap.PROT_WRITE)
sregs = bytearray(fcntl.ioctl(vcpu, KVM_GET_SREGS, bytes(312)))
struct.pack_into("QIH", sregs, 0, 0, 0xFFFF, 0)  # cs: base 0, limit, selector 0
fcntl.ioctl(vcpu, KVM_SET_SREGS, bytes(sregs))
regs = [0] * 18
regs[16], regs[17] = 0x1000, 0x2  # rip, rflags
fcntl.ioctl(vcpu, KVM_SET_REGS, struct.pack("18Q", *regs))
exits = []
for _ in range(2):
    fcntl.ioctl(vcpu, KVM_RUN, 0)
    reason = struct.unpack_from("I", run, 8)[0]
    if reason == KVM_EXIT_IO:
        port, = struct.unpack_from("H", run, 34)
        off, = struct.unpack_from("Q", run, 40)
        exits.append(f"io:{port:#x}={run[off]:#x}")
    else:
        exits.append({KVM_EXIT_HLT: "hlt"}.get(reason, f"exit{reason}"))
print("kvm-run", ",".join(exits))

m, s = os.openpty()
os.write(m, b"ping\n")
print("pty", os.ttyname(s), os.read(s, 100).strip().decode())

fd = os.memfd_create("kvmbox")
os.write(fd, b"x")
print("memfd", os.fstat(fd).st_size)

with open("/proc/sys/kernel/random/boot_id") as f:
    print("boot-id", f.read().strip())

print("to-stderr", file=sys.stderr)
sys.exit(3)
EOF

# Debian's python3 by path: a pyenv shim first in PATH costs ~20 s per
# start inside the TCG guest (it is a bash script that forks a lot).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

echo "kvmbox selftest: $KVMBOX ${EXTRA[*]}"

# 1. KVM, ptys, memfd, exit status, stdout/stderr separation: one boot.
kvmbox -- "$PY" -c "$PROBE"
echo "    (probe run: ${secs}s, exit $rc)"
mode=$(grep -m1 '^kvmbox: \(host /dev/kvm\|nested KVM\)' "$work/err")
if [ -n "$mode" ]; then ok "mode line: ${mode#kvmbox: }"; else ko "mode line on stderr"; fi
# host: non-empty in host mode. Without a mode line, the box's checks apply.
host=
[ "$mode" != "kvmbox: host /dev/kvm" ] || host=1
our_boot_id=$(cat /proc/sys/kernel/random/boot_id)
if [ -n "$host" ]; then
	check "host mode: CMD ran on this host's kernel (same boot_id)" \
		grep -qx "boot-id $our_boot_id" "$work/out"
else
	check "box mode: CMD ran in the box (a boot_id, not this host's)" \
		bash -c "grep -q '^boot-id ' '$work/out' && ! grep -qx 'boot-id $our_boot_id' '$work/out'"
fi
check "KVM_GET_API_VERSION == 12" grep -qx 'api-version 12' "$work/out"
check "KVM_CREATE_VM" grep -qx 'create-vm ok' "$work/out"
check "KVM_RUN of a tiny guest (OUT 0x10 then HLT)" grep -qx 'kvm-run io:0x10=0x42,hlt' "$work/out"
check "pty round trip (/dev/ptmx + devpts)" grep -qx 'pty /dev/pts/[0-9]* ping' "$work/out"
check "memfd_create" grep -qx 'memfd 1' "$work/out"
check "exit status of a python3 CMD (3)" test "$rc" = 3
check "stderr kept apart from stdout" \
	bash -c "grep -qx to-stderr '$work/err' && ! grep -q to-stderr '$work/out'"

# 1b. tools/kvm-select where KVM works (the box's, or the host's): the probe
# boot of the demo guest reaches its prompt, so it picks "host"; a probe
# given no time to reach the prompt must pick kvmbox and say why.
if [ -x "${VMGATE_BUILD:-}/vmm-core/vmgate-vmm" ]; then
	SELECT=$(dirname "$KVMBOX")/kvm-select
	kvmbox --rw "$(dirname "$(dirname "$KVMBOX")")" --rw "$VMGATE_BUILD" --rw "$work" -- sh -c "env -u VMGATE_KVM '$SELECT' '$VMGATE_BUILD' && env -u VMGATE_KVM VMGATE_KVM_PROBE_SECS=0.01 '$SELECT' '$VMGATE_BUILD'"
	echo "    (kvm-select run: ${secs}s, exit $rc)"
	check "kvm-select: the demo guest boots to its prompt: host" \
		bash -c "head -n1 '$work/out' | grep -qx host && grep -q 'the demo guest reached its prompt in' '$work/err'"
	check "kvm-select: no prompt in 0.01 s: kvmbox, and why" \
		bash -c "sed -n 2p '$work/out' | grep -qx kvmbox && grep -q 'failed the probe boot: no prompt within 0.01 s' '$work/err'"
else
	echo "    (kvm-select probe not checked: VMGATE_BUILD has no vmgate-vmm)"
fi

# 2. The shell case from the brief, run from a fresh dir under /tmp: exit
# status, stdout, and the cwd shared read-write.
cd "$work" || exit 1
kvmbox -- sh -c 'echo hi; echo written >from-guest; ls /sys/class/net >nics; readlink /proc/self/ns/net >netns; exit 3'
cd - >/dev/null || exit 1
echo "    (sh run: ${secs}s, exit $rc)"
check "sh -c 'echo hi; exit 3' exits 3" test "$rc" = 3
check "sh -c 'echo hi; exit 3' prints hi" grep -qx hi "$work/out"
check "cwd shared read-write" grep -qx written "$work/from-guest"
box_check "no network interface but lo without --forward" \
	test "$(cat "$work/nics" 2>/dev/null)" = lo
if [ -n "$host" ]; then
	check "host mode: CMD has our network (our net namespace, our interfaces)" \
		test "$(cat "$work/netns" "$work/nics" 2>/dev/null)" = "$(readlink /proc/self/ns/net; ls /sys/class/net)"
fi

# 3. Bulk output arrives complete and in order.
kvmbox -- sh -c 'seq 1 300000'
check "300000 lines of stdout intact" \
	test "$(md5sum <"$work/out")" = "$(seq 1 300000 | md5sum)"

# 4. --timeout: a command that would hang is killed, status 124.
kvmbox --timeout 5 -- sleep 600
check "--timeout 5 on 'sleep 600' exits 124" test "$rc" = 124

# 5. --interactive with stdin a pipe: the bytes reach a shell on the pty
# (which echoes them; output lines end in CR LF, as from any tty; the
# interactive shell's "$ " or "# " prompt may come first), and the shell's
# exit status comes back.
printf 'echo hi\nexit 3\n' >"$work/in"
STDIN=$work/in kvmbox --interactive -- /bin/sh
echo "    (--interactive piped run: ${secs}s, exit $rc)"
check "--interactive: 'echo hi; exit 3' piped to /bin/sh exits 3" test "$rc" = 3
box_check "--interactive: 'echo hi; exit 3' piped to /bin/sh prints hi (on a pty: CR LF)" \
	grep -Eq $'^([$#] )?hi\r$' "$work/out"
if [ -n "$host" ]; then
	check "host mode: --interactive: /bin/sh reads our piped stdin as is (no pty): prints exactly hi" \
		test "$(cat "$work/out")" = hi
fi

# 6. --interactive on a terminal: kvmbox on a pty of ours, driven the way a
# person at a terminal would (the driver prints its own PASS/FAIL lines).
read -r -d '' PTYDRIVE <<'PYEOF'
import fcntl, os, re, select, struct, subprocess, sys, termios, time

kvmbox, py, host = sys.argv[1], sys.argv[2], sys.argv[3] == "host"
extra = sys.argv[4:]
# In the guest: report the tty, then echo each key as [hex] in raw mode
# until "q"; wait for a SIGWINCH, report the new size, put the tty's modes
# back (as a well-behaved program does: in host mode the tty is ours) and
# exit 7.
GUEST = r"""
import os, signal, sys, termios, time, tty
winch = []
signal.signal(signal.SIGWINCH, lambda *a: winch.append(1))
print("isatty", os.isatty(0), os.isatty(1), os.isatty(2), flush=True)
print("tty-rdev", os.fstat(0).st_rdev, flush=True)
print("size", *os.get_terminal_size(0), flush=True)
modes = termios.tcgetattr(0)
tty.setraw(0)
print("raw", end="\r\n", flush=True)
while True:
    c = os.read(0, 1)
    os.write(1, b"[%02x]" % c[0])
    if c == b"q":
        break
t = time.time() + 60
while not winch and time.time() < t:
    time.sleep(0.05)
print("resized", *os.get_terminal_size(0), end="\r\n", flush=True)
termios.tcsetattr(0, termios.TCSADRAIN, modes)
sys.exit(7)
"""
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("4H", 33, 111, 0, 0))
before = termios.tcgetattr(slave)
# kvmbox in a new session, with the pty as its controlling terminal.
proc = subprocess.Popen([kvmbox, *extra, "--interactive", "--", py, "-c", GUEST],
                        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
out = b""


def wait_for(pattern, secs):
    global out
    end = time.monotonic() + secs
    while not re.search(pattern, out) and time.monotonic() < end:
        if select.select([master], [], [], 0.05)[0]:
            try:
                out += os.read(master, 4096)
            except OSError:
                break
    return re.search(pattern, out)


failed = False


def result(name, ok, detail=None):
    global failed
    failed |= not ok
    print(("PASS: " if ok else "FAIL: ") + name + (f" ({detail})" if detail else ""), flush=True)


mo = wait_for(rb"size (\d+) (\d+)", 300)
result("--interactive: stdin, stdout, stderr are a tty in the guest",
       b"isatty True True True" in out)
if host:
    mo_dev = re.search(rb"tty-rdev (\d+)", out)
    result("host mode: --interactive: CMD's terminal is ours (same device)",
           bool(mo_dev) and int(mo_dev.group(1)) == os.fstat(slave).st_rdev,
           mo_dev and f"{mo_dev.group(0).decode()}, ours {os.fstat(slave).st_rdev}")
result("--interactive: terminal size passed on (111x33)",
       bool(mo) and mo.group(1, 2) == (b"111", b"33"), mo and mo.group(0).decode())
wait_for(rb"raw\r\n", 30)  # (before that, the pty makes Ctrl-C a SIGINT)
os.write(master, b"\x03")
result("--interactive: Ctrl-C reaches CMD as a byte", bool(wait_for(rb"\[03\]", 30)))
rtts = []
for c in b"abcde":
    t0 = time.monotonic()
    os.write(master, bytes([c]))
    rtts.append(time.monotonic() - t0 if wait_for(rb"\[%02x\]" % c, 30) else 99)
rtts.sort()
result("--interactive: keys echoed promptly (median round trip < 1 s)", rtts[2] < 1,
       " ".join(f"{t * 1000:.0f}ms" for t in rtts))
os.write(master, b"q")
wait_for(rb"\[71\]", 30)
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("4H", 40, 120, 0, 0))
mo = wait_for(rb"resized (\d+) (\d+)", 60)
t_out = time.monotonic()
result("--interactive: resize passed on (SIGWINCH, 120x40)",
       bool(mo) and mo.group(1, 2) == (b"120", b"40"), mo and mo.group(0).decode())
try:
    rc = proc.wait(60)
except subprocess.TimeoutExpired:
    proc.kill()
    rc = proc.wait()
result("--interactive: CMD's exit status (7) comes back promptly", rc == 7,
       f"exit {rc}, {time.monotonic() - t_out:.1f}s after CMD's last output")
# Box mode: kvmbox made our terminal raw and must put it back, whatever CMD
# did with its own pty in the box. Host mode: kvmbox never touches it, so it
# is as CMD left it (CMD restores it above).
result("--interactive: our terminal's modes restored", termios.tcgetattr(slave) == before)
if failed:
    text = out.decode(errors="replace").replace("\r", "")
    print("".join(f"    | {line}\n" for line in text.splitlines()[-30:]), end="")
PYEOF
t0=$EPOCHREALTIME
"$PY" -c "$PTYDRIVE" "$KVMBOX" "$PY" "$([ -n "$host" ] && echo host || echo box)" "${EXTRA[@]}" >"$work/drive" 2>&1
cat "$work/drive"
echo "    (--interactive pty run: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s)"
n=$(grep -c '^PASS: ' "$work/drive")
pass=$((pass + n))
n=$(grep -c '^FAIL: ' "$work/drive")
if [ "$n" = 0 ] && ! grep -q '^PASS: ' "$work/drive"; then
	echo "FAIL: --interactive pty driver ran"
	n=1
fi
fail=$((fail + n))

# 7. --forward: a web server on the guest's loopback, fetched through the
# host's; first the guest tries to reach the host (through QEMU's gateway)
# and the outside, which restrict=on must refuse. (In host mode CMD has the
# host's network: the server listens on the host's loopback itself, and the
# probe, box-only, is not run.)
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
read -r -d '' NETPROBE <<'PYEOF'
import socket, sys
for host, port in (("10.0.2.2", int(sys.argv[1])), ("1.1.1.1", 80)):
    try:
        socket.create_connection((host, port), timeout=5).close()
        print(host, "reachable")
    except OSError:
        print(host, "unreachable")
PYEOF
[ -z "$host" ] || NETPROBE='print("not probed: host mode")'
t0=$EPOCHREALTIME
"$KVMBOX" "${EXTRA[@]}" --rw "$work" --timeout 300 --forward "$port" -- \
	sh -c 'cd "$1" && "$2" -c "$3" "$4" >net && exec "$2" -m http.server --bind 127.0.0.1 "$4"' \
	sh "$work" "$PY" "$NETPROBE" "$port" </dev/null >"$work/out" 2>"$work/err" &
kpid=$!
got=
for _ in $(seq 280); do
	if curl -s --max-time 5 "http://127.0.0.1:$port/" >"$work/page" 2>/dev/null &&
		grep -q 'Directory listing' "$work/page"; then
		got=1
		break
	fi
	kill -0 "$kpid" 2>/dev/null || break
	sleep 1
done
echo "    (--forward: page after $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s)"
kill -TERM "$kpid" 2>/dev/null
wait "$kpid"
rc=$?
check "--forward $port: curl on the host gets the guest's 127.0.0.1:$port" test -n "$got"
check "--forward: kvmbox ends on SIGTERM (143)" test "$rc" = 143
box_check "--forward: the guest cannot reach the host or the outside" \
	test "$(cat "$work/net" 2>/dev/null)" = $'10.0.2.2 unreachable\n1.1.1.1 unreachable'

if [ -n "$host" ]; then
	echo "$pass passed, $fail failed (host mode; $boxonly box-only checks not run)"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
