-- 0002_registry - enterprises, monitoring points, feed sources and tokens.
--
-- The registry is what the sector systems tell us about the city's
-- enterprises (enterprise.upsert) and their sensors (point.upsert); ingestd
-- writes it, riskd, alarmd, schedd and reportd read it.  Every upsert keeps
-- the row it replaces in a *_versions table (a trigger does it, so no writer
-- can forget), which answers "what did we know on that day".  Each row says
-- which source sent it and the id of the event, to trace it back.
--
-- sources are the sector systems allowed to feed the platform; tokens are
-- their credentials, stored only as SHA-256 hashes.  Field meanings:
-- DOMAIN.md sections 1-2.

-- The sector systems (and tools) that write to the platform.
CREATE TABLE sources (
	name		text PRIMARY KEY
			CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
	description	text NOT NULL DEFAULT '',
	-- The sectors and districts this source may write for: NULL means
	-- all of them (a city-wide system), an array limits it to those
	-- codes (empty: nothing).  Checked against the code tables by the
	-- trigger below, since arrays cannot carry foreign keys.
	sectors		text[],
	districts	text[],
	created_at	timestamptz NOT NULL DEFAULT now(),
	-- A disabled source's tokens are refused; its rows stay.
	disabled_at	timestamptz
);

CREATE FUNCTION sources_check_codes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	bad text;
BEGIN
	SELECT string_agg(c, ', ') INTO bad
	  FROM unnest(NEW.sectors) AS c
	 WHERE c NOT IN (SELECT code FROM sectors);
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'source %: unknown sector codes: %', NEW.name, bad
		    USING ERRCODE = 'foreign_key_violation';
	END IF;
	SELECT string_agg(c, ', ') INTO bad
	  FROM unnest(NEW.districts) AS c
	 WHERE c NOT IN (SELECT code FROM districts);
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'source %: unknown district codes: %', NEW.name, bad
		    USING ERRCODE = 'foreign_key_violation';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER sources_check_codes BEFORE INSERT OR UPDATE ON sources
	FOR EACH ROW EXECUTE FUNCTION sources_check_codes();

-- Bearer tokens of the sources.  The token itself is shown once, when made,
-- and never stored; the hash finds it, the prefix names it in lists and logs.
CREATE TABLE tokens (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source		text NOT NULL REFERENCES sources (name),
	token_hash	bytea NOT NULL UNIQUE
			CHECK (octet_length(token_hash) = 32),
	prefix		text NOT NULL CHECK (length(prefix) BETWEEN 4 AND 16),
	created_at	timestamptz NOT NULL DEFAULT now(),
	revoked_at	timestamptz
);

CREATE INDEX tokens_source ON tokens (source);

-- Enterprises (生产经营单位), keyed by their unified social credit code.
-- The pattern checks the alphabet and the 6-digit area code; the check
-- digit (GB 32100-2015) is verified by ingestd before the row gets here.
-- source is not a foreign key: history rows must outlive any change to the
-- sources, and operator imports name themselves ('safetyctl').
CREATE TABLE enterprises (
	uscc			char(18) PRIMARY KEY
				CHECK (uscc ~ '^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$'),
	name			text NOT NULL CHECK (name <> ''),
	district		text NOT NULL REFERENCES districts (code),
	sector			text NOT NULL REFERENCES sectors (code),
	employees		integer CHECK (employees >= 0),
	status			text NOT NULL
				CHECK (status IN ('operating', 'suspended', 'closed')),
	-- Exactly one level enforces an enterprise (分级属地).
	enforcement_level	text NOT NULL
				CHECK (enforcement_level IN ('city', 'district')),
	address			text,
	lon			double precision CHECK (lon BETWEEN -180 AND 180),
	lat			double precision CHECK (lat BETWEEN -90 AND 90),
	credit			text
				CHECK (credit IN ('good', 'normal', 'poor', 'dishonest')),
	standardization_level	smallint
				CHECK (standardization_level BETWEEN 1 AND 3),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	source			text NOT NULL,
	event_id		text
);

CREATE INDEX enterprises_district ON enterprises (district);
CREATE INDEX enterprises_sector ON enterprises (sector);

