/*
 * fuzz_milter: the milter layer (src/mta/milter.c) as libmilter drives it,
 * with a fake libmilter (fake_milter.c) and a fake engine, so a whole SMTP
 * session runs in-process: no socket, no libmilter thread.
 *
 * Each input is a list of operations on two contexts (connections), each
 * a callback with bounded arguments: connect, helo, envfrom and envrcpt
 * with odd ESMTP arguments, data, headers (repeated), eoh, body in chunks
 * of any size, eom with the engines' verdicts for it (each instance's,
 * for the whole message and its parts or for the parts alone; the MTA
 * may refuse the changes it asks for), abort, unknown, close, and the
 * MTA's macros -- in any order, as a confused MTA or libmilter's own
 * error recovery may send them.  Every context is closed at the end of
 * the input.
 *
 * The configuration runs three instances of the fake engine, each answer
 * its own (reject, strip, discard; quarantine and tempfail for unscannable
 * mail; tempfailure codes 452, 453 and 554), a small max_message_size and
 * a large_message_threshold that sends larger mail to file_base.  A reload
 * (an operation too, at most two an input) switches to a second one with
 * other actions, codes and header names that holds mail in memory; every
 * input starts under the first.
 *
 * Checked on every input (abort() on violation):
 *   - a header, eoh or body is taken in a transaction envfrom accepted
 *     and refused (tempfail) outside one, until eom, abort or close;
 *   - the engine sees the envelope of the message (its sender, the
 *     connection's helo), not an earlier one's;
 *   - eom answers once: accept, discard, reject or tempfail, never
 *     continue; a reject or tempfail comes with exactly one reply that
 *     libmilter takes, with a code and enhanced code from the config;
 *     outside a transaction only a bare tempfail;
 *     header and body changes only with accept (fake_milter.c also checks
 *     each change, and that none comes outside eom);
 *   - close clears the private pointer (LeakSanitizer finds it unfreed);
 *   - file_base holds nothing but directories, and no descriptor is left
 *     open, once the input's connections are closed;
 *   - and ASan/UBSan: no crash, no undefined behaviour.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <scanmilter/engine.h>

#include "conf.h"
#include "fake_milter.h"
#include "generation.h"
#include "log.h"
#include "milter.h"
#include "runtime.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* ---- the fake engine ---------------------------------------------------- */

#define FUZZ_SLOTS	3

/* The verdict each slot's engine gives at the next eom: set by the
 * target before the callback, read by the pool's threads after the
 * job queue's lock. */
static struct {
	enum sm_verdict verdict;
	char	 name[SM_NAME_MAX];
} slot_answer[FUZZ_SLOTS];
static bool parts_only;		/* the whole message is clean */

/* The envelope every object of the message must carry (checked when a
 * transaction is open at eom), and what the engine saw otherwise. */
static bool check_envelope;
static char want_sender[300], want_helo[300];
static char envelope_bad[700];	/* "" or the first mismatch */
static pthread_mutex_t envelope_mu = PTHREAD_MUTEX_INITIALIZER;

static void
check_object_envelope(const struct sm_object *obj)
{
	const char *sender = obj->sender ? obj->sender : "";
	const char *helo = obj->helo ? obj->helo : "";

	if (!__atomic_load_n(&check_envelope, __ATOMIC_ACQUIRE) ||
	    (strcmp(sender, want_sender) == 0 && strcmp(helo, want_helo) == 0))
		return;
	pthread_mutex_lock(&envelope_mu);
	if (envelope_bad[0] == '\0')
		snprintf(envelope_bad, sizeof(envelope_bad), "sender <%.250s> "
		    "helo '%.100s', want <%.250s> '%.60s'", sender, helo,
		    want_sender, want_helo);
	pthread_mutex_unlock(&envelope_mu);
}

struct fuzz_engine_conf {
	long long slot;
};

static const struct sm_option fuzz_engine_options[] = {
	{ "slot", SM_OPT_INT, "0", 0, FUZZ_SLOTS - 1, NULL,
	  offsetof(struct fuzz_engine_conf, slot), "which answer it gives" },
	SM_OPTION_END
};

