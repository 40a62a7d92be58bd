// SPDX-License-Identifier: GPL-2.0
/*
 * my_timer - reference solution for part 2 of kmod-course.
 *
 * Creates /proc/timer. Every read prints the current wall-clock time;
 * every read but the first one after loading also prints the time elapsed
 * since the previous read:
 *
 *	current time: 1700000123.004005006
 *	elapsed time: 2.500000000
 *
 * The entry is removed when the module is unloaded.
 */

/* Prefix every pr_*() message with the module name, "my_timer: ". */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/time64.h>
#include <linux/timekeeping.h>
#include <linux/types.h>
#include <linux/version.h>

#define TIMER_ENTRY_NAME	"timer"
#define TIMER_ENTRY_MODE	0444	/* all may read, none may write */

/*
 * The text is two lines of at most 45 characters each: "elapsed time: ",
 * a sign, 19 digits, '.', 9 digits, '\n'. scnprintf() never writes past
 * the end of the buffer anyway.
 */
#define TIMER_TEXT_LEN		128

static struct proc_dir_entry *timer_entry;

/*
 * State shared by all readers: the time printed by the previous read, and
 * whether there was a previous read at all. Two processes may read
 * /proc/timer at the same moment, and each read both uses and updates this
 * state, so it is guarded by a lock. A spinlock suffices: the critical
 * section is a few instructions and never sleeps.
 */
static DEFINE_SPINLOCK(timer_lock);
static struct timespec64 timer_last_read;
static bool timer_read_before;

/*
 * One snapshot of the text, private to one open file (file->private_data).
 *
 * The text must not be generated anew on every read() call: a reader may
 * fetch it in many small pieces (dd bs=1 calls read() once per byte), and
 * all pieces must come from the same text, which must count as a single
 * read of the timer. It must not live in a global buffer either, or one
 * reader could overwrite the text another is still reading. So each open
 * file gets its own buffer, allocated in open() and freed in release().
 *
 * The mutex only matters if threads share one open file and use pread(),
 * which (unlike read()) the VFS does not serialise per file.
 */
struct timer_snapshot {
	struct mutex lock;	/* guards len and text */
	size_t len;		/* bytes of text in use */
	char text[TIMER_TEXT_LEN];
};

/* Print ts as SECONDS.NANOSECONDS, nanoseconds always nine digits. */
static int timer_print(char *buf, size_t size, const char *label,
		       struct timespec64 ts)
{
	const char *sign = "";

	/*
	 * The wall clock can be set back (e.g. by NTP), which makes an
	 * elapsed time negative. timespec64_sub() then returns e.g.
	 * { -1, 500000000 } for -0.5 s; print that as -0.500000000.
	 */
	if (ts.tv_sec < 0) {
		sign = "-";
		ts = timespec64_sub((struct timespec64){ 0 }, ts);
	}
	return scnprintf(buf, size, "%s time: %s%lld.%09ld\n",
			 label, sign, ts.tv_sec, ts.tv_nsec);
}

/* Take one reading of the timer and format it into snap->text. */
static void timer_take_snapshot(struct timer_snapshot *snap)
{
	struct timespec64 now, prev;
	bool have_prev;
	size_t len;

	/*
	 * Read the clock inside the lock so that "the previous read" is well
	 * defined: readers are ordered by who takes the lock first.
	 */
	spin_lock(&timer_lock);
	ktime_get_real_ts64(&now);
	prev = timer_last_read;
	have_prev = timer_read_before;
	timer_last_read = now;
	timer_read_before = true;
	spin_unlock(&timer_lock);

	/*
	 * No floating point in the kernel: timespec64_sub() subtracts the two
	 * timestamps exactly, so the elapsed time is precisely the difference
	 * of the two printed current times.
	 */
	len = timer_print(snap->text, sizeof(snap->text), "current", now);
	if (have_prev)
		len += timer_print(snap->text + len, sizeof(snap->text) - len,
				   "elapsed", timespec64_sub(now, prev));
	snap->len = len;
}

static int timer_open(struct inode *inode, struct file *file)
{
	struct timer_snapshot *snap;

	snap = kzalloc(sizeof(*snap), GFP_KERNEL);
	if (!snap)
		return -ENOMEM;
	mutex_init(&snap->lock);
	file->private_data = snap;
	return 0;
}

/*
 * *ppos is this open file's offset: how many bytes the reader has already
 * received. It is 0 on the first read() after open() (or after an lseek()
 * back to the start), and that is when one snapshot is taken. Later calls
 * hand out the rest of the same snapshot.
 *
 * simple_read_from_buffer() copies min(count, len - *ppos) bytes from
 * text + *ppos to the user with copy_to_user(), advances *ppos by that
 * much, and returns the number of bytes copied: 0 once *ppos reaches len,
 * which tells the reader it is at end of file, or -EFAULT for a bad user
 * pointer.
 *
 * Never return 0 just because count is smaller than the text: 0 means end
 * of file, so a reader with a small buffer would see an empty file instead
 * of getting the text in pieces.
 */
static ssize_t timer_read(struct file *file, char __user *ubuf, size_t count,
			  loff_t *ppos)
{
	struct timer_snapshot *snap = file->private_data;
	ssize_t ret;

	mutex_lock(&snap->lock);
	if (*ppos == 0)
		timer_take_snapshot(snap);
	ret = simple_read_from_buffer(ubuf, count, ppos, snap->text, snap->len);
	mutex_unlock(&snap->lock);
	return ret;
}

/*
 * Called on the last close() of the file. If the module is unloaded while
 * the file is still open, proc_remove() calls this for us, so the
 * snapshot is freed on every path.
 */
static int timer_release(struct inode *inode, struct file *file)
{
	struct timer_snapshot *snap = file->private_data;

	mutex_destroy(&snap->lock);
	kfree(snap);
	return 0;
}

/*
 * Kernels before 5.6 described /proc files with struct file_operations.
 * checkpatch.pl warns about LINUX_VERSION_CODE because code inside the
 * kernel tree never needs it; a module built for several kernels does.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 6, 0)
static const struct proc_ops timer_proc_ops = {
	.proc_open	= timer_open,
	.proc_read	= timer_read,
	.proc_lseek	= default_llseek,
	.proc_release	= timer_release,
};
#else
static const struct file_operations timer_proc_ops = {
	.owner		= THIS_MODULE,
	.open		= timer_open,
	.read		= timer_read,
	.llseek		= default_llseek,
	.release	= timer_release,
};
#endif

static int __init my_timer_init(void)
{
	int ret = 0;

	timer_entry = proc_create(TIMER_ENTRY_NAME, TIMER_ENTRY_MODE, NULL,
				  &timer_proc_ops);
	if (!timer_entry) {
		pr_err("cannot create /proc/%s\n", TIMER_ENTRY_NAME);
		ret = -ENOMEM;
		goto out;
	}
	pr_info("created /proc/%s\n", TIMER_ENTRY_NAME);
out:
	return ret;
}

static void __exit my_timer_exit(void)
{
	/*
	 * Unlinks the entry, waits for reads still running and releases
	 * files still open (see timer_release()).
	 */
	proc_remove(timer_entry);
	pr_info("removed /proc/%s\n", TIMER_ENTRY_NAME);
}

module_init(my_timer_init);
module_exit(my_timer_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmod-course");
MODULE_DESCRIPTION("/proc/timer: current time and time since the last read");
