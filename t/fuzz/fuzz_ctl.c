/*
 * fuzz_ctl: the control console's reader and commands, as a client of the
 * control socket drives them.  Each input is one request line (cut at the
 * first NUL and at CONTROL_LINE_MAX bytes, as the socket's reader does);
 * ctl_parse() splits it, and every command but reload runs against a
 * running configuration (the rules engine on etc/rules.xml, started once;
 * libclamav keeps a few allocations to the end of the process, which
 * LeakSanitizer would report).  Reload is answered as the console answers a failed one.  Nothing
 * may crash, leak or read out of bounds.
 */
#include "config.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "conf.h"
#include "control.h"
#include "ctlcmd.h"
#include "generation.h"
#include "log.h"
#include "runtime.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static char dir[] = "/tmp/fuzz-ctl.XXXXXX";	/* its file_base */

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* At the end, as at a stop: the engines go, then file_base. */
static void
finish(void)
{
	runtime_stop();
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[1024], err[2048];
	struct generation *g;
	struct sm_conf *c;

	(void)argc;
	(void)argv;
	log_set_priority(LOG_CRIT);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(text, sizeof(text),
	    "milter { listen = \"unix:%s/sock\"  file_base = \"%s\" }\n"
	    "antispam \"antispam1\" { rules \"rules1\" {\n"
	    "  config_path = \"%s\" } }\n"
	    "control { listen = \"\" }\n", dir, dir, FUZZ_RULES);
	if ((c = conf_load_buffer("fuzz.conf", text, strlen(text), err,
	    sizeof(err))) == NULL ||
	    (g = generation_new(c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_ctl: %s\n", err);
		abort();
	}
	runtime_init(g, "fuzz.conf", "unix:/nonexistent");
	atexit(finish);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct evbuffer *out = evbuffer_new();
	struct ctl_request r;
	char line[CONTROL_LINE_MAX + 1], err[256];
	const uint8_t *nul = memchr(data, '\0', len);

	if (nul != NULL)
		len = (size_t)(nul - data);
	if (len > CONTROL_LINE_MAX)
		len = CONTROL_LINE_MAX;
	memcpy(line, data, len);
	line[len] = '\0';
	/* as the control socket's reader: who may run it, then run it */
	if (ctl_parse(line, &r, err, sizeof(err)) < 0)
		ctl_error(0, out, "%s", err);
	else if ((void)ctl_needs_admin(&r), ctl_is_reload(&r))
		ctl_reload_reply(&r, -1, "not here", out);
	else
		(void)ctl_run(&r, out);
	evbuffer_free(out);
	return 0;
}
