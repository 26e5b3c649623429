-- 0011_audit - the audit journal: every incident transition, notification,
-- silence, roster change and officer token, append-only and hash-chained
-- (issue 6, item 8).
--
-- Writers never INSERT here themselves: they call audit_append() inside the
-- transaction that makes the change (alarmd through services/alarmd/audit.c,
-- safetyctl officer through SQL), so an entry commits with its change or not
-- at all.  `safetyctl audit verify` recomputes the chain in C
-- (services/alarmd/audit.h audit_hash) from the rows as stored.
--
-- Each entry's hash covers the previous entry's hash and its own content:
--   hash = sha256(prev_hash || convert_to(canonical, 'UTF8'))
--   canonical = seq '|' at_us '|' actor '|' action '|' subject '|' detail::text
-- at_us is the epoch microseconds of `at`, seq and at_us in decimal, and
-- detail::text is PostgreSQL's own text of the stored jsonb, which the
-- verifier reads back rather than re-rendering (should a PostgreSQL major
-- version ever print jsonb differently, verify would report the old
-- entries as edited: check the chain before such an upgrade, and keep that
-- result with the anchor).  Seq 1's prev_hash is 32 zero bytes.
--
-- actor, action and subject may not hold '|', so the canonical text splits
-- back into its fields one way only (detail, the last field, may hold
-- anything), nor control characters (C0, C1, U+2028 and U+2029, spelled
-- out rather than [:cntrl:], whose meaning follows the database's locale),
-- so a listing prints one entry per line.
--
-- Appenders are serialised by a transaction-scoped advisory lock (the key
-- hashtext('audit_log')), taken in audit_append() and held to the end of
-- the caller's transaction: seq has no gaps (a rolled-back append leaves
-- none, unlike a sequence), and the entries of concurrent transactions
-- never fork the chain.  Callers run in READ COMMITTED, as every writer
-- here does; under REPEATABLE READ an append racing another fails on the
-- primary key and the transaction is retried like any serialization
-- failure.  The lock, not a head row, because a row updated by every call
-- grows a chain of dead versions that makes many calls in one transaction
-- slow; the price is that the chain alone cannot show entries deleted from
-- its end, so `safetyctl audit verify` prints the last seq and hash for the
-- operator to note down and give back later as --anchor SEQ:HASH.
--
-- `at` is clock_timestamp() read once per audit_append() call, after the
-- lock: entries of one call share it, and it never goes backwards along the
-- chain (as now(), the transaction's start, could: a transaction that began
-- earlier may take the lock later), unless the system clock does.

CREATE TABLE audit_log (
	seq		bigint PRIMARY KEY CHECK (seq >= 1),
	at		timestamptz NOT NULL,
	-- Who: 'alarmd', an officer's id, a feed source's name,
	-- 'safetyctl:<os user>'.
	actor		text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200
			    AND actor !~ '[|\u0001-\u001f\u007f-\u009f\u2028\u2029]'),
	-- What, as audit.h lists them: 'incident.acknowledged', ...
	action		text NOT NULL
			CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'
			    AND length(action) <= 64),
	-- On what: 'incident:42', 'silence:7', 'officer:zhang.wei', ...
	subject		text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200
			    AND subject !~ '[|\u0001-\u001f\u007f-\u009f\u2028\u2029]'),
	detail		jsonb NOT NULL CHECK (jsonb_typeof(detail) = 'object'),
	prev_hash	bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
	hash		bytea NOT NULL CHECK (octet_length(hash) = 32),
	-- A constant, not decode(repeat(...)): the check runs on every row.
	CONSTRAINT audit_log_genesis CHECK (seq > 1 OR prev_hash =
	    '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
);

-- Entries are never changed nor removed.  The superuser can still disable
-- the trigger; what they then change, verify finds.
CREATE FUNCTION audit_log_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only'
	    USING ERRCODE = 'insufficient_privilege',
	    HINT = 'entries are added with audit_append() and never changed';
END
$$;

CREATE TRIGGER audit_log_append_only
	BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();

CREATE TRIGGER audit_log_no_truncate
	BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

