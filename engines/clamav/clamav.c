/*
 * The clamav engine: libclamav in-process.  One compiled engine is shared
 * by every scanning thread (libclamav allows that once compiled); objects
 * in memory are scanned through an fmap, objects in files by descriptor.
 * libclamav's own temporary files go to the private directory the daemon
 * gives us.  Limits that are exceeded come back as "unscannable", never as
 * clean (CL_SCAN_HEURISTIC_EXCEEDS_MAX).
 *
 * A scan during which libclamav could not write what it unpacked is an
 * error, never clean: libclamav reports CL_CLEAN when its temporary files
 * come out short (some writes go through stdio and fail silently), so a
 * scan does not start, and does not count as clean, while the filesystem
 * of the temporary directory has less than min_free_space free; and the
 * write failures libclamav does report fail the scan they belong to.
 */
#define _GNU_SOURCE		/* strcasestr */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <sys/statvfs.h>

#include <clamav.h>

#include <scanmilter/engine.h>

struct clamav_conf {
	char	*database_directory;
	long long max_scan_size;
	long long max_file_size;
	long long max_recursion;
	long long max_files;
	long long max_scan_time;
	int	 heuristic_alerts;
	int	 alert_exceeds_max;
	int	 alert_encrypted;
	int	 bytecode;
	int	 pua;
	long long min_free_space;
	int	 detect_bypass;		/* inherited from the antivirus scope */
};

struct clamav {
	struct cl_engine *engine;
	struct cl_stat dbstat;		/* to notice signature updates */
	int	 dbstat_ok;
	struct cl_scan_options options;
	unsigned int signatures;
	int	 timeout_is_ours;	/* max_scan_time = the instance's timeout */
	char	 db_version[24];
	time_t	 db_time;
	char	*instance;		/* the block's name, for logs */
	char	*tmpdir;		/* where libclamav writes */
	long long min_free;		/* min_free_space (0: no check) */
	/* scans refused for want of space, and when that was last logged
	 * (atomic: any scanning thread) */
	unsigned long long refused;
	long long refused_logged;	/* CLOCK_MONOTONIC seconds */
};

#define C(f) offsetof(struct clamav_conf, f)
static const struct sm_option clamav_options[] = {
	{ "database_directory", SM_OPT_PATH, "/var/lib/clamav", 1, 0, NULL,
	  C(database_directory), "directory of ClamAV signature databases "
	  "(.cvd, .cld, .hdb, .ndb, …)" },
	{ "max_scan_size", SM_OPT_SIZE, "400M", 0, 4LL << 30, NULL,
	  C(max_scan_size), "most data scanned from one message (0: no "
	  "limit)" },
	{ "max_file_size", SM_OPT_SIZE, "100M", 0, 4LL << 30, NULL,
	  C(max_file_size), "largest file or part scanned (0: no limit)" },
	{ "max_recursion", SM_OPT_INT, "17", 0, 100, NULL, C(max_recursion),
	  "deepest nesting of archives and MIME scanned" },
	{ "max_files", SM_OPT_INT, "10000", 0, 1000000, NULL, C(max_files),
	  "most files scanned inside one message" },
	{ "max_scan_time", SM_OPT_DURATION, "0", 0, 3600000, NULL,
	  C(max_scan_time), "longest libclamav may spend on one object (0: "
	  "the antivirus scope's timeout, after which the answer is 451 "
	  "anyway)" },
	{ "heuristic_alerts", SM_OPT_BOOL, "yes", 1, 0, NULL,
	  C(heuristic_alerts), "report ClamAV's heuristic detections" },
	{ "alert_exceeds_max", SM_OPT_BOOL, "yes", 1, 0, NULL,
	  C(alert_exceeds_max), "a message past a limit is unscannable, not "
	  "clean" },
	{ "alert_encrypted", SM_OPT_BOOL, "no", 1, 0, NULL,
	  C(alert_encrypted), "encrypted archives and documents are "
	  "unscannable" },
	{ "bytecode", SM_OPT_BOOL, "yes", 1, 0, NULL, C(bytecode),
	  "load bytecode signatures" },
	{ "pua", SM_OPT_BOOL, "no", 1, 0, NULL, C(pua),
	  "detect potentially unwanted applications" },
	{ "min_free_space", SM_OPT_SIZE, "64M", 0, 1LL << 40, NULL,
	  C(min_free_space), "scans answer the tempfailure code while the "
	  "filesystem of file_base has less free than this, or than a tenth "
	  "of its size if that is smaller (0: no check; a full disk makes "
	  "libclamav miss what it cannot unpack)" },
	{ "detect_bypass", SM_OPT_BOOL, "no", 1, 0, NULL, C(detect_bypass),
	  "as the antivirus scope's (inherited from it): also report files "
	  "built to hide, as Heuristics.*: encrypted archives "
	  "(Heuristics.Encrypted.*) and documents, broken executables "
	  "(Heuristics.Broken.Executable), media not matching their type "
	  "(Heuristics.Broken.Media.*), impossible partition tables" },
	SM_OPTION_END
};
#undef C

