-- 0006_records_hazard - the records with a life: hidden hazards, dangerous
-- operations and maintenance windows.
--
-- ingestd writes these tables from the events hazard.reported, .rectified,
-- .verified, operation.filed, .started, .finished and maintenance.window
-- (services/ingestd/records_hazard.c), inside the transaction that stores
-- the event itself; riskd (source warnings, alarm suppression), alarmd
-- (deadline alerts) and reportd (rectification and filing indicators) read
-- them.  Field meanings: DOMAIN.md sections 2, 4 and 5.
--
-- A hazard and an operation each have a current row (hazards, operations)
-- and a trail of transitions (hazard_transitions, operation_transitions):
-- every change of state is one row there, naming the source, the event and
-- when it was received.  The current row is only ever changed together with
-- a transition row, so the trail is the history and "what did we know on
-- that date" is answered by hazards_as_of() and operations_as_of().
-- Overdue hazards and overrunning operations are derived in views from the
-- deadline and the clock, never stored as a flag that could go stale.
--
-- Hazard and operation ids are city-wide: the sector systems prefix them
-- with their own code.  hazard_source and risk_point are the codes the
-- sender gives, kept as text, since their registries are other migrations'.

-- Periods of the rules DOMAIN.md sets as defaults: the operator may change
-- them here without a release, and ingestd reads them in the transaction
-- that applies each event.
CREATE TABLE record_rules (
	name		text PRIMARY KEY CHECK (name ~ '^[a-z0-9_.]{1,100}$'),
	value		interval NOT NULL CHECK (value > interval '0'),
	description	text NOT NULL CHECK (description <> '')
);

INSERT INTO record_rules (name, value, description) VALUES
	('hazard.general.deadline', '7 days',
	    'deadline of a general hidden hazard reported without one (DOMAIN 4)'),
	('operation.hot_work.special.max_duration', '8 hours',
	    'longest validity of a special-grade hot-work permit (DOMAIN 5)'),
	('operation.hot_work.first.max_duration', '8 hours',
	    'longest validity of a first-grade hot-work permit (DOMAIN 5)'),
	('operation.hot_work.second.max_duration', '72 hours',
	    'longest validity of a second-grade hot-work permit (DOMAIN 5)');

-- Hidden hazards (事故隐患).  Reported means under rectification at once;
-- rectified waits for verification; a failed verification sends it back to
-- rectifying and counts in failed_verifications.  source, event_id and
-- received_at name the last change; reported_* the report itself.
CREATE TABLE hazards (
	hazard_id		text PRIMARY KEY
				CHECK (length(hazard_id) BETWEEN 1 AND 100),
	uscc			char(18) NOT NULL REFERENCES enterprises (uscc),
	level			text NOT NULL CHECK (level IN ('general', 'major')),
	-- The data field 'source': how the hazard was found.
	found_by		text NOT NULL
				CHECK (found_by IN ('self_check', 'inspection',
				    'report', 'alarm')),
	description		text NOT NULL CHECK (description <> ''),
	found_at		timestamptz NOT NULL,
	responsible_unit	text NOT NULL CHECK (responsible_unit <> ''),
	responsible_person	text NOT NULL CHECK (responsible_person <> ''),
	measures		text NOT NULL CHECK (measures <> ''),
	deadline		timestamptz NOT NULL,
	-- false: the deadline is the default of record_rules.
	deadline_given		boolean NOT NULL,
	criteria_item		text,
	risk_point		text,
	status			text NOT NULL
				CHECK (status IN ('rectifying', 'rectified', 'closed')),
	reported_at		timestamptz NOT NULL,
	rectified_at		timestamptz,
	closed_at		timestamptz,
	failed_verifications	integer NOT NULL DEFAULT 0
				CHECK (failed_verifications >= 0),
	reported_source		text NOT NULL,
	reported_event_id	text NOT NULL,
	reported_received_at	timestamptz NOT NULL DEFAULT now(),
	source			text NOT NULL,
	event_id		text NOT NULL,
	received_at		timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT hazards_deadline_after_found CHECK (deadline > found_at),
	CONSTRAINT hazards_closed_when CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
	CONSTRAINT hazards_rectified_when CHECK (status = 'rectifying' OR rectified_at IS NOT NULL)
);

CREATE INDEX hazards_uscc ON hazards (uscc);
CREATE INDEX hazards_open_deadline ON hazards (deadline) WHERE status <> 'closed';

-- Every change of a hazard's state.  from_status is NULL for the report.
-- No foreign key, as for the *_versions tables of 0002: history outlives
-- whatever happens to the current row.
CREATE TABLE hazard_transitions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	hazard_id	text NOT NULL,
	kind		text NOT NULL
			CHECK (kind IN ('hazard.reported', 'hazard.rectified',
			    'hazard.verified')),
	from_status	text CHECK (from_status IN ('rectifying', 'rectified', 'closed')),
	to_status	text NOT NULL
			CHECK (to_status IN ('rectifying', 'rectified', 'closed')),
	-- The event's own time, and when we received it.
	at		timestamptz NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	source		text NOT NULL,
	event_id	text NOT NULL,
	note		text,
	evidence	text[],
	verifier	text,
	accepted	boolean,
	UNIQUE (source, event_id)
);

CREATE INDEX hazard_transitions_hazard ON hazard_transitions (hazard_id, id);

-- Past the deadline and not rectified (DOMAIN.md 4), computed when read.
CREATE VIEW hazards_overdue AS
SELECT h.hazard_id, h.uscc, e.district, e.sector, h.level, h.deadline,
    now() - h.deadline AS overdue_by, h.responsible_unit,
    h.responsible_person, h.failed_verifications, h.reported_at
  FROM hazards h
  JOIN enterprises e ON e.uscc = h.uscc
 WHERE h.status = 'rectifying' AND h.deadline < now();