static void *
fuzz_engine_create(const void *conf, const struct sm_engine_env *env,
    char *err, size_t errlen)
{
	(void)env;
	(void)err;
	(void)errlen;
	return (void *)conf;
}

static int
fuzz_engine_scan(void *handle, const struct sm_object *obj,
    struct sm_result *res)
{
	const struct fuzz_engine_conf *c = handle;
	size_t s = (size_t)c->slot;

	if (obj->data == NULL && obj->fd < 0)
		fake_fail("engine: an object with neither data nor fd");
	if (obj->envelope_len > obj->len)
		fake_fail("engine: envelope %zu past the object's %zu bytes",
		    obj->envelope_len, obj->len);
	check_object_envelope(obj);
	res->verdict = slot_answer[s].verdict;
	if (parts_only && obj->kind == SM_OBJ_MESSAGE)
		res->verdict = SM_CLEAN;
	snprintf(res->name, sizeof(res->name), "%s", slot_answer[s].name);
	return res->verdict == SM_ERROR ? -1 : 0;
}

static void
fuzz_engine_version(void *handle, struct sm_engine_version *out)
{
	(void)handle;
	memset(out, 0, sizeof(*out));
	snprintf(out->engine, sizeof(out->engine), "fuzz 1");
}

static void
fuzz_engine_destroy(void *handle)
{
	(void)handle;
}

static const struct sm_engine_ops sm_engine_fuzz = {
	.abi_version = SM_ENGINE_ABI_VERSION,
	.ops_size = sizeof(struct sm_engine_ops),
	.name = "fuzz",
	.pool = SM_POOL_CPU,
	.options = fuzz_engine_options,
	.conf_size = sizeof(struct fuzz_engine_conf),
	.create = fuzz_engine_create,
	.scan = fuzz_engine_scan,
	.version = fuzz_engine_version,
	.destroy = fuzz_engine_destroy,
};

/* Replaces src/pipeline/engines_builtin.c here. */
const struct sm_engine_ops *const sm_builtin_engines[] = {
	&sm_engine_fuzz,
	NULL
};

/* ---- the running configuration ------------------------------------------ */

static char dir[] = "/tmp/fuzz-milter.XXXXXX";	/* config, fb/ file_base */
static char conf_path[64], file_base[64];

/* The replies the configurations can give: code, enhanced code's prefix. */
static const struct { const char *rcode, *xprefix; } config_replies[] = {
	{ "550", "5.7.1" },		/* reject (any instance) */
	{ "552", "5.3.4" },		/* max_message_size, oversize_action */
	{ "452", "4.3." },		/* av1's tempfailure, and av2's */
	{ "453", "4.3." },
	{ "554", "5.3." },		/* av3's, a 5xx tempfailure */
	{ "455", "4.3." },		/* the second configuration's */
	{ "456", "4.3." },
};

/*
 * Two configurations a reload switches between: a message may begin under
 * one and be scanned under the other (other header names, actions, ways
 * to hold it).  The first holds mail over 4K in file_base and refuses
 * over 48K; the second holds it in memory with no limit.
 */
