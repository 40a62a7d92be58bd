# shellcheck shell=bash
# Paths and names shared by the VM scripts. Source it; it defines no side effects.
#
# KMOD_CACHE   where course environments, initramfs images and probes are
#              cached (built once, reused by every later run). Default
#              ~/.cache/kmod-course; for root /var/cache/kmod-course, because
#              root's builds run as nobody, who cannot enter /root.
# KMOD_COURSE_CONF  another course.conf than the repository's (as in grader/course.py)

export KMOD_ROOT
KMOD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${KMOD_CACHE:-} ]]; then
	if [[ $(id -u) -eq 0 ]]; then
		KMOD_CACHE=/var/cache/kmod-course
	else
		KMOD_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kmod-course
	fi
fi

# Drivers the VM's initramfs loads (modprobe order is worked out from
# modules.dep); the course environment keeps these and their dependencies.
VM_DRIVERS=(virtio_pci virtio_console 9pnet_virtio 9p pvpanic_pci)

# vm_driver_files MODULES_DEP: the files of VM_DRIVERS and of what they
# depend on, in an order they can be loaded in (each file after its own
# dependencies, as modprobe does), each file once.
vm_driver_files() {
	awk -F': *' -v wanted="${VM_DRIVERS[*]}" '
	function visit(file,    n, d, i) {
		if (file in done) return
		done[file] = 1
		n = split(deps[file], d, " ")
		for (i = 1; i <= n; i++) visit(d[i])
		print file
	}
	{
		deps[$1] = $2
		n = split($1, p, "/"); name = p[n]; sub(/\.ko(\.[a-z]+)?$/, "", name)
		gsub("-", "_", name)
		file_of[name] = $1
	}
	END {
		n = split(wanted, w, " ")
		for (i = 1; i <= n; i++) if (w[i] in file_of) visit(file_of[w[i]])
	}' "$1"
}

die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

log() {
	printf '[%s] %s\n' "${0##*/}" "$*" >&2
}

course_conf_path() {
	printf '%s\n' "${KMOD_COURSE_CONF:-$KMOD_ROOT/course.conf}"
}

# course_value [--optional] KEY: KEY's value in course.conf, through the
# course's one reader (grader/course.py); a key course.conf does not set
# stops the script, or with --optional is empty.
course_value() {
	python3 "$KMOD_ROOT/grader/course.py" get "$@" || die "course.conf: no value for ${*: -1}"
}

# The debootstrap script that makes SUITE. An older debootstrap (Ubuntu's)
# may not know a newer Debian suite: it is made like sid.
debootstrap_script() {
	local script=/usr/share/debootstrap/scripts/$1
	[[ -e $script ]] || script=/usr/share/debootstrap/scripts/sid
	printf '%s\n' "$script"
}

# Run a command as root (sudo when not root already).
as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	else
		sudo "$@"
	fi
}
