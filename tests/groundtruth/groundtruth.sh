#!/usr/bin/env bash
# The engine against the simulator's ground truth: generate a register, ingest its export,
# evolve it by DAYS days, ingest the new export, and require the change set to equal, item for
# item, the list of changes the simulator says it made (changes.tsv). Then a third ingest of the
# same export must emit nothing.
# With DRM_REFRESH_DEPTH, a DRM-only export of that profondeurDrm is ingested between the two
# full (depth 3) ones, as the monthly refresh between weekly syncs: together they must still
# make exactly the simulator's changes, so no DRM month deleted by the refresh is re-created by
# the sync (contract README §5, DRM depth).
#   groundtruth.sh SNESYNC SNESYNC_SIM DEMANDS DAYS SEED [DRM_REFRESH_DEPTH]
set -euo pipefail
snesync=$1 sim=$2 demands=$3 days=$4 seed=$5 refresh=${6:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
all=CERFA,DALO,EVT,CONT,ATTRIB,PRIO,COTA,PJ,DRM
echo "seed $seed, $demands demands, $days days${refresh:+, a depth-$refresh DRM refresh before the resync}"

"$sim" generate --demands "$demands" --seed "$seed" --out "$work/r1" >/dev/null
"$sim" evolve --from "$work/r1" --out "$work/r2" --days "$days" --seed "$seed" >/dev/null
"$sim" export --data "$work/r1" --out "$work/e1.tar.gz" --entities $all --etat ACTIVE --numero G1 >/dev/null
"$sim" export --data "$work/r2" --out "$work/e2.tar.gz" --entities $all --etat ACTIVE --numero G2 \
  --demands-per-part 700 >/dev/null

"$snesync" ingest --store "$work/store" "$work/e1.tar.gz" >/dev/null
last_seq() { "$snesync" stats --store "$work/store" --json | sed -n 's/.*"lastSeq":\([0-9]*\).*/\1/p'; }
# changes SINCE: the change set after SINCE as sorted "op numUnique entity key" lines
changes() {
  "$snesync" changes --store "$work/store" --since "$1" \
    | sed -n 's/.*"op":"\([a-z]*\)","numUnique":"\([0-9A-Z]*\)","entity":"\([A-Z]*\)","key":"\([^"]*\)".*/\1\t\2\t\3\t\4/p' \
    | LC_ALL=C sort
}
last=$(last_seq)
if [ -n "$refresh" ]; then
  "$sim" export --data "$work/r2" --out "$work/d2.tar.gz" --entities DRM --etat ACTIVE \
    --profondeur-drm "$refresh" --numero D2 >/dev/null
  "$snesync" ingest --store "$work/store" "$work/d2.tar.gz" >/dev/null
  refreshed=$(last_seq)
  changes "$last" > "$work/refresh.tsv"
  echo "the depth-$refresh DRM refresh emitted $(wc -l < "$work/refresh.tsv") changes"
  if cut -f3 "$work/refresh.tsv" | grep -vqx DRM; then
    echo "FAIL: the DRM refresh changed other entities"; exit 1
  fi
fi
"$snesync" ingest --store "$work/store" "$work/e2.tar.gz" >/dev/null
changes "$last" > "$work/got.tsv"
if [ -n "$refresh" ]; then
  # churn: a DRM month (numUnique, DRM, period) the refresh deleted and the resync re-created
  sed -n 's/^delete\t\(.*\tDRM\t.*\)/\1/p' "$work/refresh.tsv" > "$work/deleted.tsv"
  changes "$refreshed" | sed -n 's/^create\t\(.*\tDRM\t.*\)/\1/p' > "$work/created.tsv"
  LC_ALL=C comm -12 "$work/deleted.tsv" "$work/created.tsv" > "$work/churn.tsv"
  if [ -s "$work/churn.tsv" ]; then
    echo "FAIL: $(wc -l < "$work/churn.tsv") DRM months deleted by the refresh were re-created by the resync:"
    head -5 "$work/churn.tsv"
    exit 1
  fi
  echo "no DRM month deleted by the refresh was re-created by the resync"
fi
LC_ALL=C sort "$work/r2/changes.tsv" | sed '/^$/d' > "$work/want.tsv"
got=$(wc -l < "$work/got.tsv") want=$(wc -l < "$work/want.tsv")
echo "engine emitted $got changes, the simulator made $want"
if ! diff "$work/want.tsv" "$work/got.tsv" > "$work/diff"; then
  echo "FAIL: change sets differ (first lines; < truth only, > engine only):"
  head -20 "$work/diff"
  exit 1
fi
[ "$want" -gt 0 ] || { echo "FAIL: the simulator made no change"; exit 1; }

before=$(last_seq)
"$snesync" ingest --store "$work/store" "$work/e2.tar.gz" >/dev/null
after=$(last_seq)
[ "$before" = "$after" ] || { echo "FAIL: re-ingest emitted $((after - before)) changes"; exit 1; }
echo "ok: change set equals the ground truth; re-ingest emitted nothing"
