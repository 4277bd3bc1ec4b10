/*
 * Message buffer in wire form.  Growth doubles the allocation so appends
 * are amortised O(1); the first allocation is sized from the expected
 * message size so most messages never grow.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "wirebuf.h"

static void
reserve(struct wirebuf *wb, size_t more)
{
	size_t need = wb->len + more;
	size_t cap = wb->cap ? wb->cap : 4096;

	if (need < more)
		msg_panic("wirebuf: size overflow");
	if (need <= wb->cap)
		return;
	while (cap < need)
		cap = cap * 2 > cap ? cap * 2 : need;
	wb->data = xrealloc(wb->data, cap);
	wb->cap = cap;
}

void
wirebuf_append(struct wirebuf *wb, const void *p, size_t n)
{
	if (n == 0)
		return;
	reserve(wb, n);
	memcpy(wb->data + wb->len, p, n);
	wb->len += n;
}

void
wirebuf_begin(struct wirebuf *wb, const char *sender, size_t expect,
    size_t padding)
{
	char line[1100];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	wirebuf_free(wb);
	reserve(wb, expect + padding + sizeof(line));
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
	wirebuf_append(wb, line, (size_t)n);
	wb->envelope_len = wb->len;
}

void
wirebuf_header(struct wirebuf *wb, const char *name, const char *value)
{
	size_t nl = strlen(name);

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
	obj->data = wb->data;
	obj->len = wb->len;
	obj->fd = -1;
	obj->envelope_len = wb->envelope_len;
}

size_t
wirebuf_message_size(const struct wirebuf *wb)
{
	return wb->len - wb->envelope_len;
}

void
wirebuf_free(struct wirebuf *wb)
{
	free(wb->data);
	memset(wb, 0, sizeof(*wb));
}
