/*
 * Client-address rules: IPv4 and IPv6 ranges (CIDR) compiled from a rule
 * and matched against the client address the daemon gives in text form.
 * The engine's own, small copy of src/lib/cidr.c's rules: an engine reads
 * nothing of the daemon but include/scanmilter/engine.h, and a range list
 * is too little to be worth a function in the ABI.  test_rules runs both on
 * the same cases, so the two cannot drift apart.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rules.h"

/* The prefix of an IPv4 address mapped into IPv6, ::ffff:0:0/96. */
static const unsigned char net_v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0xff, 0xff };

/* One range, "192.0.2.0/24", "2001:db8::/32" or a bare address. */
static int
net_parse_one(const char *tok, struct rules_net *c)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long bits;

	if (strlen(tok) >= sizeof(buf))
		return -1;
	memcpy(buf, tok, strlen(tok) + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		c->bits = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		c->bits = 128;
	} else {
		return -1;
	}
	if (slash != NULL) {
		bits = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || bits < 0 ||
		    bits > c->bits)
			return -1;
		c->bits = (int)bits;
	}
	/* ::ffff:a.b.c.d/N (N >= 96) is an IPv4 range: a client counts as the
	 * same address whichever socket family it came through */
	if (c->family == AF_INET6 && c->bits >= 96 &&
	    memcmp(c->addr, net_v4mapped, sizeof(net_v4mapped)) == 0) {
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->family = AF_INET;
		c->bits -= 96;
	}
	return 0;
}

int
rules_net_add(struct rules_nets *l, const char *text, char *err,
    size_t errlen)
{
	char *copy = rules_xstrdup(text), *save = NULL;
	int rc = 0;

	for (char *t = strtok_r(copy, " \t,", &save); t != NULL;
	    t = strtok_r(NULL, " \t,", &save)) {
		struct rules_net c;

		if (net_parse_one(t, &c) < 0) {
			snprintf(err, errlen, "'%s' is not an address or a "
			    "network such as 10.0.0.0/8 or 2001:db8::/32", t);
			rc = -1;
			break;
		}
		l->v = rules_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = c;
	}
	free(copy);
	return rc;
}

static int
net_inside(const struct rules_net *c, const unsigned char *a)
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (memcmp(c->addr, a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((c->addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

int
rules_net_match(const struct rules_nets *l, const char *addr)
{
	unsigned char a6[16], a4[4];
	int is4 = inet_pton(AF_INET, addr, a4) == 1;
	int is6 = !is4 && inet_pton(AF_INET6, addr, a6) == 1;

	if (is6 && memcmp(a6, net_v4mapped, sizeof(net_v4mapped)) == 0) {
		memcpy(a4, a6 + 12, 4);		/* ::ffff:a.b.c.d: IPv4 only */
		is4 = 1;
		is6 = 0;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct rules_net *c = &l->v[i];

		if (c->family == AF_INET && is4 && net_inside(c, a4))
			return 1;
		if (c->family == AF_INET6 && is6 && net_inside(c, a6))
			return 1;
	}
	return 0;
}

void
rules_net_free(struct rules_nets *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
