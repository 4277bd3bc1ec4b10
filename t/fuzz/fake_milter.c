/*
 * The fake libmilter of fuzz_milter (fake_milter.h): the smfi_* calls the
 * milter layer makes, recorded per context and checked as libmilter (for
 * the reply) and the MTA (for header and body changes) would check them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_milter.h"

#define FAKE_MAXREPLYLEN	980	/* libmilter's MAXREPLYLEN */

static struct smfiDesc registered;
static bool is_registered;

void
fake_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz_milter: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

const struct smfiDesc *
fake_desc(void)
{
	return is_registered ? &registered : NULL;
}

void
fake_ctx_init(SMFICTX *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

void
fake_ctx_clear(SMFICTX *ctx)
{
	for (size_t i = 0; i < ctx->nmacros; i++)
		free(ctx->macro_value[i]);
	memset(ctx, 0, sizeof(*ctx));
}

void
fake_set_macro(SMFICTX *ctx, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < ctx->nmacros; i++)
		if (strcmp(ctx->macro_name[i], name) == 0)
			break;
	if (i == ctx->nmacros) {
		if (i == FAKE_MACROS || value == NULL)
			return;
		ctx->macro_name[ctx->nmacros++] = name;
	}
	free(ctx->macro_value[i]);
	ctx->macro_value[i] = NULL;
	if (value != NULL && (ctx->macro_value[i] = strdup(value)) == NULL)
		abort();
}

void
fake_note_header(SMFICTX *ctx, const char *name)
{
	size_t i;

	for (i = 0; i < ctx->nhdr; i++)
		if (strcasecmp(ctx->hdr_name[i], name) == 0)
			break;
	if (i == ctx->nhdr) {
		if (i == FAKE_HEADERS)
			return;	/* not counted: never addressed either */
		snprintf(ctx->hdr_name[i], sizeof(ctx->hdr_name[i]), "%s",
		    name);
		ctx->nhdr++;
	}
	ctx->hdr_count[i]++;
}

void
fake_new_message(SMFICTX *ctx)
{
	ctx->nhdr = 0;
}

void
fake_begin_call(SMFICTX *ctx)
{
	memset(&ctx->calls, 0, sizeof(ctx->calls));
}

/* ---- what libmilter offers the milter ---------------------------------- */

int
smfi_register(struct smfiDesc d)
{
	registered = d;
	is_registered = true;
	return MI_SUCCESS;
}

size_t
smfi_setmaxdatasize(size_t n)
{
	(void)n;
	return 65535;
}

int
smfi_setconn(char *spec)
{
	return spec != NULL ? MI_SUCCESS : MI_FAILURE;
}

int
smfi_setbacklog(int n)
{
	return n > 0 ? MI_SUCCESS : MI_FAILURE;
}

int
smfi_opensocket(bool rmsocket)
{
	(void)rmsocket;
	return MI_SUCCESS;
}

int
smfi_main(void)
{
	return MI_SUCCESS;
}

int
smfi_stop(void)
{
	return MI_SUCCESS;
}

int
smfi_setpriv(SMFICTX *ctx, void *p)
{
	if (ctx == NULL)
		fake_fail("smfi_setpriv without a context");
	ctx->priv = p;
	if (p == NULL)
		ctx->priv_set_null = true;
	return MI_SUCCESS;
}

void *
smfi_getpriv(SMFICTX *ctx)
{
	if (ctx == NULL)
		fake_fail("smfi_getpriv without a context");
	return ctx->priv;
}

char *
smfi_getsymval(SMFICTX *ctx, char *name)
{
	if (name == NULL)
		fake_fail("smfi_getsymval(NULL)");
	for (size_t i = 0; i < ctx->nmacros; i++)
		if (strcmp(ctx->macro_name[i], name) == 0)
			return ctx->macro_value[i];
	return NULL;
}

/* libmilter's checks (8.17): 4xx or 5xx, an enhanced code of the same
 * class, no CR or LF in the text, the text at most MAXREPLYLEN. */
