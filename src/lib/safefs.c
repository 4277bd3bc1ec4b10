/*
 * Files and directories in trees another user may be changing (see
 * safefs.h): the daemon starts as root in directories its service user
 * may write, so nothing here opens, changes or removes anything by a path
 * whose directories are not checked first, or follows a link the service
 * user could have put in place.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "safefs.h"
#include "util.h"

#define SAFEFS_MAX_LINKS 16	/* links (and "..") followed in one path */

const char *
safefs_owner(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL)
		snprintf(buf, len, "%s (uid %lu)", pw.pw_name,
		    (unsigned long)uid);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
	return buf;
}

const char *
safefs_untrusted(const struct stat *st, char *buf, size_t len)
{
	char who[128];

	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(buf, len, "is owned by %s, not by root%s",
		    safefs_owner(st->st_uid, who, sizeof(who)),
		    geteuid() == 0 ? "" : " or us");
		return buf;
	}
	if ((st->st_mode & 022) != 0 && !(st->st_mode & S_ISVTX)) {
		snprintf(buf, len, "is writable by group or others (mode "
		    "%04o)", (unsigned)(st->st_mode & 07777));
		return buf;
	}
	return NULL;
}

/* One path component (no '/'), not "." or "..", into comp. */
static int
component(const char *s, size_t n, char *comp, size_t len)
{
	if (n == 0 || n >= len || n > NAME_MAX)
		return -1;
	memcpy(comp, s, n);
	comp[n] = '\0';
	return 0;
}

int
safefs_open_dir(const char *path, bool create, mode_t mode, char *err,
    size_t errlen)
{
	char cur[PATH_MAX], comp[NAME_MAX + 1], why[256];
	char *want = NULL, *next;
	const char *p;
	struct stat st;
	int dfd = -1, fd, links = 0, saved = 0;

	if (*path == '\0') {
		snprintf(err, errlen, "empty path");
		errno = EINVAL;
		return -1;
	}
	if (*path != '/') {
		if (getcwd(cur, sizeof(cur)) == NULL) {
			saved = errno;
			snprintf(err, errlen, "%s: working directory: %s", path,
			    strerror(errno));
			goto fail;
		}
		want = xasprintf("%s/%s", cur, path);
	} else {
		want = xstrdup(path);
	}
restart:
	if (dfd >= 0)
		close(dfd);
	cur[0] = '\0';
	if ((dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fstat(dfd, &st) < 0) {
		saved = errno;
		snprintf(err, errlen, "/: %s", strerror(errno));
		goto fail;
	}
	if (safefs_untrusted(&st, why, sizeof(why)) != NULL) {
		saved = EPERM;
		snprintf(err, errlen, "/ %s", why);
		goto fail;
	}
	for (p = want; ; ) {
		const char *end;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		if (component(p, (size_t)(end - p), comp, sizeof(comp)) < 0) {
			saved = ENAMETOOLONG;
			snprintf(err, errlen, "%s: name too long", path);
			goto fail;
		}
		p = end;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {	/* cur has no links: cut it */
			char *slash = strrchr(cur, '/');

			if (slash != NULL)
				*slash = '\0';
			next = xasprintf("%s%s", cur, p);
			goto again;
		}
		fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(dfd, comp, mode) < 0 && errno != EEXIST) {
				saved = errno;
				snprintf(err, errlen, "cannot create %s/%s: %s",
				    cur, comp, strerror(errno));
				goto fail;
			}
			fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
			char target[PATH_MAX];
			ssize_t n;

			if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISLNK(st.st_mode)) {
				saved = ENOTDIR;
				snprintf(err, errlen, "%s/%s is not a directory",
				    cur, comp);
				goto fail;
			}
			/* its directory is trusted; the link must be too */
			if (st.st_uid != 0 && st.st_uid != geteuid()) {
				saved = EPERM;
				snprintf(err, errlen, "%s/%s is a symbolic link "
				    "%s", cur, comp, safefs_untrusted(&st, why,
				    sizeof(why)));
				goto fail;
			}
			n = readlinkat(dfd, comp, target, sizeof(target) - 1);
			if (n <= 0) {
				saved = errno;
				snprintf(err, errlen, "%s/%s: %s", cur, comp,
				    strerror(errno));
				goto fail;
			}
			target[n] = '\0';
			next = *target == '/' ? xasprintf("%s%s", target, p) :
			    xasprintf("%s/%s%s", cur, target, p);
			goto again;
		}
		if (fd < 0) {
			saved = errno;
			snprintf(err, errlen, "%s/%s: %s", cur, comp,
			    strerror(errno));
			goto fail;
		}
		if (fstat(fd, &st) < 0)
			snprintf(why, sizeof(why), ": %s", strerror(errno));
		else if (safefs_untrusted(&st, why, sizeof(why)) == NULL)
			why[0] = '\0';
		if (why[0] != '\0') {
			saved = EPERM;
			snprintf(err, errlen, "%s/%s %s", cur, comp, why);
			close(fd);
			goto fail;
		}
		close(dfd);
		dfd = fd;
		if (strlen(cur) + strlen(comp) + 2 > sizeof(cur)) {
			saved = ENAMETOOLONG;
			snprintf(err, errlen, "%s: name too long", path);
			goto fail;
		}
		strcat(cur, "/");
		strcat(cur, comp);
		continue;
again:
		free(want);
		want = next;
		if (++links > SAFEFS_MAX_LINKS) {
			saved = ELOOP;
			snprintf(err, errlen, "%s: too many links", path);
			goto fail;
		}
		goto restart;
	}
	free(want);
	return dfd;
