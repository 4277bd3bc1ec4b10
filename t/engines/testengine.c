/*
 * The test engine: an engine whose verdict, delay and failures are set by
 * its config block, or per message by X-Test-Verdict / X-Test-Delay
 * headers, so timeouts, back-pressure and concurrency limits can be tested
 * deterministically through the real daemon.  It logs each scan with the
 * number running at that moment and, with read_envelope, what the object
 * says of the envelope after its delay (a scan that outlives its timeout
 * must still find it there).  Linked into t/scanmilter-test only.
 *
 *	test "t1" { verdict = infected  name = "Test.Virus"  delay = 2s }
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <scanmilter/engine.h>

struct test_conf {
	int	 verdict;
	char	*name;
	long long delay;
	int	 fail_create;
	int	 read_envelope;
	long long create_delay;
};

struct test_engine {
	const struct test_conf *conf;
	char	 instance[64];
	void	(*log)(int, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
	int	 running;	/* atomic */
	int	 max_running;	/* atomic */
	unsigned long scans;	/* atomic */
};

#define T(f) offsetof(struct test_conf, f)
static const struct sm_option test_options[] = {
	{ "verdict", SM_OPT_ENUM, "clean", 1, 0,
	  "clean|infected|unscannable|error", T(verdict),
	  "verdict of every scan (X-Test-Verdict overrides)" },
	{ "name", SM_OPT_STRING, "Test.Engine.Virus", 1, 0, NULL, T(name),
	  "virus name or reason reported" },
	{ "delay", SM_OPT_DURATION, "0", 0, 3600000, NULL, T(delay),
	  "time each scan takes (X-Test-Delay overrides)" },
	{ "fail_create", SM_OPT_BOOL, "no", 1, 0, NULL, T(fail_create),
	  "refuse to start" },
	{ "read_envelope", SM_OPT_BOOL, "no", 1, 0, NULL, T(read_envelope),
	  "after the delay, log the object's sender, HELO, client and id" },
	{ "create_delay", SM_OPT_DURATION, "0", 0, 3600000, NULL,
	  T(create_delay), "time starting takes (a long signature load)" },
	SM_OPTION_END
};
#undef T

static void *
test_create(const void *conf, const struct sm_engine_env *env, char *err,
    size_t errlen)
{
	const struct test_conf *c = conf;
	struct test_engine *t;

	if (c->create_delay > 0) {
		struct timespec ts = { c->create_delay / 1000,
		    (c->create_delay % 1000) * 1000000 };

		while (nanosleep(&ts, &ts) < 0)
			;
	}
	if (c->fail_create) {
		snprintf(err, errlen, "told to fail by fail_create");
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->conf = c;
	t->log = env->log;
	snprintf(t->instance, sizeof(t->instance), "%s", env->instance);
	return t;
}

/* Value of header name in the object's header section, into buf. */
static int
find_header(const struct sm_object *obj, const char *name, char *buf,
    size_t len)
{
	const char *p, *end;
	size_t nl = strlen(name);

	if (obj->data == NULL)
		return 0;
	p = (const char *)obj->data + obj->envelope_len;
	end = (const char *)obj->data + obj->len;
	while (p < end && *p != '\r' && *p != '\n') {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nl + 1 && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t n;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			n = (size_t)(eol - v);
			while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == ' '))
				n--;
			snprintf(buf, len, "%.*s", (int)n, v);
			return 1;
		}
		p = eol + 1;
	}
	return 0;
}

static long long
parse_delay(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (strcmp(end, "ms") == 0)
		return (long long)v;
	return (long long)(v * 1000);	/* "2", "2s", "0.5s" */
}

static int
test_scan(void *handle, const struct sm_object *obj, struct sm_result *res)
{
	static const char *const names[] = { "clean", "infected",
	    "unscannable", "error" };
	struct test_engine *t = handle;
	long long delay = t->conf->delay;
	int verdict = t->conf->verdict, now, max;
	char buf[64];

	now = __atomic_add_fetch(&t->running, 1, __ATOMIC_ACQ_REL);
	max = __atomic_load_n(&t->max_running, __ATOMIC_ACQUIRE);
	while (now > max && !__atomic_compare_exchange_n(&t->max_running,
	    &max, now, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	__atomic_add_fetch(&t->scans, 1, __ATOMIC_ACQ_REL);
	if (find_header(obj, "X-Test-Delay", buf, sizeof(buf)))
		delay = parse_delay(buf);
	if (find_header(obj, "X-Test-Verdict", buf, sizeof(buf)))
		for (int i = 0; i < 4; i++)
			if (strcasecmp(buf, names[i]) == 0)
				verdict = i;
	t->log(LOG_INFO, "test engine %s: scan of %s started, running=%d, "
	    "delay=%lldms", t->instance, obj->id ? obj->id : "?", now, delay);
	if (delay > 0) {
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000 };

		while (nanosleep(&ts, &ts) != 0)
			;
	}
	if (t->conf->read_envelope)
		t->log(LOG_INFO, "test engine %s: envelope after %lldms: "
		    "sender=<%s> helo=%s client=%s id=%s", t->instance, delay,
		    obj->sender ? obj->sender : "(null)",
		    obj->helo ? obj->helo : "(null)",
		    obj->client_addr ? obj->client_addr : "(null)",
		    obj->id ? obj->id : "(null)");
	__atomic_sub_fetch(&t->running, 1, __ATOMIC_ACQ_REL);
	res->verdict = (enum sm_verdict)verdict;
	if (verdict != SM_CLEAN)
		snprintf(res->name, sizeof(res->name), "%s", t->conf->name);
	return verdict == SM_ERROR ? -1 : 0;
}

static void
test_version(void *handle, struct sm_engine_version *out)
{
	(void)handle;
	memset(out, 0, sizeof(*out));
	snprintf(out->engine, sizeof(out->engine), "test engine 1");
}

static void
test_destroy(void *handle)
{
	struct test_engine *t = handle;

	if (t == NULL)
		return;
	t->log(LOG_INFO, "test engine %s: %lu scans, max_running=%d",
	    t->instance, t->scans, t->max_running);
	free(t);
}

const struct sm_engine_ops sm_engine_test = {
	.abi_version = SM_ENGINE_ABI_VERSION,
	.ops_size = sizeof(struct sm_engine_ops),
	.name = "test",
	.flags = 0,
	.pool = SM_POOL_CPU,
	.options = test_options,
	.conf_size = sizeof(struct test_conf),
	.create = test_create,
	.scan = test_scan,
	.version = test_version,
	.destroy = test_destroy,
};
