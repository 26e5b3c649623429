/*
 * cmd_import - `safetyctl import KIND FILE.csv [--atomic] [--url URL]
 * [--token TOKEN] [--batch N]`: a registry kept in a spreadsheet, into the
 * platform.
 *
 * Operators hold enterprises, points, inspectors and the like in
 * spreadsheets.  This command reads such a sheet saved as CSV and sends
 * every row as one event of KIND through ingestd's public API (POST
 * /v1/events with a source's bearer token), so an import passes exactly
 * the validation, scope and state checks of every feed and leaves the same
 * history (source, event id, receive time).  It never writes a table.
 *
 * The file: UTF-8 (a BOM is skipped; UTF-16 is refused with a hint),
 * comma-separated, fields optionally in double quotes (a quote inside is
 * doubled, a quoted field may span lines), LF or CRLF line ends.  The
 * first row names the fields of KIND as in DOMAIN.md §2.  The per-kind
 * table (import_kinds.c) says how a cell becomes JSON; a cell that does
 * not convert makes its row bad, and blank cells leave the field out.
 * A row becomes
 * {"kind":KIND,"id":"import:<file>:<line>:<hash>","at":<now>,"data":{..}}
 * where the hash covers the row's cells: importing the same file again
 * gives duplicates, never copies, and a changed row is a new event (an
 * upsert, kept as a new version).
 *
 * Row by row (the default) the rows go in batches of --batch and the good
 * ones are kept; with --atomic the whole file goes in one request with
 * ?atomic=1, and ingestd stores all of it or nothing.  Every bad row is
 * reported on stderr as FILE:LINE: reason, in line order, then one summary
 * line on stdout; the exit status is 0 only when no row was rejected.
 * The HTTP client is libevent's, on a private event base: a tool runs one
 * job and may block.
 *
 * The reading and converting of the CSV is import_csv.c's (pure, unit
 * tested), the table of kinds and field types import_kinds.c's; this file
 * keeps the command: options, the rows and rejections of one import,
 * batching, the HTTP posting and the report.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "import_csv.h"
#include "json.h"
#include "safetyctl.h"
#include "timeutil.h"

#define IMPORT_BATCH_DEFAULT 500
#define IMPORT_BATCH_MAX 50000
#define IMPORT_FILE_MAX (64u << 20) /* bytes; a larger file is split */
#define IMPORT_HTTP_TIMEOUT_S 300
#define IMPORT_RETRY_FOR_S 120 /* how long 503 answers are waited out */

/* --- the state of one import ---------------------------------------------- */

/* A row that converted: its line and its event as JSON text. */
struct row {
	long line;
	char *event; /* cJSON_PrintUnformatted, freed with cJSON_free */
};

/* A bad row, reported in line order at the end. */
struct reject {
	long line;
	size_t seq;
	char *reason;
};

struct import {
	const char *file;
	char idbase[IMPORT_BASE_MAX + 1]; /* the file's name, for ids */
	bool atomic;
	int64_t at_ms;
	struct import_header hdr; /* the kind and the columns */
	struct row *rows;
	size_t nrows, rows_cap;
	struct reject *rej;
	size_t nrej, rej_cap;
	long rows_read; /* data rows in the file, good and bad */
	long accepted, duplicates, unsent;
	bool nothing_stored; /* --atomic refused: say so in the summary */

	/* HTTP */
	char host[256];
	int port;
	char path[512]; /* base path + /v1/events */
	const char *token;
	struct event_base *evbase;
	struct evhttp_connection *conn;
};

/* --- reporting ------------------------------------------------------------ */

