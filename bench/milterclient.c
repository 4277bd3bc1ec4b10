/*
 * milterclient.c - the MTA side of the milter protocol v6 (see
 * milterclient.h). Packets are: 4-byte length (network order, counting the
 * command byte), 1 command byte, data. Written from the protocol
 * description; the constants come from libmilter's public <libmilter/mfdef.h>.
 */
#define _POSIX_C_SOURCE 200809L
#include "milterclient.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define MG_VERSION 6
#define MG_ACTIONS 0x1FFu                /* SMFIF_ADDHDRS .. SMFIF_SETSYMLIST */
#define MG_PROTO_STEPS 0x001FFFFFu       /* SMFIP_NOCONNECT .. SMFIP_HDR_LEADSPC */
#define MG_PROTO_OFFER (MG_PROTO_STEPS | SMFIP_MDS_256K | SMFIP_MDS_1M)
#define MG_MAX_IN (1024u * 1024u + 64u)  /* largest reply packet accepted */
#define MG_MAX_REPLY_PACKETS 100000      /* packets read while waiting for one final reply */
#define MG_OUT_FLUSH (256u * 1024u)      /* write queued packets once this much is waiting */

/* Internal: 's' (skip the rest of the body) while sending body chunks. */
#define MGV_SKIP MGV_COUNT

static const char *const verdict_names[MGV_COUNT] = {
	"continue", "accept", "reject", "tempfail", "discard", "other", "connerr", "timeout",
};

const char *mg_verdict_name(enum mg_verdict v)
{
	return (unsigned)v < MGV_COUNT ? verdict_names[v] : "?";
}

/* ---- addresses ---- */

static int parse_port(const char *s, const char *end, uint16_t *port)
{
	long v = 0;

	if (s == end)
		return -1;
	for (const char *p = s; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return -1;
	}
	*port = (uint16_t)v;
	return v > 0 ? 0 : -1;
}

static int parse_inet(const char *rest, int v6, struct mg_addr *a, char *err, size_t errlen)
{
	const char *at = strchr(rest, '@');
	char host[64];
	uint16_t port;
	size_t hl;

	if (at == NULL || parse_port(rest, at, &port) != 0) {
		snprintf(err, errlen, "expected PORT@HOST");
		return -1;
	}
	hl = strlen(at + 1);
	if (hl >= sizeof(host) || hl == 0) {
		snprintf(err, errlen, "bad host");
		return -1;
	}
	memcpy(host, at + 1, hl + 1);
	if (v6 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	memset(a, 0, sizeof(*a));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1 ||
		    !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)) {
			snprintf(err, errlen, "only [::1] is allowed for inet6");
			return -1;
		}
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		a->len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;

		if (strcmp(host, "localhost") == 0)
			strcpy(host, "127.0.0.1");
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1 ||
		    (ntohl(s4->sin_addr.s_addr) >> 24) != 127) {
			snprintf(err, errlen, "only 127.0.0.0/8 is allowed for inet");
			return -1;
		}
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		a->len = sizeof(*s4);
	}
	return 0;
}

int mg_parse_addr(const char *spec, struct mg_addr *a, char *err, size_t errlen)
{
	const char *path = NULL;

	if (strncmp(spec, "unix:", 5) == 0)
		path = spec + 5;
	else if (strncmp(spec, "local:", 6) == 0)
		path = spec + 6;
	else if (spec[0] == '/')
		path = spec;
	if (path != NULL) {
		struct sockaddr_un *su = (struct sockaddr_un *)&a->ss;

		memset(a, 0, sizeof(*a));
		if (strlen(path) == 0 || strlen(path) >= sizeof(su->sun_path)) {
			snprintf(err, errlen, "bad unix socket path");
			return -1;
		}
		su->sun_family = AF_UNIX;
		strcpy(su->sun_path, path);
		a->len = sizeof(*su);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) == 0)
		return parse_inet(spec + 5, 0, a, err, errlen);
	if (strncmp(spec, "inet6:", 6) == 0)
		return parse_inet(spec + 6, 1, a, err, errlen);
	snprintf(err, errlen, "expected unix:/path, inet:PORT@127.0.0.1 or inet6:PORT@[::1]");
	return -1;
}

/* ---- replies ---- */

static void set_reply(struct mg_reply *r, enum mg_verdict v, const char *fmt, const char *arg)
{
	r->verdict = v;
	snprintf(r->text, sizeof(r->text), fmt, arg ? arg : "");
}

static void reply_reset(struct mg_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->verdict = MGV_CONTINUE;
}

/* ---- raw I/O ---- */

