-- 0010_alarmd - incidents, notifications and their delivery, silences,
-- officers' tokens and the audit journal (DOMAIN.md section 6, DESIGN.md
-- section 4.2).
--
-- alarmd (services/alarmd) is the only writer.  An incident and every
-- change to it commit in the transaction that moves alarmd's bus cursors
-- (or runs one of its due steps), with the nt.* messages and audit entries
-- (0011_audit.sql) that record it, so a kill -9 at any instant neither loses nor repeats a
-- step: an incident's next step is a column (next_step_at), done and moved
-- on in one transaction.

-- One incident per enterprise and cause while it is open (the partial
-- unique index): alarms of the same cause join it, however many.
-- cause: 'alarm' (H/HH/L/LL of its points), 'device' (offline, fault),
-- 'warning:<source>' (a hazard source's early warning), 'risk' (the
-- enterprise's dynamic risk), 'deadline:<kind>' (records' deadlines of
-- that kind, one incident per enterprise, each record an alarm of it), 'roster_gap:<unit>' (nobody on duty; no enterprise).
CREATE TABLE incidents (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uscc		char(18),
	enterprise	text,
	district	text,
	sector		text,
	cause		text NOT NULL CHECK (cause <> ''),
	level		text NOT NULL
			CHECK (level IN ('blue', 'yellow', 'orange', 'red')),
	title		text NOT NULL,
	summary		text NOT NULL,
	reasons		jsonb NOT NULL DEFAULT '[]',
	status		text NOT NULL
			CHECK (status IN ('firing', 'acknowledged', 'resolved')),
	-- Escalation tier: 0 is the level's own routing, each missed
	-- acknowledgement deadline adds one.
	tier		integer NOT NULL DEFAULT 0 CHECK (tier >= 0),
	alarm_count	integer NOT NULL DEFAULT 0 CHECK (alarm_count >= 0),
	open_alarms	integer NOT NULL DEFAULT 0 CHECK (open_alarms >= 0),
	opened_at	timestamptz NOT NULL,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	notified_at	timestamptz,
	acknowledged_at	timestamptz,
	acknowledged_by	text,
	resolved_at	timestamptz,
	resolved_by	text,
	resolution	text,
	cleared_at	timestamptz,	-- every alarm of it is over
	silenced_by	bigint,		-- the silence that holds its notices
	inhibited_by	bigint,		-- the red incident that mutes it
	flapping	boolean NOT NULL DEFAULT false,
	-- The next thing to do and when: 'notify' (after the group wait),
	-- 'escalate' (acknowledgement deadline), 'remind' (acknowledged but
	-- not resolved in time), 'resolve' (cleared, auto-resolve).
	next_step	text CHECK (next_step IN ('notify', 'escalate', 'remind',
			    'resolve')),
	next_step_at	timestamptz,
	step_count	integer NOT NULL DEFAULT 0,
	last_step_at	timestamptz,	-- the last escalation or reminder
	CONSTRAINT incidents_step_complete CHECK (
		(next_step IS NULL) = (next_step_at IS NULL)),
	CONSTRAINT incidents_resolved_when CHECK (
		(status = 'resolved') = (resolved_at IS NOT NULL)),
	-- An incident resolved by itself (cleared, blue or yellow) may
	-- never have been acknowledged.
	CONSTRAINT incidents_acked_when CHECK (
		status <> 'acknowledged' OR acknowledged_at IS NOT NULL)
);

CREATE UNIQUE INDEX incidents_open_key ON incidents (coalesce(uscc, ''), cause)
	WHERE status <> 'resolved';
CREATE INDEX incidents_due ON incidents (next_step_at)
	WHERE next_step_at IS NOT NULL;
CREATE INDEX incidents_open_uscc ON incidents (uscc) WHERE status <> 'resolved';
CREATE INDEX incidents_district ON incidents (district, opened_at);
CREATE INDEX incidents_opened ON incidents (opened_at);

-- The alarms (and warnings, risk changes, deadlines) an incident holds.
-- ref is the alarm id of riskd, or the source / enterprise / record key.
CREATE TABLE incident_alarms (
	incident_id	bigint NOT NULL REFERENCES incidents (id),
	ref		text NOT NULL,
	point		text,
	kind		text NOT NULL,
	level		text NOT NULL,
	value		double precision,
	threshold	double precision,
	at		timestamptz NOT NULL,
	cleared_at	timestamptz,
	PRIMARY KEY (incident_id, ref)
);

CREATE INDEX incident_alarms_ref ON incident_alarms (ref);
CREATE INDEX incident_alarms_point ON incident_alarms (point, at) WHERE point IS NOT NULL;

-- A notice about an incident (DESIGN.md 4.2 payload, whole) to its
-- recipients; one delivery per receiver.
CREATE TABLE notifications (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	incident_id	bigint NOT NULL REFERENCES incidents (id),
	status		text NOT NULL CHECK (status IN ('firing', 'escalated',
			    'acknowledged', 'resolved', 'reminder')),
	level		text NOT NULL,
	tier		integer NOT NULL,
	recipients	jsonb NOT NULL,
	payload		jsonb NOT NULL,
	held		text,		-- why it is not sent: silenced, inhibited
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notifications_incident ON notifications (incident_id, id);

CREATE TABLE deliveries (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	notification_id	bigint NOT NULL REFERENCES notifications (id),
	receiver	text NOT NULL,
	state		text NOT NULL CHECK (state IN ('pending', 'delivered',
			    'failed')),
	attempts	integer NOT NULL DEFAULT 0,
	next_at		timestamptz,
	last_error	text,
	delivered_at	timestamptz,
	receipt		text,		-- the receiver's answer, as evidence
	fallback_of	bigint REFERENCES deliveries (id),
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX deliveries_pending ON deliveries (next_at) WHERE state = 'pending';
CREATE INDEX deliveries_notification ON deliveries (notification_id);

CREATE TABLE delivery_attempts (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	delivery_id	bigint NOT NULL REFERENCES deliveries (id),
	at		timestamptz NOT NULL,
	http_status	integer,
	latency_ms	double precision,
	error		text,
	response	text
);

CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);

-- Silences: who held which notices back, why, until when.  matchers is an
-- object of optional uscc, district, point, cause, level (all must match).
CREATE TABLE silences (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	matchers	jsonb NOT NULL CHECK (jsonb_typeof(matchers) = 'object'),
	author		text NOT NULL CHECK (author <> ''),
	reason		text NOT NULL CHECK (reason <> ''),
	starts_at	timestamptz NOT NULL,
	ends_at		timestamptz NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expired_at	timestamptz,
	expired_by	text,
	CONSTRAINT silences_ordered CHECK (starts_at < ends_at)
);

-- Duty officers' console tokens (stored hashed, as source tokens are).
CREATE TABLE officer_tokens (
	prefix		text PRIMARY KEY,
	hash		bytea NOT NULL UNIQUE,
	officer		text NOT NULL CHECK (officer <> ''),
	name		text NOT NULL CHECK (name <> ''),
	created_at	timestamptz NOT NULL DEFAULT now(),
	revoked_at	timestamptz
);

-- Deadline reminders already raised (DOMAIN.md 6, last sentence), so a
-- record's deadline alerts once per kind.
CREATE TABLE reminders_raised (
	key		text PRIMARY KEY,
	incident_id	bigint,
	at		timestamptz NOT NULL DEFAULT now()
);
