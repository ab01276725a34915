"""pg_bench.py: the PostgreSQL sink's contenders of bench/run.

  pg-initial  snesync pg-apply of the month-1 store (A1) into an empty database: the schema is
              loaded from the store's state (every item, one COPY)
  pg-next     snesync pg-apply of the store after next month (A1 -> A2) into the database that
              holds month 1 (loaded, untimed, before each run, then settled as a month would
              leave it: VACUUM ANALYZE, which autovacuum runs after a load, and a CHECKPOINT, the
              server's own sync of what the load wrote): the month's changes

They run against a throwaway cluster (tests/pg/pgtest.py) with the server's default settings
(fsync, full_page_writes, shared_buffers and max_wal_size as PostgreSQL ships them), reached on a
Unix socket. Rows are the items loaded (pg-initial) or the changes applied (pg-next), from
`snesync stats` of the stores, so rows/s is rows over the median time.
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "pg"))
import pgtest  # noqa: E402

IDS = ("pg-initial", "pg-next")


def available():
    """None when PostgreSQL's server binaries are there, else why not."""
    return None if pgtest.bindir() else "no PostgreSQL server binaries (initdb, pg_ctl)"


class PgBench:
    def __init__(self, work, sne):
        self.sne = sne
        self.cluster = pgtest.Cluster(work, durable=True)
        self.cluster.start()

    def version(self):
        return self.cluster.psql("SHOW server_version")[0][0]

    def close(self):
        self.cluster.remove()

    def stats(self, store):
        out = subprocess.run([self.sne, "stats", "--store", store, "--json"], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        return json.loads(out)

    def apply(self, store):
        return [self.sne, "pg-apply", "--store", store, "--dsn", self.cluster.dsn(), "--json"]

    def drop(self):
        self.cluster.psql("DROP SCHEMA IF EXISTS sne CASCADE")

    def contenders(self, store, base, month2):
        """{id: (setup, argv, after)} as bench/run's, and {id: rows}."""
        def copy(src):
            if os.path.isdir(store):
                shutil.rmtree(store)
            shutil.copytree(src, store)

        def fresh():
            copy(base)
            self.drop()

        def month1_loaded():
            self.drop()
            subprocess.run(self.apply(base), check=True, stdout=subprocess.DEVNULL)
            self.cluster.psql("VACUUM ANALYZE")
            self.cluster.psql("CHECKPOINT")
            copy(month2)

        rows = {"pg-initial": sum(self.stats(base)["items"].values())}
        if os.path.isdir(month2):  # the next month ran (not with --only ...,pg-initial alone)
            rows["pg-next"] = self.stats(month2)["lastSeq"] - self.stats(base)["lastSeq"]
        return {"pg-initial": (fresh, self.apply(store), None),
                "pg-next": (month1_loaded, self.apply(store), None)}, rows
