// SPDX-License-Identifier: GPL-2.0
/*
 * elevator - part 3 of kmod-course: an elevator run by a kernel thread,
 * driven through /dev/elevator and watched in /proc/elevator.
 *
 * This skeleton builds, loads and unloads, but creates nothing yet. Read
 * the part 3 handout for the exact behaviour and output required, and these
 * chapters of The Linux Kernel Module Programming Guide
 * (https://sysprog21.github.io/lkmpg/) for worked examples:
 *
 *	"Character Device drivers"		/dev/elevator
 *	"The /proc File System"			/proc/elevator (and seq_file)
 *	"Talking To Device Files"		ioctl
 *	"Scheduling Tasks", and the kthread
 *	example in "Blocking Processes and
 *	threads" (Completions)			the elevator's kernel thread
 *	"Avoiding Collisions and Deadlocks"	the mutex
 *
 * elevator_uapi.h (given, do not change it) defines the ioctl commands,
 * struct elevator_request, the passenger types and the building's
 * parameters (ELEVATOR_FLOORS, ELEVATOR_MAX_PASSENGERS, ...).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
/*
 * TODO: you will also need headers such as <linux/cdev.h>,
 * <linux/device.h>, <linux/fs.h>, <linux/kthread.h>, <linux/list.h>,
 * <linux/mutex.h>, <linux/proc_fs.h>, <linux/seq_file.h>,
 * <linux/slab.h>, <linux/uaccess.h>, <linux/version.h> and
 * <linux/delay.h> or <linux/wait.h>.
 */

#include "elevator_uapi.h"

/*
 * The timings, given to you: `insmod elevator.ko floor_ms=50 load_ms=20`
 * runs the elevator fast (the grader does). Use them, never the constants
 * ELEVATOR_FLOOR_MS and ELEVATOR_LOAD_MS directly.
 */
static unsigned int floor_ms = ELEVATOR_FLOOR_MS;
module_param(floor_ms, uint, 0444);
MODULE_PARM_DESC(floor_ms, "time to move one floor, in ms");

static unsigned int load_ms = ELEVATOR_LOAD_MS;
module_param(load_ms, uint, 0444);
MODULE_PARM_DESC(load_ms, "time of a stop to unload and load, in ms");

/*
 * TODO: the shared state, all of it guarded by one struct mutex:
 * - the state (OFFLINE, IDLE, LOADING, UP, DOWN), the current floor, the
 *   load, whether a stop was requested;
 * - a passenger: a struct you kmalloc() in the REQUEST ioctl, with a
 *   struct list_head member, its type and its destination floor;
 * - one list_head per floor for the passengers waiting there (arrival
 *   order: list_add_tail()), and one for those on board; move a
 *   passenger between lists with list_move_tail(), and kfree() them when
 *   they arrive;
 * - the counters: on board, waiting, serviced.
 * Weights: static const unsigned int w[ELEVATOR_NR_TYPES] =
 * { ELEVATOR_WEIGHTS };
 */

/*
 * TODO: the kernel thread, started with kthread_run(fn, data, "elevator")
 * in the init function and stopped with kthread_stop() in the exit
 * function. Its function loops until kthread_should_stop() is true (and
 * must not return before that):
 * - take the mutex, decide the next step (unload and load at this floor:
 *   LOADING; or move one floor: UP/DOWN; or nothing to do: IDLE/OFFLINE),
 *   change the state, release the mutex;
 * - then sleep for load_ms or floor_ms, and only then change the floor.
 * Never sleep with the mutex held. Sleep so that kthread_stop() can wake
 * you: e.g. wait_event_interruptible_timeout() with kthread_should_stop()
 * in the condition, or msleep_interruptible() in small steps. When idle,
 * do not spin: sleep a little, or wait on a wait queue that the ioctls
 * wake.
 */

/*
 * TODO: the ioctls. A function
 *	long f(struct file *file, unsigned int cmd, unsigned long arg);
 * in a struct file_operations as .unlocked_ioctl (with .owner =
 * THIS_MODULE). switch on cmd: ELEVATOR_IOC_START, ELEVATOR_IOC_REQUEST,
 * ELEVATOR_IOC_STOP; anything else returns -ENOTTY. For REQUEST, arg is a
 * user-space pointer: copy the struct elevator_request with
 * copy_from_user() (-EFAULT if it fails) before taking the mutex, check
 * every field (-EINVAL), then kmalloc(..., GFP_KERNEL) (-ENOMEM).
 */

/*
 * TODO: /proc/elevator. A show function
 *	int f(struct seq_file *m, void *v);
 * that prints the whole text with seq_printf() while holding the mutex,
 * single_open() in .proc_open, and .proc_read = seq_read,
 * .proc_lseek = seq_lseek, .proc_release = single_release in a
 * struct proc_ops. proc_create("elevator", 0444, NULL, &ops).
 */

static int __init elevator_mod_init(void)
{
	/*
	 * TODO: initialise the state and the lists, start the thread, create
	 * /proc/elevator, then /dev/elevator:
	 *	alloc_chrdev_region(&devt, 0, 1, "elevator");
	 *	cdev_init(&cdev, &fops); cdev_add(&cdev, devt, 1);
	 *	class_create("elevator") (since Linux 6.4; before that
	 *		class_create(THIS_MODULE, "elevator"): use
	 *		#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0));
	 *	set the class's .devnode so that the node gets mode 0666;
	 *	device_create(class, NULL, devt, NULL, "elevator");
	 * Check every step; when one fails, undo the earlier ones in
	 * reverse order (goto labels) and return its error.
	 */
	pr_info("loaded (floor_ms=%u, load_ms=%u)\n", floor_ms, load_ms);
	return 0;
}

static void __exit elevator_mod_exit(void)
{
	/*
	 * TODO: undo everything: device_destroy(), class_destroy(),
	 * cdev_del(), unregister_chrdev_region(), proc_remove(), then
	 * kthread_stop(), and kfree() every passenger still waiting or on
	 * board. rmmod may come at any moment, even mid-trip.
	 */
	pr_info("unloaded\n");
}

module_init(elevator_mod_init);
module_exit(elevator_mod_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmod-course");
MODULE_DESCRIPTION("An elevator run by a kernel thread: /dev/elevator and /proc/elevator");
