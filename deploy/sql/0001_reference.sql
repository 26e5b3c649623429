-- 0001_reference - the city's code tables: districts, departments, sectors.
--
-- Everything else refers to these codes: enterprises have a district and a
-- sector, sectors have a lead department, alerts and plans are routed by
-- them.  The rows come from deploy/data/*.csv through the migration runner's
-- "-- load: TABLE FILE.csv" directive (common/store_migrate.c), so the data
-- is kept in one place and never retyped here.  The runner checksums the
-- CSVs with this file: changing a CSV later needs a new migration.

-- GB/T 2260 administrative divisions of the city.
CREATE TABLE districts (
	code	text PRIMARY KEY CHECK (code ~ '^[0-9]{6}$'),
	name	text NOT NULL CHECK (name <> ''),
	-- district (区), county (县) or development zone (功能区).
	kind	text NOT NULL CHECK (kind IN ('district', 'county', 'zone'))
);

-- Member departments of the safety committee.
CREATE TABLE departments (
	code		text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9]{1,15}$'),
	name		text NOT NULL CHECK (name <> ''),
	-- Whether it carries out enforcement inspections (schedd plans for
	-- those only).
	enforces	boolean NOT NULL
);

-- Sectors (行业领域): each has a lead department (the sector authority) and
-- participating departments.
CREATE TABLE sectors (
	code		text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
	name		text NOT NULL CHECK (name <> ''),
	lead		text NOT NULL REFERENCES departments (code),
	-- An array rather than the CSV's space-separated text: routing asks
	-- "is this department among the participants" (= ANY (participants))
	-- and each element is checked against departments below, neither of
	-- which a free text column would allow.
	participants	text[] NOT NULL DEFAULT '{}'
);

-- load: districts districts.csv
-- load: departments departments.csv

-- sectors.csv holds participants as one space-separated field: load it as
-- text into a staging table that disappears with this transaction, then
-- split it into the array.
CREATE TEMPORARY TABLE sectors_load (
	code		text,
	name		text,
	lead		text,
	participants	text
) ON COMMIT DROP;

-- load: sectors_load sectors.csv

INSERT INTO sectors (code, name, lead, participants)
SELECT code, name, lead,
       COALESCE(regexp_split_to_array(NULLIF(btrim(participants), ''),
                '\s+'), '{}')
  FROM sectors_load;

-- Arrays cannot carry foreign keys: check the participants by hand, so a
-- typo in sectors.csv stops the migration with the codes to fix.
DO $$
DECLARE
	bad text;
BEGIN
	SELECT string_agg(DISTINCT s.code || ':' || p, ', ')
	  INTO bad
	  FROM sectors s, unnest(s.participants) AS p
	 WHERE p NOT IN (SELECT code FROM departments);
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'sectors.csv names unknown participant departments (sector:department): %', bad;
	END IF;
END
$$;
