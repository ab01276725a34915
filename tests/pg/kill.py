#!/usr/bin/env python3
"""kill.py: kill -9 at random points of pg-apply; the database is always at a batch boundary, and
the run after the kills ends in the tables and state of an uninterrupted run.

Data: store A holds export A1 of a simulator register; store B is a copy of A that went on with
a depth-1 DRM refresh (D2), the register 30 days later (A2), A1 again (--force: every change
reverted) and A2 again, so that most items change two to four times after A's last seq and
batches must collapse them. The reference schema `ref` is loaded from A, then brought to B by one
uninterrupted pg-apply in one batch, and checked against B (pgtest.check_equal); batches of 200
must give the same tables.

A chain is a schema loaded from A and brought to B by pg-apply, killed 1 to 4 times, with a random
batch size each time (1 to 3000 changes, log-uniform), at a random point: the test hook
SNESYNC_TEST_KILL_AT at a random batch and phase (after its COPY, after its merge, after its
COMMIT: the seq it must be at is then known exactly), or a SIGKILL from outside after a random
delay within the length of an uninterrupted run. After every kill the schema's items equal the
change log replayed up to the seq its state says (no half batch), and its state names store B.
Then a last run without a kill: every table and the state row equal ref's. One chain kills the
first load itself (from B into an empty schema): after the kill there is no schema, or the whole
of it, and at most the load in progress (kload_snesync_new, marked as such), which the next run
drops. At least 25 kills a run (PG_TEST_KILLS).
"""
import json
import math
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgtest  # noqa: E402
from pgtest import ALL, check, log, sim  # noqa: E402

PHASES = ("pg-copied", "pg-merged", "pg-committed")


class Log:
    """Store B's change log, replayed up to any seq."""

    def __init__(self, env, store):
        p = env.snesync("changes", "--store", store, "--since", "0")
        self.changes = [json.loads(line) for line in p.stdout.splitlines()]
        self.last = self.changes[-1]["seq"]

    def items(self, upto):
        items = {}
        for c in self.changes:
            if c["seq"] > upto:
                break
            k = (c["entity"], c["numUnique"], c["key"])
            if c["op"] == "delete":
                items.pop(k, None)
            else:
                items[k] = c["after"]
        return items


def make_stores(env):
    n = os.environ.get("PG_TEST_DEMANDS", "1000")
    sim("generate", "--demands", n, "--seed", "31", "--out", env("r1"))
    sim("evolve", "--from", env("r1"), "--out", env("r2"), "--days", "30", "--seed", "31")
    for name, data, extra in (("A1", "r1", []), ("A2", "r2", []),
                              ("D2", "r2", ["--profondeur-drm", "1"])):
        entities = "DRM" if name == "D2" else ALL
        sim("export", "--data", env(data), "--out", env(name + ".tgz"), "--numero", name,
            "--entities", entities, "--etat", "ACTIVE", *extra)
    a, b = env("storeA"), env("storeB")
    env.snesync("ingest", "--store", a, env("A1.tgz"))
    pgtest.run(["cp", "-a", a, b])
    for name, extra in (("D2", []), ("A2", []), ("A1", ["--force"]), ("A2", [])):
        env.snesync("ingest", "--store", b, *extra, env(name + ".tgz"))
    return a, b


def batch_size(rng):
    return int(math.exp(rng.uniform(math.log(10), math.log(3000))))


def killed_run(env, args, delay, env_extra=None):
    """Runs pg-apply, SIGKILLed after `delay` seconds if still running (None: never); waits
    until the server has ended its session. Returns the exit status."""
    p = env.popen(*args, env_extra=env_extra)
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        p.kill()
    p.communicate(timeout=600)
    pgtest.wait_sessions_gone(env)
    return p.returncode


class Chain:
    def __init__(self, env, log_b, store_b, start_seq, schema):
        self.env, self.log, self.store, self.schema = env, log_b, store_b, schema
        self.seq = start_seq

    def check_boundary(self, what):
        """The schema's items are the log replayed up to its state's seq."""
        _, sid, seq, _ = pgtest.db_state(self.env, self.schema)
        check(sid == self.env.store_id, f"{what}: state names store {sid}")
        pgtest.diff_dicts(pgtest.db_items(self.env, self.schema), self.log.items(seq),
                          f"{what}: items against the log replayed up to seq {seq}")
        return seq

    def kill_once(self, rng, duration, what):
        """One run of pg-apply killed at a random point; True when the kill landed."""
        b = batch_size(rng)
        batches = math.ceil((self.log.last - self.seq) / b)
        args = ("pg-apply", "--store", self.store, "--schema", self.schema, "--batch", str(b))
        if rng.random() < 0.5:
            phase, m = rng.choice(PHASES), rng.randint(1, batches)
            rc = killed_run(self.env, args, None, {"SNESYNC_TEST_KILL_AT": f"{phase}:{m}"})
            check(rc == -signal.SIGKILL, f"{what}: the hook at {phase}:{m} did not kill "
                                         f"(exit {rc})")
            done = m if phase == "pg-committed" else m - 1
            want = min(self.seq + done * b, self.log.last)
            seq = self.check_boundary(f"{what} (batch {b}, killed at {phase}:{m})")
            check(seq == want, f"{what}: killed at {phase}:{m} with batches of {b} from seq "
                               f"{self.seq}, the state says {seq}, not {want}")
            self.seq = seq
            return True
        delay = rng.uniform(0, duration * 1.2)
        rc = killed_run(self.env, args, delay)
        check(rc in (0, -signal.SIGKILL), f"{what}: exit {rc}")
        self.seq = self.check_boundary(f"{what} (batch {b}, "
                                       f"{'killed' if rc else 'ran'} after {delay:.2f} s)")
        return rc != 0


