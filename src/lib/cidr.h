/*
 * Address ranges (IPv4 and IPv6 CIDR) for skip lists and the metrics
 * port's allow list: parsed once from a config string, matched against a
 * client address in text form.  Also the "host:port" form of a TCP listen
 * address, whether its host is loopback, and the text form of a peer's
 * socket address.
 */
#ifndef SM_CIDR_H
#define SM_CIDR_H

#include <stddef.h>

struct cidr {
	int	 family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int	 bits;
};

struct cidr_list {
	struct cidr *v;
	size_t	 n;
};

/*
 * Parses "10.0.0.0/8 192.168.1.5, ::1 2001:db8::/32" (blanks or commas
 * between entries; a bare address is a /32 or /128).  An IPv4 address
 * mapped into IPv6 (::ffff:a.b.c.d) is IPv4, as an entry (::ffff:0:0/96
 * and longer) and as a client: it matches IPv4 ranges only, never an IPv6
 * one such as ::/0.  Returns 0, or -1 with the bad entry in err.
 */
int	cidr_parse(const char *text, struct cidr_list *, char *err,
	    size_t errlen);

/* 1 if addr (text) is inside any range of the list. */
int	cidr_match(const struct cidr_list *, const char *addr);

void	cidr_free(struct cidr_list *);

/*
 * Splits "HOST:PORT" or "[V6]:PORT" into host (a numeric IPv4 or IPv6
 * address, or "localhost") and port (1-65535).  Returns 0, or -1 with the
 * reason in err.
 */
int	cidr_split_hostport(const char *spec, char *host, size_t hostlen,
	    unsigned *port, char *err, size_t errlen);

/* 1 if host (as cidr_split_hostport leaves it) can only be reached from
 * this machine: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 or "localhost". */
int	cidr_is_loopback(const char *host);

/* The numeric text of an IPv4 or IPv6 socket address of salen bytes into
 * buf; unchanged for any other family or a short address. */
struct sockaddr;
void	cidr_addr_text(const struct sockaddr *, size_t salen, char *buf,
	    size_t len);

#endif
