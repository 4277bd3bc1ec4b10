/*
 * scanmilter: command line, start-up and the daemon's life.
 *
 *	scanmilter [-f] [-c FILE] [-p SOCKET]	run the milter daemon
 *	scanmilter -t [-c FILE]			check a config, load its engines
 *	scanmilter scan [-c FILE] FILE.eml…	what the daemon would do
 *	scanmilter options			the option tables (for docs)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
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
#include "log.h"
#include "milter.h"
#include "notify.h"
#include "runtime.h"
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
	    "       scanmilter options [--config]          list every "
	    "option\n"
	    "       -P PIDFILE writes the process id; SIGHUP reloads\n"
	    "       scanmilter -V                           print the "
	    "version\n"
	    "default config: %s\n", SM_DEFAULT_CONFIG);
}

/* Loads a configuration, or says why not on stderr. */
static struct sm_conf *
load_config(const char *path)
{
	struct sm_conf *c;
	char err[2048];

	if ((c = conf_load(path, err, sizeof(err))) == NULL)
		fprintf(stderr, "scanmilter: %s\n", err);
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
 * Signature watcher: reloads when an engine says its database changed.  A
 * reload that fails (a broken rule file, a half-written database) is tried
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
		} else if (runtime_reload("signatures changed", err,
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
	FILE *f;

	if (path == NULL)
		return 0;
	if ((f = fopen(path, "w")) == NULL) {
		msg_warn("cannot write pidfile %s", path);
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f) == 0 ? 0 : -1;
}

/* Socket group, then the switch to the configured user and group. */
static int
drop_privileges(const struct sm_conf *c, const char *listen)
{
	const char *sock = strncmp(listen, "unix:", 5) == 0 ? listen + 5 :
	    strncmp(listen, "local:", 6) == 0 ? listen + 6 : NULL;
	struct passwd *pw = NULL;
	struct group *gr;
	uid_t uid = 0;
	gid_t gid = 0;

	if (c->socket_group != NULL && sock != NULL) {
		if ((gr = getgrnam(c->socket_group)) == NULL) {
			msg_err("socket_group %s: no such group",
			    c->socket_group);
			return -1;
		}
		if (chown(sock, (uid_t)-1, gr->gr_gid) < 0) {
			msg_warn("chown %s to group %s", sock,
			    c->socket_group);
			return -1;
		}
	}
	if (c->user == NULL) {
		if (geteuid() == 0)
			msg_warnx("running as root: set user (and group) in "
			    "milter { } to drop privileges");
		return 0;
	}
	if ((pw = getpwnam(c->user)) == NULL) {
		msg_err("user %s: no such user", c->user);
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (c->group != NULL) {
		if ((gr = getgrnam(c->group)) == NULL) {
			msg_err("group %s: no such group", c->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (conf_chown_dirs(c, uid, gid) < 0)
		return -1;
	if (initgroups(pw->pw_name, gid) < 0 || setgid(gid) < 0 ||
	    setuid(uid) < 0) {
		msg_warn("cannot switch to user %s", c->user);
		return -1;
	}
	if (setuid(0) == 0) {
		msg_err("still able to become root after dropping to %s",
		    c->user);
		return -1;
	}
	msg_info("running as user %s (uid %ld, gid %ld)", c->user, (long)uid,
	    (long)gid);
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
	bool foreground = false, test = false, auto_reload, console;
	struct sm_conf *conf;
	struct generation *gen;
	pthread_t watcher;
	int ch, notify = -1, rc;
	long long grace = 30000;
	char err[2048];

	if (argc > 1 && strcmp(argv[1], "scan") == 0)
		return scancmd_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "options") == 0)
		return optionscmd_main(argc - 1, argv + 1);
	while ((ch = getopt(argc, argv, "c:fhP:p:tV")) != -1) {
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
	if (test) {
		if ((conf = load_config(path)) == NULL)
			return 1;
		if ((gen = generation_new(conf, err, sizeof(err))) == NULL) {
			fprintf(stderr, "scanmilter: %s\n", err);
			return 1;
		}
		printf("%s: configuration OK\n", path);
		generation_free(gen);
		return 0;
	}
	if ((conf = load_config(path)) == NULL)
		return 1;
	if (listen == NULL)
		listen = conf->listen;
	if (pidfile == NULL)
		pidfile = conf->pidfile;
	if (!foreground)
		notify = daemonize();
	if (conf->log_target == LOGOPT_SYSLOG || !foreground)
		log_open(LOG_TO_SYSLOG, conf_syslog_facility(conf->log_facility),
		    conf_syslog_priority(conf->log_level));
	else
		log_set_priority(conf_syslog_priority(conf->log_level));
	conf_clean_stale(conf);
	if ((gen = generation_new(conf, err, sizeof(err))) == NULL) {
		msg_err("%s", err);
		if (notify >= 0)
			fprintf(stderr, "scanmilter: %s\n", err);
		return 1;
	}
	/* control socket before the privilege drop (it lives in root's
	 * /run/scanmilter and gets its mode and group now); mail is scanned
	 * without the console rather than not at all */
	if (milter_open(conf, listen) < 0 || write_pidfile(pidfile) < 0) {
		generation_free(gen);
		return 1;
	}
	if ((rc = control_open(conf)) == CONTROL_UNAVAILABLE) {
		control_stop();
		msg_warnx("control { listen = \"%s\" }: its directory does "
		    "not exist: no console and no metrics, scanning goes on",
		    conf->control_listen);
	} else if (rc < 0) {
		control_stop();
		generation_free(gen);
		return 1;
	}
	console = rc == 0;
	if (drop_privileges(conf, listen) < 0) {
		control_stop();
		generation_free(gen);
		return 1;
	}
	auto_reload = conf->auto_reload;
	if (pidfile != NULL)
		pidfile = pidfile_path = xstrdup(pidfile);
	runtime_init(gen, path, listen);	/* gen belongs to it now */
	conf = NULL;
	gen = NULL;
	if (console && control_start() < 0)	/* control console, metrics */
		msg_warnx("control console and metrics are off; scanning goes "
		    "on");
	if (signals_start(on_hup, on_stop_again) < 0)
		return 1;
	if (auto_reload &&
	    pthread_create(&watcher, NULL, watch_signatures, NULL) == 0)
		pthread_detach(watcher);
	msg_info("%s %s listening on %s", PACKAGE_NAME, PACKAGE_VERSION, listen);
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
	if (pidfile != NULL)
		unlink(pidfile);
	msg_info("stopped");
	return rc == 0 ? 0 : 1;
}
