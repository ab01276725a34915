#!/usr/bin/env bash
# flow.sh SNESYNC SIM: first sync; resync after `evolve` equal to the simulator's ground truth;
# a second resync emits nothing; DRM refresh (national and by department) touches DRM only and,
# with the full resync after it, adds up to the ground truth, at depth 3 and at depth 1 (no DRM
# month deleted and re-created); the config file; usage errors.
DEMANDS=${SYNC_TEST_DEMANDS:-1500}
. "$(dirname "$0")/lib.sh"

make_registers
start_server "$T/r1" || finish

# --- first sync
sync_all "$T/s"
check "first sync exits 0" 0 "$RC"
check "first sync: one export requested" 1 "$(jfield exportsRequested)"
check "first sync: released" true "$(jfield released)"
check "first sync: not resumed" false "$(jfield resumed)"
n1=$(jfield demands)
check_match "first sync: demands ingested" '^[1-9][0-9]*$' "$n1"
check "first sync: every change is a create" 0 "$(changes_tsv "$T/s" 0 | grep -vc '^create')"
check "the POST asked for what the command said" 1 \
    "$(grep -c 'POST /v1.0/exports -> 202' "$T/server.log")"
check "archive kept for audit, 0600" 600 "$(stat -c %a "$T/s.work/sync/"EXPORT_*.tar.gz)"
check "work directory 0700" 700 "$(stat -c %a "$T/s.work")"
check "the archive is the one announced" "$(jfield sha256)" \
    "$(sha256sum "$T/s.work/sync/"EXPORT_*.tar.gz | cut -d' ' -f1)"
