/*
 * Wire buffer: headers rebuilt as received (folding kept, CRLF), the blank
 * line, body chunks, the mbox envelope line, growth past the first
 * allocation, and parts made in place in their spill file.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recycle.h"
#include "wirebuf.h"

/* Under AddressSanitizer, an allocation that cannot be had returns NULL
 * (as malloc does) instead of ending the test: that is what is tested. */
__attribute__((used)) const char *__asan_default_options(void);
__attribute__((used)) const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static const char *
message_part(const struct wirebuf *wb)
{
	return (const char *)wb->data + wb->envelope_len;
}

static void
test_rebuild(void **state)
{
	struct wirebuf wb = { 0 };
	const char *want =
	    "Subject: hello\r\n"
	    "X-Folded: first\r\n\tsecond\r\n"
	    "\r\n"
	    "body line\r\n.dot\r\n";
	struct sm_object obj;

	(void)state;
	wirebuf_begin(&wb, "<a@example.com>", 100, &(struct wirebuf_opts){
	    .padding = 512, .in_memory = 1 });
	wirebuf_header(&wb, "Subject", "hello");
	wirebuf_header(&wb, "X-Folded", "first\n\tsecond");
	wirebuf_eoh(&wb);
	wirebuf_append(&wb, "body li", 7);
	wirebuf_append(&wb, "ne\r\n.dot\r\n", 10);
	assert_int_equal(wirebuf_message_size(&wb), strlen(want));
	assert_memory_equal(message_part(&wb), want, strlen(want));
	assert_int_equal(wb.header_count, 2);
	/* the envelope line: mbox form, brackets gone, CRLF */
	assert_memory_equal(wb.data, "From a@example.com  ", 20);
	assert_memory_equal(wb.data + wb.envelope_len - 2, "\r\n", 2);
	wirebuf_object(&wb, &obj);
	assert_ptr_equal(obj.data, wb.data);
	assert_int_equal(obj.len, wb.len);
	assert_int_equal(obj.fd, -1);
	assert_int_equal(obj.envelope_len, wb.envelope_len);
	/* pre-sized: nothing grew */
	assert_true(wb.cap >= 100 + 512);
	wirebuf_free(&wb);
	assert_null(wb.data);
}

static void
test_envelope_sender(void **state)
{
	struct wirebuf wb = { 0 };

	(void)state;
	wirebuf_begin(&wb, "<>", 0, NULL);
	assert_memory_equal(wb.data, "From MAILER-DAEMON  ", 20);
	wirebuf_begin(&wb, "a b\r\n@x", 0, NULL);	/* begin frees the old */
	assert_memory_equal(wb.data, "From a_b__@x  ", 14);
	wirebuf_free(&wb);
}

static void
test_text_line_ends(void **state)
{
	struct wirebuf wb = { 0 };
	const char *in = "A: 1\nB: 2\r\n\nbody\nend";
	const char *want = "A: 1\r\nB: 2\r\n\r\nbody\r\nend";

	(void)state;
	wirebuf_begin(&wb, NULL, 0, NULL);
	wirebuf_append_text(&wb, in, strlen(in));
	assert_int_equal(wirebuf_message_size(&wb), strlen(want));
	assert_memory_equal(message_part(&wb), want, strlen(want));
	wirebuf_free(&wb);
}

static void
test_growth(void **state)
{
	struct wirebuf wb = { 0 };
	char chunk[65535];
	size_t total = 0;

	(void)state;
	wirebuf_begin(&wb, "s", 0, &(struct wirebuf_opts){
	    .padding = 16, .in_memory = 1 });
	for (int i = 0; i < 40; i++) {
		memset(chunk, 'a' + i % 26, sizeof(chunk));
		wirebuf_append(&wb, chunk, sizeof(chunk));
		total += sizeof(chunk);
	}
	assert_int_equal(wirebuf_message_size(&wb), total);
	for (int i = 0; i < 40; i++)
		assert_int_equal(message_part(&wb)[(size_t)i * 65535 + 100],
		    'a' + i % 26);
	wirebuf_free(&wb);
}

