#!/usr/bin/env bash
# kvmbox-selftest.sh: proves tools/kvmbox gives a working /dev/kvm.
#
# Runs a few commands under tools/kvmbox (in whichever mode it picks: host
# /dev/kvm, or nested KVM in QEMU TCG) and checks:
#   - /dev/kvm answers KVM_GET_API_VERSION == 12, KVM_CREATE_VM works, and a
#     tiny real-mode guest actually runs (KVM_RUN: an OUT then a HLT exit);
#   - ptys (openpty + round trip) and memfd_create work;
#   - CMD's exit status, stdout and stderr come back, separately and intact;
#   - the cwd is shared read-write (even under /tmp);
#   - --timeout kills a hung command with status 124.
# Prints PASS/FAIL lines and a closing "N passed, N failed"; exits 1 if any
# check failed. Extra arguments are passed to kvmbox (e.g. --force-vm).
set -uo pipefail

KVMBOX=$(cd "$(dirname "$0")" && pwd)/kvmbox
EXTRA=("$@")
pass=0 fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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
# kvmbox ARGS...: run kvmbox, stdout/stderr to $work/out and $work/err,
# status in $rc, wall time in $secs.
kvmbox() {
	local t0=$EPOCHREALTIME
	"$KVMBOX" "${EXTRA[@]}" "$@" </dev/null >"$work/out" 2>"$work/err"
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
check "KVM_GET_API_VERSION == 12" grep -qx 'api-version 12' "$work/out"
check "KVM_CREATE_VM" grep -qx 'create-vm ok' "$work/out"
check "KVM_RUN of a tiny guest (OUT 0x10 then HLT)" grep -qx 'kvm-run io:0x10=0x42,hlt' "$work/out"
check "pty round trip (/dev/ptmx + devpts)" grep -qx 'pty /dev/pts/[0-9]* ping' "$work/out"
check "memfd_create" grep -qx 'memfd 1' "$work/out"
check "exit status of a python3 CMD (3)" test "$rc" = 3
check "stderr kept apart from stdout" \
	bash -c "grep -qx to-stderr '$work/err' && ! grep -q to-stderr '$work/out'"

# 2. The shell case from the brief, run from a fresh dir under /tmp: exit
# status, stdout, and the cwd shared read-write.
cd "$work" || exit 1
kvmbox -- sh -c 'echo hi; echo written >from-guest; exit 3'
cd - >/dev/null || exit 1
echo "    (sh run: ${secs}s, exit $rc)"
check "sh -c 'echo hi; exit 3' exits 3" test "$rc" = 3
check "sh -c 'echo hi; exit 3' prints hi" grep -qx hi "$work/out"
check "cwd shared read-write" grep -qx written "$work/from-guest"

# 3. Bulk output arrives complete and in order.
kvmbox -- sh -c 'seq 1 300000'
check "300000 lines of stdout intact" \
	test "$(md5sum <"$work/out")" = "$(seq 1 300000 | md5sum)"

# 4. --timeout: a command that would hang is killed, status 124.
kvmbox --timeout 5 -- sleep 600
check "--timeout 5 on 'sleep 600' exits 124" test "$rc" = 124

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
