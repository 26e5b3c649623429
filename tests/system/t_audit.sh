#!/bin/sh
# t_audit - the audit journal: append-only, hash-chained, verified in C.
#
# Against a private, migrated cluster: entries are appended with the SQL
# function audit_append() (one, many, in concurrent transactions, rolled
# back) and by `safetyctl officer create|revoke`, whose token is stored as
# its SHA-256 only.  `safetyctl audit verify` passes and names the same
# last hash as the table; one entry's hash is recomputed here with
# sha256sum over the canonical text, apart from both the SQL and the C.
# The trigger refuses UPDATE, DELETE and TRUNCATE.  Then, as the superuser
# with the trigger disabled: an edited detail, an entry rewritten with a
# fresh hash of its own, a deleted entry and a cut tail are each found
# and named by seq (the tail only with --anchor), the journal restored
# verifies again, and the trigger is enabled again.
. "$(dirname "$0")/lib.sh"

sys_setup
CTL=$BIN/safetyctl
mkdir "$T/op"
cd "$T/op"

# run NAME CMD...: run CMD, stdout in $T/NAME.out, stderr in $T/NAME.err,
# exit status in $RC; never stops the script.
run() {
	name=$1; shift
	RC=0
	"$@" >"$T/$name.out" 2>"$T/$name.err" || RC=$?
}
contains() {	# contains FILE TEXT WHAT
	grep -qF -- "$2" "$1" || { cat "$1"; fail "$3: '$2' not in $1"; }
	pass "$3"
}
# verify_ok WHAT: verify passes and agrees with the table.
verify_ok() {
	run verify "$CTL" audit verify
	[ $RC = 0 ] || { cat "$T/verify.out" "$T/verify.err"; fail "$1: verify exited $RC"; }
	n=$(sql "SELECT count(*) FROM audit_log")
	last=$(sql "SELECT seq || ', hash ' || encode(hash, 'hex') FROM audit_log ORDER BY seq DESC LIMIT 1")
	assert_eq "$(cat "$T/verify.out")" \
	    "audit: $n entries, chain intact (last seq $last)" "$1"
}
# verify_broken TEXT WHAT: verify exits 1 and names the entry.
verify_broken() {
	run verify "$CTL" audit verify "$@"
	[ $RC = 1 ] || { cat "$T/verify.out" "$T/verify.err"; fail "verify should fail, exited $RC"; }
}
append() {	# append ACTOR ACTION SUBJECT DETAIL
	sql "SELECT audit_append(ARRAY['$1'], ARRAY['$2'], ARRAY['$3'], ARRAY['$4'::jsonb])"
}

# --- appending ---------------------------------------------------------------
run empty "$CTL" audit verify
assert_eq "$RC" 0 "an empty journal verifies"
contains "$T/empty.out" "0 entries, chain intact" "and says it is empty"

assert_eq "$(append alarmd incident.opened incident:1 '{"level": "red", "title": "氯气泄漏 | 储罐区"}')" 1 \
    "the first entry is seq 1"
assert_eq "$(sql "SELECT encode(prev_hash, 'hex') FROM audit_log WHERE seq = 1")" \
    "$(printf '%064d' 0)" "seq 1 links to 32 zero bytes"
assert_eq "$(sql "SELECT audit_append(
    ARRAY['alarmd', '370102-O01', 'alarmd'],
    ARRAY['incident.notified', 'incident.acknowledged', 'notification.sent'],
    ARRAY['incident:1', 'incident:1', 'notification:7'],
    ARRAY['{\"tier\": 0}', NULL, '{\"receivers\": [\"sms\", \"im\"], \"n\": 1.50}']::jsonb[])")" 4 \
    "many entries in one call return the last seq"
assert_eq "$(sql "SELECT detail::text FROM audit_log WHERE seq = 3")" "{}" "a NULL detail is {}"
assert_eq "$(sql "SELECT count(DISTINCT at) FROM audit_log WHERE seq BETWEEN 2 AND 4")" 1 \
    "the entries of one call share their time"
assert_eq "$(sql "SELECT bool_and(a.at <= b.at) FROM audit_log a JOIN audit_log b ON b.seq = a.seq + 1")" t \
    "time never goes backwards along the chain"

