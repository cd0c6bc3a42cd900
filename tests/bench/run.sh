#!/usr/bin/env bash
# Runs the benchmarks on a release build, side by side with their peers:
#   bench_boot.py     vmgate-vmm vs QEMU microvm (in kvmbox: needs KVM)
#   bench_gateway.py  vmgated vs OpenSSH's sshd: the ssh round trip on this
#                     host (timings inside kvmbox are emulated), the console
#                     sessions and keystroke latency in kvmbox (need KVM)
# Usage: tests/bench/run.sh [--only boot|gateway] [--runs N] [--sessions N]
#   --runs N      boot runs per monitor (default 10), ssh round trips per
#                 server (default 30)
#   --sessions N  console sessions the gateway benchmark holds (default 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
	echo "usage: tests/bench/run.sh [--only boot|gateway] [--runs N] [--sessions N]" >&2
	exit 2
}
only= runs=() sessions=()
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--only) only=$2 ;;
	--runs) runs=(--runs "$2") ;;
	--sessions) sessions=(--sessions "$2") ;;
	*) usage ;;
	esac
	shift 2
done
case $only in "" | boot | gateway) ;; *) usage ;; esac

tools/setup-deps.sh
tools/fetch-linux.sh >/dev/null
BUILD=${VMGATE_BENCH_BUILD:-build-bench}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target vmgate-vmm vmgated >/dev/null
BUILD=$(realpath "$BUILD")

if [ "$only" != gateway ]; then
	tools/kvmbox --rw "$PWD" --rw "$BUILD" -- /usr/bin/python3 tests/bench/bench_boot.py \
		--vmm "$BUILD/vmm-core/vmgate-vmm" \
		--guest "$BUILD/vmm-core/guest/vmgate-demo.elf" "${runs[@]}"
fi
if [ "$only" != boot ]; then
	/usr/bin/python3 tests/bench/bench_gateway.py --part connect --build "$BUILD" "${runs[@]}"
	# 1,000 sessions under nested KVM take about a quarter of an hour.
	tools/kvmbox --rw "$PWD" --rw "$BUILD" --timeout 7200 -- /usr/bin/python3 \
		tests/bench/bench_gateway.py --part console --build "$BUILD" "${sessions[@]}"
fi