check "the export was DELETEd" 1 "$(count_log 'DELETE /v1.0/exports/.* -> 204')"
# the same as `snesync ingest` of the same register's export
sim export --data "$T/r1" --out "$T/e1.tar.gz" --entities $ALL --etat ACTIVE --numero L1 >/dev/null
"$SNESYNC" ingest --store "$T/local" "$T/e1.tar.gz" >/dev/null
check "sync stores what a local ingest stores" "$(state "$T/local" | sed 's/"dateExport":"[^"]*",//' | md5sum)" \
    "$(state "$T/s" | sed 's/"dateExport":"[^"]*",//' | md5sum)"
cp -r "$T/s" "$T/base" # r1 loaded: the starting point of the DRM tests below

# --- resync after evolve: the change set is the ground truth
stop_server
start_server "$T/r2" || finish
before=$(last_seq "$T/s")
sync_all "$T/s"
check "resync exits 0" 0 "$RC"
changes_tsv "$T/s" "$before" >"$T/got.tsv"
LC_ALL=C sort "$T/r2/changes.tsv" | sed '/^$/d' >"$T/want.tsv"
if diff "$T/want.tsv" "$T/got.tsv" >"$T/diff"; then
    ok "resync change set equals the simulator's changes.tsv ($(wc -l <"$T/want.tsv") changes)"
else
    not_ok "resync change set differs from changes.tsv: $(head -5 "$T/diff")"
fi
check_match "the ground truth is not empty" '^[1-9]' "$(wc -l <"$T/want.tsv")"
before=$(last_seq "$T/s")
sync_all "$T/s"
check "second resync exits 0" 0 "$RC"
check "second resync emits nothing" "$before" "$(last_seq "$T/s")"

# --- DRM refresh, national: only DRM changes, exactly the ground truth's DRM changes
items() { "$SNESYNC" stats --store "$1" --json | sed 's/.*"items":{\([^}]*\)}.*/\1/' | sed 's/,"DRM":[0-9]*//'; }
cp -r "$T/base" "$T/d"
before=$(last_seq "$T/d")
others=$(items "$T/d")
"$SNESYNC" drm-refresh --server "$URL" --store "$T/d" --depth 3 --json >"$T/out" 2>"$T/err"
RC=$?
OUT=$(cat "$T/out")
check "drm-refresh exits 0" 0 "$RC"
check "drm-refresh: job named in the summary" drm-refresh "$(jfield job)"
changes_tsv "$T/d" "$before" >"$T/drm.tsv"
check "drm-refresh changed DRM items only" 0 "$(cut -f3 "$T/drm.tsv" | grep -vc '^DRM$')"
check "every other entity's items are untouched" "$others" "$(items "$T/d")"
grep -P '\tDRM\t' "$T/want.tsv" >"$T/want-drm.tsv"
check "drm-refresh changes = the ground truth's DRM changes" "$(md5sum <"$T/want-drm.tsv")" \
    "$(md5sum <"$T/drm.tsv")"
before=$(last_seq "$T/d")
sync_all "$T/d"
check "full resync after the DRM refresh exits 0" 0 "$RC"
changes_tsv "$T/d" "$before" >"$T/rest.tsv"
check "DRM refresh + full resync = the ground truth" "$(md5sum <"$T/want.tsv")" \
    "$(LC_ALL=C sort "$T/drm.tsv" "$T/rest.tsv" | md5sum)"

# --- the schedule: a monthly depth-1 DRM refresh between weekly full syncs. The refresh deletes
# only the months that left the register and those of its window, so the resync has no DRM month
# to re-create: together they make the ground truth, nothing more.
cp -r "$T/base" "$T/d1"
before=$(last_seq "$T/d1")
"$SNESYNC" drm-refresh --server "$URL" --store "$T/d1" --depth 1 >"$T/out" 2>"$T/err"
check "drm-refresh --depth 1 exits 0" 0 "$?"
changes_tsv "$T/d1" "$before" >"$T/drm1.tsv"
check "depth-1 drm-refresh changed DRM items only" 0 "$(cut -f3 "$T/drm1.tsv" | grep -vc '^DRM$')"
check "depth-1 drm-refresh made only the ground truth's DRM changes" "" \
    "$(LC_ALL=C comm -13 "$T/want-drm.tsv" "$T/drm1.tsv" | head -3)"
before=$(last_seq "$T/d1")
sync_all "$T/d1"
check "full resync after the depth-1 refresh exits 0" 0 "$RC"
changes_tsv "$T/d1" "$before" >"$T/rest1.tsv"
check "the resync re-created no DRM month the refresh deleted" "" \
    "$(LC_ALL=C comm -12 <(sed -n 's/^delete\t//p' "$T/drm1.tsv") <(sed -n 's/^create\t//p' "$T/rest1.tsv") | head -3)"
check "depth-1 DRM refresh + full resync = the ground truth" "$(md5sum <"$T/want.tsv")" \
    "$(LC_ALL=C sort "$T/drm1.tsv" "$T/rest1.tsv" | md5sum)"

# --- DRM refresh of two departments, depth 1
cp -r "$T/base" "$T/d2"
before=$(last_seq "$T/d2")
others=$(items "$T/d2")
deps=$(cut -f2 "$T/want-drm.tsv" | cut -c2-3 | sort | uniq -c | sort -rn | head -2 | awk '{print $2}' | paste -sd,)
"$SNESYNC" drm-refresh --server "$URL" --store "$T/d2" --departements "$deps" --depth 1 >"$T/out" 2>"$T/err"
check "drm-refresh --departements $deps --depth 1 exits 0" 0 "$?"
changes_tsv "$T/d2" "$before" >"$T/drm2.tsv"
check "departmental drm-refresh changed DRM items only" 0 "$(cut -f3 "$T/drm2.tsv" | grep -vc '^DRM$')"
check "departmental drm-refresh left other entities untouched" "$others" "$(items "$T/d2")"
check_match "departmental drm-refresh changed something" '^[1-9]' "$(wc -l <"$T/drm2.tsv")"
check_match "summary line names the job" '^drm-refresh: export ' "$(cat "$T/out")"

# --- config file: a short cron line; relative paths from the file's directory; options win
mkdir -p "$T/conf"
printf 'secret-token-123\n' >"$T/conf/token"
chmod 600 "$T/conf/token"
cat >"$T/conf/snesync.conf" <<EOF
# snesync configuration
server = $URL
store = store
entities = CERFA, EVT
etat = ACTIVE
token-file = token
departements = 38
EOF
"$SNESYNC" sync --config "$T/conf/snesync.conf" --json >"$T/out" 2>"$T/err"
RC=$?
OUT=$(cat "$T/out")
check "sync --config exits 0" 0 "$RC"
check "config: store path relative to the config file" 1 "$([ -d "$T/conf/store" ] && echo 1)"
check "config: only CERFA and EVT stored" "CERFA EVT" \
    "$("$SNESYNC" stats --store "$T/conf/store" --json | grep -o '"[A-Z]*":[1-9][0-9]*' | cut -d'"' -f2 | paste -sd' ')"
"$SNESYNC" sync --config "$T/conf/snesync.conf" --entities DALO --store "$T/conf/store2" >"$T/out" 2>"$T/err"
check "command-line options override the config file" "DALO" \
    "$("$SNESYNC" stats --store "$T/conf/store2" --json | grep -o '"[A-Z]*":[1-9][0-9]*' | cut -d'"' -f2 | paste -sd' ')"
printf 'server = %s\nbogus = 1\n' "$URL" >"$T/conf/bad.conf"
"$SNESYNC" sync --config "$T/conf/bad.conf" --entities CERFA 2>"$T/err"
check "unknown config key: usage error" 2 "$?"
check_match "unknown config key: line named" 'line 2: unknown key' "$(cat "$T/err")"

# --- usage errors never reach the server
posts=$(count_log 'POST /v1.0/exports')
"$SNESYNC" sync --server "$URL" --store "$T/u" --entities CERFA --token abc 2>"$T/err"
check "--token is refused (exit 2)" 2 "$?"
"$SNESYNC" sync --server "$URL" --store "$T/u" --entities NOPE 2>/dev/null
check "unknown entity: exit 2" 2 "$?"
"$SNESYNC" sync --server "$URL" --store "$T/u" --entities CERFA --departements 38 --communes 38185 2>/dev/null
check "departements and communes together: exit 2" 2 "$?"
"$SNESYNC" sync --server "$URL" --store "$T/u" --entities CERFA --departements 3X 2>/dev/null
check "bad department code: exit 2" 2 "$?"
"$SNESYNC" drm-refresh --server "$URL" --store "$T/u" --depth 4 2>/dev/null
check "--depth 4: exit 2" 2 "$?"
"$SNESYNC" sync --server "ftp://127.0.0.1/" --store "$T/u" --entities CERFA 2>/dev/null
check "ftp:// server: exit 2" 2 "$?"
check "no usage error reached the server" "$posts" "$(count_log 'POST /v1.0/exports')"

finish
