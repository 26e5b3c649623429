-- 0005_records_registry - the rest of the registry: major hazard sources,
-- risk points, responsibilities, duty rosters, inspectors, evaluation
-- agencies and special equipment.
--
-- ingestd writes these tables from the *.upsert and duty.roster events
-- (services/ingestd/records_registry.c checks each event, then upserts one
-- row here inside its group transaction); riskd grades hazard sources and
-- risk points from them, alarmd routes alerts by responsibilities and duty
-- rosters, schedd draws inspectors and agencies, reportd counts equipment.
-- Field meanings: DOMAIN.md sections 1-2.
--
-- Every row says which source sent it (source), in which event (event_id,
-- the key of the events table with source) and when we received it
-- (received_at).  An upsert never loses what it replaces: a trigger copies
-- the old row into the table's *_versions twin with the time it was
-- replaced, and <table>_as_of(t) answers "what did we know at t" from the
-- live table and its versions.  Derived values (S and R of a hazard source,
-- D or R of a risk point) are riskd's and are not stored here.

-- Major hazard sources (重大危险源).  The chemicals stay one jsonb array
-- [{name, cas?, q, Q, beta}] (quantities in tonnes, as GB 18218 gives Q),
-- so that a version of the source is one row; hazard_source_chemicals below
-- shows them as rows for riskd.
CREATE TABLE hazard_sources (
	code			text PRIMARY KEY
				CHECK (code ~ '^[^[:space:][:cntrl:]]{1,64}$'),
	uscc			char(18) NOT NULL REFERENCES enterprises (uscc),
	name			text NOT NULL CHECK (name <> ''),
	unit_type		text NOT NULL
				CHECK (unit_type IN ('production', 'storage')),
	people_500m		integer NOT NULL CHECK (people_500m >= 0),
	chemicals		jsonb NOT NULL CHECK (CASE
				    WHEN jsonb_typeof(chemicals) = 'array'
				    THEN jsonb_array_length(chemicals) > 0
				    ELSE false END),
	assessed_on		date NOT NULL,
	-- The three persons of the safety "package" (包保责任人).
	responsible_main	text NOT NULL CHECK (responsible_main <> ''),
	responsible_technical	text NOT NULL CHECK (responsible_technical <> ''),
	responsible_operational	text NOT NULL CHECK (responsible_operational <> ''),
	source			text NOT NULL,
	event_id		text,
	received_at		timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX hazard_sources_uscc ON hazard_sources (uscc);

CREATE VIEW hazard_source_chemicals AS
SELECT h.code AS hazard_source, h.uscc, c.ord AS position,
       c.item ->> 'name' AS name, c.item ->> 'cas' AS cas,
       (c.item ->> 'q')::double precision AS quantity_t,
       (c.item ->> 'Q')::double precision AS critical_t,
       (c.item ->> 'beta')::double precision AS beta
  FROM hazard_sources h,
       jsonb_array_elements(h.chemicals) WITH ORDINALITY AS c (item, ord);

-- Risk points (风险点), graded by LEC (L, E, C) or LS (L, S).  A code names
-- a risk point within its enterprise, so the key is the pair.
CREATE TABLE risk_points (
	uscc		char(18) NOT NULL REFERENCES enterprises (uscc),
	code		text NOT NULL CHECK (code ~ '^[^[:space:][:cntrl:]]{1,64}$'),
	name		text NOT NULL CHECK (name <> ''),
	method		text NOT NULL CHECK (method IN ('LEC', 'LS')),
	l		double precision NOT NULL CHECK (l > 0),
	e		double precision CHECK (e > 0),
	c		double precision CHECK (c > 0),
	s		double precision CHECK (s > 0),
	measures	text NOT NULL CHECK (measures <> ''),
	source		text NOT NULL,
	event_id	text,
	received_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (uscc, code),
	CONSTRAINT risk_points_method_factors CHECK (
		(method = 'LEC' AND e IS NOT NULL AND c IS NOT NULL AND s IS NULL) OR
		(method = 'LS' AND s IS NOT NULL AND e IS NULL AND c IS NULL))
);

-- Who supervises an enterprise (监管责任): one row per enterprise.
CREATE TABLE responsibilities (
	uscc		char(18) PRIMARY KEY REFERENCES enterprises (uscc),
	territorial	text NOT NULL REFERENCES districts (code),
	sector_dept	text NOT NULL REFERENCES departments (code),
	direct_dept	text NOT NULL REFERENCES departments (code),
	source		text NOT NULL,
	event_id	text,
	received_at	timestamptz NOT NULL DEFAULT now()
);

-- Duty rosters (值班表): one row per unit and shift.  unit is a district
-- code or a department code (AWB is the city office); ingestd checks it
-- against districts or departments, since one column cannot reference two
-- tables.  A roster sent again for the same unit and start replaces the
-- shift.  leader is {id, name, phone}, officers a non-empty array of them.
CREATE TABLE duty_rosters (
	unit		text NOT NULL,
	unit_kind	text NOT NULL CHECK (unit_kind IN ('district', 'department')),
	start_at	timestamptz NOT NULL,
	end_at		timestamptz NOT NULL,
	leader		jsonb NOT NULL CHECK (jsonb_typeof(leader) = 'object'),
	officers	jsonb NOT NULL CHECK (CASE
			    WHEN jsonb_typeof(officers) = 'array'
			    THEN jsonb_array_length(officers) > 0
			    ELSE false END),
	source		text NOT NULL,
	event_id	text,
	received_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (unit, start_at),
	CONSTRAINT duty_rosters_ordered CHECK (start_at < end_at),
	CONSTRAINT duty_rosters_unit_form CHECK (
		(unit_kind = 'district' AND unit ~ '^[0-9]{6}$') OR
		(unit_kind = 'department' AND unit ~ '^[A-Z][A-Z0-9]{1,15}$'))
);

-- "Who is on duty for this unit at t": the shifts ending after t.
CREATE INDEX duty_rosters_unit_end ON duty_rosters (unit, end_at);

-- Inspectors (执法人员).  conflicts lists the enterprises they must not
-- inspect (回避); they need not be registered yet, so no foreign key.
CREATE TABLE inspectors (
	id		text PRIMARY KEY CHECK (id ~ '^[^[:space:][:cntrl:]]{1,64}$'),
	name		text NOT NULL CHECK (name <> ''),
	dept		text NOT NULL REFERENCES departments (code),
	district	text REFERENCES districts (code),
	active		boolean NOT NULL,
	conflicts	text[] NOT NULL DEFAULT '{}',
	source		text NOT NULL,
	event_id	text,
	received_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX inspectors_dept ON inspectors (dept) WHERE active;

-- Safety evaluation and testing agencies (安全评价检测检验机构).  An agency
-- from outside the province may name a district code outside the city, so
-- district is checked for its form only.
CREATE TABLE agencies (
	code		text PRIMARY KEY CHECK (code ~ '^[^[:space:][:cntrl:]]{1,64}$'),
	name		text NOT NULL CHECK (name <> ''),
	district	text NOT NULL CHECK (district ~ '^[0-9]{6}$'),
	kind		text NOT NULL CHECK (kind <> ''),
	out_of_province	boolean NOT NULL,
	source		text NOT NULL,
	event_id	text,
	received_at	timestamptz NOT NULL DEFAULT now()
);

-- Special equipment (特种设备), the kinds of DOMAIN.md section 1.  Only
-- elevators carry a 96333 rescue code.
CREATE TABLE equipment (
	code		text PRIMARY KEY CHECK (code ~ '^[^[:space:][:cntrl:]]{1,64}$'),
	uscc		char(18) NOT NULL REFERENCES enterprises (uscc),
	kind		text NOT NULL CHECK (kind IN ('elevator', 'boiler',
			    'pressure_vessel', 'crane', 'pressure_piping',
			    'ropeway', 'amusement_ride', 'site_vehicle')),
	rescue_code	text CHECK (rescue_code ~ '^[0-9]{6}$'),
	key_place	boolean NOT NULL,
	next_due_on	date NOT NULL,
	insured		boolean,
	on_96333	boolean,
	source		text NOT NULL,
	event_id	text,
	received_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT equipment_rescue_code_elevator CHECK (
		rescue_code IS NULL OR kind = 'elevator')
);

CREATE INDEX equipment_uscc ON equipment (uscc);
CREATE INDEX equipment_due ON equipment (next_due_on);

-- History.  Each *_versions table has the columns of its live table (LIKE
-- copies them, without keys, so a record may have many versions) and says
-- when the version was replaced and how it ended.  No foreign keys: history
-- outlives whatever happens to the current rows.
CREATE TABLE hazard_source_versions (LIKE hazard_sources INCLUDING DEFAULTS);
CREATE TABLE risk_point_versions (LIKE risk_points INCLUDING DEFAULTS);
CREATE TABLE responsibility_versions (LIKE responsibilities INCLUDING DEFAULTS);
CREATE TABLE duty_roster_versions (LIKE duty_rosters INCLUDING DEFAULTS);
CREATE TABLE inspector_versions (LIKE inspectors INCLUDING DEFAULTS);
CREATE TABLE agency_versions (LIKE agencies INCLUDING DEFAULTS);
CREATE TABLE equipment_versions (LIKE equipment INCLUDING DEFAULTS);

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['hazard_source_versions',
	    'risk_point_versions', 'responsibility_versions',
	    'duty_roster_versions', 'inspector_versions', 'agency_versions',
	    'equipment_versions'] LOOP
		EXECUTE format('ALTER TABLE %I ADD COLUMN replaced_at timestamptz NOT NULL DEFAULT now(), '
		    'ADD COLUMN ended_by text NOT NULL CHECK (ended_by IN (''update'', ''delete''))', t);
	END LOOP;
END
$$;

CREATE INDEX hazard_source_versions_key ON hazard_source_versions (code, replaced_at);
CREATE INDEX risk_point_versions_key ON risk_point_versions (uscc, code, replaced_at);
CREATE INDEX responsibility_versions_key ON responsibility_versions (uscc, replaced_at);
CREATE INDEX duty_roster_versions_key ON duty_roster_versions (unit, start_at, replaced_at);
CREATE INDEX inspector_versions_key ON inspector_versions (id, replaced_at);
CREATE INDEX agency_versions_key ON agency_versions (code, replaced_at);
CREATE INDEX equipment_versions_key ON equipment_versions (code, replaced_at);

-- Copy the old row into the versions table named by the trigger's
-- argument.  Columns are matched by name (through jsonb), not by position,
-- so a column added to both tables later lands in the right place whatever
-- the order; the jsonb form of every column type here reads back exactly.
CREATE FUNCTION records_keep_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('INSERT INTO %I SELECT * FROM jsonb_populate_record(NULL::%I, $1)',
	    TG_ARGV[0], TG_ARGV[0])
	    USING to_jsonb(OLD) || jsonb_build_object('replaced_at', now(),
		'ended_by', lower(TG_OP));
	RETURN NULL;
END
$$;

-- An upsert that changes nothing (a re-sent record) leaves no history.
DO $$
DECLARE
	p text[];
BEGIN
	FOREACH p SLICE 1 IN ARRAY ARRAY[
	    ARRAY['hazard_sources', 'hazard_source_versions'],
	    ARRAY['risk_points', 'risk_point_versions'],
	    ARRAY['responsibilities', 'responsibility_versions'],
	    ARRAY['duty_rosters', 'duty_roster_versions'],
	    ARRAY['inspectors', 'inspector_versions'],
	    ARRAY['agencies', 'agency_versions'],
	    ARRAY['equipment', 'equipment_versions']] LOOP
		EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I FOR EACH ROW '
		    'WHEN (OLD.* IS DISTINCT FROM NEW.*) '
		    'EXECUTE FUNCTION records_keep_version(%L)',
		    p[1] || '_keep_version', p[1], p[2]);
		EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I FOR EACH ROW '
		    'EXECUTE FUNCTION records_keep_version(%L)',
		    p[1] || '_keep_deleted', p[1], p[2]);
	END LOOP;
