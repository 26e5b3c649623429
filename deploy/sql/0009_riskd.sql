-- 0009_riskd - what riskd grades and remembers: alarms, point states,
-- hazard-source grades and warnings, risk-point grades, enterprise risk.
--
-- riskd (services/riskd) is the only writer.  Every change is written in
-- the transaction that also moves riskd's bus cursors and stages the
-- al.* / rk.* messages that report it (proto/README.md section 5), so after
-- a kill -9 the store holds exactly the state that matches the cursor, and
-- a replay of what followed raises nothing twice.  alarmd, schedd and
-- reportd read these tables; alarmd sets alarms.acknowledged_at.

-- Alarms of monitoring points (DOMAIN.md 3.1).  The id is deterministic,
-- "<point>:<start_ms>:<kind>", so the same readings always make the same
-- alarm.  A suppressed row records what a disabled point or one in a
-- maintenance window would have raised: it is closed when written, and
-- its id ends in ":suppressed" so it never takes the id of a real alarm.
CREATE TABLE alarms (
	id		text PRIMARY KEY CHECK (id <> ''),
	point		text NOT NULL,
	uscc		char(18) NOT NULL,
	hazard_source	text,
	kind		text NOT NULL
			CHECK (kind IN ('H', 'HH', 'L', 'LL', 'offline', 'fault')),
	suppressed	boolean NOT NULL DEFAULT false,
	unit		text NOT NULL,
	started_at	timestamptz NOT NULL,
	value		double precision,
	threshold	double precision,
	peak		double precision,
	cleared_at	timestamptz,
	clear_reason	text CHECK (clear_reason IN ('normal', 'superseded',
			    'fault', 'offline', 'suppressed')),
	clear_value	double precision,
	duration_ms	bigint CHECK (duration_ms >= 0),
	acknowledged_at	timestamptz,
	acknowledged_by	text,
	written_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT alarms_cleared_complete CHECK (
		(cleared_at IS NULL) = (clear_reason IS NULL))
);

CREATE INDEX alarms_open ON alarms (point) WHERE cleared_at IS NULL;
CREATE INDEX alarms_uscc ON alarms (uscc, started_at);
CREATE INDEX alarms_source ON alarms (hazard_source, started_at)
	WHERE hazard_source IS NOT NULL;
CREATE INDEX alarms_started ON alarms (started_at);
CREATE INDEX alarms_point ON alarms (point, started_at);
CREATE INDEX alarms_suppressed ON alarms (started_at) WHERE suppressed;

-- What riskd must not forget of a point between readings: when each
-- threshold condition began to hold (for the delay), what it reported as
-- suppressed, and the newest reading (written at most every state_flush;
-- after a start riskd counts offline from the start at the earliest).
-- Times are epoch milliseconds, 0 for "not now".
CREATE TABLE risk_point_states (
	point		text PRIMARY KEY,
	last_ts_ms	bigint NOT NULL DEFAULT 0,
	last_value	double precision,
	last_quality	smallint NOT NULL DEFAULT 0,
	since_h_ms	bigint NOT NULL DEFAULT 0,
	since_hh_ms	bigint NOT NULL DEFAULT 0,
	since_l_ms	bigint NOT NULL DEFAULT 0,
	since_ll_ms	bigint NOT NULL DEFAULT 0,
	suppressed_kind	smallint NOT NULL DEFAULT 0,
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- Major hazard sources as graded by GB 18218-2018 (DOMAIN.md 3.2), with
-- what the grade was computed from; error says why a source could not be
-- graded (a chemical without a critical quantity, say).
CREATE TABLE source_grades (
	code		text PRIMARY KEY,
	uscc		char(18) NOT NULL,
	s		double precision,
	sum_bq		double precision,
	alpha		double precision,
	people_500m	integer,
	r		double precision,
	major		boolean,
	grade		smallint CHECK (grade BETWEEN 1 AND 4),
	assessed_on	date,
	reassess_due	date,
	error		text,
	graded_at	timestamptz NOT NULL DEFAULT now()
);

-- Early warning of each major hazard source (DOMAIN.md 3.4): the level now
-- and the facts that raised it ([{rule, level, text}]); the history keeps
-- every change of level.
CREATE TABLE source_warnings (
	code		text PRIMARY KEY,
	uscc		char(18) NOT NULL,
	level		text NOT NULL
			CHECK (level IN ('blue', 'yellow', 'orange', 'red')),
	reasons		jsonb NOT NULL DEFAULT '[]',
	since		timestamptz NOT NULL,
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE source_warning_history (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code		text NOT NULL,
	uscc		char(18) NOT NULL,
	level		text NOT NULL,
	previous_level	text,
	reasons		jsonb NOT NULL,
	at		timestamptz NOT NULL
);

CREATE INDEX source_warning_history_code ON source_warning_history (code, at);

-- Risk points graded by LEC or LS (DOMAIN.md 3.3).
CREATE TABLE risk_point_grades (
	uscc		char(18) NOT NULL,
	code		text NOT NULL,
	method		text NOT NULL CHECK (method IN ('LEC', 'LS')),
	value		double precision,
	level		text CHECK (level IN ('blue', 'yellow', 'orange', 'red')),
	note		text,
	error		text,
	graded_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (uscc, code)
);

-- Enterprise dynamic risk (DOMAIN.md 3.5): level, score and reasons now,
-- and every change of level.
CREATE TABLE enterprise_risk (
	uscc		char(18) PRIMARY KEY,
	level		text NOT NULL
			CHECK (level IN ('blue', 'yellow', 'orange', 'red')),
	inherent_level	text NOT NULL
			CHECK (inherent_level IN ('blue', 'yellow', 'orange', 'red')),
	score		smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
	reasons		jsonb NOT NULL DEFAULT '[]',
	since		timestamptz NOT NULL,
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX enterprise_risk_level ON enterprise_risk (level, score DESC);

CREATE TABLE enterprise_risk_history (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uscc		char(18) NOT NULL,
	level		text NOT NULL,
	previous_level	text,
	score		smallint NOT NULL,
	reasons		jsonb NOT NULL,
	at		timestamptz NOT NULL
);

CREATE INDEX enterprise_risk_history_uscc ON enterprise_risk_history (uscc, at);
