/*
 * libmilter glue: the callbacks collect the client, the envelope and the
 * message in wire form, hand the message to the scanning pipeline at end of
 * message and turn its decision into a reply and header changes.
 *
 * Debian's libmilter runs one connection's callbacks on whichever worker
 * thread is free, so every bit of per-connection state lives behind
 * smfi_setpriv() and nothing here is shared but the read-only config.
 *
 * A message takes what it needs of the config at MAIL FROM (how to hold
 * it, which headers are ours) and the config itself only for the scan at
 * end of message: a slow client never keeps an old signature set alive
 * after a reload, nor holds a blocking reload back.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "cidr.h"
#include "decision.h"
#include "message.h"
#include "milter.h"
#include "runtime.h"
#include "safefs.h"
#include "scan.h"
#include "util.h"
#include "wirebuf.h"

#define MILTER_MAX_REPLY	980	/* libmilter's limit for one line */
#define SMTP_MAX_LINE		512	/* a reply line with its CRLF */
#define MILTER_ACTIONS	(SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | \
			 SMFIF_CHGBODY)

/*
 * The steps the MTA need not wait on: nothing is decided before the end of
 * the message, so a recipient, a header, the end of the headers or a body
 * chunk cannot be refused on its own, and a reply to each would cost a
 * round trip per line of the message.  A step that cannot keep its data
 * leaves the transaction closed or the wire buffer failed, and the end of
 * the message answers for it.  libmilter offers them to every connection
 * (it answers "continue" itself to an MTA that cannot do without), so
 * these callbacks always answer SMFIS_NOREPLY.
 */
#define MILTER_NOREPLY	(SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH | \
			 SMFIP_NR_BODY)

/* Per-connection state, behind smfi_setpriv. */
struct conn {
	struct message msg;		/* the client and the transaction */
	/* the current message */
	size_t	 expect;		/* SIZE= from MAIL FROM, or 0 */
	bool	 open;			/* MAIL FROM accepted, no EOM yet */
	struct wirebuf_opts hold;	/* from the config of MAIL FROM */
	char	*spool;			/* hold.spool points here */
	/* the names of the headers we add (as sm_header holds them), and
	 * how often each came with the message */
	char	 ourhdr[DECISION_MAX_HEADERS][SM_HEADER_NAME_MAX];
	size_t	 ours[DECISION_MAX_HEADERS];
	size_t	 nour;
	struct generation *gen;		/* the scan's, at end of message */
	struct message_input *in;		/* NULL until the first header */
};


