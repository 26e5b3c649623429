#!/bin/sh
# t_migrate - the migrations and their runner on a fresh cluster.
#
# sys_setup migrates with `safetyctl migrate`; then: every file was applied
# and recorded in order; the reference tables hold exactly the rows of
# deploy/data/*.csv, Chinese names intact; a second run applies nothing and
# changes nothing; an applied file (or a CSV it loads) edited afterwards is
# refused; a bad new file is rolled back whole with its line named; a
# malformed name, a reused number, a COMMIT inside a file are refused; two
# runners at once apply each file once; readings find their daily partition,
# or the default one for a day far away; the registry's checks and history.
. "$(dirname "$0")/lib.sh"

export PGCLIENTENCODING=UTF8
sys_setup
SQLDIR=$ROOT/deploy/sql
DATA=$ROOT/deploy/data
CTL="$BIN/safetyctl"

migration_files() {
	ls "$1" | grep '^[0-9][0-9][0-9][0-9]_[A-Za-z0-9_-]*\.sql$' | sort
}
NFILES=$(migration_files "$SQLDIR" | wc -l)

# --- the first run ------------------------------------------------------------
assert_eq "$(tail -n 1 "$T/migrate.log")" "$NFILES applied" "the first run applies every file"
assert_eq "$(grep -c '^applied ' "$T/migrate.log")" "$NFILES" "each applied file is printed"
assert_eq "$(sql "SELECT string_agg(name, ' ' ORDER BY version) FROM schema_migrations")" \
    "$(migration_files "$SQLDIR" | tr '\n' ' ' | sed 's/ $//')" "the ledger lists the files in order"

# --- the reference data ---------------------------------------------------------
# csv_rows FILE: the data rows of a CSV, sorted, without the header.
csv_rows() {
	tail -n +2 "$DATA/$1" | tr -d '\r' | grep -v '^$' | LC_ALL=C sort
}
# table_rows SELECT: the same shape read back from the database.
table_rows() {
	sql "COPY ($1) TO STDOUT WITH (FORMAT csv)" | LC_ALL=C sort
}
assert_eq "$(table_rows "SELECT code, name, kind FROM districts")" \
    "$(csv_rows districts.csv)" "districts: every row of districts.csv"
assert_eq "$(table_rows "SELECT code, name, CASE WHEN enforces THEN 'yes' ELSE 'no' END FROM departments")" \
    "$(csv_rows departments.csv)" "departments: every row of departments.csv"
assert_eq "$(table_rows "SELECT code, name, lead, NULLIF(array_to_string(participants, ' '), '') FROM sectors")" \
    "$(csv_rows sectors.csv)" "sectors: every row of sectors.csv, participants split"
# Three characters of three bytes each: stored as UTF-8, not mangled.
assert_eq "$(sql "SELECT name || ' ' || length(name) || ' ' || octet_length(name) FROM districts WHERE code = '370112'")" \
    "历城区 3 9" "Chinese names intact"
assert_eq "$(sql "SELECT count(*) FROM sectors WHERE 'GAJ' = ANY (participants)")" \
    "$(csv_rows sectors.csv | cut -d, -f4 | tr ' ' '\n' | grep -cx GAJ)" "participants are an array"

# --- a second run changes nothing ----------------------------------------------
snapshot() {
	sql "SELECT md5(string_agg(c.relname || ':' || c.relkind::text || ':' || coalesce(a.cols, ''), ';' ORDER BY c.relname))
	       FROM pg_class c
	       LEFT JOIN LATERAL (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ',' ORDER BY attnum) AS cols
	                            FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped) a ON true
	      WHERE c.relnamespace = 'public'::regnamespace"
	sql "SELECT (SELECT count(*) FROM districts) || ' ' || (SELECT count(*) FROM departments) || ' ' ||
	            (SELECT count(*) FROM sectors) || ' ' ||
	            (SELECT md5(string_agg(version || checksum || applied_at, ',' ORDER BY version)) FROM schema_migrations)"
}
before=$(snapshot)
out=$("$CTL" migrate --dir "$SQLDIR" 2>&1) || fail "second run: $out"
assert_eq "$out" "0 applied" "a second run applies nothing"
assert_eq "$(snapshot)" "$before" "schema, rows and ledger unchanged"