/* Per scan: the name libclamav reported, and the errors it logged. */
struct scan_ctx {
	char	 name[SM_NAME_MAX];
	int	 errors;
	char	 error[SM_NAME_MAX];
};

/*
 * libclamav answers CL_CLEAN when a scan fails half way, e.g. when it
 * cannot create its temporary directory (seen with 1.4.6: an EICAR body
 * came back "No viruses detected") or cannot write what it unpacked.  Its
 * only sign is a message.  The message callback gets the context given to
 * cl_scan*_callback (libclamav keeps the scan's context per thread); a
 * message logged before libclamav set that up still belongs to the scan
 * running on this thread.
 */
static __thread struct scan_ctx *thread_scan;

/*
 * Warnings that mean a temporary file could not be made or written, as
 * libclamav 1.x words them ("cli_unzip: failed to write 200 inflated
 * bytes", "iso_scan_file: Can't write to file …", "HWPML: Failed to create
 * temporary file …", "fmap_dump_to_file: write failed …"); its errors
 * ("cli_writen: write error: No space left on device", "fileblobAddData:
 * Can't write … to temporary file …") fail the scan whatever they say.
 */
static int
write_failure(const char *msg)
{
	static const char *const words[] = {
		"failed to write", "can't write", "write failed",
		"write error", "can't create", "failed to create temp",
		"no space left", "disk quota",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (strcasestr(msg, words[i]) != NULL)
			return 1;
	return 0;
}

/*
 * libclamav leaves virname unset on some paths (a file over
 * max_file_size with CL_SCAN_HEURISTIC_EXCEEDS_MAX) but
 * always calls this; the first name is the one that decided.
 */
static void
virus_found(int fd, const char *virname, void *context)
{
	struct scan_ctx *sc = context;

	(void)fd;
	if (sc != NULL && sc->name[0] == '\0' && virname != NULL)
		snprintf(sc->name, sizeof(sc->name), "%s", virname);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static cl_error_t init_rc;
static void (*host_log)(int, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* libclamav's own messages go to our log instead of stderr. */
static void
clamav_msg(enum cl_msg severity, const char *fullmsg, const char *msg,
    void *ctx)
{
	struct scan_ctx *sc = ctx != NULL ? ctx : thread_scan;
	size_t len = strlen(msg);
	void (*say)(int, const char *, ...);

	(void)fullmsg;
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	if (sc != NULL && (severity == CL_MSG_ERROR ||
	    (severity == CL_MSG_WARN && write_failure(msg))) &&
	    sc->errors++ == 0)
		snprintf(sc->error, sizeof(sc->error), "libclamav: %.*s",
		    (int)len, msg);
	if ((say = __atomic_load_n(&host_log, __ATOMIC_ACQUIRE)) == NULL)
		return;
	say(severity == CL_MSG_ERROR ? LOG_ERR :
	    severity == CL_MSG_WARN ? LOG_WARNING : LOG_DEBUG,
	    "libclamav: %.*s", (int)len, msg);
}

static void
clamav_init(void)
{
	init_rc = cl_init(CL_INIT_DEFAULT);
	if (init_rc == CL_SUCCESS)
		cl_set_clcb_msg(clamav_msg);
}

static int
set_num(struct cl_engine *e, enum cl_engine_field f, long long v, char *err,
    size_t errlen, const char *what)
{
	cl_error_t rc = cl_engine_set_num(e, f, v);

	if (rc != CL_SUCCESS) {
		snprintf(err, errlen, "cannot set %s: %s", what,
		    cl_strerror(rc));
		return -1;
	}
	return 0;
}

static int
apply_limits(struct cl_engine *e, const struct clamav_conf *c,
    long long timeout_ms, char *err, size_t errlen)
{
	if (set_num(e, CL_ENGINE_MAX_SCANSIZE, c->max_scan_size, err, errlen,
	    "max_scan_size") < 0 ||
	    set_num(e, CL_ENGINE_MAX_FILESIZE, c->max_file_size, err, errlen,
	    "max_file_size") < 0 ||
	    set_num(e, CL_ENGINE_MAX_RECURSION, c->max_recursion, err, errlen,
	    "max_recursion") < 0 ||
	    set_num(e, CL_ENGINE_MAX_FILES, c->max_files, err, errlen,
	    "max_files") < 0 ||
	    set_num(e, CL_ENGINE_MAX_SCANTIME, c->max_scan_time ?
	    c->max_scan_time : timeout_ms, err, errlen, "max_scan_time") < 0)
		return -1;
	return 0;
}

static void
set_scan_options(struct clamav *cv, const struct clamav_conf *c)
{
	struct cl_scan_options *o = &cv->options;

	memset(o, 0, sizeof(*o));
	o->parse = ~0u;		/* every parser, mail included */
	if (c->heuristic_alerts)
		o->general |= CL_SCAN_GENERAL_HEURISTICS;
	if (c->alert_exceeds_max) {
		o->general |= CL_SCAN_GENERAL_HEURISTICS;
		o->heuristic |= CL_SCAN_HEURISTIC_EXCEEDS_MAX;
	}
	if (c->alert_encrypted) {
		o->general |= CL_SCAN_GENERAL_HEURISTICS;
		o->heuristic |= CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE |
		    CL_SCAN_HEURISTIC_ENCRYPTED_DOC;
	}
	if (c->detect_bypass) {	/* not macros or personal data: no bypass */
		o->general |= CL_SCAN_GENERAL_HEURISTICS;
		o->heuristic |= CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE |
		    CL_SCAN_HEURISTIC_ENCRYPTED_DOC | CL_SCAN_HEURISTIC_BROKEN |
		    CL_SCAN_HEURISTIC_BROKEN_MEDIA |
		    CL_SCAN_HEURISTIC_PARTITION_INTXN |
		    CL_SCAN_HEURISTIC_EXCEEDS_MAX;
	}
}

static void
clamav_destroy(void *handle)
{
	struct clamav *cv = handle;

	if (cv == NULL)
		return;
	if (cv->engine != NULL)
		cl_engine_free(cv->engine);
	if (cv->dbstat_ok)
		cl_statfree(&cv->dbstat);
	free(cv->tmpdir);
	free(cv->instance);
	free(cv);
}

static void *
clamav_create(const void *conf, const struct sm_engine_env *env, char *err,
    size_t errlen)
{
	const struct clamav_conf *c = conf;
	unsigned int dbopts = CL_DB_STDOPT;
	struct clamav *cv;
	cl_error_t rc;

	/* every instance's create() stores it while others' scans log */
	__atomic_store_n(&host_log, env->log, __ATOMIC_RELEASE);
	pthread_once(&init_once, clamav_init);
	if (init_rc != CL_SUCCESS) {
		snprintf(err, errlen, "cl_init: %s", cl_strerror(init_rc));
		return NULL;
	}
	cv = calloc(1, sizeof(*cv));
	if (cv == NULL || (cv->engine = cl_engine_new()) == NULL ||
	    (cv->tmpdir = strdup(env->tmpdir)) == NULL ||
	    (cv->instance = strdup(env->instance)) == NULL) {
		snprintf(err, errlen, "out of memory");
		clamav_destroy(cv);
		return NULL;
	}
	cv->min_free = c->min_free_space;
	rc = cl_engine_set_str(cv->engine, CL_ENGINE_TMPDIR, env->tmpdir);
	if (rc != CL_SUCCESS) {
		snprintf(err, errlen, "cannot set the temporary directory: %s",
		    cl_strerror(rc));
		goto fail;
	}
	if (apply_limits(cv->engine, c, env->timeout_ms, err, errlen) < 0)
		goto fail;
	cv->timeout_is_ours = c->max_scan_time == 0;
	cl_engine_set_clcb_virus_found(cv->engine, virus_found);
	if (!c->bytecode)
		dbopts &= ~(unsigned)CL_DB_BYTECODE;
	if (c->pua)
		dbopts |= CL_DB_PUA;
	/* before loading: an update during the load is seen afterwards */
	memset(&cv->dbstat, 0, sizeof(cv->dbstat));
	cv->dbstat_ok = cl_statinidir(c->database_directory, &cv->dbstat) ==
	    CL_SUCCESS;
	rc = cl_load(c->database_directory, cv->engine, &cv->signatures,
	    dbopts);
	if (rc != CL_SUCCESS) {
		snprintf(err, errlen, "cannot load signatures from %s: %s%s",
		    c->database_directory, cl_strerror(rc),
		    rc == CL_EOPEN ? " (no database there? run freshclam or "
		    "set database_directory)" : "");
		goto fail;
	}
	if ((rc = cl_engine_compile(cv->engine)) != CL_SUCCESS) {
		snprintf(err, errlen, "cannot compile signatures from %s: %s",
		    c->database_directory, cl_strerror(rc));
		goto fail;
	}
	set_scan_options(cv, c);
	{
		int e1 = 0, e2 = 0;
		long long v = cl_engine_get_num(cv->engine,
		    CL_ENGINE_DB_VERSION, &e1);

		cv->db_time = (time_t)cl_engine_get_num(cv->engine,
		    CL_ENGINE_DB_TIME, &e2);
		if (e1 == 0 && v > 0)
			snprintf(cv->db_version, sizeof(cv->db_version),
			    "%lld", v);
	}
	env->log(LOG_INFO, "clamav \"%s\": %u signatures loaded from %s",
	    env->instance, cv->signatures, c->database_directory);
	return cv;
fail:
	clamav_destroy(cv);
	return NULL;
}

/*
 * 1 if the filesystem of the temporary directory has less free than the
 * reserve: min_free_space, or a tenth of the filesystem if that is less
 * (a small tmpfs still scans).  What statvfs cannot tell is not low.
 */
static int
space_low(const struct clamav *cv, unsigned long long *avail,
    unsigned long long *reserve)
{
	struct statvfs vfs;
	unsigned long long size;

	if (cv->min_free == 0 || statvfs(cv->tmpdir, &vfs) < 0)
		return 0;
	*avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	size = (unsigned long long)vfs.f_blocks * vfs.f_frsize;
	*reserve = (unsigned long long)cv->min_free;
	if (size / 10 < *reserve)
		*reserve = size / 10;
	return *avail < *reserve;
}

#define CLAMAV_SPACE_LOG_S 60	/* at most one low-space line this often */

/* A scan that did not start, or cannot count, for want of space. */
static int
space_refused(struct clamav *cv, const char *when, unsigned long long avail,
    unsigned long long reserve, struct sm_result *res)
{
	unsigned long long n = __atomic_add_fetch(&cv->refused, 1,
	    __ATOMIC_RELAXED);
	long long last = __atomic_load_n(&cv->refused_logged,
	    __ATOMIC_RELAXED);
	void (*say)(int, const char *, ...);
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((last == 0 || now.tv_sec - last >= CLAMAV_SPACE_LOG_S) &&
	    __atomic_compare_exchange_n(&cv->refused_logged, &last,
	    (long long)now.tv_sec, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
	    (say = __atomic_load_n(&host_log, __ATOMIC_ACQUIRE)) != NULL)
		say(LOG_WARNING, "clamav \"%s\": %llu bytes free under "
		    "%s, less than the %llu kept free (min_free_space): "
		    "scans answer the tempfailure code (%llu so far)",
		    cv->instance, avail, cv->tmpdir, reserve, n);
	res->verdict = SM_ERROR;
	snprintf(res->name, sizeof(res->name), "disk space low %s the scan "
	    "(%llu bytes free under %s)", when, avail, cv->tmpdir);
	return -1;
}

/* Limits and encryption mean "could not look inside", not "bad". */
static enum sm_verdict
classify(const char *name)
{
	static const char *const unscannable[] = {
		"Heuristics.Limits.Exceeded", "Heuristics.Encrypted",
	};

	for (size_t i = 0; i < sizeof(unscannable) / sizeof(*unscannable); i++)
		if (strncmp(name, unscannable[i], strlen(unscannable[i])) == 0)
			return SM_UNSCANNABLE;
	return SM_INFECTED;
}

static int
clamav_scan(void *handle, const struct sm_object *obj, struct sm_result *res)
{
	struct clamav *cv = handle;
	struct cl_scan_options opts = cv->options;
	struct scan_ctx sc = { .name = "" };
	const char *virname = NULL;
	unsigned long scanned = 0;
	unsigned long long avail = 0, reserve = 0;
	cl_error_t rc;

	/* unpacking into a full filesystem would say clean */
	if (space_low(cv, &avail, &reserve))
		return space_refused(cv, "before", avail, reserve, res);
	thread_scan = &sc;
	if (obj->data != NULL) {
		cl_fmap_t *map = cl_fmap_open_memory(obj->data, obj->len);

		if (map == NULL) {
			thread_scan = NULL;
			res->verdict = SM_ERROR;
			snprintf(res->name, sizeof(res->name),
			    "cl_fmap_open_memory failed");
			return -1;
		}
		rc = cl_scanmap_callback(map, obj->filename, &virname,
		    &scanned, cv->engine, &opts, &sc);
		cl_fmap_close(map);
	} else {
		rc = cl_scandesc_callback(obj->fd, obj->filename, &virname,
		    &scanned, cv->engine, &opts, &sc);
	}
	thread_scan = NULL;
	/* the space went while it ran: what it wrote may be short */
	if (rc != CL_VIRUS && space_low(cv, &avail, &reserve))
		return space_refused(cv, "during", avail, reserve, res);
	if (rc == CL_CLEAN && sc.errors > 0) {	/* failed, not clean */
		res->verdict = SM_ERROR;
		snprintf(res->name, sizeof(res->name), "%s", sc.error);
		return -1;
	}
	switch (rc) {
	case CL_CLEAN:
		res->verdict = SM_CLEAN;
		return 0;
	case CL_VIRUS:
		if (virname == NULL)
			virname = sc.name[0] ? sc.name : "Unknown";
		snprintf(res->name, sizeof(res->name), "%s", virname);
		res->verdict = classify(virname);
		return 0;
	case CL_ETIMEOUT:
		if (cv->timeout_is_ours) {	/* as the instance's timeout */
			res->verdict = SM_ERROR;
			snprintf(res->name, sizeof(res->name), "scan timed "
			    "out");
			return -1;
		}
		/* FALLTHROUGH */
	case CL_EMAXREC:
	case CL_EMAXSIZE:
	case CL_EMAXFILES:
		res->verdict = SM_UNSCANNABLE;
		snprintf(res->name, sizeof(res->name), "%s", cl_strerror(rc));
		return 0;
	default:
		res->verdict = SM_ERROR;
		snprintf(res->name, sizeof(res->name), "%s", cl_strerror(rc));
		return -1;
	}
}

/* cl_statchkdir: 1 for a new or changed database file (in libclamav 1.0
 * a deleted one is not noticed; values above 1 are errors). */
static int
clamav_changed(void *handle)
{
	struct clamav *cv = handle;

	return cv->dbstat_ok && cl_statchkdir(&cv->dbstat) == 1;
}

static void
clamav_version(void *handle, struct sm_engine_version *out)
{
	struct clamav *cv = handle;

	memset(out, 0, sizeof(*out));
	snprintf(out->engine, sizeof(out->engine), "ClamAV %s", cl_retver());
	if (cv == NULL)
		return;
	if (cv->db_version[0] != '\0')
		snprintf(out->signatures, sizeof(out->signatures), "%s (%u "
		    "signatures)", cv->db_version, cv->signatures);
	else
		snprintf(out->signatures, sizeof(out->signatures), "%u "
		    "signatures", cv->signatures);
	out->signature_time = cv->db_time;
}

const struct sm_engine_ops sm_engine_clamav = {
	.abi_version = SM_ENGINE_ABI_VERSION,
	.ops_size = sizeof(struct sm_engine_ops),
	.name = "clamav",
	.flags = SM_ENGINE_CONTENT_ONLY,
	.pool = SM_POOL_CPU,
	.options = clamav_options,
	.conf_size = sizeof(struct clamav_conf),
	.create = clamav_create,
	.scan = clamav_scan,
	.version = clamav_version,
	.destroy = clamav_destroy,
	.changed = clamav_changed,
};
