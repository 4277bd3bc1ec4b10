/*
 * Message buffer in wire form.  Growth doubles the allocation so appends
 * are amortised O(1); the first allocation is sized from the expected
 * message size, up to WIREBUF_FIRST_MAX, so most messages never grow and
 * a client's SIZE= cannot make us reserve what it never sends.  Past the
 * threshold the message moves to an unlinked spill file.  An allocation
 * that fails is that message's error (ENOMEM), never the daemon's end.
 * Buffers of 128 KiB to 4 MiB come from the recycler (recycle.h), rounded
 * up to its sizes: their pages are reused, not mapped afresh.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "recycle.h"
#include "util.h"
#include "wirebuf.h"

/*
 * Room for more bytes: 0, or -1 with error ENOMEM and the memory given
 * back (the message is not stored; it will get a tempfail).
 */
static int
reserve(struct wirebuf *wb, size_t more)
{
	size_t need = wb->len + more;
	size_t cap = wb->cap ? wb->cap : need > 4096 ? need : 4096;
	unsigned char *p = NULL;

	if (need <= wb->cap && need >= more)
		return 0;
	if (need >= more) {
		while (cap < need)
			cap = cap * 2 > cap ? cap * 2 : need;
		if (need >= RECYCLE_MIN && need <= RECYCLE_MAX)
			cap = need;	/* its sizes double already */
		p = recycle_realloc(wb->data, wb->len, wb->cap, cap, &cap);
		if (p == NULL && cap > need)	/* doubling was too much */
			p = recycle_realloc(wb->data, wb->len, wb->cap, need,
			    &cap);
	}
	if (p == NULL) {
		recycle_free(wb->data, wb->cap);
		wb->data = NULL;
		wb->len = wb->cap = 0;
		wb->error = ENOMEM;
		return -1;
	}
	wb->data = p;
	wb->cap = cap;
	return 0;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* An unlinked 0600 file in dir: O_TMPFILE, or a named one unlinked at once. */
static int
spill_open(const char *dir)
{
	char *path;
	int fd;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL))
		return fd;
#endif
	path = xasprintf("%s/msg.XXXXXX", dir);
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0 && unlink(path) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		fd = -1;
	}
	free(path);
	return fd;
}

/* Moves what is in memory to a spill file; on failure records errno. */
static void
spill(struct wirebuf *wb)
{
	if (wb->opts.spool == NULL) {
		wb->error = ENOENT;
		return;
	}
	if ((wb->fd = spill_open(wb->opts.spool)) < 0) {
		wb->error = errno ? errno : EIO;
		return;
	}
	wb->spilled = 1;
	if (write_all(wb->fd, wb->data, wb->len) < 0) {
		wb->error = errno ? errno : EIO;
		return;
	}
	recycle_free(wb->data, wb->cap);
	wb->data = NULL;
	wb->cap = 0;
}

static void
store(struct wirebuf *wb, const void *p, size_t n)
{
	/* the threshold counts message bytes, not the envelope line */
	if (!wb->spilled && wb->opts.threshold > 0 &&
	    wb->received > wb->opts.threshold)
		spill(wb);
	if (wb->error)
		return;
	if (wb->spilled) {
		if (write_all(wb->fd, p, n) < 0) {
			wb->error = errno ? errno : EIO;
			return;
		}
	} else {
		if (reserve(wb, n) < 0)
			return;
		memcpy(wb->data + wb->len, p, n);
	}
	wb->len += n;
}

void
wirebuf_append(struct wirebuf *wb, const void *p, size_t n)
{
	if (n == 0)
		return;
	wb->received += n;
	if (wb->opts.limit > 0 && wb->received > wb->opts.limit)
		wb->oversize = 1;
	if (wb->oversize || wb->error)
		return;		/* not scanned: keep nothing more */
	store(wb, p, n);
}

