/*
 * json - strict JSON decoding on top of cJSON, typed getters, and a writer.
 *
 * Every body a daemon accepts from outside (ingestd's batches, schedd's draw
 * requests, officer actions in alarmd) goes through json_parse(), which adds
 * to cJSON the checks a public interface needs: strict UTF-8, a nesting
 * limit, strict number grammar, no NaN/Infinity, no numbers that overflow,
 * no trailing garbage, and a reason with a byte offset for every refusal.
 * The tree it returns is a plain cJSON tree owned by the caller
 * (cJSON_Delete()).  The json_get_* getters read one field of an object and
 * say in words what is wrong ("field 'value' must be a number, got
 * string"), so handlers can answer per item.
 *
 * Answers are written with struct json_out, a growable buffer that handles
 * commas and escaping, so no answer is ever built with printf of
 * unescaped text.  Nothing here keeps global state; every function may be
 * called from any thread on its own data.
 */
#ifndef ANQUAN_JSON_H
#define ANQUAN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

/* Nesting allowed by json_parse(); readings batches need three levels. */
#define JSON_DEPTH_DEFAULT 32
/* Longest number token accepted (cJSON reads at most 63 characters). */
#define JSON_NUMBER_MAX 63
/* Deepest nesting the writer accepts. */
#define JSON_OUT_DEPTH_MAX 64
/* Largest integer a JSON number carries exactly (2^53 - 1). */
#define JSON_INT_EXACT_MAX 9007199254740991LL

/* Why a parse or a getter failed: text for a person, and where. */
struct json_err {
	char msg[240];
	long offset; /* byte offset into the input, -1 when not known */
};

/*
 * Check that buf[0..len) is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF).  On failure stores the offset of the
 * first bad byte in *bad_offset (when not NULL) and returns false.
 */
bool json_utf8_valid(const char *buf, size_t len, size_t *bad_offset);

/*
 * Parse one JSON value from buf[0..len) (not NUL-terminated) with nesting up
 * to JSON_DEPTH_DEFAULT.  Returns a tree the caller frees with
 * cJSON_Delete(), or NULL with the reason in *err.
 */
cJSON *json_parse(const char *buf, size_t len, struct json_err *err);

/* json_parse() with another nesting limit (1..1000). */
cJSON *json_parse_depth(
    const char *buf, size_t len, int max_depth, struct json_err *err);

/* "string", "number", "boolean", "null", "object" or "array". */
const char *json_type_name(const cJSON *item);

/*
 * Typed getters for one field of an object.  Each returns 1 when the field
 * is present and of the right type (value in *out), 0 when it is absent (or
 * null) and not required (*out untouched), and -1 with a reason in *err
 * otherwise.  Strings point into the tree.
 */
int json_get_str(const cJSON *obj, const char *key, const char **out,
    bool required, struct json_err *err);
/* Integers only, within +-JSON_INT_EXACT_MAX ("12.5" and "1e300" refused). */
int json_get_int64(const cJSON *obj, const char *key, int64_t *out,
    bool required, struct json_err *err);
/* Any finite number. */
int json_get_double(const cJSON *obj, const char *key, double *out,
    bool required, struct json_err *err);
/* true or false only (no 0/1, no "true"). */
int json_get_bool(const cJSON *obj, const char *key, bool *out, bool required,
    struct json_err *err);
/* A nested object; *out points into the tree. */
int json_get_obj(const cJSON *obj, const char *key, const cJSON **out,
    bool required, struct json_err *err);
/* An array; *out points into the tree. */
int json_get_arr(const cJSON *obj, const char *key, const cJSON **out,
    bool required, struct json_err *err);

/*
 * The writer.  Initialise with json_out_init(), add values, read the text
 * with json_out_data()/json_out_len(), release with json_out_free().  Inside
 * an object every value is preceded by json_out_key() (or use the
 * json_out_kv_* pairs).  Nesting wrongly is a bug and asserts; running
 * out of memory sets a flag that json_out_failed() reports, after which
 * writes are ignored.
 */
struct json_out {
	char *buf;
	size_t len;
	size_t cap;
	int depth;
	bool failed;
	bool want_value;     /* a key was written, its value is next */
	uint64_t has_member; /* bit d: level d already has a member */
	uint64_t is_object;  /* bit d: level d is an object */
};

/* Start empty (no memory until the first write). */
void json_out_init(struct json_out *w);
/* Release the buffer. */
void json_out_free(struct json_out *w);
/* Empty the buffer for reuse, keeping its memory. */
void json_out_reset(struct json_out *w);
/* '{' and '}', with the comma before the object when one is due. */
void json_out_obj_open(struct json_out *w);
void json_out_obj_close(struct json_out *w);
/* '[' and ']', likewise. */
void json_out_arr_open(struct json_out *w);
void json_out_arr_close(struct json_out *w);
/* The key of the next member of the current object (escaped). */
void json_out_key(struct json_out *w, const char *key);
/* A string; invalid UTF-8 is replaced by U+FFFD so the output stays JSON. */
void json_out_str(struct json_out *w, const char *s);
/* n bytes of s as a string; NUL bytes inside are escaped. */
void json_out_strn(struct json_out *w, const char *s, size_t n);
/* An integer, exactly. */
void json_out_int(struct json_out *w, int64_t v);
/* Shortest form that reads back to the same double; null if not finite. */
void json_out_double(struct json_out *w, double v);
/* true, false, null. */
void json_out_bool(struct json_out *w, bool v);
void json_out_null(struct json_out *w);
/* Already-encoded JSON text, copied as is (the caller vouches for it). */
void json_out_raw(struct json_out *w, const char *json, size_t n);

/* Key and value in one call (a NULL string writes null). */
void json_out_kv_str(struct json_out *w, const char *key, const char *s);
void json_out_kv_int(struct json_out *w, const char *key, int64_t v);
void json_out_kv_double(struct json_out *w, const char *key, double v);
void json_out_kv_bool(struct json_out *w, const char *key, bool v);

/* The text so far, NUL-terminated ("" when empty or failed). */
const char *json_out_data(const struct json_out *w);
/* Its length in bytes (0 when failed). */
size_t json_out_len(const struct json_out *w);
/* True when memory ran out; the text is then incomplete. */
bool json_out_failed(const struct json_out *w);

#endif
