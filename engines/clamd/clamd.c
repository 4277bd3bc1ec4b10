/*
 * The clamd engine: sends each object to a farm of clamd servers over
 * clamd's INSTREAM protocol, for filter hosts that do not load the
 * signatures themselves (or as a second opinion beside the in-process
 * engine).
 *
 * Servers are taken round-robin.  A server that fails (connect, read,
 * write, timeout, a clamd-side error) is marked down for down_time and the
 * object goes to the next one at once; when its back-off is over, the next
 * scan that picks it first checks it with PING.  Only when every server
 * failed is the answer an error (the instance's tempfailure).  A clamd
 * limit (StreamMaxLength) is the same on every server: it comes back as
 * unscannable, never clean.
 *
 * Threads: scan() runs on many pool threads at once; the server table is
 * fixed at create() and its state is atomics only.
 */
#define _GNU_SOURCE		/* strptime, timegm */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <scanmilter/engine.h>

#define CLAMD_MAX_SERVERS	32
#define CLAMD_CHUNK		(64 * 1024)	/* one INSTREAM chunk */
#define CLAMD_REPLY_MAX		1024		/* longer replies are cut */

struct clamd_conf {
	char	*servers;
	long long connect_timeout;	/* ms */
	long long down_time;		/* ms a failed server is skipped */
};

struct clamd_server {
	char	 spec[256];		/* as configured, for logs */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	atomic_llong down_until;	/* monotonic ms; 0: up.  Past it,
					 * a PING must answer first */
};

