/*
 * strmap - a map from a string key to a pointer (open addressing, FNV-1a).
 * The key is borrowed from the value: it must live as long as the entry.
 */
#ifndef ANQUAN_STRMAP_H
#define ANQUAN_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap;

struct strmap *strmap_new(void);
/* Free the map; free_fn (may be NULL) is called on every value. */
void strmap_free(struct strmap *m, void (*free_fn)(void *));
void *strmap_get(const struct strmap *m, const char *key);
/* Insert or replace; returns the value replaced (or NULL), or sets *err. */
void *strmap_put(struct strmap *m, const char *key, void *value, int *err);
void *strmap_del(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);
/* Call fn on every value, in no particular order; fn must not change m. */
void strmap_each(const struct strmap *m, void (*fn)(void *value, void *arg),
    void *arg);

#endif