static const char *const config_text[2] = {
    "milter {\n"
    "  listen = \"inet:10025@127.0.0.1\"  log_level = error\n"
    "  file_base = \"%s\"\n"
    "  max_message_size = 48K\n"
    "  large_message_threshold = 4K\n"
    "}\n"
    "antivirus \"av1\" {\n"
    "  action = reject  unscannable_action = tempfail  on_error = tempfail\n"
    "  tempfailure = 452  cache_size = 0\n"
    "  reject_text = \"Virus %%v found by %%e (%%i) 100%%\"\n"
    "  fuzz \"f1\" { slot = 0  context_variable = \"X-Fuzz-Ctx\" }\n"
    "}\n"
    "antivirus \"av2\" {\n"
    "  action = strip  unscannable_action = quarantine  on_error = accept\n"
    "  tempfailure = 453  cache_size = 0\n"
    "  scanned_header = \"X-AV2-Scanned\"  status_header = \"X-AV2-Status\"\n"
    "  skip_variable = \"skip_av2\"\n"
    "  fuzz \"f2\" { slot = 1 }\n"
    "}\n"
    "antivirus \"av3\" {\n"
    "  action = discard  unscannable_action = pass  on_error = reject\n"
    "  tempfailure = 554  cache_size = 0  skip_authenticated = yes\n"
    "  scanned_header = \"X-AV3-Scanned\"  status_header = \"X-AV3-Status\"\n"
    "  fuzz \"f3\" { slot = 2 }\n"
    "}\n"
    "control { listen = \"\" }\n",

    "milter {\n"
    "  listen = \"inet:10025@127.0.0.1\"  log_level = error\n"
    "  file_base = \"%s\"\n"
    "  in_memory = yes  buffer_padding = 0\n"
    "}\n"
    "antivirus \"av1\" {\n"
    "  action = reject  unscannable_action = quarantine  on_error = reject\n"
    "  tempfailure = 455  cache_size = 0  mime_decompose = no\n"
    "  reject_text = \"%%v; %%v (%%i/%%e)\"\n"
    "  fuzz \"f1\" { slot = 0  context_variable = \"X-Other-Ctx\" }\n"
    "}\n"
    "antivirus \"av2\" {\n"
    "  action = quarantine  unscannable_action = strip  on_error = tempfail\n"
    "  tempfailure = 452  cache_size = 0\n"
    "  scanned_header = \"X-AV3-Scanned\"  status_header = \"X-AV2-Status\"\n"
    "  fuzz \"f2\" { slot = 1 }\n"
    "}\n"
    "antivirus \"av3\" {\n"
    "  action = tempfail  unscannable_action = discard  on_error = accept\n"
    "  tempfailure = 456  cache_size = 0  add_headers = no\n"
    "  fuzz \"f3\" { slot = 2 }\n"
    "}\n"
    "control { listen = \"\" }\n",
};
static int config_now;		/* which one runs */

/* Writes configuration i where the runtime reads it. */
static void
write_config(int i)
{
	FILE *f = fopen(conf_path, "w");

	if (f == NULL || fprintf(f, config_text[i], file_base) < 0 ||
	    fclose(f) != 0)
		fake_fail("cannot write %s", conf_path);
}

/* Switches to configuration i, as a reload does. */
static void
reload_config(int i)
{
	char err[2048];

	if (i == config_now)
		return;
	write_config(i);
	if (runtime_reload("fuzz", err, sizeof(err)) != 0)
		fake_fail("reload to configuration %d: %s", i, err);
	config_now = i;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
finish(void)
{
	runtime_stop();
	(void)runtime_wait(10000);
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Anything but a directory left under file_base is a message kept. */
static const char *left_path;
static char left_buf[512];

static int
left_behind(const char *path, const struct stat *st, int flag,
    struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_D || flag == FTW_DP)
		return 0;
	snprintf(left_buf, sizeof(left_buf), "%s", path);
	left_path = left_buf;
	return 1;
}

static bool
file_base_empty(void)
{
	left_path = NULL;
	return nftw(file_base, left_behind, 16, FTW_PHYS) == 0;
}

static int open_fds_at_start;

/* Open descriptors but pipes (libFuzzer's symbolizer opens some while it
 * runs) and the one the count itself holds. */
static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[256];
	ssize_t len;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		if ((len = readlink(path, target, sizeof(target) - 1)) < 0)
			continue;
		target[len] = '\0';
		n += strncmp(target, "pipe:", 5) != 0;
	}
	closedir(d);
	return n;
}

