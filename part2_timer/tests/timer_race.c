// SPDX-License-Identifier: GPL-2.0
/*
 * timer-race - read /proc/timer from two threads that interrupt each other
 * in the middle of their reads, and print every text read.
 *
 * usage: timer-race SECONDS STALLS
 *
 * First, STALLS times: thread "stalled" reads /proc/timer into a page that
 * is not in memory yet and registered with userfaultfd, so the module's
 * copy_to_user() stops on it, inside the module's read function, until
 * this program says so. While it waits, thread "between" makes a whole
 * read of its own. Then the page is filled in and "stalled" finishes. A
 * module that makes its text and then copies it out of a buffer that all
 * readers share hands "stalled" the text made for "between": every time,
 * not by luck. (If "between" cannot finish because the module holds a lock
 * over the copy, which is correct, it gets 0.3 s and then the page is
 * filled in anyway.)
 *
 * Then, for SECONDS:
 * Thread "plain" (normal priority) reads /proc/timer over and over: open,
 * read to end of file, close. Thread "sharp" (real-time priority,
 * SCHED_FIFO) sleeps a random 5..60 microseconds, reads once, and sleeps
 * again. When its sleep ends, the timer interrupt wakes it and, because it
 * outranks "plain", the kernel (booted with preempt=full) switches to it at
 * once, wherever "plain" happens to be: thousands of times a second, and so
 * often in the middle of the module's read function, between any two of its
 * lines that hold no lock. A module whose readers share a text buffer or the
 * previous read's time without a lock then shows it in what was read.
 * Race windows with no lock in them are found by construction, not by luck.
 *
 * Output (stdout): one line per read, "stalled TEXT", "between TEXT",
 * "plain TEXT" or "sharp TEXT", where
 * TEXT is what the read returned with '\n', '\\', '|' and every byte
 * outside printable ASCII written as \xHH, or "error ERRNO" if open() or
 * read() failed; then "reads PLAIN SHARP". Exit status 0; 2 on bad usage or
 * if a thread or userfaultfd cannot be set up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PROC_TIMER	"/proc/timer"
#define TEXT_MAX	256	/* a correct text is under 100 bytes */
#define MAX_READS	30000	/* per thread */

struct reading {
	int error;		/* errno of a failed open() or read(), or 0 */
	int len;
	char text[TEXT_MAX];
};

struct reader {
	const char *name;
	int sharp;		/* sleep a random while before each read */
	unsigned int count;
	struct reading *readings;
};

static atomic_int stop;

/*
 * One read of /proc/timer into buf (TEXT_MAX bytes): open, read until end
 * of file, close; the text is then copied into r.
 */
static void read_timer_into(struct reading *r, char *buf)
{
	ssize_t got;
	int fd;

	r->error = 0;
	r->len = 0;
	fd = open(PROC_TIMER, O_RDONLY);
	if (fd < 0) {
		r->error = errno;
		return;
	}
	while (r->len < TEXT_MAX) {
		got = read(fd, buf + r->len, TEXT_MAX - r->len);
		if (got < 0) {
			r->error = errno;
			break;
		}
		if (got == 0)
			break;
		r->len += got;
	}
	close(fd);
	if (buf != r->text)
		memcpy(r->text, buf, r->len);
}

static void read_timer(struct reading *r)
{
	read_timer_into(r, r->text);
}

/* A small xorshift generator: each thread has its own state. */
static uint32_t next_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

static void *run_reader(void *arg)
{
	struct reader *rd = arg;
	uint32_t seed = (uint32_t)time(NULL) | 1;
	struct timespec pause;

	while (!atomic_load(&stop) && rd->count < MAX_READS) {
		if (rd->sharp) {
			pause.tv_sec = 0;
			pause.tv_nsec = 5000 + next_random(&seed) % 55000;
			nanosleep(&pause, NULL);
		}
		read_timer(&rd->readings[rd->count++]);
	}
	return NULL;
}

struct stall {
	char *page;		/* registered with userfaultfd, not yet present */
	struct reading stalled, between;
	atomic_int stalled_done, between_done;
};

static void *run_stalled(void *arg)
{
	struct stall *st = arg;

	read_timer_into(&st->stalled, st->page);
	atomic_store(&st->stalled_done, 1);
	return NULL;
}

static void *run_between(void *arg)
{
	struct stall *st = arg;

	read_timer(&st->between);
	atomic_store(&st->between_done, 1);
	return NULL;
}

/* Fill in the missing page, which wakes the stalled copy_to_user(). */
static int fill_page(int uffd, char *page, long size, const char *zeros)
{
	struct uffdio_copy copy = {
		.dst = (unsigned long)page,
		.src = (unsigned long)zeros,
		.len = size,
	};

	if (ioctl(uffd, UFFDIO_COPY, &copy) && errno != EEXIST) {
		perror("timer-race: UFFDIO_COPY");
		return -1;
	}
	return 0;
}

