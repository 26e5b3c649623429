/*
 * model_internal - what model.c and model_store.c share: putting decoded
 * store rows into the model.  Not for the rest of riskd.
 */
#ifndef ANQUAN_RISKD_MODEL_INTERNAL_H
#define ANQUAN_RISKD_MODEL_INTERNAL_H

#include "riskd.h"

struct rk_point_row {
	const char *code;
	const char *uscc;
	const char *source_code; /* NULL when none */
	struct alarm_point_def def;
	int64_t seen_ms;         /* registered or updated */
};

struct rk_ent_row {
	const char *uscc;
	const char *name;
	const char *district;
	const char *sector;
	int64_t employees;
};

/* Insert or update; NULL when out of memory or the enterprise is unknown. */
struct rk_point *model_put_point(struct riskd *r, const struct rk_point_row *row);
struct rk_ent *model_put_ent(struct riskd *r, const struct rk_ent_row *row);
/* Takes ownership of chem (malloc'd). */
struct rk_source *model_put_source(struct riskd *r, const char *code,
    const char *name, struct rk_ent *e, int64_t people_500m,
    int32_t assessed_days, struct chemical *chem, size_t nchem);
struct rk_rpoint *model_put_rpoint(struct riskd *r, struct rk_ent *e,
    const char *code, const char *name, const struct risk_point_in *in);
/* Link the known points that name s (a source registered after them). */
void model_link_source_points(struct riskd *r, struct rk_source *s);
/* Forget every risk point of e (before its rows are read again). */
void model_drop_rpoints(struct riskd *r, struct rk_ent *e);
/* Forget an active operation (finished, or about to be read again). */
void model_drop_op(struct riskd *r, const char *op_id);
struct rk_op *model_put_op(struct riskd *r, const char *op_id,
    const char *type, const char *level, const char *source_code,
    const char *first_point);
/* Forget every window of e; then add them back one by one. */
void model_drop_windows(struct rk_ent *e);
/* Takes ownership of w. */
int model_add_window(struct riskd *r, struct rk_ent *e, struct rk_window *w);
void model_window_free(struct rk_window *w);
/* Record a threshold alarm's start on its source's raise history. */
void model_note_raise(struct rk_source *s, int64_t start_ms, int64_t keep_ms);


#endif
