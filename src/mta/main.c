/*
 * scanmilter: command line, start-up and the daemon's life.
 *
 *	scanmilter [-f] [-c FILE] [-p SOCKET]	run the milter daemon
 *	scanmilter -t [-c FILE]			check a config, load its engines
 *	scanmilter scan [-c FILE] [--json] FILE.eml…|-	what the daemon would do
 *	scanmilter options			the option tables (for docs)
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "control.h"
#include "lockstat.h"
#include "log.h"
#include "milter.h"
#include "notify.h"
#include "privs.h"
#include "runtime.h"
#include "safefs.h"
#include "signals.h"
#include "util.h"

#ifndef SM_DEFAULT_CONFIG
#define SM_DEFAULT_CONFIG "/etc/scanmilter/scanmilter.conf"
#endif

int	scancmd_main(int argc, char **argv);
int	optionscmd_main(int argc, char **argv);

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: scanmilter [-f] [-c FILE] [-p SOCKET]   run the daemon\n"
	    "       scanmilter -t [-c FILE]                 check a "
	    "configuration\n"
	    "       scanmilter scan [-c FILE] FILE.eml...   scan messages, "
	    "print decisions\n"
	    "            (- reads standard input; --json: a JSON object per "
	    "message)\n"
	    "       scanmilter options [--config]          list every "
	    "option\n"
	    "       -P PIDFILE writes the process id; SIGHUP reloads\n"
	    "       scanmilter -V | --version               print the "
	    "version\n"
	    "       scanmilter -h | --help                  this text\n"
	    "default config: %s\n", SM_DEFAULT_CONFIG);
}

/* Loads a configuration, or says why not; a tool (-t) checks it as the
 * service user, who will start what it names. */
