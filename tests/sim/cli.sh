#!/usr/bin/env bash
# The command line: --help everywhere, errors are reported with a non-zero exit.
. "$(dirname "$0")/lib.sh"

for c in "" generate evolve export; do
    if out=$($EXE $c --help 2>&1); then
        check_true "'$c --help' prints a usage" "echo \"\$out\" | grep -q usage"
    else
        not_ok "'$c --help' exits non-zero"
    fi
done
check_true "no command: non-zero" "! $EXE >/dev/null 2>&1"
check_true "unknown command: non-zero" "! $EXE frobnicate >/dev/null 2>&1"
check_true "generate without --seed: non-zero" "! $EXE generate --demands 3 --out '$T/g' 2>/dev/null"
check_true "generate --demands x: non-zero" "! $EXE generate --demands x --seed 1 --out '$T/g' 2>/dev/null"
check_true "generate --date bad: non-zero" "! $EXE generate --demands 3 --seed 1 --out '$T/g' --date 2026-13-01 2>/dev/null"
check_true "generate unknown option: non-zero" "! $EXE generate --demands 3 --seed 1 --out '$T/g' --frob 2>/dev/null"
sim generate --demands 50 --seed "$SEED" --out "$T/g" --date 2026-06-15 || exit 1
check "generate --date: summer time snapshot" "2026-06-15T02:00:00.000+02:00" "$(field snapshot)"
sim generate --demands 0 --seed "$SEED" --out "$T/z" || exit 1
sim export --data "$T/z" --out "$T/z.tar.gz" --entities ALL --etat ACTIVE || exit 1
check "empty register: zero demands" "0" "$(field nombreDemandes)"
unpack "$T/z.tar.gz" "$T/zu"
check_true "empty export validates" "validate '$T/zu'"
finish
