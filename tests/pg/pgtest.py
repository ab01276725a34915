"""pgtest.py: what the PostgreSQL sink's tests share (python3 stdlib only).

Each test starts a throwaway PostgreSQL cluster of its own: `initdb` in a temporary directory
(as the `postgres` user when run as root, through `runuser`: the directory is its, inside the
test's, which others may enter but not list), listening only on a Unix socket in that directory
under a random free port number, stopped (`pg_ctl stop`) and removed at the end, also when the
test fails or is interrupted. No test touches a system cluster. The binaries are
found with `pg_config --bindir`, else under /usr/lib/postgresql/*/bin, else on PATH; when there
are none the test is skipped (exit 77).

  SNESYNC        the snesync binary (set by CTest)
  SNESYNC_SIM    the snesync-sim binary
  SNESYNC_HTOOL  hardening_vg_driver: `--dump STORE` prints the stored state of many demands
  PG_TEST_SEED   replays a random test
  PG_TEST_KEEP=1 keeps the temporary directory (and the cluster's log) of a failed test

Expected state: the items are the change log replayed (`snesync changes --since 0`: the last
`after` of every (entity, numUnique, key), deletes removing it) and, independently, what the
store holds (hardening_vg_driver --dump of every demand the log names: state, date and every
item's JSON). Items are compared as parsed JSON values: jsonb keeps the values, not the order of
an object's members.
"""
import csv
import datetime
import glob
import io
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "hardening"))
from hlib import Failure, check, log, seed_from_env  # noqa: E402,F401  (the tests' own basics)

SNESYNC = os.environ.get("SNESYNC", os.path.join(ROOT, "build", "engine", "snesync"))
SIM = os.environ.get("SNESYNC_SIM", os.path.join(ROOT, "build", "sim", "snesync-sim"))
TOOL = os.environ.get("SNESYNC_HTOOL", os.path.join(ROOT, "build", "tests", "hardening",
                                                    "hardening_vg_driver"))
SKIP = 77
ALL = "CERFA,DALO,EVT,CONT,ATTRIB,PRIO,COTA,PJ,DRM"
EXIT_BUSY, EXIT_MISMATCH, EXIT_DATABASE = 5, 10, 11
SCHEMA_VERSION = 2  # SNE_PG_SCHEMA_VERSION
BATCH_MAX = 1000000


class Skip(Exception):
    pass


def seed():
    return seed_from_env("PG_TEST_SEED")