# A rolled-back append leaves no gap.
sql "BEGIN; SELECT audit_append(ARRAY['alarmd'], ARRAY['incident.escalated'], ARRAY['incident:1'], ARRAY[NULL::jsonb]); ROLLBACK" >/dev/null
assert_eq "$(append alarmd silence.created silence:1 '{"reason": "检修"}')" 5 \
    "after a rollback the next entry takes the seq that was not used"

# Refusals name the entry and the rule.
for bad in "ARRAY['a|b'], ARRAY['incident.opened'], ARRAY['s'], ARRAY[NULL::jsonb]|actor" \
    "ARRAY['a'], ARRAY['Incident'], ARRAY['s'], ARRAY[NULL::jsonb]|action" \
    "ARRAY['a'], ARRAY['incident.opened'], ARRAY['x|y'], ARRAY[NULL::jsonb]|subject" \
    "ARRAY['a'], ARRAY['incident.opened'], ARRAY['s'], ARRAY['[1]'::jsonb]|detail must be a JSON object" \
    "ARRAY['a', 'b'], ARRAY['incident.opened'], ARRAY['s'], ARRAY[NULL::jsonb]|want as many of each"; do
	args=${bad%|*}
	why=${bad##*|}
	if sql "SELECT audit_append($args)" >"$T/bad.out" 2>"$T/bad.err"; then
		fail "audit_append($args) was accepted"
	fi
	contains "$T/bad.err" "$why" "audit_append refuses: $why"
done
assert_eq "$(sql "SELECT count(*) FROM audit_log")" 5 "refused calls append nothing"

# Concurrent appenders take turns: no seq twice, none skipped.
for w in 1 2 3; do
	(
		i=0
		while [ $i -lt 40 ]; do
			sql "SELECT audit_append(ARRAY['alarmd'], ARRAY['incident.joined'], ARRAY['incident:$w'], ARRAY['{\"i\": $i}'::jsonb])" >/dev/null
			i=$((i + 1))
		done
	) &
	eval "writer$w=\$!"
done
wait "$writer1" && wait "$writer2" && wait "$writer3" || fail "a concurrent appender failed"
assert_eq "$(sql "SELECT count(*) || ' ' || min(seq) || ' ' || max(seq) FROM audit_log")" "125 1 125" \
    "three concurrent appenders: 120 entries more, seqs 1..125"
verify_ok "verify passes after concurrent appends"

# One hash recomputed apart: sha256sum over prev || canonical text.
seq=4
prev=$(sql "SELECT encode(prev_hash, 'hex') FROM audit_log WHERE seq = $seq")
canon=$(sql "SELECT seq || '|' || (extract(epoch FROM at) * 1000000)::bigint || '|' || actor || '|' ||
    action || '|' || subject || '|' || detail::text FROM audit_log WHERE seq = $seq")
case $canon in
"4|"*"|alarmd|notification.sent|notification:7|{\"n\": 1.50, \"receivers\": [\"sms\", \"im\"]}") ;;
*) fail "unexpected canonical text: $canon" ;;
esac
assert_eq "$( { perl -e 'print pack("H*", $ARGV[0])' "$prev"; printf '%s' "$canon"; } | sha256sum | cut -d' ' -f1)" \
    "$(sql "SELECT encode(hash, 'hex') FROM audit_log WHERE seq = $seq")" \
    "seq 4's hash is sha256(prev_hash || canonical text)"

# --- officer tokens ------------------------------------------------------------
run create "$CTL" officer create --id 370102-O01 --name 张伟
[ $RC = 0 ] || { cat "$T/create.err"; fail "officer create"; }
TOK=$(grep '^aq_' "$T/create.out")
assert_eq "$(printf %s "$TOK" | wc -c)" 43 "officer create prints one token of 43 characters"
contains "$T/create.out" "shown only now" "and says it is shown only once"
PREFIX=$(printf %s "$TOK" | cut -c4-11)
assert_eq "$(sql "SELECT officer || ' ' || name || ' ' || encode(hash, 'hex') FROM officer_tokens WHERE prefix = '$PREFIX'")" \
    "370102-O01 张伟 $(printf %s "$TOK" | sha256sum | cut -d' ' -f1)" \
    "the row: prefix = the 8 characters after aq_, hash = SHA-256 of the token"
