#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# missing, builds with ASan+UBSan (clang, so the fuzz targets are real
# libFuzzer binaries), and runs every test with ctest: unit tests, fuzz
# targets, the demo guest on QEMU, and the KVM integration tests (on the
# host's /dev/kvm if it runs the demo guest, else inside tools/kvmbox: see
# tools/kvm-select; VMGATE_KVM=host|kvmbox forces either). A KVM suite that
# would skip its tests fails instead, unless VMGATE_ALLOW_SKIP=1.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup-deps.sh
tools/fetch-linux.sh >/dev/null
# What tools/run.sh builds, as it builds it (gcc, release flags).
echo "vmgate: building the product as tools/run.sh does (tools/build-product.sh)"
tools/build-product.sh

BUILD=${VMGATE_TEST_BUILD:-build-test}
CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DVMGATE_SANITIZE=ON -DVMGATE_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
# The host's /dev/kvm if the demo guest boots on it, else kvmbox (says why).
VMGATE_KVM=$(tools/kvm-select "$BUILD")
export VMGATE_KVM
ctest --test-dir "$BUILD" --output-on-failure -j2 "$@"