static struct conn *
conn_get(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static void
message_reset(struct conn *c)
{
	message_input_unref(c->in);
	c->in = NULL;
	runtime_release(c->gen);
	c->gen = NULL;
	c->open = false;
	free(c->spool);
	c->spool = NULL;
	c->nour = 0;
	message_end_transaction(&c->msg);
	c->expect = 0;
	memset(c->ours, 0, sizeof(c->ours));
}

static int our_header(const struct conn *, const char *);

/* At MAIL FROM: what the message needs of conf until its scan. */
static void
message_take(struct conn *c, const struct generation *g)
{
	const struct sm_conf *conf = g->conf;
	const struct sm_msgopts *m = &conf->eff;
	const struct sm_engine_inst *e;
	const struct sm_av *av;

	c->spool = g->spool_dir ? xstrdup(g->spool_dir) : NULL;
	c->hold = (struct wirebuf_opts){
		.padding = (size_t)m->header_padding,
		.threshold = (size_t)m->large_message_threshold,
		.in_memory = m->use_wire_rep,
		.spool = c->spool,
		.limit = (size_t)m->max_message_size,
	};
	/* the headers our instances add, in order: copies that come with
	 * the message are removed (spoofing) */
	for (size_t a = 0; a < conf->navs; a++) {
		av = conf->avs[a];
		if (!av->add_headers)	/* at most 16: config-checked */
			continue;
		sm_strlcpy(c->ourhdr[c->nour++], av->scanned_header,
		    sizeof(c->ourhdr[0]));
		sm_strlcpy(c->ourhdr[c->nour++], av->status_header,
		    sizeof(c->ourhdr[0]));
		for (int i = 0; av->antispam && i < 3; i++) {
			const char *h = i == 0 ? av->spam_flag_header :
			    i == 1 ? av->spam_status_header :
			    av->spam_level_header;

			if (*h != '\0')
				sm_strlcpy(c->ourhdr[c->nour++], h,
				    sizeof(c->ourhdr[0]));
		}
	}
	/* and the engines' context_variable pairs (at most 8: checked) */
	for (size_t i = 0; (e = conf_engine(conf, i, &av)) != NULL; i++) {
		const char *cv = e->context_variable;

		if (cv == NULL || our_header(c, cv) >= 0)
			continue;
		sm_strlcpy(c->ourhdr[c->nour++], cv, sizeof(c->ourhdr[0]));
		snprintf(c->ourhdr[c->nour++], sizeof(c->ourhdr[0]), "%s_info",
		    cv);
	}
	c->open = true;
}

/* Starts the wire buffer before the first header arrives. */
static void
message_begin(struct conn *c)
{
	if (c->in != NULL)
		return;
	c->in = message_input_new();
	wirebuf_begin(&c->in->wb, c->msg.sender, c->expect, &c->hold);
}

/* Index of name among our header names, or -1. */
static int
our_header(const struct conn *c, const char *name)
{
	for (size_t i = 0; i < c->nour; i++)
		if (strcasecmp(name, c->ourhdr[i]) == 0)
			return (int)i;
	return -1;
}

static void set_reply(SMFICTX *, const struct sm_smtp_reply *);

/* Our actions, the steps above without a reply, and no DATA or unknown
 * command (no callback for them), where the MTA can leave them out. */
static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps,
    unsigned long f2, unsigned long f3, unsigned long *pactions,
    unsigned long *psteps, unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx;
	(void)f2;
	(void)f3;
	/* the libmilter we know always offers them; one that did not
	 * would get no replies where it waits for one.  Refusing aborts the
	 * connection, and the MTA's milter default applies (Postfix's
	 * milter_default_action; Sendmail's F= flags) */
	if ((steps & MILTER_NOREPLY) != MILTER_NOREPLY) {
		msg_err("libmilter offers steps 0x%lx without the no-reply "
		    "ones (0x%lx): refusing the connection; the MTA's milter "
		    "default action applies", steps,
		    (unsigned long)MILTER_NOREPLY);
		return SMFIS_REJECT;
	}
	(void)actions;		/* libmilter refuses an MTA without ours */
	*pactions = MILTER_ACTIONS;
	*psteps = MILTER_NOREPLY | (steps & (SMFIP_NODATA | SMFIP_NOUNKNOWN));
	*pf2 = *pf3 = 0;
	return SMFIS_CONTINUE;
}

