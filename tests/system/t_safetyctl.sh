#!/bin/sh
# t_safetyctl - the operator's tool: its config, `token` and `status`.
#
# Against a private, migrated cluster: token create prints a token once,
# the store keeps only its SHA-256 (the hash of the printed text, and the
# text itself nowhere), unknown sector and district codes are refused by
# name, "*" means all, list and revoke (by prefix, id or the token) work.
# status reports daemons that do not run as down and still exits 0 unless
# --require names one; skeld (the skeleton's test daemon) stands in for
# daemons that are "up" and "unhealthy" (with the reason of the JSON body).
# The config: a bad file stops safetyctl with FILE:LINE and the key, -f
# reads a file, $ANQUAN_CONNINFO beats the file and -c beats both, and
# var/conninfo names the database when nothing else does.  safetyctl runs in
# a folder of its own so that no deploy/anquan.conf is found by accident.
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

# --- token create ----------------------------------------------------------
run create "$CTL" token create --source gasnet --sectors gas,hazchem \
    --districts 370102,370103 --description "city gas network SCADA"
[ $RC = 0 ] || { cat "$T/create.err"; fail "token create"; }
cat "$T/create.out"
TOK=$(grep '^aq_' "$T/create.out")
assert_eq "$(printf %s "$TOK" | wc -c)" 43 "one token line of 43 characters"
contains "$T/create.out" "shown only now" "the token is said to be shown only once"
ID=$(sql "SELECT id FROM tokens WHERE source = 'gasnet'")
assert_eq "$(sql "SELECT encode(token_hash, 'hex') FROM tokens WHERE id = $ID")" \
    "$(printf %s "$TOK" | sha256sum | cut -d' ' -f1)" "the stored hash is the SHA-256 of the token"
assert_eq "$(sql "SELECT prefix FROM tokens WHERE id = $ID")" \
    "$(printf %s "$TOK" | cut -c1-12)" "the stored prefix is the token's first 12 characters"
assert_eq "$(sql "SELECT count(*) FROM tokens t WHERE strpos(t::text, '$TOK') > 0
    OR strpos(encode(t.token_hash, 'escape'), '$TOK') > 0")" 0 "the token itself is nowhere in tokens"
assert_eq "$(sql "SELECT count(*) FROM sources s WHERE strpos(s::text, '$TOK') > 0")" 0 \
    "nor in sources"
assert_eq "$(sql "SELECT sectors::text || ' ' || districts::text || ' ' || description FROM sources WHERE name = 'gasnet'")" \
    "{gas,hazchem} {370102,370103} city gas network SCADA" "the source row holds the scope"

# --- refusals --------------------------------------------------------------
ntok=$(sql "SELECT count(*) FROM tokens")
run badsector "$CTL" token create --source quarry --sectors gas,volcanoes --districts 370102
assert_eq "$RC" 1 "an unknown sector is refused"
contains "$T/badsector.err" "unknown sector code: volcanoes" "the refusal names the sector"
contains "$T/badsector.err" "hazchem" "and lists the sectors there are"
run baddistrict "$CTL" token create --source quarry --sectors gas --districts 370102,999999,370199
assert_eq "$RC" 1 "an unknown district is refused"
contains "$T/baddistrict.err" "unknown district codes: 999999, 370199" "the refusal names the districts"
run badname "$CTL" token create --source "Bad Name" --sectors gas --districts 370102
assert_eq "$RC" 2 "a malformed source name is a usage error"
contains "$T/badname.err" 'source name "Bad Name"' "the refusal quotes the name"
run badlist "$CTL" token create --source quarry --sectors gas,,coal --districts 370102
assert_eq "$RC" 2 "an empty item in a list is a usage error"
run nolist "$CTL" token create --source quarry --sectors gas
assert_eq "$RC" 2 "--districts is required"
assert_eq "$(sql "SELECT count(*) FROM tokens")" "$ntok" "no token was made by a refused create"
assert_eq "$(sql "SELECT count(*) FROM sources WHERE name = 'quarry'")" 0 "nor a source"

# --- "*", a second token, an updated scope ---------------------------------
run star "$CTL" token create --source citywide --sectors '*' --districts '*'
[ $RC = 0 ] || { cat "$T/star.err"; fail "token create with *"; }
assert_eq "$(sql "SELECT (sectors IS NULL)::text || (districts IS NULL)::text FROM sources WHERE name = 'citywide'")" \
    truetrue "\"*\" stores NULL: every sector and district"
run second "$CTL" token create --source gasnet --sectors gas,gas --districts 370102
[ $RC = 0 ] || { cat "$T/second.err"; fail "second token for gasnet"; }
contains "$T/second.out" "source gasnet updated" "create on an existing source updates it"
TOK2=$(grep '^aq_' "$T/second.out")
[ "$TOK2" != "$TOK" ] || fail "two creates gave the same token"
assert_eq "$(sql "SELECT sectors::text || ' ' || districts::text || ' ' || description FROM sources WHERE name = 'gasnet'")" \
    "{gas} {370102} city gas network SCADA" "the new scope replaced the old, repeats dropped, description kept"

