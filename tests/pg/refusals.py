#!/usr/bin/env python3
"""refusals.py: no silent gap, and failures that leave the database as it was.

Stores: A holds export A1; B is a copy of A that also ingested A2 (the register 30 days later);
C is another store (its own identity) that ingested A1 too.
  ahead        a schema filled from B, then pg-apply of A (same identity, older): exit 10, the
               schema unchanged; --rebuild reloads it from A
  foreign      the schema filled from A, then pg-apply of C: exit 10; with --rebuild it becomes
               C's (equal to C), and the indexes (an expression index on a CERFA field, one on the
               partitioned item table) and the grants (schema, tables) an SI added are on the new
               tables; a view on its tables stops a rebuild before anything is done (exit 10,
               naming the view)
  pruned       a schema at A's seq and a copy of B pruned past it: exit 10 naming the missed
               changes; --rebuild gives the tables of a fresh load of that store
  prune        prune --pg-applied deletes the changes the schema applied and no more (also with a
               lower --upto); then pg-apply goes on; of a schema of another store, or of no
               schema: exit 10
  layout       a newer layout version, or one below 1: exit 10, also with --rebuild; a schema of
               version 1 is migrated to the current one by the next run (no change to apply),
               its rows unchanged; a schema snesync did not make: exit 10
  constraint   a CHECK constraint an SI added rejects the events of one demand: exit 11 naming
               the constraint, no item data in the message; in one batch nothing is applied, in
               batches of 40 those before the rejected one are, exactly; without the constraint
               the next run converges
  leftover     a load in progress that a killed run left (<schema>_snesync_new, marked so) is
               dropped by the next load; a schema of that name that snesync did not make stops
               the load (exit 10), both schemas left as they were
  one          a role allowed one connection: a load goes over that one (no second connection
               for its items), equal to a fresh load
  busy         the schema's lock held by another session: exit 5 once the wait (15 s) is over
  usage        a password in --dsn (exit 2, the password not printed), a bad schema name, a batch
               of 0; a database that cannot be reached: exit 11
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgtest  # noqa: E402
from pgtest import EXIT_BUSY, EXIT_DATABASE, EXIT_MISMATCH, check, log  # noqa: E402


def apply(env, store, *args, rc=0):
    p = env.snesync("pg-apply", "--store", store, *args, check_rc=rc)
    return p.stderr.decode()


def refused(env, store, schema, *args, says, rc=EXIT_MISMATCH):
    """pg-apply exits rc with a message holding `says`, and leaves the schema as it was."""
    before = pgtest.db_dump(env, schema)
    err = apply(env, store, "--schema", schema, *args, rc=rc)
    check(says in err, f"the message says {says!r}: {err.strip()}")
    check(pgtest.db_dump(env, schema) == before, f"a refused run changed schema {schema}")
    log(f"refused (exit {rc}): {err.strip()[:160]}...")
    return err


def same_as_fresh_load(env, store, schema):
    """The schema holds what a first load of `store` gives (for stores whose log was pruned)."""
    apply(env, store, "--schema", "fresh")
    got, want = pgtest.db_dump(env, schema), pgtest.db_dump(env, "fresh")
    check(got == want, f"schema {schema} differs from a fresh load of the store")
    env.cluster.psql("DROP SCHEMA fresh CASCADE")


def make_stores(env):
    a, b = pgtest.two_months(env, 500, 41)
    c = env("C")
    env.snesync("ingest", "--store", c, env("A1.tgz"))
    return a, b, c


def ahead(env, a, b):
    apply(env, b, "--schema", "ahead")
    refused(env, a, "ahead", says="past this store's last seq")
    apply(env, a, "--schema", "ahead", "--rebuild")
    pgtest.check_equal(env, a, schema="ahead", what="ahead, rebuilt")


SI_OBJECTS = """
CREATE INDEX cerfa_commune ON sne.cerfa ((item #>> '{logementRecherche,listeLocalisationSouhaitee,0,commune,code}'));
CREATE INDEX item_key_any ON sne.item (item_key);
DROP ROLE IF EXISTS si_reader; CREATE ROLE si_reader;
GRANT USAGE ON SCHEMA sne TO si_reader;
GRANT SELECT ON sne.cerfa, sne.demande TO si_reader;
"""


def foreign(env, a, c):
    apply(env, a)
    env.cluster.psql(SI_OBJECTS)
    refused(env, c, "sne", says="filled from another store")
    env.cluster.psql("CREATE VIEW public.si_view AS SELECT num_unique FROM sne.demande")
    refused(env, c, "sne", "--rebuild", says="view public.si_view")
    env.cluster.psql("DROP VIEW public.si_view")
    apply(env, c, "--rebuild")
    pgtest.check_equal(env, c, what="foreign, rebuilt")
    carried = env.cluster.psql(
        "SELECT (SELECT count(*) FROM pg_indexes WHERE schemaname = 'sne' AND "
        "indexname IN ('cerfa_commune', 'item_key_any')), "
        "(SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass('sne.item_key_any')), "
        "has_schema_privilege('si_reader', 'sne', 'USAGE'), "
        "has_table_privilege('si_reader', 'sne.cerfa', 'SELECT'), "
        "has_table_privilege('si_reader', 'sne.demande', 'SELECT'), "
        "has_table_privilege('si_reader', 'sne.evt', 'SELECT')")
    check(carried == [["2", "9", "t", "t", "t", "f"]],
          f"indexes and grants after the rebuild: {carried}")
    log("the SI's indexes and grants were carried over")


def pruned(env, a, b):
    apply(env, a, "--schema", "gap")
    last_a = pgtest.last_seq(env, a)[0]
    pgtest.run(["cp", "-a", b, env("B2")])
    env.snesync("prune", "--store", env("B2"), "--upto", str(last_a + 10))
    refused(env, env("B2"), "gap", says=f"changes {last_a + 1} to {last_a + 10} would be missed")
    apply(env, env("B2"), "--schema", "gap", "--rebuild")
    same_as_fresh_load(env, env("B2"), "gap")


def prune_applied(env, a, b):
    apply(env, a, "--schema", "p")
    last_a = pgtest.last_seq(env, a)[0]
    b3 = env("B3")
    pgtest.run(["cp", "-a", b, b3])
    out = env.snesync("prune", "--store", b3, "--pg-applied", "--schema", "p", "--upto", "5")
    check(b"(up to seq 5)" in out.stdout, f"--upto below the applied seq: {out.stdout}")
    out = env.snesync("prune", "--store", b3, "--pg-applied", "--schema", "p")
    check(f"(up to seq {last_a})".encode() in out.stdout, f"prune --pg-applied: {out.stdout}")
    check(pgtest.last_seq(env, b3)[2] == last_a + 1, "the first seq held after the prune")
    for schema, says in (("sne", "follows another store"), ("nothing", "has no schema")):
        p = env.snesync("prune", "--store", b3, "--pg-applied", "--schema", schema,
                        check_rc=EXIT_MISMATCH)
        check(says in p.stderr.decode(), f"prune of schema {schema}: {p.stderr}")
    return b3


def late_evt_demand(env, store, since):
    """The demand whose first EVT create or update after `since` comes last in the log."""
    p = env.snesync("changes", "--store", store, "--since", str(since))
    first = {}
    for i, line in enumerate(p.stdout.splitlines()):
        c = json.loads(line)
        if c["entity"] == "EVT" and c["op"] != "delete":
            first.setdefault(c["numUnique"], i)
    return max(first, key=first.get)


def constraint(env, b3):
    _, _, since, _ = pgtest.db_state(env, "p")
    num = late_evt_demand(env, b3, since)
    env.cluster.psql(f"ALTER TABLE p.evt ADD CONSTRAINT si_no_evt CHECK "
                     f"(num_unique <> '{num}') NOT VALID")
    err = refused(env, b3, "p", "--batch", "100000", says="si_no_evt", rc=EXIT_DATABASE)
    check("{" not in err and "23514" in err, f"the message: {err}")
    base = pgtest.db_items(env, "p")
    err = apply(env, b3, "--schema", "p", "--batch", "40", rc=EXIT_DATABASE)
    _, _, seq, _ = pgtest.db_state(env, "p")
    check(seq > since, "batches of 40: those before the one rejected were applied")
    want, _ = pgtest.replay(env, b3, upto=seq, since=since, base=base)
    pgtest.diff_dicts(pgtest.db_items(env, "p"), want, f"stopped at seq {seq}")
    log(f"with batches of 40, stopped at seq {seq}, a batch boundary: {err.strip()[:100]}")
    env.cluster.psql("ALTER TABLE p.evt DROP CONSTRAINT si_no_evt")
    apply(env, b3, "--schema", "p")
    same_as_fresh_load(env, b3, "p")


def demande_options(env, schema):
    return env.cluster.psql(f"SELECT reloptions FROM pg_class WHERE oid = '{schema}.demande'"
                            f"::regclass")[0][0]


def layout(env, b3):
    for version in (pgtest.SCHEMA_VERSION + 1, 0):
        env.cluster.psql(f"UPDATE p.snesync_state SET schema_version = {version}")
        says = "newer snesync" if version else "no snesync makes"
        refused(env, b3, "p", says=says)
        refused(env, b3, "p", "--rebuild", says=says)
    env.cluster.psql(f"UPDATE p.snesync_state SET schema_version = {pgtest.SCHEMA_VERSION}")
    # Version 1 (before demande's fillfactor): migrated by the next run, even with no change to
    # apply, in one transaction with a batch; the rows stay as they were.
    check(demande_options(env, "p") == "{fillfactor=50}", "version 2's demande")
    before = pgtest.db_dump(env, "p")
    env.cluster.psql("ALTER TABLE p.demande RESET (fillfactor); "
                     "UPDATE p.snesync_state SET schema_version = 1")
    apply(env, b3, "--schema", "p")
    check(pgtest.db_state(env, "p")[0] == pgtest.SCHEMA_VERSION, "migrated: the version")
    check(demande_options(env, "p") == "{fillfactor=50}", "migrated: demande's fillfactor")
    check(pgtest.db_dump(env, "p") == before, "a migration changed the rows")
    log(f"version 1 migrated to {pgtest.SCHEMA_VERSION}")
    env.cluster.psql("CREATE SCHEMA theirs")
    err = apply(env, b3, "--schema", "theirs", rc=EXIT_MISMATCH)
    check("did not make it" in err, f"a schema snesync did not make: {err}")


def leftover(env, a):
    env.cluster.psql("CREATE SCHEMA lo_snesync_new; CREATE TABLE lo_snesync_new.item (x int); "
                     "INSERT INTO lo_snesync_new.item VALUES (1); COMMENT ON SCHEMA lo_snesync_new "
                     "IS 'snesync: a load in progress, dropped by the next pg-apply'")
    apply(env, a, "--schema", "lo")
    check(env.cluster.psql("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'lo%'") ==
          [["1"]], "the load in progress left by a killed run was not dropped")
    same_as_fresh_load(env, a, "lo")
    env.cluster.psql("CREATE SCHEMA th_snesync_new; CREATE TABLE th_snesync_new.t (x int); "
                     "INSERT INTO th_snesync_new.t VALUES (7)")
    err = apply(env, a, "--schema", "th", rc=EXIT_MISMATCH)
    check("in the way of the load" in err and "th_snesync_new" in err, f"theirs: {err}")
    check(env.cluster.psql("SELECT x FROM th_snesync_new.t") == [["7"]], "their schema changed")
    check(env.cluster.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'th'") == [["0"]],
          "a refused load made its schema")
    log(f"a load in progress dropped; a schema of its name not snesync's: {err.strip()[:120]}")


def one_connection(env, a):
    env.cluster.psql("CREATE ROLE one LOGIN CONNECTION LIMIT 1; GRANT CREATE ON DATABASE postgres "
                     "TO one")
    env.snesync("pg-apply", "--store", a, "--schema", "solo", "--dsn", "user=one")
    check(env.cluster.psql("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = "
                           "'solo'") == [["one"]], "the load ran as the role")
    with open(env.cluster.logfile, errors="replace") as f:
        check('too many connections for role "one"' in f.read(),
              "the server did not refuse the load's second connection")
    same_as_fresh_load(env, a, "solo")
    env.cluster.psql("DROP SCHEMA solo CASCADE; REVOKE CREATE ON DATABASE postgres FROM one; "
                     "DROP ROLE one")
    log("a role allowed one connection: loaded over it")


def busy(env, a):
    holder = subprocess.Popen(
        [os.path.join(env.cluster.bin, "psql"), "-X", "-q", "-c",
         "SELECT pg_advisory_lock(1936614771, hashtext('sne'))", "-c", "SELECT pg_sleep(60)"],
        env=env.cluster.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pgtest.wait_until(lambda: env.cluster.psql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == [["1"]],
            "the other session holds the lock")
        err = apply(env, a, rc=EXIT_BUSY)
        check("another snesync pg-apply" in err, f"busy: {err}")
    finally:
        holder.kill()
        holder.wait()


def usage(env, a):
    p = env.snesync("pg-apply", "--store", a, "--dsn", "host=x password=s3cr3t-pw", check_rc=2)
    check(b"s3cr3t-pw" not in p.stderr and b"password" in p.stderr, f"password: {p.stderr}")
    env.snesync("pg-apply", "--store", a, "--schema", "Bad-Name", check_rc=2)
    env.snesync("pg-apply", "--store", a, "--batch", "0", check_rc=2)
    p = env.snesync("pg-apply", "--store", a, "--dsn", f"host={env('nowhere')} dbname=x",
                    check_rc=EXIT_DATABASE)
    check(b"cannot connect" in p.stderr, f"unreachable: {p.stderr}")


def body(env):
    a, b, c = make_stores(env)
    ahead(env, a, b)
    foreign(env, a, c)
    pruned(env, a, b)
    b3 = prune_applied(env, a, b)
    constraint(env, b3)
    layout(env, b3)
    leftover(env, a)
    one_connection(env, a)
    busy(env, a)
    usage(env, a)


if __name__ == "__main__":
    pgtest.main("pg-refusals", body)
