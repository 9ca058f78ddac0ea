/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What aio-syslet-stress and aio-syslet-microbench do the same way:
 * "PROG: MESSAGE" errors (exit 2 with a --help hint for a usage error, 1
 * otherwise), the numbers of their options, the clock and I/O buffers.
 * Each tool defines tool_name, the PROG of its messages.
 */
#ifndef AIO_SYSLET_TOOL_H
#define AIO_SYSLET_TOOL_H

#include <stddef.h>
#include <stdint.h>

#define EXIT_USAGE	2

extern const char tool_name[];

void usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* A size with an optional k/m/g suffix (powers of 1024); @name is the option. */
uint64_t parse_size(const char *name, const char *s);
/* A whole number from @min to @max; @name is the option. */
unsigned int parse_uint(const char *name, const char *s, unsigned int min, unsigned int max);
/* CLOCK_MONOTONIC in nanoseconds. */
long long now_ns(void);
/* @len zeroed bytes aligned for O_DIRECT (4096); exits when out of memory. */
void *alloc_buf(size_t len);

#endif
