#!/usr/bin/env python3
"""sync.py: pg-apply keeps a PostgreSQL database equal to the store, through the jobs of a year.

On simulator data (a register, then the same register 30 and 125 days later), each step ingests
an export and runs pg-apply; after each, the tables equal the change log replayed and the store's
demands (pgtest.check_equal: items, demande with every demand's state and date, the state row):
  first load      A1, all entities, national: the schema is made and loaded from the store
  second run      nothing to do: no table changes, no transaction (applied_at unchanged)
  DRM refresh     depth 1 on the register 30 days later, in small batches: DRM items change, and
                  demands whose date of last modification moved without a DRM change get it in
                  demande too (their other items arrive with the next full export)
  next month      A2, all entities: creates, updates, deletes, and the sweep of absent demands
                  (radiated ones: their rows and demande rows go); CERFA rows it updates that
                  someone deleted from the table before are inserted again
  department      an export of one department of the register 125 days later: only its demands
  RADIEE          the radiated demands of that register: demande says RADIEE
  sync            `snesync sync --pg-apply` against the simulator's server (config file with
                  pg-dsn and pg-schema): the job's changes reach the database in the same run
  new entity      a schema without the table of an entity (made before it existed) gets it
environment: PG_TEST_DEMANDS (default 1500)
"""
import collections
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgtest  # noqa: E402
from pgtest import ALL, check, check_equal, log, sim  # noqa: E402


def pg_apply(env, store, *args):
    p = env.snesync("pg-apply", "--store", store, "--json", *args)
    return json.loads(p.stdout)


def main_department(items):
    """The department (export code: 38, 2A, 974) holding the most demands."""
    deps = collections.Counter(num[:3] for (_, num, _) in items)
    d = deps.most_common(1)[0][0]
    return d[1:] if d[0] == "0" else d


def ingest(env, store, name, *export_args, data):
    sim("export", "--data", env(data), "--out", env(name + ".tar.gz"), "--numero", name,
        *export_args)
    env.snesync("ingest", "--store", store, env(name + ".tar.gz"))


def deleted_by_someone(env, store, since):
    """Deletes from sne.cerfa up to 40 rows that the changes after `since` update once (an SI's
    hand, or a bug of theirs): the update must put them back. Returns how many."""
    p = env.snesync("changes", "--store", store, "--since", str(since))
    ops = collections.Counter()
    for line in p.stdout.splitlines():
        c = json.loads(line)
        if c["entity"] == "CERFA":
            ops[c["numUnique"]] += 1 if c["op"] == "update" else 100
    nums = sorted(n for n, k in ops.items() if k == 1)[:40]
    check(nums, "the next month updates some CERFA")
    env.cluster.psql("DELETE FROM sne.cerfa WHERE num_unique IN (%s)" %
                     ",".join(f"'{n}'" for n in nums))
    return len(nums)