void
wirebuf_begin(struct wirebuf *wb, const char *sender, size_t expect,
    const struct wirebuf_opts *opts)
{
	static const struct wirebuf_opts memory = { .in_memory = 1 };
	char line[1100];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	wirebuf_free(wb);
	wb->opts = opts ? *opts : memory;
	if (wb->opts.threshold > 0 && expect > wb->opts.threshold)
		expect = wb->opts.threshold;
	if (expect > WIREBUF_FIRST_MAX)
		expect = WIREBUF_FIRST_MAX;
	if (wb->opts.in_memory &&
	    reserve(wb, expect + wb->opts.padding + sizeof(line)) < 0)
		return;
	if (wb->opts.no_envelope) {
		if (!wb->opts.in_memory)
			spill(wb);
		return;
	}
	if (sender == NULL || *sender == '\0' || strcmp(sender, "<>") == 0)
		sender = "MAILER-DAEMON";
	gmtime_r(&now, &tm);
	/* The envelope sender may hold spaces or controls: keep it one word. */
	n = snprintf(line, sizeof(line), "From ");
	for (const char *s = sender; *s && n < 1000; s++)
		if (*s != '<' && *s != '>')
			line[n++] = (*s > ' ' && *s != 0x7f) ? *s : '_';
	n += (int)strftime(line + n, sizeof(line) - (size_t)n,
	    "  %a %b %e %H:%M:%S %Y\r\n", &tm);
	if (!wb->opts.in_memory)
		spill(wb);
	store(wb, line, (size_t)n);
	wb->envelope_len = wb->len;
}

void
wirebuf_header(struct wirebuf *wb, const char *name, const char *value)
{
	size_t nl = strlen(name);

	if (nl + strlen(value) > WIREBUF_MAX_HEADER)
		value = "";	/* the MTA caps it far lower; never trust it */
	wirebuf_append(wb, name, nl);
	wirebuf_append(wb, ": ", 2);
	wirebuf_append_text(wb, value, strlen(value));
	wirebuf_append(wb, "\r\n", 2);
	wb->header_count++;
}

void
wirebuf_eoh(struct wirebuf *wb)
{
	wirebuf_append(wb, "\r\n", 2);
}

void
wirebuf_append_text(struct wirebuf *wb, const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));

		if (lf == NULL) {
			wirebuf_append(wb, p, (size_t)(end - p));
			break;
		}
		if (lf > p && lf[-1] == '\r') {
			wirebuf_append(wb, p, (size_t)(lf + 1 - p));
		} else {
			wirebuf_append(wb, p, (size_t)(lf - p));
			wirebuf_append(wb, "\r\n", 2);
		}
		p = lf + 1;
	}
}

void
wirebuf_object(const struct wirebuf *wb, struct sm_object *obj)
{
	memset(obj, 0, sizeof(*obj));
	obj->kind = SM_OBJ_MESSAGE;
	obj->data = wb->spilled ? NULL : wb->data;
	obj->fd = wb->spilled ? wb->fd : -1;
	obj->len = wb->len;
	obj->envelope_len = wb->envelope_len;
}

size_t
wirebuf_message_size(const struct wirebuf *wb)
{
	return wb->received;
}

void
wirebuf_free(struct wirebuf *wb)
{
	recycle_free(wb->data, wb->cap);
	if (wb->spilled)
		close(wb->fd);
	memset(wb, 0, sizeof(*wb));
}

unsigned char *
wirebuf_place(struct wirebuf *wb, const struct wirebuf_opts *opts, size_t cap)
{
	void *map;
	int rc;

	wirebuf_free(wb);
	wb->opts = *opts;
	wb->opts.no_envelope = 1;
	if (wb->opts.spool == NULL || cap == 0) {
		errno = wb->opts.spool == NULL ? ENOENT : EINVAL;
		return NULL;
	}
	if ((wb->fd = spill_open(wb->opts.spool)) < 0)
		return NULL;
	wb->spilled = 1;
	/* blocks reserved now: a store into a hole of a full filesystem
	 * through the mapping would be SIGBUS */
	if ((rc = posix_fallocate(wb->fd, 0, (off_t)cap)) != 0) {
		wirebuf_free(wb);
		errno = rc;
		return NULL;
	}
	map = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, wb->fd, 0);
	if (map == MAP_FAILED) {
		rc = errno;
		wirebuf_free(wb);
		errno = rc;
		return NULL;
	}
	return map;
}

void
wirebuf_place_end(struct wirebuf *wb, unsigned char *map, size_t cap,
    size_t len)
{
	munmap(map, cap);
	if (ftruncate(wb->fd, (off_t)len) < 0 && !wb->error)
		wb->error = errno ? errno : EIO;
	wb->len = wb->received = len;
}

const unsigned char *
wirebuf_map(const struct wirebuf *wb, void **map)
{
	*map = NULL;
	if (!wb->spilled)
		return wb->data;
	if (wb->len == 0) {
		errno = EINVAL;
		return NULL;
	}
	*map = mmap(NULL, wb->len, PROT_READ, MAP_PRIVATE, wb->fd, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return NULL;
	}
	return *map;
}

void
wirebuf_unmap(const struct wirebuf *wb, void *map)
{
	if (map != NULL)
		munmap(map, wb->len);
}
