// SPDX-License-Identifier: GPL-2.0
/*
 * elevator - reference solution for part 3 of kmod-course.
 *
 * One elevator serves the floors 1..ELEVATOR_FLOORS of a building. A kernel
 * thread named "elevator" runs it; user programs drive it through the ioctls
 * of /dev/elevator (start, add a waiting passenger, stop; see
 * elevator_uapi.h) and watch it in /proc/elevator:
 *
 *	Elevator state: UP
 *	Current floor: 2
 *	Current load: 350 lbs
 *	Elevator status: L4 B5
 *
 *	[ ] Floor 5: 0
 *	[ ] Floor 4: 1 P1
 *	[ ] Floor 3: 0
 *	[*] Floor 2: 2 V5 B3
 *	[ ] Floor 1: 0
 *
 *	Number of passengers: 2
 *	Number of passengers waiting: 3
 *	Number of passengers serviced: 12
 *
 * How the elevator moves (LOOK scheduling):
 *
 * - At a floor, the passengers whose destination it is leave (each counts
 *   as serviced); then, unless a stop was requested, the passengers waiting
 *   there board in arrival order, each one who fits (at most
 *   ELEVATOR_MAX_PASSENGERS on board and ELEVATOR_MAX_WEIGHT lbs). One who
 *   does not fit keeps waiting, at the head of the line, and those behind
 *   board if they fit. If anyone left or boarded, the elevator stays
 *   LOADING for load_ms, already showing who is on board now.
 * - Then it keeps its direction while there is work that way: a
 *   destination of someone on board, or (unless stopping) someone waiting
 *   on a floor further on. Otherwise it turns round if there is work the
 *   other way, or else goes IDLE (or, when stopping, OFFLINE).
 * - A move is UP or DOWN for floor_ms, during which "Current floor" is
 *   still the floor it left; then the floor changes by exactly one.
 * - On the way it stops at every floor where someone leaves or someone
 *   waiting fits, whichever way they want to go.
 *
 * The thread exists from module load to unload. While the elevator is
 * OFFLINE or IDLE the thread sleeps on a wait queue until an ioctl gives
 * it something to do, and rmmod wakes and stops it at any moment.
 */

/* Prefix every pr_*() message with the module name, "elevator: ". */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/wait.h>

#include "elevator_uapi.h"

#define ELEVATOR_NAME		"elevator"	/* device, class, thread, proc */
#define ELEVATOR_DEV_MODE	0666		/* every user may drive it */
#define ELEVATOR_PROC_MODE	0444		/* every user may watch it */

static const unsigned int passenger_weight[ELEVATOR_NR_TYPES] = {
	ELEVATOR_WEIGHTS
};

/*
 * Catch a broken course.conf at compile time rather than with an elevator
 * that misbehaves: PART3_WEIGHTS must list exactly one weight per type.
 */
static_assert(ARRAY_SIZE(((unsigned int[]){ ELEVATOR_WEIGHTS })) ==
	      ELEVATOR_NR_TYPES, "PART3_WEIGHTS needs one weight per type");
static_assert(ELEVATOR_FLOORS >= 1, "PART3_FLOORS must be at least 1");
static_assert(ELEVATOR_MAX_PASSENGERS >= 1,
	      "PART3_MAX_PASSENGERS must be at least 1");

/*
 * Module parameters, read-only once loaded (0444: they show in
 * /sys/module/elevator/parameters/, nobody may change them there). A grader
 * runs the elevator fast with e.g. `insmod elevator.ko floor_ms=50
 * load_ms=20`. 0 is taken as 1 ms (see elevator_mod_init()).
 */
static unsigned int floor_ms = ELEVATOR_FLOOR_MS;
module_param(floor_ms, uint, 0444);
MODULE_PARM_DESC(floor_ms, "time to move one floor, in ms (default "
		 __stringify(ELEVATOR_FLOOR_MS) ")");

static unsigned int load_ms = ELEVATOR_LOAD_MS;
module_param(load_ms, uint, 0444);
MODULE_PARM_DESC(load_ms, "time of a stop to unload and load, in ms (default "
		 __stringify(ELEVATOR_LOAD_MS) ")");

