// SPDX-License-Identifier: GPL-2.0
/*
 * elevator-ctl - drive the elevator of /dev/elevator from the shell
 * (kmod-course, part 3). Given to you complete.
 *
 *	elevator-ctl start
 *	elevator-ctl stop
 *	elevator-ctl request START_FLOOR DEST_FLOOR TYPE
 *
 * TYPE is a type code 0..3 or its letter: P (part-timer), L (lawyer),
 * B (boss), V (visitor). Floors and codes are passed to the module as they
 * are, even out of range, so that you can watch it reject them.
 *
 * Prints nothing on success and exits 0. When the module refuses, prints
 * the reason (e.g. "elevator-ctl: request 0 3 1: Invalid argument") and
 * exits 1; a wrong command line exits 2.
 */
/* POSIX functions (open, ioctl, getopt, nanosleep) also with -std=c11. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libelevator.h"

static const char *prog = "elevator-ctl";

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: %s start\n"
		"       %s stop\n"
		"       %s request START_FLOOR DEST_FLOOR TYPE\n"
		"floors are 1..%d; TYPE is 0..%d or one of the letters %s\n"
		"(P part-timer, L lawyer, B boss, V visitor)\n",
		prog, prog, prog, ELEVATOR_FLOORS, ELEVATOR_NR_TYPES - 1,
		ELEVATOR_TYPE_LETTERS);
	exit(2);
}

/* A whole decimal integer that fits an int, or exit with usage. */
static int parse_int(const char *what, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno || v < INT_MIN || v > INT_MAX) {
		fprintf(stderr, "%s: %s is not a number: '%s'\n", prog, what, s);
		usage();
	}
	return (int)v;
}

/* A type letter (either case) or a number. */
static int parse_type(const char *s)
{
	const char *letter;

	if (s[0] != '\0' && s[1] == '\0') {
		letter = strchr(ELEVATOR_TYPE_LETTERS,
				s[0] >= 'a' && s[0] <= 'z' ? s[0] - 'a' + 'A' : s[0]);
		if (letter)
			return (int)(letter - ELEVATOR_TYPE_LETTERS);
	}
	return parse_int("TYPE", s);
}

int main(int argc, char **argv)
{
	enum { CMD_START, CMD_STOP, CMD_REQUEST } cmd;
	int start_floor = 0, dest_floor = 0, type = 0;
	char what[64];
	int fd, ret;

	if (argc == 2 && strcmp(argv[1], "start") == 0) {
		cmd = CMD_START;
		snprintf(what, sizeof(what), "start");
	} else if (argc == 2 && strcmp(argv[1], "stop") == 0) {
		cmd = CMD_STOP;
		snprintf(what, sizeof(what), "stop");
	} else if (argc == 5 && strcmp(argv[1], "request") == 0) {
		cmd = CMD_REQUEST;
		start_floor = parse_int("START_FLOOR", argv[2]);
		dest_floor = parse_int("DEST_FLOOR", argv[3]);
		type = parse_type(argv[4]);
		snprintf(what, sizeof(what), "request %d %d %d",
			 start_floor, dest_floor, type);
	} else {
		usage();
	}

	fd = elevator_open();
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open %s: %s%s\n", prog,
			ELEVATOR_DEVICE_PATH, strerror(-fd),
			fd == -ENOENT ? " (is the elevator module loaded?)" : "");
		return 1;
	}
	switch (cmd) {
	case CMD_START:
		ret = elevator_start(fd);
		break;
	case CMD_STOP:
		ret = elevator_stop(fd);
		break;
	default:
		ret = elevator_request(fd, start_floor, dest_floor, type);
		break;
	}
	close(fd);

	if (ret < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(-ret));
		return 1;
	}
	return 0;
}
