// SPDX-License-Identifier: GPL-2.0
/*
 * libelevator - a tiny C library over the ioctls of /dev/elevator
 * (kmod-course, part 3). See libelevator.h.
 */
/* POSIX functions (open, ioctl, getopt, nanosleep) also with -std=c11. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/ioctl.h>

#include "libelevator.h"

int elevator_open(void)
{
	int fd = open(ELEVATOR_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* ioctl() returns -1 and sets errno on failure; turn that into -errno. */
static int elevator_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

int elevator_start(int fd)
{
	return elevator_ioctl(fd, ELEVATOR_IOC_START, NULL);
}

int elevator_request(int fd, int start_floor, int dest_floor, int type)
{
	struct elevator_request req = {
		.start_floor = start_floor,
		.dest_floor = dest_floor,
		.type = type,
	};

	return elevator_ioctl(fd, ELEVATOR_IOC_REQUEST, &req);
}

int elevator_stop(int fd)
{
	return elevator_ioctl(fd, ELEVATOR_IOC_STOP, NULL);
}