fail:
	free(want);
	if (dfd >= 0)
		close(dfd);
	errno = saved;
	return -1;
}

int
safefs_open_parent(const char *path, char *base, size_t baselen, char *err,
    size_t errlen)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash != NULL ? slash + 1 : path;
	char *dir;
	int dfd;

	if (component(name, strlen(name), base, baselen) < 0 ||
	    strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		snprintf(err, errlen, "%s: not a file name", path);
		errno = EINVAL;
		return -1;
	}
	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	dfd = safefs_open_dir(dir, false, 0, err, errlen);
	free(dir);
	return dfd;
}

int
safefs_subdir(int dfd, const char *name, bool create, mode_t mode,
    struct stat *st, const char *what, char *err, size_t errlen)
{
	int fd;

	if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0) {
		snprintf(err, errlen, "%s/%s: not a directory name", what, name);
		errno = EINVAL;
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s/%s: %s", what,
			    name, strerror(errno));
			return -1;
		}
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	}
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "%s/%s: %s", what, name,
		    e == ELOOP || e == ENOTDIR ? "not a directory (a link "
		    "or a file in its place: refused)" : strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, st) < 0) {
		snprintf(err, errlen, "%s/%s: %s", what, name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
safefs_empty(int dfd, int depth, const char *what)
{
	int n = 0;

	/* entries removed while reading may hide others: a second pass */
	for (int pass = 0; pass < 4; pass++) {
		int removed = 0, fd;
		struct dirent *de;
		DIR *d;

		fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || (d = fdopendir(fd)) == NULL) {
			msg_warn("cannot read %s", what);
			if (fd >= 0)
				close(fd);
			break;
		}
		while ((de = readdir(d)) != NULL) {
			const char *name = de->d_name;
			int sub;

			if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
				continue;
			if (unlinkat(dfd, name, 0) == 0) {
				removed++;
				continue;
			}
			if (errno == ENOENT)
				continue;
			if (errno != EISDIR && errno != EPERM) {
				msg_warn("cannot remove stale %s/%s", what,
				    name);
				continue;
			}
			if (depth <= 0) {
				msg_warnx("%s/%s: too deep, left alone", what,
				    name);
				continue;
			}
			sub = openat(dfd, name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				msg_warn("cannot open stale %s/%s", what, name);
				continue;
			}
			n += safefs_empty(sub, depth - 1, what);
			close(sub);
			if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
				removed++;
			else
				msg_warn("cannot remove stale %s/%s", what,
				    name);
		}
		closedir(d);
		n += removed;
		if (removed == 0)
			break;
	}
	return n;
}

char *
safefs_check_file(const char *path, struct stat *out, char *err,
    size_t errlen)
{
	char base[NAME_MAX + 1], why[512], *real;
	struct stat st;
	int dfd, saved = EPERM;

	if ((real = realpath(path, NULL)) == NULL) {
		snprintf(err, errlen, "%s: no such file", path);
		errno = ENOENT;
		return NULL;
	}
	if ((dfd = safefs_open_parent(real, base, sizeof(base), why,
	    sizeof(why))) < 0) {
		saved = errno;
		snprintf(err, errlen, "%s: %s: refused", path, why);
		goto fail;
	}
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode)) {
		saved = ENOENT;
		snprintf(err, errlen, "%s: no such file", path);
	} else if ((st.st_mode & 022) != 0) {
		snprintf(err, errlen, "%s: writable by group or others: "
		    "refused", path);
	} else if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: %s: refused", path,
		    safefs_untrusted(&st, why, sizeof(why)));
	} else {
		close(dfd);
		if (out != NULL)
			*out = st;
		return real;
	}
	close(dfd);
fail:
	free(real);
	errno = saved;
	return NULL;
}

int
safefs_write_pidfile(const char *path, long pid, char *err, size_t errlen)
{
	char base[NAME_MAX + 1], line[32];
	int dfd, fd = -1, rc = -1, len;

	if ((dfd = safefs_open_parent(path, base, sizeof(base), err,
	    errlen)) < 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "pidfile %s: %s", path, why);
		return -1;
	}
	/* in a trusted directory no one else adds entries; what is there
	 * (an old pidfile) goes, and the new one is ours alone */
	if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "pidfile %s: cannot replace it: %s", path,
		    strerror(errno));
		goto out;
	}
	fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	len = snprintf(line, sizeof(line), "%ld\n", pid);
	if (fd < 0 || write(fd, line, (size_t)len) != len) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0 && close(fd) < 0 && rc == 0) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		rc = -1;
	}
	close(dfd);
	return rc;
}

int
safefs_socket_perms(const char *path, mode_t mode, gid_t gid, char *err,
    size_t errlen)
{
	char base[NAME_MAX + 1], why[512];
	struct stat st;
	int dfd, rc = -1;

	if ((dfd = safefs_open_parent(path, base, sizeof(base), why,
	    sizeof(why))) < 0) {
		snprintf(err, errlen, "socket %s: %s", path, why);
		return -1;
	}
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(err, errlen, "socket %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(err, errlen, "socket %s: not the socket we bound "
		    "(something else, owned by uid %lu, is in its place)",
		    path, (unsigned long)st.st_uid);
		goto out;
	}
	/* the directory is trusted: the entry stays the one just checked */
	if (gid != (gid_t)-1 &&
	    fchownat(dfd, base, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(err, errlen, "socket %s: group %lu: %s", path,
		    (unsigned long)gid, strerror(errno));
		goto out;
	}
	if (fchmodat(dfd, base, mode, 0) < 0) {
		snprintf(err, errlen, "socket %s: mode %04o: %s", path,
		    (unsigned)mode, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(dfd);
	return rc;
}