# --- list and revoke -------------------------------------------------------
run list "$CTL" token list
[ $RC = 0 ] || fail "token list"
cat "$T/list.out"
contains "$T/list.out" "ID  PREFIX" "list has a header"
PREFIX=$(printf %s "$TOK" | cut -c1-12)
grep "^$ID " "$T/list.out" | grep -F "$PREFIX" | grep -F gasnet | grep -F "gas  " | grep -q -- "-\$" \
    || fail "list shows the first token with source, scope and not revoked"
pass "list shows id, prefix, source, scope and revoked"
grep -F citywide "$T/list.out" | grep -q '  \*  ' || fail "list shows * for citywide"
pass "list shows * for a city-wide source"
run listsrc "$CTL" token list --source citywide
assert_eq "$(grep -c citywide "$T/listsrc.out")" 1 "list --source filters"
if grep -qF gasnet "$T/listsrc.out"; then fail "list --source shows other sources"; fi

run revoke "$CTL" token revoke "$PREFIX"
assert_eq "$RC" 0 "revoke by prefix"
contains "$T/revoke.out" "revoked token $ID ($PREFIX) of source gasnet" "revoke says what it revoked"
assert_eq "$(sql "SELECT revoked_at IS NOT NULL FROM tokens WHERE id = $ID")" t "the token is revoked in the store"
run again "$CTL" token revoke "$ID"
assert_eq "$RC" 0 "revoking again by id is harmless"
contains "$T/again.out" "was already revoked at" "and says so"
run bytoken "$CTL" token revoke "$TOK2"
assert_eq "$RC" 0 "revoke by the token itself"
assert_eq "$(sql "SELECT count(*) FROM tokens WHERE source = 'gasnet' AND revoked_at IS NULL")" 0 \
    "both gasnet tokens are revoked"
run nosuch "$CTL" token revoke aq_nosuchone
assert_eq "$RC" 1 "revoking an unknown prefix fails"
contains "$T/nosuch.err" 'no token with prefix "aq_nosuchone"' "and names it"
run list2 "$CTL" token list
grep "^$ID " "$T/list2.out" | grep -q -- '+08:00  *[0-9-]*T[0-9:]*+08:00$' \
    || { cat "$T/list2.out"; fail "list shows when the token was revoked"; }
pass "list shows when a token was revoked"

# --- config ----------------------------------------------------------------
printf '[log]\nlevel = warn\n[store]\ntypo_key = 1\n' >"$T/bad.conf"
run badconf "$CTL" -f "$T/bad.conf" token list
[ $RC != 0 ] || fail "a config with an unknown key is accepted"
contains "$T/badconf.err" "$T/bad.conf:4: [store] typo_key: unknown key" \
    "a bad config names FILE:LINE and the key"
printf '[bus]\nsndhwm = 5\n' >"$T/range.conf"
run range "$CTL" -f "$T/range.conf" token list
[ $RC != 0 ] || fail "a value out of range is accepted"
contains "$T/range.err" "$T/range.conf:2: [bus] sndhwm: 5 is below the minimum 10" \
    "a value out of range names FILE:LINE"
run nofile "$CTL" -f "$T/none.conf" token list
[ $RC != 0 ] || fail "a missing -f file is accepted"
contains "$T/nofile.err" "$T/none.conf: cannot open" "a missing -f file is named"
# Keys of the daemons' own sections are theirs to check; [safetyctl] is ours.
printf '[ingestd]\nhttp_listen = 127.0.0.1:1\nflush = 5ms\n[safetyctl]\nverbose = 1\n' >"$T/own.conf"
run own "$CTL" -f "$T/own.conf" token list
[ $RC != 0 ] || fail "a key in [safetyctl] is accepted"
contains "$T/own.err" "$T/own.conf:5: [safetyctl] verbose: unknown key" \
    "a daemon's other keys pass, [safetyctl] keys are refused"

# A good file: daemons on ports where nobody listens, a store that is not.
P1=$(free_port); P2=$(free_port); P3=$(free_port); P4=$(free_port); P5=$(free_port)
NOPG=$(free_port)
cat >"$T/good.conf" <<EOF
[store]
conninfo = host=127.0.0.1 port=$NOPG dbname=anquan connect_timeout=2
connect_timeout = 2s
[ingestd]
http_listen = 127.0.0.1:$P1
drain_timeout = 10s
[riskd]
http_listen = 127.0.0.1:$P2
[alarmd]
http_listen = 127.0.0.1:$P3
[schedd]
http_listen = 127.0.0.1:$P4
[reportd]
http_listen = 127.0.0.1:$P5
[safetyctl]
EOF
GOOD=$ANQUAN_CONNINFO

