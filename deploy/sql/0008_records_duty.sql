-- 0008_records_duty - the duties of enterprises: responsibility lists,
-- safety directors, training, special-equipment inspections, self-checks.
--
-- ingestd writes these tables from the events resplist.uploaded,
-- director.appointed, training.record, equipment.inspected and
-- selfcheck.completed (services/ingestd/records_duty.c, inside the
-- transaction that stores the event); riskd (no list, no director raise an
-- enterprise's risk), alarmd (an inspection or self-check overdue alerts)
-- and reportd (the indicators of DOMAIN.md section 8) read them.  Every row
-- names the source and event that last wrote it and when it was received.
-- The upserts (one list and one director per enterprise, one training
-- record per enterprise, year and role, one self-check per enterprise, kind
-- and period: the latest wins) keep the row they replace in a *_versions
-- table filled by a trigger, so the platform can answer "what did we know
-- on that day"; equipment inspections are a log, each one its own row.

-- Responsibility lists (全员安全生产责任清单): how many posts the
-- enterprise has and how many its uploaded list covers.
CREATE TABLE resplists (
	uscc		char(18) PRIMARY KEY REFERENCES enterprises (uscc),
	posts		integer NOT NULL CHECK (posts > 0),
	posts_covered	integer NOT NULL
			CHECK (posts_covered BETWEEN 0 AND posts),
	uploaded_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	source		text NOT NULL,
	event_id	text NOT NULL
);

CREATE TABLE resplist_versions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uscc		char(18) NOT NULL,
	posts		integer NOT NULL,
	posts_covered	integer NOT NULL,
	uploaded_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL,
	source		text NOT NULL,
	event_id	text NOT NULL,
	replaced_at	timestamptz NOT NULL DEFAULT now(),
	ended_by	text NOT NULL CHECK (ended_by IN ('update', 'delete'))
);

CREATE INDEX resplist_versions_uscc ON resplist_versions (uscc, replaced_at);

-- Safety directors (安全总监): one per enterprise, the latest appointment.
CREATE TABLE safety_directors (
	uscc		char(18) PRIMARY KEY REFERENCES enterprises (uscc),
	name		text NOT NULL CHECK (name <> ''),
	certified	boolean NOT NULL,
	appointed_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	source		text NOT NULL,
	event_id	text NOT NULL
);

CREATE TABLE safety_director_versions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uscc		char(18) NOT NULL,
	name		text NOT NULL,
	certified	boolean NOT NULL,
	appointed_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL,
	source		text NOT NULL,
	event_id	text NOT NULL,
	replaced_at	timestamptz NOT NULL DEFAULT now(),
	ended_by	text NOT NULL CHECK (ended_by IN ('update', 'delete'))
);

CREATE INDEX safety_director_versions_uscc ON safety_director_versions (uscc, replaced_at);

-- Training and certification by role (培训持证): per enterprise, year and
-- role, how many people must be trained, were trained, hold a certificate.
-- Both shares are counted against required, so neither may exceed it.
CREATE TABLE training_records (
	uscc		char(18) NOT NULL REFERENCES enterprises (uscc),
	year		smallint NOT NULL CHECK (year BETWEEN 2000 AND 2100),
	role		text NOT NULL CHECK (role IN ('principal',
			    'safety_manager', 'special_worker', 'employee')),
	required	integer NOT NULL CHECK (required >= 0),
	trained		integer NOT NULL CHECK (trained BETWEEN 0 AND required),
	certified	integer NOT NULL CHECK (certified BETWEEN 0 AND required),
	recorded_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	source		text NOT NULL,
	event_id	text NOT NULL,
	PRIMARY KEY (uscc, year, role)
);

CREATE INDEX training_records_year ON training_records (year, role);

CREATE TABLE training_record_versions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uscc		char(18) NOT NULL,
	year		smallint NOT NULL,
	role		text NOT NULL,
	required	integer NOT NULL,
	trained		integer NOT NULL,
	certified	integer NOT NULL,
	recorded_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL,
	source		text NOT NULL,
	event_id	text NOT NULL,
	replaced_at	timestamptz NOT NULL DEFAULT now(),
	ended_by	text NOT NULL CHECK (ended_by IN ('update', 'delete'))
);

CREATE INDEX training_record_versions_key ON training_record_versions (uscc, year, role, replaced_at);

