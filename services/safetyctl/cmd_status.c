/*
 * cmd_status - `safetyctl status [--json] [--require NAME,...]
 * [--timeout SECONDS]`: is the platform up?
 *
 * Asks every daemon (ingestd riskd alarmd schedd reportd, at the
 * http_listen of its config section) for GET /healthz, all at once over
 * nonblocking sockets in one poll() loop with a shared deadline (2 s by
 * default), then checks the store with SELECT 1 and counts the applied
 * migrations.  One line per daemon and one for the store:
 *
 *   ingestd  127.0.0.1:8101  up
 *   riskd    127.0.0.1:8201  unhealthy (HTTP 503: store unreachable)
 *   alarmd   127.0.0.1:8301  down (connection refused)
 *   ...
 *   store    /run:5432/anquan  up (4 migrations applied, latest 0004_bus.sql)
 *
 * "up" is a 200 answer; "unhealthy" is any other answer (the reason is the
 * "message" of the JSON error body, else the HTTP reason phrase), or a
 * daemon that accepted the connection but gave no complete answer in time;
 * "down" is nobody listening (refused, unreachable, no answer to connect).
 * The store is up when it answers and has migrations applied, unhealthy
 * when it answers without them, down when it cannot be reached.
 * Exit 0 when every daemon that answered is healthy, every --require'd one
 * is up and the store is up; 1 otherwise.  A daemon that is down fails the
 * check only when --require names it, since a city may run only some of
 * them on one host.  The probe is a small HTTP/1.0 client: it sends one
 * request with "Connection: close" and reads to the end, at most 16 KB.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "safetyctl.h"

#define STATUS_TIMEOUT_S 2
#define STATUS_TIMEOUT_MAX_S 60
#define PROBE_ANSWER_MAX (16u << 10)
#define PROBE_REASON_MAX 200
#define PROBE_REASON_SHOWN 160 /* bytes of a daemon's reason we repeat */

enum health {
	HEALTH_UP,
	HEALTH_UNHEALTHY,
	HEALTH_DOWN,
};

static const char *const health_names[] = {"up", "unhealthy", "down"};

enum probe_phase {
	PHASE_CONNECTING,
	PHASE_SENDING,
	PHASE_READING,
	PHASE_DONE,
};

/* One daemon's check, from the connect to the verdict. */
struct probe {
	const struct ctl_daemon *daemon;
	int fd;
	enum probe_phase phase;
	size_t request_len, sent;
	size_t answer_len;
	char request[256];
	char answer[PROBE_ANSWER_MAX + 1];
	/* The verdict. */
	enum health health;
	int http_status; /* 0 when there was no answer */
	bool required;   /* named by --require */
	char reason[PROBE_REASON_MAX];
};

