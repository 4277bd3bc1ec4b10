/*
 * A recency list for caches: an entry embeds a struct lru_link, the list
 * runs from the most recently used (head) to the least (tail, the next to
 * go).  The caller locks.
 */
#ifndef SM_LRU_H
#define SM_LRU_H

#include <stddef.h>

struct lru_link {
	struct lru_link *prev, *next;
};

struct lru {
	struct lru_link *head, *tail;
};

/* The entry of type holding link as member; NULL for a NULL link. */
#define LRU_ENTRY(link, type, member) ((link) == NULL ? (type *)NULL : \
	(type *)(void *)((char *)(link) - offsetof(type, member)))

static inline void
lru_unlink(struct lru *l, struct lru_link *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

static inline void
lru_push_front(struct lru *l, struct lru_link *e)
{
	e->prev = NULL;
	e->next = l->head;
	if (l->head != NULL)
		l->head->prev = e;
	l->head = e;
	if (l->tail == NULL)
		l->tail = e;
}

/* Makes e, in the list, the most recent. */
static inline void
lru_touch(struct lru *l, struct lru_link *e)
{
	lru_unlink(l, e);
	lru_push_front(l, e);
}

#endif
