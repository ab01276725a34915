#!/usr/bin/env python3
"""kill9.py: kill -9 at random points of `snesync ingest`; after each restart the store and the
change log equal those of an uninterrupted run.

Two scenarios, each a series of chains: a chain starts from its initial store, runs the ingest and
kills it (SIGKILL) at a random point, 1 to 4 times in a row (each restart resumes the interrupted
run), then lets it finish. A point is a fraction f of the archive, uniform in [0, 1.15]: for f <= 1
the process is killed once its archive file offset (/proc/PID/fdinfo) reaches f x the archive size,
so points land at the same place in the data whatever the machine's load; for f > 1 it is killed
at a random time in the phase after the whole archive was read (verification, the sweep of absent
demands, the final commits), scaled on that phase's length in the uninterrupted run.
  fresh    an empty store ingesting export A1
  evolve   a store holding A1 ingesting A2, the register 30 days later (updates, deletions by
           the final sweep)
After every kill: the store opens (`stats`) and `changes --since 0` is a prefix of the
uninterrupted run's (nothing uncommitted visible, nothing lost or duplicated). After every chain:
`changes --since 0` equals the uninterrupted run's byte for byte (seq included) and `show` of the
demands equals it too (the stored state of every demand, and `show` of a sample: hlib.snapshot).

environment: HARDENING_SEED (replay), HARDENING_FULL=1 (the long version: 24000 demands, 100
kills), HARDENING_DEMANDS, HARDENING_KILL_POINTS (kills in all, at least 25 by default).
The seed fixes the data and the kill points (a point past the archive's end is a delay, so where
it lands depends on the machine's speed).
"""
import os
import random
import signal
import subprocess
import time

import hlib
from hlib import Failure, check, log


def ingest_proc(store, archive):
    e = dict(os.environ)
    e.pop("SNESYNC_STORE", None)
    return subprocess.Popen([hlib.SNESYNC, "ingest", "--store", store, archive],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=e)


def archive_offset(pid, archive):
    """Offset of the process's descriptor on `archive`, or None (not opened yet, or gone)."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == archive:
                    with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                        return int(f.readline().split()[1])
            except (OSError, ValueError, IndexError):
                continue
    except OSError:
        pass
    return None


def wait_offset(p, archive, target, deadline=900):
    """Polls until the archive offset reaches target (bytes); False if the process ended first."""
    t_end = time.monotonic() + deadline
    while p.poll() is None and time.monotonic() < t_end:
        off = archive_offset(p.pid, archive)
        if off is not None and off >= target:
            return True
        time.sleep(0.002)
    return p.poll() is None


def timed_ingest(store, archive):
    """The uninterrupted run; returns (seconds, seconds after the archive was read to its end)."""
    p = ingest_proc(store, archive)
    t0 = time.monotonic()
    wait_offset(p, archive, os.path.getsize(archive))
    t_eof = time.monotonic()
    err = p.stderr.read().decode(errors="replace")
    p.wait()
    p.stderr.close()
    t_end = time.monotonic()
    check(p.returncode == 0, f"uninterrupted ingest of {archive}: exit {p.returncode}: {err}")
    return t_end - t0, max(t_end - t_eof, 0.05)


def body(d):
    seed = hlib.seed_from_env()
    rng = random.Random(seed)
    full = os.environ.get("HARDENING_FULL") == "1"
    demands = int(os.environ.get("HARDENING_DEMANDS", 24000 if full else 2000))
    points = int(os.environ.get("HARDENING_KILL_POINTS", 100 if full else 26))
    log(f"{demands} demands, {points} kill points")

    reg1 = hlib.make_register(d, demands, rng.randrange(1, 2**32), "reg1")
    reg2 = hlib.evolve(d, reg1, 30, rng.randrange(1, 2**32), "reg2")
    per_part = demands // 3 + 1
    a1 = hlib.export(reg1, d("a1.tar.gz"), per_part=per_part)
    a2 = hlib.export(reg2, d("a2.tar.gz"), per_part=per_part)
    nums = hlib.archive_numbers(a1) | hlib.archive_numbers(a2)

    # The uninterrupted runs.
    t1, tail1 = timed_ingest(d("ref1"), a1)
    hlib.copy_store(d("ref1"), d("base"))
    want1 = hlib.snapshot(d("ref1"), nums)
    hlib.copy_store(d("base"), d("ref2"))
    t2, tail2 = timed_ingest(d("ref2"), a2)
    want2 = hlib.snapshot(d("ref2"), nums)
    log(f"uninterrupted: A1 {t1:.2f} s ({tail1:.2f} after reading), {len(want1[0])} changes; "
        f"A2 {t2:.2f} s ({tail2:.2f} after reading), "
        f"{len(want2[0]) - len(want1[0])} more changes")
    check(len(want2[0]) > len(want1[0]), "A2 brought no change: the test data is too small")

    scenarios = [("fresh", None, a1, want1, tail1, points - points // 2),
                 ("evolve", d("base"), a2, want2, tail2, points // 2)]
    kills_total = 0
    chain_no = 0
    for name, base, archive, want, tail, target in scenarios:
        size = os.path.getsize(archive)
        kills = 0
        while kills < target:
            chain_no += 1
            store = d(f"c{chain_no}")
            if base:
                hlib.copy_store(base, store)
            links = min(rng.randint(1, 4), target - kills)
            for link in range(links):
                f = rng.uniform(0, 1.15)
                p = ingest_proc(store, archive)
                if f <= 1:
                    where = f"{f * 100:.1f}% of the archive"
                    wait_offset(p, archive, int(f * size))
                else:
                    delay = (f - 1) / 0.15 * tail
                    where = f"{delay:.3f} s after reading it all"
                    wait_offset(p, archive, size)
                    time.sleep(delay)
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
                    p.wait()
                    kills += 1
                    hit = "killed"
                else:
                    err = p.stderr.read().decode(errors="replace")
                    check(p.returncode == 0, f"{name} chain {chain_no}: ingest exit {p.returncode}: {err}")
                    hit = "had finished"
                p.stderr.close()
                if not os.path.exists(store):
                    got = []  # killed before it created the store: nothing committed
                else:
                    st = hlib.sne(store, "stats", timeout=120)
                    check(st.returncode == 0, f"{name} chain {chain_no}: stats after the kill at "
                          f"{where}: exit {st.returncode}: {st.stderr.decode(errors='replace')}")
                    got = hlib.changes(store)
                log(f"  {name} chain {chain_no} link {link + 1}: {hit} at {where}, "
                    f"{len(got)} changes committed")
                hlib.diff_lines(got, want[0][:len(got)],
                                f"{name} chain {chain_no}, after the kill at {where} "
                                f"(not a prefix of the uninterrupted log)")
                if hit == "had finished":
                    break  # a later kill would only test a finished run again
            p = hlib.sne(store, "ingest", archive, timeout=900)
            check(p.returncode == 0, f"{name} chain {chain_no}: the restarted ingest: exit "
                  f"{p.returncode}: {p.stderr.decode(errors='replace')}")
            got = hlib.snapshot(store, nums)
            hlib.compare_snapshots(got, want, f"{name} chain {chain_no}")
            log(f"  {name} chain {chain_no}: final state equals the uninterrupted run's "
                f"({len(got[1])} demands compared, {len(got[2])} shown)")
            hlib.shutil.rmtree(store)
        kills_total += kills
    log(f"{kills_total} kills in {chain_no} chains, every restart converged")
    check(kills_total >= min(points, 25), "too few kills landed")


if __name__ == "__main__":
    hlib.main("kill9", body)
