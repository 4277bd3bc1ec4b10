/*
 * The parts provider (src/pipeline/parts.c) behind sm_object.parts: the
 * message is parsed once however many engines ask, from however many
 * threads at once; a parse recorded by the decomposition is reused (no
 * second parse); a dropped record is parsed again once; a record spilled
 * to a file reads the same; each part carries its header block (the
 * message's for a body that is not multipart) and its decoded bytes.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <scanmilter/engine.h>

#include "mime.h"
#include "parts.h"

static const char multipart[] =
	"From: a@example.com\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	"gr=FC=DFe\r\n"
	"--b\r\nContent-Type: application/octet-stream\r\n"
	"Content-Disposition: attachment; filename=\"x.bin\"\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n"
	"aGVsbG8gd29ybGQ=\r\n"
	"--b--\r\n";

static const char simple[] =
	"From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n"
	"\r\nplain body\r\n";

/* What a reader of the parts saw, joined: "type|file|header|data;" */
struct seen {
	char	 text[2048];
	size_t	 n;
};

static int
collect(const struct sm_part *p, void *arg)
{
	struct seen *s = arg;
	int n = snprintf(s->text + s->n, sizeof(s->text) - s->n,
	    "%d %s|%s|%.*s|%.*s;", p->depth, p->content_type,
	    p->filename ? p->filename : "-",
	    p->header ? (int)p->header_len : 1,
	    p->header ? (const char *)p->header : "-", (int)p->len,
	    (const char *)p->data);

	assert_true(n > 0 && (size_t)n < sizeof(s->text) - s->n);
	s->n += (size_t)n;
	return 0;
}

static void
read_parts(struct sm_object *o, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(o->parts(o, collect, s), 0);
}

static const char multipart_seen[] =
	"1 text/plain|-|Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n|gr\xfc\xdf" "e;"
	"1 application/octet-stream|x.bin|Content-Type: "
	"application/octet-stream\r\nContent-Disposition: attachment; "
	"filename=\"x.bin\"\r\nContent-Transfer-Encoding: base64\r\n|"
	"hello world;";

/* Decoded bytes and header blocks; the body of a simple message has the
 * message's header. */
static void
test_views(void **state)
{
	struct sm_object o = { 0 };
	struct parts *ps;
	struct seen s;

	(void)state;
	ps = parts_new_buffer((const unsigned char *)multipart,
	    sizeof(multipart) - 1);
	parts_attach(ps, &o);
	read_parts(&o, &s);
	assert_string_equal(s.text, multipart_seen);
	parts_free(ps);

	ps = parts_new_buffer((const unsigned char *)simple,
	    sizeof(simple) - 1);
	parts_attach(ps, &o);
	read_parts(&o, &s);
	assert_string_equal(s.text, "0 text/plain|-|From: a@example.com\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n|plain body\r\n;");
	parts_free(ps);
}

struct reader {
	struct sm_object *o;
	struct seen s;
};

static void *
reader_run(void *arg)
{
	struct reader *r = arg;

	for (int i = 0; i < 20; i++) {
		memset(&r->s, 0, sizeof(r->s));
		if (r->o->parts(r->o, collect, &r->s) != 0)
			break;
	}
	return NULL;
}

/* Two engines (threads) asking at once, many times: one parse. */
static void
test_once_two_engines(void **state)
{
	struct sm_object o = { 0 };
	struct reader r[2] = { { &o, { "", 0 } }, { &o, { "", 0 } } };
	pthread_t th[2];
	struct parts *ps;

	(void)state;
	ps = parts_new_buffer((const unsigned char *)multipart,
	    sizeof(multipart) - 1);
	parts_attach(ps, &o);
	assert_int_equal(parts_parses(ps), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader_run,
		    &r[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_string_equal(r[0].s.text, multipart_seen);
	assert_string_equal(r[1].s.text, multipart_seen);
	assert_int_equal(parts_parses(ps), 1);
	parts_free(ps);
}

/* The decomposition's parse recorded: the engines parse nothing more. */
static void
test_reuse_recorded(void **state)
{
	const unsigned char *m = (const unsigned char *)multipart;
	struct mime_result res = { 0 };
	struct sm_object o = { 0 };
	struct parts *ps;
	struct seen s;

	(void)state;
	ps = parts_new_buffer(m, sizeof(multipart) - 1);
	parts_attach(ps, &o);
	parts_begin(ps, m, sizeof(multipart) - 1);
	mime_parse(m, sizeof(multipart) - 1, NULL, parts_record, ps, &res);
	parts_end(ps, 1);
	mime_result_free(&res);
	assert_int_equal(parts_parses(ps), 1);
	read_parts(&o, &s);
	read_parts(&o, &s);
	assert_string_equal(s.text, multipart_seen);
	assert_int_equal(parts_parses(ps), 1);
	parts_free(ps);

	/* a record dropped (incomplete): parsed again, once */
	ps = parts_new_buffer(m, sizeof(multipart) - 1);
	parts_attach(ps, &o);
	parts_begin(ps, m, sizeof(multipart) - 1);
	mime_parse(m, sizeof(multipart) - 1, NULL, parts_record, ps, &res);
	parts_end(ps, 0);
	mime_result_free(&res);
	read_parts(&o, &s);
	read_parts(&o, &s);
	assert_string_equal(s.text, multipart_seen);
	assert_int_equal(parts_parses(ps), 2);
	parts_free(ps);
}

/* A record past the threshold lives in a spill file and reads the same;
 * the message itself may be a spilled wire buffer too. */
static void
test_spilled(void **state)
{
	struct wirebuf_opts opts = { .threshold = 16, .in_memory = 1,
	    .spool = "/tmp" };
	struct wirebuf msg = { 0 };
	struct sm_object o = { 0 };
	struct parts *ps;
	struct seen s;

	(void)state;
	wirebuf_begin(&msg, "a@example.com", 0, &opts);
	wirebuf_append(&msg, multipart, sizeof(multipart) - 1);
	assert_true(msg.spilled);
	ps = parts_new(&msg, &opts, NULL);
	parts_attach(ps, &o);
	read_parts(&o, &s);
	assert_string_equal(s.text, multipart_seen);
	read_parts(&o, &s);
	assert_int_equal(parts_parses(ps), 1);
	parts_free(ps);
	wirebuf_free(&msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_once_two_engines),
		cmocka_unit_test(test_reuse_recorded),
		cmocka_unit_test(test_spilled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
