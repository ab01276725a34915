#!/usr/bin/env bash
# The public header stands alone: it includes standard C headers only, and compiles with its own
# directory as the only include path, warnings as errors, in strict C99 and C11. The CLI uses the
# engine through it alone. Usage: header.sh CC INCLUDE_DIR CLI_DIR PROBE.c
set -euo pipefail
cc=$1 include=$2 cli=$3 probe=$4
header=$include/snesync.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

std='assert|complex|ctype|errno|fenv|float|inttypes|iso646|limits|locale|math|setjmp|signal'
std+='|stdalign|stdarg|stdatomic|stdbool|stddef|stdint|stdio|stdlib|stdnoreturn|string|tgmath'
std+='|threads|time|uchar|wchar|wctype'
others=$(grep -E '^[[:space:]]*#[[:space:]]*include' "$header" |
  grep -Ev "^[[:space:]]*#[[:space:]]*include[[:space:]]*<($std)\.h>" || true)
if [ -n "$others" ]; then
  echo "FAIL: snesync.h includes more than standard C headers:"; echo "$others"; fail=1
else
  echo "ok: snesync.h includes standard C headers only"
fi

for std in c99 c11; do
  if env -u CPATH -u C_INCLUDE_PATH "$cc" -std=$std -pedantic -Wall -Wextra -Wstrict-prototypes \
      -Werror -I "$include" -c "$probe" -o "$tmp/probe.o" 2>"$tmp/err"; then
    echo "ok: a program including snesync.h alone compiles ($std, -Werror)"
  else
    echo "FAIL: snesync.h does not compile on its own ($std):"; cat "$tmp/err"; fail=1
  fi
done

# engine/cli/: snesync.h and the CLI's own headers (those in engine/cli/, named without a
# folder), nothing else in quotes.
own=$(cd "$cli" && ls *.h | sed 's/\.h$//' | paste -sd'|')
bad=$(grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$cli"/*.c "$cli"/*.h |
  grep -Ev "\"(snesync|$own)\\.h\"" || true)
if [ -n "$bad" ]; then
  echo "FAIL: engine/cli/ includes engine headers besides snesync.h:"; echo "$bad"; fail=1
else
  echo "ok: engine/cli/ includes snesync.h and its own headers only"
fi
exit $fail
