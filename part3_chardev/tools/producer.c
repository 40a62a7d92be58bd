// SPDX-License-Identifier: GPL-2.0
/*
 * producer - issue a seeded series of random, valid passenger requests to
 * /dev/elevator (kmod-course, part 3). Given to you complete.
 *
 *	producer -n COUNT [-s SEED] [-d DELAY_MS]
 *
 * Issues COUNT requests (ELEVATOR_IOC_REQUEST), waiting DELAY_MS
 * milliseconds (default 0) after each one, and prints each request as it
 * is accepted, one per line:
 *
 *	request START_FLOOR DEST_FLOOR TYPE
 *
 * The same SEED (default 1) gives the same requests on every machine: the
 * numbers come from this program's own generator, not from rand(), whose
 * sequence differs between C libraries. The generator is the 64-bit linear
 * congruential generator of Knuth's MMIX; in Python:
 *
 *	state = SEED
 *	def draw():
 *	    global state
 *	    state = (state * 6364136223846793005
 *	             + 1442695040888963407) % 2**64
 *	    return state >> 33
 *
 * and each request draws, in this order,
 *
 *	start = 1 + draw() % FLOORS
 *	dest  = 1 + draw() % (FLOORS - 1); dest += 1 if dest >= start
 *	type  = draw() % 4
 *
 * with FLOORS = ELEVATOR_FLOORS (course.conf's PART3_FLOORS).
 *
 * Exits 0 when every request was accepted; otherwise prints the reason
 * and exits 1 at the first refusal (2 for a wrong command line).
 */
/* POSIX functions (open, ioctl, getopt, nanosleep) also with -std=c11. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libelevator.h"

static const char *prog = "producer";

static uint64_t rng_state;

static uint32_t draw(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33);
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: %s -n COUNT [-s SEED] [-d DELAY_MS]\n", prog);
	exit(2);
}

/* A whole non-negative decimal number no larger than max, or usage. */
static unsigned long long parse_number(char opt, const char *s,
				       unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno || v > max) {
		fprintf(stderr, "%s: -%c needs a number from 0 to %llu, not '%s'\n",
			prog, opt, max, s);
		usage();
	}
	return v;
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	/* Sleep the rest of the time after an interrupting signal. */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	unsigned long count = 0, delay_ms = 0, i;
	int have_count = 0;
	int fd, opt, ret = 0;

	rng_state = 1;
	while ((opt = getopt(argc, argv, "n:s:d:")) != -1) {
		switch (opt) {
		case 'n':
			count = parse_number('n', optarg, 1000000000ULL);
			have_count = 1;
			break;
		case 's':
			rng_state = parse_number('s', optarg, UINT64_MAX);
			break;
		case 'd':
			delay_ms = parse_number('d', optarg, 86400000ULL);
			break;
		default:
			usage();
		}
	}
	if (!have_count || optind != argc)
		usage();
	if (ELEVATOR_FLOORS < 2) {
		fprintf(stderr, "%s: a building of %d floor(s) has no valid request\n",
			prog, ELEVATOR_FLOORS);
		return 1;
	}

	fd = elevator_open();
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open %s: %s%s\n", prog,
			ELEVATOR_DEVICE_PATH, strerror(-fd),
			fd == -ENOENT ? " (is the elevator module loaded?)" : "");
		return 1;
	}

	for (i = 0; i < count; i++) {
		int start = 1 + (int)(draw() % ELEVATOR_FLOORS);
		int dest = 1 + (int)(draw() % (ELEVATOR_FLOORS - 1));
		int type = (int)(draw() % ELEVATOR_NR_TYPES);

		if (dest >= start)
			dest++;
		ret = elevator_request(fd, start, dest, type);
		if (ret < 0) {
			fprintf(stderr, "%s: request %d %d %d: %s\n", prog,
				start, dest, type, strerror(-ret));
			break;
		}
		/* One line at a time, even into a pipe: someone may watch. */
		printf("request %d %d %d\n", start, dest, type);
		fflush(stdout);
		if (delay_ms && i + 1 < count)
			sleep_ms(delay_ms);
	}
	close(fd);
	return ret < 0 ? 1 : 0;
}
