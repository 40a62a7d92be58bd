#!/bin/bash
# PID 1 of the grading VM after switch_root (copied into every job folder).
# Runs the job's bats suite, streams its TAP output and then dmesg to the
# host over the virtio serial port "kmod.results", and powers off.
# Every line of protocol it adds starts with "@@".
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb TMPDIR=/tmp

results_port() {
	local dev
	for dev in /sys/class/virtio-ports/*; do
		if [[ $(cat "$dev/name" 2>/dev/null) == kmod.results ]]; then
			printf '/dev/%s\n' "${dev##*/}"
			return 0
		fi
	done
	return 1
}

power_off() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 30
}

echo kmod-vm >/proc/sys/kernel/hostname

# devtmpfs has the device nodes but not the links udev would add.
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm

port=$(results_port) || {
	echo "guest-init: no kmod.results port" >/dev/console
	power_off
}
exec 7>"$port"

# shellcheck source=/dev/null
source /job/job.env
echo "@@boot $(cut -d' ' -f1 /proc/uptime)" >&7

case ${KMOD_MODE:-grade} in
grade)
	# KMOD_FILTER is a bats --filter regular expression naming the tests
	# still to run (after a crash the host boots again for the rest).
	filter=()
	[[ -n ${KMOD_FILTER:-} ]] && filter=(--filter "$KMOD_FILTER")
	cd /tmp || power_off
	echo "@@bats-start $(cut -d' ' -f1 /proc/uptime)" >&7
	bats --tap --timing "${filter[@]}" "/job/tests/$KMOD_BATS" >&7 2>&1
	echo "@@bats-exit $? $(cut -d' ' -f1 /proc/uptime)" >&7
	echo "@@dmesg-begin" >&7
	dmesg >&7 2>&1
	echo "@@dmesg-end" >&7
	echo "@@tainted $(cat /proc/sys/kernel/tainted)" >&7
	;;
probe) ;;
shell)
	# make shell: an interactive root shell on the serial console.
	exec 7>&-
	cd /job/build || power_off
	loaded=""
	if [[ ${KMOD_LOAD:-0} == 1 ]]; then
		for ko in /job/build/*/*.ko; do
			[[ -e $ko ]] && insmod "$ko" && loaded+=" ${ko##*/}"
		done
	fi
	export TERM=${KMOD_TERM:-vt100} PS1='kmod-vm:\w# '
	stty -F /dev/ttyS0 rows "${KMOD_ROWS:-24}" cols "${KMOD_COLS:-80}" sane 2>/dev/null
	{
		echo
		echo "Course VM: your parts are built in /job/build/PART/ (read-only)."
		echo "Loaded:${loaded:- nothing (use insmod, or make shell LOAD=1)}"
		echo "Try: insmod part2_timer/my_timer.ko; watch -n 1 cat /proc/timer; dmesg"
		echo "Exit the shell to power the VM off."
	} >/dev/ttyS0
	setsid -c bash -i <>/dev/ttyS0 >&0 2>&1
	power_off
	;;
*)
	echo "@@error unknown KMOD_MODE=${KMOD_MODE}" >&7
	;;
esac
echo "@@done" >&7
exec 7>&-
power_off
