/*
 * The template engine: a complete, working engine built as a shared object
 * against include/scanmilter/engine.h alone — the starting point for a
 * third-party engine (see engines/README).
 *
 * It finds a configured byte string in the object it is given and, with
 * decoded = yes, in the decoded MIME parts of a whole message the daemon
 * offers (sm_object.parts: parsed once for all engines of the message):
 *
 *	engine "template" { module = "/usr/lib/scanmilter/engines/template.so" }
 *	antivirus "antivirus1" {
 *	  template "t1" { needle = "BAD-STUFF"  name = "Template.Match" }
 *	}
 */
#define _GNU_SOURCE		/* memmem */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <scanmilter/engine.h>

/* The engine's options land here (the daemon fills it from the table). */
struct template_conf {
	char	*needle;
	char	*name;
	long long max_size;
	int	 decoded;
};

#define T(f) offsetof(struct template_conf, f)
static const struct sm_option template_options[] = {
	{ "needle", SM_OPT_STRING, "SCANMILTER-TEMPLATE-TEST", 1, 0, NULL,
	  T(needle), "byte string that makes an object infected" },
	{ "name", SM_OPT_STRING, "Template.Match", 1, 0, NULL, T(name),
	  "name reported for a match" },
	{ "max_size", SM_OPT_SIZE, "10M", 0, 1LL << 30, NULL, T(max_size),
	  "larger objects are unscannable" },
	{ "decoded", SM_OPT_BOOL, "no", 0, 0, NULL, T(decoded),
	  "also look in a message's decoded MIME parts (base64, "
	  "quoted-printable ...)" },
	SM_OPTION_END
};
#undef T

/* One handle per engine block; scan() runs on many threads at once, so
 * whatever it changes must be atomic or locked.  This one changes nothing. */
struct template {
	const struct template_conf *conf;
	size_t	 needle_len;
};

static void *
template_create(const void *conf, const struct sm_engine_env *env, char *err,
    size_t errlen)
{
	const struct template_conf *c = conf;
	struct template *t;

	if (c->needle == NULL || *c->needle == '\0') {
		snprintf(err, errlen, "needle must not be empty");
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->conf = c;
	t->needle_len = strlen(c->needle);
	env->log(LOG_INFO, "template engine \"%s\" looks for %zu bytes",
	    env->instance, t->needle_len);
	return t;
}

static int
match(const struct template *t, const unsigned char *p, size_t n)
{
	return memmem(p, n, t->conf->needle, t->needle_len) != NULL;
}

/* An sm_part_fn: stops the parts (returns 1) at the first match. */
static int
match_part(const struct sm_part *part, void *arg)
{
	return match(arg, part->data, part->len);
}

/* Objects come in memory or as a file (read with pread, never seek). */
static int
template_scan(void *handle, const struct sm_object *obj, struct sm_result *res)
{
	const struct template *t = handle;
	unsigned char *buf;
	int found;

	if (obj->len > (size_t)t->conf->max_size) {
		res->verdict = SM_UNSCANNABLE;
		snprintf(res->name, sizeof(res->name), "Template.TooLarge");
		return 0;
	}
	if (obj->data != NULL) {
		found = match(t, obj->data, obj->len);
	} else {
		size_t off = 0;

		if ((buf = malloc(obj->len ? obj->len : 1)) == NULL) {
			res->verdict = SM_ERROR;
			snprintf(res->name, sizeof(res->name), "out of memory");
			return -1;
		}
		while (off < obj->len) {
			ssize_t r = pread(obj->fd, buf + off, obj->len - off,
			    (off_t)off);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				free(buf);
				res->verdict = SM_ERROR;
				snprintf(res->name, sizeof(res->name),
				    "read: %s", r < 0 ? strerror(errno) :
				    "short file");
				return -1;
			}
			off += (size_t)r;
		}
		found = match(t, buf, obj->len);
		free(buf);
	}
	/* the parts: offered for whole messages only, valid during scan() */
	if (!found && t->conf->decoded && obj->parts != NULL) {
		int rc = obj->parts(obj, match_part, (void *)t);

		if (rc < 0) {
			res->verdict = SM_ERROR;
			snprintf(res->name, sizeof(res->name), "parts: %s",
			    strerror(errno));
			return -1;
		}
		found = rc > 0;
	}
	res->verdict = found ? SM_INFECTED : SM_CLEAN;
	if (found)
		snprintf(res->name, sizeof(res->name), "%s", t->conf->name);
	return 0;
}

static void
template_version(void *handle, struct sm_engine_version *out)
{
	(void)handle;
	memset(out, 0, sizeof(*out));
	snprintf(out->engine, sizeof(out->engine), "template 1.0");
}

static void
template_destroy(void *handle)
{
	free(handle);
}

/* The one symbol the daemon looks for. */
const struct sm_engine_ops scanmilter_engine = {
	.abi_version = SM_ENGINE_ABI_VERSION,
	.ops_size = sizeof(struct sm_engine_ops),
	.name = "template",
	/* verdict from bytes alone; reads the parts when offered */
	.flags = SM_ENGINE_CONTENT_ONLY | SM_ENGINE_PARTS,
	.pool = SM_POOL_CPU,
	.options = template_options,
	.conf_size = sizeof(struct template_conf),
	.create = template_create,
	.scan = template_scan,
	.version = template_version,
	.destroy = template_destroy,
	.changed = NULL,
};
