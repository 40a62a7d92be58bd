// SPDX-License-Identifier: GPL-2.0
/*
 * my_timer - part 2 of kmod-course: the /proc/timer kernel module.
 *
 * This skeleton builds, loads and unloads, but does nothing useful yet.
 * Read the part 2 handout for the exact output required, and the
 * chapter "The /proc File System" of The Linux Kernel Module Programming
 * Guide (https://sysprog21.github.io/lkmpg/) for worked examples.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
/*
 * TODO: you will also need headers such as <linux/fs.h>,
 * <linux/timekeeping.h>, <linux/time64.h>, <linux/uaccess.h>,
 * <linux/slab.h> and <linux/mutex.h> or <linux/spinlock.h>.
 */

/*
 * TODO: keep the struct proc_dir_entry * returned by proc_create(), the
 * time of the previous read (struct timespec64) and whether there was one,
 * and a lock (mutex or spinlock) guarding them: readers can run at once.
 */

/*
 * TODO: write the .proc_read handler:
 *	ssize_t f(struct file *file, char __user *ubuf, size_t count,
 *		  loff_t *ppos);
 * - when *ppos == 0, take one snapshot: ktime_get_real_ts64() gives the
 *   current time; timespec64_sub() gives the time since the previous
 *   read (no floating point). Print with "%lld.%09ld".
 * - hand the text out with simple_read_from_buffer() (or copy_to_user()
 *   and update *ppos yourself); return 0 only at end of file, never just
 *   because count is smaller than the text.
 * - keep the text per open file (.proc_open / .proc_release and
 *   file->private_data) so that small reads all see the same snapshot.
 * Then fill in a struct proc_ops with .proc_read (and .proc_open,
 * .proc_release, .proc_lseek = default_llseek).
 */

static int __init my_timer_init(void)
{
	/* TODO: proc_create("timer", 0444, NULL, &your_proc_ops); on NULL,
	 * pr_err() and return -ENOMEM.
	 */
	pr_info("loaded\n");
	return 0;
}

static void __exit my_timer_exit(void)
{
	/* TODO: proc_remove() the entry, and free anything still allocated. */
	pr_info("unloaded\n");
}

module_init(my_timer_init);
module_exit(my_timer_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmod-course");
MODULE_DESCRIPTION("/proc/timer: current time and time since the last read");