enum elevator_state {
	ELEVATOR_OFFLINE,	/* not started, or stopped and empty */
	ELEVATOR_IDLE,		/* started, nothing to do */
	ELEVATOR_LOADING,	/* stopped at a floor: people leave and board */
	ELEVATOR_UP,		/* moving up one floor */
	ELEVATOR_DOWN,		/* moving down one floor */
};

static const char *const state_name[] = {
	[ELEVATOR_OFFLINE]	= "OFFLINE",
	[ELEVATOR_IDLE]		= "IDLE",
	[ELEVATOR_LOADING]	= "LOADING",
	[ELEVATOR_UP]		= "UP",
	[ELEVATOR_DOWN]		= "DOWN",
};

/* One passenger, waiting on a floor or on board: on exactly one list. */
struct passenger {
	struct list_head node;	/* in building.waiting[] or building.riders */
	int type;		/* ELEVATOR_PART_TIMER..ELEVATOR_VISITOR */
	int dest;		/* destination floor, 1..ELEVATOR_FLOORS */
};

/*
 * Everything the thread, the ioctls and /proc/elevator share. All of it is
 * guarded by `lock`: take it for every read or write of any field (the one
 * exception, `wake`, is explained below).
 *
 * A mutex, not a spinlock: whoever waits for it sleeps instead of spinning,
 * which suits critical sections that walk lists of any length (the /proc
 * text lists every passenger). A mutex holder may sleep, too, but must not
 * for long: the thread holds it only to decide and change the state, never
 * across its sleeps of floor_ms or load_ms, or every reader of
 * /proc/elevator and every ioctl would block that long. The ioctl does
 * copy_from_user() and kmalloc(), which may sleep, before taking it.
 */
static struct building {
	struct mutex lock;	/* guards all of the fields below */
	enum elevator_state state;
	bool stopping;		/* STOP requested, not yet OFFLINE */
	/*
	 * The ioctls set wake when they give the thread something to do;
	 * the thread clears it, under the lock, when it finds nothing to do,
	 * and then sleeps until it is set. Written under the lock, but the
	 * sleeping thread reads it without (see elevator_thread_fn()).
	 */
	bool wake;
	int floor;		/* current floor, 1..ELEVATOR_FLOORS */
	int direction;		/* +1 up or -1 down: the way LOOK sweeps */
	unsigned int load;	/* lbs on board */
	unsigned int nr_riders;
	unsigned int nr_waiting;
	unsigned int nr_serviced;
	struct list_head riders;	/* on board, in boarding order */
	/* waiting[f - 1]: waiting on floor f, in arrival order */
	struct list_head waiting[ELEVATOR_FLOORS];
} building;

/* The thread sleeps here: when idle, and while moving or loading. */
static DECLARE_WAIT_QUEUE_HEAD(elevator_wq);

static struct task_struct *elevator_thread;
static struct proc_dir_entry *elevator_proc;
static dev_t elevator_devt;
static struct cdev elevator_cdev;
static struct class *elevator_class;

/* ---------------------------------------------------------------------
 * The elevator's logic. Every function here needs building.lock held.
 */

static bool passenger_fits(const struct passenger *p)
{
	return building.nr_riders < ELEVATOR_MAX_PASSENGERS &&
	       building.load + passenger_weight[p->type] <= ELEVATOR_MAX_WEIGHT;
}

/*
 * Unload the riders whose destination is this floor, then, unless
 * stopping, board those waiting here who fit. Returns how many left or
 * boarded.
 */
static unsigned int elevator_transfer(void)
{
	struct list_head *line = &building.waiting[building.floor - 1];
	struct passenger *p, *next;
	unsigned int moved = 0;

	/* _safe: the loop body unlinks (and frees) the current entry. */
	list_for_each_entry_safe(p, next, &building.riders, node) {
		if (p->dest != building.floor)
			continue;
		list_del(&p->node);
		building.nr_riders--;
		building.load -= passenger_weight[p->type];
		building.nr_serviced++;
		kfree(p);
		moved++;
	}
	if (building.stopping)
		return moved;
	list_for_each_entry_safe(p, next, line, node) {
		if (building.nr_riders == ELEVATOR_MAX_PASSENGERS)
			break;
		if (!passenger_fits(p))
			continue;	/* keeps their place; next may fit */
		list_move_tail(&p->node, &building.riders);
		building.nr_waiting--;
		building.nr_riders++;
		building.load += passenger_weight[p->type];
		moved++;
	}
	return moved;
}