/* Reads the whole object, from memory or from its spill file. */
static char *
object_bytes(const struct sm_object *obj)
{
	char *buf = malloc(obj->len + 1);

	if (obj->data != NULL) {
		memcpy(buf, obj->data, obj->len);
	} else {
		assert_true(obj->fd >= 0);
		assert_int_equal(pread(obj->fd, buf, obj->len, 0),
		    (ssize_t)obj->len);
	}
	buf[obj->len] = '\0';
	return buf;
}

static char spool[] = "/tmp/sm-wb-test.XXXXXX";

/* Message of total bytes (headers + body) into a buffer with threshold. */
static void
fill(struct wirebuf *wb, size_t threshold, int in_memory, size_t total,
    size_t limit)
{
	struct wirebuf_opts o = { .threshold = threshold, .in_memory =
	    in_memory, .spool = spool, .limit = limit };
	const char *hdr = "Subject: s\r\n";	/* 12 bytes */
	char *body;

	wirebuf_begin(wb, "s", 0, &o);
	wirebuf_append(wb, hdr, strlen(hdr));
	wirebuf_eoh(wb);			/* 2 bytes */
	body = malloc(total - 14);
	for (size_t i = 0; i < total - 14; i++)
		body[i] = (char)('a' + i % 26);
	/* in chunks, as the MTA sends it */
	for (size_t off = 0; off < total - 14; off += 1000)
		wirebuf_append(wb, body + off, total - 14 - off < 1000 ?
		    total - 14 - off : 1000);
	free(body);
}

static void
test_threshold(void **state)
{
	/* at, just under and just over the threshold */
	static const struct { size_t total; int spilled; } cases[] = {
		{ 9999, 0 }, { 10000, 0 }, { 10001, 1 }, { 50000, 1 },
	};
	struct wirebuf wb = { 0 };

	(void)state;
	assert_non_null(mkdtemp(spool));
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct sm_object obj;
		char *bytes;

		fill(&wb, 10000, 1, cases[i].total, 0);
		if (wb.spilled != cases[i].spilled || wb.error != 0)
			fail_msg("case %zu: spilled %d error %d", i, wb.spilled,
			    wb.error);
		assert_int_equal(wirebuf_message_size(&wb), cases[i].total);
		wirebuf_object(&wb, &obj);
		assert_int_equal(obj.len, wb.envelope_len + cases[i].total);
		assert_true(cases[i].spilled ? obj.data == NULL :
		    obj.fd == -1);
		bytes = object_bytes(&obj);
		assert_memory_equal(bytes, "From s  ", 8);
		assert_memory_equal(bytes + wb.envelope_len,
		    "Subject: s\r\n\r\nabcdefghijklmnopqrstuvwxyzabcd", 44);
		assert_int_equal(bytes[obj.len - 1],
		    'a' + (cases[i].total - 15) % 26);
		free(bytes);
		wirebuf_free(&wb);
	}
}

static void
test_spill_leaves_nothing(void **state)
{
	struct wirebuf wb = { 0 };
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n = 0;

	(void)state;
	fill(&wb, 4096, 0, 20000, 0);	/* in_memory = no: file at once */
	assert_true(wb.spilled);
	assert_null(wb.data);
	assert_int_equal(fstat(wb.fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_nlink, 0);	/* unlinked from the start */
	d = opendir(spool);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 0);
	wirebuf_free(&wb);
}

/* A part made in place: written through the mapping, kept to its length,
 * read back by descriptor as a spilled part; no spool: an error, no file. */
static void
test_place(void **state)
{
	struct wirebuf wb = { 0 };
	struct wirebuf_opts o = { .threshold = 4096, .in_memory = 1,
	    .spool = spool };
	struct sm_object obj;
	struct stat st;
	unsigned char *map, back[5];

	(void)state;
	map = wirebuf_place(&wb, &o, 1 << 20);
	assert_non_null(map);
	assert_true(wb.spilled);
	assert_int_equal(fstat(wb.fd, &st), 0);
	assert_int_equal(st.st_size, 1 << 20);	/* reserved */
	memcpy(map, "hello", 5);
	wirebuf_place_end(&wb, map, 1 << 20, 5);
	assert_int_equal(wb.error, 0);
	assert_int_equal(fstat(wb.fd, &st), 0);
	assert_int_equal(st.st_size, 5);
	wirebuf_object(&wb, &obj);
	assert_null(obj.data);
	assert_int_equal(obj.len, 5);
	assert_int_equal(obj.envelope_len, 0);
	assert_int_equal(pread(obj.fd, back, 5, 0), 5);
	assert_memory_equal(back, "hello", 5);
	wirebuf_free(&wb);

	o.spool = "/nonexistent/spool";
	assert_null(wirebuf_place(&wb, &o, 4096));
	assert_int_equal(errno, ENOENT);
	assert_false(wb.spilled);
	wirebuf_free(&wb);
}