static void reject_row(struct import *im, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reject_row(struct import *im, long line, const char *fmt, ...)
{
	char buf[IMPORT_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (im->nrej == im->rej_cap) {
		size_t cap = im->rej_cap ? im->rej_cap * 2 : 16;
		struct reject *p = realloc(im->rej, cap * sizeof(*p));

		if (p == NULL) {
			/* Still say it, out of order, rather than lose it. */
			fprintf(stderr, "%s:%ld: %s\n", im->file, line, buf);
			return;
		}
		im->rej = p;
		im->rej_cap = cap;
	}
	im->rej[im->nrej].line = line;
	im->rej[im->nrej].seq = im->nrej;
	im->rej[im->nrej].reason = strdup(buf);
	im->nrej++;
}

static int
reject_cmp(const void *a, const void *b)
{
	const struct reject *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* --- the file into rows -------------------------------------------------- */

/* A record into a row, or a rejection: 0, or -1 out of memory. */
static int
take_record(struct import *im, long line, struct import_cells *c)
{
	char why[IMPORT_REASON_MAX], id[IMPORT_ID_SIZE];
	cJSON *ev, *data;
	int rc;

	rc = import_row_check(&im->hdr, c, why, sizeof(why));
	if (rc == 0)
		return 0;
	im->rows_read++;
	if (rc < 0) {
		reject_row(im, line, "%s", why);
		return 0;
	}
	import_row_id(&im->hdr, im->idbase, line, c, id, sizeof(id));
	data = import_row_data(&im->hdr, c, why, sizeof(why));
	if (data == NULL) {
		if (why[0] == '\0')
			return -1;
		reject_row(im, line, "%s", why);
		return 0;
	}
	ev = cJSON_CreateObject();
	if (ev == NULL ||
	    !cJSON_AddStringToObject(ev, "kind", im->hdr.kind->name) ||
	    !cJSON_AddStringToObject(ev, "id", id) ||
	    !cJSON_AddNumberToObject(ev, "at", (double)im->at_ms) ||
	    !cJSON_AddItemToObject(ev, "data", data)) {
		if (ev == NULL || cJSON_GetObjectItem(ev, "data") == NULL)
			cJSON_Delete(data);
		cJSON_Delete(ev);
		return -1;
	}
	if (im->nrows == im->rows_cap) {
		size_t cap = im->rows_cap ? im->rows_cap * 2 : 64;
		struct row *p = realloc(im->rows, cap * sizeof(*p));

		if (p == NULL) {
			cJSON_Delete(ev);
			return -1;
		}
		im->rows = p;
		im->rows_cap = cap;
	}
	im->rows[im->nrows].line = line;
	im->rows[im->nrows].event = cJSON_PrintUnformatted(ev);
	cJSON_Delete(ev);
	if (im->rows[im->nrows].event == NULL)
		return -1;
	im->nrows++;
	return 0;
}

/* Read the header and every row of kind k: 0, or -1 after saying why. */
static int
read_csv(struct import *im, const struct import_kind *k, const char *data,
    size_t len)
{
	struct import_csv f;
	struct import_cells c = {0};
	char why[IMPORT_REASON_MAX];
	long line = 0;
	int rc;

	if (import_csv_open(&f, data, len) != 0) {
		ctl_error("import",
		    "%s is UTF-16: save the sheet as \"CSV "
		    "UTF-8\"",
		    im->file);
		return -1;
	}
	rc = import_csv_record(&f, &c, &line, why, sizeof(why));
	if (rc <= 0 ||
	    import_header_read(&im->hdr, k, &c, why, sizeof(why)) != 0) {
		if (rc == 0)
			snprintf(why, sizeof(why),
			    "the file is empty: the "
			    "first row must name the fields");
		else if (rc == -2)
			snprintf(why, sizeof(why), "out of memory");
		fprintf(stderr, "%s:%ld: %s\n", im->file, line ? line : 1, why);
		import_csv_cells_free(&c);
		return -1;
	}
	while ((rc = import_csv_record(&f, &c, &line, why, sizeof(why))) != 0) {
		if (rc == -2 || (rc == 1 && take_record(im, line, &c) < 0)) {
			ctl_error("import", "out of memory at line %ld", line);
			import_csv_cells_free(&c);
			return -1;
		}
		if (rc == -1) {
			im->rows_read++;
			reject_row(im, line, "%s", why);
		}
	}
	import_csv_cells_free(&c);
	return 0;
}

/* --- HTTP ----------------------------------------------------------------- */

struct answer {
	struct import *im;
	int status; /* 0: no answer (err says why) */
	char *body;
	int retry_after_s;
	char err[200];
};

static void
on_request_error(enum evhttp_request_error e, void *arg)
{
	struct answer *a = arg;
	const char *what = "the request failed";

	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		what = "no answer in time";
		break;
	case EVREQ_HTTP_EOF:
		what = "the connection closed before an answer";
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		what = "the answer is not HTTP";
		break;
	case EVREQ_HTTP_BUFFER_ERROR:
		what = "cannot connect, or the connection broke";
		break;
	case EVREQ_HTTP_REQUEST_CANCEL:
		what = "the request was cancelled";
		break;
	case EVREQ_HTTP_DATA_TOO_LONG:
		what = "the answer is too large";
		break;
	}
	snprintf(a->err, sizeof(a->err), "%s", what);
}

static void
on_answer(struct evhttp_request *req, void *arg)
{
	struct answer *a = arg;
	struct evbuffer *in;
	const char *ra;
	size_t n;

	event_base_loopbreak(a->im->evbase);
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		if (a->err[0] == '\0')
			snprintf(a->err, sizeof(a->err),
			    "cannot connect (refused or unreachable)");
		return;
	}
	a->status = evhttp_request_get_response_code(req);
	ra = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Retry-After");
	a->retry_after_s = ra != NULL ? atoi(ra) : 0;
	in = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(in);
	a->body = malloc(n + 1);
	if (a->body != NULL) {
		evbuffer_remove(in, a->body, n);
		a->body[n] = '\0';
	}
}

/* POST body to path?query; the answer in *a (body freed by the caller). */
static void
http_post(struct import *im, const char *query, const char *body, size_t len,
    struct answer *a)
{
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char uri[700], auth[200];

	memset(a, 0, sizeof(*a));
	a->im = im;
	if (im->conn == NULL) {
		im->conn = evhttp_connection_base_new(
		    im->evbase, NULL, im->host, (unsigned short)im->port);
		if (im->conn == NULL) {
			snprintf(a->err, sizeof(a->err), "cannot connect");
			return;
		}
		evhttp_connection_set_timeout(im->conn, IMPORT_HTTP_TIMEOUT_S);
	}
	req = evhttp_request_new(on_answer, a);
	if (req == NULL) {
		snprintf(a->err, sizeof(a->err), "out of memory");
		return;
	}
	evhttp_request_set_error_cb(req, on_request_error);
	h = evhttp_request_get_output_headers(req);
	snprintf(auth, sizeof(auth), "Bearer %s", im->token);
	evhttp_add_header(h, "Host", im->host);
	evhttp_add_header(h, "Authorization", auth);
	evhttp_add_header(h, "Content-Type", "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	snprintf(uri, sizeof(uri), "%s%s", im->path, query);
	if (evhttp_make_request(im->conn, req, EVHTTP_REQ_POST, uri) != 0) {
		snprintf(a->err, sizeof(a->err), "cannot send the request");
		return;
	}
	event_base_dispatch(im->evbase);
	if (a->status == 0) {
		/* A failed connection is not reused. */
		evhttp_connection_free(im->conn);
		im->conn = NULL;
	}
}

/* The message of a JSON error answer, or the start of the body. */
static void
answer_message(const struct answer *a, char *out, size_t size)
{
	const char *msg = NULL;
	struct json_err jerr;
	cJSON *root = NULL;

	if (a->body != NULL)
		root = json_parse(a->body, strlen(a->body), &jerr);
	if (root != NULL &&
	    json_get_str(root, "message", &msg, false, &jerr) == 1)
		snprintf(out, size, "%s", msg);
	else
		snprintf(out, size, "%.200s", a->body ? a->body : "");
	cJSON_Delete(root);
}

/* --- sending -------------------------------------------------------------- */

/* {"events":[rows from..to)] } */
static char *
batch_body(const struct import *im, size_t from, size_t to, size_t *len)
{
	size_t n = 16, k;
	char *body;

	for (size_t i = from; i < to; i++)
		n += strlen(im->rows[i].event) + 1;
	body = malloc(n);
	if (body == NULL)
		return NULL;
	k = (size_t)snprintf(body, n, "{\"events\":[");
	for (size_t i = from; i < to; i++) {
		size_t m = strlen(im->rows[i].event);

		if (i > from)
			body[k++] = ',';
		memcpy(body + k, im->rows[i].event, m);
		k += m;
	}
	body[k++] = ']';
	body[k++] = '}';
	body[k] = '\0';
	*len = k;
	return body;
}

/* POST, waiting out 503 answers (Retry-After) for a while. */
static void
post_with_retry(struct import *im, const char *query, const char *body,
    size_t len, struct answer *a)
{
	int64_t give_up = timeutil_mono_ms() + IMPORT_RETRY_FOR_S * 1000;

	for (;;) {
		int wait_s;

		http_post(im, query, body, len, a);
		if (a->status != 503 || timeutil_mono_ms() >= give_up)
			return;
		wait_s = a->retry_after_s > 0 && a->retry_after_s <= 30
		             ? a->retry_after_s
		             : 1;
		free(a->body);
		sleep((unsigned)wait_s);
	}
}

/* Read a 202 or 422 answer for rows from..from+n: counts, rejections. */
static int
read_verdicts(struct import *im, const struct answer *a, size_t from, size_t n)
{
	const cJSON *rej = NULL, *item;
	struct json_err jerr;
	int64_t acc = 0, dup = 0;
	cJSON *root;

	root = a->body ? json_parse(a->body, strlen(a->body), &jerr) : NULL;
	if (root == NULL ||
	    json_get_int64(root, "accepted", &acc, false, &jerr) < 0 ||
	    json_get_int64(root, "duplicates", &dup, false, &jerr) < 0 ||
	    json_get_arr(root, "rejected", &rej, true, &jerr) < 0) {
		cJSON_Delete(root);
		return -1;
	}
	im->accepted += acc;
	im->duplicates += dup;
	cJSON_ArrayForEach(item, rej)
	{
		const char *err = "refused";
		int64_t idx = -1;

		json_get_int64(item, "index", &idx, true, &jerr);
		json_get_str(item, "error", &err, false, &jerr);
		if (idx >= 0 && (size_t)idx < n)
			reject_row(
			    im, im->rows[from + (size_t)idx].line, "%s", err);
		else
			reject_row(
			    im, 0, "an item the answer cannot place: %s", err);
	}
	cJSON_Delete(root);
	return 0;
}

/* Say why a request of rows from..to failed; they count as not sent. */
static void
report_failure(
    struct import *im, const struct answer *a, size_t from, size_t to)
{
	char msg[300];

	if (a->status == 0)
		snprintf(msg, sizeof(msg),
		    "no answer from ingestd: %s (is it "
		    "running there, is --url right?)",
		    a->err);
	else {
		char m[240];

		answer_message(a, m, sizeof(m));
		snprintf(msg, sizeof(msg), "HTTP %d: %s", a->status, m);
	}
	ctl_error("import",
	    "%s: lines %ld to %ld were not imported: %s "
	    "(ingestd at http://%s:%d%s)",
	    im->file, im->rows[from].line, im->rows[to - 1].line, msg, im->host,
	    im->port, im->path);
	if (a->status == 413 || a->status == 400)
		fprintf(stderr, "safetyctl: import: %s\n",
		    im->atomic ? "--atomic sends the whole file in one "
		                 "request, which must "
		                 "fit ingestd's limits (max_items, body size): "
		                 "split the "
		                 "file or import it row by row"
		               : "a smaller --batch may fit ingestd's limits");
	im->unsent += (long)(to - from);
}

/* Row by row: batches of batch rows; 0, or -1 when it had to stop. */
static int
send_rowwise(struct import *im, size_t batch)
{
	for (size_t from = 0; from < im->nrows; from += batch) {
		size_t to = from + batch < im->nrows ? from + batch : im->nrows;
		struct answer a;
		size_t len;
		char *body = batch_body(im, from, to, &len);

		if (body == NULL) {
			ctl_error("import", "out of memory");
			im->unsent += (long)(im->nrows - from);
			return -1;
		}
		post_with_retry(im, "", body, len, &a);
		free(body);
		if (a.status != 202 || read_verdicts(im, &a, from, to - from)) {
			report_failure(im, &a, from, to);
			free(a.body);
			if (to < im->nrows) {
				ctl_error("import",
				    "stopped: lines from %ld "
				    "on were not sent either",
				    im->rows[to].line);
				im->unsent += (long)(im->nrows - to);
			}
			return -1;
		}
		free(a.body);
	}
	return 0;
}

/* The whole file in one all-or-nothing request; 0, or -1 failed. */
static int
send_atomic(struct import *im)
{
	struct answer a;
	size_t len;
	char *body;
	int rc = 0;

	im->nothing_stored = true;
	if (im->nrej > 0) {
		ctl_error("import",
		    "%s: %zu bad row(s) and --atomic: nothing "
		    "was sent",
		    im->file, im->nrej);
		return -1;
	}
	if (im->nrows == 0) {
		im->nothing_stored = false;
		return 0;
	}
	body = batch_body(im, 0, im->nrows, &len);
	if (body == NULL) {
		ctl_error("import", "out of memory");
		return -1;
	}
	post_with_retry(im, "?atomic=1", body, len, &a);
	free(body);
	if (a.status == 202 && read_verdicts(im, &a, 0, im->nrows) == 0)
		im->nothing_stored = false;
	else if (a.status == 422 && read_verdicts(im, &a, 0, im->nrows) == 0) {
		im->accepted = 0;
		rc = -1;
	} else {
		report_failure(im, &a, 0, im->nrows);
		rc = -1;
	}
	free(a.body);
	return rc;
}

/* --- options and the command --------------------------------------------- */

static void
import_help(const char *kind)
{
	const struct import_kind *k =
	    kind != NULL ? import_kind_find(kind) : NULL;

	if (k != NULL) {
		printf("%s fields: ", k->name);
		import_kind_print_fields(stdout, k);
		return;
	}
	printf(
	    "usage: safetyctl import KIND FILE.csv [--atomic] [--url URL] "
	    "[--token TOKEN] [--batch N]\n"
	    "\n"
	    "Send every row of FILE.csv as one KIND event through ingestd "
	    "(POST /v1/events),\n"
	    "with the same checks as every feed.  Bad rows are reported on "
	    "stderr as\n"
	    "FILE:LINE: reason; a summary line ends the output.  Exit 0 only "
	    "when no row\n"
	    "was rejected.\n"
	    "\n"
	    "  --atomic       all or nothing: the whole file in one request; "
	    "one bad row and\n"
	    "                 nothing is stored (the file must fit in one "
	    "request: max_items)\n"
	    "  --batch N      rows per request row by row (default %d)\n"
	    "  --url URL      ingestd, http://HOST:PORT (default: "
	    "[ingestd] http_listen)\n"
	    "  --token TOKEN  the source's bearer token (default: "
	    "$ANQUAN_TOKEN)\n"
	    "\n"
	    "The file: UTF-8 (BOM allowed), commas, \"quoted\" fields with "
	    "\"\" for a quote,\n"
	    "LF or CRLF.  The first row names the fields of KIND (DOMAIN.md "
	    "§2).  A blank\n"
	    "cell leaves its field out; blanks around a cell are ignored.  "
	    "Each field has a\n"
	    "type: text as is (a code 001 stays \"001\"); whole number; "
	    "number; boolean\n"
	    "(true/false, yes/no, 1/0, 是/否); date (2026-11-29 or "
	    "2026/11/29); time (RFC\n"
	    "3339 with offset, city time 2026-11-29 08:00 taken as +08:00, "
	    "or epoch ms);\n"
	    "JSON object or array (a cell holding JSON, e.g. "
	    "[{\"\"name\"\":\"\"液氯\"\",...}]);\n"
	    "list (a JSON array, or a;b;c).  An object field can also be "
	    "given by dotted\n"
	    "columns, one per member: responsible.main, "
	    "responsible.technical, ...\n"
	    "Each row's id is import:FILE:LINE:HASH-OF-ITS-CELLS, so "
	    "importing the same\n"
	    "file again only finds duplicates.  safetyctl import -h KIND "
	    "lists KIND's\n"
	    "fields and types.  Kinds:",
	    IMPORT_BATCH_DEFAULT);
	for (size_t i = 0; (k = import_kind_at(i)) != NULL; i++)
		printf("%s %s", i % 4 == 0 ? "\n " : "", k->name);
	printf("\n");
}

/* http://HOST[:PORT][/BASE] into im; 0 or -1. */
static int
parse_url(struct import *im, const char *url)
{
	const char *p, *slash, *colon;
	size_t hlen;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	hlen = (size_t)((colon ? colon : slash) - p);
	if (hlen == 0 || hlen >= sizeof(im->host))
		return -1;
	memcpy(im->host, p, hlen);
	im->host[hlen] = '\0';
	im->port = 80;
	if (colon != NULL) {
		char *end;
		long port = strtol(colon + 1, &end, 10);

		if (end != slash || port < 1 || port > 65535)
			return -1;
		im->port = (int)port;
	}
	hlen = strlen(slash);
	while (hlen > 0 && slash[hlen - 1] == '/')
		hlen--;
	if (hlen + sizeof("/v1/events") > sizeof(im->path))
		return -1;
	snprintf(
	    im->path, sizeof(im->path), "%.*s/v1/events", (int)hlen, slash);
	return 0;
}

/* The default URL: [ingestd] http_listen, a wildcard host as loopback. */
static void
default_url(const struct ctl *ctl, char *out, size_t size)
{
	const struct ctl_daemon *d = ctl_daemon_find(ctl, "ingestd");
	const char *hp =
	    d != NULL && d->http_listen[0] ? d->http_listen : "127.0.0.1:8101";

	if (strncmp(hp, "0.0.0.0:", 8) == 0 || hp[0] == ':')
		snprintf(out, size, "http://127.0.0.1%s", strchr(hp, ':'));
	else
		snprintf(out, size, "http://%s", hp);
}

/* The file's name for ids: no folders, no control bytes, bounded. */
static void
set_idbase(struct import *im)
{
	const char *b = strrchr(im->file, '/');
	size_t n;

	b = b != NULL ? b + 1 : im->file;
	n = strlen(b);
	if (n > IMPORT_BASE_MAX) {
		/* Cut before a character, not inside its UTF-8 bytes. */
		n = IMPORT_BASE_MAX;
		while (n > 0 && ((uint8_t)b[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(im->idbase, b, n);
	im->idbase[n] = '\0';
	for (char *p = im->idbase; *p != '\0'; p++)
		if ((uint8_t)*p < 0x20 || *p == 0x7f)
			*p = '_';
}

/* The whole file, NUL-terminated; NULL with errno (EFBIG: too large). */
static char *
read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct stat sb;
	char *buf;
	int e;

	if (fp == NULL)
		return NULL;
	if (fstat(fileno(fp), &sb) != 0) {
		e = errno;
		fclose(fp);
		errno = e;
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		fclose(fp);
		errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
		return NULL;
	}
	if ((uint64_t)sb.st_size > IMPORT_FILE_MAX) {
		fclose(fp);
		errno = EFBIG;
		return NULL;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		fclose(fp);
		errno = ENOMEM;
		return NULL;
	}
	*len = fread(buf, 1, (size_t)sb.st_size, fp);
	e = ferror(fp) ? errno : 0;
	fclose(fp);
	if (e != 0) {
		free(buf);
		errno = e;
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

static void
import_free(struct import *im)
{
	import_header_free(&im->hdr);
	for (size_t i = 0; i < im->nrows; i++)
		cJSON_free(im->rows[i].event);
	free(im->rows);
	for (size_t i = 0; i < im->nrej; i++)
		free(im->rej[i].reason);
	free(im->rej);
	if (im->conn != NULL)
		evhttp_connection_free(im->conn);
	if (im->evbase != NULL)
		event_base_free(im->evbase);
}

int
cmd_import(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"atomic", no_argument, NULL, 'a'},
	    {"batch", required_argument, NULL, 'b'},
	    {"url", required_argument, NULL, 'u'},
	    {"token", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct import im;
	const struct import_kind *kind;
	const char *url = NULL;
	char defurl[128], *data;
	bool atomic = false, batch_given = false;
	long batch = IMPORT_BATCH_DEFAULT;
	size_t len;
	int c, rc;

	memset(&im, 0, sizeof(im));
	im.token = getenv("ANQUAN_TOKEN");
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'a':
			atomic = true;
			break;
		case 'b':
			batch = strtol(optarg, &end, 10);
			if (*end != '\0' || batch < 1 ||
			    batch > IMPORT_BATCH_MAX) {
				ctl_error("import", "--batch must be 1 to %d",
				    IMPORT_BATCH_MAX);
				return CTL_USAGE;
			}
			batch_given = true;
			break;
		case 'u':
			url = optarg;
			break;
		case 't':
			im.token = optarg;
			break;
		case 'h':
			import_help(optind < argc ? argv[optind] : NULL);
			return CTL_OK;
		default:
			return ctl_usage("import");
		}
	}
	if (argc - optind != 2)
		return ctl_usage("import");
	if (atomic && batch_given) {
		ctl_error("import", "--atomic sends the whole file in one "
		                    "request: --batch does not apply");
		return CTL_USAGE;
	}
	kind = import_kind_find(argv[optind]);
	if (kind == NULL) {
		ctl_error("import",
		    "unknown kind '%s' (safetyctl import -h "
		    "lists the kinds)",
		    argv[optind]);
		return CTL_USAGE;
	}
	if (im.token == NULL || im.token[0] == '\0') {
		ctl_error("import",
		    "no token: give --token or set "
		    "ANQUAN_TOKEN (safetyctl token create makes one)");
		return CTL_USAGE;
	}
	if (url == NULL) {
		default_url(ctl, defurl, sizeof(defurl));
		url = defurl;
	}
	if (parse_url(&im, url) != 0) {
		ctl_error(
		    "import", "--url '%s' is not http://HOST[:PORT]", url);
		return CTL_USAGE;
	}
	im.atomic = atomic;
	im.file = argv[optind + 1];
	set_idbase(&im);
	data = read_file(im.file, &len);
	if (data == NULL) {
		ctl_error("import", "%s: %s", im.file,
		    errno == EFBIG ? "larger than 64 MB: split the file"
		                   : strerror(errno));
		return CTL_FAIL;
	}
	im.at_ms = timeutil_now_ms();
	rc = read_csv(&im, kind, data, len);
	free(data);
	if (rc == 0 && (im.evbase = event_base_new()) == NULL) {
		ctl_error("import", "cannot make an event base");
		rc = -1;
	}
	if (rc == 0)
		rc = atomic ? send_atomic(&im)
		            : send_rowwise(&im, (size_t)batch);
	if (im.nrej > 1)
		qsort(im.rej, im.nrej, sizeof(*im.rej), reject_cmp);
	for (size_t i = 0; i < im.nrej; i++) {
		if (im.rej[i].line > 0)
			fprintf(stderr, "%s:%ld: %s\n", im.file, im.rej[i].line,
			    im.rej[i].reason ? im.rej[i].reason : "refused");
		else
			fprintf(stderr, "%s: %s\n", im.file,
			    im.rej[i].reason ? im.rej[i].reason : "refused");
	}
	if (im.hdr.ncols > 0 && im.evbase != NULL) {
		printf("%s: rows %ld, accepted %ld, duplicates %ld, rejected "
		       "%zu",
		    im.file, im.rows_read, im.accepted, im.duplicates, im.nrej);
		if (im.unsent > 0)
			printf(", not sent %ld", im.unsent);
		if (atomic)
			fputs(im.nothing_stored ? " (atomic: nothing stored)"
			                        : " (atomic)",
			    stdout);
		fputc('\n', stdout);
	}
	fflush(stdout);
	c = rc == 0 && im.nrej == 0 && im.unsent == 0 ? CTL_OK : CTL_FAIL;
	import_free(&im);
	return c;
}