/*
 * Is there work beyond the current floor in direction dir (+1 or -1)?
 * Riders going that way always count; people waiting that way only while
 * the elevator still picks people up.
 */
static bool elevator_work_beyond(int dir)
{
	struct passenger *p;
	int f;

	list_for_each_entry(p, &building.riders, node)
		if ((p->dest - building.floor) * dir > 0)
			return true;
	if (building.stopping)
		return false;
	for (f = building.floor + dir; f >= 1 && f <= ELEVATOR_FLOORS; f += dir)
		if (!list_empty(&building.waiting[f - 1]))
			return true;
	return false;
}

/*
 * Decide what to do next at the current floor, do the transfer of a stop,
 * and set the state accordingly. Returns the new state; the caller sleeps
 * for it (load_ms, floor_ms, or until woken for OFFLINE and IDLE).
 */
static enum elevator_state elevator_next_state(void)
{
	int dir = building.direction;

	if (building.state == ELEVATOR_OFFLINE)
		goto rest;
	if (elevator_transfer()) {
		building.state = ELEVATOR_LOADING;
		goto out;
	}
	if (!elevator_work_beyond(dir)) {
		dir = -dir;
		if (!elevator_work_beyond(dir)) {
			/* Nothing left to do. When stopping, no one is on
			 * board either: every destination is work.
			 */
			building.state = building.stopping ?
					 ELEVATOR_OFFLINE : ELEVATOR_IDLE;
			building.stopping = false;
			goto rest;
		}
	}
	building.direction = dir;
	building.state = dir > 0 ? ELEVATOR_UP : ELEVATOR_DOWN;
	goto out;

rest:
	WRITE_ONCE(building.wake, false);
out:
	return building.state;
}

/* ---------------------------------------------------------------------
 * The kernel thread.
 */

/*
 * Sleep for ms milliseconds, or less if the module is being unloaded.
 *
 * Why not msleep()? It sleeps uninterruptibly to the end, so rmmod (which
 * waits in kthread_stop() for this thread to return) could hang for a
 * whole floor_ms, and with a large floor_ms the uninterruptible sleep
 * trips the kernel's hung-task detector. A wait on a wait queue with
 * kthread_should_stop() as its condition ends as soon as kthread_stop()
 * (which calls wake_up_process() on the thread) is called, on every kernel
 * version. Other wake-ups on elevator_wq (new requests) re-check the
 * condition and sleep on for the rest of the time.
 */
static void elevator_sleep(unsigned int ms)
{
	wait_event_interruptible_timeout(elevator_wq, kthread_should_stop(),
					 msecs_to_jiffies(ms));
}

/*
 * The thread's life: from kthread_run() in elevator_mod_init() until
 * kthread_stop() in elevator_mod_exit(). kthread_stop() sets a flag that
 * kthread_should_stop() reports, wakes the thread and waits until this
 * function returns. The function must therefore return only once
 * kthread_should_stop() is true: a kthread that ends earlier on its own
 * may have its task_struct freed before kthread_stop() looks at it.
 *
 * The lock is held only around decisions and changes of the state, which
 * take microseconds; every sleep happens with it released.
 */
