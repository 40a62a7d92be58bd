#!/usr/bin/env bash
# The course environment: one Debian tree, pinned by course.conf, that holds
# everything a grade depends on: the kernel the VM boots (and its drivers),
# the headers and kbuild modules are built against, the compiler, and the
# programs the grading suites run inside the VM. Builds run with this tree as
# their root (grader/sandbox-build.sh) and the VM mounts it as its root
# filesystem, so the host's own packages decide nothing: a student on
# Ubuntu, a TA on Debian 12 and the Gradescope autograder grade with the
# same bits.
#
# It is made once with debootstrap from the Debian archive, or imported from
# an image that `make image` wrote on another machine (the way to keep one
# kernel for a whole term after the archive has moved on).
#
# course.conf (see the comments there):
#   COURSE_DEBIAN_SUITE   bookworm
#   COURSE_KERNEL         a series (6.1, 6.12: the newest release of it in
#                         the archive when the tree is made) or a release
#                         (6.1.0-57-amd64)
#   COURSE_IMAGE          an image to import instead of debootstrapping
#                         (a path, relative to the course folder, or a URL)
#   COURSE_IMAGE_SHA256   the image's sha256; with it set, only an
#                         environment imported from exactly that image is used
#
# usage: env.sh dir            make (or import) the environment if needed, print its folder
#        env.sh image [FILE]   write the environment as FILE (.tar.zst) and FILE.sha256
#        env.sh import FILE|URL  install an image into the cache (checks its sha256)
#        env.sh show           what the environment is (env.conf), without making it
#        env.sh pick-kernel [SPEC] <NAMES  the release and image package SPEC
#                              names among package names (apt-cache pkgnames)
# The folder holds root/ (the tree), kernel/vmlinux and kernel/config, and
# env.conf (SUITE, KERNEL, KVER, RECIPE, SOURCE, MADE).
set -euo pipefail
# shellcheck source=vm/common.sh
source "$(dirname "$0")/common.sh"

# What the tree holds besides the kernel. Bump RECIPE_VERSION when the
# recipe changes, so that trees made by an older one are made again.
PACKAGES=(gcc make libc6-dev bats bats-assert bats-support bats-file strace kmod
	python3-minimal busybox-static procps psmisc)
RECIPE_VERSION=2
# Folders the initramfs mounts something on (the tree is read-only in the VM).
MOUNT_POINTS=(job results tmp run var/tmp root dev proc sys)

suite() { course_value COURSE_DEBIAN_SUITE; }
kernel_spec() { course_value COURSE_KERNEL; }

recipe() {
	printf '%s %s %s\n' "$RECIPE_VERSION" "$(suite)" "${PACKAGES[*]}"
}

# The cache folder of the environment course.conf asks for.
env_dir() {
	printf '%s/env/%s-%s\n' "$KMOD_CACHE" "$(suite)" "$(kernel_spec)"
}

# env_value DIR KEY: a value of DIR/env.conf (empty when absent).
env_value() {
	sed -n "s/^$2=//p" "$1/env.conf" 2>/dev/null | head -n 1
}

# Whether DIR is a complete environment that course.conf accepts.
env_ok() {
	local dir=$1 pinned
	[[ -f $dir/env.conf && -s $dir/kernel/vmlinux && -d $dir/root/usr ]] || return 1
	pinned=$(course_value --optional COURSE_IMAGE_SHA256)
	if [[ -n $pinned ]]; then
		[[ $(env_value "$dir" SOURCE) == "image sha256:$pinned" ]]
		return
	fi
	# Made here by debootstrap: by the same recipe. Imported: as it is.
	[[ $(env_value "$dir" SOURCE) == image* || $(env_value "$dir" RECIPE) == "$(recipe)" ]]
}

# --- making it with debootstrap ---------------------------------------

tmp=""
cleanup() {
	[[ -z $tmp ]] || as_root rm -rf "${tmp:?}"
}
trap cleanup EXIT

