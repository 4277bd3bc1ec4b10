/*
 * The rules engine's own small helpers -- allocation that ends the process
 * when memory cannot be had, string copies, reading the rule file -- so
 * that, like any engine, it uses nothing of the daemon's but engine.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "rules.h"

/* Where a fatal error is told: the daemon's log once an engine started. */
static void (*fatal_log)(int, const char *, ...);

void
rules_set_log(void (*log)(int, const char *, ...))
{
	fatal_log = log;
}

static void
out_of_memory(size_t n)
{
	if (fatal_log != NULL)
		fatal_log(LOG_CRIT, "rules engine: out of memory (%zu bytes)",
		    n);
	else
		fprintf(stderr, "rules engine: out of memory (%zu bytes)\n",
		    n);
	exit(EXIT_FAILURE);
}

void *
rules_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		out_of_memory(n);
	return p;
}

void *
rules_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		out_of_memory(nmemb * size);
	return p;
}

void *
rules_xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		out_of_memory(n);
	return p;
}

char *
rules_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(rules_xmalloc(n), s, n);
}

size_t
rules_strlcpy(char *dst, const char *src, size_t n)
{
	size_t len = strlen(src);

	if (n > 0) {
		size_t c = len < n - 1 ? len : n - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return len;
}

int
rules_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *
rules_read_file(const char *path, size_t max, size_t *lenp, char *err,
    size_t errlen)
{
	size_t cap = 8192, len = 0;
	struct stat st;
	char *buf = NULL;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (unsigned long long)st.st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	buf = rules_xmalloc(cap);
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {	/* room for the NUL */
			if (len > max)
				break;
			cap *= 2;
			buf = rules_xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}