def timed_run(env, store_a, store_b, schema, batch):
    env.snesync("pg-apply", "--store", store_a, "--schema", schema)
    t = time.monotonic()
    env.snesync("pg-apply", "--store", store_b, "--schema", schema, "--batch", str(batch))
    return time.monotonic() - t


def schemas(env, name):
    """The comment of each schema called `name` (a list of at most one; 'none' without a comment)."""
    return [r[0] for r in env.cluster.psql(
        f"SELECT coalesce(obj_description(oid, 'pg_namespace'), 'none') FROM pg_namespace "
        f"WHERE nspname = '{name}'")]


def kill_the_load(env, rng, store_b, ref):
    """Kills the first load into an empty schema: afterwards no schema, or all of it, and at most
    a load in progress, marked so, which the next run drops."""
    t = time.monotonic()
    env.snesync("pg-apply", "--store", store_b, "--schema", "ktime")
    took = time.monotonic() - t
    env.cluster.psql("DROP SCHEMA ktime CASCADE")
    rc = killed_run(env, ("pg-apply", "--store", store_b, "--schema", "kload"),
                    rng.uniform(0, 1.2 * took))
    exists = schemas(env, "kload") != []
    left = schemas(env, "kload_snesync_new")
    # A kill that lands after the load's commit, before the process exits, leaves all of it.
    check(exists or rc != 0, f"a load that exited {rc} left no schema")
    if rc != 0 and exists:
        check(pgtest.db_dump(env, "kload") == ref, "a load killed after its commit is not whole")
    check(left == [] or left[0].startswith("snesync: a load in progress"),
          f"a killed load left schema kload_snesync_new unmarked: {left}")
    env.snesync("pg-apply", "--store", store_b, "--schema", "kload")
    check(pgtest.db_dump(env, "kload") == ref, "the load after a killed one differs from ref")
    check(schemas(env, "kload_snesync_new") == [], "the load in progress was not dropped")
    log(f"load {'killed' if rc else 'done'}{' (its load in progress left)' if left else ''}, "
        f"then run again: equal to ref")
    return rc != 0


def body(env):
    rng = random.Random(pgtest.seed())
    kills_wanted = int(os.environ.get("PG_TEST_KILLS", "25"))
    store_a, store_b = make_stores(env)
    log_b = Log(env, store_b)
    start, env.store_id, _ = pgtest.last_seq(env, store_a)
    log(f"store A at seq {start}, store B at seq {log_b.last}")
    # the reference: every change in one batch, which is also the last (demande compared with
    # every demand) and changes most items several times
    timed_run(env, store_a, store_b, "ref", pgtest.BATCH_MAX)
    pgtest.check_equal(env, store_b, schema="ref", what="reference, in one batch")
    ref = pgtest.db_dump(env, "ref")
    duration = timed_run(env, store_a, store_b, "cal", 200)
    check(pgtest.db_dump(env, "cal") == ref, "batches of 200 differ from one batch")
    env.cluster.psql("DROP SCHEMA cal CASCADE")
    log(f"an uninterrupted run in batches of 200 takes {duration:.2f} s")
    kills = 1 if kill_the_load(env, rng, store_b, ref) else 0
    chain = 0
    while kills < kills_wanted:
        chain += 1
        check(chain <= 4 * kills_wanted, f"only {kills} kills landed in {chain - 1} chains")
        schema = f"k{chain}"
        env.snesync("pg-apply", "--store", store_a, "--schema", schema)
        c = Chain(env, log_b, store_b, start, schema)
        for i in range(rng.randint(1, 4)):
            if c.seq == log_b.last:
                break
            if c.kill_once(rng, duration, f"chain {chain}, kill {i + 1}"):
                kills += 1
        env.snesync("pg-apply", "--store", store_b, "--schema", schema, "--batch",
                    str(batch_size(rng)))
        check(pgtest.db_dump(env, schema) == ref, f"chain {chain}: the final tables or state "
                                                  f"differ from the uninterrupted run's")
        log(f"chain {chain}: equal to the uninterrupted run ({kills} kills so far)")
        env.cluster.psql(f"DROP SCHEMA {schema} CASCADE")
    log(f"{kills} kills in {chain} chains")


if __name__ == "__main__":
    pgtest.main("pg-kill", body)