static void
test_spill_failure_and_limit(void **state)
{
	struct wirebuf wb = { 0 };
	struct wirebuf_opts o = { .threshold = 4096, .in_memory = 1,
	    .spool = "/nonexistent/spool" };
	char chunk[3000];

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	wirebuf_begin(&wb, "s", 0, &o);
	wirebuf_append(&wb, chunk, sizeof(chunk));
	assert_int_equal(wb.error, 0);
	wirebuf_append(&wb, chunk, sizeof(chunk));	/* must spill: fails */
	assert_int_equal(wb.error, ENOENT);
	wirebuf_append(&wb, chunk, sizeof(chunk));	/* ignored, counted */
	assert_int_equal(wirebuf_message_size(&wb), 9000);
	wirebuf_free(&wb);

	fill(&wb, 0, 1, 20000, 10000);		/* max_message_size 10000 */
	assert_true(wb.oversize);
	assert_true(wb.len <= 10000 + wb.envelope_len);
	assert_int_equal(wirebuf_message_size(&wb), 20000);
	wirebuf_free(&wb);
	fill(&wb, 0, 1, 10000, 10000);		/* exactly at the limit */
	assert_false(wb.oversize);
	wirebuf_free(&wb);
	rmdir(spool);
}

/*
 * The client's SIZE= is a hint: a terabyte declared reserves at most
 * WIREBUF_FIRST_MAX; memory that cannot be had (or a size that would
 * overflow) is the message's error, the buffer is given back, and the
 * same wirebuf serves the next message.
 */
static void
test_alloc_failure(void **state)
{
	struct wirebuf wb = { 0 };
	static const char byte = 'x';

	(void)state;
	wirebuf_begin(&wb, "<a@example.com>", (size_t)1000000000000ULL,
	    &(struct wirebuf_opts){ .padding = 512, .in_memory = 1 });
	assert_int_equal(wb.error, 0);
	/* at most the first allocation, rounded to the recycler's size */
	assert_true(wb.cap <= WIREBUF_FIRST_MAX + RECYCLE_SLACK);
	wirebuf_append(&wb, "Subject: x\r\n", 12);
	/* far more than any address space: realloc fails (never copied) */
	wirebuf_append(&wb, &byte, (size_t)1 << 62);
	assert_int_equal(wb.error, ENOMEM);
	assert_null(wb.data);
	assert_int_equal(wb.len, 0);
	wirebuf_append(&wb, "more\r\n", 6);	/* ignored, counted */
	assert_int_equal(wb.len, 0);
	assert_int_equal(wirebuf_message_size(&wb), 12 + ((size_t)1 << 62) + 6);
	/* a size that wraps around */
	wirebuf_begin(&wb, NULL, 0, NULL);
	wirebuf_append(&wb, &byte, SIZE_MAX - 8);
	assert_int_equal(wb.error, ENOMEM);
	/* the next message is fine */
	wirebuf_begin(&wb, NULL, 10, NULL);
	assert_int_equal(wb.error, 0);
	wirebuf_append(&wb, "ok\r\n", 4);
	assert_int_equal(wb.error, 0);
	assert_memory_equal(message_part(&wb), "ok\r\n", 4);
	wirebuf_free(&wb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rebuild),
		cmocka_unit_test(test_envelope_sender),
		cmocka_unit_test(test_text_line_ends),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_spill_leaves_nothing),
		cmocka_unit_test(test_place),
		cmocka_unit_test(test_spill_failure_and_limit),
		cmocka_unit_test(test_alloc_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
