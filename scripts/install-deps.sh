#!/usr/bin/env bash
# Install the Debian packages kmod-course needs, once. Idempotent and quick
# when everything is present; uses sudo when not run as root.
#
# usage: install-deps.sh [--docs | --grader-only]
#   --docs         adds what `make handouts` needs
#   --grader-only  only what grading needs, where builds use the container
#                  route (no bubblewrap) and nothing is linted: the
#                  Gradescope autograder's Debian tree (gradescope/setup.sh)
set -euo pipefail

PACKAGES=(
	qemu-system-x86         # the grading VM
	linux-headers-amd64     # kbuild tree matching the VM's kernel
	busybox-static          # the VM's initramfs
	kmod                    # modprobe/depmod for the initramfs drivers
	debootstrap             # the VM's root filesystem
	cpio xz-utils           # packing the initramfs, unpacking the kernel
	bubblewrap              # sandboxed builds on the host
	strace                  # part 1
	bats bats-assert bats-support bats-file
	python3
	make gcc libc6-dev
	shellcheck              # self-tests lint the shell scripts
	unzip debian-archive-keyring  # make gradescope and its self-test
)
DOC_PACKAGES=(pandoc weasyprint poppler-utils)
NOT_FOR_GRADING=(bubblewrap shellcheck unzip debian-archive-keyring)

as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	else
		sudo "$@"
	fi
}

missing_packages() {
	local pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' ||
			printf '%s\n' "$pkg"
	done
}

main() {
	local -a wanted=("${PACKAGES[@]}")
	case ${1:-} in
	--docs) wanted+=("${DOC_PACKAGES[@]}") ;;
	--grader-only)
		local pkg
		wanted=()
		for pkg in "${PACKAGES[@]}"; do
			[[ " ${NOT_FOR_GRADING[*]} " == *" $pkg "* ]] || wanted+=("$pkg")
		done
		;;
	"") ;;
	*)
		echo "usage: install-deps.sh [--docs | --grader-only]" >&2
		exit 2
		;;
	esac
	# (No process substitution: in the Gradescope tree there is no /proc,
	# so no /dev/fd.)
	local -a missing=()
	local list
	list=$(missing_packages "${wanted[@]}")
	[[ -z $list ]] || mapfile -t missing <<<"$list"
	if [[ ${#missing[@]} -eq 0 ]]; then
		return 0
	fi
	echo "install-deps: installing ${missing[*]}" >&2
	as_root apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

main "$@"
