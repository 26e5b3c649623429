-- 0003_readings_events - readings by day, events, and the quarantine.
--
-- ingestd writes all three (readings by COPY in group commits), riskd and
-- reportd read them.  Readings are the bulk of the data: one table
-- partitioned by day of the city's calendar, so that a day can be dropped or
-- archived whole and queries on recent days touch small tables.  A reading
-- is unique by point and time and an event by source and id, which is what
-- makes a retried batch harmless (DESIGN.md section 3).

-- quality: 0 good, 1 bad, 2 maintenance (the ingest API's words).  A good
-- reading must carry a value; a bad one may not have any.
CREATE TABLE readings (
	point		text NOT NULL,
	ts		timestamptz NOT NULL,
	value		double precision
			CHECK (value NOT IN ('NaN', 'Infinity', '-Infinity')),
	quality		smallint NOT NULL DEFAULT 0 CHECK (quality BETWEEN 0 AND 2),
	received_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (point, ts),
	CONSTRAINT readings_good_has_value CHECK (quality <> 0 OR value IS NOT NULL)
) PARTITION BY RANGE (ts);

-- Rows outside every daily partition (a clock far off, an old backlog) land
-- here instead of failing the whole COPY they arrived in.
CREATE TABLE readings_default PARTITION OF readings DEFAULT;

-- Create the daily partitions readings_YYYYMMDD for days first_day ..
-- first_day + days - 1 that do not exist yet, each covering one city day
-- (midnight to midnight, Asia/Shanghai, whatever the session's TimeZone).
-- Rows already waiting in readings_default for such a day are moved into
-- its new partition: PostgreSQL refuses to attach a partition whose range
-- the default partition still holds rows of.  Returns the number created.
-- Daemons call it daily (and before loading old data); it is idempotent and
-- takes a lock, so two callers at once do not collide.
CREATE FUNCTION readings_ensure_partitions(first_day date, days integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	d	date;
	part	text;
	lo	timestamptz;
	hi	timestamptz;
	created	integer := 0;
BEGIN
	IF first_day IS NULL OR days IS NULL OR days < 0 OR days > 3660 THEN
		RAISE EXCEPTION 'readings_ensure_partitions: want a day and 0..3660 days, got % and %',
		    first_day, days;
	END IF;
	PERFORM pg_advisory_xact_lock(hashtext('readings_ensure_partitions'));
	IF to_regclass('readings_default') IS NULL THEN
		CREATE TABLE readings_default PARTITION OF readings DEFAULT;
	END IF;
	FOR i IN 0 .. days - 1 LOOP
		d := first_day + i;
		part := 'readings_' || to_char(d, 'YYYYMMDD');
		CONTINUE WHEN to_regclass(part) IS NOT NULL;
		lo := d::timestamp AT TIME ZONE 'Asia/Shanghai';
		hi := (d + 1)::timestamp AT TIME ZONE 'Asia/Shanghai';
		EXECUTE format('CREATE TABLE %I (LIKE readings INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
		    part);
		EXECUTE format('WITH moved AS (DELETE FROM readings_default WHERE ts >= %L AND ts < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
		    lo, hi, part);
		EXECUTE format('ALTER TABLE readings ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
		    part, lo, hi);
		created := created + 1;
	END LOOP;
	RETURN created;
END
$$;

-- A week back (late data) and a week ahead (time to spare for the daily
-- call), in the city's calendar.
SELECT readings_ensure_partitions((now() AT TIME ZONE 'Asia/Shanghai')::date - 7, 15);

-- Events as the sources sent them (DOMAIN.md section 2), whole, so that any
-- derived state can be rebuilt; id is unique within its source.
CREATE TABLE events (
	source		text NOT NULL,
	id		text NOT NULL CHECK (length(id) BETWEEN 1 AND 200),
	kind		text NOT NULL CONSTRAINT events_kind_known CHECK (kind IN (
			    'enterprise.upsert', 'point.upsert',
			    'hazard_source.upsert', 'risk_point.upsert',
			    'responsibility.upsert', 'duty.roster',
			    'inspector.upsert', 'agency.upsert',
			    'equipment.upsert',
			    'hazard.reported', 'hazard.rectified',
			    'hazard.verified',
			    'operation.filed', 'operation.started',
			    'operation.finished',
			    'maintenance.window',
			    'accident.reported', 'accident.updated',
			    'inspection.completed', 'case.filed', 'case.closed',
			    'resplist.uploaded', 'director.appointed',
			    'training.record', 'equipment.inspected',
			    'selfcheck.completed')),
	at		timestamptz NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	data		jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
	PRIMARY KEY (source, id)
);

CREATE INDEX events_kind_at ON events (kind, at);

-- Readings of points not (yet) in the registry: kept, listed for the
-- operator, and released into readings once the point is registered.  The
-- unique key makes a retried batch land here only once too.
CREATE TABLE quarantine (
	id		bigserial PRIMARY KEY,
	source		text NOT NULL,
	point		text NOT NULL,
	ts		timestamptz NOT NULL,
	value		double precision,
	quality		smallint NOT NULL CHECK (quality BETWEEN 0 AND 2),
	received_at	timestamptz NOT NULL DEFAULT now(),
	reason		text NOT NULL CHECK (reason <> ''),
	released_at	timestamptz,
	UNIQUE (source, point, ts)
);

CREATE INDEX quarantine_waiting ON quarantine (point) WHERE released_at IS NULL;
