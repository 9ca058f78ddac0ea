/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What aio-syslet-stress and aio-syslet-microbench say and parse the same
 * way: "PROG: MESSAGE" errors (exit 2 with a --help hint for a usage
 * error, 1 otherwise) and the numbers of their options.  Each tool
 * defines tool_name, the PROG of its messages.
 */
#ifndef AIO_SYSLET_CLI_H
#define AIO_SYSLET_CLI_H

#include <stdint.h>

#define EXIT_USAGE	2

extern const char tool_name[];

void usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* A size with an optional k/m/g suffix (powers of 1024); @name is the option. */
uint64_t parse_size(const char *name, const char *s);
/* A whole number from @min to @max; @name is the option. */
unsigned int parse_uint(const char *name, const char *s, unsigned int min, unsigned int max);

#endif
