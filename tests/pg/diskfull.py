#!/usr/bin/env python3
"""diskfull.py: the server's disk full mid-run: a clear error, nothing half-applied, the next run
converges.

The sink's tables go to a tablespace on a small tmpfs of their own (mounted by the test: it needs
root, and is skipped, exit 77, where `mount -t tmpfs` is refused); the staging tables and the WAL
stay where they were (a full WAL disk is a PANIC of the whole server, not a failed statement), so
the statement that fails is a batch's merge into the tables. Store A holds export A1, store B also the register 30 days later (A2).
The schema is loaded from A into the tablespace; then the tmpfs is filled by a file of the test's
until SLACK bytes are left, and pg-apply of B in batches of BATCH must exit 11 (database failure)
with SQLSTATE 53100 and the words that say the last committed batch is kept. The schema is then
at a batch boundary: its items are the change log replayed up to the seq its state says. A first load
into another schema, with room for half of it, fails the same way and leaves nothing. The
file is removed, and the next run converges to the tables and state of an uninterrupted run.
"""
import os
import pwd
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgtest  # noqa: E402
from pgtest import EXIT_DATABASE, Skip, check, log  # noqa: E402

BATCH = 50
SIZE_MB = 48         # the tmpfs: room for the load of A with some to spare
SLACK = 64 * 1024    # bytes left free once filled: a few batches fit, not the month


def mount_tmpfs(path):
    os.makedirs(path)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m,mode=0700", "tmpfs", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise Skip(f"cannot mount a tmpfs (root needed): {p.stdout.decode().strip()}")
    os.chown(path, *postgres_ids())


def postgres_ids():
    """The server's user (the tests run it as postgres when they are root, as mounting needs)."""
    pw = pwd.getpwnam("postgres")
    return pw.pw_uid, pw.pw_gid


def fill(path, slack):
    """Writes `path` until its filesystem has `slack` bytes free (tmpfs: no reserved blocks)."""
    st = os.statvfs(os.path.dirname(path))
    free = st.f_bavail * st.f_frsize
    check(free > slack, f"the tmpfs has only {free} bytes free after the load")
    with open(path, "wb") as f:
        chunk = b"\0" * (1 << 20)
        left = free - slack
        while left > 0:
            left -= f.write(chunk[:min(left, len(chunk))])
    st = os.statvfs(os.path.dirname(path))
    return st.f_bavail * st.f_frsize


def body(env):
    mnt = env("tiny")
    try:
        mount_tmpfs(mnt)
    except Skip as e:
        log(f"SKIP: {e}")
        sys.exit(pgtest.SKIP)
    try:
        run_full(env, mnt)
    finally:
        # The server lets go of the tablespace's files when it stops: env.cleanup stops it after
        # this, so the mount is detached now (lazily) and freed once they are closed.
        subprocess.run(["umount", "-l", mnt], check=False)


def run_full(env, mnt):
    a, b = pgtest.two_months(env, 300, 61)
    start, ref = pgtest.reference(env, a, b)

    os.makedirs(os.path.join(mnt, "ts"))
    os.chown(os.path.join(mnt, "ts"), *postgres_ids())
    env.cluster.psql(f"CREATE TABLESPACE tiny LOCATION '{os.path.join(mnt, 'ts')}'")
    tiny = {"PGOPTIONS": "-c default_tablespace=tiny"}
    env.snesync("pg-apply", "--store", a, "--schema", "tight", env_extra=tiny)
    check(env.cluster.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'tight' AND "
                           "tablespace = 'tiny'") != [["0"]], "the tables are in the tablespace")

    filler = os.path.join(mnt, "filler")
    free = fill(filler, SLACK)
    log(f"tmpfs filled: {free} bytes free")
    p = env.snesync("pg-apply", "--store", b, "--schema", "tight", "--batch", str(BATCH),
                    env_extra=tiny, check_rc=None)
    err = p.stderr.decode()
    check(p.returncode == EXIT_DATABASE, f"disk full: exit {p.returncode}, expected "
                                         f"{EXIT_DATABASE}: {err}")
    check("53100" in err and "keeps its last committed batch" in err and "{" not in err,
          f"disk full: the message: {err}")
    log(f"disk full: {err.strip()}")

    _, _, seq, _ = pgtest.db_state(env, "tight")
    check(start <= seq < pgtest.last_seq(env, b)[0] and (seq - start) % BATCH == 0,
          f"disk full: the schema is at seq {seq}, not at a batch boundary after {start}")
    want, _ = pgtest.replay(env, b, upto=seq)
    pgtest.diff_dicts(pgtest.db_items(env, "tight"), want, f"disk full, at seq {seq}")
    log(f"disk full: the schema is at seq {seq} ({(seq - start) // BATCH} batches applied), "
        f"its items the log replayed up to it")

    # A first load with room for half of its tables: the same failure, mid-copy (its items go
    # over two connections), and neither the schema nor the load in progress is left.
    half = int(env.cluster.psql("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN "
                                "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
                                "'tight' AND c.relkind = 'r'")[0][0]) // 2
    os.truncate(filler, os.path.getsize(filler) - half)
    p = env.snesync("pg-apply", "--store", a, "--schema", "full", env_extra=tiny, check_rc=None)
    err = p.stderr.decode()
    check(p.returncode == EXIT_DATABASE and "53100" in err, f"a load on a full disk: exit "
                                                            f"{p.returncode}: {err}")
    check(env.cluster.psql("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'full%'") ==
          [["0"]], "a load that failed on a full disk left a schema")
    log(f"a load with room for half of it: {err.strip()[:140]}; nothing left")

    os.remove(filler)
    env.snesync("pg-apply", "--store", b, "--schema", "tight", "--batch", str(BATCH),
                env_extra=tiny)
    check(pgtest.db_dump(env, "tight") == ref, "the run after the disk was freed differs from ref")
    log("room again: the next run equals the uninterrupted run")
    env.cluster.psql("DROP SCHEMA tight CASCADE")
    env.cluster.psql("DROP TABLESPACE tiny")


if __name__ == "__main__":
    pgtest.main("pg-diskfull", body)
