#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# missing, builds with ASan+UBSan (clang, so the fuzz targets are real
# libFuzzer binaries), and runs every test with ctest: unit tests, fuzz
# targets, the demo guest on QEMU, and the KVM integration tests (inside
# tools/kvmbox when this host has no /dev/kvm).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup-deps.sh
tools/fetch-linux.sh >/dev/null

BUILD=${VMGATE_TEST_BUILD:-build-test}
CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DVMGATE_SANITIZE=ON -DVMGATE_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure -j2 "$@"
