/*
 * CIDR lists: inet_pton for the addresses, a bit compare for the match.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "util.h"

/* The prefix of an IPv4 address mapped into IPv6, ::ffff:0:0/96. */
static const unsigned char v4mapped[12] = { [10] = 0xff, [11] = 0xff };

static int
parse_one(const char *tok, struct cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long bits;

	if (strlen(tok) >= sizeof(buf))
		return -1;
	strcpy(buf, tok);
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
	    memcmp(c->addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->family = AF_INET;
		c->bits -= 96;
	}
	return 0;
}

int
cidr_parse(const char *text, struct cidr_list *l, char *err, size_t errlen)
{
	char *copy = xstrdup(text), *save = NULL;

	memset(l, 0, sizeof(*l));
	for (char *t = strtok_r(copy, " \t,", &save); t != NULL;
	    t = strtok_r(NULL, " \t,", &save)) {
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		if (parse_one(t, &l->v[l->n]) < 0) {
			snprintf(err, errlen, "'%s' is not an address or a "
			    "network such as 10.0.0.0/8 or 2001:db8::/32", t);
			free(copy);
			cidr_free(l);
			return -1;
		}
		l->n++;
	}
	free(copy);
	return 0;
}

static int
inside(const struct cidr *c, const unsigned char *a)
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (memcmp(c->addr, a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((c->addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

int
cidr_match(const struct cidr_list *l, const char *addr)
{
	unsigned char a6[16], a4[4];
	int is4 = inet_pton(AF_INET, addr, a4) == 1;
	int is6 = !is4 && inet_pton(AF_INET6, addr, a6) == 1;

	if (is6 && memcmp(a6, v4mapped, sizeof(v4mapped)) == 0) {
		memcpy(a4, a6 + 12, 4);		/* ::ffff:a.b.c.d: IPv4 only */
		is4 = 1;
		is6 = 0;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct cidr *c = &l->v[i];

		if (c->family == AF_INET && is4 && inside(c, a4))
			return 1;
		if (c->family == AF_INET6 && is6 && inside(c, a6))
			return 1;
	}
	return 0;
}

int
cidr_split_hostport(const char *spec, char *host, size_t hostlen,
    unsigned *port, char *err, size_t errlen)
{
	const char *colon, *h = spec, *hend;
	unsigned char addr[16];
	char *end;
	unsigned long p;

	if (*spec == '[') {
		h = spec + 1;
		if ((hend = strchr(h, ']')) == NULL || hend[1] != ':')
			goto syntax;
		colon = hend + 1;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL)
			goto syntax;
		hend = colon;
	}
	if (hend == h || (size_t)(hend - h) >= hostlen)
		goto syntax;
	snprintf(host, hostlen, "%.*s", (int)(hend - h), h);
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || p == 0 ||
	    p > 65535)
		goto syntax;
	*port = (unsigned)p;
	if (strcmp(host, "localhost") == 0 ||
	    inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1)
		return 0;
syntax:
	snprintf(err, errlen, "expected ADDRESS:PORT, e.g. 127.0.0.1:9357, "
	    "[::1]:9357 or 0.0.0.0:9357 (a numeric address or localhost; "
	    "an IPv6 one in brackets)");
	return -1;
}

int
cidr_is_loopback(const char *host)
{
	static const unsigned char lo6[16] = { [15] = 1 };
	unsigned char a[16];

	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) != 1)
		return 0;
	return memcmp(a, lo6, 16) == 0 ||
	    (memcmp(a, v4mapped, sizeof(v4mapped)) == 0 && a[12] == 127);
}

void
cidr_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
cidr_addr_text(const struct sockaddr *sa, size_t salen, char *buf,
    size_t len)
{
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in))
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6 &&
	    salen >= sizeof(struct sockaddr_in6))
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, buf, (socklen_t)len);
}
