/*
 * part1.c - Part 1 of kmod-course: make exactly EXTRA_SYSCALLS more system
 * calls than empty.c.
 *
 * EXTRA_SYSCALLS is 5 unless the course sets another number: the Makefile
 * passes the course's value with -DEXTRA_SYSCALLS=N. Use the macro rather
 * than writing the number 5 into your code.
 *
 * As it stands, this file makes no extra system call: its trace has the same
 * number of calls as empty.trace. Your job is to change that.
 */

#include <unistd.h>

#ifndef EXTRA_SYSCALLS
#define EXTRA_SYSCALLS 5
#endif

int main(void)
{
	/*
	 * TODO: make exactly EXTRA_SYSCALLS more system calls than empty.c.
	 *
	 * Everything empty.c does (starting up, loading the C library,
	 * exit_group() at the end) happens here too, so only what you add in
	 * main() makes the difference. Choose calls whose effect you can
	 * predict:
	 *
	 *  - getpid() and getppid() make one system call each, every time.
	 *    (glibc cached getpid()'s result before version 2.25; it no
	 *    longer does.)
	 *  - write(1, "hi\n", 3) writes straight to standard output with
	 *    exactly one write() system call.
	 *  - Not every library function reaches the kernel: time(),
	 *    gettimeofday() and clock_gettime() are usually answered in user
	 *    space (by the vDSO) and do not appear in strace at all.
	 *  - printf() and puts() buffer their output: several printf() calls
	 *    may end up as a single write(), made only when the program exits
	 *    (or when the buffer fills; on a terminal, at every newline, but
	 *    not when the output goes to a file or a pipe). The first use of
	 *    stdout also makes calls of its own: newfstatat() (fstat) on
	 *    stdout, sometimes ioctl(), and getrandom() and brk() to allocate
	 *    the buffer. So the count of a printf() program changes with where
	 *    its output goes. Avoid stdio here, or count very carefully.
	 *
	 * Keep the program harmless: no fork(), no files, no endless output;
	 * it must return 0 promptly.
	 *
	 * Check your count after every change:
	 *     make count                 (builds, traces, counts, compares)
	 *     strace -c ./part1          (a summary table: calls per name;
	 *                                 its total leaves out exit_group(),
	 *                                 which never returns)
	 *     make diff                  (the two traces side by side)
	 */

	return 0;
}
