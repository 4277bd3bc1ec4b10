/*
 * corpus.h - load a mail corpus (files and/or directories of files) into
 * memory once, before any timing starts. Shared by miltergen and rawscan.
 */
#ifndef BENCH_CORPUS_H
#define BENCH_CORPUS_H

#include <stddef.h>

#define CORPUS_MAX_FILES 1000000
#define CORPUS_MAX_FILE_BYTES (256u * 1024u * 1024u)

struct corpus_file {
	char *path;          /* as found (owned) */
	unsigned char *data; /* prefix + file bytes (owned), not NUL-terminated */
	size_t len;          /* bytes in data, prefix included */
	size_t file_len;     /* size of the file on disk */
};

struct corpus {
	struct corpus_file *files;
	size_t n;
	size_t total_bytes; /* sum of file_len */
};

/* Load options. */
struct corpus_opts {
	const char *prefix; /* bytes put before each file (e.g. an mbox From line), or NULL */
	int crlf;           /* 1: turn bare LF into CRLF while loading */
};

/*
 * Load every argument: a regular file, or a directory whose regular files
 * (not recursive; names starting with '.' and "MANIFEST" skipped) are taken
 * in name order. Dies on any error or an empty corpus. Free with corpus_free.
 */
void corpus_load(struct corpus *c, char *const *args, int nargs, const struct corpus_opts *o);
void corpus_free(struct corpus *c);

#endif
