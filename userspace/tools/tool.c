// SPDX-License-Identifier: GPL-2.0-or-later
/* What the tools share (tool.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

/* "PROG: MESSAGE", then exit with @status (the usage hint for EXIT_USAGE). */
static void vdie(int status, const char *fmt, va_list ap) __attribute__((noreturn, format(printf, 2, 0)));
static void vdie(int status, const char *fmt, va_list ap)
{
	/* What the tool printed so far comes before the error. */
	fflush(stdout);
	fprintf(stderr, "%s: ", tool_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (status == EXIT_USAGE)
		fprintf(stderr, "Try '%s --help'.\n", tool_name);
	exit(status);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(EXIT_USAGE, fmt, ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(1, fmt, ap);
}

uint64_t parse_size(const char *name, const char *s)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		usage_error("%s: '%s' is not a size (a number, optionally with k, m or g)", name, s);
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end)
		usage_error("%s: '%s' is not a size (a number, optionally with k, m or g)", name, s);
	if (v > (UINT64_MAX >> shift))
		usage_error("%s: '%s' is too large", name, s);
	return (uint64_t)v << shift;
}

unsigned int parse_uint(const char *name, const char *s, unsigned int min, unsigned int max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		usage_error("%s: '%s' is not a number", name, s);
	if (v < min || v > max)
		usage_error("%s: %lu is out of range (%u to %u)", name, v, min, max);
	return v;
}

long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void *alloc_buf(size_t len)
{
	void *p;

	if (posix_memalign(&p, 4096, len))
		fatal("out of memory for %zu bytes of buffers", len);
	memset(p, 0, len);
	return p;
}
