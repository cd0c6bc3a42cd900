#!/usr/bin/env bash
# Runs vmgate on its built-in default: the demo guest in vmgate-vmm, its
# serial console on this terminal (Ctrl-] . stops it).  Installs what is
# missing and builds first.  On a host without /dev/kvm the monitor runs
# inside tools/kvmbox (real KVM, nested under QEMU; see README).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup-deps.sh
BUILD=${VMGATE_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target vmgate-vmm >/dev/null

VMM=("$BUILD/vmm-core/vmgate-vmm" "$@")
if python3 - <<'PY'
import fcntl, os, sys
try:
    fd = os.open("/dev/kvm", os.O_RDWR)
    sys.exit(0 if fcntl.ioctl(fd, 0xAE00) == 12 else 1)
except OSError:
    sys.exit(1)
PY
then
	exec "${VMM[@]}"
fi
tools/fetch-linux.sh >/dev/null
exec tools/kvmbox --interactive --rw "$PWD/$BUILD" -- "${VMM[@]}"
