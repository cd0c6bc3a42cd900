#!/usr/bin/env bash
# Runs the benchmarks on a release build, side by side with their peers.
# Usage: tests/bench/run.sh [--runs N]
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup-deps.sh
tools/fetch-linux.sh >/dev/null
BUILD=${VMGATE_BENCH_BUILD:-build-bench}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target vmgate-vmm >/dev/null
BUILD=$(realpath "$BUILD")
tools/kvmbox --rw "$PWD" --rw "$BUILD" -- /usr/bin/python3 tests/bench/bench_boot.py \
	--vmm "$BUILD/vmm-core/vmgate-vmm" \
	--guest "$BUILD/vmm-core/guest/vmgate-demo.elf" "$@"
