/*
 * The rules engine: scores a message with the rules of one named rule set
 * from an XML rule file (etc/rules.xml, validated against etc/rules.rng)
 * and turns the score into a verdict:
 *
 *	score >= spam_score	SM_INFECTED, "Spam (score 7: rule1, rule2)"
 *	score >= suspect_score	SM_CLEAN,    "Suspect (score 3: rule1)"
 *	otherwise		SM_CLEAN,    "Clean (score 0)"
 *
 *	antispam "antispam1" {
 *	  rules "rules1" { config_path = "/etc/scanmilter/rules.xml"
 *	                   ruleset = "service-provider-express" }
 *	}
 *
 * It always gets the whole message (client, HELO and sender rules make
 * the verdict depend on more than the bytes) and reads its MIME parts from
 * the daemon, which parses them once for every engine (SM_ENGINE_PARTS).  It
 * stops at the object's deadline with SM_ERROR "Rules.Timeout", so a
 * message built to be slow costs one timeout, not the pool thread.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <scanmilter/engine.h>

#include "rules.h"

struct rules_conf {
	char	*config_path;
	char	*schema_path;
	char	*ruleset;
	long long spam_score;
	long long suspect_score;
	long long max_size;
};

#define C(f) offsetof(struct rules_conf, f)
static const struct sm_option rules_options[] = {
	{ "config_path", SM_OPT_PATH, "/etc/scanmilter/rules.xml", 1, 0, NULL,
	  C(config_path), "the XML rule file (relative: to the config "
	  "file's directory)" },
	{ "schema_path", SM_OPT_PATH, NULL, 1, 0, NULL,
	  C(schema_path), "a RELAX NG schema the rule file must match "
	  "instead of the one built in (etc/rules.rng of this version)" },
	{ "ruleset", SM_OPT_STRING, "service-provider-full", 1, 0, NULL,
	  C(ruleset), "the rule set of the file to use" },
	{ "spam_score", SM_OPT_INT, "5", -1000000, 1000000, NULL,
	  C(spam_score), "a score at least this high is spam (infected)" },
	{ "suspect_score", SM_OPT_INT, "3", -1000000, 1000000, NULL,
	  C(suspect_score), "a score at least this high (below spam_score) "
	  "is suspect: clean, named \"Suspect (...)\"" },
	{ "max_size", SM_OPT_SIZE, "10M", 1024, 1LL << 30, NULL, C(max_size),
	  "only the first this many bytes of a message are looked at" },
	SM_OPTION_END
};
#undef C

struct rules_engine {
	const struct rules_conf *conf;
	struct rules_db *db;
	struct rules_active act;
	struct stat st_rules, st_schema; /* for changed() */
};

static void rules_destroy(void *);

static void *
rules_create(const void *conf, const struct sm_engine_env *env, char *err,
    size_t errlen)
{
	const struct rules_conf *c = conf;
	struct rules_schema *schema;
	struct rules_engine *e;
	const char *missing = NULL;

	if (c->suspect_score > c->spam_score) {
		snprintf(err, errlen, "suspect_score (%lld) is above "
		    "spam_score (%lld)", c->suspect_score, c->spam_score);
		return NULL;
	}
	rules_set_log(env->log);
	e = rules_xcalloc(1, sizeof(*e));
	e->conf = c;
	/* stat first: a change while loading is then seen by changed() */
	if (stat(c->config_path, &e->st_rules) < 0)
		missing = c->config_path;
	else if (c->schema_path != NULL &&
	    stat(c->schema_path, &e->st_schema) < 0)
		missing = c->schema_path;
	if (missing != NULL) {
		snprintf(err, errlen, "%s: %s", missing, strerror(errno));
		goto fail;
	}
	schema = c->schema_path != NULL ?
	    rules_schema_load(c->schema_path, err, errlen) :
	    rules_schema_builtin(err, errlen);
	if (schema == NULL)
		goto fail;
	e->db = rules_load_file(c->config_path, schema, err, errlen);
	rules_schema_free(schema);
	if (e->db == NULL ||
	    rules_select(e->db, c->ruleset, &e->act, err, errlen) < 0)
		goto fail;
	if (env != NULL && env->log != NULL)
		env->log(LOG_INFO, "rules \"%s\": rule set %s, %zu rules "
		    "(%zu in %s%s%s)", env->instance, c->ruleset, e->act.n,
		    e->db->nrules, c->config_path,
		    e->db->version ? ", version " : "",
		    e->db->version ? e->db->version : "");
	return e;
fail:
	rules_destroy(e);
	return NULL;
}

static void
rules_destroy(void *handle)
{
	struct rules_engine *e = handle;

	if (e == NULL)
		return;
	rules_active_free(&e->act);
	rules_db_free(e->db);
	free(e);
}