/* One stalled read with a whole read in the middle; 0, or -1 on error. */
static int stall_once(int uffd, struct stall *st, long size, const char *zeros)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	pthread_t stalled, between;
	struct uffd_msg msg;
	int i, ret = 0;

	st->page = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st->page == MAP_FAILED) {
		perror("timer-race: mmap");
		return -1;
	}
	reg.range.start = (unsigned long)st->page;
	reg.range.len = size;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		perror("timer-race: UFFDIO_REGISTER");
		ret = -1;
		goto out_unmap;
	}
	atomic_store(&st->stalled_done, 0);
	atomic_store(&st->between_done, 0);
	if (pthread_create(&stalled, NULL, run_stalled, st)) {
		ret = -1;
		goto out_unmap;
	}
	/*
	 * The copy_to_user() of "stalled" faults on the page: wait for that,
	 * for at most 2 s, or until "stalled" is done without it (its open()
	 * or read() failed before copying anything).
	 */
	for (i = 0; i < 40 && !atomic_load(&st->stalled_done); i++)
		if (poll(&pfd, 1, 50) == 1)
			break;
	if (!atomic_load(&st->stalled_done) && poll(&pfd, 1, 0) == 1 &&
	    read(uffd, &msg, sizeof(msg)) == sizeof(msg)) {
		if (pthread_create(&between, NULL, run_between, st)) {
			fill_page(uffd, st->page, size, zeros);
			pthread_join(stalled, NULL);
			ret = -1;
			goto out_unmap;
		}
		for (i = 0; i < 30 && !atomic_load(&st->between_done); i++)
			usleep(10000);
		if (fill_page(uffd, st->page, size, zeros))
			ret = -1;
		pthread_join(between, NULL);
	} else {
		/* No fault: the module never copied to the page. */
		st->between.error = 0;
		st->between.len = -1;
		fill_page(uffd, st->page, size, zeros);
	}
	pthread_join(stalled, NULL);
out_unmap:
	munmap(st->page, size);
	return ret;
}

static void print_reading(const char *name, const struct reading *r)
{
	int i;

	if (r->error) {
		printf("%s error %d\n", name, r->error);
		return;
	}
	if (r->len < 0)
		return;		/* never made */
	printf("%s ", name);
	for (i = 0; i < r->len; i++) {
		unsigned char c = r->text[i];

		if (c < 0x20 || c > 0x7e || c == '\\' || c == '|')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('\n');
}

static int start(pthread_t *thread, struct reader *rd, int policy, int priority)
{
	struct sched_param param = { .sched_priority = priority };
	pthread_attr_t attr;
	int err;

	rd->readings = calloc(MAX_READS, sizeof(*rd->readings));
	if (!rd->readings) {
		fprintf(stderr, "timer-race: out of memory\n");
		return -1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, policy);
	pthread_attr_setschedparam(&attr, &param);
	err = pthread_create(thread, &attr, run_reader, rd);
	pthread_attr_destroy(&attr);
	if (err) {
		fprintf(stderr, "timer-race: cannot start thread %s: %s\n",
			rd->name, strerror(err));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct reader plain = { .name = "plain" }, sharp = { .name = "sharp", .sharp = 1 };
	pthread_t plain_thread, sharp_thread;
	struct timespec duration = { 0 };
	long page_size = sysconf(_SC_PAGESIZE);
	struct stall *stalls;
	char *zeros;
	cpu_set_t cpu0;
	unsigned int i;
	int uffd, n_stalls, status = 2;
	double seconds;

	if (argc != 3 || (seconds = atof(argv[1])) <= 0 || seconds > 60 ||
	    (n_stalls = atoi(argv[2])) < 0 || n_stalls > 1000) {
		fprintf(stderr, "usage: timer-race SECONDS STALLS (0 < SECONDS <= 60, 0 <= STALLS <= 1000)\n");
		return 2;
	}

	stalls = calloc(n_stalls + 1, sizeof(*stalls));
	zeros = calloc(1, page_size);
	if (!stalls || !zeros) {
		fprintf(stderr, "timer-race: out of memory\n");
		goto out;
	}
	if (n_stalls) {
		struct uffdio_api api = { .api = UFFD_API };

		/* Kernel-mode faults need CAP_SYS_PTRACE: run as root. */
		uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
			perror("timer-race: userfaultfd");
			goto out;
		}
		for (i = 0; i < (unsigned int)n_stalls; i++)
			if (stall_once(uffd, &stalls[i], page_size, zeros))
				goto out;
		close(uffd);
	}
	/* Both threads on one CPU, so that one can only run by preempting the other. */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (sched_setaffinity(0, sizeof(cpu0), &cpu0))
		perror("timer-race: sched_setaffinity (going on)");

	if (start(&plain_thread, &plain, SCHED_OTHER, 0))
		goto out;
	if (start(&sharp_thread, &sharp, SCHED_FIFO, 1)) {
		atomic_store(&stop, 1);
		pthread_join(plain_thread, NULL);
		goto out;
	}
	duration.tv_sec = (time_t)seconds;
	duration.tv_nsec = (long)((seconds - (double)duration.tv_sec) * 1e9);
	nanosleep(&duration, NULL);
	atomic_store(&stop, 1);
	pthread_join(sharp_thread, NULL);
	pthread_join(plain_thread, NULL);

	for (i = 0; i < (unsigned int)n_stalls; i++) {
		print_reading("stalled", &stalls[i].stalled);
		print_reading("between", &stalls[i].between);
	}
	for (i = 0; i < plain.count; i++)
		print_reading(plain.name, &plain.readings[i]);
	for (i = 0; i < sharp.count; i++)
		print_reading(sharp.name, &sharp.readings[i]);
	printf("reads %u %u\n", plain.count, sharp.count);
	status = 0;
out:
	free(plain.readings);
	free(sharp.readings);
	free(stalls);
	free(zeros);
	return status;
}
