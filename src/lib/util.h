/*
 * Allocation that never returns NULL (it exits through msg_fatal instead)
 * and a few string helpers.  Every x*free() takes NULL.
 */
#ifndef SM_UTIL_H
#define SM_UTIL_H

#include <stddef.h>

#include "log.h"

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *fmt, ...) SM_PRINTF(1, 2);

/* Copies src into dst of size n, always NUL-terminated; returns strlen(src). */
size_t	sm_strlcpy(char *dst, const char *src, size_t n);

/*
 * Reads the file at path (a pipe too) whole into a new buffer,
 * NUL-terminated, its length in *lenp.  NULL with "path: reason" in err
 * when it cannot be read or has more than max bytes.
 */
char	*sm_read_file(const char *path, size_t max, size_t *lenp, char *err,
	    size_t errlen);
/* The same from an open descriptor, which it closes; path names it in err. */
char	*sm_read_fd(int fd, const char *path, size_t max, size_t *lenp,
	    char *err, size_t errlen);

/*
 * Replaces every control character (below 0x20, and 0x7f) in s by a space,
 * in place; returns s.  Every text we hand the MTA -- header values, reply
 * and quarantine texts -- goes through it, whatever its source (engine
 * verdict names, host names, configured words), so none can end a line
 * and start a header of its own.
 */
char	*sm_clean_text(char *s);

/* The value of hex digit c, or -1. */
int	sm_hexval(int c);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
