#!/usr/bin/env bash
# Installs every Debian package vmgate's build, tests and benchmarks need.
# Non-interactive and idempotent: packages already present are left alone.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
	libssh-dev libvncserver-dev libevent-dev libssl-dev libyaml-dev
	libcmocka-dev libseccomp-dev libpng-dev libvncclient1
	console-setup-linux
	qemu-system-x86 busybox-static cpio xz-utils kmod acpica-tools
	python3 python3-pytest python3-paramiko python3-asyncssh python3-pil
	gvncviewer vncsnapshot tigervnc-viewer tigervnc-tools xvfb sslscan
	openssh-client openssh-server ssh-audit asciinema
	socat openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "setup-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
	$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
