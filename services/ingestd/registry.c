/*
 * registry - ingestd's in-memory registry: codes, enterprises, points,
 * sources and token hashes.
 *
 * Validation runs on the loop thread for every reading, so every question
 * it asks (is this point known, which district and sector is it in, whose
 * token is this) is answered here in O(1) without the store.  main.c loads
 * the registry at start (registry_load) and refreshes it on a timer
 * (registry_refresh); kinds.c adds what a committed enterprise.upsert or
 * point.upsert changed (registry_put_*), so a reading sent right after the
 * upsert of its point is accepted.  Everything here runs on the loop thread
 * except registry_topic(), which the writer thread may call: the district
 * and sector codes and the topics are fixed by registry_set_reference() and
 * never change afterwards, so that needs no lock.
 *
 * Points and enterprises live in tables of fixed-size chunks, so a pointer
 * handed out stays valid while the table grows; an open-addressing index of
 * 32-bit entry numbers finds them (about 13 bytes of index per point at the
 * worst load).  Sources are allocated one by one and never freed before
 * registry_free(), so a struct reg_source pointer stays valid across
 * refreshes; their tokens are rebuilt whole on every load and refresh, which
 * is how revocations take effect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingestd.h"
#include "log.h"
#include "timeutil.h"

/* Scope masks are 64-bit: no more districts or sectors than bits. */
#define REG_CODES_MAX 64
/* Entries per chunk of a table. */
#define REG_CHUNK 4096
/*
 * Rows changed this long before the last watermark are read again by a
 * refresh: a transaction that began earlier may commit after the
 * watermark was taken, with an updated_at (its start time) below it.
 */
#define REG_REFRESH_OVERLAP "2 minutes"

/* A token's hash and the source it belongs to. */
struct reg_token {
	uint8_t hash[32];
	struct reg_source *source;
};

/*
 * A table of fixed-size entries whose key sits at offset 0: a
 * NUL-terminated string (keylen 0) or keylen raw bytes.  slots holds entry
 * number + 1, 0 for an empty slot; cap is a power of two kept above twice
 * the entries, so probes stay short.
 */
struct reg_table {
	size_t elem;
	size_t keylen;
	char **chunks;
	size_t nchunks;
	size_t n;
	uint32_t *slots;
	size_t cap;
};

struct registry {
	char *districts[REG_CODES_MAX];
	size_t ndistricts;
	char *sectors[REG_CODES_MAX];
	size_t nsectors;
	char **topics; /* ndistricts * nsectors, district-major */
	bool reference_set;

	struct reg_table points;
	struct reg_table enterprises;
	struct reg_table tokens;

	struct reg_source **sources;
	size_t nsources, sources_cap;

	/* max(updated_at) of enterprises and points at the last read, as
	 * the server wrote it; "" before the first load. */
	char watermark[64];

	/* When an unknown token last made us re-read the tokens (monotonic
	 * ms), so misses cost at most one small query a second. */
	int64_t token_miss_ms;
};

/* --- tables ---------------------------------------------------------------- */

static void
table_init(struct reg_table *t, size_t elem, size_t keylen)
{
	memset(t, 0, sizeof(*t));
	t->elem = elem;
	t->keylen = keylen;
}