struct clamd {
	char	 instance[64];
	struct clamd_server servers[CLAMD_MAX_SERVERS];
	int	 nservers;
	long long connect_timeout;
	long long down_time;
	long long timeout;		/* the instance's, for one object */
	atomic_uint next;		/* round-robin */
	char	 sigversion[64];	/* at create(), for changed() */
	void	(*log)(int, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
};

#define C(f) offsetof(struct clamd_conf, f)
static const struct sm_option clamd_options[] = {
	{ "servers", SM_OPT_STRING, "unix:/run/clamav/clamd.ctl", 1, 0, NULL,
	  C(servers), "clamd servers, separated by spaces or commas: "
	  "unix:/path, inet:PORT@HOST, inet6:PORT@[ADDR]" },
	{ "connect_timeout", SM_OPT_DURATION, "2s", 10, 60000, NULL,
	  C(connect_timeout), "longest wait for a connection to one server" },
	{ "down_time", SM_OPT_DURATION, "10s", 0, 3600000, NULL, C(down_time),
	  "how long a server that failed is skipped before it is tried "
	  "again (with PING)" },
	SM_OPTION_END
};
#undef C

static long long
clamd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
clamd_log_none(int pri, const char *fmt, ...)
{
	(void)pri;
	(void)fmt;
}

/*
 * "unix:/path", "/path", "inet:PORT@HOST", "inet6:PORT@[ADDR]" into s.
 * Host names are resolved once, here.  Returns 0, or -1 with err.
 */
static int
clamd_parse_server(struct clamd_server *s, const char *spec, char *err,
    size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char host[256], port[16];
	const char *at, *p;
	int family = AF_UNSPEC, rc;

	memset(s, 0, sizeof(*s));
	snprintf(s->spec, sizeof(s->spec), "%s", spec);
	atomic_init(&s->down_until, 0);
	p = spec;
	if (strncmp(p, "unix:", 5) == 0 || strncmp(p, "local:", 6) == 0)
		p = strchr(p, ':') + 1;
	if (*p == '/') {
		struct sockaddr_un *sun = (struct sockaddr_un *)&s->addr;

		if (strlen(p) >= sizeof(sun->sun_path)) {
			snprintf(err, errlen, "server '%s': path too long",
			    spec);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, p);
		s->addrlen = sizeof(*sun);
		return 0;
	}
	if (strncmp(p, "inet:", 5) == 0) {
		family = AF_INET;
		p += 5;
	} else if (strncmp(p, "inet6:", 6) == 0) {
		family = AF_INET6;
		p += 6;
	} else {
		snprintf(err, errlen, "server '%s': expected unix:/path, "
		    "inet:PORT@HOST or inet6:PORT@[ADDR]", spec);
		return -1;
	}
	at = strchr(p, '@');
	if (at == NULL || at == p || (size_t)(at - p) >= sizeof(port) ||
	    at[1] == '\0') {
		snprintf(err, errlen, "server '%s': expected PORT@HOST", spec);
		return -1;
	}
	memcpy(port, p, at - p);
	port[at - p] = '\0';
	p = at + 1;
	if (*p == '[') {
		const char *end = strchr(p, ']');

		if (end == NULL || end[1] != '\0' ||
		    (size_t)(end - p - 1) >= sizeof(host)) {
			snprintf(err, errlen, "server '%s': bad [address]",
			    spec);
			return -1;
		}
		memcpy(host, p + 1, end - p - 1);
		host[end - p - 1] = '\0';
	} else
		snprintf(host, sizeof(host), "%s", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "server '%s': %s", spec,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
	s->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* Waits until fd is ready for events or deadline (monotonic ms) passes.
 * Returns 0, or -1 with errno (ETIMEDOUT). */
static int
clamd_wait(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		long long left = deadline - clamd_now_ms();
		int n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* A non-blocking connection to s by connect_by; -1 with errno. */
static int
clamd_connect(const struct clamd_server *s, long long connect_by)
{
	int fd, soerr = 0;
	socklen_t len = sizeof(soerr);

	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&s->addr, s->addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN)
		goto fail;
	if (clamd_wait(fd, POLLOUT, connect_by) < 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		goto fail;
	if (soerr != 0) {
		errno = soerr;
		goto fail;
	}
	return fd;
fail:
	soerr = errno;
	close(fd);
	errno = soerr;
	return -1;
}

/* Sends all of buf by deadline; 0, or -1 with errno. */
static int
clamd_send(int fd, const void *buf, size_t len, long long deadline)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (clamd_wait(fd, POLLOUT, deadline) < 0)
			return -1;
	}
	return 0;
}

/*
 * Reads clamd's NUL-terminated reply ('z' commands) by deadline into out.
 * Returns its length, or -1 with errno (ECONNRESET for an empty reply).
 */
static ssize_t
clamd_reply(int fd, char *out, size_t outlen, long long deadline)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = recv(fd, out + len, outlen - 1 - len, 0);

		if (n > 0) {
			len += (size_t)n;
			if (memchr(out, '\0', len) != NULL ||
			    len == outlen - 1)
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (clamd_wait(fd, POLLIN, deadline) < 0)
			return -1;
	}
	out[len] = '\0';
	len = strlen(out);
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
		out[--len] = '\0';
	if (len == 0) {
		errno = ECONNRESET;
		return -1;
	}
	return (ssize_t)len;
}

/* One command without data ("PING", "VERSION") to s; reply in out. */
static int
clamd_command(const struct clamd *cd, const struct clamd_server *s,
    const char *cmd, char *out, size_t outlen, long long deadline)
{
	char line[32];
	long long connect_by = clamd_now_ms() + cd->connect_timeout;
	int fd, rc = -1;

	if (connect_by > deadline)
		connect_by = deadline;
	if ((fd = clamd_connect(s, connect_by)) < 0)
		return -1;
	snprintf(line, sizeof(line), "z%s", cmd);
	if (clamd_send(fd, line, strlen(line) + 1, deadline) == 0 &&
	    clamd_reply(fd, out, outlen, deadline) >= 0)
		rc = 0;
	close(fd);
	return rc;
}

/*
 * Streams obj to s and reads the verdict.  Returns 0 with res filled (a
 * verdict every server would give), or -1 with why (this server failed:
 * try another).
 */
static int
clamd_instream(const struct clamd *cd, const struct clamd_server *s,
    const struct sm_object *obj, long long deadline, struct sm_result *res,
    char *why, size_t whylen)
{
	unsigned char *chunk = NULL;
	char reply[CLAMD_REPLY_MAX];
	const char *what = "connect";
	long long connect_by = clamd_now_ms() + cd->connect_timeout;
	size_t off = 0, rlen;
	int fd = -1, rc = -1, sent_all = 0;

	if (connect_by > deadline)
		connect_by = deadline;
	if ((fd = clamd_connect(s, connect_by)) < 0)
		goto out;
	what = "send";
	if (clamd_send(fd, "zINSTREAM", sizeof("zINSTREAM"), deadline) < 0)
		goto out;
	if (obj->data == NULL && (chunk = malloc(4 + CLAMD_CHUNK)) == NULL)
		goto out;
	while (off < obj->len) {
		size_t n = obj->len - off;
		unsigned char hdr[4];

		if (n > CLAMD_CHUNK)
			n = CLAMD_CHUNK;
		if (obj->data == NULL) {
			ssize_t r = pread(obj->fd, chunk + 4, n, (off_t)off);

			if (r <= 0) {
				what = "read the object";
				if (r == 0)
					errno = EIO;
				goto out;
			}
			n = (size_t)r;
		}
		hdr[0] = (unsigned char)(n >> 24);
		hdr[1] = (unsigned char)(n >> 16);
		hdr[2] = (unsigned char)(n >> 8);
		hdr[3] = (unsigned char)n;
		if (obj->data == NULL) {
			memcpy(chunk, hdr, 4);
			if (clamd_send(fd, chunk, n + 4, deadline) < 0)
				break;
		} else if (clamd_send(fd, hdr, 4, deadline) < 0 ||
		    clamd_send(fd, obj->data + off, n, deadline) < 0)
			break;
		off += n;
	}
	if (off == obj->len) {
		static const unsigned char end[4];

		sent_all = clamd_send(fd, end, 4, deadline) == 0;
	}
	/* clamd may answer and close early (a size limit): read it anyway */
	what = "read the reply";
	if (clamd_reply(fd, reply, sizeof(reply), deadline) < 0)
		goto out;
	rlen = strlen(reply);
	if (strncmp(reply, "stream: ", 8) == 0)
		memmove(reply, reply + 8, (rlen -= 8) + 1);
	if (strcmp(reply, "OK") == 0 && sent_all) {
		res->verdict = SM_CLEAN;
		rc = 0;
	} else if (rlen > 6 && strcmp(reply + rlen - 6, " FOUND") == 0) {
		res->verdict = SM_INFECTED;
		snprintf(res->name, sizeof(res->name), "%.*s",
		    (int)(rlen - 6), reply);
		rc = 0;
	} else if (strstr(reply, "size limit exceeded") != NULL) {
		res->verdict = SM_UNSCANNABLE;
		snprintf(res->name, sizeof(res->name), "clamd: %.200s", reply);
		rc = 0;
	} else {
		snprintf(why, whylen, "%.100s: %.100s%s", s->spec, reply,
		    sent_all ? "" : " (before the whole object was sent)");
		errno = 0;
	}
out:
	if (rc < 0 && errno != 0)
		snprintf(why, whylen, "%.100s: %s: %.60s", s->spec, what,
		    strerror(errno));
	free(chunk);
	if (fd >= 0)
		close(fd);
	return rc;
}

static void
clamd_mark_down(struct clamd *cd, struct clamd_server *s, const char *why)
{
	long long was = atomic_exchange(&s->down_until,
	    clamd_now_ms() + (cd->down_time > 0 ? cd->down_time : 1));

	if (was == 0)
		cd->log(LOG_WARNING, "clamd %s: server %s is down (%s); "
		    "skipped for %lld ms", cd->instance, s->spec, why,
		    cd->down_time);
}

static void
clamd_mark_up(struct clamd *cd, struct clamd_server *s)
{
	if (atomic_exchange(&s->down_until, 0) != 0)
		cd->log(LOG_NOTICE, "clamd %s: server %s is back",
		    cd->instance, s->spec);
}

/*
 * Whether s may take a scan now: up, or its back-off is over and it
 * answers PING (then it is up again).
 */
static int
clamd_usable(struct clamd *cd, struct clamd_server *s, long long deadline)
{
	char pong[16];
	long long until = atomic_load(&s->down_until);

	if (until == 0)
		return 1;
	if (clamd_now_ms() < until)
		return 0;
	if (clamd_command(cd, s, "PING", pong, sizeof(pong), deadline) < 0 ||
	    strcmp(pong, "PONG") != 0) {
		clamd_mark_down(cd, s, "no PONG");
		return 0;
	}
	clamd_mark_up(cd, s);
	return 1;
}

static int
clamd_scan(void *handle, const struct sm_object *obj, struct sm_result *res)
{
	struct clamd *cd = handle;
	char why[SM_NAME_MAX] = "no server";
	long long deadline = clamd_now_ms() + cd->timeout;
	unsigned start = atomic_fetch_add(&cd->next, 1);
	uint32_t tried = 0;		/* servers this scan already used */
	int pass, i;

	/* first the servers that are up (or due for a PING); then, if none
	 * answered, the ones still down rather than fail the message */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < cd->nservers; i++) {
			int k = (int)((start + (unsigned)i) %
			    (unsigned)cd->nservers);
			struct clamd_server *s = &cd->servers[k];
			char w[SM_NAME_MAX];

			if (tried & (1u << k))
				continue;
			if (clamd_now_ms() >= deadline)
				goto fail;
			if (pass == 0 && !clamd_usable(cd, s, deadline))
				continue;
			tried |= 1u << k;
			memset(res, 0, sizeof(*res));
			if (clamd_instream(cd, s, obj, deadline, res, w,
			    sizeof(w)) == 0) {
				if (pass == 1)
					clamd_mark_up(cd, s);
				return 0;
			}
			snprintf(why, sizeof(why), "%s", w);
			clamd_mark_down(cd, s, w);
		}
	}