# --- edits after the fact -------------------------------------------------------
# A copy of the tree to edit: the folder and its ../data.
mkdir "$T/tree"
cp -r "$SQLDIR" "$T/tree/sql"
cp -r "$DATA" "$T/tree/data"
out=$("$CTL" migrate --dir "$T/tree/sql" 2>&1) || fail "same files elsewhere: $out"
assert_eq "$out" "0 applied" "the checksum is of the content, not the path"

# expect_refusal WHAT PATTERN: migrate the copy, expect failure naming PATTERN.
expect_refusal() {
	if "$CTL" migrate --dir "$T/tree/sql" >"$T/refusal.log" 2>&1; then
		cat "$T/refusal.log"
		fail "$1: accepted"
	fi
	grep -q -- "$2" "$T/refusal.log" || { cat "$T/refusal.log"; fail "$1: no '$2' in the message"; }
	pass "$1 is refused: $(grep 'safetyctl: migrate:' "$T/refusal.log" | head -n 1)"
}

cp "$T/tree/sql/0002_registry.sql" "$T/saved.sql"
printf '\n-- an edit after the fact\n' >>"$T/tree/sql/0002_registry.sql"
expect_refusal "an edited applied file" "0002_registry.sql was changed after it was applied"
cp "$T/saved.sql" "$T/tree/sql/0002_registry.sql"

cp "$T/tree/data/districts.csv" "$T/saved.csv"
echo "370199,新区,district" >>"$T/tree/data/districts.csv"
expect_refusal "an edited CSV of an applied file" "0001_reference.sql was changed after it was applied"
cp "$T/saved.csv" "$T/tree/data/districts.csv"

# --- new files that must not apply -----------------------------------------------
printf 'CREATE TABLE t_half (a int);\n\nSELEC 1;\n' >"$T/tree/sql/0900_bad.sql"
expect_refusal "a file with a syntax error" "0900_bad.sql line 3: syntax error"
assert_eq "$(sql "SELECT to_regclass('t_half') IS NULL AND NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 900)")" t \
    "the failed file left nothing behind"
rm "$T/tree/sql/0900_bad.sql"

printf 'CREATE TABLE t_commit (a int);\nCOMMIT;\n' >"$T/tree/sql/0900_commit.sql"
expect_refusal "a file ending its transaction" "0900_commit.sql line 2: COMMIT would end the transaction"
assert_eq "$(sql "SELECT to_regclass('t_commit') IS NULL")" t "and it left nothing behind"
rm "$T/tree/sql/0900_commit.sql"

touch "$T/tree/sql/12_x.sql"
expect_refusal "a malformed number" "12_x.sql: a migration is named NNNN_name.sql"
rm "$T/tree/sql/12_x.sql"

cp "$T/tree/sql/0001_reference.sql" "$T/tree/sql/0001_again.sql"
expect_refusal "a number used twice" "share the number 0001"
rm "$T/tree/sql/0001_again.sql"

printf 'CREATE TABLE t_load (a text);\n--load: t_load x.csv\n' >"$T/tree/sql/0900_typo.sql"
expect_refusal "a misspelt load directive" "0900_typo.sql line 2: write the directive exactly"
printf 'CREATE TABLE t_load (a text);\n-- load: t_load missing.csv\n' >"$T/tree/sql/0900_typo.sql"
expect_refusal "a load of a missing CSV" "missing.csv: No such file"
rm "$T/tree/sql/0900_typo.sql"

