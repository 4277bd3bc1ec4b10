/*
 * Wire buffer: headers rebuilt as received (folding kept, CRLF), the blank
 * line, body chunks, the mbox envelope line, and growth past the first
 * allocation.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wirebuf.h"

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
	wirebuf_begin(&wb, "<a@example.com>", 100, 512);
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
	wirebuf_begin(&wb, "<>", 0, 0);
	assert_memory_equal(wb.data, "From MAILER-DAEMON  ", 20);
	wirebuf_begin(&wb, "a b\r\n@x", 0, 0);	/* begin frees the old */
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
	wirebuf_begin(&wb, NULL, 0, 0);
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
	wirebuf_begin(&wb, "s", 0, 16);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rebuild),
		cmocka_unit_test(test_envelope_sender),
		cmocka_unit_test(test_text_line_ends),
		cmocka_unit_test(test_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
