/* SPDX-License-Identifier: MIT */
/* MQTT 5.0 topic alias tables of one connection, in both directions. */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "mqttd/mqttd.h"

void
alias_in_init(struct alias_in *a, uint16_t max)
{
	a->max = max;
	a->topics = NULL;
	a->lens = NULL;
}

void
alias_in_clear(struct alias_in *a)
{
	uint32_t	i;

	if (a->topics != NULL) {
		for (i = 0; i < a->max; i++)
			free(a->topics[i]);
	}
	free(a->topics);
	free(a->lens);
	a->topics = NULL;
	a->lens = NULL;
}

int
alias_in_set(struct alias_in *a, uint16_t alias, const uint8_t *topic,
    size_t len)
{
	if (alias == 0 || alias > a->max || len > UINT16_MAX)
		return (-1);
	if (a->topics == NULL) {
		a->topics = xcalloc(a->max, sizeof(*a->topics));
		a->lens = xcalloc(a->max, sizeof(*a->lens));
	}
	free(a->topics[alias - 1]);
	a->topics[alias - 1] = xstrndup((const char *)topic, len);
	a->lens[alias - 1] = (uint16_t)len;
	return (0);
}

const char *
alias_in_get(const struct alias_in *a, uint16_t alias, size_t *len)
{
	if (alias == 0 || alias > a->max || a->topics == NULL ||
	    a->topics[alias - 1] == NULL)
		return (NULL);
	*len = a->lens[alias - 1];
	return (a->topics[alias - 1]);
}

void
alias_out_init(struct alias_out *a, uint16_t max)
{
	a->max = max;
	a->count = 0;
	a->cap = 0;
	a->slots = NULL;
}

void
alias_out_clear(struct alias_out *a)
{
	uint32_t	i;

	for (i = 0; i < a->cap; i++)
		free(a->slots[i].topic);
	free(a->slots);
	a->slots = NULL;
	a->cap = 0;
	a->count = 0;
}

static uint32_t
alias_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;	/* FNV-1a */
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return (h);
}

/* Returns the slot of topic, or the free slot where it would go. */
static struct alias_out_slot *
alias_out_slot(struct alias_out *a, const char *topic, size_t len)
{
	struct alias_out_slot	*sl;
	uint32_t		 i;

	i = alias_hash(topic, len) & (a->cap - 1);
	for (;;) {
		sl = &a->slots[i];
		if (sl->topic == NULL ||
		    (sl->len == len && memcmp(sl->topic, topic, len) == 0))
			return (sl);
		i = (i + 1) & (a->cap - 1);
	}
}

uint16_t
alias_out_get(struct alias_out *a, const char *topic, size_t len,
    bool *is_new)
{
	struct alias_out_slot	*sl;

	*is_new = false;
	if (a->max == 0 || len > UINT16_MAX)
		return (0);
	if (a->slots == NULL) {
		/* Twice the maximum, so that probing stays short when full. */
		a->cap = 8;
		while (a->cap < 2u * a->max)
			a->cap *= 2;
		a->slots = xcalloc(a->cap, sizeof(*a->slots));
	}
	sl = alias_out_slot(a, topic, len);
	if (sl->topic != NULL)
		return (sl->alias);
	if (a->count == a->max)
		return (0);
	sl->topic = xstrndup(topic, len);
	sl->len = (uint16_t)len;
	sl->alias = ++a->count;
	*is_new = true;
	return (sl->alias);
}

void
alias_out_forget(struct alias_out *a, const char *topic, size_t len)
{
	struct alias_out_slot	*sl;
	uint32_t		 i, j, k;

	if (a->slots == NULL)
		return;
	sl = alias_out_slot(a, topic, len);
	if (sl->topic == NULL || sl->alias != a->count)
		return;		/* only the last assigned can be taken back */
	free(sl->topic);
	sl->topic = NULL;
	a->count--;
	/* Backward-shift deletion keeps every probe chain intact. */
	i = (uint32_t)(sl - a->slots);
	j = i;
	for (;;) {
		j = (j + 1) & (a->cap - 1);
		if (a->slots[j].topic == NULL)
			break;
		k = alias_hash(a->slots[j].topic, a->slots[j].len) &
		    (a->cap - 1);
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && (k <= i && k > j))) {
			a->slots[i] = a->slots[j];
			a->slots[j].topic = NULL;
			i = j;
		}
	}
}
