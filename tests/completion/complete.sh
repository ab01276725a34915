#!/usr/bin/env bash
# complete.sh COMPLETION_SCRIPT BUILD_DIR: the bash completion offers the binaries' commands and
# options, values of --etat and --entities, and archive names for ingest.
set -euo pipefail
script=$1 build=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/bin" "$t/files/dir.store"
ln -s "$build/engine/snesync" "$t/bin/snesync"
ln -s "$build/sim/snesync-sim" "$t/bin/snesync-sim"
touch "$t/files/a.tar.gz" "$t/files/notes.txt"
export PATH="$t/bin:$PATH"
# shellcheck source=/dev/null
source "$script"

fail=0
# expect "WORDS..." "EXPECTED (space-separated, sorted)": completes the last word of WORDS.
expect()
{
    local line=$1 want=$2
    read -ra COMP_WORDS <<<"$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _snesync
    local got
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//')
    if [[ $got != "$want" ]]; then
        echo "FAIL: '$line' completes to '$got', expected '$want'"
        fail=1
    fi
}

expect "snesync dr" "drm-refresh"
expect "snesync pg" "pg-apply"
expect "snesync ingest --js" "--json"
expect "snesync sync --stall" "--stall-timeout"
expect "snesync sync --etat R" "RADIEE"
expect "snesync sync --entities CERFA,D" "CERFA,DALO CERFA,DRM"
expect "snesync-sim ev" "evolve"
expect "snesync-sim serve --gdm" "--gdm-page-size"
cd "$t/files"
expect "snesync ingest " "a.tar.gz dir.store"
expect "snesync stats --store d" "dir.store"
exit $fail