static int elevator_thread_fn(void *unused)
{
	enum elevator_state state;

	while (!kthread_should_stop()) {
		mutex_lock(&building.lock);
		state = elevator_next_state();
		mutex_unlock(&building.lock);

		switch (state) {
		case ELEVATOR_OFFLINE:
		case ELEVATOR_IDLE:
			/*
			 * Sleep until an ioctl sets building.wake (and calls
			 * wake_up()) or the module is unloaded. The condition
			 * is checked again after the thread is queued, so a
			 * wake-up between the unlock above and this line is
			 * not lost. It is read without the lock: taking a
			 * mutex (which may sleep) in a wait_event() condition
			 * is not allowed; a stale value only costs one more
			 * round of the loop, which re-reads it under the lock.
			 */
			wait_event_interruptible(elevator_wq,
						 READ_ONCE(building.wake) ||
						 kthread_should_stop());
			break;
		case ELEVATOR_LOADING:
			elevator_sleep(load_ms);
			break;
		case ELEVATOR_UP:
		case ELEVATOR_DOWN:
			elevator_sleep(floor_ms);
			mutex_lock(&building.lock);
			building.floor += building.direction;
			mutex_unlock(&building.lock);
			break;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * /dev/elevator: the ioctls.
 */

/* Caller holds building.lock. Tell the thread there is something new. */
static void elevator_kick(void)
{
	WRITE_ONCE(building.wake, true);
	wake_up_interruptible(&elevator_wq);
}

static long elevator_start(void)
{
	long ret = 0;

	mutex_lock(&building.lock);
	if (building.state != ELEVATOR_OFFLINE) {
		ret = -EALREADY;	/* running, or still stopping */
		goto out;
	}
	building.state = ELEVATOR_IDLE;
	elevator_kick();
out:
	mutex_unlock(&building.lock);
	return ret;
}

static long elevator_stop(void)
{
	long ret = 0;

	mutex_lock(&building.lock);
	if (building.state == ELEVATOR_OFFLINE || building.stopping) {
		ret = -EALREADY;
		goto out;
	}
	if (building.state == ELEVATOR_IDLE) {
		/* IDLE means no one on board: offline at once. */
		building.state = ELEVATOR_OFFLINE;
		goto out;
	}
	building.stopping = true;
	elevator_kick();
out:
	mutex_unlock(&building.lock);
	return ret;
}

static long elevator_request(const struct elevator_request __user *ureq)
{
	struct elevator_request req;
	struct passenger *p;
	long ret = 0;

	/*
	 * ureq is an address in the calling program's memory. The kernel
	 * must never dereference it: it may be unmapped (-EFAULT instead of
	 * an oops), paged out, or point into kernel memory on purpose.
	 * copy_from_user() checks the range and copies safely; it returns
	 * the number of bytes it could not copy. It may sleep (page fault),
	 * so it runs before the mutex is taken.
	 */
	if (copy_from_user(&req, ureq, sizeof(req))) {
		ret = -EFAULT;
		goto out;
	}
	if (req.start_floor < 1 || req.start_floor > ELEVATOR_FLOORS ||
	    req.dest_floor < 1 || req.dest_floor > ELEVATOR_FLOORS ||
	    req.start_floor == req.dest_floor ||
	    req.type < 0 || req.type >= ELEVATOR_NR_TYPES) {
		ret = -EINVAL;
		goto out;
	}
	p = kmalloc(sizeof(*p), GFP_KERNEL);
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	p->type = req.type;
	p->dest = req.dest_floor;

	mutex_lock(&building.lock);
	list_add_tail(&p->node, &building.waiting[req.start_floor - 1]);
	building.nr_waiting++;
	elevator_kick();
	mutex_unlock(&building.lock);
out:
	return ret;
}

static long elevator_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	switch (cmd) {
	case ELEVATOR_IOC_START:
		return elevator_start();
	case ELEVATOR_IOC_REQUEST:
		return elevator_request((const void __user *)arg);
	case ELEVATOR_IOC_STOP:
		return elevator_stop();
	default:
		/* "Inappropriate ioctl for device": the errno for unknown
		 * commands (not -EINVAL, which means a bad argument).
		 */
		return -ENOTTY;
	}
}

/*
 * .owner = THIS_MODULE makes every open() of /dev/elevator take a
 * reference on this module, dropped at the last close(). While the device
 * is open, rmmod fails with "Module elevator is in use", so no ioctl can
 * ever run in a module that is being unloaded.
 *
 * compat_ptr_ioctl: 32-bit programs on a 64-bit kernel pass the same
 * command numbers (struct elevator_request has the same layout for both)
 * and a 32-bit pointer, which compat_ptr_ioctl() widens.
 */
static const struct file_operations elevator_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= elevator_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/* ---------------------------------------------------------------------
 * /proc/elevator
 */

static void show_passenger(struct seq_file *m, const struct passenger *p)
{
	seq_printf(m, " %c%d", ELEVATOR_TYPE_LETTERS[p->type], p->dest);
}

/*
 * The whole text is printed by one call, under the lock, so it is a
 * consistent snapshot: the counts, the lists and the load all belong to
 * the same instant. seq_file keeps the text and hands it out in pieces to
 * readers with small buffers (e.g. dd bs=1), and if the text outgrows its
 * buffer it allocates a bigger one and calls this function again.
 */
static int elevator_proc_show(struct seq_file *m, void *unused)
{
	struct passenger *p;
	int f;

	mutex_lock(&building.lock);
	seq_printf(m, "Elevator state: %s\n", state_name[building.state]);
	seq_printf(m, "Current floor: %d\n", building.floor);
	seq_printf(m, "Current load: %u lbs\n", building.load);
	seq_puts(m, "Elevator status:");
	list_for_each_entry(p, &building.riders, node)
		show_passenger(m, p);
	seq_puts(m, "\n\n");

	for (f = ELEVATOR_FLOORS; f >= 1; f--) {
		unsigned int n = 0;

		list_for_each_entry(p, &building.waiting[f - 1], node)
			n++;
		seq_printf(m, "[%c] Floor %d: %u",
			   f == building.floor ? '*' : ' ', f, n);
		list_for_each_entry(p, &building.waiting[f - 1], node)
			show_passenger(m, p);
		seq_putc(m, '\n');
	}

	seq_printf(m, "\nNumber of passengers: %u\n", building.nr_riders);
	seq_printf(m, "Number of passengers waiting: %u\n", building.nr_waiting);
	seq_printf(m, "Number of passengers serviced: %u\n",
		   building.nr_serviced);
	mutex_unlock(&building.lock);
	return 0;
}

static int elevator_proc_open(struct inode *inode, struct file *file)
{
	return single_open(file, elevator_proc_show, NULL);
}

static const struct proc_ops elevator_proc_ops = {
	.proc_open	= elevator_proc_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= single_release,
};

/* ---------------------------------------------------------------------
 * Loading and unloading.
 */

/*
 * devtmpfs asks the class for the mode of each new device node; without
 * this, /dev/elevator would be 0600 (root only). Since 6.2 the callback
 * gets a const struct device *.
 *
 * checkpatch.pl warns about LINUX_VERSION_CODE because code inside the
 * kernel tree never needs it; a module built for several kernels does.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
static char *elevator_devnode(const struct device *dev, umode_t *mode)
#else
static char *elevator_devnode(struct device *dev, umode_t *mode)
#endif
{
	if (mode)
		*mode = ELEVATOR_DEV_MODE;
	return NULL;	/* keep the default name, /dev/elevator */
}

/*
 * Linux 6.4 dropped class_create()'s first argument, the owning module,
 * which the driver core never used.
 */
static struct class *elevator_class_create(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	return class_create(ELEVATOR_NAME);
#else
	return class_create(THIS_MODULE, ELEVATOR_NAME);
#endif
}

static void free_passengers(struct list_head *list)
{
	struct passenger *p, *next;

	list_for_each_entry_safe(p, next, list, node) {
		list_del(&p->node);
		kfree(p);
	}
}

static int __init elevator_mod_init(void)
{
	struct device *dev;
	int ret;
	int f;

	/* 0 ms would make the thread run without ever sleeping. */
	if (!floor_ms || !load_ms) {
		pr_info("floor_ms and load_ms must be at least 1, using 1\n");
		floor_ms = max(floor_ms, 1U);
		load_ms = max(load_ms, 1U);
	}

	mutex_init(&building.lock);
	building.state = ELEVATOR_OFFLINE;
	building.floor = 1;
	building.direction = 1;
	INIT_LIST_HEAD(&building.riders);
	for (f = 0; f < ELEVATOR_FLOORS; f++)
		INIT_LIST_HEAD(&building.waiting[f]);

	/*
	 * The thread first, the files last: when a program can reach the
	 * elevator, everything behind it is ready. kthread_run() creates the
	 * thread and wakes it; it returns an ERR_PTR() on failure, never
	 * NULL.
	 */
	elevator_thread = kthread_run(elevator_thread_fn, NULL, ELEVATOR_NAME);
	if (IS_ERR(elevator_thread)) {
		ret = PTR_ERR(elevator_thread);
		pr_err("cannot start the elevator thread (%d)\n", ret);
		goto out;
	}

	elevator_proc = proc_create(ELEVATOR_NAME, ELEVATOR_PROC_MODE, NULL,
				    &elevator_proc_ops);
	if (!elevator_proc) {
		ret = -ENOMEM;
		pr_err("cannot create %s\n", ELEVATOR_PROC_PATH);
		goto out_stop_thread;
	}

	/*
	 * A character device takes three steps: a device number (a free
	 * major, minor 0), the cdev that connects that number to our
	 * file_operations, and a class and device in the driver model,
	 * whose uevent makes devtmpfs (and udev) create /dev/elevator.
	 * cdev_add() makes the device live at once: open() can reach
	 * elevator_fops from that moment, so it comes after everything the
	 * ioctls use. elevator_cdev is static, so it lives as long as the
	 * module; cdev_del() only unhooks it.
	 */
	ret = alloc_chrdev_region(&elevator_devt, 0, 1, ELEVATOR_NAME);
	if (ret) {
		pr_err("cannot get a device number (%d)\n", ret);
		goto out_remove_proc;
	}
	cdev_init(&elevator_cdev, &elevator_fops);
	elevator_cdev.owner = THIS_MODULE;
	ret = cdev_add(&elevator_cdev, elevator_devt, 1);
	if (ret) {
		pr_err("cannot add the character device (%d)\n", ret);
		goto out_unregister;
	}

	elevator_class = elevator_class_create();
	if (IS_ERR(elevator_class)) {
		ret = PTR_ERR(elevator_class);
		pr_err("cannot create the device class (%d)\n", ret);
		goto out_del_cdev;
	}
	elevator_class->devnode = elevator_devnode;

	dev = device_create(elevator_class, NULL, elevator_devt, NULL,
			    ELEVATOR_NAME);
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		pr_err("cannot create %s (%d)\n", ELEVATOR_DEVICE_PATH, ret);
		goto out_destroy_class;
	}

	pr_info("%d floors, floor_ms=%u, load_ms=%u: %s and %s ready\n",
		ELEVATOR_FLOORS, floor_ms, load_ms, ELEVATOR_DEVICE_PATH,
		ELEVATOR_PROC_PATH);
	return 0;

	/* Each label undoes one step, in reverse order of the steps. */
out_destroy_class:
	class_destroy(elevator_class);
out_del_cdev:
	cdev_del(&elevator_cdev);
out_unregister:
	unregister_chrdev_region(elevator_devt, 1);
out_remove_proc:
	proc_remove(elevator_proc);
out_stop_thread:
	kthread_stop(elevator_thread);
out:
	mutex_destroy(&building.lock);
	return ret;
}

