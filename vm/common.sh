# shellcheck shell=bash
# Paths and names shared by the VM scripts. Source it; it defines no side effects.
#
# KMOD_CACHE   where the kernel, root filesystem and initramfs are cached
#              (built once, reused by every later run)
# KVER         the Debian kernel release the VM boots and modules build against

export KMOD_ROOT
KMOD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KMOD_CACHE=${KMOD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmod-course}

die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

log() {
	printf '[%s] %s\n' "${0##*/}" "$*" >&2
}

# The kernel release that the installed linux-headers-amd64 metapackage points
# at, e.g. 6.1.0-56-amd64. The VM boots exactly this release so that the
# symbol versions (MODVERSIONS) of modules built on the host match.
kernel_release() {
	if [[ -n ${KVER:-} ]]; then
		printf '%s\n' "$KVER"
		return
	fi
	local dep
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) ||
		die "linux-headers-amd64 is not installed (run scripts/install-deps.sh)"
	dep=${dep%% *}
	printf '%s\n' "${dep#linux-headers-}"
}

kernel_dir() {
	printf '%s/kernel/%s\n' "$KMOD_CACHE" "$(kernel_release)"
}

# The kbuild tree modules are compiled against.
kbuild_dir() {
	printf '/usr/src/linux-headers-%s\n' "$(kernel_release)"
}

# The debootstrap script that makes SUITE. An older debootstrap (Ubuntu's,
# where gradescope/setup.sh runs) may not know a newer Debian suite: it is
# made like sid.
debootstrap_script() {
	local script=/usr/share/debootstrap/scripts/$1
	[[ -e $script ]] || script=/usr/share/debootstrap/scripts/sid
	printf '%s\n' "$script"
}

rootfs_dir() {
	printf '%s/rootfs\n' "$KMOD_CACHE"
}