static struct sm_conf *
load_config(const char *path, bool tool)
{
	struct sm_conf *c;
	char err[2048];

	if ((c = conf_load(path, err, sizeof(err))) == NULL) {
		/* -t answers on the terminal; a refused start is an error
		 * in the log (the journal's, with its priority) */
		if (tool)
			fprintf(stderr, "scanmilter: %s\n", err);
		else
			msg_err("%s", err);
		return NULL;
	}
	if (tool && privs_drop(c, true) < 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

/*
 * Forks; the parent waits until the child says it is serving (or failed)
 * and exits with that status.  Returns the pipe end the child writes to.
 */
static int
daemonize(void)
{
	int p[2];
	pid_t pid;
	char status = 1;

	if (pipe(p) < 0)
		msg_fatal("pipe");
	if ((pid = fork()) < 0)
		msg_fatal("fork");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(p[0]);
	if (setsid() < 0)
		msg_fatal("setsid");
	if (chdir("/") < 0)
		msg_fatal("chdir /");
	return p[1];
}

static void
daemon_ready(int fd, char status)
{
	int null;

	if (fd < 0)
		return;
	if (write(fd, &status, 1) != 1)
		msg_warn("cannot tell the parent we are ready");
	close(fd);
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}

static void
on_hup(void)
{
	char err[2048];

	runtime_reload("SIGHUP", err, sizeof(err));
}

/*
 * Signature watcher: while the running config has auto_reload, reloads the
 * signatures (not the config file: runtime_reload_signatures) when an
 * engine says its database changed.  A reload that fails (a broken rule file, a half-written database) is tried
 * again later and later, up to AUTO_RELOAD_MAX_WAIT: each try loads every
 * engine anew, and under reload_mode = blocking holds mail back meanwhile.
 */
#define AUTO_RELOAD_MAX_WAIT	(15 * 60 * 1000LL)

static void *
watch_signatures(void *arg)
{
	unsigned failures = 0;

	(void)arg;
	for (;;) {
		struct generation *g = runtime_acquire();
		const struct gen_engine *all;
		struct timespec ts = { 1, 0 };
		bool changed = false;
		char err[2048];
		long long ms;

		size_t n;

		if (g == NULL && runtime_reloading()) {	/* blocking reload */
			nanosleep(&ts, NULL);
			continue;
		}
		if (g == NULL)
			return NULL;
		ms = g->conf->auto_reload_interval;
		all = generation_engines(g, GENERATION_ALL, &n);
		if (!g->conf->auto_reload)	/* as the running config says */
			n = 0;
		for (size_t i = 0; i < n && !changed; i++) {
			const struct sm_engine_inst *e = all[i].e;

			if (all[i].handle != NULL && e->ops->changed &&
			    e->ops->changed(all[i].handle)) {
				msg_info("signatures of %s \"%s\" changed on "
				    "disk", e->ops->name, e->name);
				changed = true;
			}
		}
		runtime_release(g);
		if (!changed) {		/* also: a SIGHUP put things right */
			failures = 0;
		} else if (runtime_reload_signatures("signatures changed", err,
		    sizeof(err)) == 0) {
			failures = 0;
		} else {
			/* interval × 2^failures, at most the cap (but never
			 * sooner than the interval itself) */
			if (failures < 16)
				failures++;
			if ((ms << failures) < AUTO_RELOAD_MAX_WAIT)
				ms <<= failures;
			else if (ms < AUTO_RELOAD_MAX_WAIT)
				ms = AUTO_RELOAD_MAX_WAIT;
			msg_warnx("automatic reload failed; next try in %llds "
			    "(SIGHUP tries at once)", ms / 1000);
		}
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

static int
write_pidfile(const char *path)
{
	char err[1024];

	if (path == NULL)
		return 0;
	if (safefs_write_pidfile(path, (long)getpid(), err, sizeof(err)) < 0) {
		msg_err("%s", err);
		return -1;
	}
	return 0;
}

static char *pidfile_path;

/* A second SIGTERM or SIGINT while stopping: stop now. */
static void
on_stop_again(int sig)
{
	msg_warnx("second signal (%s): stopping now, messages in flight are "
	    "dropped (the MTA keeps and retries them)", strsignal(sig));
	if (pidfile_path != NULL)
		unlink(pidfile_path);
	_exit(1);
}

/* After libmilter stopped: let messages in flight finish, up to grace_ms. */
static int
drain(long long grace_ms)
{
	runtime_stop();
	if (runtime_wait(grace_ms) == 0)
		return 0;
	msg_warnx("stop_timeout passed with messages in flight: stopping "
	    "anyway");
	return -1;
}

int
main(int argc, char **argv)
{
	const char *path = SM_DEFAULT_CONFIG, *listen = NULL, *pidfile = NULL;
	bool foreground = false, test = false, console;
	struct sm_conf *conf;
	struct generation *gen;
	pthread_t watcher;
	int ch, notify = -1, rc;
	long long grace = 30000;
	char err[2048];

	/* until the config says otherwise: stderr (the journal's priority
	 * prefixes if stderr is the journal) */
	log_open(LOG_TO_STDERR, LOG_MAIL, LOG_INFO);
	if (argc > 1 && strcmp(argv[1], "scan") == 0)
		return scancmd_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "options") == 0)
		return optionscmd_main(argc - 1, argv + 1);
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	while ((ch = getopt_long(argc, argv, "c:fhP:p:tV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'f': foreground = true; break;
		case 'P': pidfile = optarg; break;
		case 'p': listen = optarg; break;
		case 't': test = true; break;
		case 'V':
			printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	signals_block();
#ifdef __GLIBC__
	/* Blocks from 128 KiB (message buffers, engine tables) always come
	 * from mmap and go back when freed.  glibc's default raises that
	 * threshold to the largest block freed (up to 32 MiB), after which
	 * such blocks stay in the per-thread arenas as free memory: in a
	 * soak at concurrency 32 its 16 arenas held 150-200 MB for 15-30 MB
	 * in use.  MALLOC_MMAP_THRESHOLD_ in the environment still wins. */
	if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL)
		mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
	if (test) {
		if ((conf = load_config(path, true)) == NULL)
			return 1;
		notify_loading_begin(conf);
		gen = generation_new(conf, err, sizeof(err));
		notify_loading_end();
		if (gen == NULL) {
			fprintf(stderr, "scanmilter: %s\n", err);
			return 1;
		}
		printf("%s: configuration OK\n", path);
		generation_free(gen);
		return 0;
	}
	if ((conf = load_config(path, false)) == NULL)
		return 1;
	if (listen == NULL)
		listen = conf->listen;
	if (pidfile == NULL)
		pidfile = conf->pidfile;
	if (!foreground)
		notify = daemonize();
	log_open(conf->log_target == LOGOPT_SYSLOG || !foreground ?
	    LOG_TO_SYSLOG : LOG_TO_STDERR,
	    conf_syslog_facility(conf->log_facility),
	    conf_syslog_priority(conf->log_level));
	/* as root: the sockets and the pidfile, each in a directory root
	 * trusts (safefs.h); the control socket gets its mode and group now;
	 * mail is scanned without the console rather than not at all */
	if (milter_open(conf, listen) < 0 || write_pidfile(pidfile) < 0) {
		conf_free(conf);
		return 1;
	}
	if ((rc = control_open(conf)) == CONTROL_UNAVAILABLE) {
		control_stop();
		msg_warnx("control { listen = \"%s\" }: its directory does "
		    "not exist: no console and no metrics, scanning goes on",
		    conf->control_listen);
	} else if (rc < 0) {
		control_stop();
		conf_free(conf);
		return 1;
	}
	console = rc == 0;
	if (privs_drop(conf, false) < 0) {
		control_stop();
		conf_free(conf);
		return 1;
	}
	/* as the service user from here: file_base and the engines, which
	 * a reload starts the same way */
	conf_clean_stale(conf);
	notify_loading_begin(conf);
	gen = generation_new(conf, err, sizeof(err));
	notify_loading_end();
	if (gen == NULL) {
		msg_err("%s", err);	/* conf went with it */
		if (notify >= 0)
			fprintf(stderr, "scanmilter: %s\n", err);
		control_stop();
		return 1;
	}
	if (pidfile != NULL)
		pidfile = pidfile_path = xstrdup(pidfile);
	/* listen may be conf's, which a reload frees once it is the runtime's */
	msg_info("%s %s listening on %s", PACKAGE_NAME, PACKAGE_VERSION, listen);
	runtime_init(gen, path, listen);	/* gen belongs to it now */
	conf = NULL;
	gen = NULL;
	if (console && control_start() < 0)	/* control console, metrics */
		msg_warnx("control console and metrics are off; scanning goes "
		    "on");
	if (signals_start(on_hup, on_stop_again) < 0)
		return 1;
	/* always: a reload may turn auto_reload on or off */
	if (pthread_create(&watcher, NULL, watch_signatures, NULL) == 0)
		pthread_detach(watcher);
	notify_ready();
	daemon_ready(notify, 0);
	rc = milter_run();
	notify_stopping();
	if ((gen = runtime_acquire()) != NULL) {	/* the current one's */
		grace = gen->conf->stop_timeout;
		runtime_release(gen);
	}
	msg_info("stopping: letting messages in flight finish (up to %llds)",
	    grace / 1000);
	if (drain(grace) < 0)
		rc = -1;
	control_stop();		/* answered up to here; removes its socket */
	milter_close();
	if (pidfile != NULL)
		unlink(pidfile);
	lockstat_log();
	msg_info("stopped");
	return rc == 0 ? 0 : 1;
}
