/*
 * part1.c - reference solution for Part 1 of kmod-course.
 *
 * Makes exactly EXTRA_SYSCALLS more system calls than empty.c, for any
 * EXTRA_SYSCALLS >= 0 (the Makefile passes the course's value with
 * -DEXTRA_SYSCALLS=N; without it the count is 5).
 *
 * Each extra call is getppid():
 *  - glibc's getppid() is a thin wrapper: every call enters the kernel
 *    exactly once. The C library never caches its result, the vDSO does not
 *    provide it, and the compiler cannot drop or merge the calls, because
 *    nothing tells it that getppid() has no side effects. So the count holds
 *    at any optimisation level.
 *  - It cannot fail, needs no file descriptor, prints nothing and changes
 *    nothing, so the rest of the trace is identical to empty.trace.
 *  - Nothing else in main() uses the C library, so no hidden calls (such as
 *    the newfstatat() and brk() of a first printf()) creep in.
 *
 * The trace of this program is the trace of empty.c with EXTRA_SYSCALLS
 * getppid() lines just before the final exit_group().
 */

#include <unistd.h>

#ifndef EXTRA_SYSCALLS
#define EXTRA_SYSCALLS 5
#endif

_Static_assert(EXTRA_SYSCALLS >= 0, "EXTRA_SYSCALLS must not be negative");

int main(void)
{
	for (int i = 0; i < EXTRA_SYSCALLS; i++)
		(void)getppid();	/* one getppid() system call */

	return 0;
}