/* What the descriptors are, when one too many is open. */
static void
show_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[256];
	ssize_t n;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		if ((n = readlink(path, target, sizeof(target) - 1)) < 0)
			continue;
		target[n] = '\0';
		fprintf(stderr, "fuzz_milter: fd %s: %s\n", e->d_name, target);
	}
	closedir(d);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[2048];
	struct generation *g;
	struct sm_conf *c;

	(void)argc;
	(void)argv;
	log_set_priority(LOG_CRIT);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(conf_path, sizeof(conf_path), "%s/fuzz.conf", dir);
	snprintf(file_base, sizeof(file_base), "%s/fb", dir);
	if (mkdir(file_base, 0700) != 0)
		fake_fail("cannot make %s", file_base);
	write_config(0);
	if ((c = conf_load(conf_path, err, sizeof(err))) == NULL ||
	    (g = generation_new(c, err, sizeof(err))) == NULL)
		fake_fail("%s", err);
	runtime_init(g, conf_path, "inet:10025@127.0.0.1");
	/* registers the callbacks with the fake; opens nothing */
	if (milter_open(g->conf, "inet:10025@127.0.0.1") != 0 ||
	    fake_desc() == NULL)
		fake_fail("milter_open failed");
	atexit(finish);
	return 0;
}

/* ---- the input, read as operations -------------------------------------- */

struct reader {
	const uint8_t *p;
	size_t	 left;
};

static unsigned
get_byte(struct reader *r)
{
	if (r->left == 0)
		return 0;
	r->left--;
	return *r->p++;
}

static unsigned
get_u16(struct reader *r)
{
	unsigned hi = get_byte(r);

	return hi << 8 | get_byte(r);
}

/* Up to max bytes (its length a byte or two) as a C string: a NUL ends
 * it early, as a C string read off the wire would. */
static char *
get_str(struct reader *r, char *buf, size_t max, int wide)
{
	size_t n = wide ? get_u16(r) : get_byte(r);

	if (n > max)
		n = max;
	if (n > r->left)
		n = r->left;
	memcpy(buf, r->p, n);
	buf[n] = '\0';
	r->p += n;
	r->left -= n;
	return buf;
}

/* Header names the layer cares about, and some it does not. */
static const char *const header_names[] = {
	"X-Virus-Scanned", "X-Virus-Status", "X-AV2-Scanned", "X-AV2-Status",
	"X-AV3-Scanned", "X-AV3-Status", "X-Fuzz-Ctx", "X-Fuzz-Ctx_info",
	"x-virus-status", "Content-Type", "Content-Transfer-Encoding",
	"MIME-Version", "Subject", "From", "To", "Received",
};
#define NHEADER_NAMES (sizeof(header_names) / sizeof(header_names[0]))

static const char *const macro_names[] = {
	"i", "{auth_authen}", "{skip_av2}", "j", "{daemon_name}",
	"{if_addr}", "_", "{mail_addr}",
};

static const char *const esmtp_args[] = {
	"SIZE=", "BODY=8BITMIME", "BODY=BINARYMIME", "SMTPUTF8", "AUTH=<>",
	"RET=HDRS", "ENVID=x", "NOTIFY=NEVER", "ORCPT=rfc822;a@b",
};

#define MAX_ARGS	8
#define MAX_OPS		256

/* One envfrom/envrcpt argv: the address, then ESMTP arguments. */
static void
get_argv(struct reader *r, char **argv, char (*buf)[300])
{
	unsigned n = get_byte(r);
	unsigned nargs = n % MAX_ARGS;

	argv[0] = get_str(r, buf[0], 255, 0);
	for (unsigned i = 1; i <= nargs; i++) {
		unsigned kind = get_byte(r);
		char tail[256];

		get_str(r, tail, 255, 0);
		if (kind < 128)	/* a known keyword with a tail */
			snprintf(buf[i], sizeof(buf[i]), "%s%s",
			    esmtp_args[kind % (sizeof(esmtp_args) /
			    sizeof(esmtp_args[0]))], tail);
		else
			snprintf(buf[i], sizeof(buf[i]), "%s", tail);
		argv[i] = buf[i];
	}
	argv[nargs + 1] = NULL;
}

/* ---- the MTA's side of one connection ----------------------------------- */

