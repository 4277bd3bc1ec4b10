/*
 * A configuration's directories: the spool and the engines' temporary
 * directories under file_base (the generation creates them), and their
 * cleaning and ownership at daemon start.
 *
 * Directories under file_base have fixed names (spool/ for messages past
 * the threshold, engine-NAME/ for each engine's own temporary files), so
 * what a crash left behind is found and removed at the next start.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "util.h"

/*
 * mkdir -p; what it creates is mode 0711: others may pass through (to the
 * private directories inside, owned by the user the daemon drops to) but
 * not list.
 */
static int
make_dirs(const char *path, char *err, size_t errlen)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; ; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0711) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", p,
			    strerror(errno));
			rc = -1;
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

static const char *clean_top;
static int clean_count;

static int
clean_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	if (f->level == 0 || strcmp(path, clean_top) == 0)
		return 0;
	if (remove(path) == 0)
		clean_count++;
	else
		msg_warn("cannot remove stale %s", path);
	return 0;
}

/* Empties dir (not following symlinks); returns how many entries went. */
static int
clean_dir(const char *dir)
{
	clean_top = dir;
	clean_count = 0;
	nftw(dir, clean_one, 16, FTW_DEPTH | FTW_PHYS);
	return clean_count;
}

/* Creates dir (and parents) as a private directory. */
int
conf_private_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (make_dirs(dir, err, errlen) < 0)
		return -1;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return -1;
	}
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) < 0) {
		snprintf(err, errlen, "chmod 0700 %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

char *
conf_spool_path(const struct sm_conf *c)
{
	return xasprintf("%s/spool", c->eff.file_base);
}

char *
conf_engine_tmp_path(const struct sm_av *av, const struct sm_engine_inst *e)
{
	return xasprintf("%s/engine-%s", av->msg.file_base, e->name);
}

static void
clean_logged(char *dir)
{
	struct stat st;
	int n;

	if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (n = clean_dir(dir)) > 0)
		msg_warnx("removed %d stale file(s) from %s", n, dir);
	free(dir);
}

void
conf_clean_stale(const struct sm_conf *c)
{
	clean_logged(conf_spool_path(c));
	for (size_t a = 0; a < c->navs; a++)
		for (size_t i = 0; i < c->avs[a]->nengines; i++)
			clean_logged(conf_engine_tmp_path(c->avs[a],
			    c->avs[a]->engines[i]));
}

int
conf_chown_dirs(const struct sm_conf *c, uid_t uid, gid_t gid)
{
	char *d = conf_spool_path(c);
	int rc = 0;

	if (chown(d, uid, gid) < 0) {
		msg_warn("chown %s", d);
		rc = -1;
	}
	free(d);
	for (size_t a = 0; a < c->navs && rc == 0; a++)
		for (size_t i = 0; i < c->avs[a]->nengines && rc == 0; i++) {
			if (!c->avs[a]->engines[i]->enabled)
				continue;	/* never started */
			d = conf_engine_tmp_path(c->avs[a],
			    c->avs[a]->engines[i]);
			if (chown(d, uid, gid) < 0) {
				msg_warn("chown %s", d);
				rc = -1;
			}
			free(d);
		}
	return rc;
}
