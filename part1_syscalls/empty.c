/*
 * empty.c - Part 1 of kmod-course: the baseline program.
 *
 * It does nothing at all. Even so, `strace ./empty` shows a few dozen system
 * calls: they are made by the kernel's execve() and by the dynamic loader and
 * the C library while they start the program and end it (loading libc.so,
 * setting up memory and thread-local storage, and finally exit_group()).
 * part1.c is compared with this program, so keep it exactly as it is.
 */

int main(void)
{
	return 0;
}
