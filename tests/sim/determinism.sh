#!/usr/bin/env bash
# Same seed, same bytes: register files, export archives, changes.tsv and the GDM feed.
#
# Across builds too, on request: SIM_GOLDEN=FILE records the SHA-256 of this run's outputs in FILE
# when FILE does not exist (its first line holds the seed), and when it does, replays FILE's seed
# and compares. Record with one build, compare with another (a refactoring must not change a
# byte). No hash is written in this script: they depend on the platform's libm (log, pow) as
# much as on the code.
. "$(dirname "$0")/lib.sh"

GOLDEN=${SIM_GOLDEN:-}
if [ -n "$GOLDEN" ] && [ -f "$GOLDEN" ]; then
    SEED=$(sed -n '1s/^seed //p' "$GOLDEN")
    echo "# golden: seed $SEED, from $GOLDEN"
fi

sim generate --demands 1500 --seed "$SEED" --out "$T/a" || exit 1
sim generate --demands 1500 --seed "$SEED" --out "$T/b" || exit 1
for f in register.txt demands.bin journal.bin mouvements.tsv; do
    check_true "generate: $f identical" "cmp -s '$T/a/$f' '$T/b/$f'"
done
sim generate --demands 1500 --seed "$((SEED + 1))" --out "$T/c" || exit 1
check_true "generate: another seed gives another register" "! cmp -s '$T/a/demands.bin' '$T/c/demands.bin'"

sim export --data "$T/a" --out "$T/a.tar.gz" --entities ALL --etat ACTIVE --numero D1 || exit 1
sha_a=$(field sha256)
sim export --data "$T/b" --out "$T/b.tar.gz" --entities ALL --etat ACTIVE --numero D1 || exit 1
check "export: same sha256" "$sha_a" "$(field sha256)"
check_true "export: identical archives" "cmp -s '$T/a.tar.gz' '$T/b.tar.gz'"
check "export: printed sha256 is the file's" "$sha_a" "$(sha256sum "$T/a.tar.gz" | cut -d' ' -f1)"
check "export: printed size is the file's" "$(stat -c %s "$T/a.tar.gz")" "$(
    sim export --data "$T/a" --out "$T/a2.tar.gz" --entities ALL --etat ACTIVE --numero D1 && field size)"

sim evolve --from "$T/a" --out "$T/a1" --days 9 || exit 1
sim evolve --from "$T/b" --out "$T/b1" --days 9 || exit 1
for f in changes.tsv mouvements.tsv demands.bin journal.bin register.txt; do
    check_true "evolve: $f identical" "cmp -s '$T/a1/$f' '$T/b1/$f'"
done
sim evolve --from "$T/a" --out "$T/a2" --days 9 --seed "$((SEED + 7))" || exit 1
check_true "evolve: another seed gives other changes" "! cmp -s '$T/a1/changes.tsv' '$T/a2/changes.tsv'"
check_true "evolve: the source register is untouched" "cmp -s '$T/a/demands.bin' '$T/b/demands.bin'"

if [ -n "$GOLDEN" ]; then
    { echo "seed $SEED"; (cd "$T" && sha256sum a/* a.tar.gz a1/* a2/*); } >"$T/golden"
    if [ -f "$GOLDEN" ]; then
        check_true "golden: the outputs of $GOLDEN, byte for byte" "diff '$GOLDEN' '$T/golden'"
    else
        cp "$T/golden" "$GOLDEN" && ok "golden: outputs recorded in $GOLDEN"
    fi
fi
finish
