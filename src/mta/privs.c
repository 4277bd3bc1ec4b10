/*
 * Leaving root (see privs.h).  After privs_drop() nothing the process does
 * runs with more rights than the service user has; the daemon checks that
 * it cannot come back.
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "privs.h"

int
privs_drop(const struct sm_conf *c, bool tool)
{
	struct passwd *pw = NULL;
	struct group *gr;
	uid_t uid = 0;
	gid_t gid = 0;
	char err[2048];

	if (c->user == NULL) {
		if (geteuid() == 0 && !tool)
			msg_warnx("running as root: set user (and group) in "
			    "milter { } to drop privileges");
		return 0;
	}
	if (tool && geteuid() != 0)
		return 0;
	if ((pw = getpwnam(c->user)) == NULL) {
		if (tool) {
			msg_warnx("user %s: no such user; checking as uid %ld",
			    c->user, (long)geteuid());
			return 0;
		}
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
	if (geteuid() != 0) {
		if (geteuid() == uid && getuid() == uid)
			return 0;
		msg_err("user %s: cannot switch to it: not started as root "
		    "(uid %ld)", c->user, (long)geteuid());
		return -1;
	}
	if (conf_prepare_dirs(c, uid, gid, err, sizeof(err)) < 0) {
		msg_err("%s", err);
		return -1;
	}
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
	if (!tool)
		msg_info("running as user %s (uid %ld, gid %ld)", c->user,
		    (long)uid, (long)gid);
	return 0;
}
