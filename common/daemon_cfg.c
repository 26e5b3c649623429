/*
 * daemon_cfg - the shared sections of anquan.conf: [log], [store], [bus].
 *
 * Every daemon (through common/daemon.c) and safetyctl read these three
 * sections with the same tables, declared once here; deploy/anquan.conf
 * carries exactly these keys.  daemon_known_sections lists every section
 * of the whole system, so a program skips the sections of the others but
 * a misspelt section name is an error.
 */
#include "daemon.h"

#include <stddef.h>

#include "bus.h"
#include "log.h"

const char *const daemon_known_sections[] = {"log", "store", "bus",
    "ingestd", "riskd", "alarmd", "schedd", "reportd", "safetyctl", NULL};

static const char *const log_levels[] = {"debug", "info", "warn", "error",
    NULL};

typedef struct daemon_shared_cfg S;

static const struct cfg_key log_keys[] = {
	CFG_KEY_ENUM(S, log.level, "level", "info", log_levels, CFG_RELOAD,
	    "minimum level logged: debug, info, warn or error"),
};

static const struct cfg_key store_keys[] = {
	CFG_KEY_STRING(S, store.conninfo, "conninfo", "", CFG_SECRET,
	    "libpq connection string; empty: the private cluster"),
	CFG_KEY_DURATION(S, store.statement_timeout_ms, "statement_timeout",
	    "30s", 0, 3600000, 0, "longest a statement may run"),
	CFG_KEY_DURATION(S, store.connect_timeout_ms, "connect_timeout", "5s",
	    2000, 120000, 0, "longest one connection attempt may take"),
	CFG_KEY_DURATION(S, store.backoff_min_ms, "backoff_min", "100ms", 10,
	    60000, 0, "first reconnect delay after a failure"),
	CFG_KEY_DURATION(S, store.backoff_max_ms, "backoff_max", "5s", 100,
	    600000, 0, "longest reconnect delay (the doubling stops here)"),
};

static const struct cfg_key bus_keys[] = {
	CFG_KEY_STRING(S, bus.ingest_pull, "ingest_pull", BUS_EP_INGEST_PULL,
	    0, "collector intake of ingestd (PULL)"),
	CFG_KEY_STRING(S, bus.ingestd_pub, "ingestd_pub", BUS_EP_INGESTD_PUB,
	    0, "ingestd publishes rd.* and ev.* here"),
	CFG_KEY_STRING(S, bus.riskd_pub, "riskd_pub", BUS_EP_RISKD_PUB, 0,
	    "riskd publishes al.* and rk.* here"),
	CFG_KEY_STRING(S, bus.alarmd_pub, "alarmd_pub", BUS_EP_ALARMD_PUB, 0,
	    "alarmd publishes nt.* here"),
	CFG_KEY_STRING(S, bus.schedd_pub, "schedd_pub", BUS_EP_SCHEDD_PUB, 0,
	    "schedd publishes pl.* here"),
	CFG_KEY_INT(S, bus.sndhwm, "sndhwm", "10000", 10, 10000000, 0,
	    "high-water mark of every socket, in messages"),
	CFG_KEY_DURATION(S, bus.resync_ms, "resync", "1s", 50, 600000,
	    CFG_RELOAD, "how often a consumer checks its cursors against "
			"the producers' logs"),
};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

size_t
daemon_shared_sections(struct daemon_shared_cfg *cfg, struct cfg_section *out)
{
	out[0] = (struct cfg_section){"log", log_keys, NKEYS(log_keys), cfg};
	out[1] = (struct cfg_section){"store", store_keys, NKEYS(store_keys),
	    cfg};
	out[2] = (struct cfg_section){"bus", bus_keys, NKEYS(bus_keys), cfg};
	return DAEMON_SHARED_SECTIONS;
}