END
$$;

-- "What did we know at t": the rows received by t and not replaced by
-- then.  A live row counts from its received_at; a version from its
-- received_at until its replaced_at.
CREATE FUNCTION hazard_sources_as_of(t timestamptz) RETURNS SETOF hazard_sources
LANGUAGE sql STABLE AS $$
	SELECT * FROM hazard_sources WHERE received_at <= t
	UNION ALL
	SELECT (jsonb_populate_record(NULL::hazard_sources, to_jsonb(v))).*
	  FROM hazard_source_versions v
	 WHERE v.received_at <= t AND v.replaced_at > t
$$;

CREATE FUNCTION risk_points_as_of(t timestamptz) RETURNS SETOF risk_points
LANGUAGE sql STABLE AS $$
	SELECT * FROM risk_points WHERE received_at <= t
	UNION ALL
	SELECT (jsonb_populate_record(NULL::risk_points, to_jsonb(v))).*
	  FROM risk_point_versions v
	 WHERE v.received_at <= t AND v.replaced_at > t
$$;

CREATE FUNCTION responsibilities_as_of(t timestamptz) RETURNS SETOF responsibilities
LANGUAGE sql STABLE AS $$
	SELECT * FROM responsibilities WHERE received_at <= t
	UNION ALL
	SELECT (jsonb_populate_record(NULL::responsibilities, to_jsonb(v))).*
	  FROM responsibility_versions v
	 WHERE v.received_at <= t AND v.replaced_at > t