def sync_chained(env, store, data):
    """sync --pg-apply against `snesync-sim serve`, configured by a file."""
    srv = subprocess.Popen([pgtest.SIM, "serve", "--data", env(data), "--port", "0",
                            "--retry-after", "1", "--min-poll", "1", "--work-dir", env("srv")],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = srv.stdout.readline().strip()
        check(line.startswith("listening on http://127.0.0.1:"), f"server ready: {line!r}")
        with open(env("snesync.conf"), "w") as f:
            f.write(f"server = {line.split()[-1]}\nstore = {store}\nentities = ALL\n"
                    f"pg-dsn = host={env.cluster.dir} port={env.cluster.port} dbname=postgres\n"
                    f"pg-schema = si\npg-batch = 333\n")
        p = env.snesync("sync", "--config", env("snesync.conf"), "--pg-apply", "--json")
        lines = p.stdout.decode().splitlines()
        check(len(lines) == 1, f"sync --pg-apply --json prints 1 line, not {len(lines)}")
        report = json.loads(lines[0])
        check(report["ok"] and report["command"] == "sync", f"sync --pg-apply: {report}")
        out = report["pgApply"]
        check(out["schema"] == "si" and out["changes"] > 0, f"pg-apply after sync: {out}")
        log(f"sync --pg-apply: {out['changes']} changes in {out['batches']} batches")
    finally:
        srv.terminate()
        srv.wait(timeout=30)


def new_entity(env):
    """A schema made before an entity existed (its table dropped here, as a snesync that knew no
    DALO would have made it) gets the entity's table, with its key, and its items."""
    store = env("store-e")
    ingest(env, store, "E1", "--entities", "CERFA,EVT", "--etat", "ACTIVE", data="r1")
    pg_apply(env, store, "--schema", "older")
    env.cluster.psql("DROP TABLE older.dalo")
    ingest(env, store, "E2", "--entities", ALL, "--etat", "ACTIVE", data="r2")
    pg_apply(env, store, "--schema", "older", "--batch", "1000")
    keys = env.cluster.psql("SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND "
                            "conrelid = 'older.dalo'::regclass")
    check(keys == [["1"]], "the new entity's table has its primary key")
    check_equal(env, store, schema="older", what="an entity the schema lacked")


def body(env):
    n = int(os.environ.get("PG_TEST_DEMANDS", "1500"))
    sim("generate", "--demands", str(n), "--seed", "21", "--out", env("r1"))
    sim("evolve", "--from", env("r1"), "--out", env("r2"), "--days", "30", "--seed", "21")
    sim("evolve", "--from", env("r2"), "--out", env("r3"), "--days", "95", "--seed", "22")
    store = env("store")

    ingest(env, store, "A1", "--entities", ALL, "--etat", "ACTIVE", data="r1")
    out = pg_apply(env, store)
    check(out["loaded"] and not out["rebuilt"], f"first run loads the schema: {out}")
    items = check_equal(env, store, what="first load")

    before = pgtest.db_dump(env)
    stamp = env.cluster.psql("SELECT applied_at FROM sne.snesync_state")
    out = pg_apply(env, store)
    check(out["batches"] == 0 and out["changes"] == 0, f"second run does nothing: {out}")
    check(pgtest.db_dump(env) == before, "second run: the tables changed")
    check(env.cluster.psql("SELECT applied_at FROM sne.snesync_state") == stamp,
          "second run: the state row was written")

    ingest(env, store, "D2", "--entities", "DRM", "--etat", "ACTIVE", "--profondeur-drm", "1",
           data="r2")
    out = pg_apply(env, store, "--batch", "97")
    check(out["reconciled"], f"after a DRM-only export, demande is compared: {out}")
    check_equal(env, store, what="DRM refresh")

    before_a2 = pgtest.last_seq(env, store)[0]
    ingest(env, store, "A2", "--entities", ALL, "--etat", "ACTIVE", data="r2")
    gone = deleted_by_someone(env, store, before_a2)
    out = pg_apply(env, store, "--batch", "500")
    check(out["itemsDeleted"] > 0 and out["demandesDeleted"] > 0,
          f"next month deletes items and demands (the sweep): {out}")
    check_equal(env, store, what="next month")
    log(f"next month: the {gone} CERFA rows someone deleted, which it updates, are back")

    dep = main_department(items)
    ingest(env, store, "A3D", "--entities", ALL, "--etat", "ACTIVE", "--departements", dep,
           data="r3")
    out = pg_apply(env, store, "--batch", "250")
    check(out["changes"] > 0, f"department {dep}: changes applied: {out}")
    check_equal(env, store, what=f"department {dep}")

    ingest(env, store, "R3", "--entities", ALL, "--etat", "RADIEE", data="r3")
    pg_apply(env, store)
    check_equal(env, store, what="RADIEE")
    radiees = env.cluster.psql("SELECT count(*) FROM sne.demande WHERE etat_demande = 'RADIEE'")
    check(int(radiees[0][0]) > 0, "RADIEE demands in demande")

    pg_apply(env, store, "--schema", "si")
    sync_chained(env, store, "r3")
    check_equal(env, store, schema="si", what="sync --pg-apply (schema si)")
    pg_apply(env, store)
    check_equal(env, store, what="sne after the sync")
    new_entity(env)


if __name__ == "__main__":
    pgtest.main("pg-sync", body)
