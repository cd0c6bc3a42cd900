#!/usr/bin/env bash
# fetch-linux.sh [CACHE_DIR]
#
# Downloads (never installs) Debian's current linux-image-<ver>-amd64 package
# and leaves stable paths in CACHE_DIR (default
# ${VMGATE_CACHE:-$HOME/.cache/vmgate}/linux):
#
#   vmlinuz   the bzImage, bootable with qemu-system-x86_64 -kernel
#   vmlinux   the uncompressed ELF kernel (symbols for gdb/perf against a guest)
#   modules/  the kernel's module tree (lib/modules/<ver>), with modules.dep
#   config    the kernel's .config
#   VERSION   the kernel release string, e.g. 6.1.0-56-amd64
#
# tools/kvmbox boots this kernel under QEMU TCG to get a real /dev/kvm on
# machines that have none. Idempotent: if the cache already holds the version
# apt currently points at, nothing is downloaded. If apt cannot tell (no
# package lists, no network) but a cache exists, the cache is used as is.
#
# Needs: apt-get/apt-cache, dpkg-deb, xz (xz-utils), grep, flock, and
# depmod (kmod) or busybox.
set -euo pipefail

CACHE=${1:-${VMGATE_CACHE:-$HOME/.cache/vmgate}/linux}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

log() { echo "fetch-linux: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Several kvmbox runs may start at once on a fresh machine: serialise them.
exec 9>"$CACHE/.lock"
flock 9

print_paths() {
	echo "VERSION=$(cat "$CACHE/VERSION")"
	echo "vmlinuz=$CACHE/vmlinuz"
	echo "vmlinux=$CACHE/vmlinux"
	echo "modules=$CACHE/modules"
}

# Name of the versioned image package the linux-image-amd64 metapackage
# depends on, e.g. linux-image-6.1.0-56-amd64; empty if apt doesn't know.
current_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
}

pkg=$(current_package)
if [ -z "$pkg" ]; then
	if [ -s "$CACHE/VERSION" ]; then
		log "apt does not know linux-image-amd64 (no package lists?); using cached $(cat "$CACHE/VERSION")"
		print_paths
		exit 0
	fi
	log "no package lists for linux-image-amd64; running apt-get update"
	apt-get update -qq || die "apt-get update failed"
	pkg=$(current_package)
	[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 to a versioned kernel package"
fi
ver=${pkg#linux-image-}

if [ -s "$CACHE/VERSION" ] && [ "$(cat "$CACHE/VERSION")" = "$ver" ] &&
	[ -s "$CACHE/vmlinuz" ] && [ -s "$CACHE/vmlinux" ] && [ -s "$CACHE/modules/modules.dep" ]; then
	print_paths
	exit 0
fi

# Work in a staging dir inside the cache (same filesystem, so the final
# renames are cheap) and only replace the published paths once all is well.
stage=$(mktemp -d "$CACHE/.stage.XXXXXX")
# apt-get download as root drops privileges to _apt for the fetch and warns
# if _apt cannot write the target dir, so download into a fresh dir under
# /tmp (the cache may sit under /root, which _apt cannot even traverse).
debdir=$(mktemp -d "${TMPDIR:-/tmp}/fetch-linux.XXXXXX")
trap 'rm -rf "$stage" "$debdir"' EXIT
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
	chmod 755 "$debdir"
	chown _apt "$debdir"
fi
download() { (cd "$debdir" && apt-get download -q "$pkg" >&2); }
if ! download; then
	# Most likely the lists are missing or stale (the archive moved on and
	# the listed .deb is gone): refresh them once and retry.
	log "apt-get download $pkg failed; running apt-get update and retrying"
	apt-get update -qq || die "apt-get update failed"
	pkg=$(current_package)
	[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 after apt-get update"
	ver=${pkg#linux-image-}
	download || die "apt-get download $pkg failed"
fi
debs=("$debdir"/"$pkg"_*.deb)
deb=${debs[0]}
[ -f "$deb" ] || die "apt-get download produced no .deb for $pkg"

log "extracting $(basename "$deb")"
dpkg-deb -x "$deb" "$stage/root"
[ -f "$stage/root/boot/vmlinuz-$ver" ] || die "package has no boot/vmlinuz-$ver"
[ -d "$stage/root/lib/modules/$ver" ] || die "package has no lib/modules/$ver"

# The package ships no modules.dep (its postinst runs depmod), so make one.
# kmod's depmod if present, else busybox's (busybox-static is a dependency of
# kvmbox anyway); both write the same "mod.ko: dep.ko ..." format.
if command -v depmod >/dev/null; then
	depmod -b "$stage/root" "$ver"
elif command -v busybox >/dev/null; then
	busybox depmod -b "$stage/root" "$ver"
else
	die "neither depmod (kmod) nor busybox found"
fi
[ -s "$stage/root/lib/modules/$ver/modules.dep" ] || die "depmod wrote no modules.dep"

# vmlinux: a bzImage is a small decompressor followed by the compressed ELF
# kernel. Debian's are xz-compressed (CONFIG_KERNEL_XZ), so look for the xz
# stream magic (fd 37 7a 58 5a 00) and decompress from there. The magic bytes
# may also occur by chance, so try every hit until one yields an ELF file.
# --single-stream makes xz stop at the end of the stream instead of failing on
# the bytes that follow it (tail is fed in by process substitution so that
# its SIGPIPE when xz stops reading early does not trip pipefail).
command -v xz >/dev/null || die "xz not found (apt-get install xz-utils)"
vmlinuz=$stage/root/boot/vmlinuz-$ver
found=
while IFS=: read -r off _; do
	if xz -dc --single-stream <(tail -c +$((off + 1)) "$vmlinuz") >"$stage/vmlinux" 2>/dev/null &&
		[ "$(head -c4 "$stage/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
		found=$off
		break
	fi
done < <(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz")
[ -n "$found" ] || die "no xz-compressed ELF found inside $vmlinuz"

# Publish. Old contents are replaced wholesale (one kernel per cache).
rm -rf "$CACHE/modules" "$CACHE/vmlinuz" "$CACHE/vmlinux" "$CACHE/config" "$CACHE/VERSION"
mv "$vmlinuz" "$CACHE/vmlinuz"
mv "$stage/vmlinux" "$CACHE/vmlinux"
mv "$stage/root/lib/modules/$ver" "$CACHE/modules"
cp "$stage/root/boot/config-$ver" "$CACHE/config"
echo "$ver" >"$CACHE/VERSION"
log "cached kernel $ver"
print_paths