# Other files in the folder are ignored; a good new file with a load of
# awkward CSV applies, once.
echo "notes" >"$T/tree/sql/README"
cp "$T/tree/sql/0002_registry.sql" "$T/tree/sql/0002_registry.sql.orig"
printf 'code,label,n\nA1,"quoted, with comma",1\nB2,"say ""hi""",2\nC3,市安委办\\值班,\nD4,,4\n' \
    >"$T/tree/data/probe.csv"
cat >"$T/tree/sql/0900_probe.sql" <<'EOF'
-- a test migration with a load in the middle
CREATE TABLE t_probe (code text PRIMARY KEY, label text, n int);
-- load: t_probe probe.csv
UPDATE t_probe SET n = n * 10;
EOF
out=$("$CTL" migrate --dir "$T/tree/sql" 2>&1) || fail "a good new file: $out"
assert_eq "$(printf '%s\n' "$out" | tail -n 1)" "1 applied" "a good new file applies"
assert_eq "$(sql "SELECT string_agg(code || '=' || coalesce(label, 'NULL') || '=' || coalesce(n::text, 'NULL'), '|' ORDER BY code) FROM t_probe")" \
    'A1=quoted, with comma=10|B2=say "hi"=20|C3=市安委办\值班=NULL|D4=NULL=40' \
    "CSV quoting, a backslash, empty fields, SQL after the load"
out=$("$CTL" migrate --dir "$T/tree/sql" 2>&1) || fail "again: $out"
assert_eq "$out" "0 applied" "and only once"

# --- two runners at once ----------------------------------------------------------
sql "CREATE DATABASE race" >/dev/null
RACE="$ANQUAN_CONNINFO dbname=race"
"$CTL" -c "$RACE" migrate --dir "$SQLDIR" >"$T/race1.log" 2>&1 &
r1=$!
"$CTL" -c "$RACE" migrate --dir "$SQLDIR" >"$T/race2.log" 2>&1 &
r2=$!
wait "$r1" || { cat "$T/race1.log"; fail "first concurrent runner"; }
wait "$r2" || { cat "$T/race2.log"; fail "second concurrent runner"; }
n1=$(sed -n 's/^\([0-9]*\) applied$/\1/p' "$T/race1.log")
n2=$(sed -n 's/^\([0-9]*\) applied$/\1/p' "$T/race2.log")
assert_eq "$((n1 + n2))" "$NFILES" "two runners at once apply each file once ($n1 + $n2)"
assert_eq "$(psql "$RACE" -XAtq -c "SELECT count(*) FROM districts")" "$(csv_rows districts.csv | wc -l)" \
    "and load the data once"

# --- readings and their partitions --------------------------------------------------
today=$(sql "SELECT to_char((now() AT TIME ZONE 'Asia/Shanghai')::date, 'YYYYMMDD')")
assert_eq "$(sql "SELECT count(*) FROM generate_series(-7, 7) AS i
                   WHERE to_regclass('readings_' || to_char((now() AT TIME ZONE 'Asia/Shanghai')::date + i, 'YYYYMMDD')) IS NOT NULL")" \
    15 "daily partitions from a week back to a week ahead"
sql "INSERT INTO readings (point, ts, value) VALUES ('t.now', now(), 1.5)" >/dev/null
assert_eq "$(sql "SELECT tableoid::regclass FROM readings WHERE point = 't.now'")" "readings_$today" \
    "a reading of now goes to today's partition"
sql "INSERT INTO readings (point, ts, value) VALUES
       ('t.far', '2099-06-01T00:00:00+08:00', 1), ('t.far', '2099-05-31T16:30:00Z', 2),
       ('t.far', '2099-06-01T23:59:59.999+08:00', 3), ('t.far', '2099-06-02T00:00:00+08:00', 4)" >/dev/null
assert_eq "$(sql "SELECT count(*) FROM readings_default WHERE point = 't.far'")" 4 \
    "readings of a day far away land in the default partition"