-- Append entries i = 1..n (actors[i], actions[i], subjects[i], details[i];
-- a NULL detail is {}) in order, in the caller's transaction, and return
-- the last seq.  Empty arrays append nothing and return the last seq there
-- is (0 for an empty journal).
-- Arrays of different lengths, a NULL or malformed field, or a detail that
-- is not an object fail the call (and so the caller's transaction) with the
-- entry's position in the message.
CREATE FUNCTION audit_append(actors text[], actions text[], subjects text[],
    details jsonb[])
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n		integer;
	head_seq	bigint;
	head_hash	bytea;
	ts		timestamptz;
	ts_us		bigint;
	d		jsonb;
	e		record;
	seqs		bigint[] := '{}';
	prevs		bytea[] := '{}';
	hashes		bytea[] := '{}';
	ds		jsonb[] := '{}';
BEGIN
	IF actors IS NULL OR actions IS NULL OR subjects IS NULL OR
	    details IS NULL THEN
		RAISE EXCEPTION 'audit_append: actors, actions, subjects and details must be arrays, not NULL'
		    USING ERRCODE = 'null_value_not_allowed';
	END IF;
	n := cardinality(actors);
	IF cardinality(actions) <> n OR cardinality(subjects) <> n OR
	    cardinality(details) <> n THEN
		RAISE EXCEPTION 'audit_append: % actors, % actions, % subjects, % details: want as many of each',
		    n, cardinality(actions), cardinality(subjects),
		    cardinality(details)
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF n = 0 THEN
		SELECT l.seq INTO head_seq FROM audit_log l
		    ORDER BY l.seq DESC LIMIT 1;
		RETURN coalesce(head_seq, 0);
	END IF;

	-- One appender at a time, until the end of its transaction.  The
	-- statement after the lock takes a new snapshot (READ COMMITTED), so
	-- it sees the entries of the appender that held the lock before.
	PERFORM pg_advisory_xact_lock(hashtext('audit_log'));
	SELECT l.seq, l.hash INTO head_seq, head_hash FROM audit_log l
	    ORDER BY l.seq DESC LIMIT 1;
	IF NOT FOUND THEN
		head_seq := 0;
		head_hash := decode(repeat('00', 32), 'hex');
	END IF;
	ts := clock_timestamp();
	ts_us := (extract(epoch FROM ts) * 1000000)::bigint;

	FOR e IN SELECT u.actor, u.action, u.subject, u.detail, u.i
	    FROM unnest(actors, actions, subjects, details)
	    WITH ORDINALITY AS u(actor, action, subject, detail, i)
	    ORDER BY u.i
	LOOP
		IF e.actor IS NULL OR length(e.actor) NOT BETWEEN 1 AND 200 OR
		    e.actor ~ '[|\u0001-\u001f\u007f-\u009f\u2028\u2029]' THEN
			RAISE EXCEPTION 'audit_append: entry %: actor % must be 1..200 characters without ''|'' or control characters',
			    e.i, coalesce(to_json(e.actor)::text, 'NULL')
			    USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF e.action IS NULL OR length(e.action) > 64 OR
		    e.action !~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$' THEN
			RAISE EXCEPTION 'audit_append: entry %: action % must look like incident.acknowledged',
			    e.i, coalesce(to_json(e.action)::text, 'NULL')
			    USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF e.subject IS NULL OR length(e.subject) NOT BETWEEN 1 AND 200 OR
		    e.subject ~ '[|\u0001-\u001f\u007f-\u009f\u2028\u2029]' THEN
			RAISE EXCEPTION 'audit_append: entry %: subject % must be 1..200 characters without ''|'' or control characters',
			    e.i, coalesce(to_json(e.subject)::text, 'NULL')
			    USING ERRCODE = 'invalid_parameter_value';
		END IF;
		d := coalesce(e.detail, '{}'::jsonb);
		IF jsonb_typeof(d) <> 'object' THEN
			RAISE EXCEPTION 'audit_append: entry %: detail must be a JSON object, got %',
			    e.i, jsonb_typeof(d)
			    USING ERRCODE = 'invalid_parameter_value';
		END IF;
		head_seq := head_seq + 1;
		seqs := array_append(seqs, head_seq);
		prevs := array_append(prevs, head_hash);
		ds := array_append(ds, d);
		head_hash := sha256(head_hash || convert_to(
		    head_seq::text || '|' || ts_us::text || '|' ||
		    e.actor || '|' || e.action || '|' || e.subject || '|' ||
		    d::text, 'UTF8'));
		hashes := array_append(hashes, head_hash);
	END LOOP;

	INSERT INTO audit_log (seq, at, actor, action, subject, detail,
	    prev_hash, hash)
	SELECT u.seq, ts, u.actor, u.action, u.subject, u.detail, u.prev,
	    u.hash
	    FROM unnest(seqs, actors, actions, subjects, ds, prevs, hashes)
	    AS u(seq, actor, action, subject, detail, prev, hash);
	RETURN head_seq;
END
$$;