-- Inspections of special equipment (特种设备定期检验): one row each, so
-- the log is its own history.  code is the equipment's (equipment.upsert);
-- ingestd checks that it is registered before the row is written.
CREATE TABLE equipment_inspections (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code		text NOT NULL,
	result		text NOT NULL CHECK (result IN ('pass', 'fail')),
	next_due_on	date NOT NULL,
	inspected_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	source		text NOT NULL,
	event_id	text NOT NULL,
	UNIQUE (source, event_id)
);

CREATE INDEX equipment_inspections_code ON equipment_inspections (code, inspected_at);

-- Self-checks (自查): per enterprise, kind and period (2026, 2026H2,
-- 2026Q3, 2026-11), the latest report.
CREATE TABLE selfchecks (
	uscc		char(18) NOT NULL REFERENCES enterprises (uscc),
	kind		text NOT NULL CHECK (kind IN ('coal_quarterly',
			    'coal_parent_semiannual', 'hazard_source_technical',
			    'other')),
	period		text NOT NULL CHECK (period ~
			    '^[0-9]{4}((Q[1-4])|(H[12])|(-(0[1-9]|1[0-2])))?$'),
	completed_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	source		text NOT NULL,
	event_id	text NOT NULL,
	PRIMARY KEY (uscc, kind, period)
);

CREATE INDEX selfchecks_kind ON selfchecks (kind, period);

CREATE TABLE selfcheck_versions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uscc		char(18) NOT NULL,
	kind		text NOT NULL,
	period		text NOT NULL,
	completed_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL,
	source		text NOT NULL,
	event_id	text NOT NULL,
	replaced_at	timestamptz NOT NULL DEFAULT now(),
	ended_by	text NOT NULL CHECK (ended_by IN ('update', 'delete'))
);

CREATE INDEX selfcheck_versions_key ON selfcheck_versions (uscc, kind, period, replaced_at);

-- The columns are listed rather than copied with OLD.*, so that a column
-- added to a live table later cannot shift the history's columns.
CREATE FUNCTION resplists_keep_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO resplist_versions (uscc, posts, posts_covered,
	    uploaded_at, received_at, source, event_id, ended_by)
	VALUES (OLD.uscc, OLD.posts, OLD.posts_covered, OLD.uploaded_at,
	    OLD.received_at, OLD.source, OLD.event_id, lower(TG_OP));
	RETURN NULL;
END
$$;

CREATE FUNCTION safety_directors_keep_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO safety_director_versions (uscc, name, certified,
	    appointed_at, received_at, source, event_id, ended_by)
	VALUES (OLD.uscc, OLD.name, OLD.certified, OLD.appointed_at,
	    OLD.received_at, OLD.source, OLD.event_id, lower(TG_OP));
	RETURN NULL;
END
$$;

CREATE FUNCTION training_records_keep_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO training_record_versions (uscc, year, role, required,
	    trained, certified, recorded_at, received_at, source, event_id,
	    ended_by)
	VALUES (OLD.uscc, OLD.year, OLD.role, OLD.required, OLD.trained,
	    OLD.certified, OLD.recorded_at, OLD.received_at, OLD.source,
	    OLD.event_id, lower(TG_OP));
	RETURN NULL;
END
$$;

CREATE FUNCTION selfchecks_keep_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO selfcheck_versions (uscc, kind, period, completed_at,
	    received_at, source, event_id, ended_by)
	VALUES (OLD.uscc, OLD.kind, OLD.period, OLD.completed_at,
	    OLD.received_at, OLD.source, OLD.event_id, lower(TG_OP));
	RETURN NULL;
END
$$;

CREATE TRIGGER resplists_keep_version
	AFTER UPDATE OR DELETE ON resplists
	FOR EACH ROW EXECUTE FUNCTION resplists_keep_version();
CREATE TRIGGER safety_directors_keep_version
	AFTER UPDATE OR DELETE ON safety_directors
	FOR EACH ROW EXECUTE FUNCTION safety_directors_keep_version();
CREATE TRIGGER training_records_keep_version
	AFTER UPDATE OR DELETE ON training_records
	FOR EACH ROW EXECUTE FUNCTION training_records_keep_version();
CREATE TRIGGER selfchecks_keep_version
	AFTER UPDATE OR DELETE ON selfchecks
	FOR EACH ROW EXECUTE FUNCTION selfchecks_keep_version();