/* No config to take: stopping, or a blocking reload under way. */
static sfsistat
unavailable(SMFICTX *ctx)
{
	struct sm_smtp_reply r;

	decision_unavailable(runtime_reloading(), runtime_reloading_code(),
	    &r);
	set_reply(ctx, &r);
	return r.rcode[0] == '5' ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	char addr[INET6_ADDRSTRLEN] = "unknown";

	/* libmilter's own union: room for either family */
	cidr_addr_text(sa, sizeof(struct sockaddr_in6), addr, sizeof(addr));
	if (message_set(&c->msg.client_addr, addr) == -1 ||
	    message_set(&c->msg.client_name,
	    hostname ? hostname : "unknown") == -1 ||
	    smfi_setpriv(ctx, c) != MI_SUCCESS) {
		message_clear(&c->msg);
		free(c);
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct conn *c = conn_get(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (message_set(&c->msg.helo, helo ? helo : "") == -1)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

/* "<a@b>" → "a@b", as logs and the envelope line show it, into *field;
 * -1 when there is no memory for it. */
static int
set_address(char **field, const char *addr)
{
	size_t n = strlen(addr);
	char *copy;

	if (n < 2 || addr[0] != '<' || addr[n - 1] != '>')
		return message_set(field, addr);
	if ((copy = strndup(addr + 1, n - 2)) == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

/* A SIZE= over max_message_size is refused at MAIL FROM, before DATA. */
static sfsistat
too_large_declared(SMFICTX *ctx, const struct conn *c,
    const struct sm_conf *conf)
{
	const struct sm_msgopts *m = &conf->eff;
	struct sm_smtp_reply r;

	if (!decision_too_large(conf, c->expect, &r))
		return SMFIS_CONTINUE;
	set_reply(ctx, &r);
	msg_info("MAIL FROM <%s> refused: SIZE=%zu over max_message_size %lld",
	    c->msg.sender, c->expect, m->max_message_size);
	return SMFIS_REJECT;
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_get(ctx);
	struct generation *g;
	const char *auth;
	sfsistat rc;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	message_reset(c);
	if ((g = runtime_acquire()) == NULL)
		return unavailable(ctx);
	if (set_address(&c->msg.sender, argv[0] ? argv[0] : "") == -1)
		goto nomem;
	for (size_t i = 1; argv[0] != NULL && argv[i] != NULL; i++)
		if (strncasecmp(argv[i], "SIZE=", 5) == 0)
			c->expect = strtoul(argv[i] + 5, NULL, 10);
	if ((auth = smfi_getsymval(ctx, "{auth_authen}")) != NULL)
		if (message_set(&c->msg.auth, auth) == -1)
			goto nomem;
	message_take(c, g);
	rc = too_large_declared(ctx, c, g->conf);
	runtime_release(g);
	return rc;

nomem:
	msg_warnx("MAIL FROM: out of memory: tempfail");
	runtime_release(g);
	message_reset(c);
	return SMFIS_TEMPFAIL;
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_get(ctx);
	char *rcpt = NULL;

	if (c == NULL)		/* connect failed: the MTA goes no further */
		return SMFIS_NOREPLY;
	if (set_address(&rcpt, argv[0] ? argv[0] : "") < 0) {
		/* not scanned without its envelope: eom tempfails */
		msg_warnx("RCPT TO: out of memory: the message will be "
		    "tempfailed");
		message_reset(c);
		return SMFIS_NOREPLY;
	}
	message_add_rcpt(&c->msg, rcpt);
	free(rcpt);
	return SMFIS_NOREPLY;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_get(ctx);
	int idx;

	if (c == NULL || !c->open)	/* no transaction: eom tempfails */
		return SMFIS_NOREPLY;
	message_begin(c);
	wirebuf_header(&c->in->wb, name, value ? value : "");
	if ((idx = our_header(c, name)) >= 0)
		c->ours[idx]++;
	return SMFIS_NOREPLY;
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);

	if (c == NULL || !c->open)
		return SMFIS_NOREPLY;
	message_begin(c);
	wirebuf_eoh(&c->in->wb);
	return SMFIS_NOREPLY;
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = conn_get(ctx);

	if (c == NULL || !c->open)
		return SMFIS_NOREPLY;
	message_begin(c);
	wirebuf_append(&c->in->wb, chunk, len);
	return SMFIS_NOREPLY;
}

/*
 * smfi_setreply treats '%' as a format character: double it.  The line
 * the client gets ("550 5.7.1 text" CRLF) stays within SMTP's 512 octets,
 * whatever a virus name or a reject_text holds: the text is cut.
 */
static void
set_reply(SMFICTX *ctx, const struct sm_smtp_reply *r)
{
	char text[MILTER_MAX_REPLY];
	size_t n = 0, sent = 0;
	size_t room = SMTP_MAX_LINE - 2 - strlen(r->rcode) - 1 -
	    (r->xcode[0] != '\0' ? strlen(r->xcode) + 1 : 0);

	for (const char *p = r->text; *p && sent < room &&
	    n + 2 < sizeof(text); p++, sent++) {
		if (*p == '%')
			text[n++] = '%';
		text[n++] = *p;
	}
	text[n] = '\0';
	sm_clean_text(text);
	if (smfi_setreply(ctx, (char *)r->rcode, (char *)r->xcode, text) !=
	    MI_SUCCESS)
		msg_warnx("smfi_setreply %s %s failed", r->rcode, r->xcode);
}

/* The decision's reply. */
static void
set_decision_reply(SMFICTX *ctx, const struct sm_decision *d)
{
	struct sm_smtp_reply r;

	sm_strlcpy(r.rcode, d->rcode, sizeof(r.rcode));
	sm_strlcpy(r.xcode, d->xcode, sizeof(r.xcode));
	sm_strlcpy(r.text, d->text, sizeof(r.text));
	set_reply(ctx, &r);
}

/* Sends len bytes as part of the new body, in chunks libmilter takes. */
static int
send_body(const void *buf, size_t len, void *ctx)
{
	const unsigned char *p = buf;

	while (len > 0) {
		size_t n = len < 1048576 ? len : 1048576;

		if (smfi_replacebody(ctx, (unsigned char *)p, (int)n) !=
		    MI_SUCCESS)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* strip: the body with the decision's edits applied. */
static int
replace_body(SMFICTX *ctx, struct conn *c, const struct sm_decision *d)
{
	const struct wirebuf *wb = &c->in->wb;
	const unsigned char *msg;
	void *map;
	int rc;

	if ((msg = wirebuf_map(wb, &map)) == NULL)
		return -1;
	rc = decision_apply_body(d, msg + wb->envelope_len,
	    wb->len - wb->envelope_len, send_body, ctx);
	wirebuf_unmap(wb, map);
	return rc;
}

/* Removes copies of our headers the message arrived with (spoofing). */
static void
remove_our_headers(SMFICTX *ctx, struct conn *c)
{
	for (size_t h = 0; h < c->nour; h++)
		for (size_t i = c->ours[h]; i > 0; i--)
			smfi_chgheader(ctx, c->ourhdr[h], (int)i, NULL);
}

/* Records the queue id and the macros the skip rules read, as the MTA
 * sent them at any stage so far. */
static void
record_macros(SMFICTX *ctx, struct conn *c, const struct sm_conf *conf)
{
	const char *name;
	char braced[128];

	/* a short id; no memory for it leaves the last one */
	(void)message_set(&c->msg.queue_id, smfi_getsymval(ctx, "i"));
	for (size_t i = 0; (name = scan_macro_wanted(conf, i)) != NULL; i++) {
		snprintf(braced, sizeof(braced), "{%s}", name);
		message_set_macro(&c->msg, name, smfi_getsymval(ctx, braced));
	}
}

/* Resets the MTA's milter timeout while a scan is waited for. */
static void
keep_mta_waiting(void *ctx)
{
	smfi_progress(ctx);
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);
	struct batch_progress progress = { keep_mta_waiting, ctx };
	struct sm_decision d;
	const char *qid;
	sfsistat rc = SMFIS_CONTINUE;

	if (c == NULL || !c->open)
		return SMFIS_TEMPFAIL;
	message_begin(c);
	/* the newest config scans it, whatever it came in under */
	if ((c->gen = runtime_acquire()) == NULL) {
		char q[2][SM_NAME_MAX + 3], from[SM_NAME_MAX];

		qid = smfi_getsymval(ctx, "i");
		snprintf(from, sizeof(from), "<%s>",
		    message_str(c->msg.sender, ""));
		msg_info("%s: client=%s[%s], from=%s: not scanned, %s: "
		    "tempfail", qid ? qid : "", log_quote(message_str(
		    c->msg.client_name, "unknown"), q[0], sizeof(q[0])),
		    message_str(c->msg.client_addr, "unknown"),
		    log_quote(from, q[1], sizeof(q[1])),
		    runtime_reloading() ? "reloading" : "stopping");
		rc = unavailable(ctx);
		message_reset(c);
		return rc;
	}
	record_macros(ctx, c, c->gen->conf);
	qid = message_str(c->msg.queue_id, "");
	scan_message(c->gen, c->in, &c->msg, &progress, &d);
	scan_log(c->gen->conf, &c->msg, wirebuf_message_size(&c->in->wb),
	    c->in->wb.spilled, &d);
	switch (d.reply) {
	case REPLY_REJECT:
		set_decision_reply(ctx, &d);
		rc = SMFIS_REJECT;
		break;
	case REPLY_TEMPFAIL:	/* a 5xx tempfailure refuses for good */
		set_decision_reply(ctx, &d);
		rc = d.rcode[0] == '5' ? SMFIS_REJECT : SMFIS_TEMPFAIL;
		break;
	case REPLY_DISCARD:
		rc = SMFIS_DISCARD;
		break;
	case REPLY_STRIP:
		if (replace_body(ctx, c, &d) < 0) {
			/* could not cut: it must not go out as it is */
			msg_warnx("%s: cannot replace the body: rejecting",
			    qid);
			set_reply(ctx, &d.fallback);
			rc = SMFIS_REJECT;
			break;
		}
		goto tag;
	case REPLY_QUARANTINE:
		if (smfi_quarantine(ctx, sm_clean_text(d.text)) != MI_SUCCESS) {
			/* not held: it must not be delivered either */
			msg_warnx("%s: the MTA refused to quarantine it: "
			    "rejecting", qid);
			set_reply(ctx, &d.fallback);
			rc = SMFIS_REJECT;
			break;
		}
		/* tagged like accepted mail */
		__attribute__((fallthrough));
	case REPLY_ACCEPT:
	tag:
		remove_our_headers(ctx, c);
		for (size_t i = 0; i < d.nheaders; i++)
			if (smfi_addheader(ctx,
			    sm_clean_text(d.headers[i].name),
			    sm_clean_text(d.headers[i].value)) != MI_SUCCESS)
				msg_warnx("%s: cannot add header %s",
				    qid, d.headers[i].name);
		rc = SMFIS_ACCEPT;
		break;
	}
	message_reset(c);
	return rc;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);

	if (c != NULL)
		message_reset(c);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	message_reset(c);
	message_clear(&c->msg);
	free(c);
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
	.xxfi_name = PACKAGE_NAME,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = MILTER_ACTIONS,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};

/* The path of a unix listen spec, or NULL for the other kinds. */
static const char *
socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (*spec == '/')
		return spec;
	return NULL;
}

/* The unix socket milter_open made (its path and identity), for
 * milter_close to remove that one and no other. */
static struct {
	char	*path;
	dev_t	 dev;
	ino_t	 ino;
} made;

/*
 * libmilter binds a unix socket by path, as root.  Its directory must be
 * one root trusts (safefs.h), or whoever may write there could swap the
 * socket for a link between the bind and the chmod/chown; the socket is
 * born with the configured mode (umask), then gets its group.
 */
int
milter_open(const struct sm_conf *conf, const char *listen)
{
	const char *path = socket_path(listen);
	char err[1024], base[256];
	gid_t gid = (gid_t)-1;
	mode_t old;
	int dfd, rc;

	if (smfi_register(milter_desc) != MI_SUCCESS) {
		msg_err("smfi_register failed");
		return -1;
	}
	smfi_setmaxdatasize(1048575);
	if (path != NULL) {
		if ((dfd = safefs_open_parent(path, base, sizeof(base), err,
		    sizeof(err))) < 0) {
			msg_err("listen %s: %s", listen, err);
			return -1;
		}
		close(dfd);
		if (conf->socket_group != NULL) {
			struct group *gr = getgrnam(conf->socket_group);

			if (gr == NULL) {
				msg_err("socket_group %s: no such group",
				    conf->socket_group);
				return -1;
			}
			gid = gr->gr_gid;
		}
	}
	if (smfi_setconn((char *)listen) != MI_SUCCESS) {
		msg_err("smfi_setconn %s failed", listen);
		return -1;
	}
	if (smfi_setbacklog((int)conf->backlog) != MI_SUCCESS)
		msg_warnx("smfi_setbacklog %lld failed", conf->backlog);
	old = umask(~(mode_t)conf->socket_mode & 0777);
	rc = smfi_opensocket(true);
	umask(old);
	if (rc != MI_SUCCESS) {
		msg_err("cannot listen on %s (is the directory there and "
		    "writable, or the address in use?)", listen);
		return -1;
	}
	if (path != NULL && safefs_socket_perms(path,
	    (mode_t)conf->socket_mode, gid, err, sizeof(err)) < 0) {
		msg_err("listen %s: %s", listen, err);
		return -1;
	}
	if (path != NULL) {
		struct stat st;

		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			free(made.path);
			made.path = xstrdup(path);
			made.dev = st.st_dev;
			made.ino = st.st_ino;
		}
	}
	return 0;
}

void
milter_close(void)
{
	struct stat st;

	if (made.path == NULL)
		return;
	/* ours still: not one a later daemon bound at the same path */
	if (lstat(made.path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == made.dev && st.st_ino == made.ino &&
	    unlink(made.path) < 0)
		msg_info("cannot remove %s: %s", made.path, strerror(errno));
	free(made.path);
	made.path = NULL;
}

int
milter_run(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : -1;
}

void
milter_stop(void)
{
	smfi_stop();
}