assert_eq "$(sql "SELECT count(*) FROM officer_tokens t WHERE strpos(t::text, '$TOK') > 0")" 0 \
    "the token itself is not stored"
assert_eq "$(sql "SELECT actor || ' ' || action || ' ' || subject || ' ' || (detail->>'prefix') FROM audit_log ORDER BY seq DESC LIMIT 1")" \
    "safetyctl:$(id -un) officer.token_created officer:370102-O01 $PREFIX" "officer create is journaled"
run badid "$CTL" officer create --id "bad id" --name 张伟
assert_eq "$RC" 2 "an officer id with a blank is refused"
run badname "$CTL" officer create --id 370102-O02 --name "$(printf 'a\tb')"
assert_eq "$RC" 2 "a name with a control character is refused"
run list "$CTL" officer list
contains "$T/list.out" "$PREFIX  370102-O01" "officer list shows the token's prefix and officer"
run revoke "$CTL" officer revoke "$PREFIX"
assert_eq "$RC" 0 "officer revoke by prefix"
contains "$T/revoke.out" "revoked officer token $PREFIX" "revoke says so"
assert_eq "$(sql "SELECT action || ' ' || subject FROM audit_log ORDER BY seq DESC LIMIT 1")" \
    "officer.token_revoked officer:370102-O01" "officer revoke is journaled"
n=$(sql "SELECT count(*) FROM audit_log")
run revoke2 "$CTL" officer revoke "$TOK"
assert_eq "$RC" 0 "revoking again, by the token, is harmless"
contains "$T/revoke2.out" "already revoked" "and says it was revoked already"
assert_eq "$(sql "SELECT count(*) FROM audit_log")" "$n" "and journals nothing"
run revoke3 "$CTL" officer revoke zzzzzzzz
assert_eq "$RC" 1 "an unknown prefix is refused"
verify_ok "verify passes with the officers' entries"

run tail "$CTL" audit tail 2
assert_eq "$(wc -l <"$T/tail.out")" 3 "audit tail 2 prints a header and two entries"
contains "$T/tail.out" "officer.token_revoked" "the newest entry is last"

# --- the trigger ----------------------------------------------------------------
for stmt in "UPDATE audit_log SET actor = 'x' WHERE seq = 2" "DELETE FROM audit_log WHERE seq = 2" \
    "TRUNCATE audit_log"; do
	if sql "$stmt" >"$T/trig.out" 2>"$T/trig.err"; then
		fail "$stmt was allowed"
	fi
	contains "$T/trig.err" "audit_log is append-only" "refused: $stmt"
done

# --- tampering, as the superuser with the trigger disabled ------------------------
ANCHOR=$(sed -n 's/.*(last seq \([0-9]*\), hash \([0-9a-f]*\)).*/\1:\2/p' "$T/verify.out")
LAST=${ANCHOR%%:*}
sql "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only" >/dev/null
pass "the superuser disabled the trigger"

sql "UPDATE audit_log SET detail = jsonb_set(detail, '{level}', '\"yellow\"') WHERE seq = 1" >/dev/null
verify_broken
contains "$T/verify.out" "seq 1: hash does not match its content — edited" "an edited detail is named"
sql "UPDATE audit_log SET detail = jsonb_set(detail, '{level}', '\"red\"') WHERE seq = 1" >/dev/null
verify_ok "put back as it was, seq 1 verifies again"

sql "CREATE TABLE audit_saved AS SELECT * FROM audit_log WHERE seq IN (10, 42, 60, 70, 71, 72)" >/dev/null
sql "UPDATE audit_log SET detail = '{\"i\": 99}' WHERE seq = 42" >/dev/null
verify_broken
contains "$T/verify.out" "seq 42: hash does not match its content — edited" "an edit in the middle is named"
contains "$T/verify.out" "41 entries before it verified intact" "with how far the chain is good"