/* Close after a failure; r already says why. Returns -1. */
static int broken(struct mg_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	return -1;
}

static int send_iov(struct mg_conn *c, struct iovec *iov, int n, struct mg_reply *r)
{
	while (n > 0) {
		ssize_t w = writev(c->fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int timeout = errno == EAGAIN || errno == EWOULDBLOCK;

			set_reply(r, timeout ? MGV_TIMEOUT : MGV_CONNERR, "send: %s",
				  timeout ? "timed out" : strerror(errno));
			return broken(c);
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Write out everything queued by send_packet. */
static int flush(struct mg_conn *c, struct mg_reply *r)
{
	struct iovec iov = { .iov_base = c->out, .iov_len = c->out_len };

	if (c->out_len == 0)
		return 0;
	c->out_len = 0;
	return send_iov(c, &iov, 1, r);
}

/*
 * Queue one packet whose data is data[0..len-1]. Packets are written when a
 * reply is awaited (or MG_OUT_FLUSH bytes are queued): macros and no-reply
 * steps travel with the next command, as an MTA's buffered stream sends
 * them, rather than as small writes that Nagle's algorithm would hold back.
 */
static int send_packet(struct mg_conn *c, char cmd, const void *data, size_t len,
		       struct mg_reply *r)
{
	uint32_t nl = htonl((uint32_t)(len + 1));

	if (c->out_len + len + 5 > c->out_cap) {
		c->out_cap = (c->out_len + len + 5) * 2;
		c->out = xrealloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, &nl, 4);
	c->out[c->out_len + 4] = (unsigned char)cmd;
	if (len > 0)
		memcpy(c->out + c->out_len + 5, data, len);
	c->out_len += len + 5;
	return c->out_len >= MG_OUT_FLUSH ? flush(c, r) : 0;
}

/* Read exactly n bytes before the deadline. */
static int read_full(struct mg_conn *c, unsigned char *buf, size_t n, double deadline,
		     struct mg_reply *r)
{
	size_t got = 0;

	while (got < n) {
		double left = deadline - now_s();
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int pr;
		ssize_t rd;

		if (left <= 0) {
			set_reply(r, MGV_TIMEOUT, "no reply within the timeout%s", NULL);
			return broken(c);
		}
		pr = poll(&pfd, 1, (int)(left * 1000.0) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue; /* the deadline check above ends this */
		rd = read(c->fd, buf + got, n - got);
		if (rd < 0 && errno == EINTR)
			continue;
		if (rd <= 0) {
			set_reply(r, MGV_CONNERR, "read: %s", rd == 0 ? "connection closed" : strerror(errno));
			return broken(c);
		}
		got += (size_t)rd;
	}
	return 0;
}

/* Read one packet into c->in; *cmd and *len (data bytes) out. */
static int read_packet(struct mg_conn *c, char *cmd, size_t *len, double deadline,
		       struct mg_reply *r)
{
	unsigned char hdr[5];
	uint32_t nl;

	if (read_full(c, hdr, 5, deadline, r) != 0)
		return -1;
	memcpy(&nl, hdr, 4);
	nl = ntohl(nl);
	if (nl < 1 || nl > MG_MAX_IN) {
		set_reply(r, MGV_OTHER, "protocol error: bad packet length%s", NULL);
		return broken(c);
	}
	*cmd = (char)hdr[4];
	*len = nl - 1;
	if (*len + 1 > c->in_cap) {
		c->in_cap = *len + 1;
		c->in = xrealloc(c->in, c->in_cap);
	}
	if (*len > 0 && read_full(c, c->in, *len, deadline, r) != 0)
		return -1;
	c->in[*len] = '\0';
	return 0;
}

/* ---- packet building ---- */

static void pk_reset(struct mg_conn *c)
{
	c->pkt_len = 0;
}

static void pk_add(struct mg_conn *c, const void *data, size_t n)
{
	if (c->pkt_len + n > c->pkt_cap) {
		c->pkt_cap = (c->pkt_len + n) * 2;
		c->pkt = xrealloc(c->pkt, c->pkt_cap);
	}
	memcpy(c->pkt + c->pkt_len, data, n);
	c->pkt_len += n;
}

/* Append s with its NUL. */
static void pk_str(struct mg_conn *c, const char *s)
{
	pk_add(c, s, strlen(s) + 1);
}

static void pk_u32(struct mg_conn *c, uint32_t v)
{
	uint32_t nv = htonl(v);

	pk_add(c, &nv, 4);
}

static int pk_send(struct mg_conn *c, char cmd, struct mg_reply *r)
{
	return send_packet(c, cmd, c->pkt, c->pkt_len, r);
}

/* SMFIC_MACRO for stage: kv holds n name/value pairs. No reply. */
static int send_macros(struct mg_conn *c, char stage, const char *const *kv, size_t n,
		       struct mg_reply *r)
{
	pk_reset(c);
	pk_add(c, &stage, 1);
	for (size_t i = 0; i < 2 * n; i++)
		pk_str(c, kv[i]);
	return pk_send(c, SMFIC_MACRO, r);
}

/*
 * Classify one reply packet. Returns 1 for a final reply (r->verdict set,
 * or MGV_SKIP in *skip), 0 for one that keeps us waiting, -1 on a protocol
 * error (r set).
 */
static int classify(char cmd, const char *data, size_t len, struct mg_reply *r, int *skip)
{
	switch (cmd) {
	case SMFIR_CONTINUE: r->verdict = MGV_CONTINUE; return 1;
	case SMFIR_ACCEPT:   r->verdict = MGV_ACCEPT; return 1;
	case SMFIR_REJECT:   r->verdict = MGV_REJECT; return 1;
	case SMFIR_TEMPFAIL: r->verdict = MGV_TEMPFAIL; return 1;
	case SMFIR_DISCARD:  r->verdict = MGV_DISCARD; return 1;
	case SMFIR_SKIP:     *skip = 1; r->verdict = MGV_CONTINUE; return 1;
	case SMFIR_REPLYCODE:
		snprintf(r->text, sizeof(r->text), "%.*s", (int)len, data);
		r->verdict = data[0] == '5' ? MGV_REJECT : data[0] == '4' ? MGV_TEMPFAIL : MGV_OTHER;
		return 1;
	case SMFIR_SHUTDOWN:
	case SMFIR_CONN_FAIL:
		snprintf(r->text, sizeof(r->text), "milter replied '%c'", cmd);
		r->verdict = MGV_OTHER;
		return 1;
	case SMFIR_PROGRESS:
		r->progress++;
		return 0;
	case SMFIR_QUARANTINE:
		r->quarantined = 1;
		r->mods++;
		return 0;
	case SMFIR_ADDHEADER: case SMFIR_CHGHEADER: case SMFIR_INSHEADER:
	case SMFIR_REPLBODY: case SMFIR_ADDRCPT: case SMFIR_DELRCPT:
	case SMFIR_ADDRCPT_PAR: case SMFIR_CHGFROM:
		r->mods++;
		return 0;
	default:
		snprintf(r->text, sizeof(r->text), "protocol error: unknown reply 0x%02x",
			 (unsigned char)cmd);
		r->verdict = MGV_OTHER;
		return -1;
	}
}

/*
 * Wait for the final reply to the command just sent. Progress packets
 * restart the timeout; modification packets are counted. Returns 0 (r set,
 * *skip set for 's') or -1 when the connection broke (closed).
 */
static int wait_reply(struct mg_conn *c, struct mg_reply *r, int *skip)
{
	double deadline;

	if (flush(c, r) != 0)
		return -1;
	r->waits++;
	deadline = now_s() + c->timeout_s;
	for (int i = 0; i < MG_MAX_REPLY_PACKETS; i++) {
		char cmd;
		size_t len;
		int rc;

		if (read_packet(c, &cmd, &len, deadline, r) != 0)
			return -1;
		rc = classify(cmd, (const char *)c->in, len, r, skip);
		if (rc < 0)
			return broken(c);
		if (rc > 0)
			return 0;
		if (cmd == SMFIR_PROGRESS)
			deadline = now_s() + c->timeout_s;
	}
	set_reply(r, MGV_OTHER, "more than %s packets without a final reply", "100000");
	return broken(c);
}

/*
 * Send the packet in c->pkt as cmd and, unless the milter asked for no reply
 * (noreply_flag in its pflags), wait for it. Returns 1 to go on, 0 when the
 * reply was final for this stage (r->verdict), -1 when the connection broke.
 */
static int step(struct mg_conn *c, char cmd, uint32_t noreply_flag, struct mg_reply *r,
		int *skip)
{
	if (pk_send(c, cmd, r) != 0)
		return -1;
	if (noreply_flag != 0 && (c->pflags & noreply_flag) != 0)
		return 1;
	if (wait_reply(c, r, skip) != 0)
		return -1;
	if (skip != NULL && *skip)
		return 1;
	return r->verdict == MGV_CONTINUE ? 1 : 0;
}

/* ---- connection ---- */

static int open_socket(struct mg_conn *c, const struct mg_addr *a, struct mg_reply *r)
{
	struct timeval tv = { .tv_sec = (time_t)c->timeout_s, .tv_usec = 0 };

	c->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		set_reply(r, MGV_CONNERR, "socket: %s", strerror(errno));
		return -1;
	}
	/* The send timeout bounds writes (and, on Linux, a blocking connect). */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (a->ss.ss_family != AF_UNIX) {
		int one = 1;

		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (connect(c->fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
		set_reply(r, errno == EINPROGRESS ? MGV_TIMEOUT : MGV_CONNERR, "connect: %s",
			  strerror(errno));
		return broken(c);
	}
	return 0;
}

static int negotiate(struct mg_conn *c, uint32_t withheld, struct mg_reply *r)
{
	char cmd;
	size_t len;
	uint32_t v[3], offer = MG_PROTO_OFFER & ~withheld;

	pk_reset(c);
	pk_u32(c, MG_VERSION);
	pk_u32(c, MG_ACTIONS);
	pk_u32(c, offer);
	if (pk_send(c, SMFIC_OPTNEG, r) != 0 || flush(c, r) != 0 ||
	    read_packet(c, &cmd, &len, now_s() + c->timeout_s, r) != 0)
		return -1;
	if (cmd != SMFIC_OPTNEG || len < 12) {
		set_reply(r, MGV_OTHER, "protocol error: bad option negotiation reply%s", NULL);
		return broken(c);
	}
	memcpy(v, c->in, 12);
	c->version = ntohl(v[0]);
	c->actions = ntohl(v[1]);
	c->pflags = ntohl(v[2]);
	if (c->version < 2 || (c->pflags & MG_PROTO_STEPS & ~offer) != 0) {
		set_reply(r, MGV_OTHER, "protocol error: milter wants what we did not offer%s", NULL);
		return broken(c);
	}
	/* Any macro lists after the 12 bytes are ignored: we always send our few macros. */
	return 0;
}

int mg_open(struct mg_conn *c, const struct mg_addr *a, double timeout_s, uint32_t withheld,
	    struct mg_reply *r)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_s = timeout_s;
	reply_reset(r);
	if (open_socket(c, a, r) != 0 || negotiate(c, withheld, r) != 0) {
		mg_close(c);
		return -1;
	}
	return 0;
}

static void client_addr(const struct mg_client *cl, char *buf, size_t n)
{
	unsigned h = cl->host_index % 65000u;

	if (cl->ipv6)
		snprintf(buf, n, "2001:db8::%x", h + 1);
	else
		snprintf(buf, n, "192.0.2.%u", h % 254u + 1);
}

int mg_hello(struct mg_conn *c, const struct mg_client *cl, struct mg_reply *r)
{
	char addr[64], underscore[128], port_s[16];
	uint16_t port = (uint16_t)(20000u + cl->host_index % 40000u);
	uint16_t nport = htons(port);
	char fam = cl->ipv6 ? SMFIA_INET6 : SMFIA_INET;
	int rc;

	reply_reset(r);
	client_addr(cl, addr, sizeof(addr));
	snprintf(underscore, sizeof(underscore), "client.example [%s]", addr);
	snprintf(port_s, sizeof(port_s), "%u", port);
	const char *const kv[] = {
		"j", "mx.bench.example", "{daemon_name}", "miltergen", "v", "miltergen 1",
		"_", underscore, "{client_addr}", addr, "{client_port}", port_s,
		"{client_name}", "client.example",
	};
	if (send_macros(c, SMFIC_CONNECT, kv, sizeof(kv) / sizeof(kv[0]) / 2, r) != 0)
		return -1;
	if (!(c->pflags & SMFIP_NOCONNECT)) {
		pk_reset(c);
		pk_str(c, "client.example");
		pk_add(c, &fam, 1);
		pk_add(c, &nport, 2);
		pk_str(c, addr);
		if ((rc = step(c, SMFIC_CONNECT, SMFIP_NR_CONN, r, NULL)) <= 0)
			return rc;
	}
	if (!(c->pflags & SMFIP_NOHELO)) {
		pk_reset(c);
		pk_str(c, "client.example");
		if ((rc = step(c, SMFIC_HELO, SMFIP_NR_HELO, r, NULL)) <= 0)
			return rc;
	}
	return 0;
}

/* ---- one transaction ---- */

static int envelope(struct mg_conn *c, const struct mg_msg *m, struct mg_reply *r)
{
	char size_arg[40];
	int rc;
	const char *const mkv[] = { "i", m->queue_id, "{mail_addr}", m->sender };
	const char *const rkv[] = { "{rcpt_addr}", m->rcpt };

	snprintf(size_arg, sizeof(size_arg), "SIZE=%zu", m->size);
	if (send_macros(c, SMFIC_MAIL, mkv, 2, r) != 0)
		return -1;
	if (!(c->pflags & SMFIP_NOMAIL)) {
		pk_reset(c);
		pk_str(c, m->sender);
		pk_str(c, size_arg);
		if ((rc = step(c, SMFIC_MAIL, SMFIP_NR_MAIL, r, NULL)) <= 0)
			return rc;
	}
	if (send_macros(c, SMFIC_RCPT, rkv, 1, r) != 0)
		return -1;
	if (!(c->pflags & SMFIP_NORCPT)) {
		pk_reset(c);
		pk_str(c, m->rcpt);
		if ((rc = step(c, SMFIC_RCPT, SMFIP_NR_RCPT, r, NULL)) <= 0)
			return rc;
	}
	if (!(c->pflags & SMFIP_NODATA)) {
		pk_reset(c);
		if ((rc = step(c, SMFIC_DATA, SMFIP_NR_DATA, r, NULL)) <= 0)
			return rc;
	}
	return 1;
}

static int headers(struct mg_conn *c, const struct mg_msg *m, struct mg_reply *r)
{
	int rc;

	if (!(c->pflags & SMFIP_NOHDRS)) {
		for (size_t i = 0; i < m->eml->nhdrs; i++) {
			const char *v = m->eml->hdrs[i].value;

			if (!(c->pflags & SMFIP_HDR_LEADSPC) && *v == ' ')
				v++;
			pk_reset(c);
			pk_str(c, m->eml->hdrs[i].name);
			pk_str(c, v);
			if ((rc = step(c, SMFIC_HEADER, SMFIP_NR_HDR, r, NULL)) <= 0)
				return rc;
		}
	}
	if (!(c->pflags & SMFIP_NOEOH)) {
		pk_reset(c);
		if ((rc = step(c, SMFIC_EOH, SMFIP_NR_EOH, r, NULL)) <= 0)
			return rc;
	}
	return 1;
}

/* Body in chunks of at most MILTER_CHUNK_SIZE bytes, sent from the message itself. */
static int body(struct mg_conn *c, const struct mg_msg *m, struct mg_reply *r)
{
	size_t off = 0;

	if (c->pflags & SMFIP_NOBODY)
		return 1;
	while (off < m->body_len) {
		size_t n = m->body_len - off;
		int skip = 0;

		if (n > MILTER_CHUNK_SIZE)
			n = MILTER_CHUNK_SIZE;
		if (send_packet(c, SMFIC_BODY, m->body + off, n, r) != 0)
			return -1;
		off += n;
		if (c->pflags & SMFIP_NR_BODY)
			continue;
		if (wait_reply(c, r, &skip) != 0)
			return -1;
		if (skip)
			return 1;
		if (r->verdict != MGV_CONTINUE)
			return 0;
	}
	return 1;
}

static int end_of_message(struct mg_conn *c, const struct mg_msg *m, struct mg_reply *r)
{
	const char *const ekv[] = { "i", m->queue_id };

	if (send_macros(c, SMFIC_BODYEOB, ekv, 1, r) != 0 ||
	    send_packet(c, SMFIC_BODYEOB, NULL, 0, r) != 0)
		return -1;
	return wait_reply(c, r, NULL) != 0 ? -1 : 0;
}

int mg_message(struct mg_conn *c, const struct mg_msg *m, struct mg_reply *r)
{
	struct mg_reply ar; /* the abort's own failure must not hide the verdict */
	int rc;

	reply_reset(r);
	if (c->fd < 0) {
		set_reply(r, MGV_CONNERR, "not connected%s", NULL);
		return -1;
	}
	rc = envelope(c, m, r);
	if (rc > 0)
		rc = headers(c, m, r);
	if (rc > 0)
		rc = body(c, m, r);
	if (rc > 0)
		return end_of_message(c, m, r);
	if (rc < 0)
		return -1;
	/* A final reply before EOM: the MTA ends the transaction with an abort. */
	return send_packet(c, SMFIC_ABORT, NULL, 0, &ar) != 0 || flush(c, &ar) != 0 ? -1 : 0;
}

void mg_quit(struct mg_conn *c)
{
	struct mg_reply r;

	if (c->fd >= 0 && send_packet(c, SMFIC_QUIT, NULL, 0, &r) == 0)
		(void)flush(c, &r);
	mg_close(c);
}

void mg_close(struct mg_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->pkt);
	free(c->in);
	free(c->out);
	c->pkt = c->in = c->out = NULL;
	c->pkt_len = c->pkt_cap = c->in_cap = c->out_len = c->out_cap = 0;
}
