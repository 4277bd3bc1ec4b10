/*
 * libFuzzer target for the rules engine's HTML link scanner
 * (engines/rules/html.c): rules_html_links() on any bytes must never
 * crash, leak or read out of bounds, must report only hosts that are
 * lowercased, non-empty and shorter than 256 bytes, at most max_links of
 * them, and must stop when the callback says so.  Each input is scanned
 * whole and then cut in half, with a small link cap, so the end of the
 * input falls inside tags, values, references and comments.  The text a
 * document shows (rules_html_text(), for phrases) is taken too: never
 * longer than the input or the room given, whatever the room.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct seen {
	size_t	 n;
	size_t	 stop_at;	/* say stop at this link (0: never) */
};

static void
check_host(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n >= 256)
		abort();
	for (size_t i = 0; i < n; i++)
		if (h[i] >= 'A' && h[i] <= 'Z')
			abort();
}

static int
on_link(const char *href, const char *text, void *arg)
{
	struct seen *s = arg;

	check_host(href);
	if (text != NULL)
		check_host(text);
	s->n++;
	return s->stop_at != 0 && s->n >= s->stop_at;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct seen all = { 0, 0 }, few = { 0, 0 }, stop = { 0, 1 };

	if (rules_html_links(data, len, 1000, NULL, on_link, &all) != 0)
		abort();
	if (all.n > 1000)
		abort();
	rules_html_links(data, len / 2, 3, NULL, on_link, &few);
	if (few.n > 3)
		abort();
	rules_html_links(data, len, 1000, NULL, on_link, &stop);
	if (stop.n != (all.n > 0 ? 1 : 0))
		abort();
	for (size_t room = len; ; room /= 3) {
		char *out = malloc(room + 1);
		size_t n = 0;

		if (out == NULL)
			abort();
		if (rules_html_text(data, len, out, room, &n, NULL) != 0 ||
		    n > room || n > len)
			abort();
		free(out);
		if (room == 0)
			break;
	}
	return 0;
}
