/*
 * corpus.c - load a mail corpus into memory (see corpus.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "corpus.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pathlist {
	char **v;
	size_t n, cap;
};

static void pathlist_add(struct pathlist *pl, char *path)
{
	if (pl->n >= CORPUS_MAX_FILES)
		die("more than %d corpus files", CORPUS_MAX_FILES);
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 256;
		pl->v = xrealloc(pl->v, pl->cap * sizeof(*pl->v));
	}
	pl->v[pl->n++] = path;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int skip_name(const char *name)
{
	return name[0] == '.' || strcmp(name, "MANIFEST") == 0;
}

/* Add the regular files of one directory, sorted by name. */
static void list_dir(struct pathlist *pl, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t first = pl->n;

	if (d == NULL)
		die_errno("opendir %s", dir);
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		char *p;

		if (skip_name(e->d_name))
			continue;
		p = xmalloc(strlen(dir) + strlen(e->d_name) + 2);
		sprintf(p, "%s/%s", dir, e->d_name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			pathlist_add(pl, p);
		else
			free(p);
	}
	closedir(d);
	qsort(pl->v + first, pl->n - first, sizeof(*pl->v), cmp_str);
}

static void list_args(struct pathlist *pl, char *const *args, int nargs)
{
	for (int i = 0; i < nargs; i++) {
		struct stat st;

		if (stat(args[i], &st) != 0)
			die_errno("stat %s", args[i]);
		if (S_ISDIR(st.st_mode))
			list_dir(pl, args[i]);
		else if (S_ISREG(st.st_mode))
			pathlist_add(pl, xstrdup(args[i]));
		else
			die("%s: not a file or directory", args[i]);
	}
}

/* Read a whole file; *len receives its size. Caller frees. */
static unsigned char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	unsigned char *buf;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) != 0)
		die_errno("open %s", path);
	if ((unsigned long long)st.st_size > CORPUS_MAX_FILE_BYTES)
		die("%s: larger than %u bytes", path, CORPUS_MAX_FILE_BYTES);
	buf = xmalloc((size_t)st.st_size);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die_errno("read %s", path);
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

/* Bytes needed once every bare LF becomes CRLF. */
static size_t crlf_len(const unsigned char *s, size_t n)
{
	size_t out = n;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			out++;
	return out;
}

/* Copy s to dst turning bare LF into CRLF when crlf is set; returns bytes written. */
static size_t copy_body(unsigned char *dst, const unsigned char *s, size_t n, int crlf)
{
	size_t o = 0;

	if (!crlf) {
		memcpy(dst, s, n);
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			dst[o++] = '\r';
		dst[o++] = s[i];
	}
	return o;
}

static void load_one(struct corpus_file *f, char *path, const struct corpus_opts *o)
{
	size_t plen = o->prefix ? strlen(o->prefix) : 0;
	size_t raw_len, body_len;
	unsigned char *raw = read_file(path, &raw_len);

	body_len = o->crlf ? crlf_len(raw, raw_len) : raw_len;
	f->path = path;
	f->file_len = raw_len;
	f->data = xmalloc(plen + body_len);
	if (plen)
		memcpy(f->data, o->prefix, plen);
	f->len = plen + copy_body(f->data + plen, raw, raw_len, o->crlf);
	free(raw);
}

void corpus_load(struct corpus *c, char *const *args, int nargs, const struct corpus_opts *o)
{
	struct pathlist pl = { 0 };

	list_args(&pl, args, nargs);
	if (pl.n == 0)
		die("no corpus files found");
	c->files = xcalloc(pl.n, sizeof(*c->files));
	c->n = pl.n;
	c->total_bytes = 0;
	for (size_t i = 0; i < pl.n; i++) {
		load_one(&c->files[i], pl.v[i], o);
		c->total_bytes += c->files[i].file_len;
	}
	free(pl.v);
}

void corpus_free(struct corpus *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->files[i].path);
		free(c->files[i].data);
	}
	free(c->files);
	c->files = NULL;
	c->n = 0;
}