mirror() {
	if [[ -n ${KMOD_DEBIAN_MIRROR:-} ]]; then
		printf '%s\n' "${KMOD_DEBIAN_MIRROR%/}"
		return
	fi
	# The Debian mirror apt already uses on a Debian host, if any.
	local uri
	uri=$(grep -rhoE '^(URIs:|deb)[[:space:]]+[a-z]+://[^[:space:]]+/debian/?$' \
		/etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n 1 | awk '{print $2}') || true
	uri=${uri:-http://deb.debian.org/debian}
	printf '%s\n' "${uri%/}"
}

keyring() {
	local key=${KMOD_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
	[[ -r $key ]] || die "no Debian archive keyring at $key (scripts/install-deps.sh installs it; or set KMOD_DEBIAN_KEYRING)"
	printf '%s\n' "$key"
}

# Run a command in the tree being made, with a clean environment.
in_tree() {
	as_root chroot "$tmp/root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"
}

write_sources() {
	local suite=$1 mirror=$2 root=$tmp/root
	as_root mkdir -p "$root/usr/share/keyrings"
	as_root cp "$(keyring)" "$root/usr/share/keyrings/debian-archive-keyring.gpg"
	as_root rm -f "$root/etc/apt/sources.list"
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$mirror" "$suite" "$suite"
		printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
		if [[ $suite != sid && $suite != unstable ]]; then
			printf '\nTypes: deb\nURIs: %s-security\nSuites: %s-security\nComponents: main\n' \
				"${mirror%/debian}/debian" "$suite"
			printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
		fi
	} | as_root tee "$root/etc/apt/sources.list.d/debian.sources" >/dev/null
	as_root cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

# pick_kernel SPEC: from the package names on stdin (apt-cache pkgnames of
# the tree's archive), the kernel release a COURSE_KERNEL names and the image
# package to install for it, as "RELEASE PACKAGE". A release is taken as it
# is; a series (6.1, 6.12) becomes its newest generic amd64 release. The
# image is the signed one where the archive has it, else the unsigned build
# of the same kernel: Debian publishes the signed image some days after the
# headers and the unsigned image (seen with 6.12.118), and the VM does not
# use secure boot, so both boot the same. A release with headers but neither
# image is passed over for the next older one.
pick_kernel() {
	local spec=$1 names release
	names=$(cat)
	if [[ $spec == *[-+]* ]]; then
		release=$spec
		image_package "$release" <<<"$names" ||
			die "Debian $(suite) has no image of Linux $release (COURSE_KERNEL in course.conf)"
		return
	fi
	[[ $spec =~ ^[0-9]+\.[0-9]+$ ]] || die "COURSE_KERNEL is a series like 6.1 or a release like 6.1.0-57-amd64, not '$spec'"
	while read -r release; do
		image_package "$release" <<<"$names" && return
	done < <(grep -E "^linux-headers-${spec//./\\.}[.-][0-9][^[:space:]]*-amd64\$" <<<"$names" |
		grep -vE -- '-(cloud|rt)-amd64$' | sed 's/^linux-headers-//' | sort -rV)
	die "no Linux $spec for amd64 with headers and an image in Debian $(suite) (COURSE_KERNEL in course.conf)"
}

# image_package RELEASE: "RELEASE PACKAGE" for the first of the signed and
# the unsigned image among the names on stdin; fails when neither is there.
image_package() {
	local names package
	names=$(cat)
	for package in "linux-image-$1" "linux-image-$1-unsigned"; do
		if grep -qxF -- "$package" <<<"$names"; then
			printf '%s %s\n' "$1" "$package"
			return 0
		fi
	done
	return 1
}

# The kernel package is installed (6.12's headers depend on it) without an
# initramfs (INITRD=No: the VM has its own, vm/build-initramfs.sh). Its
# vmlinuz is unpacked into the kernel folder; of its modules, only the
# drivers the VM loads are kept.
add_kernel() {
	local kver=$1 root=$tmp/root
	mkdir -p "$tmp/kernel"
	python3 "$KMOD_ROOT/vm/extract_vmlinux.py" "$root/boot/vmlinuz-$kver" "$tmp/kernel/vmlinux"
	cp "$root/boot/config-$kver" "$tmp/kernel/config"
	as_root rm -f "$root/boot/vmlinuz-$kver" "$root/boot/System.map-$kver" "$root"/boot/initrd.img-*
	keep_vm_drivers "$kver"
	in_tree depmod "$kver"
}

# Delete every module but VM_DRIVERS and what they depend on (the VM loads
# nothing else but the module under test; the rest is 300 MB of image).
keep_vm_drivers() {
	local dir=$tmp/root/lib/modules/$1 keep
	keep=$(vm_driver_files "$dir/modules.dep" | sort)
	[[ -n $keep ]] || die "none of the VM's drivers (${VM_DRIVERS[*]}) is in linux-image-$1"
	(cd "$dir" && find kernel -name '*.ko*' -type f) | sort | comm -23 - <(printf '%s\n' "$keep") |
		(cd "$dir" && as_root xargs -r rm -f)
	as_root find "$dir/kernel" -type d -empty -delete
}

make_env() {
	local dir=$1 suite kver image mirror
	suite=$(suite)
	mirror=$(mirror)
	mkdir -p "$KMOD_CACHE/env"
	tmp=$(mktemp -d "$KMOD_CACHE/env/.make.XXXXXX")
	log "making the course environment: Debian $suite, Linux $(kernel_spec), from $mirror (a few minutes, once)"
	as_root debootstrap --variant=minbase --keyring="$(keyring)" "$suite" "$tmp/root" "$mirror" \
		"$(debootstrap_script "$suite")" >"$tmp/debootstrap.log" 2>&1 || {
		tail -n 20 "$tmp/debootstrap.log" >&2
		die "debootstrap failed"
	}
	write_sources "$suite" "$mirror"
	in_tree apt-get update -q >"$tmp/apt.log" 2>&1 || {
		tail -n 20 "$tmp/apt.log" >&2
		die "apt-get update in the new tree failed"
	}
	read -r kver image < <(in_tree apt-cache pkgnames linux- | pick_kernel "$(kernel_spec)") || true
	[[ -n ${image:-} ]] || die "no kernel to install (see above)"
	log "installing Linux $kver ($image), its headers, the compiler and the VM's programs"
	in_tree INITRD=No apt-get install -y -q --no-install-recommends \
		"$image" "linux-headers-$kver" "${PACKAGES[@]}" \
		>>"$tmp/apt.log" 2>&1 || {
		tail -n 20 "$tmp/apt.log" >&2
		die "installing the environment's packages failed"
	}
	add_kernel "$kver"
	finish_tree "$tmp/root"
	{
		printf 'SUITE=%s\nKERNEL=%s\nKVER=%s\n' "$suite" "$(kernel_spec)" "$kver"
		printf 'RECIPE=%s\nSOURCE=debootstrap %s\nMADE=%s\n' "$(recipe)" "$mirror" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	} >"$tmp/env.conf"
	rm -f "$tmp/debootstrap.log" "$tmp/apt.log" "$tmp/download.log"
	install_env "$tmp" "$dir"
	tmp=""
}

# What every tree gets, however it was made: no package caches or lists,
# the mount points, a host name.
finish_tree() {
	local root=$1 sub
	as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
	for sub in "${MOUNT_POINTS[@]}"; do
		as_root mkdir -p "$root/$sub"
	done
	printf 'kmod-grader\n' | as_root tee "$root/etc/hostname" >/dev/null
}

# Move a finished environment folder into place (replacing an old one).
install_env() {
	local new=$1 dir=$2
	if [[ -e $dir ]]; then
		as_root mv "$dir" "$dir.old.$$"
		as_root rm -rf "$dir.old.$$"
	fi
	as_root mv "$new" "$dir"
	as_root chmod 0755 "$dir"
}

# --- images --------------------------------------------------------------

# An image is a zstd-compressed tar of the environment folder; its sha256 is
# written next to it (FILE.sha256, in sha256sum's format).
write_image() {
	local out=$1 dir
	dir=$(ensure_env)
	command -v zstd >/dev/null || die "zstd is not installed (scripts/install-deps.sh)"
	mkdir -p "$(dirname "$out")"
	log "writing $out"
	as_root tar -C "$dir" --numeric-owner --sort=name -cf - env.conf kernel root |
		zstd -q -T0 -10 -o "$out.tmp" -f
	mv "$out.tmp" "$out"
	(cd "$(dirname "$out")" && sha256sum "$(basename "$out")" >"$(basename "$out").sha256")
	printf '%s\n' "$out"
}

# The sha256 an image must have: course.conf's pin, else FILE.sha256.
expected_sha() {
	local file=$1 pinned
	pinned=$(course_value --optional COURSE_IMAGE_SHA256)
	if [[ -n $pinned ]]; then
		printf '%s\n' "$pinned"
	elif [[ -f $file.sha256 ]]; then
		awk '{print $1; exit}' "$file.sha256"
	fi
}

# Fetch a URL to a file (python3's urllib: no curl or wget needed).
fetch() {
	python3 - "$1" "$2" <<'PY'
import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=60) as r, open(sys.argv[2], "wb") as f:
    shutil.copyfileobj(r, f, 1 << 20)
PY
}

import_image() {
	local source=$1 file want got dir
	mkdir -p "$KMOD_CACHE/env"
	tmp=$(mktemp -d "$KMOD_CACHE/env/.import.XXXXXX")
	if [[ $source == *://* ]]; then
		log "downloading $source"
		file=$tmp/image.tar.zst
		fetch "$source" "$file" || die "cannot download $source"
		fetch "$source.sha256" "$file.sha256" 2>/dev/null || rm -f "$file.sha256"
	else
		[[ -f $source ]] || die "no image at $source"
		file=$source
	fi
	got=$(sha256sum "$file" | awk '{print $1}')
	want=$(expected_sha "$file")
	if [[ -z $want ]]; then
		log "no sha256 to check $source against (course.conf COURSE_IMAGE_SHA256, or $source.sha256); its sha256 is $got"
	elif [[ $got != "$want" ]]; then
		die "$source has sha256 $got, not $want: not imported"
	fi
	log "unpacking the course environment (sha256 $got)"
	as_root mkdir "$tmp/env"
	zstd -q -dc "$file" | as_root tar -C "$tmp/env" --numeric-owner -xf - ||
		die "$source is not a course environment image (a .tar.zst that make image writes)"
	[[ -f $tmp/env/env.conf && -s $tmp/env/kernel/vmlinux && -d $tmp/env/root/usr ]] ||
		die "$source is not a course environment image (no env.conf, kernel or root in it)"
	local suite kernel
	suite=$(env_value "$tmp/env" SUITE)
	kernel=$(env_value "$tmp/env" KERNEL)
	as_root sed -i '/^SOURCE=/d' "$tmp/env/env.conf"
	printf 'SOURCE=image sha256:%s\n' "$got" | as_root tee -a "$tmp/env/env.conf" >/dev/null
	dir=$KMOD_CACHE/env/$suite-$kernel
	install_env "$tmp/env" "$dir"
	as_root rm -rf "$tmp"
	tmp=""
	log "imported Linux $(env_value "$dir" KVER) on Debian $suite into $dir"
	if [[ $dir != "$(env_dir)" ]]; then
		log "note: course.conf asks for Debian $(suite), Linux $(kernel_spec); this image is $suite, $kernel"
	fi
	printf '%s\n' "$dir"
}

# --- the environment course.conf asks for ------------------------------

# Make or import it unless the cache has it; print its folder.
ensure_env() {
	local dir image
	dir=$(env_dir)
	if env_ok "$dir"; then
		printf '%s\n' "$dir"
		return
	fi
	mkdir -p "$KMOD_CACHE/env"
	# One maker at a time (two graders starting together wait for one tree).
	exec {lock}>"$KMOD_CACHE/env/.lock"
	flock "$lock"
	if ! env_ok "$dir"; then
		image=$(course_value --optional COURSE_IMAGE)
		if [[ -n $image ]]; then
			[[ $image == *://* || $image == /* ]] || image=$(dirname "$(course_conf_path)")/$image
			import_image "$image" >/dev/null
			env_ok "$dir" || die "the image $image is not the environment course.conf asks for ($(suite), $(kernel_spec), sha256 $(course_value --optional COURSE_IMAGE_SHA256))"
		else
			[[ -z $(course_value --optional COURSE_IMAGE_SHA256) ]] ||
				die "course.conf pins COURSE_IMAGE_SHA256 but names no COURSE_IMAGE: run make import-image FILE=... first"
			make_env "$dir"
		fi
	fi
	exec {lock}>&-
	printf '%s\n' "$dir"
}

main() {
	case ${1:-} in
	dir) ensure_env ;;
	image)
		local dir
		dir=$(ensure_env)
		write_image "${2:-$KMOD_ROOT/dist/course-env-$(env_value "$dir" SUITE)-$(env_value "$dir" KVER).tar.zst}"
		;;
	import) import_image "${2:?usage: env.sh import FILE|URL}" ;;
	pick-kernel) pick_kernel "${2:-$(kernel_spec)}" ;;
	show)
		if [[ -f $(env_dir)/env.conf ]]; then
			cat "$(env_dir)/env.conf"
		else
			printf 'SUITE=%s\nKERNEL=%s\n(not made yet: env.sh dir makes it)\n' "$(suite)" "$(kernel_spec)"
		fi
		;;
	*)
		echo "usage: env.sh dir | image [FILE] | import FILE|URL | show" >&2
		exit 2
		;;
	esac
}

main "$@"
