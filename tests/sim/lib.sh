# lib.sh: shared helpers of the sim tests (sourced). Each script gets the path of snesync-sim and
# of export.xsd; the seed comes from SIM_TEST_SEED or is drawn at random, and is printed so that
# a failure can be replayed: SIM_TEST_SEED=<seed> ctest -R sim_
set -u

EXE=${1:?usage: $0 PATH/TO/snesync-sim PATH/TO/export.xsd}
XSD=${2:?usage: $0 PATH/TO/snesync-sim PATH/TO/export.xsd}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SEED=${SIM_TEST_SEED:-$(( (RANDOM << 15 | RANDOM) + 1 ))}
T=$(mktemp -d "${TMPDIR:-/tmp}/sim-test.XXXXXX")
PASSED=0
FAILED=0
echo "# $(basename "$0"): seed $SEED (replay with SIM_TEST_SEED=$SEED)"

trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $* (seed $SEED)"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi; }
check_true() { if eval "$2"; then ok "$1"; else not_ok "$1: false: $2"; fi; }

# sim ARGS...: runs snesync-sim, fails the test on a non-zero exit
sim() {
    if ! "$EXE" "$@" >"$T/last.out" 2>"$T/last.err"; then
        not_ok "snesync-sim $*: exit $? ($(cat "$T/last.err"))"
        return 1
    fi
}
# field NAME: a value printed by the last `sim` call (TAB-separated lines)
field() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$T/last.out"; }

# unpack ARCHIVE DIR: extracts the members
unpack() { rm -rf "$2" && mkdir -p "$2" && tar -xzmf "$1" -C "$2"; }

# xcount DIR XPATH: sum over the parts of count(XPATH); "ns1:x" in XPATH stands for the element
# x of the export namespace (xmllint --xpath cannot bind prefixes, so it becomes local-name())
xcount() {
    local total=0 f n xp
    xp=$(printf '%s' "$2" | sed "s/ns1:\([A-Za-z]*\)/*[local-name()='\1']/g")
    for f in "$1"/*.xml; do
        n=$(xmllint --xpath "count($xp)" "$f" 2>/dev/null || echo 0)
        total=$((total + n))
    done
    echo "$total"
}

# validate DIR: every part validates against the XSD
validate() {
    local f bad=0
    for f in "$1"/*.xml; do
        xmllint --noout --schema "$XSD" "$f" >/dev/null 2>"$T/xmllint.err" || bad=1
    done
    return $bad
}

finish() {
    echo "# passed $PASSED, failed $FAILED"
    [ "$FAILED" = 0 ]
}