static void __exit elevator_mod_exit(void)
{
	int f;

	/*
	 * rmmod cannot get here while /dev/elevator is open (see
	 * elevator_fops.owner), so no ioctl is running; proc_remove() waits
	 * for readers of /proc/elevator still inside elevator_proc_show().
	 */
	device_destroy(elevator_class, elevator_devt);
	class_destroy(elevator_class);
	cdev_del(&elevator_cdev);
	unregister_chrdev_region(elevator_devt, 1);
	proc_remove(elevator_proc);

	/*
	 * Wakes the thread wherever it sleeps (idle, loading or moving) and
	 * waits for elevator_thread_fn() to return. The thread sleeps with
	 * the lock released, so it cannot be stopped while holding it.
	 */
	kthread_stop(elevator_thread);

	/* Nobody else is left to touch the lists: free whoever remains. */
	if (building.nr_riders || building.nr_waiting)
		pr_info("unloading with %u passenger(s) on board and %u waiting\n",
			building.nr_riders, building.nr_waiting);
	free_passengers(&building.riders);
	for (f = 0; f < ELEVATOR_FLOORS; f++)
		free_passengers(&building.waiting[f]);
	mutex_destroy(&building.lock);
	pr_info("unloaded\n");
}

module_init(elevator_mod_init);
module_exit(elevator_mod_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmod-course");
MODULE_DESCRIPTION("An elevator run by a kernel thread: /dev/elevator and /proc/elevator");
