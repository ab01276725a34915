#!/usr/bin/env bash
# The engine against the simulator's ground truth: generate a register, ingest its export,
# evolve it by DAYS days, ingest the new export, and require the change set to equal, item for
# item, the list of changes the simulator says it made (changes.tsv). Then a third ingest of the
# same export must emit nothing.
#   groundtruth.sh SNESYNC SNESYNC_SIM DEMANDS DAYS SEED
set -euo pipefail
snesync=$1 sim=$2 demands=$3 days=$4 seed=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
all=CERFA,DALO,EVT,CONT,ATTRIB,PRIO,COTA,PJ,DRM
echo "seed $seed, $demands demands, $days days"

"$sim" generate --demands "$demands" --seed "$seed" --out "$work/r1" >/dev/null
"$sim" evolve --from "$work/r1" --out "$work/r2" --days "$days" --seed "$seed" >/dev/null
"$sim" export --data "$work/r1" --out "$work/e1.tar.gz" --entities $all --etat ACTIVE --numero G1 >/dev/null
"$sim" export --data "$work/r2" --out "$work/e2.tar.gz" --entities $all --etat ACTIVE --numero G2 \
  --demands-per-part 700 >/dev/null

"$snesync" ingest --store "$work/store" "$work/e1.tar.gz" >/dev/null
last=$("$snesync" stats --store "$work/store" --json | sed -n 's/.*"lastSeq":\([0-9]*\).*/\1/p')
"$snesync" ingest --store "$work/store" "$work/e2.tar.gz" >/dev/null
"$snesync" changes --store "$work/store" --since "$last" \
  | sed -n 's/.*"op":"\([a-z]*\)","numUnique":"\([0-9A-Z]*\)","entity":"\([A-Z]*\)","key":"\([^"]*\)".*/\1\t\2\t\3\t\4/p' \
  | LC_ALL=C sort > "$work/got.tsv"
LC_ALL=C sort "$work/r2/changes.tsv" | sed '/^$/d' > "$work/want.tsv"
got=$(wc -l < "$work/got.tsv") want=$(wc -l < "$work/want.tsv")
echo "engine emitted $got changes, the simulator made $want"
if ! diff "$work/want.tsv" "$work/got.tsv" > "$work/diff"; then
  echo "FAIL: change sets differ (first lines; < truth only, > engine only):"
  head -20 "$work/diff"
  exit 1
fi
[ "$want" -gt 0 ] || { echo "FAIL: the simulator made no change"; exit 1; }

before=$("$snesync" stats --store "$work/store" --json | sed -n 's/.*"lastSeq":\([0-9]*\).*/\1/p')
"$snesync" ingest --store "$work/store" "$work/e2.tar.gz" >/dev/null
after=$("$snesync" stats --store "$work/store" --json | sed -n 's/.*"lastSeq":\([0-9]*\).*/\1/p')
[ "$before" = "$after" ] || { echo "FAIL: re-ingest emitted $((after - before)) changes"; exit 1; }
echo "ok: change set equals the ground truth; re-ingest emitted nothing"
