/*
 * scanmilterctl: sends one command to a running scanmilter's control
 * socket and prints the answer (protocol in control.h).
 *
 *	scanmilterctl [-s SOCKET | -c CONFIG] [-t SECONDS] [--json] COMMAND [ARG…]
 *
 * Without -s, the socket is the one control { listen } names in CONFIG
 * (default: the daemon's default config; if that cannot be read, the
 * option's default).  Exit status: 0 done, 1 failed (no answer in time,
 * the command failed or was refused: ERR failed, ERR denied), 2 usage
 * (unknown command, bad arguments), 3 the daemon is not running (as LSB
 * init scripts' status says).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "conf_parse.h"
#include "control.h"
#include "options.h"
#include "util.h"

#ifndef SM_DEFAULT_CONFIG
#define SM_DEFAULT_CONFIG "/etc/scanmilter/scanmilter.conf"
#endif

#define CTL_TIMEOUT_S		5
#define CTL_RELOAD_TIMEOUT_S	30
#define CTL_MAX_ANSWER		(16 * 1024 * 1024)
#define CTL_EXIT_NOT_RUNNING	3	/* LSB: program is not running */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: scanmilterctl [-s SOCKET | -c CONFIG] [-t SECONDS] "
	    "[--json] COMMAND [ARGS]\n"
	    "commands: stats [INSTANCE], stats reset [INSTANCE], "
	    "version [INSTANCE], "
	    "reload,\n"
	    "          engines, pools, cache [flush], help\n"
	    "options: --help, --version\n"
	    "exit status: 0 done, 1 the command failed, 2 usage, 3 scanmilter "
	    "is not running\n"
	    "default config: %s\n", SM_DEFAULT_CONFIG);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* control { listen } of a config, read as syntax only: a config the
 * daemon would refuse (or one naming engines only the daemon has) still
 * leads to the daemon, which then says what is wrong with it.  Returns a
 * copy, NULL when the file cannot be read (err), or the option's default
 * when the config does not set it; "" when it turns the console off. */
static char *
control_listen_of(const char *config, char *err, size_t errlen)
{
	const struct sm_option *o = NULL;
	struct cf_node *root;
	char *buf, *path = NULL, *dir, *slash;
	const char *base;
	size_t len;

	if ((buf = sm_read_file(config, CF_MAX_BYTES, &len, err, errlen)) ==
	    NULL)
		return NULL;
	/* includes are relative to the config's directory */
	dir = xstrdup(config);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	base = slash == NULL ? "." : *dir ? dir : "/";
	root = cf_parse_in(config, base, buf, len, err, errlen);
	free(dir);
	if (root == NULL)
		goto out;
	for (const struct cf_node *n = root->child; n != NULL; n = n->next) {
		if (n->value != NULL || strcmp(n->key, "control") != 0)
			continue;
		for (const struct cf_node *v = n->child; v != NULL;
		    v = v->next)
			if (v->value != NULL && strcmp(v->key, "listen") == 0)
				path = xstrdup(v->value);
	}
	cf_free(root);
	for (const struct conf_scope_doc *s = conf_scopes();
	    path == NULL && s->keyword != NULL && o == NULL; s++)
		if (strcmp(s->keyword, "control") == 0)
			o = opt_find(s->options, "listen");
	if (path == NULL)
		path = xstrdup(o && o->def ? o->def :
		    "unix:/run/scanmilter/control.sock");
out:
	free(buf);
	return path;
}