static void
table_clear(struct reg_table *t)
{
	size_t i;

	for (i = 0; i < t->nchunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
	free(t->slots);
	t->chunks = NULL;
	t->nchunks = 0;
	t->n = 0;
	t->slots = NULL;
	t->cap = 0;
}

static void *
table_at(const struct reg_table *t, size_t i)
{
	return t->chunks[i / REG_CHUNK] + (i % REG_CHUNK) * t->elem;
}

/* FNV-1a 64 over the key, folded so the low bits mix the high ones. */
static uint64_t
table_hash(const struct reg_table *t, const void *key)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	if (t->keylen == 0) {
		for (; *p != '\0'; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
	} else {
		for (i = 0; i < t->keylen; i++)
			h = (h ^ p[i]) * 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

static bool
table_key_eq(const struct reg_table *t, const void *entry, const void *key)
{
	if (t->keylen == 0)
		return strcmp(entry, key) == 0;
	return memcmp(entry, key, t->keylen) == 0;
}

/* The entry with this key, or NULL. */
static void *
table_find(const struct reg_table *t, const void *key)
{
	size_t mask, s;

	if (t->cap == 0)
		return NULL;
	mask = t->cap - 1;
	for (s = table_hash(t, key) & mask; t->slots[s] != 0;
	     s = (s + 1) & mask) {
		void *e = table_at(t, t->slots[s] - 1);

		if (table_key_eq(t, e, key))
			return e;
	}
	return NULL;
}

static void
table_slot_insert(struct reg_table *t, uint32_t entry)
{
	size_t mask = t->cap - 1, s;

	s = table_hash(t, table_at(t, entry)) & mask;
	while (t->slots[s] != 0)
		s = (s + 1) & mask;
	t->slots[s] = entry + 1;
}

/* Double the index (or make the first one) and re-insert every entry. */
static int
table_rehash(struct reg_table *t)
{
	size_t ncap = t->cap == 0 ? 64 : t->cap * 2;
	uint32_t *slots;
	size_t i;

	slots = calloc(ncap, sizeof(*slots));
	if (slots == NULL)
		return -1;
	free(t->slots);
	t->slots = slots;
	t->cap = ncap;
	for (i = 0; i < t->n; i++)
		table_slot_insert(t, (uint32_t)i);
	return 0;
}

/* Add entry, or replace the one with the same key; the stored copy. */
static void *
table_put(struct reg_table *t, const void *entry)
{
	void *e = table_find(t, entry);

	if (e != NULL) {
		memcpy(e, entry, t->elem);
		return e;
	}
	if (t->n >= UINT32_MAX - 1)
		return NULL;
	if ((t->n + 1) * 2 > t->cap && table_rehash(t) != 0)
		return NULL;
	if (t->n / REG_CHUNK >= t->nchunks) {
		char **chunks;

		chunks = realloc(t->chunks, (t->nchunks + 1) * sizeof(*chunks));
		if (chunks == NULL)
			return NULL;
		t->chunks = chunks;
		t->chunks[t->nchunks] = malloc(REG_CHUNK * t->elem);
		if (t->chunks[t->nchunks] == NULL)
			return NULL;
		t->nchunks++;
	}
	e = table_at(t, t->n);
	memcpy(e, entry, t->elem);
	table_slot_insert(t, (uint32_t)t->n);
	t->n++;
	return e;
}

/* --- the registry ------------------------------------------------------------ */

struct registry *
registry_new(void)
{
	struct registry *reg = calloc(1, sizeof(*reg));

	if (reg == NULL)
		return NULL;
	table_init(&reg->points, sizeof(struct reg_point), 0);
	table_init(&reg->enterprises, sizeof(struct reg_enterprise), 0);
	table_init(&reg->tokens, sizeof(struct reg_token), 32);
	return reg;
}

static void
reference_clear(struct registry *reg)
{
	size_t i;

	for (i = 0; i < reg->ndistricts; i++)
		free(reg->districts[i]);
	for (i = 0; i < reg->nsectors; i++)
		free(reg->sectors[i]);
	if (reg->topics != NULL) {
		for (i = 0; i < reg->ndistricts * reg->nsectors; i++)
			free(reg->topics[i]);
		free(reg->topics);
	}
	reg->topics = NULL;
	reg->ndistricts = reg->nsectors = 0;
	reg->reference_set = false;
}

void
registry_free(struct registry *reg)
{
	size_t i;

	if (reg == NULL)
		return;
	reference_clear(reg);
	table_clear(&reg->points);
	table_clear(&reg->enterprises);
	table_clear(&reg->tokens);
	for (i = 0; i < reg->nsources; i++)
		free(reg->sources[i]);
	free(reg->sources);
	free(reg);
}

static int
codes_copy(char **dst, const char *const *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		dst[i] = strdup(src[i]);
		if (dst[i] == NULL)
			return -1;
	}
	return 0;
}

int
registry_set_reference(struct registry *reg, const char *const *districts,
    size_t ndistricts, const char *const *sectors, size_t nsectors)
{
	size_t d, s, k;

	if (reg->reference_set || ndistricts > REG_CODES_MAX ||
	    nsectors > REG_CODES_MAX)
		return -1;
	reg->ndistricts = ndistricts;
	reg->nsectors = nsectors;
	memset(reg->districts, 0, sizeof(reg->districts));
	memset(reg->sectors, 0, sizeof(reg->sectors));
	if (codes_copy(reg->districts, districts, ndistricts) != 0 ||
	    codes_copy(reg->sectors, sectors, nsectors) != 0)
		goto fail;
	reg->topics = calloc(ndistricts * nsectors + 1, sizeof(char *));
	if (reg->topics == NULL)
		goto fail;
	for (d = 0; d < ndistricts; d++) {
		for (s = 0; s < nsectors; s++) {
			k = d * nsectors + s;
			if (asprintf(&reg->topics[k], "rd.%s.%s", districts[d],
				sectors[s]) < 0) {
				reg->topics[k] = NULL;
				goto fail;
			}
		}
	}
	reg->reference_set = true;
	return 0;
fail:
	reference_clear(reg);
	return -1;
}

int
registry_district(const struct registry *reg, const char *code)
{
	size_t i;

	for (i = 0; i < reg->ndistricts; i++)
		if (strcmp(reg->districts[i], code) == 0)
			return (int)i;
	return -1;
}

int
registry_sector(const struct registry *reg, const char *code)
{
	size_t i;

	for (i = 0; i < reg->nsectors; i++)
		if (strcmp(reg->sectors[i], code) == 0)
			return (int)i;
	return -1;
}

const char *
registry_district_code(const struct registry *reg, int idx)
{
	if (idx < 0 || (size_t)idx >= reg->ndistricts)
		return NULL;
	return reg->districts[idx];
}

const char *
registry_sector_code(const struct registry *reg, int idx)
{
	if (idx < 0 || (size_t)idx >= reg->nsectors)
		return NULL;
	return reg->sectors[idx];
}

const char *
registry_topic(const struct registry *reg, int topic)
{
	if (topic < 0 || (size_t)topic >= reg->ndistricts * reg->nsectors)
		return NULL;
	return reg->topics[topic];
}

int
registry_ntopics(const struct registry *reg)
{
	return (int)(reg->ndistricts * reg->nsectors);
}

const struct reg_point *
registry_point(const struct registry *reg, const char *code)
{
	return table_find(&reg->points, code);
}

const struct reg_enterprise *
registry_enterprise(const struct registry *reg, const char *uscc)
{
	return table_find(&reg->enterprises, uscc);
}

const struct reg_source *
registry_token(const struct registry *reg, const uint8_t hash[32])
{
	const struct reg_token *t = table_find(&reg->tokens, hash);

	return t != NULL ? t->source : NULL;
}

bool
registry_in_scope(const struct reg_source *src, int district, int sector)
{
	if (src == NULL || district < 0 || district >= REG_CODES_MAX ||
	    sector < 0 || sector >= REG_CODES_MAX)
		return false;
	if (!src->all_districts &&
	    (src->district_mask & (UINT64_C(1) << district)) == 0)
		return false;
	if (!src->all_sectors &&
	    (src->sector_mask & (UINT64_C(1) << sector)) == 0)
		return false;
	return true;
}

/*
 * Sources keep their address for the registry's life (a request being
 * validated may hold one), so a known name is updated in place.
 */
int
registry_put_source(struct registry *reg, const struct reg_source *src,
    const uint8_t hash[32])
{
	struct reg_source *s = NULL;
	struct reg_token tok;
	size_t i;

	for (i = 0; i < reg->nsources; i++) {
		if (strcmp(reg->sources[i]->name, src->name) == 0) {
			s = reg->sources[i];
			break;
		}
	}
	if (s == NULL) {
		if (reg->nsources == reg->sources_cap) {
			size_t ncap = reg->sources_cap ? reg->sources_cap * 2 : 8;
			struct reg_source **v;

			v = realloc(reg->sources, ncap * sizeof(*v));
			if (v == NULL)
				return -1;
			reg->sources = v;
			reg->sources_cap = ncap;
		}
		s = malloc(sizeof(*s));
		if (s == NULL)
			return -1;
		reg->sources[reg->nsources++] = s;
	}
	*s = *src;
	s->name[sizeof(s->name) - 1] = '\0';
	if (hash == NULL)
		return 0;
	memcpy(tok.hash, hash, sizeof(tok.hash));
	tok.source = s;
	return table_put(&reg->tokens, &tok) != NULL ? 0 : -1;
}

/* The topic of a district and sector pair, -1 when either is unknown. */
static int
topic_of(const struct registry *reg, int district, int sector)
{
	if (district < 0 || (size_t)district >= reg->ndistricts ||
	    sector < 0 || (size_t)sector >= reg->nsectors)
		return -1;
	return district * (int)reg->nsectors + sector;
}

/*
 * An enterprise that moved to another district or sector takes its points
 * along: their topics follow it.  Moves are rare, so a scan of the points
 * is cheaper than keeping a per-enterprise list.
 */
int
registry_put_enterprise(struct registry *reg, const struct reg_enterprise *e)
{
	const struct reg_enterprise *old;
	struct reg_enterprise copy = *e;
	bool moved;
	int topic;
	size_t i;

	copy.uscc[sizeof(copy.uscc) - 1] = '\0';
	topic = topic_of(reg, e->district, e->sector);
	if (topic < 0 || copy.uscc[0] == '\0')
		return -1;
	old = table_find(&reg->enterprises, copy.uscc);
	moved = old != NULL &&
	    (old->district != e->district || old->sector != e->sector);
	if (table_put(&reg->enterprises, &copy) == NULL)
		return -1;
	if (!moved)
		return 0;
	for (i = 0; i < reg->points.n; i++) {
		struct reg_point *p = table_at(&reg->points, i);

		if (strcmp(p->uscc, copy.uscc) != 0)
			continue;
		p->district = e->district;
		p->sector = e->sector;
		p->topic = (uint16_t)topic;
	}
	return 0;
}

/* The topic is derived from district and sector here, whatever p says. */
int
registry_put_point(struct registry *reg, const struct reg_point *p)
{
	struct reg_point copy = *p;
	int topic;

	copy.code[sizeof(copy.code) - 1] = '\0';
	copy.uscc[sizeof(copy.uscc) - 1] = '\0';
	topic = topic_of(reg, p->district, p->sector);
	if (topic < 0 || copy.code[0] == '\0')
		return -1;
	copy.topic = (uint16_t)topic;
	return table_put(&reg->points, &copy) != NULL ? 0 : -1;
}

/* --- loading from the store ------------------------------------------------ */

/* Run sql; 0 with *res, or -1 with *err (a program-limit error message
 * for result shapes we do not expect). */
static int
reg_query(struct store *st, const char *sql, int nparams,
    const char *const *params, int ncols, PGresult **res,
    struct store_err *err)
{
	if (store_exec(st, sql, nparams, params, res, err) != 0)
		return -1;
	if (PQnfields(*res) != ncols) {
		store_err_setf(err, STORE_ERR_SQL, "XX000",
		    "registry query returned %d columns, expected %d",
		    PQnfields(*res), ncols);
		PQclear(*res);
		*res = NULL;
		return -1;
	}
	return 0;
}

static int
load_codes(struct store *st, const char *sql, const char *what,
    PGresult **res, struct store_err *err)
{
	int n;

	if (reg_query(st, sql, 0, NULL, 1, res, err) != 0)
		return -1;
	n = PQntuples(*res);
	if (n > REG_CODES_MAX) {
		store_err_setf(err, STORE_ERR_SQL, "54000",
		    "the store holds %d %s; ingestd's scope masks hold at "
		    "most %d",
		    n, what, REG_CODES_MAX);
		PQclear(*res);
		*res = NULL;
		return -1;
	}
	return 0;
}

static int
load_reference(struct registry *reg, struct store *st, struct store_err *err)
{
	const char *dcodes[REG_CODES_MAX], *scodes[REG_CODES_MAX];
	PGresult *dres = NULL, *sres = NULL;
	int i, nd, ns, rc = -1;

	if (load_codes(st, "SELECT code FROM districts ORDER BY code",
		"districts", &dres, err) != 0)
		return -1;
	if (load_codes(st, "SELECT code FROM sectors ORDER BY code", "sectors",
		&sres, err) != 0)
		goto out;
	nd = PQntuples(dres);
	ns = PQntuples(sres);
	for (i = 0; i < nd; i++)
		dcodes[i] = PQgetvalue(dres, i, 0);
	for (i = 0; i < ns; i++)
		scodes[i] = PQgetvalue(sres, i, 0);
	if (registry_set_reference(reg, dcodes, (size_t)nd, scodes,
		(size_t)ns) != 0) {
		store_err_set(err, STORE_ERR_SQL, "53200",
		    "out of memory for the district and sector codes");
		goto out;
	}
	rc = 0;
out:
	PQclear(dres);
	PQclear(sres);
	return rc;
}

/* Set the bits of the space-separated codes in list; unknown codes (added
 * to the store after start) are logged and grant nothing. */
static uint64_t
scope_mask(const struct registry *reg, const char *source, const char *list,
    bool districts)
{
	uint64_t mask = 0;
	char *copy, *tok, *save = NULL;
	int idx;

	copy = strdup(list);
	if (copy == NULL)
		return 0;
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		idx = districts ? registry_district(reg, tok) :
				  registry_sector(reg, tok);
		if (idx < 0) {
			log_warn("registry.scope_code_unknown",
			    "source=%s %s=%s reason=code_added_after_start",
			    source, districts ? "district" : "sector", tok);
			continue;
		}
		mask |= UINT64_C(1) << idx;
	}
	free(copy);
	return mask;
}

static int
hex_decode32(const char *hex, uint8_t out[32])
{
	size_t i;
	unsigned v;

	if (strlen(hex) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Sources and their live tokens, whole: revoked tokens and disabled
 * sources simply are not read again. */
static int
load_sources(struct registry *reg, struct store *st, struct store_err *err)
{
	static const char sql[] =
	    "SELECT s.name, s.sectors IS NULL, "
	    "coalesce(array_to_string(s.sectors, ' '), ''), "
	    "s.districts IS NULL, "
	    "coalesce(array_to_string(s.districts, ' '), ''), "
	    "encode(t.token_hash, 'hex') "
	    "FROM sources s JOIN tokens t ON t.source = s.name "
	    "WHERE s.disabled_at IS NULL AND t.revoked_at IS NULL";
	PGresult *res;
	int i, n;

	if (reg_query(st, sql, 0, NULL, 6, &res, err) != 0)
		return -1;
	table_clear(&reg->tokens);
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		struct reg_source src;
		uint8_t hash[32];

		memset(&src, 0, sizeof(src));
		snprintf(src.name, sizeof(src.name), "%s", PQgetvalue(res, i, 0));
		src.all_sectors = PQgetvalue(res, i, 1)[0] == 't';
		src.all_districts = PQgetvalue(res, i, 3)[0] == 't';
		src.sector_mask =
		    scope_mask(reg, src.name, PQgetvalue(res, i, 2), false);
		src.district_mask =
		    scope_mask(reg, src.name, PQgetvalue(res, i, 4), true);
		if (hex_decode32(PQgetvalue(res, i, 5), hash) != 0)
			continue;
		if (registry_put_source(reg, &src, hash) != 0) {
			PQclear(res);
			store_err_set(err, STORE_ERR_SQL, "53200",
			    "out of memory for the tokens");
			return -1;
		}
	}
	PQclear(res);
	return 0;
}

/* The watermark for the next refresh, taken before the rows are read so
 * that nothing changed during the read is missed. */
static int
load_watermark(struct store *st, char *out, size_t size, struct store_err *err)
{
	static const char sql[] =
	    "SELECT greatest((SELECT max(updated_at) FROM enterprises), "
	    "(SELECT max(updated_at) FROM points))";
	PGresult *res;

	if (reg_query(st, sql, 0, NULL, 1, &res, err) != 0)
		return -1;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
	else
		snprintf(out, size, "-infinity");
	PQclear(res);
	return 0;
}

/* Put rows of (uscc, district, sector); rows with codes unknown to the
 * reference are counted and logged, not fatal. */
static int
put_enterprises(struct registry *reg, PGresult *res, struct store_err *err)
{
	int i, n = PQntuples(res), skipped = 0;

	for (i = 0; i < n; i++) {
		struct reg_enterprise e;
		int d = registry_district(reg, PQgetvalue(res, i, 1));
		int s = registry_sector(reg, PQgetvalue(res, i, 2));

		if (d < 0 || s < 0) {
			skipped++;
			continue;
		}
		memset(&e, 0, sizeof(e));
		snprintf(e.uscc, sizeof(e.uscc), "%s", PQgetvalue(res, i, 0));
		e.district = (uint16_t)d;
		e.sector = (uint16_t)s;
		if (registry_put_enterprise(reg, &e) != 0) {
			store_err_set(err, STORE_ERR_SQL, "53200",
			    "out of memory for the enterprises");
			return -1;
		}
	}
	if (skipped > 0)
		log_warn("registry.enterprises_skipped",
		    "n=%d reason=district_or_sector_added_after_start", skipped);
	return 0;
}

/* Put rows of (code, uscc, district, sector, enabled). */
static int
put_points(struct registry *reg, PGresult *res, struct store_err *err)
{
	int i, n = PQntuples(res), skipped = 0;

	for (i = 0; i < n; i++) {
		struct reg_point p;
		const char *code = PQgetvalue(res, i, 0);
		int d = registry_district(reg, PQgetvalue(res, i, 2));
		int s = registry_sector(reg, PQgetvalue(res, i, 3));

		/* Codes longer than the wire allows can never be sent. */
		if (d < 0 || s < 0 || strlen(code) > INGEST_POINT_MAX) {
			skipped++;
			continue;
		}
		memset(&p, 0, sizeof(p));
		snprintf(p.code, sizeof(p.code), "%s", code);
		snprintf(p.uscc, sizeof(p.uscc), "%s", PQgetvalue(res, i, 1));
		p.district = (uint16_t)d;
		p.sector = (uint16_t)s;
		p.enabled = PQgetvalue(res, i, 4)[0] == 't';
		if (registry_put_point(reg, &p) != 0) {
			store_err_set(err, STORE_ERR_SQL, "53200",
			    "out of memory for the points");
			return -1;
		}
	}
	if (skipped > 0)
		log_warn("registry.points_skipped",
		    "n=%d reason=code_too_long_or_district_or_sector_unknown",
		    skipped);
	return 0;
}

/*
 * Enterprises and points changed at or after since (minus the overlap), or
 * all of them when since is NULL.  A point follows its enterprise, so a
 * point is read again when either row changed.
 */
static int
load_rows(struct registry *reg, struct store *st, const char *since,
    struct store_err *err)
{
	static const char ent_all[] =
	    "SELECT uscc, district, sector FROM enterprises";
	static const char ent_since[] =
	    "SELECT uscc, district, sector FROM enterprises "
	    "WHERE updated_at >= $1::timestamptz - interval '" REG_REFRESH_OVERLAP
	    "'";
	static const char pts_all[] =
	    "SELECT p.code, p.uscc, e.district, e.sector, p.enabled "
	    "FROM points p JOIN enterprises e ON e.uscc = p.uscc";
	static const char pts_since[] =
	    "SELECT p.code, p.uscc, e.district, e.sector, p.enabled "
	    "FROM points p JOIN enterprises e ON e.uscc = p.uscc "
	    "WHERE p.updated_at >= $1::timestamptz - interval '"
	    REG_REFRESH_OVERLAP "' OR e.updated_at >= $1::timestamptz - "
	    "interval '" REG_REFRESH_OVERLAP "'";
	const char *params[1] = {since};
	int np = since != NULL ? 1 : 0;
	PGresult *res;
	int rc;

	if (reg_query(st, since ? ent_since : ent_all, np, params, 3, &res,
		err) != 0)
		return -1;
	rc = put_enterprises(reg, res, err);
	PQclear(res);
	if (rc != 0)
		return -1;
	if (reg_query(st, since ? pts_since : pts_all, np, params, 5, &res,
		err) != 0)
		return -1;
	rc = put_points(reg, res, err);
	PQclear(res);
	return rc;
}

int
registry_load(struct registry *reg, struct store *st, struct store_err *err)
{
	char mark[sizeof(reg->watermark)];

	store_err_clear(err);
	if (!reg->reference_set && load_reference(reg, st, err) != 0)
		return -1;
	if (load_watermark(st, mark, sizeof(mark), err) != 0 ||
	    load_sources(reg, st, err) != 0 || load_rows(reg, st, NULL, err) != 0)
		return -1;
	memcpy(reg->watermark, mark, sizeof(mark));
	log_info("registry.loaded",
	    "districts=%zu sectors=%zu sources=%zu tokens=%zu enterprises=%zu "
	    "points=%zu",
	    reg->ndistricts, reg->nsectors, reg->nsources, reg->tokens.n,
	    reg->enterprises.n, reg->points.n);
	return 0;
}

int
registry_refresh(struct registry *reg, struct store *st, struct store_err *err)
{
	char mark[sizeof(reg->watermark)];

	if (!reg->reference_set || reg->watermark[0] == '\0')
		return registry_load(reg, st, err);
	store_err_clear(err);
	if (load_watermark(st, mark, sizeof(mark), err) != 0 ||
	    load_sources(reg, st, err) != 0 ||
	    load_rows(reg, st, reg->watermark, err) != 0)
		return -1;
	memcpy(reg->watermark, mark, sizeof(mark));
	return 0;
}

const struct reg_source *
registry_token_fresh(struct registry *reg, struct store *st,
    const uint8_t hash[32])
{
	const struct reg_source *src = registry_token(reg, hash);
	struct store_err err;
	int64_t now;

	if (src != NULL || st == NULL)
		return src;
	now = timeutil_mono_ms();
	if (reg->token_miss_ms != 0 && now - reg->token_miss_ms < 1000)
		return NULL;
	reg->token_miss_ms = now;
	if (load_sources(reg, st, &err) != 0) {
		log_warn("registry.token_reload", "error=\"%s\"", err.msg);
		return NULL;
	}
	return registry_token(reg, hash);
}
