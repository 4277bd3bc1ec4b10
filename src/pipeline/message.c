/*
 * The message's envelope and connection data (owned copies) and its
 * reference-counted bytes; see message.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "message.h"
#include "util.h"

int
message_set(char **field, const char *value)
{
	char *copy = NULL;

	/* client-sized (up to libmilter's 1 MB): no memory, no message */
	if (value != NULL && (copy = strdup(value)) == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

void
message_add_rcpt(struct message *m, const char *rcpt)
{
	m->rcpts = xrealloc(m->rcpts, (m->nrcpt + 1) * sizeof(*m->rcpts));
	m->rcpts[m->nrcpt++] = xstrdup(rcpt != NULL ? rcpt : "");
}

void
message_set_macro(struct message *m, const char *name, const char *value)
{
	struct message_macro *mm;

	for (size_t i = 0; i < m->nmacros; i++)
		if (strcmp(m->macros[i].name, name) == 0) {
			if (message_set(&m->macros[i].value, value) == -1)
				msg_fatalx("out of memory");
			return;
		}
	m->macros = xrealloc(m->macros, (m->nmacros + 1) *
	    sizeof(*m->macros));
	mm = &m->macros[m->nmacros++];
	mm->name = xstrdup(name);
	mm->value = value != NULL ? xstrdup(value) : NULL;
}

const char *
message_macro(const struct message *m, const char *name)
{
	for (size_t i = 0; i < m->nmacros; i++)
		if (strcmp(m->macros[i].name, name) == 0)
			return m->macros[i].value;
	return NULL;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
message_copy(struct message *dst, const struct message *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->queue_id = dup_or_null(src->queue_id);
	dst->client_addr = dup_or_null(src->client_addr);
	dst->client_name = dup_or_null(src->client_name);
	dst->helo = dup_or_null(src->helo);
	dst->sender = dup_or_null(src->sender);
	dst->auth = dup_or_null(src->auth);
	for (size_t i = 0; i < src->nrcpt; i++)
		message_add_rcpt(dst, src->rcpts[i]);
	for (size_t i = 0; i < src->nmacros; i++)
		message_set_macro(dst, src->macros[i].name,
		    src->macros[i].value);
}

void
message_end_transaction(struct message *m)
{
	message_set(&m->queue_id, NULL);
	message_set(&m->sender, NULL);
	message_set(&m->auth, NULL);
	for (size_t i = 0; i < m->nrcpt; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	m->rcpts = NULL;
	m->nrcpt = 0;
	for (size_t i = 0; i < m->nmacros; i++) {
		free(m->macros[i].name);
		free(m->macros[i].value);
	}
	free(m->macros);
	m->macros = NULL;
	m->nmacros = 0;
}

void
message_clear(struct message *m)
{
	message_end_transaction(m);
	message_set(&m->client_addr, NULL);
	message_set(&m->client_name, NULL);
	message_set(&m->helo, NULL);
}

const char *
message_str(const char *field, const char *def)
{
	return field != NULL ? field : def;
}

struct message_input *
message_input_new(void)
{
	struct message_input *in = xcalloc(1, sizeof(*in));

	in->refs = 1;
	return in;
}

void
message_input_ref(struct message_input *in)
{
	__atomic_add_fetch(&in->refs, 1, __ATOMIC_ACQ_REL);
}

void
message_input_unref(struct message_input *in)
{
	if (in == NULL || __atomic_sub_fetch(&in->refs, 1, __ATOMIC_ACQ_REL))
		return;
	wirebuf_free(&in->wb);
	free(in);
}