def run(cmd, env=None, timeout=600, check_rc=0, input_bytes=None):
    p = subprocess.run(cmd, env=env, input=input_bytes, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if check_rc is not None and p.returncode != check_rc:
        raise Failure(f"{' '.join(cmd[:4])}...: exit {p.returncode}, expected {check_rc}\n"
                      f"stderr: {p.stderr.decode(errors='replace')[-2000:]}")
    return p


def bindir():
    """The directory of initdb, pg_ctl and psql, or None."""
    try:
        d = subprocess.run(["pg_config", "--bindir"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True).stdout.strip()
        if d and os.path.exists(os.path.join(d, "initdb")):
            return d
    except OSError:
        pass
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def others_can_reach(path):
    """Whether a user other than the owner may enter `path` (every directory up to /)."""
    path = os.path.abspath(path)
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)


class Cluster:
    """A throwaway cluster: its data and socket in a private temporary directory. `durable`:
    the server's own settings (fsync...), for benchmarks; else settings for tests, which kill
    clients, never the machine."""

    def __init__(self, base, durable=False):
        self.durable = durable
        self.bin = bindir()
        if not self.bin or not os.path.exists(os.path.join(self.bin, "pg_ctl")):
            raise Skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres and not others_can_reach(base):
            base = None  # the system's temporary directory: the postgres user must reach it
        self.dir = tempfile.mkdtemp(prefix="pg-", dir=base)
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "server.log")
        self.port = free_port()
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.running = False
        self.tool("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-locale", "--no-sync")

    def tool(self, name, *args, check_rc=0, timeout=120):
        cmd = [os.path.join(self.bin, name), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return run(cmd, timeout=timeout, check_rc=check_rc)

    def start(self):
        opts = f"-k {self.dir} -p {self.port} -c listen_addresses=''"
        if not self.durable:
            opts += " -c fsync=off -c full_page_writes=off"
        self.tool("pg_ctl", "-D", self.data, "-l", self.logfile, "-o", opts, "-w", "-t", "60",
                  "start")
        self.running = True

    def stop(self, mode="fast"):
        if self.running:
            self.tool("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop",
                      check_rc=None)
        self.running = False

    def dsn(self):
        return f"host={self.dir} port={self.port} user=postgres dbname=postgres"

    def env(self):
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("PG") or k.startswith("SNESYNC_TEST_"):
                del e[k]
        e.pop("SNESYNC_STORE", None)
        e.update(PGHOST=self.dir, PGPORT=str(self.port), PGUSER="postgres",
                 PGDATABASE="postgres")
        return e

    def psql(self, sql, check_rc=0):
        """Rows of the last statement of `sql`, as lists of strings (None for NULL)."""
        p = run([os.path.join(self.bin, "psql"), "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1",
                 "-P", "null=\\N", "-c", sql], env=self.env(), check_rc=check_rc)
        rows = list(csv.reader(io.StringIO(p.stdout.decode())))
        return [[None if v == "\\N" else v for v in r] for r in rows[1:]]

    def remove(self, keep=False):
        try:
            self.stop()
        finally:
            if not keep:
                shutil.rmtree(self.dir, ignore_errors=True)


class Env:
    """A test's temporary directory and cluster."""

    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix=f"snesync-{name}-")
        os.chmod(self.path, 0o711)  # the cluster's directory is in it, the postgres user's
        self.cluster = Cluster(self.path)
        self.cluster.start()

    def __call__(self, *parts):
        return os.path.join(self.path, *parts)

    def snesync(self, *args, check_rc=0, env_extra=None, timeout=600):
        e = self.cluster.env()
        e.update(env_extra or {})
        return run([SNESYNC, *args], env=e, check_rc=check_rc, timeout=timeout)

    def popen(self, *args, env_extra=None):
        e = self.cluster.env()
        e.update(env_extra or {})
        return subprocess.Popen([SNESYNC, *args], env=e, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def cleanup(self, failed):
        keep = failed and os.environ.get("PG_TEST_KEEP") == "1"
        self.cluster.remove(keep=keep)
        if keep:
            log(f"kept {self.path}")
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def main(name, body):
    """Runs body(env); exits 0 on success, 1 on a Failure (printed), 77 when skipped. The cluster
    is stopped whatever happens, a SIGTERM (CTest's timeout) included."""
    def on_term(signum, frame):
        raise Failure(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    try:
        env = Env(name)
    except Skip as e:
        log(f"SKIP: {e}")
        sys.exit(SKIP)
    failed = True
    try:
        body(env)
        failed = False
    except Failure as e:
        log(f"FAIL: {e}")
    finally:
        env.cleanup(failed)
    log("ok" if not failed else "failed")
    sys.exit(1 if failed else 0)


# ---- data --------------------------------------------------------------------------------------

def sim(*args):
    run([SIM, *args], timeout=600)


def two_months(env, demands, seed):
    """Stores A (export A1 of a simulator register of `demands` demands) and B (A, then A2: the
    register 30 days later), both full exports of ACTIVE demands; returns their paths."""
    sim("generate", "--demands", str(demands), "--seed", str(seed), "--out", env("r1"))
    sim("evolve", "--from", env("r1"), "--out", env("r2"), "--days", "30", "--seed", str(seed))
    for name, data in (("A1", "r1"), ("A2", "r2")):
        sim("export", "--data", env(data), "--out", env(name + ".tgz"), "--numero", name,
            "--entities", ALL, "--etat", "ACTIVE")
    a, b = env("A"), env("B")
    env.snesync("ingest", "--store", a, env("A1.tgz"))
    run(["cp", "-a", a, b])
    env.snesync("ingest", "--store", b, env("A2.tgz"))
    return a, b


def reference(env, a, b, schema="ref"):
    """Schema `schema` loaded from store A then brought to B by one uninterrupted run, checked
    equal to B: what a run that fails midway must end in. Returns A's last seq and the dump."""
    env.snesync("pg-apply", "--store", a, "--schema", schema)
    env.snesync("pg-apply", "--store", b, "--schema", schema)
    check_equal(env, b, schema=schema, what="reference")
    return last_seq(env, a)[0], db_dump(env, schema)


def last_seq(env, store):
    p = env.snesync("stats", "--store", store, "--json")
    st = json.loads(p.stdout)
    return st["lastSeq"], st["storeId"], st["firstSeq"]


def replay(env, store, upto=None, since=0, base=None):
    """The items after the change log up to seq `upto` (all: None), and every numUnique named;
    from `base`, the items at seq `since` (default: none at 0)."""
    p = env.snesync("changes", "--store", store, "--since", str(since))
    items, nums = dict(base or {}), set()
    for line in p.stdout.splitlines():
        c = json.loads(line)
        if upto is not None and c["seq"] > upto:
            break
        k = (c["entity"], c["numUnique"], c["key"])
        nums.add(c["numUnique"])
        if c["op"] == "delete":
            items.pop(k, None)
        else:
            items[k] = c["after"]
    return items, nums


def epoch(date):
    """Seconds since 1970 of an xs:dateTime (no zone: UTC, as snesync reads it), or None."""
    try:
        d = datetime.datetime.fromisoformat(date.replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return round(d.timestamp(), 3)


def store_state(store, nums):
    """(items, demande) as the store holds them: {(entity, num, key): json}, {num: (etat, t)}."""
    lines = "".join(n + "\n" for n in sorted(nums)).encode()
    p = run([TOOL, "--dump", store], input_bytes=lines, timeout=600)
    items, demande, heads = {}, {}, {}
    for line in p.stdout.decode().splitlines():
        parts = line.split(" ", 3)
        if parts[1] == "-":
            continue
        if parts[0] not in heads:
            heads[parts[0]] = (parts[1], epoch(parts[2]) if len(parts) > 2 else None)
            continue
        items[(parts[1], parts[0], parts[2])] = json.loads(parts[3])
    for (_, num, _), _v in items.items():
        demande[num] = heads[num]
    return items, demande


def db_items(env, schema="sne"):
    rows = env.cluster.psql(f"SELECT entity, num_unique, item_key, item::text FROM {schema}.item")
    return {(e, n, k): json.loads(j) for e, n, k, j in rows}


def db_demande(env, schema="sne"):
    rows = env.cluster.psql(
        f"SELECT num_unique, etat_demande, "
        f"round(extract(epoch FROM date_derniere_modification)::numeric, 3) FROM {schema}.demande")
    return {n: (e, float(t) if t is not None else None) for n, e, t in rows}


def db_state(env, schema="sne"):
    rows = env.cluster.psql(f"SELECT schema_version, store_id, last_seq, scopes_digest "
                            f"FROM {schema}.snesync_state")
    check(len(rows) == 1, f"{schema}.snesync_state holds {len(rows)} rows")
    v, sid, seq, digest = rows[0]
    return int(v), sid, int(seq), digest


def db_dump(env, schema="sne"):
    """Every table of the schema as text, for identity checks."""
    out = []
    for t in ("item", "demande"):
        out.append(env.cluster.psql(f"SELECT * FROM {schema}.{t} ORDER BY 1, 2, 3"))
    v, sid, seq, digest = db_state(env, schema)
    out.append((v, sid, seq, digest))
    return out


def wait_until(cond, what, timeout=60):
    """Polls cond() (bounded): the tests wait on state, never for a fixed time."""
    t_end = time.monotonic() + timeout
    while not cond():
        check(time.monotonic() < t_end, f"timed out waiting: {what}")
        time.sleep(0.05)


def wait_sessions_gone(env, timeout=60):
    """Waits until the server has ended the sessions of snesync processes that were killed (it
    notices a dead client within a second: client_connection_check_interval)."""
    wait_until(lambda: env.cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE "
                                        "application_name = 'snesync'") == [["0"]],
               "the session of a killed pg-apply ends", timeout)


def diff_dicts(got, want, what):
    if got == want:
        return
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    wrong = [k for k in want if k in got and got[k] != want[k]]
    raise Failure(f"{what}: {len(missing)} missing (e.g. {missing[:2]}), {len(extra)} extra "
                  f"(e.g. {extra[:2]}), {len(wrong)} different (e.g. "
                  f"{[(k, got[k], want[k]) for k in wrong[:1]]})"[:3000])


def check_equal(env, store, schema="sne", what=""):
    """The schema equals the store: items = the change log replayed = the stored items; demande =
    the stored state of every demand holding items; the state row names the store and its last
    seq. Returns the replayed items."""
    last, sid, _ = last_seq(env, store)
    items, nums = replay(env, store)
    got = db_items(env, schema)
    diff_dicts(got, items, f"{what}: items against the change log replayed")
    held, demande = store_state(store, nums)
    diff_dicts(got, held, f"{what}: items against the store's demands")
    diff_dicts(db_demande(env, schema), demande, f"{what}: demande against the store's demands")
    v, db_sid, db_seq, _ = db_state(env, schema)
    want = (SCHEMA_VERSION, sid, last)
    check((v, db_sid, db_seq) == want,
          f"{what}: state (version, store, seq) {(v, db_sid, db_seq)}, expected {want}")
    log(f"{what}: {len(items)} items, {len(demande)} demands, seq {last}: equal")
    return items
