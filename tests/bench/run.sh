#!/usr/bin/env bash
# Runs the benchmarks on a release build, side by side with their peers:
#   bench_boot.py     vmgate-vmm vs QEMU microvm vs a bare KVM program
#                     (tests/bench/kvm_bare.c, the floor): first serial byte
#                     and prompt of the demo guest and of the trivial PVH
#                     guest (tests/pvh-tiny), and the monitor's memory
#   bench_gateway.py  vmgated vs OpenSSH's sshd: the ssh round trip and the
#                     session setup (requests on one connection, 1,000
#                     sessions) on this host (timings inside kvmbox are
#                     emulated), the console sessions and keystroke latency
#                     where KVM is (kvmbox here), the held sessions with
#                     paramiko and again with asyncssh (OpenSSH's cipher,
#                     chacha20-poly1305); --part vms: N demo VMs
#                     with 5 console sessions each, the gateway's memory
#                     per VM and per session, echo on a random VM while
#                     the others print
#   bench_hub         the console fan-out's hub layer: a queue per viewer
#                     (gateway/hub.c) vs one shared ring with reader
#                     positions, 1 and 1,000 viewers (gateway/hub.h)
#   bench_display.py  vmgate-vmm's VNC damage (dirty log, the default) vs
#                     the whole screen every frame (--vnc-damage full,
#                     kvmtool's way), same client (tests/vnc/vncprobe):
#                     bytes of a one-character and a whole-screen update,
#                     update latency, idle CPU, memory with one viewer
#   bench_vnc.py      a VM's display through the gateway's SSH tunnel
#                     (ssh -L PORT:VM:5900) vs a direct connection to the
#                     same monitor: added latency (p50, p99) and throughput;
#                     1 viewer on each of N VMs and many on one VM: the
#                     gateway's CPU and memory per viewer
# The KVM parts run on the host's /dev/kvm if it runs the demo guest, else in
# tools/kvmbox (tools/kvm-select probes and says why; VMGATE_KVM=host|kvmbox
# forces either).
# Usage: tests/bench/run.sh [--only boot|gateway|display|vnc] [--runs N] [--sessions N] [--vms N]
#   --runs N      boot runs per peer (default 10), ssh round trips per
#                 server (default 30)
#   --sessions N  console sessions the gateway benchmark holds (default 1000)
#   --vms N       demo VMs of the gateway's scale part (default 100; in
#                 kvmbox 10-20 is what fits) and of the VNC one (default 10)
# Build directory: $VMGATE_BENCH_BUILD, default build-bench.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
	echo "usage: tests/bench/run.sh [--only boot|gateway|display|vnc] [--runs N] [--sessions N] [--vms N]" >&2
	exit 2
}
only= runs=() sessions=() vms=()
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--only) only=$2 ;;
	--runs) runs=(--runs "$2") ;;
	--sessions) sessions=(--sessions "$2") ;;
	--vms) vms=(--vms "$2") ;;
	*) usage ;;
	esac
	shift 2
done
case $only in "" | boot | gateway | display | vnc) ;; *) usage ;; esac

tools/setup-deps.sh
tools/fetch-linux.sh >/dev/null
BUILD=${VMGATE_BENCH_BUILD:-build-bench}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
targets=(vmgate-vmm vmgated vmgatectl vmgate-kvm-bare vncprobe vmgate-bench-hub)
# The trivial PVH guest, once the tree has it (bench_boot.py says so if not).
if grep -q '^VMGATE_PVH_TINY64:' "$BUILD/CMakeCache.txt"; then
	targets+=(vmgate-pvh-tiny)
fi
cmake --build "$BUILD" -j"$(nproc)" --target "${targets[@]}" >/dev/null
BUILD=$(realpath "$BUILD")

# The host's /dev/kvm if the demo guest boots on it, else kvmbox (kvm-select
# says which and why on stderr; tools/kvmbox obeys the answer).
VMGATE_KVM=$(tools/kvm-select "$BUILD")
export VMGATE_KVM
echo "benchmarks: KVM = $VMGATE_KVM (tools/kvm-select)"

status=0
if [ "$only" = "" ] || [ "$only" = boot ]; then
	# bench_boot.py exits 1 if a peer failed; the gateway part still runs.
	tools/kvmbox --rw "$PWD" --rw "$BUILD" -- /usr/bin/python3 tests/bench/bench_boot.py \
		--build "$BUILD" "${runs[@]}" || status=$?
fi
if [ "$only" = "" ] || [ "$only" = gateway ]; then
	/usr/bin/python3 tests/bench/bench_gateway.py --part connect --build "$BUILD" "${runs[@]}"
	/usr/bin/python3 tests/bench/bench_gateway.py --part setup --build "$BUILD" "${runs[@]}" \
		"${sessions[@]}"
	echo
	"$BUILD/tests/bench/vmgate-bench-hub"
	# 1,000 sessions under nested KVM take about a quarter of an hour.
	tools/kvmbox --rw "$PWD" --rw "$BUILD" --timeout 7200 -- /usr/bin/python3 \
		tests/bench/bench_gateway.py --part console --build "$BUILD" "${sessions[@]}"
	# Again with the cipher OpenSSH's client picks (paramiko has only
	# AES-CTR with an HMAC, which libssh keys anew for every packet).
	tools/kvmbox --rw "$PWD" --rw "$BUILD" --timeout 7200 -- /usr/bin/python3 \
		tests/bench/bench_gateway.py --part console --client asyncssh --build "$BUILD" "${sessions[@]}"
	# Many VMs with 5 sessions each; the box gets memory for the guests.
	tools/kvmbox --rw "$PWD" --rw "$BUILD" --mem 4G --timeout 7200 -- /usr/bin/python3 \
		tests/bench/bench_gateway.py --part vms --build "$BUILD" "${vms[@]}"
fi
if [ "$only" = "" ] || [ "$only" = display ]; then
	# Exits 1 if a peer could not be measured; never on a timing.
	tools/kvmbox --rw "$PWD" --rw "$BUILD" --timeout 3600 -- /usr/bin/python3 \
		tests/bench/bench_display.py --build "$BUILD" || status=$?
fi
if [ "$only" = "" ] || [ "$only" = vnc ]; then
	# Exits 1 if a part could not be measured; never on a timing.  The
	# box gets memory for N VMs with displays.
	tools/kvmbox --rw "$PWD" --rw "$BUILD" --mem 4G --timeout 5400 -- /usr/bin/python3 \
		tests/bench/bench_vnc.py --build "$BUILD" "${vms[@]}" || status=$?
fi
exit $status
