-- 0007_records_enforce - accidents, inspections and enforcement cases.
--
-- ingestd writes these tables from the events accident.reported,
-- accident.updated, inspection.completed, case.filed and case.closed
-- (services/ingestd/records_enforce.c, inside the transaction that stores
-- the event); riskd (accidents raise an enterprise's risk), alarmd (a late
-- accident report alerts), schedd (inspections complete plan items) and
-- reportd (accidents, penalty rate, major cases, exposure list) read them.
-- Every row names the source and event that last wrote it and when it was
-- received; accidents and cases keep every earlier state in a *_versions
-- table filled by a trigger, so no writer can forget it and the platform
-- can answer "what did we know on that day".  Field meanings: DOMAIN.md
-- sections 2 and 3.6.

-- Accidents (生产安全事故), graded by the worst of deaths, serious injuries
-- and direct loss (国务院令第493号).  grade and grade_name are computed by
-- ingestd from the thresholds of its configuration and stored, so that a
-- later change of thresholds does not regrade history silently.
CREATE TABLE accidents (
	accident_id		text PRIMARY KEY
				CHECK (length(accident_id) BETWEEN 1 AND 128),
	-- Optional: an accident may befall no registered enterprise (a road
	-- accident, a household fire), hence no foreign key.
	uscc			char(18),
	district		text NOT NULL REFERENCES districts (code),
	sector			text NOT NULL REFERENCES sectors (code),
	occurred_at		timestamptz NOT NULL,
	deaths			integer NOT NULL CHECK (deaths >= 0),
	serious_injuries	integer NOT NULL CHECK (serious_injuries >= 0),
	minor_injuries		integer CHECK (minor_injuries >= 0),
	direct_loss_cny		numeric(16, 2) CHECK (direct_loss_cny >= 0),
	summary			text NOT NULL CHECK (summary <> ''),
	grade			text NOT NULL CHECK (grade IN ('general',
				    'larger', 'major', 'especially_major')),
	grade_name		text NOT NULL,
	-- The time of the first report (its event's at), the deadline for
	-- the report to the county (occurred_at + 1 h) and to the city (+2 h
	-- more), and whether the first report came after the county's.
	reported_at		timestamptz NOT NULL,
	report_county_due_at	timestamptz NOT NULL,
	report_city_due_at	timestamptz NOT NULL,
	reported_late		boolean NOT NULL,
	-- Casualties may be re-reported until then (30 days, 7 for road
	-- traffic and fire); an update after it is kept but flagged late.
	rereport_due_at		timestamptz NOT NULL,
	updates			integer NOT NULL DEFAULT 0 CHECK (updates >= 0),
	-- The time of the latest update and whether it came late.
	updated_at		timestamptz,
	late			boolean NOT NULL DEFAULT false,
	received_at		timestamptz NOT NULL DEFAULT now(),
	source			text NOT NULL,
	event_id		text NOT NULL
);

CREATE INDEX accidents_occurred ON accidents (occurred_at);
CREATE INDEX accidents_district ON accidents (district, occurred_at);
CREATE INDEX accidents_uscc ON accidents (uscc) WHERE uscc IS NOT NULL;

-- Every state an accident record has been in, the current one included:
-- version 1 is the report, each update adds the next.  No foreign keys, so
-- the history outlives anything done to the live row.
CREATE TABLE accident_versions (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	accident_id		text NOT NULL,
	version			integer NOT NULL CHECK (version >= 1),
	uscc			char(18),
	district		text NOT NULL,
	sector			text NOT NULL,
	occurred_at		timestamptz NOT NULL,
	deaths			integer NOT NULL,
	serious_injuries	integer NOT NULL,
	minor_injuries		integer,
	direct_loss_cny		numeric(16, 2),
	summary			text NOT NULL,
	grade			text NOT NULL,
	grade_name		text NOT NULL,
	-- When the sender made this version (the event's at), and whether
	-- it came after the re-report window.
	at			timestamptz NOT NULL,
	late			boolean NOT NULL,
	received_at		timestamptz NOT NULL,
	source			text NOT NULL,
	event_id		text NOT NULL,
	UNIQUE (accident_id, version)
);

-- The columns are listed rather than copied with NEW.*, so that a column
-- added to the live table later cannot shift the history's columns.
CREATE FUNCTION accidents_keep_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO accident_versions (accident_id, version, uscc, district,
	    sector, occurred_at, deaths, serious_injuries, minor_injuries,
	    direct_loss_cny, summary, grade, grade_name, at, late, received_at,
	    source, event_id)
	VALUES (NEW.accident_id, NEW.updates + 1, NEW.uscc, NEW.district,
	    NEW.sector, NEW.occurred_at, NEW.deaths, NEW.serious_injuries,
	    NEW.minor_injuries, NEW.direct_loss_cny, NEW.summary, NEW.grade,
	    NEW.grade_name, COALESCE(NEW.updated_at, NEW.reported_at),
	    NEW.late, NEW.received_at, NEW.source, NEW.event_id);
	RETURN NULL;
END
$$;

CREATE TRIGGER accidents_keep_version
	AFTER INSERT OR UPDATE ON accidents
	FOR EACH ROW EXECUTE FUNCTION accidents_keep_version();

-- Inspections (执法检查) as completed by an enforcing department.
CREATE TABLE inspections (
	inspection_id	text PRIMARY KEY
			CHECK (length(inspection_id) BETWEEN 1 AND 128),
	uscc		char(18) NOT NULL REFERENCES enterprises (uscc),
	dept		text NOT NULL REFERENCES departments (code),
	level		text NOT NULL CHECK (level IN ('city', 'district')),
	kind		text NOT NULL CHECK (kind IN ('plan', 'random',
			    'special', 'joint', 'complaint')),
	plan_item	text,
	findings	text NOT NULL CHECK (findings <> ''),
	result		text NOT NULL
			CHECK (result IN ('ok', 'rectify', 'penalty')),
	-- The hidden hazards the inspection found (hazard_id of
	-- hazard.reported), as the sender listed them.
	hazards		text[] NOT NULL DEFAULT '{}',
	completed_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	source		text NOT NULL,
	event_id	text NOT NULL
);

CREATE INDEX inspections_uscc ON inspections (uscc, completed_at);
CREATE INDEX inspections_dept ON inspections (dept, completed_at);

-- Who inspected: one row per inspector, for workload and conflict counts.
CREATE TABLE inspection_inspectors (
	inspection_id	text NOT NULL REFERENCES inspections (inspection_id),
	inspector	text NOT NULL CHECK (length(inspector) BETWEEN 1 AND 64),
	PRIMARY KEY (inspection_id, inspector)
);

CREATE INDEX inspection_inspectors_inspector ON inspection_inspectors (inspector);

-- Enforcement cases (行政处罚案件): filed, then closed.
CREATE TABLE cases (
	case_id		text PRIMARY KEY CHECK (length(case_id) BETWEEN 1 AND 128),
	uscc		char(18) NOT NULL REFERENCES enterprises (uscc),
	dept		text NOT NULL REFERENCES departments (code),
	inspection_id	text REFERENCES inspections (inspection_id),
	violation	text NOT NULL CHECK (violation <> ''),
	penalty_cny	numeric(16, 2) NOT NULL CHECK (penalty_cny >= 0),
	-- Whether the case goes on the published exposure list.
	publish		boolean NOT NULL DEFAULT false,
	status		text NOT NULL CHECK (status IN ('filed', 'closed')),
	filed_at	timestamptz NOT NULL,
	closed_at	timestamptz,
	received_at	timestamptz NOT NULL DEFAULT now(),
	source		text NOT NULL,
	event_id	text NOT NULL,
	CONSTRAINT cases_closed_has_time CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

CREATE INDEX cases_uscc ON cases (uscc);
CREATE INDEX cases_dept ON cases (dept, filed_at);

-- A case as it was before each change.
CREATE TABLE case_versions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	case_id		text NOT NULL,
	uscc		char(18) NOT NULL,
	dept		text NOT NULL,
	inspection_id	text,
	violation	text NOT NULL,
	penalty_cny	numeric(16, 2) NOT NULL,
	publish		boolean NOT NULL,
	status		text NOT NULL,
	filed_at	timestamptz NOT NULL,
	closed_at	timestamptz,
	received_at	timestamptz NOT NULL,
	source		text NOT NULL,
	event_id	text NOT NULL,
	replaced_at	timestamptz NOT NULL DEFAULT now(),
	ended_by	text NOT NULL CHECK (ended_by IN ('update', 'delete'))
);

CREATE INDEX case_versions_case ON case_versions (case_id, replaced_at);

CREATE FUNCTION cases_keep_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO case_versions (case_id, uscc, dept, inspection_id,
	    violation, penalty_cny, publish, status, filed_at, closed_at,
	    received_at, source, event_id, ended_by)
	VALUES (OLD.case_id, OLD.uscc, OLD.dept, OLD.inspection_id,
	    OLD.violation, OLD.penalty_cny, OLD.publish, OLD.status,
	    OLD.filed_at, OLD.closed_at, OLD.received_at, OLD.source,
	    OLD.event_id, lower(TG_OP));
	RETURN NULL;
END
$$;

CREATE TRIGGER cases_keep_version
	AFTER UPDATE ON cases
	FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
	EXECUTE FUNCTION cases_keep_version();
CREATE TRIGGER cases_keep_deleted
	AFTER DELETE ON cases
	FOR EACH ROW EXECUTE FUNCTION cases_keep_version();