# -c beats $ANQUAN_CONNINFO, which beats the file.
run envwins "$CTL" -f "$T/good.conf" status
assert_eq "$RC" 0 "status exits 0 when no daemon runs and none is required"
cat "$T/envwins.out"
assert_eq "$(grep -c 'down (connection refused)$' "$T/envwins.out")" 5 "every daemon not running is down"
contains "$T/envwins.out" "ingestd  127.0.0.1:$P1" "the addresses come from -f FILE"
NMIG=$(ls "$ROOT"/deploy/sql/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
LASTMIG=$(basename "$(ls "$ROOT"/deploy/sql/[0-9][0-9][0-9][0-9]_*.sql | tail -1)")
grep '^store ' "$T/envwins.out" | grep -q " up ($NMIG migrations applied, latest $LASTMIG)" \
    || fail "the store is up through \$ANQUAN_CONNINFO, over the file's conninfo"
pass "\$ANQUAN_CONNINFO beats the file"
run require "$CTL" -f "$T/good.conf" status --require ingestd
assert_eq "$RC" 1 "status --require ingestd exits 1 when ingestd is down"
contains "$T/require.out" "down (connection refused) [required]" "the required daemon is marked"
run json "$CTL" -f "$T/good.conf" status --json --require riskd
assert_eq "$RC" 1 "status --json --require riskd exits 1"
contains "$T/json.out" '{"ok":false,"daemons":[{"name":"ingestd"' "--json prints one object"
contains "$T/json.out" '"name":"riskd","address":"127.0.0.1:'"$P2"'","state":"down","required":true' \
    "--json marks the required daemon"
run storedown env ANQUAN_CONNINFO= "$CTL" -f "$T/good.conf" status
assert_eq "$RC" 1 "status exits 1 when the store is down"
grep '^store ' "$T/storedown.out" | grep -qF "127.0.0.1:$NOPG/anquan  down (" \
    || { cat "$T/storedown.out"; fail "the file's conninfo is used when nothing overrides it"; }
pass "the store is reported down, where it was looked for"
sql "CREATE DATABASE unmigrated" >/dev/null
run unmigrated "$CTL" -f "$T/good.conf" -c "$GOOD dbname=unmigrated" status
assert_eq "$RC" 1 "status exits 1 when the store is not migrated"
contains "$T/unmigrated.out" "/unmigrated  unhealthy (not migrated: no schema_migrations table; run safetyctl migrate)" \
    "a store without the schema is unhealthy, and says what to do"
run cwins env ANQUAN_CONNINFO="host=127.0.0.1 port=$NOPG dbname=x" \
    "$CTL" -f "$T/good.conf" -c "$GOOD" status
assert_eq "$RC" 0 "-c beats \$ANQUAN_CONNINFO and the file"
run ocwins "$CTL" -f "$T/good.conf" -o "ingestd.http_listen=127.0.0.1:$P5" status
contains "$T/ocwins.out" "ingestd  127.0.0.1:$P5" "-o sets a key"
run badopt "$CTL" -o "ingestd.flush=5ms" status
[ $RC != 0 ] || fail "-o with a key safetyctl does not read"
contains "$T/badopt.err" "-o: [ingestd] flush: unknown key" "-o keys are checked"

# var/conninfo names the private cluster when nothing else does.
mkdir -p "$T/op/var"
cp "$T/db/conninfo" "$T/op/var/conninfo"
printf '[ingestd]\nhttp_listen = 127.0.0.1:%s\n' "$P1" >"$T/plain.conf"
run private env ANQUAN_CONNINFO= "$CTL" -f "$T/plain.conf" token list --source citywide
assert_eq "$RC" 0 "var/conninfo is used when no conninfo is given"
contains "$T/private.out" citywide "and reaches the cluster"
rm -r "$T/op/var"

# --- healthy and unhealthy daemons ----------------------------------------
# skeld, the test daemon on the common skeleton, stands in for riskd (healthy)
# and for alarmd (its store unreachable, so its /healthz answers 503).
printf '[skeld]\nhttp_listen = 127.0.0.1:%s\n' "$P2" >"$T/skeld-up.conf"
printf '[skeld]\nhttp_listen = 127.0.0.1:%s\n' "$P3" >"$T/skeld-sick.conf"
sys_spawn riskd-standin "$SYS/skeld" -d -f "$T/skeld-up.conf"
sys_spawn alarmd-standin "$SYS/skeld" -d -f "$T/skeld-sick.conf" -o "store.conninfo=host=$T/nowhere"
wait_for 20 "the stand-in riskd" curl -fsS "http://127.0.0.1:$P2/healthz"
wait_for 20 "the stand-in alarmd" sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$P3/healthz | grep -q 503"
run upunhealthy "$CTL" -f "$T/good.conf" status --require riskd
cat "$T/upunhealthy.out"
assert_eq "$RC" 1 "an unhealthy daemon makes status exit 1"
contains "$T/upunhealthy.out" "riskd    127.0.0.1:$P2" "riskd is listed"
grep '^riskd ' "$T/upunhealthy.out" | grep -q ' up \[required\]$' || fail "riskd is up"
pass "a 200 answer is up"
contains "$T/upunhealthy.out" "unhealthy (HTTP 503: skeld: store unreachable" \
    "an unhealthy daemon is reported with the reason of its JSON body"
run onlyup "$CTL" -f "$T/good.conf" -o "alarmd.http_listen=127.0.0.1:$P4" status --require riskd
assert_eq "$RC" 0 "status exits 0 when the required daemon is up and the rest are down"
pass "t_safetyctl"