$$;

CREATE FUNCTION duty_rosters_as_of(t timestamptz) RETURNS SETOF duty_rosters
LANGUAGE sql STABLE AS $$
	SELECT * FROM duty_rosters WHERE received_at <= t
	UNION ALL
	SELECT (jsonb_populate_record(NULL::duty_rosters, to_jsonb(v))).*
	  FROM duty_roster_versions v
	 WHERE v.received_at <= t AND v.replaced_at > t
$$;

CREATE FUNCTION inspectors_as_of(t timestamptz) RETURNS SETOF inspectors
LANGUAGE sql STABLE AS $$
	SELECT * FROM inspectors WHERE received_at <= t
	UNION ALL
	SELECT (jsonb_populate_record(NULL::inspectors, to_jsonb(v))).*
	  FROM inspector_versions v
	 WHERE v.received_at <= t AND v.replaced_at > t
$$;

CREATE FUNCTION agencies_as_of(t timestamptz) RETURNS SETOF agencies
LANGUAGE sql STABLE AS $$
	SELECT * FROM agencies WHERE received_at <= t
	UNION ALL
	SELECT (jsonb_populate_record(NULL::agencies, to_jsonb(v))).*
	  FROM agency_versions v
	 WHERE v.received_at <= t AND v.replaced_at > t
$$;

CREATE FUNCTION equipment_as_of(t timestamptz) RETURNS SETOF equipment
LANGUAGE sql STABLE AS $$
	SELECT * FROM equipment WHERE received_at <= t
	UNION ALL
	SELECT (jsonb_populate_record(NULL::equipment, to_jsonb(v))).*
	  FROM equipment_versions v
	 WHERE v.received_at <= t AND v.replaced_at > t
$$;