fail:
	res->verdict = SM_ERROR;
	snprintf(res->name, sizeof(res->name), "clamd: no server answered "
	    "(last: %.200s)", why);
	return -1;
}

/* "ClamAV 1.0.7/27480/Mon Dec  7 08:19:40 2026" from the first server
 * that answers, in the configured order; -1 if none does. */
static int
clamd_query_version(struct clamd *cd, char *out, size_t outlen)
{
	long long deadline = clamd_now_ms() + cd->connect_timeout * 2;

	for (int i = 0; i < cd->nservers; i++) {
		struct clamd_server *s = &cd->servers[i];

		if (atomic_load(&s->down_until) != 0 &&
		    clamd_now_ms() < atomic_load(&s->down_until))
			continue;
		if (clamd_command(cd, s, "VERSION", out, outlen,
		    deadline) == 0)
			return 0;
	}
	return -1;
}

/* The signature part ("27480") of a VERSION reply, or "". */
static void
clamd_sigversion(const char *reply, char *out, size_t outlen)
{
	const char *a = strchr(reply, '/'), *b;

	out[0] = '\0';
	if (a == NULL)
		return;
	b = strchr(a + 1, '/');
	snprintf(out, outlen, "%.*s", (int)(b ? b - a - 1 : (long)strlen(a + 1)),
	    a + 1);
}

