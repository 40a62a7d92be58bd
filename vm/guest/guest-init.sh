#!/bin/bash
# PID 1 of the grading VM after switch_root (copied into every job folder).
# Sets the VM up and hands grading to guest-agent.py, the only writer to the
# virtio serial port "kmod.results" (authenticated records: bats' TAP output,
# the agent's events, the kernel log); then powers off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb TMPDIR=/tmp

# port_named NAME: the device of the virtio serial port NAME.
port_named() {
	local dev
	for dev in /sys/class/virtio-ports/*; do
		if [[ $(cat "$dev/name" 2>/dev/null) == "$1" ]]; then
			printf '/dev/%s\n' "${dev##*/}"
			return 0
		fi
	done
	return 1
}

results_port() {
	port_named kmod.results
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

# shellcheck source=/dev/null
source /job/job.env

case ${KMOD_MODE:-grade} in
grade)
	port=$(results_port) || {
		echo "guest-init: no kmod.results port" >/dev/console
		power_off
	}
	# KMOD_FILTER is a bats --filter regular expression naming the tests
	# still to run (after a crash the host boots again for the rest).
	python3 /job/guest-agent.py "$port" "/job/tests/$KMOD_BATS" "${KMOD_FILTER:-}" ||
		echo "guest-init: the guest agent failed" >/dev/console
	;;
probe)
	# A boot that reached userspace (vm/probe-accel.sh, make bench): two plain lines.
	port=$(results_port) && printf '@@boot %s\n@@done\n' "$(cut -d' ' -f1 /proc/uptime)" >"$port"
	;;
shell | run | debug)
	# make shell: an interactive root shell on the serial console, or
	# (make shell RUN=SCRIPT) the student's script, whose exit status goes
	# to the results port. make debug: the same with qemu's gdb stub on; the
	# loaded modules' section addresses go to the results port first (the
	# host gives them to gdb), and with KMOD_WAIT=1 the VM waits for a line
	# on the control port (gdb has set its breakpoints) before it goes on.
	cd /job/build || power_off
	loaded=""
	if [[ ${KMOD_LOAD:-0} == 1 ]]; then
		for ko in /job/build/*/*.ko; do
			[[ -e $ko ]] && insmod "$ko" && loaded+=" ${ko##*/}"
		done
	fi
	if [[ $KMOD_MODE == debug ]]; then
		# The control port is opened before "ready" goes out, and held
		# open: a virtio port whose host side is not connected reads as
		# end-of-file at once, and one nobody holds open in the guest has
		# the host's "go" dropped. So: open first, then poll until "go".
		waiting=0
		if [[ ${KMOD_WAIT:-0} == 1 ]] && control=$(port_named kmod.control) &&
			exec 3<"$control"; then
			waiting=1
		fi
		port=$(results_port) && {
			for ko in $loaded; do
				for section in "/sys/module/${ko%.ko}/sections/".*; do
					[[ -f $section ]] && echo "section ${ko%.ko} ${section##*/} $(cat "$section")"
				done
			done
			echo ready
		} >"$port"
		if [[ $waiting == 1 ]]; then
			until read -r line <&3 && [[ $line == go ]]; do
				sleep 0.2
			done
			exec 3<&-
		fi
		[[ -f /job/run/script ]] && KMOD_MODE=run
	fi
	if [[ $KMOD_MODE == run ]]; then
		echo "[course VM: your files are in /job/src/PART/, built in /job/build/PART/; loaded:${loaded:- nothing}]" >/dev/ttyS0
		bash /job/run/script </dev/null >/dev/ttyS0 2>&1
		status=$?
		port=$(results_port) && echo "exit $status" >"$port"
		power_off
	fi
	export TERM=${KMOD_TERM:-vt100} PS1='kmod-vm:\w# '
	stty -F /dev/ttyS0 rows "${KMOD_ROWS:-24}" cols "${KMOD_COLS:-80}" sane 2>/dev/null
	{
		echo
		echo "Course VM: your part folders are in /job/src/PART/, built in /job/build/PART/ (read-only; /tmp is writable)."
		echo "Loaded:${loaded:- nothing (use insmod, or make shell LOAD=1)}"
		echo "Try: insmod part2_timer/my_timer.ko; watch -n 1 cat /proc/timer; dmesg"
		echo "Exit the shell to power the VM off."
	} >/dev/ttyS0
	setsid -c bash -i <>/dev/ttyS0 >&0 2>&1
	power_off
	;;
*)
	echo "guest-init: unknown KMOD_MODE=${KMOD_MODE}" >/dev/console
	;;
esac
power_off