/* The store's check. */
struct store_check {
	enum health health; /* up or down */
	char where[160];
	long migrations;
	char latest[STORE_MIGRATION_FILE_MAX];
	char reason[300];
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void probe_finish(struct probe *p, enum health h, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the verdict and let go of the socket. */
static void
probe_finish(struct probe *p, enum health h, const char *fmt, ...)
{
	va_list ap;

	p->health = h;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->phase = PHASE_DONE;
}

/* strerror in the lower case of the rest of the line. */
static const char *
errno_text(int e, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/*
 * Split "host:port" or "[v6]:port" into host and port.  A wildcard host (a
 * daemon listening on every address) is asked on loopback.  Returns 0, or
 * -1 when the address has no port.
 */
static int
split_address(
    const char *addr, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon;
	size_t hlen;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		hlen = (size_t)(close - addr - 1);
		colon = close + 1;
		addr++;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - addr);
	}
	if (colon[1] == '\0' || hlen >= hsize || strlen(colon + 1) >= psize)
		return -1;
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	snprintf(port, psize, "%s", colon + 1);
	if (host[0] == '\0' || strcmp(host, "*") == 0 ||
	    strcmp(host, "0.0.0.0") == 0)
		snprintf(host, hsize, "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		snprintf(host, hsize, "::1");
	return 0;
}

static void
probe_start(struct probe *p)
{
	struct addrinfo hints = {0}, *ai = NULL;
	char host[80], port[16], why[120];
	int rc;

	p->fd = -1;
	if (split_address(p->daemon->http_listen, host, sizeof(host), port,
	        sizeof(port)) < 0) {
		probe_finish(p, HEALTH_DOWN,
		    "bad address '%s' in [%s] http_listen: want host:port",
		    p->daemon->http_listen, p->daemon->name);
		return;
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		probe_finish(p, HEALTH_DOWN,
		    "cannot resolve '%s' port '%s': %s", host, port,
		    gai_strerror(rc));
		return;
	}
	p->fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (p->fd < 0) {
		freeaddrinfo(ai);
		probe_finish(p, HEALTH_DOWN, "cannot make a socket: %s",
		    errno_text(errno, why, sizeof(why)));
		return;
	}
	p->request_len = (size_t)snprintf(p->request, sizeof(p->request),
	    "GET /healthz HTTP/1.0\r\nHost: %s\r\nUser-Agent: safetyctl\r\n"
	    "Accept: application/json\r\nConnection: close\r\n\r\n",
	    p->daemon->http_listen);
	if (p->request_len >= sizeof(p->request))
		p->request_len = sizeof(p->request) - 1;
	rc = connect(p->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc == 0)
		p->phase = PHASE_SENDING;
	else if (errno == EINPROGRESS)
		p->phase = PHASE_CONNECTING;
	else
		probe_finish(
		    p, HEALTH_DOWN, "%s", errno_text(errno, why, sizeof(why)));
}

/* Copy external text for a message: control bytes become spaces, and it
 * is cut at a character boundary. */
static void
copy_reason(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = 0;

	if (len > PROBE_REASON_SHOWN) {
		len = PROBE_REASON_SHOWN;
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	for (size_t i = 0; i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	dst[n] = '\0';
}

/* The reason a JSON error body gives: "message", else "reason", else
 * "error", else "status".  0 when there is none. */
static int
body_reason(const char *body, size_t len, char *out, size_t size)
{
	static const char *const keys[] = {
	    "message", "reason", "error", "status"};
	struct json_err jerr;
	cJSON *root = json_parse(body, len, &jerr);
	int found = 0;

	if (root == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !found; i++) {
		const cJSON *v =
		    cJSON_GetObjectItemCaseSensitive(root, keys[i]);

		if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
			copy_reason(
			    out, size, v->valuestring, strlen(v->valuestring));
			found = 1;
		}
	}
	cJSON_Delete(root);
	return found;
}

/* Judge a complete answer (the connection closed, or the buffer is full). */
static void
probe_judge(struct probe *p)
{
	char *a = p->answer, *end, *body, *ph, phrase[PROBE_REASON_MAX];
	int status = 0, skip = 0;

	a[p->answer_len] = '\0';
	if ((end = strstr(a, "\r\n\r\n")) != NULL)
		skip = 4;
	else if ((end = strstr(a, "\n\n")) != NULL)
		skip = 2;
	if (end == NULL || sscanf(a, "HTTP/1.%*1[01] %3d", &status) != 1 ||
	    status < 100 || status > 599) {
		copy_reason(phrase, sizeof(phrase), a,
		    p->answer_len < 40 ? p->answer_len : 40);
		probe_finish(
		    p, HEALTH_UNHEALTHY, "not an HTTP answer: '%s'", phrase);
		return;
	}
	p->http_status = status;
	if (status == 200) {
		probe_finish(p, HEALTH_UP, "%s", "");
		return;
	}
	body = end + skip;
	if (body_reason(body, p->answer_len - (size_t)(body - a), phrase,
	        sizeof(phrase))) {
		probe_finish(
		    p, HEALTH_UNHEALTHY, "HTTP %d: %s", status, phrase);
		return;
	}
	/* No JSON reason: the status line's phrase ("HTTP/1.1 503 Service
	 * Unavailable") is the best there is.  sscanf() found the code after
	 * "HTTP/1.x" and blanks; the phrase follows it and more blanks. */
	ph = a + strlen("HTTP/1.x");
	ph += strspn(ph, " \t");
	ph += strspn(ph, "0123456789");
	ph += strspn(ph, " \t");
	copy_reason(phrase, sizeof(phrase), ph, strcspn(ph, "\r\n"));
	probe_finish(p, HEALTH_UNHEALTHY, "HTTP %d%s%s", status,
	    phrase[0] ? " " : "", phrase);
}

/* Move one probe on after poll() said its socket is ready. */
static void
probe_step(struct probe *p)
{
	char why[120];
	int e = 0;
	socklen_t elen = sizeof(e);
	ssize_t n;

	switch (p->phase) {
	case PHASE_CONNECTING:
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			e = errno;
		if (e != 0) {
			probe_finish(p, HEALTH_DOWN, "%s",
			    errno_text(e, why, sizeof(why)));
			return;
		}
		/* Connected, so the socket is writable: send at once. */
		p->phase = PHASE_SENDING;
		__attribute__((fallthrough));
	case PHASE_SENDING:
		n = send(p->fd, p->request + p->sent, p->request_len - p->sent,
		    MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			probe_finish(p, HEALTH_UNHEALTHY,
			    "connection failed while asking: %s",
			    errno_text(errno, why, sizeof(why)));
			return;
		}
		p->sent += (size_t)n;
		if (p->sent == p->request_len)
			p->phase = PHASE_READING;
		return;
	case PHASE_READING:
		n = recv(p->fd, p->answer + p->answer_len,
		    PROBE_ANSWER_MAX - p->answer_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0 && p->answer_len == 0) {
			probe_finish(p, HEALTH_UNHEALTHY,
			    "connection failed before an answer: %s",
			    errno_text(errno, why, sizeof(why)));
			return;
		}
		if (n == 0 && p->answer_len == 0) {
			probe_finish(p, HEALTH_UNHEALTHY,
			    "connection closed without an answer");
			return;
		}
		if (n > 0)
			p->answer_len += (size_t)n;
		if (n <= 0 || p->answer_len == PROBE_ANSWER_MAX)
			probe_judge(p);
		return;
	case PHASE_DONE:
		return;
	}
}

/* Run every probe to a verdict or to the deadline. */
static void
probe_all(struct probe *probes, size_t n, int timeout_s)
{
	int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
	struct pollfd pfd[CTL_NDAEMONS];
	struct probe *owner[CTL_NDAEMONS];

	for (size_t i = 0; i < n; i++)
		probe_start(&probes[i]);
	for (;;) {
		int64_t left = deadline - now_ms();
		nfds_t np = 0;

		for (size_t i = 0; i < n; i++) {
			if (probes[i].phase == PHASE_DONE)
				continue;
			pfd[np].fd = probes[i].fd;
			pfd[np].events =
			    probes[i].phase == PHASE_READING ? POLLIN : POLLOUT;
			pfd[np].revents = 0;
			owner[np++] = &probes[i];
		}
		if (np == 0 || left <= 0)
			break;
		if (poll(pfd, np, (int)left) < 0 && errno != EINTR)
			break;
		for (nfds_t i = 0; i < np; i++)
			if (pfd[i].revents != 0)
				probe_step(owner[i]);
	}
	for (size_t i = 0; i < n; i++) {
		struct probe *p = &probes[i];

		if (p->phase == PHASE_CONNECTING)
			probe_finish(p, HEALTH_DOWN,
			    "no answer to connect within %d s", timeout_s);
		else if (p->phase != PHASE_DONE)
			probe_finish(p, HEALTH_UNHEALTHY,
			    "connected, but no complete answer within %d s",
			    timeout_s);
	}
}

/* host:port/dbname of a connection string, without its secrets. */
static void
store_where(const char *conninfo, PGconn *conn, char *buf, size_t size)
{
	const char *host = NULL, *port = NULL, *db = NULL;
	PQconninfoOption *opts = NULL;

	if (conn != NULL) {
		host = PQhost(conn);
		port = PQport(conn);
		db = PQdb(conn);
	} else if ((opts = PQconninfoParse(conninfo, NULL)) == NULL) {
		snprintf(buf, size, "(malformed connection string)");
		return;
	} else {
		for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
			if (o->val == NULL || o->val[0] == '\0')
				continue;
			if (strcmp(o->keyword, "host") == 0 ||
			    (host == NULL &&
			        strcmp(o->keyword, "hostaddr") == 0))
				host = o->val;
			else if (strcmp(o->keyword, "port") == 0)
				port = o->val;
			else if (strcmp(o->keyword, "dbname") == 0)
				db = o->val;
		}
	}
	snprintf(buf, size, "%s:%s/%s", host && *host ? host : "(default)",
	    port && *port ? port : "5432", db && *db ? db : "(default)");
	PQconninfoFree(opts);
}

static void
store_probe_run(const struct ctl *ctl, int timeout_s, struct store_check *sc)
{
	struct store_opts opts = {0};
	struct store_err err;
	PGresult *res = NULL;
	struct store *st;

	sc->health = HEALTH_DOWN;
	if (ctl->conninfo == NULL) {
		snprintf(sc->where, sizeof(sc->where), "(none)");
		snprintf(sc->reason, sizeof(sc->reason),
		    "no database configured: give -c CONNINFO, set "
		    "ANQUAN_CONNINFO or [store] conninfo");
		return;
	}
	store_where(ctl->conninfo, NULL, sc->where, sizeof(sc->where));
	opts.application_name = "safetyctl status";
	opts.connect_timeout_s = timeout_s < 2 ? 2 : timeout_s;
	opts.statement_timeout_ms = timeout_s * 1000;
	st = store_open(ctl->conninfo, &opts);
	if (st == NULL) {
		char *why = NULL;
		PQconninfoOption *o = PQconninfoParse(ctl->conninfo, &why);

		snprintf(sc->reason, sizeof(sc->reason),
		    "malformed connection string: %.*s",
		    why ? (int)strcspn(why, "\n") : 0, why ? why : "");
		PQconninfoFree(o);
		PQfreemem(why);
		return;
	}
	if (store_exec(st, "SELECT 1", 0, NULL, NULL, &err) < 0) {
		snprintf(sc->reason, sizeof(sc->reason), "%s", err.msg);
		store_close(st);
		return;
	}
	sc->health = HEALTH_UP;
	store_where(
	    ctl->conninfo, store_conn(st), sc->where, sizeof(sc->where));
	if (store_exec(st,
	        "SELECT count(*), (SELECT name FROM schema_migrations"
	        " ORDER BY version DESC LIMIT 1) FROM schema_migrations",
	        0, NULL, &res, &err) == 0) {
		sc->migrations = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		snprintf(sc->latest, sizeof(sc->latest), "%s",
		    PQgetvalue(res, 0, 1));
		PQclear(res);
		if (sc->migrations == 0)
			snprintf(sc->reason, sizeof(sc->reason),
			    "not migrated: no migration applied; run "
			    "safetyctl migrate");
	} else if (strcmp(err.sqlstate, "42P01") == 0) {
		snprintf(sc->reason, sizeof(sc->reason),
		    "not migrated: no schema_migrations table; run "
		    "safetyctl migrate");
	} else {
		snprintf(sc->reason, sizeof(sc->reason),
		    "cannot read schema_migrations: %s", err.msg);
	}
	/* A store without the schema answers, but nothing can work. */
	if (sc->reason[0] != '\0')
		sc->health = HEALTH_UNHEALTHY;
	store_close(st);
}

/* The store logs a failed connect as a warning; here the status line says
 * it, so the warning would only repeat it (-v shows it all the same). */
static void
store_probe(const struct ctl *ctl, int timeout_s, struct store_check *sc)
{
	enum log_level saved = log_get_level();

	if (!ctl->verbose && saved < LOGL_ERROR)
		log_set_level(LOGL_ERROR);
	store_probe_run(ctl, timeout_s, sc);
	log_set_level(saved);
}

/* Mark the daemons named in a comma list; -1 after naming a stranger. */
static int
parse_require(const struct ctl *ctl, const char *list, struct probe *probes)
{
	char *copy = strdup(list), *save = NULL;
	int rc = 0;

	if (copy == NULL)
		return -1;
	for (char *name = strtok_r(copy, ",", &save); name != NULL;
	     name = strtok_r(NULL, ",", &save)) {
		const struct ctl_daemon *d = ctl_daemon_find(ctl, name);

		if (d == NULL) {
			ctl_error("status",
			    "--require: no daemon named \"%s\" (ingestd, "
			    "riskd, alarmd, schedd, reportd)",
			    name);
			rc = -1;
			break;
		}
		probes[d - ctl->daemons].required = true;
	}
	free(copy);
	return rc;
}

/* Columns: name, address (as wide as the widest daemon's: the store's may
 * be a long socket path, which only pushes its own line), state (reason). */
static void
print_text(const struct probe *probes, size_t n, const struct store_check *sc)
{
	int width = 0;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(probes[i].daemon->http_listen) > width)
			width = (int)strlen(probes[i].daemon->http_listen);
	for (size_t i = 0; i < n; i++) {
		const struct probe *p = &probes[i];

		printf("%-8s %-*s  %s", p->daemon->name, width,
		    p->daemon->http_listen, health_names[p->health]);
		if (p->reason[0] != '\0')
			printf(" (%s)", p->reason);
		if (p->required)
			printf(" [required]");
		putchar('\n');
	}
	printf("%-8s %-*s  %s", "store", width, sc->where,
	    health_names[sc->health]);
	if (sc->health == HEALTH_UP && sc->reason[0] == '\0')
		printf(" (%ld migration%s applied%s%s)", sc->migrations,
		    sc->migrations == 1 ? "" : "s",
		    sc->latest[0] ? ", latest " : "", sc->latest);
	else if (sc->reason[0] != '\0')
		printf(" (%s)", sc->reason);
	putchar('\n');
}

static int
print_json(
    const struct probe *probes, size_t n, const struct store_check *sc, bool ok)
{
	struct json_out w;
	int rc = 0;

	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_bool(&w, "ok", ok);
	json_out_key(&w, "daemons");
	json_out_arr_open(&w);
	for (size_t i = 0; i < n; i++) {
		const struct probe *p = &probes[i];

		json_out_obj_open(&w);
		json_out_kv_str(&w, "name", p->daemon->name);
		json_out_kv_str(&w, "address", p->daemon->http_listen);
		json_out_kv_str(&w, "state", health_names[p->health]);
		json_out_kv_bool(&w, "required", p->required);
		if (p->http_status != 0)
			json_out_kv_int(&w, "http_status", p->http_status);
		if (p->reason[0] != '\0')
			json_out_kv_str(&w, "reason", p->reason);
		json_out_obj_close(&w);
	}
	json_out_arr_close(&w);
	json_out_key(&w, "store");
	json_out_obj_open(&w);
	json_out_kv_str(&w, "address", sc->where);
	json_out_kv_str(&w, "state", health_names[sc->health]);
	if (sc->health == HEALTH_UP)
		json_out_kv_int(&w, "migrations", sc->migrations);
	if (sc->latest[0] != '\0')
		json_out_kv_str(&w, "latest_migration", sc->latest);
	if (sc->reason[0] != '\0')
		json_out_kv_str(&w, "reason", sc->reason);
	json_out_obj_close(&w);
	json_out_obj_close(&w);
	if (json_out_failed(&w)) {
		ctl_error("status", "out of memory");
		rc = -1;
	} else {
		printf("%s\n", json_out_data(&w));
	}
	json_out_free(&w);
	return rc;
}

static void
status_help(void)
{
	printf(
	    "usage: safetyctl status [--json] [--require NAME,...] "
	    "[--timeout SECONDS]\n"
	    "Ask each daemon (ingestd riskd alarmd schedd reportd) for GET "
	    "/healthz at the\n"
	    "http_listen of its config section, and the store for SELECT "
	    "1.\n"
	    "  --json           one JSON object instead of lines\n"
	    "  --require LIST   daemons that must be up (comma-separated)\n"
	    "  --timeout S      seconds to wait for the daemons (default "
	    "%d, at most %d)\n"
	    "Exit 0 when every daemon that answered is healthy and the store "
	    "is up (it answers\n"
	    "and is migrated), else 1.\n"
	    "A daemon that is down (not listening) counts as a failure only "
	    "when --require\n"
	    "names it.\n",
	    STATUS_TIMEOUT_S, STATUS_TIMEOUT_MAX_S);
}

int
cmd_status(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"require", required_argument, NULL, 'r'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct probe probes[CTL_NDAEMONS];
	struct store_check sc = {0};
	const char *require = NULL;
	bool json = false, ok = true;
	int c, timeout_s = STATUS_TIMEOUT_S;
	char *end;
	long v;

	while ((c = getopt_long(argc, argv, "hjr:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'r':
			require = optarg;
			break;
		case 't':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 1 ||
			    v > STATUS_TIMEOUT_MAX_S) {
				ctl_error("status",
				    "--timeout wants whole seconds from 1 to "
				    "%d, got \"%s\"",
				    STATUS_TIMEOUT_MAX_S, optarg);
				return CTL_USAGE;
			}
			timeout_s = (int)v;
			break;
		case 'h':
			status_help();
			return CTL_OK;
		default:
			return ctl_usage("status");
		}
	}
	if (optind < argc) {
		ctl_error("status", "unexpected argument \"%s\"", argv[optind]);
		return ctl_usage("status");
	}
	memset(probes, 0, sizeof(probes));
	for (size_t i = 0; i < CTL_NDAEMONS; i++) {
		probes[i].daemon = &ctl->daemons[i];
		probes[i].fd = -1;
	}
	if (require != NULL && parse_require(ctl, require, probes) < 0)
		return CTL_USAGE;
	probe_all(probes, CTL_NDAEMONS, timeout_s);
	store_probe(ctl, timeout_s, &sc);
	for (size_t i = 0; i < CTL_NDAEMONS; i++) {
		const struct probe *p = &probes[i];

		if (p->health == HEALTH_UNHEALTHY ||
		    (p->health == HEALTH_DOWN && p->required))
			ok = false;
		log_info("status.daemon", "name=%s state=%s", p->daemon->name,
		    health_names[p->health]);
	}
	if (sc.health != HEALTH_UP)
		ok = false;
	if (json) {
		if (print_json(probes, CTL_NDAEMONS, &sc, ok) < 0)
			return CTL_FAIL;
	} else {
		print_text(probes, CTL_NDAEMONS, &sc);
	}
	return ok ? CTL_OK : CTL_FAIL;
}