/* Whether the layer has a transaction, as the MTA sees it: one that
 * envfrom accepted, until eom, abort or close; none; or one envfrom
 * refused (the MTA would send no message, so either answer goes). */
enum txn { TXN_NONE, TXN_OPEN, TXN_REFUSED };

struct conn_model {
	SMFICTX	 ctx;
	bool	 live;		/* some callback ran since the last close */
	enum txn txn;
	char	 sender[300];	/* of the last envfrom, without <> */
	char	 helo[300];	/* the last helo of the connection, or "" */
	unsigned long noreply;	/* the steps negotiated without a reply */
};

static struct conn_model conns[2];

static void
begin(struct conn_model *m)
{
	fake_begin_call(&m->ctx);
	m->live = true;
}

/* The reply must be one libmilter took, from the configuration. */
static void
check_reply(const struct fake_calls *k, char klass, const char *when)
{
	if (k->setreply_refused != 0)
		fake_fail("%s: libmilter refused the reply (too long)", when);
	if (k->setreply != 1)
		fake_fail("%s: %d replies set", when, k->setreply);
	if (k->rcode[0] != klass)
		fake_fail("%s: reply %s for a %s", when, k->rcode,
		    klass == '5' ? "reject" : "tempfail");
	for (size_t i = 0; i < sizeof(config_replies) /
	    sizeof(config_replies[0]); i++)
		if (strcmp(k->rcode, config_replies[i].rcode) == 0 &&
		    strncmp(k->xcode, config_replies[i].xprefix,
		    strlen(config_replies[i].xprefix)) == 0)
			return;
	fake_fail("%s: reply %s %s is not one the config gives", when,
	    k->rcode, k->xcode);
}

static bool
changed(const struct fake_calls *k)
{
	return k->addheader || k->chgheader || k->insheader ||
	    k->quarantine || k->body_chunks;
}

/* The steps libmilter answers "continue" for itself to an MTA that
 * cannot do without a reply (libmilter 8.14 and later offers them all). */
#define LIBMILTER_FAKES	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
			 SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | \
			 SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

/*
 * A recipient, header, eoh or body answer: none, in a transaction or out
 * of one (the layer's "no transaction" is the tempfail at eom), as the
 * negotiation promised; a step it did not take off must have a reply.
 */
static void
check_message_answer(const struct conn_model *m, sfsistat rc,
    const char *what, unsigned long step)
{
	if ((m->noreply & step) != 0 ? rc != SMFIS_NOREPLY :
	    rc == SMFIS_NOREPLY)
		fake_fail("%s %s a transaction: answer %d, no-reply steps "
		    "0x%lx", what, m->txn == TXN_OPEN ? "in" : "outside", rc,
		    m->noreply);
}

static void
do_close(struct conn_model *m)
{
	if (!m->live) {
		fake_ctx_clear(&m->ctx);	/* macros set before connect */
		return;
	}
	begin(m);
	(void)fake_desc()->xxfi_close(&m->ctx);
	if (m->ctx.priv != NULL)
		fake_fail("close: the private data is still set");
	fake_ctx_clear(&m->ctx);
	m->live = false;
	m->txn = TXN_NONE;
	m->helo[0] = '\0';
}

/*
 * Option negotiation, as libmilter runs it before connect: the MTA's
 * offer (any steps it can leave out or do without a reply for) with the
 * ones libmilter fakes; the layer must ask for its actions and may take
 * off only steps offered.
 */