-- The state of every hazard known at time t, from what had been received
-- by then: the last transition received up to t.
CREATE FUNCTION hazards_as_of(t timestamptz)
RETURNS TABLE (hazard_id text, status text, changed_at timestamptz,
    failed_verifications bigint)
LANGUAGE sql STABLE AS $$
	SELECT DISTINCT ON (x.hazard_id) x.hazard_id, x.to_status, x.at,
	    (SELECT count(*) FROM hazard_transitions f
	      WHERE f.hazard_id = x.hazard_id AND f.accepted = false
		AND f.received_at <= t)
	  FROM hazard_transitions x
	 WHERE x.received_at <= t
	 ORDER BY x.hazard_id, x.id DESC
$$;

-- Dangerous operations (危险作业).  An operation started without filing is
-- recorded with unfiled = true and only what the start said (an alert for
-- the platform, not a refusal); a filing that comes after its start fills
-- the details in and leaves unfiled true.
CREATE TABLE operations (
	op_id			text PRIMARY KEY
				CHECK (length(op_id) BETWEEN 1 AND 100),
	uscc			char(18) REFERENCES enterprises (uscc),
	type			text CHECK (type IN ('hot_work', 'confined_space',
				    'blinding', 'height', 'lifting',
				    'temporary_power', 'excavation',
				    'road_closure', 'blasting')),
	level			text,
	location		text,
	hazard_source		text,
	points			text[] NOT NULL DEFAULT '{}',
	planned_start		timestamptz,
	planned_end		timestamptz,
	contractor		text,
	responsible_name	text,
	responsible_phone	text,
	status			text NOT NULL
				CHECK (status IN ('filed', 'active', 'finished')),
	unfiled			boolean NOT NULL DEFAULT false,
	filed_at		timestamptz,
	started_at		timestamptz,
	finished_at		timestamptz,
	source			text NOT NULL,
	event_id		text NOT NULL,
	received_at		timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT operations_planned_order CHECK (planned_start < planned_end),
	CONSTRAINT operations_filed_complete CHECK (filed_at IS NULL OR (
		uscc IS NOT NULL AND type IS NOT NULL AND location IS NOT NULL AND
		planned_start IS NOT NULL AND planned_end IS NOT NULL AND
		contractor IS NOT NULL AND responsible_name IS NOT NULL AND
		responsible_phone IS NOT NULL)),
	CONSTRAINT operations_filed_or_unfiled CHECK (unfiled OR filed_at IS NOT NULL),
	CONSTRAINT operations_hot_work_level CHECK (
		type IS DISTINCT FROM 'hot_work' OR level IN ('special', 'first', 'second')),
	CONSTRAINT operations_started_when CHECK (status = 'filed' OR started_at IS NOT NULL),
	CONSTRAINT operations_finished_when CHECK ((status = 'finished') = (finished_at IS NOT NULL))
);

CREATE INDEX operations_uscc ON operations (uscc);
CREATE INDEX operations_active ON operations (planned_end) WHERE status = 'active';

CREATE TABLE operation_transitions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	op_id		text NOT NULL,
	kind		text NOT NULL
			CHECK (kind IN ('operation.filed', 'operation.started',
			    'operation.finished')),
	from_status	text CHECK (from_status IN ('filed', 'active', 'finished')),
	to_status	text NOT NULL
			CHECK (to_status IN ('filed', 'active', 'finished')),
	at		timestamptz NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	source		text NOT NULL,
	event_id	text NOT NULL,
	note		text,
	UNIQUE (source, event_id)
);

CREATE INDEX operation_transitions_op ON operation_transitions (op_id, id);

-- Active past planned_end (DOMAIN.md 5), computed when read.  An operation
-- started without filing has no plan, so it cannot overrun one; the
-- unfiled flag is its own alert.
CREATE VIEW operations_overrun AS
SELECT o.op_id, o.uscc, e.district, e.sector, o.type, o.level,
    o.location, o.hazard_source, o.planned_end, now() - o.planned_end AS overrun_by,
    o.started_at, o.responsible_name, o.responsible_phone
  FROM operations o
  LEFT JOIN enterprises e ON e.uscc = o.uscc
 WHERE o.status = 'active' AND o.planned_end < now();

CREATE FUNCTION operations_as_of(t timestamptz)
RETURNS TABLE (op_id text, status text, changed_at timestamptz)
LANGUAGE sql STABLE AS $$
	SELECT DISTINCT ON (x.op_id) x.op_id, x.to_status, x.at
	  FROM operation_transitions x
	 WHERE x.received_at <= t
	 ORDER BY x.op_id, x.id DESC
$$;

-- Maintenance windows (检维修): overhaul, start-up, shut-down, trial
-- production.  riskd suppresses the alarms of the points named, of the
-- hazard source named, or, when neither is, of the whole enterprise; start-
-- up, shut-down and trial raise the source's warning (DOMAIN.md 3.4).  A
-- window is a record of its own, never updated: a correction is a new one.
CREATE TABLE maintenance_windows (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uscc		char(18) NOT NULL REFERENCES enterprises (uscc),
	points		text[] NOT NULL DEFAULT '{}',
	hazard_source	text,
	starts_at	timestamptz NOT NULL,
	ends_at		timestamptz NOT NULL,
	reason		text NOT NULL
			CHECK (reason IN ('overhaul', 'startup', 'shutdown', 'trial')),
	source		text NOT NULL,
	event_id	text NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT maintenance_windows_order CHECK (starts_at < ends_at),
	UNIQUE (source, event_id)
);

CREATE INDEX maintenance_windows_uscc ON maintenance_windows (uscc, ends_at);
