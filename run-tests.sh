#!/usr/bin/env bash
# Builds snesync twice (warnings as errors; then with AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs the whole test suite on both builds. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
jobs=$(nproc)

echo "== release build, warnings as errors (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSNESYNC_WERROR=ON >/dev/null
cmake --build build -j"$jobs" >/dev/null
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== sanitizer build (build-asan/)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSNESYNC_SANITIZE=ON -DSNESYNC_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
# Everything again under the sanitizers, but the slowest suites: the 10000-demand kill-and-rerun
# loops and the 26 random kills of `sync` (about 4 minutes under ASan; the hardening kill loop and
# the sync kill test at each phase cover kills under ASan), the benchmark harness (timings mean
# nothing under ASan) and the Debian package build (it builds the tree once more, unsanitized).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -E '^(integration_kill_rerun_|bench_|sync_kill_random|package_)'