static void
negotiate(struct conn_model *m, unsigned long offer)
{
	const struct smfiDesc *d = fake_desc();
	unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS |
	    SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_QUARANTINE |
	    SMFIF_CHGFROM | SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST;
	unsigned long steps = (offer & 0x1fffff) | LIBMILTER_FAKES;
	unsigned long pa = actions, ps = 0, p2 = 0, p3 = 0;

	m->noreply = 0;
	if (d->xxfi_negotiate == NULL)
		return;
	fake_begin_call(&m->ctx);	/* no callback of the session yet */
	if (d->xxfi_negotiate(&m->ctx, actions, steps, 0, 0, &pa, &ps, &p2,
	    &p3) != SMFIS_CONTINUE)
		fake_fail("negotiate: refused steps 0x%lx", steps);
	if (pa != d->xxfi_flags)
		fake_fail("negotiate: actions 0x%lx, registered 0x%lx", pa,
		    d->xxfi_flags);
	if ((ps & ~steps) != 0)
		fake_fail("negotiate: steps 0x%lx not offered (0x%lx)",
		    ps & ~steps, steps);
	m->noreply = ps & LIBMILTER_FAKES;
	if (m->noreply & (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL))
		fake_fail("negotiate: no reply to connect, helo or mail "
		    "(0x%lx): they can refuse", m->noreply);
}

static void
do_connect(struct conn_model *m, struct reader *r)
{
	char host[65];
	struct sockaddr_storage ss;
	struct sockaddr *sa = (struct sockaddr *)&ss;
	unsigned fam = get_byte(r);
	unsigned long offer = (unsigned long)get_u16(r) << 8 | get_byte(r);
	sfsistat rc;

	get_str(r, host, 64, 0);
	memset(&ss, 0, sizeof(ss));
	for (size_t i = 0; i < 16; i++)
		((uint8_t *)&ss)[8 + i] = (uint8_t)get_byte(r);
	switch (fam % 4) {
	case 0:
		sa = NULL;
		break;
	case 1:
		((struct sockaddr_in *)sa)->sin_family = AF_INET;
		break;
	case 2:
		((struct sockaddr_in6 *)sa)->sin6_family = AF_INET6;
		break;
	default:
		((struct sockaddr_un *)sa)->sun_family = AF_UNIX;
		break;
	}
	do_close(m);		/* a new connection, a new context */
	negotiate(m, offer);
	begin(m);
	rc = fake_desc()->xxfi_connect(&m->ctx, fam & 4 ? NULL : host, sa);
	if (rc != SMFIS_CONTINUE && rc != SMFIS_TEMPFAIL)
		fake_fail("connect: answer %d", rc);
}

static void
do_envfrom(struct conn_model *m, struct reader *r, bool rcpt)
{
	char buf[MAX_ARGS + 1][300];
	char *argv[MAX_ARGS + 2];
	sfsistat rc;

	get_argv(r, argv, buf);
	begin(m);
	if (!rcpt) {
		size_t n = strlen(argv[0]);

		/* "<a@b>" is a@b to the layer, all else as it came */
		if (n >= 2 && argv[0][0] == '<' && argv[0][n - 1] == '>')
			snprintf(m->sender, sizeof(m->sender), "%.*s",
			    (int)(n - 2), argv[0] + 1);
		else
			snprintf(m->sender, sizeof(m->sender), "%s", argv[0]);
		fake_new_message(&m->ctx);
		rc = fake_desc()->xxfi_envfrom(&m->ctx, argv);
		m->txn = rc == SMFIS_CONTINUE ? TXN_OPEN : rc == SMFIS_REJECT ?
		    TXN_REFUSED : TXN_NONE;
		if (rc == SMFIS_REJECT)
			check_reply(&m->ctx.calls, '5', "envfrom");
	} else {
		check_message_answer(m, fake_desc()->xxfi_envrcpt(&m->ctx,
		    argv), "envrcpt", SMFIP_NR_RCPT);
		return;
	}
	if (rc != SMFIS_CONTINUE && rc != SMFIS_REJECT &&
	    rc != SMFIS_TEMPFAIL)
		fake_fail("envfrom: answer %d", rc);
}

static void
do_header(struct conn_model *m, struct reader *r)
{
	unsigned kind = get_byte(r), times = get_byte(r) % 32 + 1;
	char name[65], value[1025];

	get_str(r, name, 64, 0);
	get_str(r, value, 1024, 1);
	if (kind < 160 || name[0] == '\0')
		snprintf(name, sizeof(name), "%s",
		    header_names[kind % NHEADER_NAMES]);
	for (unsigned i = 0; i < times; i++) {
		sfsistat rc;

		begin(m);
		rc = fake_desc()->xxfi_header(&m->ctx, name, value);
		check_message_answer(m, rc, "header", SMFIP_NR_HDR);
		if (m->txn != TXN_NONE)	/* the layer keeps it */
			fake_note_header(&m->ctx, name);
	}
}

