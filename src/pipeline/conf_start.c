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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "safefs.h"
#include "util.h"

/*
 * The directories live in file_base, which the user the daemon runs as
 * may write: everything below goes by descriptor (safefs.h), never by a
 * path someone could turn into a link between a check and its use.
 * file_base and the directories above it must be trusted (owned by root or
 * by us, writable by no one else); each private directory must be ours.
 */

/* Splits file_base into the directory above it and its last name. */
static int
base_split(const char *base, char **dir, char **leaf, char *err,
    size_t errlen)
{
	char *p = xstrdup(base), *slash;
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	if ((slash = strrchr(p, '/')) == NULL || slash[1] == '\0') {
		snprintf(err, errlen, "file_base %s: expected an absolute path "
		    "below /", base);
		free(p);
		return -1;
	}
	*leaf = xstrdup(slash + 1);
	*dir = slash == p ? xstrdup("/") : xstrndup(p, (size_t)(slash - p));
	free(p);
	return 0;
}

/* Opens (making it, mode 0711: others may pass, not list) file_base. */
static int
open_base(const char *base, bool create, char *err, size_t errlen)
{
	return safefs_open_dir(base, create, 0711, err, errlen);
}

/* Creates dir (its parents too, mode 0711) as our private directory. */
int
conf_private_dir(const char *dir, char *err, size_t errlen)
{
	char who[128], me[128], *base = NULL, *name = NULL;
	struct stat st;
	int bfd = -1, fd = -1, rc = -1;

	if (base_split(dir, &base, &name, err, errlen) < 0)
		return -1;
	if ((bfd = open_base(base, true, err, errlen)) < 0)
		goto out;
	if ((fd = safefs_subdir(bfd, name, true, 0700, &st, base, err,
	    errlen)) < 0)
		goto out;
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s is owned by %s, not by the user "
		    "scanmilter runs as, %s: refused", dir,
		    safefs_owner(st.st_uid, who, sizeof(who)),
		    safefs_owner(geteuid(), me, sizeof(me)));
		goto out;
	}
	if ((st.st_mode & 077) != 0 && fchmod(fd, 0700) < 0) {
		snprintf(err, errlen, "chmod 0700 %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (bfd >= 0)
		close(bfd);
	free(base);
	free(name);
	return rc;
}

static char *
engine_dir_name(const struct sm_engine_inst *e)
{
	return xasprintf("engine-%s", e->name);
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

/* Empties base/name if it is there and ours; never follows a link. */
static void
clean_logged(const char *base, char *name)
{
	char err[1024], who[128], *path = xasprintf("%s/%s", base, name);
	struct stat st;
	int bfd, fd = -1, n;

	if ((bfd = open_base(base, false, err, sizeof(err))) < 0) {
		if (errno != ENOENT)
			msg_warnx("not cleaning %s: %s", path, err);
		goto out;
	}
	if ((fd = safefs_subdir(bfd, name, false, 0, &st, base, err,
	    sizeof(err))) < 0) {
		if (errno != ENOENT)
			msg_warnx("not cleaning %s", err);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		msg_warnx("not cleaning %s: owned by %s, not by us", path,
		    safefs_owner(st.st_uid, who, sizeof(who)));
		goto out;
	}
	if ((n = safefs_empty(fd, 16, path)) > 0)
		msg_warnx("removed %d stale file(s) from %s", n, path);
out:
	if (fd >= 0)
		close(fd);
	if (bfd >= 0)
		close(bfd);
	free(path);
	free(name);
}

void
conf_clean_stale(const struct sm_conf *c)
{
	const struct sm_engine_inst *e;
	const struct sm_av *av;

	clean_logged(c->eff.file_base, xstrdup("spool"));
	for (size_t i = 0; (e = conf_engine(c, i, &av)) != NULL; i++)
		clean_logged(av->msg.file_base, engine_dir_name(e));
}

/*
 * As root, before dropping to uid:gid: base/name made (or taken over)
 * and given to uid, by descriptor.  A file_base owned by uid is left to
 * that user; one root may not trust is refused.
 */
static int
prepare_one(const char *base, const char *name, uid_t uid, gid_t gid,
    char *err, size_t errlen)
{
	char *dir = NULL, *leaf = NULL, why[1024], who[128];
	struct stat st;
	int pfd = -1, bfd = -1, fd = -1, rc = -1;

	if (base_split(base, &dir, &leaf, err, errlen) < 0)
		return -1;
	if ((pfd = open_base(dir, true, err, errlen)) < 0)
		goto out;
	if ((bfd = safefs_subdir(pfd, leaf, true, 0711, &st, dir, why,
	    sizeof(why))) < 0) {
		snprintf(err, errlen, "file_base: %s", why);
		goto out;
	}
	if (st.st_uid == uid) {		/* the user's own: it makes them */
		rc = 0;
		goto out;
	}
	if (safefs_untrusted(&st, why, sizeof(why)) != NULL) {
		snprintf(err, errlen, "file_base %s %s: root would work in it "
		    "before dropping privileges; make it root's or the "
		    "service user's", base, why);
		goto out;
	}
	if ((fd = safefs_subdir(bfd, name, true, 0700, &st, base, err,
	    errlen)) < 0)
		goto out;
	if (st.st_uid != 0 && st.st_uid != uid) {
		snprintf(err, errlen, "%s/%s is owned by %s: refused", base,
		    name, safefs_owner(st.st_uid, who, sizeof(who)));
		goto out;
	}
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, 0700) < 0) {
		snprintf(err, errlen, "%s/%s: cannot give it to uid %lu: %s",
		    base, name, (unsigned long)uid, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (bfd >= 0)
		close(bfd);
	if (pfd >= 0)
		close(pfd);
	free(dir);
	free(leaf);
	return rc;
}

int
conf_prepare_dirs(const struct sm_conf *c, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	const struct sm_engine_inst *e;
	const struct sm_av *av;

	if (prepare_one(c->eff.file_base, "spool", uid, gid, err, errlen) < 0)
		return -1;
	for (size_t i = 0; (e = conf_engine(c, i, &av)) != NULL; i++) {
		char *name = engine_dir_name(e);
		int rc = prepare_one(av->msg.file_base, name, uid, gid, err,
		    errlen);

		free(name);
		if (rc < 0)
			return -1;
	}
	return 0;
}
