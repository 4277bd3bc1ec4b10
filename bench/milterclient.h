/*
 * milterclient.h - the MTA side of the milter protocol (version 6), as
 * Postfix and Sendmail speak it: option negotiation, connect/helo, one or
 * more transactions per connection (MAIL ... EOM), quit. Used by miltergen.
 * One mg_conn belongs to one thread.
 */
#ifndef BENCH_MILTERCLIENT_H
#define BENCH_MILTERCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libmilter/mfdef.h>

#include "eml.h"

enum mg_verdict {
	MGV_CONTINUE, /* 'c' (at EOM: the message passes) */
	MGV_ACCEPT,   /* 'a' */
	MGV_REJECT,   /* 'r', or 'y' with a 5xx code */
	MGV_TEMPFAIL, /* 't', or 'y' with a 4xx code */
	MGV_DISCARD,  /* 'd' */
	MGV_OTHER,    /* 'y' with another code, '4' shutdown, 'f' conn fail, protocol error */
	MGV_CONNERR,  /* could not connect, or the connection broke */
	MGV_TIMEOUT,  /* no reply within the per-reply timeout */
	MGV_COUNT
};

/* Short lower-case name of a verdict ("accept", "reject", ...). */
const char *mg_verdict_name(enum mg_verdict v);

/* A loopback milter address parsed from unix:/path, inet:PORT@127.0.0.1, inet6:PORT@[::1]. */
struct mg_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Parse spec; returns 0, or -1 with a reason in err. Only loopback addresses are accepted. */
int mg_parse_addr(const char *spec, struct mg_addr *a, char *err, size_t errlen);

/* What happened at one protocol stage. */
struct mg_reply {
	enum mg_verdict verdict;
	char text[512];     /* reply code text ('y'), or why it failed */
	unsigned mods;      /* modification packets seen (h m i b + - 2 e) */
	unsigned progress;  /* 'p' packets seen */
	unsigned waits;     /* replies waited for (round trips) */
	int quarantined;    /* a 'q' was seen */
};

struct mg_conn {
	int fd;
	double timeout_s;         /* per reply; a progress packet restarts it */
	uint32_t version;         /* as answered by the milter */
	uint32_t actions;         /* SMFIF_* the milter may use */
	uint32_t pflags;          /* SMFIP_* the milter asked for */
	unsigned char *pkt;       /* outgoing packet scratch (owned) */
	size_t pkt_len, pkt_cap;
	unsigned char *out;       /* packets queued for writing (owned) */
	size_t out_len, out_cap;
	unsigned char *in;        /* incoming packet buffer (owned) */
	size_t in_cap;
};

/* The SMTP client as the MTA describes it to the milter. */
struct mg_client {
	int ipv6;            /* family '6' instead of '4' */
	unsigned host_index; /* varies the client address */
};

/* One transaction. */
struct mg_msg {
	const char *queue_id;
	const char *sender;      /* e.g. "<a@example.org>" */
	const char *rcpt;
	const struct eml *eml;   /* header fields */
	const unsigned char *body;
	size_t body_len;
	size_t size;             /* message size for the SIZE= argument */
};

/*
 * Open the socket and negotiate (SMFIC_OPTNEG offering every action and
 * protocol step but the SMFIP_* flags in withheld, as an MTA without them).
 * Returns 0, or -1 with r->verdict CONNERR/TIMEOUT/OTHER and r->text set; on
 * -1 the connection is closed.
 */
#define MG_NOREPLY_STEPS (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
			  SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)
int mg_open(struct mg_conn *c, const struct mg_addr *a, double timeout_s, uint32_t withheld,
	    struct mg_reply *r);

/*
 * "Closed" below means the descriptor is closed; call mg_close (or mg_quit)
 * afterwards in every case to free the buffers.
 *
 * Connect and HELO stages. Returns 0 with r->verdict (CONTINUE: go on with
 * messages; anything else applies to the whole connection), or -1 when the
 * connection broke (closed; r says why).
 */
int mg_hello(struct mg_conn *c, const struct mg_client *cl, struct mg_reply *r);

/*
 * One message, MAIL to EOM; an early final reply ends it with SMFIC_ABORT
 * as an MTA does. Returns 0 with r set (connection reusable), or -1 when the
 * connection broke (closed; r->verdict is CONNERR/TIMEOUT/OTHER, or the early
 * final verdict when only the abort that followed it failed).
 */
int mg_message(struct mg_conn *c, const struct mg_msg *m, struct mg_reply *r);

/* Send SMFIC_QUIT (best effort) and close. Safe on a closed connection. */
void mg_quit(struct mg_conn *c);

/* Close without QUIT and free buffers. Safe to call twice. */
void mg_close(struct mg_conn *c);

#endif
