#!/usr/bin/env bash
# Install what kmod-course needs on the host, once. Idempotent and quick
# when everything is present; uses sudo when not run as root.
#
# The host needs only what every distribution packages: the kernel, the
# compiler and everything a grade depends on come from the course
# environment (vm/env.sh), a Debian tree made with debootstrap or imported
# from an image. Knows the package names on Debian, Ubuntu and Fedora;
# elsewhere it says what to install.
#
# usage: install-deps.sh [--docs | --debug | --grader-only | --print]
#   --docs         adds what `make handouts` needs
#   --debug        adds what `make debug` needs (gdb)
#   --grader-only  only what grading needs, where builds use the container
#                  route (no bubblewrap) and nothing is linted: the
#                  Gradescope autograder's tree (gradescope/setup.sh)
#   --print        print the install command for this host; install nothing
set -euo pipefail

# What each need is called: "need debian-name fedora-name". Ubuntu uses
# Debian's names. cc, libc and strace are for part 1, which students run on
# their own machine; bats, the linters (lint, pyflakes, cppcheck) and unzip
# for make test.
NEEDS='
vm         qemu-system-x86         qemu-system-x86-core
debootstrap debootstrap            debootstrap
keyring    debian-archive-keyring  debian-keyring
sandbox    bubblewrap              bubblewrap
python     python3                 python3
make       make                    make
zstd       zstd                    zstd
cpio       cpio                    cpio
xz         xz-utils                xz
cc         gcc                     gcc
libc       libc6-dev               glibc-devel
strace     strace                  strace
bats       bats                    bats
lint       shellcheck              ShellCheck
pyflakes   pyflakes3               python3-pyflakes
cppcheck   cppcheck                cppcheck
unzip      unzip                   unzip
'
DOC_NEEDS='
pandoc     pandoc                  pandoc
weasyprint weasyprint              weasyprint
pdftotext  poppler-utils           poppler-utils
'
DEBUG_NEEDS='
gdb        gdb                     gdb
'
# Needs the Gradescope tree does without (its builds use the container
# route; it lints nothing, unpacks no zip, and already has the keys).
NOT_FOR_GRADING=" sandbox lint pyflakes cppcheck unzip keyring debootstrap cc libc strace bats "

as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	else
		sudo "$@"
	fi
}

# os_release KEY: a value of /etc/os-release (one pair of quotes removed).
os_release() {
	sed -n "s/^$1=//p" /etc/os-release 2>/dev/null | head -n 1 | tr -d "\"'"
}

# debian, ubuntu, fedora or what /etc/os-release says (ID, then ID_LIKE).
distribution() {
	local id like
	id=$(os_release ID)
	like=$(os_release ID_LIKE)
	case " $id $like " in
	*" debian "* | *" ubuntu "*) echo debian ;;
	*" fedora "* | *" rhel "*) echo fedora ;;
	*) echo "${id:-unknown}" ;;
	esac
}

# packages DISTRO NEEDS-TABLE [SKIP]: the package names of the table's needs.
packages() {
	local column=2 need deb fed
	[[ $1 == fedora ]] && column=3
	while read -r need deb fed; do
		[[ -n $need && " ${3:-} " != *" $need "* ]] || continue
		if [[ $column -eq 2 ]]; then printf '%s\n' "$deb"; else printf '%s\n' "$fed"; fi
	done <<<"$2"
}

missing_debian() {
	local pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' ||
			printf '%s\n' "$pkg"
	done
}

missing_fedora() {
	local pkg
	for pkg in "$@"; do
		rpm -q "$pkg" >/dev/null 2>&1 || printf '%s\n' "$pkg"
	done
}

# The command that installs packages, as a user types it.
install_line_debian() { echo "sudo apt-get install --no-install-recommends"; }
install_line_fedora() { echo "sudo dnf install"; }

install_debian() {
	as_root apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

install_fedora() {
	as_root dnf install -y "$@"
}

main() {
	local table=$NEEDS skip="" print=0
	case ${1:-} in
	--docs) table+=$DOC_NEEDS ;;
	--debug) table+=$DEBUG_NEEDS ;;
	--grader-only) skip=$NOT_FOR_GRADING ;;
	--print) print=1 ;;
	"") ;;
	*)
		echo "usage: install-deps.sh [--docs | --debug | --grader-only | --print]" >&2
		exit 2
		;;
	esac
	local distro list
	distro=$(distribution)
	local -a wanted=() missing=()
	# (No process substitution: in the Gradescope tree there is no /proc,
	# so no /dev/fd.)
	list=$(packages "$distro" "$table" "$skip")
	mapfile -t wanted <<<"$list"
	case $distro in
	debian | fedora)
		if [[ $print -eq 1 ]]; then
			echo "$("install_line_$distro") ${wanted[*]}"
			return 0
		fi
		list=$("missing_$distro" "${wanted[@]}")
		[[ -z $list ]] || mapfile -t missing <<<"$list"
		[[ ${#missing[@]} -gt 0 ]] || return 0
		echo "install-deps: installing ${missing[*]}" >&2
		"install_$distro" "${missing[@]}"
		;;
	*)
		cat >&2 <<EOF
install-deps: this host ($distro) is not one whose package names are known here.
Install, with its package manager: qemu-system-x86_64, debootstrap and Debian's
archive keyring (/usr/share/keyrings/debian-archive-keyring.gpg, or set
KMOD_DEBIAN_KEYRING), bubblewrap, python3, make, zstd, cpio, xz, gcc and
strace (and bats, shellcheck and unzip for make test). Then run the command
again.
EOF
		local tool
		for tool in qemu-system-x86_64 debootstrap bwrap python3 make zstd cpio xz; do
			command -v "$tool" >/dev/null || exit 1
		done
		;;
	esac
}

main "$@"