int
smfi_setreply(SMFICTX *ctx, char *rcode, char *xcode, char *text)
{
	if (rcode == NULL || strlen(rcode) != 3 ||
	    (rcode[0] != '4' && rcode[0] != '5') ||
	    rcode[1] < '0' || rcode[1] > '9' || rcode[2] < '0' || rcode[2] > '9')
		fake_fail("smfi_setreply: bad code '%s'", rcode ? rcode : "");
	if (xcode != NULL && *xcode != '\0' && xcode[0] != rcode[0])
		fake_fail("smfi_setreply: %s with enhanced code %s", rcode,
		    xcode);
	if (text != NULL) {
		if (strpbrk(text, "\r\n") != NULL)
			fake_fail("smfi_setreply: CR or LF in the text");
		if (strlen(text) > FAKE_MAXREPLYLEN) {
			ctx->calls.setreply_refused++;
			return MI_FAILURE;
		}
	}
	ctx->calls.setreply++;
	snprintf(ctx->calls.rcode, sizeof(ctx->calls.rcode), "%s", rcode);
	snprintf(ctx->calls.xcode, sizeof(ctx->calls.xcode), "%s",
	    xcode ? xcode : "");
	return MI_SUCCESS;
}

int
smfi_setmlreply(SMFICTX *ctx, const char *rcode, const char *xcode, ...)
{
	(void)ctx;
	(void)rcode;
	(void)xcode;
	fake_fail("smfi_setmlreply: not expected");
}

/* A header name the MTA takes: printable, no colon or space. */
static void
check_header(const char *what, const char *name, const char *value)
{
	if (name == NULL || *name == '\0')
		fake_fail("%s: no header name", what);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ':')
			fake_fail("%s: bad header name '%s'", what, name);
	if (value != NULL)
		for (const unsigned char *p = (const unsigned char *)value;
		    *p; p++)
			if (*p < ' ' && *p != '\t')
				fake_fail("%s: control character in the "
				    "value of %s", what, name);
}

static void
in_eom(SMFICTX *ctx, const char *what)
{
	if (!ctx->in_eom)
		fake_fail("%s outside end of message", what);
}

int
smfi_addheader(SMFICTX *ctx, char *name, char *value)
{
	in_eom(ctx, "smfi_addheader");
	if (ctx->refuse)
		return MI_FAILURE;
	check_header("smfi_addheader", name, value);
	if (value == NULL)
		fake_fail("smfi_addheader %s: no value", name);
	ctx->calls.addheader++;
	return MI_SUCCESS;
}

int
smfi_insheader(SMFICTX *ctx, int idx, char *name, char *value)
{
	in_eom(ctx, "smfi_insheader");
	if (ctx->refuse)
		return MI_FAILURE;
	check_header("smfi_insheader", name, value);
	if (idx < 0 || value == NULL)
		fake_fail("smfi_insheader %s: index %d", name, idx);
	ctx->calls.insheader++;
	return MI_SUCCESS;
}

/* The index must name a header of that name the message has. */
int
smfi_chgheader(SMFICTX *ctx, char *name, int idx, char *value)
{
	size_t have = 0;

	in_eom(ctx, "smfi_chgheader");
	if (ctx->refuse)
		return MI_FAILURE;
	check_header("smfi_chgheader", name, value);
	for (size_t i = 0; i < ctx->nhdr; i++)
		if (strcasecmp(ctx->hdr_name[i], name) == 0)
			have = ctx->hdr_count[i];
	if (idx < 1 || (size_t)idx > have)
		fake_fail("smfi_chgheader %s index %d: the message has %zu",
		    name, idx, have);
	ctx->calls.chgheader++;
	return MI_SUCCESS;
}

int
smfi_replacebody(SMFICTX *ctx, unsigned char *p, int n)
{
	in_eom(ctx, "smfi_replacebody");
	if (ctx->refuse)
		return MI_FAILURE;
	if (n < 0 || (n > 0 && p == NULL))
		fake_fail("smfi_replacebody: %d bytes at %p", n, (void *)p);
	ctx->calls.body_chunks++;
	ctx->calls.body_bytes += (size_t)n;
	return MI_SUCCESS;
}

int
smfi_quarantine(SMFICTX *ctx, char *reason)
{
	in_eom(ctx, "smfi_quarantine");
	if (ctx->refuse)
		return MI_FAILURE;
	if (reason == NULL || *reason == '\0')
		fake_fail("smfi_quarantine: no reason");
	ctx->calls.quarantine++;
	return MI_SUCCESS;
}

int
smfi_progress(SMFICTX *ctx)
{
	in_eom(ctx, "smfi_progress");
	ctx->calls.progress++;
	return MI_SUCCESS;
}
