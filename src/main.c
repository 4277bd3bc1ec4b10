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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "milter.h"
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
	    "       scanmilter -V                           print the "
	    "version\n"
	    "default config: %s\n", SM_DEFAULT_CONFIG);
}

/* Loads and starts a configuration, or says why not on stderr. */
static struct sm_conf *
load_config(const char *path, bool start)
{
	struct sm_conf *c;
	char err[2048];

	if ((c = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scanmilter: %s\n", err);
		return NULL;
	}
	if (start && conf_start_engines(c, err, sizeof(err)) < 0) {
		fprintf(stderr, "scanmilter: %s\n", err);
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
	log_msg(LOG_NOTICE, "SIGHUP: reloading is not available in this "
	    "version; still serving with the configuration loaded at start");
}

int
main(int argc, char **argv)
{
	const char *path = SM_DEFAULT_CONFIG, *listen = NULL;
	bool foreground = false, test = false;
	struct sm_conf *conf;
	int ch, notify = -1, rc;

	if (argc > 1 && strcmp(argv[1], "scan") == 0)
		return scancmd_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "options") == 0)
		return optionscmd_main(argc - 1, argv + 1);
	while ((ch = getopt(argc, argv, "c:fhp:tV")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'f': foreground = true; break;
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
		if ((conf = load_config(path, true)) == NULL)
			return 1;
		printf("%s: configuration OK\n", path);
		conf_free(conf);
		return 0;
	}
	if ((conf = load_config(path, false)) == NULL)
		return 1;
	if (listen == NULL)
		listen = conf->listen;
	if (!foreground)
		notify = daemonize();
	if (conf->log_target == LOGOPT_SYSLOG || !foreground)
		log_open(LOG_TO_SYSLOG, conf_syslog_facility(conf->log_facility),
		    conf_syslog_priority(conf->log_level));
	else
		log_set_priority(conf_syslog_priority(conf->log_level));
	conf_clean_stale(conf);
	{
		char err[2048];

		if (conf_start_engines(conf, err, sizeof(err)) < 0) {
			msg_err("%s", err);
			if (notify >= 0)
				fprintf(stderr, "scanmilter: %s\n", err);
			conf_free(conf);
			return 1;
		}
	}
	if (milter_open(conf, listen) < 0 || signals_start_hup(on_hup) < 0) {
		conf_free(conf);
		return 1;
	}
	msg_info("%s %s listening on %s", PACKAGE_NAME, PACKAGE_VERSION, listen);
	daemon_ready(notify, 0);
	rc = milter_run();
	msg_info("stopped");
	conf_free(conf);
	return rc == 0 ? 0 : 1;
}