/* "Spam (score 7: a, b)", cut with "..." to fit; names never split. */
static void
verdict_name(char *out, size_t outlen, const char *label, long score,
    const struct rules_active *act, const unsigned char *fired)
{
	static const char more[] = ", ...)";
	size_t off = (size_t)snprintf(out, outlen, "%s (score %ld", label,
	    score);
	const char *sep = ": ";

	for (size_t i = 0; i < act->n && off < outlen; i++) {
		const char *name = act->r[i]->name;
		size_t need = strlen(sep) + strlen(name);

		if (!fired[i])
			continue;
		if (off + need + sizeof(more) > outlen) {
			snprintf(out + off, outlen - off, "%s", more);
			return;
		}
		off += (size_t)snprintf(out + off, outlen - off, "%s%s", sep,
		    name);
		sep = ", ";
	}
	if (off < outlen)
		snprintf(out + off, outlen - off, ")");
}

/* Reads len bytes of fd from offset 0 into a new buffer, or NULL. */
static unsigned char *
read_object(int fd, size_t len, char *why, size_t whylen)
{
	unsigned char *buf = rules_xmalloc(len ? len : 1);
	size_t off = 0;

	while (off < len) {
		ssize_t r = pread(fd, buf + off, len - off, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, whylen, "read: %s", r < 0 ?
			    strerror(errno) : "short file");
			free(buf);
			return NULL;
		}
		off += (size_t)r;
	}
	return buf;
}

/* The answer for a scan past its deadline. */
static int
timed_out(struct sm_result *res)
{
	res->verdict = SM_ERROR;
	snprintf(res->name, sizeof(res->name), "Rules.Timeout");
	return -1;
}

static int
rules_scan(void *handle, const struct sm_object *obj, struct sm_result *res)
{
	const struct rules_engine *e = handle;
	const struct rules_conf *c = e->conf;
	size_t len = obj->len, skip;
	const unsigned char *data = obj->data;
	unsigned char *buf = NULL, *fired;
	struct rules_msg msg;
	long score;
	int expired, rc = 0;

	memset(res, 0, sizeof(*res));
	if (sm_deadline_passed(&obj->deadline))
		return timed_out(res);
	if (len > (size_t)c->max_size)
		len = (size_t)c->max_size;
	if (data == NULL) {
		if ((buf = read_object(obj->fd, len, res->name,
		    sizeof(res->name))) == NULL) {
			res->verdict = SM_ERROR;
			return -1;
		}
		data = buf;
	}
	skip = obj->envelope_len < len ? obj->envelope_len : len;
	msg = (struct rules_msg){ data + skip, len - skip, obj->client_addr,
	    obj->helo, obj->sender, obj->parts != NULL ? obj : NULL };
	fired = rules_xcalloc(e->act.n ? e->act.n : 1, 1);
	if (obj->kind == SM_OBJ_PART) {
		struct rules_part pt = { data, len, obj->filename,
		    obj->content_type };

		score = rules_eval_part(&e->act, &msg, &pt, fired,
		    &obj->deadline, &expired);
	} else {
		score = rules_eval_until(&e->act, &msg, fired, &obj->deadline,
		    &expired);
	}

	if (expired) {
		rc = timed_out(res);
	} else if (score >= c->spam_score) {
		res->verdict = SM_INFECTED;
		verdict_name(res->name, sizeof(res->name), "Spam", score,
		    &e->act, fired);
	} else {
		res->verdict = SM_CLEAN;
		verdict_name(res->name, sizeof(res->name),
		    score >= c->suspect_score ? "Suspect" : "Clean", score,
		    &e->act, fired);
	}
	free(fired);
	free(buf);
	return rc;
}

static void
rules_version(void *handle, struct sm_engine_version *out)
{
	const struct rules_engine *e = handle;

	memset(out, 0, sizeof(*out));
	snprintf(out->engine, sizeof(out->engine), "rules 1.0");
	if (e == NULL)
		return;
	snprintf(out->signatures, sizeof(out->signatures), "%.20s%s%.30s",
	    e->db->version ? e->db->version : "", e->db->version ? " " : "",
	    e->conf->ruleset);
	out->signature_time = e->st_rules.st_mtime;
}

/* 1 if path still is the file stat()ed as was, or is gone for now. */
static int
same_file(const char *path, const struct stat *was)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 1;
	return st.st_ino == was->st_ino && st.st_dev == was->st_dev &&
	    st.st_size == was->st_size &&
	    st.st_mtim.tv_sec == was->st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == was->st_mtim.tv_nsec;
}

/* The rule file or the schema was replaced or rewritten: reload.  A file
 * that is missing for now is no reason: the reload would fail each time. */
static int
rules_changed(void *handle)
{
	const struct rules_engine *e = handle;

	return !same_file(e->conf->config_path, &e->st_rules) ||
	    (e->conf->schema_path != NULL &&
	    !same_file(e->conf->schema_path, &e->st_schema));
}

const struct sm_engine_ops sm_engine_rules = {
	.abi_version = SM_ENGINE_ABI_VERSION,
	.ops_size = sizeof(struct sm_engine_ops),
	.name = "rules",
	.flags = SM_ENGINE_WHOLE_MESSAGE | SM_ENGINE_PARTS,
	.pool = SM_POOL_CPU,
	.options = rules_options,
	.conf_size = sizeof(struct rules_conf),
	.create = rules_create,
	.scan = rules_scan,
	.version = rules_version,
	.destroy = rules_destroy,
	.changed = rules_changed,
};