-- Monitoring points (监测点位).  Thresholds and the alarm parameters are
-- optional: when absent, riskd applies the configured defaults (DOMAIN.md
-- 3.1), which is why NULL and not a number stands for "not given".
CREATE TABLE points (
	-- Any printable text without spaces, as the sector systems name
	-- their tags.
	code			text PRIMARY KEY
				CHECK (code ~ '^[^[:space:][:cntrl:]]{1,128}$'),
	uscc			char(18) NOT NULL REFERENCES enterprises (uscc),
	kind			text NOT NULL
				CHECK (kind IN ('level', 'temperature', 'pressure',
				    'flow', 'gas_combustible', 'gas_toxic',
				    'oxygen', 'methane', 'smoke', 'elevator',
				    'other')),
	unit			text NOT NULL CHECK (unit <> ''),
	ll			double precision,
	l			double precision,
	h			double precision,
	hh			double precision,
	range_lo		double precision,
	range_hi		double precision,
	deadband		double precision CHECK (deadband >= 0),
	delay_s			integer CHECK (delay_s >= 0),
	expected_interval_s	integer CHECK (expected_interval_s > 0),
	hazard_source		text,
	tag			text,
	enabled			boolean NOT NULL DEFAULT true,
	updated_at		timestamptz NOT NULL DEFAULT now(),
	source			text NOT NULL,
	event_id		text,
	-- Thresholds given must be ordered LL <= L <= H <= HH, pair by
	-- pair, so a gap (no L, say) is allowed.
	CONSTRAINT points_thresholds_ordered CHECK (
		(ll IS NULL OR l IS NULL OR ll <= l) AND
		(ll IS NULL OR h IS NULL OR ll <= h) AND
		(ll IS NULL OR hh IS NULL OR ll <= hh) AND
		(l IS NULL OR h IS NULL OR l <= h) AND
		(l IS NULL OR hh IS NULL OR l <= hh) AND
		(h IS NULL OR hh IS NULL OR h <= hh)),
	CONSTRAINT points_range_ordered CHECK (
		range_lo IS NULL OR range_hi IS NULL OR range_lo < range_hi)
);

CREATE INDEX points_uscc ON points (uscc);

-- History: the row as it was before each change, and when it was replaced.
-- No foreign keys, so history survives whatever happens to the current row.
CREATE TABLE enterprise_versions (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uscc			char(18) NOT NULL,
	name			text NOT NULL,
	district		text NOT NULL,
	sector			text NOT NULL,
	employees		integer,
	status			text NOT NULL,
	enforcement_level	text NOT NULL,
	address			text,
	lon			double precision,
	lat			double precision,
	credit			text,
	standardization_level	smallint,
	updated_at		timestamptz NOT NULL,
	source			text NOT NULL,
	event_id		text,
	replaced_at		timestamptz NOT NULL DEFAULT now(),
	-- 'update' or 'delete': how the version ended.
	ended_by		text NOT NULL CHECK (ended_by IN ('update', 'delete'))
);

CREATE INDEX enterprise_versions_uscc ON enterprise_versions (uscc, replaced_at);

CREATE TABLE point_versions (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code			text NOT NULL,
	uscc			char(18) NOT NULL,
	kind			text NOT NULL,
	unit			text NOT NULL,
	ll			double precision,
	l			double precision,
	h			double precision,
	hh			double precision,
	range_lo		double precision,
	range_hi		double precision,
	deadband		double precision,
	delay_s			integer,
	expected_interval_s	integer,
	hazard_source		text,
	tag			text,
	enabled			boolean NOT NULL,
	updated_at		timestamptz NOT NULL,
	source			text NOT NULL,
	event_id		text,
	replaced_at		timestamptz NOT NULL DEFAULT now(),
	ended_by		text NOT NULL CHECK (ended_by IN ('update', 'delete'))
);

CREATE INDEX point_versions_code ON point_versions (code, replaced_at);

-- The columns are listed rather than copied with OLD.*, so that a column
-- added to the live table later cannot shift the history's columns.
CREATE FUNCTION enterprises_keep_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO enterprise_versions (uscc, name, district, sector,
	    employees, status, enforcement_level, address, lon, lat, credit,
	    standardization_level, updated_at, source, event_id, ended_by)
	VALUES (OLD.uscc, OLD.name, OLD.district, OLD.sector, OLD.employees,
	    OLD.status, OLD.enforcement_level, OLD.address, OLD.lon, OLD.lat,
	    OLD.credit, OLD.standardization_level, OLD.updated_at, OLD.source,
	    OLD.event_id, lower(TG_OP));
	RETURN NULL;
END
$$;

CREATE FUNCTION points_keep_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO point_versions (code, uscc, kind, unit, ll, l, h, hh,
	    range_lo, range_hi, deadband, delay_s, expected_interval_s,
	    hazard_source, tag, enabled, updated_at, source, event_id, ended_by)
	VALUES (OLD.code, OLD.uscc, OLD.kind, OLD.unit, OLD.ll, OLD.l, OLD.h,
	    OLD.hh, OLD.range_lo, OLD.range_hi, OLD.deadband, OLD.delay_s,
	    OLD.expected_interval_s, OLD.hazard_source, OLD.tag, OLD.enabled,
	    OLD.updated_at, OLD.source, OLD.event_id, lower(TG_OP));
	RETURN NULL;
END
$$;

-- An upsert that changes nothing (a re-sent event) leaves no history.
CREATE TRIGGER enterprises_keep_version
	AFTER UPDATE ON enterprises
	FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
	EXECUTE FUNCTION enterprises_keep_version();
CREATE TRIGGER enterprises_keep_deleted
	AFTER DELETE ON enterprises
	FOR EACH ROW EXECUTE FUNCTION enterprises_keep_version();

CREATE TRIGGER points_keep_version
	AFTER UPDATE ON points
	FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
	EXECUTE FUNCTION points_keep_version();
CREATE TRIGGER points_keep_deleted
	AFTER DELETE ON points
	FOR EACH ROW EXECUTE FUNCTION points_keep_version();
