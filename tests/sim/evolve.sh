#!/usr/bin/env bash
# evolve: changes.tsv is exactly the item-level difference between the national ACTIVE exports of
# all nine entities before and after (checked against an independent XML diff), it has the
# expected kinds, the DRM rolls over at month boundaries, and the GDM feed is extended in order.
. "$(dirname "$0")/lib.sh"

sim generate --demands 1200 --seed "$SEED" --out "$T/r0" --date 2026-10-31T02:00:00+01:00 || exit 1
sim export --data "$T/r0" --out "$T/x0.tar.gz" --entities ALL --etat ACTIVE --numero X0 || exit 1

# 1. within a month: no DRM change
sim evolve --from "$T/r0" --out "$T/r1" --days 10 || exit 1   # -> 2026-11-10: DRM moves to 2026-10
sim export --data "$T/r1" --out "$T/x1.tar.gz" --entities ALL --etat ACTIVE --numero X1 || exit 1
sim evolve --from "$T/r1" --out "$T/r2" --days 12 || exit 1   # -> 2026-11-22: same month
sim export --data "$T/r2" --out "$T/x2.tar.gz" --entities ALL --etat ACTIVE --numero X2 || exit 1
# 2. a long window over two month boundaries
sim evolve --from "$T/r2" --out "$T/r3" --days 45 || exit 1   # -> 2027-01-06
sim export --data "$T/r3" --out "$T/x3.tar.gz" --entities ALL --etat ACTIVE --numero X3 || exit 1

for step in 1 2 3; do
    prev=$((step - 1))
    c="$T/r$step/changes.tsv"
    check_true "step $step: changes.tsv sorted bytewise" "LC_ALL=C sort -c '$c' 2>/dev/null"
    check_true "step $step: changes.tsv well formed" "awk -F'\t' 'NF != 4 || \$1 !~ /^(create|update|delete)\$/ || length(\$2) != 18 || \$2 !~ /^[0-9A-Z]+\$/ || \$3 !~ /^(CERFA|DALO|EVT|CONT|ATTRIB|PRIO|COTA|PJ|DRM)\$/ || ((\$3 == \"CERFA\" || \$3 == \"DALO\") != (\$4 == \"\")) { bad = 1 } END { exit bad }' '$c'"
    python3 "$HERE/itemdiff.py" "$T/x$prev.tar.gz" "$T/x$step.tar.gz" >"$T/expected$step.tsv"
    if cmp -s "$T/expected$step.tsv" "$c"; then
        ok "step $step: changes.tsv = the diff of the exports ($(wc -l <"$c") lines)"
    else
        not_ok "step $step: changes.tsv differs from the diff of the exports"
        diff "$T/expected$step.tsv" "$c" | head -10
    fi
    old=$(wc -l <"$T/r$prev/mouvements.tsv")
    check_true "step $step: mouvements.tsv extends the previous one" "head -n $old '$T/r$step/mouvements.tsv' | cmp -s - '$T/r$prev/mouvements.tsv'"
    check_true "step $step: mouvements.tsv sorted by date" "cut -f2 '$T/r$step/mouvements.tsv' | LC_ALL=C sort -c"
    check_true "step $step: new movements are UTC instants in the window" "tail -n +$((old + 1)) '$T/r$step/mouvements.tsv' | awk -F'\t' '\$2 !~ /^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z\$/ { exit 1 }'"
    # every demand with a non-DRM change moved
    moved=$(tail -n +$((old + 1)) "$T/r$step/mouvements.tsv" | cut -f1 | sort -u)
    changed=$(awk -F'\t' '$3 != "DRM" { print $2 }' "$c" | sort -u)
    check "step $step: demands that changed = demands that moved" "" "$(comm -23 <(echo "$changed") <(echo "$moved"))"
done

# kinds over the three steps
all=$(cat "$T"/r[123]/changes.tsv)
for kind in "create CERFA" "delete CERFA" "update CERFA" "create EVT" "delete EVT" "update COTA" \
            "create PJ" "update PJ" "create DRM" "delete DRM" "create DALO" "update DALO" "create PRIO" \
            "create ATTRIB" "create CONT" "delete CONT"; do
    set -- $kind
    check_true "changes include $kind" "echo \"\$all\" | awk -F'\t' -v o=$1 -v e=$2 '\$1 == o && \$3 == e { f = 1 } END { exit !f }'"
done

# drm FILE OP: the DRM periods of OP lines, for demands that stay in the export (demands that
# arrive or leave also bring or take their DRM months)
drm() {
    awk -F'\t' '$3 == "CERFA" && $1 != "update" { skip[$2] = 1 } { l[NR] = $0 }
        END { for (i = 1; i <= NR; i++) { split(l[i], f, "\t"); if (f[3] == "DRM" && !(f[2] in skip)) print f[1], f[4] } }' "$1" |
        awk -v op="$2" '$1 == op { print $2 }' | sort -u | tr '\n' ' ' | sed 's/ $//'
}
# DRM rollover: none within November, +2026-10 -2026-07 on entering November,
# +2026-11 +2026-12 -2026-08 -2026-09 over December and January
check "no DRM change within a month" "" "$(drm "$T/r2/changes.tsv" create)$(drm "$T/r2/changes.tsv" delete)"
check "entering November: DRM periods created" "2026-10" "$(drm "$T/r1/changes.tsv" create)"
check "entering November: DRM periods deleted" "2026-07" "$(drm "$T/r1/changes.tsv" delete)"
check "two boundaries: created" "2026-11 2026-12" "$(drm "$T/r3/changes.tsv" create)"
check "two boundaries: deleted" "2026-08 2026-09" "$(drm "$T/r3/changes.tsv" delete)"
unpack "$T/x3.tar.gz" "$T/u3"
check "after rollover: at most 3 months a demand" "0" "$(xcount "$T/u3" "//ns1:listeMoisDrm[count(ns1:moisDrm)>3]")"
check "after rollover: only 2026-10..2026-12" "0" "$(xcount "$T/u3" "//ns1:moisDrm[not(ns1:periode='2026-10' or ns1:periode='2026-11' or ns1:periode='2026-12')]")"
check_true "evolved register validates" "validate '$T/u3'"
check "dateExport moved by the days" "2027-01-06T02:00:00.000+01:00" "$(xmllint --xpath "string(//*[local-name()='dateExport'])" "$T/u3"/*.xml)"

# radiated in a window: all items deleted, nothing else about it
rad=$(awk -F'\t' '$1 == "delete" && $3 == "CERFA" { print $2; exit }' "$T"/r[123]/changes.tsv)
if [ -n "$rad" ]; then
    f=$(grep -l "delete	$rad	CERFA" "$T"/r[123]/changes.tsv | head -1)
    check "radiated $rad: only deletes" "0" "$(awk -F'\t' -v n="$rad" '$2 == n && $1 != "delete"' "$f" | wc -l)"
fi

check_true "evolve into its own source fails" "! $EXE evolve --from '$T/r0' --out '$T/r0' --days 3 2>/dev/null"
check_true "evolve --days 0 fails" "! $EXE evolve --from '$T/r0' --out '$T/bad' --days 0 2>/dev/null"
finish
