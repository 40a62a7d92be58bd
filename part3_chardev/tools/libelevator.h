/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libelevator - a tiny C library over the ioctls of /dev/elevator
 * (kmod-course, part 3). Given to you complete.
 *
 * Every function returns 0 (elevator_open(): a file descriptor) on success
 * and a negative errno value on failure, e.g. -EINVAL; strerror(-ret)
 * describes it. errno itself is left as the failed call set it.
 *
 *	int fd = elevator_open();
 *	if (fd < 0)
 *		... strerror(-fd) ...
 *	ret = elevator_request(fd, 1, 4, ELEVATOR_LAWYER);
 *	close(fd);
 */
#ifndef LIBELEVATOR_H
#define LIBELEVATOR_H

#include "elevator_uapi.h"

/* Open ELEVATOR_DEVICE_PATH for reading and writing. */
int elevator_open(void);

/* ELEVATOR_IOC_START: start the elevator. -EALREADY if it is running. */
int elevator_start(int fd);

/*
 * ELEVATOR_IOC_REQUEST: a passenger of type `type` (ELEVATOR_PART_TIMER..
 * ELEVATOR_VISITOR) waits on start_floor to go to dest_floor. The values
 * go to the module unchecked: the module rejects bad ones with -EINVAL.
 */
int elevator_request(int fd, int start_floor, int dest_floor, int type);

/* ELEVATOR_IOC_STOP: stop the elevator. -EALREADY if already stopped. */
int elevator_stop(int fd);

#endif /* LIBELEVATOR_H */
