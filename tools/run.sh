#!/usr/bin/env bash
# Runs vmgate on its built-in default: the gateway (vmgated --demo) with two
# demo-guest VMs, a demo policy and a demo user whose key is created in the
# demo folder (default: .demo in this clone). It prints the ssh commands that
# reach the VMs; Ctrl-C stops it. Installs what is missing and builds first.
# Where the host's /dev/kvm does not run the demo guest (or there is none:
# tools/kvm-select probes; VMGATE_KVM=host|kvmbox forces either) it runs
# inside tools/kvmbox (real KVM, nested under QEMU; see README), with the
# SSH port forwarded to this host.
#
#	tools/run.sh [DEMO_FOLDER]
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO=${1:-$PWD/.demo}
case $DEMO in /*) ;; *) DEMO=$PWD/$DEMO ;; esac
# vmgated --demo refuses a folder others may write to: make it ours alone.
(umask 077 && mkdir -p "$DEMO")

tools/setup-deps.sh
BUILD=${VMGATE_BUILD_DIR:-build}
tools/build-product.sh

GATEWAY=("$PWD/$BUILD/gateway/vmgated" --demo "$DEMO")
# The host's /dev/kvm if the demo guest boots on it, else kvmbox (says why).
VMGATE_KVM=$(tools/kvm-select "$BUILD")
export VMGATE_KVM
if [ "$VMGATE_KVM" = host ]; then
	exec "${GATEWAY[@]}"
fi

# The demo's SSH port, from its config if an earlier run left one.
PORT=2222
if [[ -f $DEMO/vmgate.yaml ]]; then
	p=$(sed -n 's/^[[:space:]]*ssh:[[:space:]]*"\{0,1\}[^"]*:\([0-9][0-9]*\)"\{0,1\}.*/\1/p' "$DEMO/vmgate.yaml" | head -n1)
	PORT=${p:-$PORT}
fi
tools/fetch-linux.sh >/dev/null
# The gateway runs as root in the box, where the share shows the folder's
# owner here (us): it trusts that owner too (VMGATE_* reaches the box).
VMGATE_DEMO_OWNER=$(id -u)
export VMGATE_DEMO_OWNER
exec tools/kvmbox --interactive --forward "$PORT" \
	--rw "$PWD/$BUILD" --rw "$DEMO" -- "${GATEWAY[@]}"
