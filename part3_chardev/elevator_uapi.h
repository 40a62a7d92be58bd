/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * elevator_uapi.h - the user-space API of the elevator module (part 3 of
 * kmod-course): the ioctl commands of /dev/elevator, their argument, the
 * passenger types, and the building's parameters.
 *
 * This header is given to you complete; do not change it. It is compiled
 * twice: into the kernel module (elevator.c) and into user programs
 * (tools/). That is why it includes only <linux/ioctl.h> and
 * <linux/types.h>, which exist on both sides, and uses the fixed-size
 * types __s32 and __u32 instead of int: a structure passed through an
 * ioctl must have the same layout in the kernel and in every program.
 */
#ifndef ELEVATOR_UAPI_H
#define ELEVATOR_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * The building. The Makefile passes the values of ../course.conf
 * (PART3_FLOORS, ...) to the compiler as -DELEVATOR_FLOORS=... and so on;
 * course.conf is the one place for them, so a file compiled without them
 * stops here:
 *	ELEVATOR_FLOORS		floors are numbered 1..ELEVATOR_FLOORS
 *	ELEVATOR_MAX_PASSENGERS	most passengers on board at once
 *	ELEVATOR_MAX_WEIGHT	most weight on board, in lbs
 *	ELEVATOR_FLOOR_MS	default of module parameter floor_ms
 *	ELEVATOR_LOAD_MS	default of module parameter load_ms
 */
#if !defined(ELEVATOR_FLOORS) || !defined(ELEVATOR_MAX_PASSENGERS) || \
	!defined(ELEVATOR_MAX_WEIGHT) || !defined(ELEVATOR_FLOOR_MS) || \
	!defined(ELEVATOR_LOAD_MS) || !defined(ELEVATOR_WEIGHTS)
#error "build with the part's Makefile: it passes course.conf's values as -DELEVATOR_..."
#endif

/*
 * Passenger types: the value of elevator_request.type. In /proc/elevator a
 * passenger is shown as the type's letter (ELEVATOR_TYPE_LETTERS[type])
 * followed by the destination floor, e.g. "L4".
 */
#define ELEVATOR_PART_TIMER	0	/* P, 100 lbs */
#define ELEVATOR_LAWYER		1	/* L, 150 lbs */
#define ELEVATOR_BOSS		2	/* B, 200 lbs */
#define ELEVATOR_VISITOR	3	/* V,  50 lbs */
#define ELEVATOR_NR_TYPES	4
#define ELEVATOR_TYPE_LETTERS	"PLBV"

/*
 * Weight in lbs of each type, in type order, as an initializer list:
 *	static const unsigned int weight[ELEVATOR_NR_TYPES] = {
 *		ELEVATOR_WEIGHTS
 *	};
 */

/* The files the module creates. */
#define ELEVATOR_DEVICE_PATH	"/dev/elevator"
#define ELEVATOR_PROC_PATH	"/proc/elevator"

/*
 * The argument of ELEVATOR_IOC_REQUEST: one passenger of type `type`
 * (ELEVATOR_PART_TIMER..ELEVATOR_VISITOR) who waits on floor `start_floor`
 * and wants to go to floor `dest_floor`. Both floors are in
 * 1..ELEVATOR_FLOORS and differ.
 */
struct elevator_request {
	__s32 start_floor;
	__s32 dest_floor;
	__s32 type;
};

/*
 * The ioctl commands of /dev/elevator. _IO() and _IOW() pack a "magic"
 * letter identifying the driver, a command number and, for _IOW(), the
 * size of the argument the program writes to the driver, into one
 * number; see Documentation/userspace-api/ioctl/ioctl-number.rst.
 *
 * ELEVATOR_IOC_START	start the elevator: OFFLINE -> IDLE.
 *			0, or -1 with errno EALREADY if it is already
 *			running or still stopping.
 * ELEVATOR_IOC_REQUEST	a passenger starts waiting on start_floor (also
 *			while the elevator is offline). The argument is a
 *			pointer to struct elevator_request.
 *			0, or -1 with errno EINVAL (a floor outside
 *			1..ELEVATOR_FLOORS, start_floor == dest_floor, or
 *			an unknown type; nothing changes), EFAULT (bad
 *			pointer) or ENOMEM.
 * ELEVATOR_IOC_STOP	stop the elevator: no more passengers board, those
 *			on board are delivered, then it goes OFFLINE.
 *			0, or -1 with errno EALREADY if it is already
 *			offline or stopping.
 * Any other command fails with ENOTTY.
 */
#define ELEVATOR_IOC_MAGIC	'E'
#define ELEVATOR_IOC_START	_IO(ELEVATOR_IOC_MAGIC, 1)
#define ELEVATOR_IOC_REQUEST	_IOW(ELEVATOR_IOC_MAGIC, 2, struct elevator_request)
#define ELEVATOR_IOC_STOP	_IO(ELEVATOR_IOC_MAGIC, 3)

#endif /* ELEVATOR_UAPI_H */