/* The control socket path from -s, the config, or the option's default. */
static char *
socket_path(const char *sock, const char *config, int config_given)
{
	char err[2048], *path = NULL;
	const char *spec = sock;

	if (spec == NULL) {
		if ((path = control_listen_of(config, err, sizeof(err))) ==
		    NULL && config_given) {
			fprintf(stderr, "scanmilterctl: %s\n", err);
			exit(1);
		}
		if (path == NULL)	/* the default config, unreadable */
			path = control_listen_of("/dev/null", err,
			    sizeof(err));
		if (path == NULL || *path == '\0') {
			fprintf(stderr, "scanmilterctl: %s turns the control "
			    "socket off\n", config);
			exit(1);
		}
		spec = path;
	}
	if (strncmp(spec, "unix:", 5) == 0)
		spec += 5;
	else if (strncmp(spec, "local:", 6) == 0)
		spec += 6;
	spec = xstrdup(spec);
	free(path);
	return (char *)spec;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "scanmilterctl: socket path too long: %s\n",
		    path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		perror("scanmilterctl: socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	rc = errno == ENOENT || errno == ECONNREFUSED ? -2 : -1;
	if (errno == ENOENT)
		fprintf(stderr, "scanmilterctl: scanmilter is not running "
		    "(no control socket at %s)\n", path);
	else if (errno == ECONNREFUSED)
		fprintf(stderr, "scanmilterctl: scanmilter is not running "
		    "(nothing answers on %s)\n", path);
	else if (errno == EACCES)
		fprintf(stderr, "scanmilterctl: %s: permission denied (root, "
		    "or a member of the socket's group, may use it; changing "
		    "commands also need admin_group)\n", path);
	else
		fprintf(stderr, "scanmilterctl: %s: %s\n", path,
		    strerror(errno));
	close(fd);
	return rc;
}

/* Waits for fd to be ready for events until deadline; 1, 0 timeout. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int n;

	while ((left = deadline - now_ms()) > 0) {
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

/* Sends line, reads the whole answer into *out (NUL-terminated). */
static int
exchange(int fd, const char *line, long long deadline, char **out,
    size_t *outlen)
{
	size_t len = strlen(line), off = 0, cap = 4096;
	char *buf;
	ssize_t n;

	while (off < len) {
		if (wait_fd(fd, POLLOUT, deadline) <= 0)
			return -1;
		if ((n = send(fd, line + off, len - off, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	buf = xmalloc(cap);
	off = 0;
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) <= 0) {
			free(buf);
			return -1;
		}
		if (off + 1 == cap) {
			if (cap >= CTL_MAX_ANSWER) {
				free(buf);
				return -1;
			}
			buf = xrealloc(buf, cap *= 2);
		}
		if ((n = read(fd, buf + off, cap - off - 1)) < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	*out = buf;
	*outlen = off;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *config = SM_DEFAULT_CONFIG;
	int ch, json = 0, config_given = 0, fd, rc = 1;
	long timeout_s = -1;
	char line[CONTROL_LINE_MAX + 2], *path, *answer = NULL, *body;
	size_t len = 0, answer_len;
	long long deadline;

	while ((ch = getopt_long(argc, argv, "+c:hjs:t:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; config_given = 1; break;
		case 'j': json = 1; break;
		case 's': sock = optarg; break;
		case 't':
			timeout_s = strtol(optarg, NULL, 10);
			if (timeout_s <= 0 || timeout_s > 3600) {
				fprintf(stderr, "scanmilterctl: -t: 1 to 3600 "
				    "seconds\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("scanmilterctl (%s) %s\n", PACKAGE_NAME,
			    PACKAGE_VERSION);
			return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	line[0] = '\0';
	if (json)
		len = (size_t)snprintf(line, sizeof(line), "--json");
	for (int i = optind; i < argc && len < sizeof(line); i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s",
		    len ? " " : "", argv[i]);
	if (len >= CONTROL_LINE_MAX || strpbrk(line, "\r\n") != NULL) {
		fprintf(stderr, "scanmilterctl: command too long or holds a "
		    "newline\n");
		return 2;
	}
	strcat(line, "\n");
	if (timeout_s < 0)
		timeout_s = strcmp(argv[optind], "reload") == 0 ?
		    CTL_RELOAD_TIMEOUT_S : CTL_TIMEOUT_S;
	path = socket_path(sock, config, config_given);
	if ((fd = connect_to(path)) < 0) {
		if (fd == -2)
			rc = CTL_EXIT_NOT_RUNNING;
		goto out;
	}
	deadline = now_ms() + timeout_s * 1000;
	if (exchange(fd, line, deadline, &answer, &answer_len) < 0) {
		fprintf(stderr, "scanmilterctl: no answer from scanmilter on "
		    "%s within %ld s\n", path, timeout_s);
		close(fd);
		goto out;
	}
	close(fd);
	if ((body = strchr(answer, '\n')) == NULL) {
		fprintf(stderr, "scanmilterctl: unexpected answer from %s\n",
		    path);
		goto out;
	}
	*body++ = '\0';
	if (strcmp(answer, "OK") == 0) {
		fputs(body, stdout);
		rc = 0;
	} else {
		/* ERR failed, ERR denied (and anything newer): 1 */
		rc = strcmp(answer, "ERR usage") == 0 ? 2 : 1;
		if (json)
			fputs(body, stdout);
		else
			fprintf(stderr, "scanmilterctl: %s", body);
	}
out:
	free(answer);
	free(path);
	return rc;
}
