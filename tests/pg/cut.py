#!/usr/bin/env python3
"""cut.py: the connection cut mid-batch: a clear error, nothing half-applied, the next run
converges.

Store A holds export A1, store B also the register 30 days later (A2). The schema is loaded from
A, then pg-apply of B in batches of 50 is stopped by the test hook SNESYNC_TEST_STOP_AT (SIGSTOP)
inside its third batch (after its COPY; then, on a second round, after its merge, before its
COMMIT); while it is stopped, the server is stopped at once (`pg_ctl stop -m immediate`: the
connection goes as in a crash) and pg-apply is continued. It must exit 11 with a message that
says the connection failed and the batch was not kept. The server is started again: the schema
is at the end of batch 2 exactly (items = the log replayed up to that seq). The next run
converges to the tables and state of an uninterrupted run. A run while the server is down exits
11 too, and touches nothing.
"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgtest  # noqa: E402
from pgtest import EXIT_DATABASE, check, log  # noqa: E402

BATCH = 50


def stopped(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


def cut_at(env, store_b, phase, start, ref):
    env.snesync("pg-apply", "--store", env("A"), "--schema", "cut")
    p = env.popen("pg-apply", "--store", store_b, "--schema", "cut", "--batch", str(BATCH),
                  env_extra={"SNESYNC_TEST_STOP_AT": f"{phase}:3"})
    try:
        pgtest.wait_until(lambda: p.poll() is not None or stopped(p.pid), f"stopped at {phase}")
        check(p.poll() is None, f"pg-apply ended (exit {p.returncode}) before {phase}:3")
        env.cluster.stop("immediate")
        os.kill(p.pid, signal.SIGCONT)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    err = err.decode()
    check(p.returncode == EXIT_DATABASE, f"cut at {phase}: exit {p.returncode}: {err}")
    check("connection" in err and "keeps its last committed batch" in err,
          f"cut at {phase}: the message: {err}")
    log(f"cut at {phase}: {err.strip()}")
    env.snesync("pg-apply", "--store", store_b, "--schema", "cut", check_rc=EXIT_DATABASE)
    env.cluster.start()
    _, _, seq, _ = pgtest.db_state(env, "cut")
    check(seq == start + 2 * BATCH, f"cut at {phase}: the schema is at seq {seq}, not at the end "
                                    f"of batch 2 ({start + 2 * BATCH})")
    want, _ = pgtest.replay(env, store_b, upto=seq)
    pgtest.diff_dicts(pgtest.db_items(env, "cut"), want, f"cut at {phase}, seq {seq}")
    env.snesync("pg-apply", "--store", store_b, "--schema", "cut", "--batch", str(BATCH))
    check(pgtest.db_dump(env, "cut") == ref, f"cut at {phase}: the run after differs from ref")
    log(f"cut at {phase}: at seq {seq} after the cut, then equal to the uninterrupted run")
    env.cluster.psql("DROP SCHEMA cut CASCADE")


def body(env):
    a, b = pgtest.two_months(env, 400, 51)
    start, ref = pgtest.reference(env, a, b)
    for phase in ("pg-copied", "pg-merged"):
        cut_at(env, b, phase, start, ref)


if __name__ == "__main__":
    pgtest.main("pg-cut", body)
