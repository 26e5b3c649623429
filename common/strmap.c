/*
 * strmap - a string-keyed hash map.
 *
 * riskd's model holds up to a few hundred thousand points, looked up by
 * code for every reading; alarmd indexes a batch's incidents by key.  The
 * map is open addressing with linear probing
 * over a power-of-two table kept under 70 % full, and the key is borrowed
 * from the value (the point owns its code) so an entry costs two words.
 * Deletion uses backward shifting, so no tombstones pile up.
 */
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

struct strmap_slot {
	const char *key;
	void *value;
	uint32_t hash;
};

struct strmap {
	struct strmap_slot *slot;
	size_t size; /* power of two */
	size_t count;
};

static uint32_t
hash_key(const char *s)
{
	/* FNV-1a, 32 bits: short codes, well spread. */
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

struct strmap *
strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->size = 64;
	m->slot = calloc(m->size, sizeof(*m->slot));
	if (m->slot == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
strmap_free(struct strmap *m, void (*free_fn)(void *))
{
	if (m == NULL)
		return;
	if (free_fn != NULL)
		for (size_t i = 0; i < m->size; i++)
			if (m->slot[i].key != NULL)
				free_fn(m->slot[i].value);
	free(m->slot);
	free(m);
}

static size_t
find(const struct strmap *m, const char *key, uint32_t h)
{
	size_t mask = m->size - 1, i = h & mask;

	while (m->slot[i].key != NULL) {
		if (m->slot[i].hash == h && strcmp(m->slot[i].key, key) == 0)
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	size_t i = find(m, key, hash_key(key));

	return m->slot[i].key != NULL ? m->slot[i].value : NULL;
}

static int
grow(struct strmap *m)
{
	size_t nsize = m->size * 2;
	struct strmap_slot *ns = calloc(nsize, sizeof(*ns));

	if (ns == NULL)
		return -1;
	for (size_t i = 0; i < m->size; i++) {
		size_t j;

		if (m->slot[i].key == NULL)
			continue;
		j = m->slot[i].hash & (nsize - 1);
		while (ns[j].key != NULL)
			j = (j + 1) & (nsize - 1);
		ns[j] = m->slot[i];
	}
	free(m->slot);
	m->slot = ns;
	m->size = nsize;
	return 0;
}

void *
strmap_put(struct strmap *m, const char *key, void *value, int *err)
{
	uint32_t h = hash_key(key);
	size_t i;
	void *old;

	*err = 0;
	i = find(m, key, h);
	if (m->slot[i].key != NULL) {
		old = m->slot[i].value;
		m->slot[i].key = key;
		m->slot[i].value = value;
		return old;
	}
	if ((m->count + 1) * 10 > m->size * 7) {
		if (grow(m) < 0) {
			*err = 1;
			return NULL;
		}
		i = find(m, key, h);
	}
	m->slot[i].key = key;
	m->slot[i].value = value;
	m->slot[i].hash = h;
	m->count++;
	return NULL;
}

void *
strmap_del(struct strmap *m, const char *key)
{
	size_t mask = m->size - 1, i = find(m, key, hash_key(key)), j;
	void *old;

	if (m->slot[i].key == NULL)
		return NULL;
	old = m->slot[i].value;
	m->slot[i].key = NULL;
	m->count--;
	/* Shift back the entries that probed past the hole. */
	j = i;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (m->slot[j].key == NULL)
			break;
		home = m->slot[j].hash & mask;
		/* Move j into the hole unless its home lies in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->slot[i] = m->slot[j];
			m->slot[j].key = NULL;
			i = j;
		}
	}
	return old;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->count;
}

void
strmap_each(
    const struct strmap *m, void (*fn)(void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < m->size; i++)
		if (m->slot[i].key != NULL)
			fn(m->slot[i].value, arg);
}