static void *
clamd_create(const void *conf, const struct sm_engine_env *env, char *err,
    size_t errlen)
{
	const struct clamd_conf *cf = conf;
	struct clamd *cd;
	char *list = NULL, *tok, *save = NULL, reply[CLAMD_REPLY_MAX];

	if ((cd = calloc(1, sizeof(*cd))) == NULL ||
	    (list = strdup(cf->servers)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	snprintf(cd->instance, sizeof(cd->instance), "%s", env->instance);
	cd->log = env->log != NULL ? env->log : clamd_log_none;
	cd->connect_timeout = cf->connect_timeout;
	cd->down_time = cf->down_time;
	cd->timeout = env->timeout_ms > 0 ? env->timeout_ms : 30000;
	atomic_init(&cd->next, 0);
	for (tok = strtok_r(list, " ,\t", &save); tok != NULL;
	    tok = strtok_r(NULL, " ,\t", &save)) {
		if (cd->nservers == CLAMD_MAX_SERVERS) {
			snprintf(err, errlen, "option 'servers': more than %d",
			    CLAMD_MAX_SERVERS);
			goto fail;
		}
		if (clamd_parse_server(&cd->servers[cd->nservers], tok, err,
		    errlen) < 0)
			goto fail;
		cd->nservers++;
	}
	if (cd->nservers == 0) {
		snprintf(err, errlen, "option 'servers': no server named");
		goto fail;
	}
	/* a farm may come up after its filter hosts: say so, but start */
	if (clamd_query_version(cd, reply, sizeof(reply)) < 0)
		cd->log(LOG_WARNING, "clamd %s: no server answers VERSION yet",
		    cd->instance);
	else
		clamd_sigversion(reply, cd->sigversion,
		    sizeof(cd->sigversion));
	free(list);
	return cd;
fail:
	free(list);
	free(cd);
	return NULL;
}

static void
clamd_version(void *handle, struct sm_engine_version *out)
{
	struct clamd *cd = handle;
	char reply[CLAMD_REPLY_MAX], *slash, *v;
	struct tm tm;

	memset(out, 0, sizeof(*out));
	if (clamd_query_version(cd, reply, sizeof(reply)) < 0) {
		snprintf(out->engine, sizeof(out->engine), "clamd (no server "
		    "answers)");
		return;
	}
	/* "ClamAV 1.0.7/27480/Mon Dec  7 08:19:40 2026" */
	v = strncmp(reply, "ClamAV ", 7) == 0 ? reply + 7 : reply;
	slash = strchr(v, '/');
	snprintf(out->engine, sizeof(out->engine), "clamd %.*s",
	    (int)(slash != NULL ? (size_t)(slash - v) : strlen(v)), v);
	clamd_sigversion(reply, out->signatures, sizeof(out->signatures));
	if (slash != NULL && (slash = strchr(slash + 1, '/')) != NULL) {
		memset(&tm, 0, sizeof(tm));
		if (strptime(slash + 1, "%a %b %d %H:%M:%S %Y", &tm) != NULL)
			out->signature_time = timegm(&tm);
	}
}

/* 1 when the farm's signature version differs from the one at create(),
 * so the daemon reloads and the verdict cache starts afresh. */
static int
clamd_changed(void *handle)
{
	struct clamd *cd = handle;
	char reply[CLAMD_REPLY_MAX], v[64];

	if (clamd_query_version(cd, reply, sizeof(reply)) < 0)
		return 0;
	clamd_sigversion(reply, v, sizeof(v));
	return strcmp(v, cd->sigversion) != 0;
}

static void
clamd_destroy(void *handle)
{
	free(handle);
}

const struct sm_engine_ops sm_engine_clamd = {
	.abi_version = SM_ENGINE_ABI_VERSION,
	.ops_size = sizeof(struct sm_engine_ops),
	.name = "clamd",
	.flags = SM_ENGINE_CONTENT_ONLY,
	.pool = SM_POOL_IO,
	.options = clamd_options,
	.conf_size = sizeof(struct clamd_conf),
	.create = clamd_create,
	.scan = clamd_scan,
	.version = clamd_version,
	.destroy = clamd_destroy,
	.changed = clamd_changed,
};
