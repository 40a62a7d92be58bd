#!/usr/bin/env bash
# Install the Debian packages kmod-course needs, once. Idempotent and quick
# when everything is present; uses sudo when not run as root.
#
# usage: install-deps.sh [--docs]   (--docs adds what `make handouts` needs)
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
)
DOC_PACKAGES=(pandoc weasyprint poppler-utils)

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
	[[ ${1:-} == --docs ]] && wanted+=("${DOC_PACKAGES[@]}")
	local -a missing
	mapfile -t missing < <(missing_packages "${wanted[@]}")
	if [[ ${#missing[@]} -eq 0 ]]; then
		return 0
	fi
	echo "install-deps: installing ${missing[*]}" >&2
	as_root apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

main "$@"
