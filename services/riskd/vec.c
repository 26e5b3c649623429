/*
 * vec - a growable vector of pointers for riskd's model (a source's
 * points, an enterprise's sources).
 */
#include <stdlib.h>
#include <string.h>

#include "riskd.h"

int
rk_vec_push(struct rk_vec *v, void *p)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		void **nv = realloc(v->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = p;
	return 0;
}

int
rk_vec_remove(struct rk_vec *v, const void *p)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i] == p) {
			v->v[i] = v->v[--v->n];
			return 1;
		}
	return 0;
}

void
rk_vec_free(struct rk_vec *v)
{
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}