assert_eq "$(sql "SELECT readings_ensure_partitions('2099-06-01', 1)")" 1 "a partition made for that day"
assert_eq "$(sql "SELECT string_agg(tableoid::regclass || '=' || value, ' ' ORDER BY ts) FROM readings WHERE point = 't.far'")" \
    "readings_20990601=1 readings_20990601=2 readings_20990601=3 readings_default=4" \
    "its waiting rows moved in, bounded by the city's midnight"
assert_eq "$(sql "SELECT readings_ensure_partitions('2099-06-01', 1)")" 0 "ensuring again creates nothing"
if sql "INSERT INTO readings (point, ts, value) VALUES ('t.far', '2099-06-01T00:00:00+08:00', 9)" 2>/dev/null; then
	fail "a duplicate reading was accepted"
fi
pass "a reading is unique by point and time"
if sql "INSERT INTO readings (point, ts, quality) VALUES ('t.novalue', now(), 0)" 2>/dev/null; then
	fail "a good reading without a value was accepted"
fi
sql "INSERT INTO readings (point, ts, quality) VALUES ('t.novalue', now(), 1)" >/dev/null
pass "a bad-quality reading may lack a value, a good one may not"

# --- the registry --------------------------------------------------------------------
# expect_sql_error WHAT SQL PATTERN
expect_sql_error() {
	if sql "$2" >"$T/sqlerr.log" 2>&1; then fail "$1: accepted"; fi
	grep -q -- "$3" "$T/sqlerr.log" || { cat "$T/sqlerr.log"; fail "$1: no '$3'"; }
	pass "$1 is refused"
}
sql "INSERT INTO sources (name, sectors, districts) VALUES ('hazchem-sys', '{hazchem}', '{370112}')" >/dev/null
expect_sql_error "a source with an unknown sector" \
    "INSERT INTO sources (name, sectors) VALUES ('bad', '{hazchem,nosuch}')" "unknown sector codes: nosuch"
U=91370112MA3C4Y5K7B
sql "INSERT INTO enterprises (uscc, name, district, sector, employees, status, enforcement_level, source, event_id)
     VALUES ('$U', '济南某化工有限公司', '370112', 'hazchem', 120, 'operating', 'city', 'hazchem-sys', 'e1')" >/dev/null
sql "UPDATE enterprises SET employees = 130, event_id = 'e2' WHERE uscc = '$U'" >/dev/null
sql "UPDATE enterprises SET employees = 130, event_id = 'e2' WHERE uscc = '$U'" >/dev/null
assert_eq "$(sql "SELECT count(*) || ' ' || min(employees) || ' ' || min(event_id) FROM enterprise_versions WHERE uscc = '$U'")" \
    "1 120 e1" "an update keeps the previous version; a no-op update keeps none"
expect_sql_error "an unknown status" \
    "UPDATE enterprises SET status = 'open' WHERE uscc = '$U'" "enterprises_status_check"
expect_sql_error "a USCC with a forbidden letter" \
    "INSERT INTO enterprises (uscc, name, district, sector, status, enforcement_level, source)
     VALUES ('91370112MA3C4Y5K7O', 'x', '370112', 'hazchem', 'operating', 'city', 't')" "enterprises_uscc_check"
expect_sql_error "thresholds out of order" \
    "INSERT INTO points (code, uscc, kind, unit, l, h, source) VALUES ('p.bad', '$U', 'pressure', 'MPa', 2, 1, 't')" \
    "points_thresholds_ordered"
sql "INSERT INTO points (code, uscc, kind, unit, h, hh, source) VALUES ('储罐1/液位', '$U', 'level', 'm', 8, 9, 't')" >/dev/null
sql "DELETE FROM points WHERE code = '储罐1/液位'" >/dev/null
assert_eq "$(sql "SELECT ended_by || ' ' || hh FROM point_versions WHERE code = '储罐1/液位'")" "delete 9" \
    "a deleted point keeps its last version"
expect_sql_error "a token hash of the wrong length" \
    "INSERT INTO tokens (source, token_hash, prefix) VALUES ('hazchem-sys', '\\x0102', 'aq_1')" "tokens_token_hash_check"
