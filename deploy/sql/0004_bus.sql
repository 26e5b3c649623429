-- 0004_bus - the bus's durable half: stream sequences, the message log,
-- consumer cursors, retention.
--
-- A producer (common/bus_log.c) takes the next seq of a stream from
-- bus_streams and appends the packed Envelope to bus_log in the same
-- transaction as its own change, and publishes only after COMMIT.  A consumer
-- (common/bus_consumer.c) keeps its position per stream in bus_cursors,
-- committed with its effects, and reads bus_log back on start, on a gap and
-- on a periodic resync.  proto/README.md is the contract; the bus code is the
-- only writer of these tables.

CREATE TABLE bus_streams (
	-- The stream is the topic, e.g. 'rd.370112.hazchem'.
	stream		text PRIMARY KEY
			CHECK (stream ~ '^[!-~]{1,200}$'),
	-- Highest seq taken; its row lock orders the producers of a stream.
	last_seq	bigint NOT NULL CHECK (last_seq >= 1),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bus_log (
	stream		text NOT NULL,
	seq		bigint NOT NULL CHECK (seq >= 1),
	produced_at	timestamptz NOT NULL,
	-- The packed Envelope exactly as it was published.
	envelope	bytea NOT NULL,
	PRIMARY KEY (stream, seq)
);

-- Retention deletes by age; without this it would scan the whole log.
CREATE INDEX bus_log_produced_at ON bus_log (produced_at);

CREATE TABLE bus_cursors (
	consumer	text NOT NULL CHECK (consumer <> ''),
	stream		text NOT NULL,
	-- Last seq whose effects are committed (0: none yet).
	seq		bigint NOT NULL CHECK (seq >= 0),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (consumer, stream)
);

-- How far each consumer is behind each stream it has a cursor for.
CREATE VIEW bus_lag AS
	SELECT c.consumer, c.stream, s.last_seq, c.seq AS cursor_seq,
	       s.last_seq - c.seq AS behind, c.updated_at
	  FROM bus_cursors c
	  JOIN bus_streams s USING (stream);

-- Delete log rows older than keep_days days; returns how many went.
-- Streams and cursors stay, so numbering continues across pruning.
CREATE FUNCTION bus_log_prune(keep_days integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	IF keep_days IS NULL OR keep_days < 1 THEN
		RAISE EXCEPTION 'bus_log_prune: keep_days must be at least 1, got %',
		    keep_days;
	END IF;
	DELETE FROM bus_log
	 WHERE produced_at < now() - make_interval(days => keep_days);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
