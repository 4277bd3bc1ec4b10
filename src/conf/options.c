/*
 * Parsing of typed option values (booleans, numbers, sizes, durations,
 * strings, paths, enumerations) into a scope's structure.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"
#include "util.h"

const struct sm_option *
opt_find(const struct sm_option *table, const char *name)
{
	for (; table != NULL && table->name != NULL; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

int
opt_choice_index(const char *choices, const char *word)
{
	size_t wl = strlen(word);
	int idx = 0;
	const char *p = choices;

	for (;;) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);

		if (l == wl && strncasecmp(p, word, l) == 0)
			return idx;
		if (bar == NULL)
			return -1;
		p = bar + 1;
		idx++;
	}
}

const char *
opt_choice_name(const char *choices, int idx, char *buf, size_t len)
{
	const char *p = choices;

	while (idx-- > 0 && p != NULL)
		if ((p = strchr(p, '|')) != NULL)
			p++;
	if (p == NULL || len == 0)
		return "?";
	snprintf(buf, len, "%.*s", (int)strcspn(p, "|"), p);
	return buf;
}

const char *
opt_type_name(const struct sm_option *opt)
{
	switch (opt->type) {
	case SM_OPT_BOOL:	return "boolean";
	case SM_OPT_INT:	return "integer";
	case SM_OPT_SIZE:	return "size";
	case SM_OPT_DURATION:	return "duration";
	case SM_OPT_STRING:	return "string";
	case SM_OPT_PATH:	return "path";
	case SM_OPT_ENUM:	return opt->choices;
	case SM_OPT_OCTAL:	return "octal mode";
	}
	return "?";
}

static int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

/* Multiplies v by the unit named by suffix (from the table), or fails. */
struct unit { const char *suffix; long long mul; };

static int
parse_scaled(const char *s, int base, const struct unit *units,
    long long *out)
{
	char *end;
	long long v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, base);
	if (errno != 0 || end == s)
		return -1;
	if (*end == '\0' && units == NULL) {
		*out = v;
		return 0;
	}
	for (; units != NULL && units->suffix != NULL; units++) {
		if (strcasecmp(end, units->suffix) != 0)
			continue;
		if (v != 0 && (v > LLONG_MAX / units->mul ||
		    v < LLONG_MIN / units->mul))
			return -1;
		*out = v * units->mul;
		return 0;
	}
	return -1;
}

static const struct unit size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", 1024LL }, { "kb", 1024LL }, { "kib", 1024LL },
	{ "m", 1024LL * 1024 }, { "mb", 1024LL * 1024 },
	{ "mib", 1024LL * 1024 },
	{ "g", 1024LL * 1024 * 1024 }, { "gb", 1024LL * 1024 * 1024 },
	{ "gib", 1024LL * 1024 * 1024 },
	{ NULL, 0 }
};

/* Durations are stored in milliseconds; a bare number means seconds. */
static const struct unit duration_units[] = {
	{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
	{ "h", 3600000 }, { NULL, 0 }
};

static void
store_string(void *slot, char *s)
{
	char **p = slot;

	free(*p);
	*p = s;
}

static const char *
number_hint(enum sm_opt_type t)
{
	switch (t) {
	case SM_OPT_SIZE:	return "a size such as 512, 64K or 10M";
	case SM_OPT_DURATION:	return "a duration such as 500ms, 10s or 2m";
	case SM_OPT_OCTAL:	return "an octal mode such as 0660";
	default:		return "an integer";
	}
}

static int
set_number(const struct sm_option *opt, const char *text, void *slot,
    char *err, size_t errlen)
{
	const struct unit *units = NULL;
	int base = 10;
	long long v;

	if (opt->type == SM_OPT_SIZE)
		units = size_units;
	else if (opt->type == SM_OPT_DURATION)
		units = duration_units;
	else if (opt->type == SM_OPT_OCTAL)
		base = 8;
	if (parse_scaled(text, base, units, &v) < 0) {
		snprintf(err, errlen, "expected %s, got '%s'",
		    number_hint(opt->type), text);
		return -1;
	}
	if (opt->min <= opt->max && (v < opt->min || v > opt->max)) {
		if (opt->type == SM_OPT_OCTAL)
			snprintf(err, errlen, "'%s' is out of range %llo..%llo",
			    text, opt->min, opt->max);
		else
			snprintf(err, errlen,
			    "'%s' is out of range %lld..%lld%s", text,
			    opt->min, opt->max,
			    opt->type == SM_OPT_DURATION ? " ms" :
			    opt->type == SM_OPT_SIZE ? " bytes" : "");
		return -1;
	}
	if (slot != NULL)
		*(long long *)slot = v;
	return 0;
}

int
opt_set(const struct sm_option *opt, const char *text, const char *basedir,
    void *dst, char *err, size_t errlen)
{
	void *slot = NULL;
	int iv;

	if (opt->offset != SM_OPT_NOSTORE && dst != NULL)
		slot = (char *)dst + opt->offset;
	switch (opt->type) {
	case SM_OPT_BOOL:
		if (parse_bool(text, &iv) < 0) {
			snprintf(err, errlen,
			    "expected yes or no (true/false, on/off), got '%s'",
			    text);
			return -1;
		}
		if (slot != NULL)
			*(int *)slot = iv;
		return 0;
	case SM_OPT_INT:
	case SM_OPT_SIZE:
	case SM_OPT_DURATION:
	case SM_OPT_OCTAL:
		return set_number(opt, text, slot, err, errlen);
	case SM_OPT_ENUM:
		if ((iv = opt_choice_index(opt->choices, text)) < 0) {
			snprintf(err, errlen, "expected one of %s, got '%s'",
			    opt->choices, text);
			return -1;
		}
		if (slot != NULL)
			*(int *)slot = iv;
		return 0;
	case SM_OPT_STRING:
		if (slot != NULL)
			store_string(slot, xstrdup(text));
		return 0;
	case SM_OPT_PATH:
		if (*text == '\0') {
			snprintf(err, errlen, "expected a path, got ''");
			return -1;
		}
		if (slot == NULL)
			return 0;
		if (*text != '/' && basedir != NULL)
			store_string(slot, xasprintf("%s/%s", basedir, text));
		else
			store_string(slot, xstrdup(text));
		return 0;
	}
	snprintf(err, errlen, "option type %d unknown", (int)opt->type);
	return -1;
}

void
opt_free(const struct sm_option *table, void *dst)
{
	if (dst == NULL)
		return;
	for (; table->name != NULL; table++) {
		if (table->offset == SM_OPT_NOSTORE)
			continue;
		if (table->type == SM_OPT_STRING || table->type == SM_OPT_PATH)
			store_string((char *)dst + table->offset, NULL);
	}
}