/* A body chunk from the input, or filler of up to 64K in chunks of a
 * chosen size (as libmilter hands over at most its data size). */
static void
do_body(struct conn_model *m, struct reader *r, bool fill)
{
	static unsigned char chunk[65536];
	size_t n, total, size;

	if (!fill) {
		n = get_u16(r) % 8193;
		if (n > r->left)
			n = r->left;
		memcpy(chunk, r->p, n);
		r->p += n;
		r->left -= n;
		begin(m);
		check_message_answer(m, fake_desc()->xxfi_body(&m->ctx, chunk,
		    n), "body", SMFIP_NR_BODY);
		return;
	}
	memset(chunk, (int)get_byte(r), sizeof(chunk));
	for (size_t i = 76; i < sizeof(chunk); i += 78) {
		chunk[i] = '\r';
		chunk[i + 1] = '\n';
	}
	total = (size_t)get_u16(r) + 1;
	size = (size_t)get_u16(r) % 65535 + 1;
	for (size_t off = 0; off < total; off += size) {
		n = total - off < size ? total - off : size;
		begin(m);
		check_message_answer(m, fake_desc()->xxfi_body(&m->ctx, chunk,
		    n), "body", SMFIP_NR_BODY);
	}
}

static void
do_eom(struct conn_model *m, struct reader *r)
{
	unsigned v = get_byte(r);
	const struct fake_calls *k = &m->ctx.calls;
	bool was_open = m->txn == TXN_OPEN;
	sfsistat rc;

	for (int s = 0; s < FUZZ_SLOTS; s++) {
		slot_answer[s].verdict = (enum sm_verdict)(v >> (2 * s) & 3);
		get_str(r, slot_answer[s].name, SM_NAME_MAX - 1, 0);
	}
	parts_only = v & 0x40;
	m->ctx.refuse = v & 0x80;
	__atomic_store_n(&check_envelope, was_open, __ATOMIC_RELEASE);
	snprintf(want_sender, sizeof(want_sender), "%s", m->sender);
	snprintf(want_helo, sizeof(want_helo), "%s", m->helo);
	begin(m);
	m->ctx.in_eom = true;
	rc = fake_desc()->xxfi_eom(&m->ctx);
	__atomic_store_n(&check_envelope, false, __ATOMIC_RELEASE);
	pthread_mutex_lock(&envelope_mu);
	if (envelope_bad[0] != '\0')
		fake_fail("eom: the engine saw %s", envelope_bad);
	pthread_mutex_unlock(&envelope_mu);
	m->ctx.in_eom = false;
	m->ctx.refuse = false;
	if (m->txn == TXN_NONE && (rc != SMFIS_TEMPFAIL || k->setreply))
		fake_fail("eom with no transaction: answer %d", rc);
	m->txn = TXN_NONE;
	fake_new_message(&m->ctx);
	switch (rc) {
	case SMFIS_ACCEPT:
		if (k->setreply || k->setreply_refused)
			fake_fail("eom: a reply set for accept");
		break;
	case SMFIS_DISCARD:
		if (k->setreply || changed(k))
			fake_fail("eom: a reply or changes for discard");
		break;
	case SMFIS_REJECT:
		check_reply(k, '5', "eom");
		if (k->addheader || k->quarantine)
			fake_fail("eom: changes for a reject");
		break;
	case SMFIS_TEMPFAIL:
		/* a bare tempfail only for no transaction at all */
		if (was_open || k->setreply || k->setreply_refused)
			check_reply(k, '4', "eom");
		if (changed(k))
			fake_fail("eom: changes for a tempfail");
		break;
	default:
		fake_fail("eom: answer %d is no decision", rc);
	}
}

