#!/usr/bin/env python3
"""concurrency.py: one writer at a time; readers work during an ingest and see committed state only.

While an `ingest` of a few thousand demands runs (several batches), the test repeatedly:
  - starts a second writer (`ingest` of the same archive, `prune`): it must exit 5 at once with a
    message saying the store is busy;
  - reads: `stats` (exit 0), `changes --since 0` (exit 0; its output must be a prefix of the final
    change log, so a reader never sees uncommitted or rolled-back changes), `show` of a random
    demand (exit 0 with exactly the demand's final JSON, or exit 9 "not in the store": a fresh
    ingest creates each demand once, so any other answer is a partial demand).
Afterwards the store equals that of an undisturbed ingest of the same archive (change log byte for
byte), so the refused writers changed nothing.
environment: HARDENING_SEED (replay), HARDENING_DEMANDS (default 4500).
"""
import os
import random
import re
import time

import hlib
import kill9
from hlib import Failure, check, log


def body(d):
    seed = hlib.seed_from_env()
    rng = random.Random(seed)
    demands = int(os.environ.get("HARDENING_DEMANDS", 4500))
    reg = hlib.make_register(d, demands, rng.randrange(1, 2**32))
    a1 = hlib.export(reg, d("a1.tar.gz"), per_part=demands // 2 + 1)
    nums = sorted(hlib.archive_numbers(a1))
    ref = d("ref")
    hlib.sne(ref, "ingest", a1, timeout=900, check_rc=0)
    want = hlib.changes(ref)

    store = d("store")
    p = kill9.ingest_proc(store, a1)
    check(kill9.wait_offset(p, a1, 1), "the ingest ended before it read its archive")
    reads, refused, shows = [], 0, []
    busy_msgs = set()
    while p.poll() is None:
        w = hlib.sne(store, *rng.choice([["ingest", a1], ["prune", "--upto", "0"]]), timeout=60)
        if p.poll() is not None and w.returncode == 0:
            break  # the first writer had just finished: the second was legitimately alone
        msg = w.stderr.decode(errors="replace").strip()
        check(w.returncode == hlib.EXIT_BUSY, f"second writer during an ingest: exit {w.returncode}"
              f" ({msg}), expected 5")
        check(re.search(r"(?i)busy|another|lock|in use", msg), f"unclear busy message: {msg!r}")
        busy_msgs.add(msg)
        refused += 1
        st = hlib.sne(store, "stats", timeout=60)
        check(st.returncode == 0, f"stats during the ingest: exit {st.returncode}: {st.stderr!r}")
        reads.append(hlib.changes(store))
        n = rng.choice(nums)
        s = hlib.sne(store, "show", n, timeout=60)
        check(s.returncode in (0, 9), f"show during the ingest: exit {s.returncode}")
        shows.append((n, s.returncode, s.stdout))
    err = p.stderr.read().decode(errors="replace")
    p.wait()
    p.stderr.close()
    check(p.returncode == 0, f"the ingest failed: exit {p.returncode}: {err}")
    final = hlib.changes(store)
    hlib.diff_lines(final, want, "final change log vs an undisturbed ingest")
    for i, r in enumerate(reads):
        hlib.diff_lines(r, final[:len(r)], f"read {i + 1} during the ingest (not a prefix)")
    final_show = hlib.shows(store, {n for n, _, _ in shows})
    for n, rc, out in shows:
        if rc == 0:
            check(out == final_show[n], f"show {n} during the ingest is not the final demand "
                  f"(a partial demand was visible)")
    sizes = sorted({len(r) for r in reads})
    log(f"{refused} second writers refused ({' / '.join(sorted(busy_msgs))[:200]}); "
        f"{len(reads)} reads during the ingest saw {len(sizes)} distinct committed states "
        f"({sizes[:8]}...), {sum(1 for _, rc, _ in shows if rc == 0)} shows found a demand")
    check(refused >= 1, "no second writer could be tried while the ingest ran (too fast)")


if __name__ == "__main__":
    hlib.main("concurrency", body)