# Rewrite seq 42 with a hash of its own: the next entry's link breaks.
sql "UPDATE audit_log SET hash = sha256(prev_hash || convert_to(seq || '|' ||
    (extract(epoch FROM at) * 1000000)::bigint || '|' || actor || '|' || action || '|' ||
    subject || '|' || detail::text, 'UTF8')) WHERE seq = 42" >/dev/null
verify_broken
contains "$T/verify.out" "seq 43: prev_hash does not match seq 42" "a rewritten entry breaks the next link"
sql "UPDATE audit_log l SET detail = s.detail, hash = s.hash FROM audit_saved s WHERE l.seq = 42 AND s.seq = 42" >/dev/null
verify_ok "seq 42 put back, the chain verifies again"

# A '|' inside a field, even with a hash made for it, is refused: it
# would let the same text read as other fields.  (The table's check has to
# go first; it is put back from its own definition.)
def=$(sql "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'audit_log_actor_check'")
sql "ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_check" >/dev/null
sql "UPDATE audit_log SET actor = 'alarmd|x', hash = sha256(prev_hash || convert_to(seq || '|' ||
    (extract(epoch FROM at) * 1000000)::bigint || '|alarmd|x|' || action || '|' ||
    subject || '|' || detail::text, 'UTF8')) WHERE seq = 10" >/dev/null
run bar "$CTL" audit verify --from 10
assert_eq "$RC" 1 "a '|' inside a field fails verify"
contains "$T/bar.out" "seq 10: its actor, action or subject is empty or holds '|'" "and names the entry"
sql "UPDATE audit_log l SET actor = s.actor, hash = s.hash FROM audit_saved s WHERE l.seq = 10 AND s.seq = 10" >/dev/null
sql "ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_check $def" >/dev/null
verify_ok "seq 10 put back and its check restored, the chain verifies again"

# Deleted entries are gaps.
sql "DELETE FROM audit_log WHERE seq = 60" >/dev/null
verify_broken
contains "$T/verify.out" "seq 60 missing" "a deleted entry is named"
sql "DELETE FROM audit_log WHERE seq BETWEEN 70 AND 72" >/dev/null
run gap2 "$CTL" audit verify --from 62
assert_eq "$RC" 1 "verify --from past the first gap still fails"
contains "$T/gap2.out" "seq 70 to 72 missing" "a run of deleted entries is named as one gap"
sql "INSERT INTO audit_log SELECT * FROM audit_saved WHERE seq IN (60, 70, 71, 72)" >/dev/null
verify_ok "the deleted entries put back, the chain verifies again"

# A cut tail: the chain alone cannot see it, the anchor does.
sql "INSERT INTO audit_saved SELECT * FROM audit_log WHERE seq = $LAST" >/dev/null
sql "DELETE FROM audit_log WHERE seq = $LAST" >/dev/null
run cut "$CTL" audit verify
assert_eq "$RC" 0 "cut from the end, the rest of the chain still links"
run anchor "$CTL" audit verify --anchor "$ANCHOR"
assert_eq "$RC" 1 "the anchor from an earlier verify finds the cut"
contains "$T/anchor.out" "seq $LAST missing" "and names the entry cut"
sql "INSERT INTO audit_log SELECT * FROM audit_saved WHERE seq = $LAST" >/dev/null
run anchor2 "$CTL" audit verify --anchor "$ANCHOR"
assert_eq "$RC" 0 "put back, the anchor holds"

sql "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only" >/dev/null
if sql "DELETE FROM audit_log WHERE seq = 2" 2>/dev/null; then
	fail "the trigger is back, yet DELETE was allowed"
fi
pass "the trigger is enabled again and refuses DELETE"
assert_eq "$(append alarmd incident.resolved incident:1 '{"note": "已处置"}')" "$((LAST + 1))" \
    "appending goes on after the last entry"
verify_ok "and the whole journal verifies"
run from "$CTL" audit verify --from "$LAST" --anchor "$ANCHOR"
assert_eq "$RC" 0 "verify --from with an anchor"
contains "$T/from.out" "2 entries from seq $LAST, chain intact" "counts from where it started"

pass "t_audit"
