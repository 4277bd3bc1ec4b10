/*
 * Files and directories in trees another user may be changing: every step
 * by descriptor, no symbolic link followed unless its owner is trusted, no
 * file opened by a name someone else could have planted.
 *
 * A directory is trusted when it is owned by root or by the effective user
 * and no one else may write in it (group- or world-writable only with the
 * sticky bit, as /tmp: there others may add entries but not rename ours,
 * and every entry below is checked for its owner in turn).  Errors name
 * the path and its owner, so the administrator knows what to change.
 */
#ifndef SM_SAFEFS_H
#define SM_SAFEFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * Opens the directory path, checking every directory from "/" down as
 * above.  With create, missing components are made with mode (and must
 * then be ours).  path may be relative (to the working directory).
 * Returns an O_DIRECTORY descriptor the caller closes, or -1 with the
 * reason in err (errno ENOENT when a component is missing).
 */
int	safefs_open_dir(const char *path, bool create, mode_t mode, char *err,
	    size_t errlen);

/* Opens the trusted directory that holds path (see safefs_open_dir) and
 * puts path's last component, which must be a plain name, in base. */
int	safefs_open_parent(const char *path, char *base, size_t baselen,
	    char *err, size_t errlen);

/*
 * Opens (with create: makes, mode) the directory name inside directory
 * dfd without following a link; its status goes to *st.  -1 with the
 * reason in err (what names the directory in it).
 */
int	safefs_subdir(int dfd, const char *name, bool create, mode_t mode,
	    struct stat *st, const char *what, char *err, size_t errlen);

/*
 * Removes everything inside directory dfd (not dfd itself), never
 * following a link and at most depth levels down.  Returns how many
 * entries went; what names dfd in warnings.
 */
int	safefs_empty(int dfd, int depth, const char *what);

/* Writes "PID\n" to a new file path (0644) in a trusted directory,
 * replacing what was there without following it. */
int	safefs_write_pidfile(const char *path, long pid, char *err,
	    size_t errlen);

/*
 * A unix socket just bound at path: checks that its directory is trusted
 * and that path is a socket we own (not a link someone put in its place),
 * then sets its mode and, unless gid is (gid_t)-1, its group.
 */
int	safefs_socket_perms(const char *path, mode_t mode, gid_t gid,
	    char *err, size_t errlen);

/* Why the owner of st may not be trusted, or NULL: "owned by NAME (uid
 * N)" / "writable by group or others (mode 0777)" -- into buf. */
const char *safefs_untrusted(const struct stat *st, char *buf, size_t len);

/*
 * A file root reads and acts on (the config, an engine module): after
 * resolving links, every directory on its way must be trusted and the file
 * a regular one owned by root or by us that group and others may not
 * write.  Returns the resolved path (the caller frees it; open that one,
 * not path, whose links may change) and, if st is not NULL, the status of
 * the file it checked (its identity, to find the same file later); or
 * NULL with the reason in err ("PATH: REASON: refused"; "PATH: no such
 * file" with errno ENOENT).
 */
char	*safefs_check_file(const char *path, struct stat *st, char *err,
	    size_t errlen);

/* "NAME (uid N)" or "uid N", into buf. */
const char *safefs_owner(uid_t, char *buf, size_t len);

#endif