/*
 * The input: operations until it ends (at most MAX_OPS).  An operation is
 * a byte -- bit 7 the connection, the rest modulo 15 what -- and then its
 * arguments: a string is a length byte (two, big-endian, for a header
 * value or a body chunk) and its bytes.  milter-seeds.py writes the same.
 *   0 connect: family, the MTA's step flags      8 body filler: byte,
 *     (3 bytes), host, 16 address bytes            size, chunk size
 *   1 helo: name
 *   2 envfrom, 3 envrcpt: count, address, per      9 eom: verdicts, names
 *     argument a kind byte and a string           10 abort
 *   4 data                                        11 unknown: command
 *   5 header: kind, times, name, value            12 close
 *   6 eoh                                         13 macro: which, value
 *   7 body: chunk                                 14 reload: which config
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct reader r = { data, len };
	const struct smfiDesc *d = fake_desc();
	int fds, reloads = 0;

	if (open_fds_at_start == 0)
		open_fds_at_start = open_fds();
	reload_config(0);
	/* each connection starts negotiated, as libmilter's always are
	 * before any other callback; a connect op negotiates again */
	negotiate(&conns[0], 0);
	negotiate(&conns[1], 0);
	for (int ops = 0; ops < MAX_OPS && r.left > 0; ops++) {
		unsigned op = get_byte(&r);
		struct conn_model *m = &conns[op >> 7 & 1];
		char buf[1025];

		switch ((op & 0x7f) % 15) {
		case 0:
			do_connect(m, &r);
			break;
		case 1:
			begin(m);
			if (d->xxfi_helo(&m->ctx, get_str(&r, buf, 255, 0)) ==
			    SMFIS_CONTINUE)
				snprintf(m->helo, sizeof(m->helo), "%s", buf);
			break;
		case 2:
			do_envfrom(m, &r, false);
			break;
		case 3:
			do_envfrom(m, &r, true);
			break;
		case 4:
			if (d->xxfi_data != NULL) {
				begin(m);
				(void)d->xxfi_data(&m->ctx);
			}
			break;
		case 5:
			do_header(m, &r);
			break;
		case 6:
			begin(m);
			check_message_answer(m, d->xxfi_eoh(&m->ctx), "eoh",
			    SMFIP_NR_EOH);
			break;
		case 7:
			do_body(m, &r, false);
			break;
		case 8:
			do_body(m, &r, true);
			break;
		case 9:
			do_eom(m, &r);
			break;
		case 10:
			begin(m);
			(void)d->xxfi_abort(&m->ctx);
			m->txn = TXN_NONE;
			fake_new_message(&m->ctx);
			break;
		case 11:
			get_str(&r, buf, 255, 0);
			if (d->xxfi_unknown != NULL) {
				begin(m);
				(void)d->xxfi_unknown(&m->ctx, buf);
			}
			break;
		case 12:
			do_close(m);
			break;
		case 13: {
			unsigned which = get_byte(&r);

			get_str(&r, buf, 255, 0);
			fake_set_macro(&m->ctx, macro_names[which % 8],
			    which & 8 ? NULL : buf);
			break;
		}
		case 14:
			if (reloads++ < 2)
				reload_config(get_byte(&r) & 1);
			break;
		}
	}
	do_close(&conns[0]);
	do_close(&conns[1]);
	/* a scan's last task lets go of the message (its spool files) on
	 * its worker, just after eom has its answer: give it a moment */
	for (int ms = 0; ms < 2000; ms++) {
		if (file_base_empty() &&
		    (fds = open_fds()) == open_fds_at_start)
			break;
		usleep(1000);
	}
	if (!file_base_empty())
		fake_fail("%s left in file_base", left_path ? left_path :
		    "(cannot walk)");
	if ((fds = open_fds()) != open_fds_at_start) {
		show_fds();
		fake_fail("%d descriptors open after the input, %d before",
		    fds, open_fds_at_start);
	}
	return 0;
}
