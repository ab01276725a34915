/* Unit tests of the store: item merge (create/update/delete/unchanged), the change log and its
 * cursors, scope sweeps, staleness, the seen set across attempts, codecs, the writer lock, the
 * DRM window (which absent DRM months an export proves gone), the store's creation and
 * identity, pinned reads (one snapshot for the change log and the demands' headers), and a
 * demand's state and items as the public API reads them. */
#include "canon/canon.h"
#include "common/isotime.h"
#include "store/store.h"
#include "store_fixture.h"
#include "testlib.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static char store_dir[] = "/tmp/snesync-test-store-XXXXXX";

static sne_store *open_store(void)
{
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options o = {.writable = true, .create = true, .map_size = 64u << 20};
    CHECK_EQ_INT(sne_store_open(&s, store_dir, &o, &err), SNE_OK);
    return s;
}

static const sne_entity_set CERFA_EVT = (1u << SNE_ENTITY_CERFA) | (1u << SNE_ENTITY_EVT);
static const sne_entity_set DRM_ONLY = 1u << SNE_ENTITY_DRM;

static void test_lifecycle(void)
{
    sne_store *s = open_store();
    sne_apply_stats st;
    collected col = {0};

    /* 1. First load: two demands in 38, one in 69. */
    fake_demand d[3];
    fake_init(&d[0], "0380000000001G1226", "38185");
    fake_item(&d[0], SNE_ENTITY_CERFA, "", "form A");
    fake_item(&d[0], SNE_ENTITY_EVT, "E1", "event 1");
    fake_item(&d[0], SNE_ENTITY_EVT, "E2", "event 2");
    fake_item(&d[0], SNE_ENTITY_DRM, "2026-08", "drm");
    fake_init(&d[1], "0380000000002G1226", "38421");
    fake_item(&d[1], SNE_ENTITY_CERFA, "", "form B");
    fake_init(&d[2], "0690000000003G1226", "69123");
    fake_item(&d[2], SNE_ENTITY_CERFA, "", "form C");
    sne_export_header h1 = header("X1", "2026-10-01T00:00:00Z", 1000, CERFA_EVT, NULL, 0);
    ingest_run(s, &h1, d, 3, &st, SNE_OK);
    /* The DRM item was not requested: it must not be stored. */
    CHECK_EQ_INT(st.creates, 5);
    CHECK_EQ_INT(st.updates + st.deletes, 0);

    /* 2. Same data again: nothing. */
    ingest_run(s, &h1, d, 3, &st, SNE_OK);
    CHECK_EQ_INT(st.creates + st.updates + st.deletes, 0);
    CHECK_EQ_INT(st.items_unchanged, 5);

    /* 3. A later, department-38 export: A's form changes, E1 goes, E3 arrives; B is absent
     * (in 38: swept); C (in 69) is outside the scope and must stay. */
    for (int i = 0; i < 3; i++)
        fake_free(&d[i]);
    fake_demand e[1];
    fake_init(&e[0], "0380000000001G1226", "38185");
    fake_item(&e[0], SNE_ENTITY_CERFA, "", "form A2");
    fake_item(&e[0], SNE_ENTITY_EVT, "E2", "event 2");
    fake_item(&e[0], SNE_ENTITY_EVT, "E3", "event 3");
    char dep38[1][8] = {"38"};
    sne_export_header h2 = header("X2", "2026-11-01T00:00:00Z", 2000, CERFA_EVT, dep38, 1);
    ingest_run(s, &h2, e, 1, &st, SNE_OK);
    CHECK_EQ_INT(st.creates, 1);
    CHECK_EQ_INT(st.updates, 1);
    CHECK_EQ_INT(st.deletes, 2); /* E1, and B's CERFA */
    CHECK_EQ_INT(st.demands_swept, 1);
    fake_free(&e[0]);

    CHECK_EQ_INT(sne_store_changes(s, 5, 0, collect, &col), SNE_OK);
    CHECK_EQ_INT(col.n, 4);
    CHECK_EQ_STR(col.lines[0], "6 update 0380000000001G1226 CERFA  B A");
    CHECK_EQ_STR(col.lines[1], "7 delete 0380000000001G1226 EVT E1 B");
    CHECK_EQ_STR(col.lines[2], "8 create 0380000000001G1226 EVT E3 A");
    CHECK_EQ_STR(col.lines[3], "9 delete 0380000000002G1226 CERFA  B");
    col.n = 0; /* from inside a demand's group of changes */
    CHECK_EQ_INT(sne_store_changes(s, 6, 2, collect, &col), SNE_OK);
    CHECK_EQ_INT(col.n, 2);
    CHECK_EQ_STR(col.lines[0], "7 delete 0380000000001G1226 EVT E1 B");
    CHECK_EQ_STR(col.lines[1], "8 create 0380000000001G1226 EVT E3 A");

    sne_store_stats stats;
    CHECK_EQ_INT(sne_store_stats_get(s, &stats), SNE_OK);
    CHECK_EQ_INT(stats.demands, 2); /* B is gone, C stays */
    CHECK_EQ_INT(stats.items[SNE_ENTITY_CERFA], 2);
    CHECK_EQ_INT(stats.items[SNE_ENTITY_EVT], 2);
    CHECK_EQ_INT(stats.last_seq, 9);

    /* 4. An older export for an overlapping scope is stale; a DRM-only one is not. */
    sne_export_header old = header("X0", "2026-09-01T00:00:00Z", 500, CERFA_EVT, NULL, 0);
    ingest_run(s, &old, NULL, 0, &st, SNE_ERR_STALE);
    /* 5. A DRM-only export with no demands sweeps nothing but DRM (there is none). */
    sne_export_header drm = header("X3", "2026-09-01T00:00:00Z", 500, DRM_ONLY, NULL, 0);
    ingest_run(s, &drm, NULL, 0, &st, SNE_OK);
    CHECK_EQ_INT(st.deletes, 0);
    CHECK_EQ_INT(st.demands_swept, 2);
    CHECK_EQ_INT(sne_store_stats_get(s, &stats), SNE_OK);
    CHECK_EQ_INT(stats.items[SNE_ENTITY_CERFA] + stats.items[SNE_ENTITY_EVT], 4);

    /* 6. Prune, also inside a demand's group of changes (6-8). */
    uint64_t pruned, first, last;
    CHECK_EQ_INT(sne_store_prune(s, 7, &pruned), SNE_OK);
    CHECK_EQ_INT(pruned, 7);
    col.n = 0;
    CHECK_EQ_INT(sne_store_changes(s, 7, 0, collect, &col), SNE_OK);
    CHECK_EQ_INT(col.n, 2);
    CHECK_EQ_STR(col.lines[0], "8 create 0380000000001G1226 EVT E3 A");
    CHECK_EQ_INT(sne_store_stats_get(s, &stats), SNE_OK);
    CHECK_EQ_INT(stats.changes, 2);
    CHECK_EQ_INT(stats.first_seq, 8);
    CHECK_EQ_INT(sne_store_prune(s, 8, &pruned), SNE_OK);
    CHECK_EQ_INT(pruned, 1);
    col.n = 0;
    CHECK_EQ_INT(sne_store_changes(s, 8, 0, collect, &col), SNE_OK);
    CHECK_EQ_INT(col.n, 1);
    CHECK_EQ_STR(col.lines[0], "9 delete 0380000000002G1226 CERFA  B");
    /* 7. A cursor below the first held - 1 missed pruned changes; one past the last is from
     * another store: both are refused, with the range in the message. */
    CHECK_EQ_INT(sne_store_seq_range(s, &first, &last), SNE_OK);
    CHECK(first == 9 && last == 9);
    CHECK_EQ_INT(sne_store_changes(s, 7, 0, collect, &col), SNE_ERR_RANGE);
    CHECK(strstr(sne_store_error(s)->message, "the first held is 9") != NULL);
    CHECK_EQ_INT(sne_store_changes(s, 0, 0, collect, &col), SNE_ERR_RANGE);
    CHECK_EQ_INT(sne_store_changes(s, 10, 0, collect, &col), SNE_ERR_RANGE);
    CHECK(strstr(sne_store_error(s)->message, "past the last seq 9") != NULL);
    CHECK_EQ_INT(col.n, 1);
    /* An empty log still knows its extent: the first seq is the last + 1. */
    CHECK_EQ_INT(sne_store_prune(s, 100, &pruned), SNE_OK);
    CHECK_EQ_INT(pruned, 1);
    CHECK_EQ_INT(sne_store_seq_range(s, &first, &last), SNE_OK);
    CHECK(first == 10 && last == 9);
    CHECK_EQ_INT(sne_store_changes(s, 9, 0, collect, &col), SNE_OK);
    CHECK_EQ_INT(col.n, 1);
    CHECK_EQ_INT(sne_store_changes(s, 8, 0, collect, &col), SNE_ERR_RANGE);
    CHECK_EQ_INT(sne_store_stats_get(s, &stats), SNE_OK);
    CHECK(stats.changes == 0 && stats.first_seq == 10 && stats.last_seq == 9);
    /* Reading from inside a group starts at the right change. */
    col.n = 0;
    CHECK_EQ_INT(sne_store_prune(s, 0, &pruned), SNE_OK);
    CHECK_EQ_INT(pruned, 0);
    sne_store_close(s);
}

static void test_seen_set_and_attempts(void)
{
    sne_store *s = open_store();
    sne_apply_stats st = {0};
    bool resumed;
    fake_demand d;
    fake_init(&d, "0380000000009G1226", "38185");
    fake_item(&d, SNE_ENTITY_CERFA, "", "form");
    sne_export_header h = header("Y1", "2026-12-01T00:00:00Z", 3000, CERFA_EVT, NULL, 0);
    CHECK_EQ_INT(sne_store_run_begin(s, &h, false, &resumed), SNE_OK);
    CHECK(!resumed);
    CHECK_EQ_INT(sne_store_apply(s, &d.d, &st), SNE_OK);
    CHECK_EQ_INT(sne_store_commit(s), SNE_OK);
    /* Twice in one attempt is an error. */
    CHECK_EQ_INT(sne_store_apply(s, &d.d, &st), SNE_ERR_INVALID);
    sne_store_abort(s);
    /* A new attempt of the same export (after a crash) resumes and may meet it again. */
    CHECK_EQ_INT(sne_store_run_begin(s, &h, false, &resumed), SNE_OK);
    CHECK(resumed);
    memset(&st, 0, sizeof(st));
    CHECK_EQ_INT(sne_store_apply(s, &d.d, &st), SNE_OK);
    CHECK_EQ_INT(st.items_unchanged, 1);
    CHECK_EQ_INT(sne_store_commit(s), SNE_OK);
    fake_free(&d);

    /* Notes survive, are replaced, and are deleted. */
    sne_buf note;
    sne_buf_init(&note, 1 << 16);
    CHECK_EQ_INT(sne_store_note_get(s, "sync", &note), SNE_ERR_NOTFOUND);
    CHECK_EQ_INT(sne_store_note_put(s, "sync", "export=X1", 9), SNE_OK);
    CHECK_EQ_INT(sne_store_note_put(s, "sync", "export=X2", 9), SNE_OK);
    CHECK_EQ_INT(sne_store_note_get(s, "sync", &note), SNE_OK);
    CHECK(note.len == 9 && memcmp(note.data, "export=X2", 9) == 0);
    CHECK_EQ_INT(sne_store_note_put(s, "sync", NULL, 0), SNE_OK);
    CHECK_EQ_INT(sne_store_note_get(s, "sync", &note), SNE_ERR_NOTFOUND);
    sne_buf_free(&note);

    /* A second writer is refused while this one is open. */
    sne_store *other = NULL;
    sne_error err = {0};
    sne_store_options o = {.writable = true, .create = true, .map_size = 64u << 20};
    CHECK_EQ_INT(sne_store_open(&other, store_dir, &o, &err), SNE_ERR_BUSY);
    CHECK(strstr(err.message, "another snesync process") != NULL);
    /* A reader is not. */
    o.writable = false;
    CHECK_EQ_INT(sne_store_open(&other, store_dir, &o, &err), SNE_OK);
    sne_store_close(other);
    sne_store_close(s);
}

/* Removes a store directory made by a test, and the DIR.creating a creation may have left. */
static void remove_store(const char *dir)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s.creating", dir, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Adds a DRM item per space-separated period of `months`, in order (they must come sorted). */
static void fake_months(fake_demand *f, const char *months)
{
    for (const char *m = months; *m; m += m[0] == ' ') {
        size_t len = strcspn(m, " ");
        char *key = f->keys[f->d.n_items];
        snprintf(key, sizeof(f->keys[0]), "%.*s", (int)len, m);
        fake_item(f, SNE_ENTITY_DRM, key, "income");
        m += len;
    }
}

#define CHANGES_TEXT 256

/* Appends one change to a CHANGES_TEXT buffer as "-KEY" (delete), "+KEY" (create) or "~KEY"
 * (update), space-separated. */
static sne_err drm_changes(void *ctx, const sne_change *c)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, CHANGES_TEXT - n, "%s%c%.*s", n ? " " : "", "?+~-"[c->op], (int)c -> key_len,
             c -> key);
    return SNE_OK;
}

static sne_export_header drm_header(const char *numero, int64_t ms, unsigned depth,
                                    const char *last)
{
    sne_export_header h = header(numero, "2026-11-01T00:00:00Z", ms, DRM_ONLY, NULL, 0);
    h.profondeur_drm = depth;
    if (*last)
        CHECK(sne_period_parse(last, strlen(last), &h.derniere_periode_drm));
    return h;
}

/* One case of the DRM window (contract README §5): a demand holding the DRM months `held` (loaded
 * by a full-depth export that names no period) meets a DRM-only export of depth `depth` (0: not
 * given) and last period `last` ("": not given) that holds it with the months `arrived`, or that
 * does not hold it (arrived NULL: it is swept). The export's changes must be `want`. */
static void drm_case(const char *what, unsigned depth, const char *last, const char *held,
                     const char *arrived, const char *want)
{
    char dir[] = "/tmp/snesync-test-drm-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(false);
        return;
    }
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options o = {.writable = true, .create = true, .map_size = 64u << 20};
    CHECK_EQ_INT(sne_store_open(&s, dir, &o, &err), SNE_OK);
    if (!s)
        return;
    char got[CHANGES_TEXT] = "";
    sne_apply_stats st;
    fake_demand d;
    fake_init(&d, "0380000000001G1226", "38185");
    fake_months(&d, held);
    sne_export_header load = drm_header("L1", 1000, 0, "");
    ingest_run(s, &load, &d, 1, &st, SNE_OK);
    uint64_t loaded = st.creates;
    fake_free(&d);

    fake_init(&d, "0380000000001G1226", "38185");
    fake_months(&d, arrived ? arrived : "");
    sne_export_header h = drm_header("R1", 2000, depth, last);
    ingest_run(s, &h, &d, arrived ? 1 : 0, &st, SNE_OK);
    fake_free(&d);
    CHECK_EQ_INT(sne_store_changes(s, loaded, 0, drm_changes, got), SNE_OK);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "DRM window, %s:\n", what);
    CHECK_EQ_STR(got, want);
    sne_store_close(s);
    remove_store(dir);
}

static void test_drm_window(void)
{
    drm_case("depth 1: its month, and those older than P-2, go; P-2, P-1 and after P stay", 1,
             "2026-10", "2026-06 2026-07 2026-08 2026-09 2026-11", "2026-10",
             "-2026-06 -2026-07 +2026-10");
    drm_case("depth 1: the month of P, absent, goes", 1, "2026-10", "2026-08 2026-09 2026-10", "",
             "-2026-10");
    drm_case("depth 2: P-1 and P are its window, P-2 stays", 2, "2026-10",
             "2026-07 2026-08 2026-09 2026-10", "2026-10", "-2026-07 -2026-09");
    drm_case("depth 3: P-2..P are its window; after P stays", 3, "2026-10",
             "2026-07 2026-08 2026-09 2026-10 2026-11", "", "-2026-07 -2026-08 -2026-09 -2026-10");
    drm_case("across a year", 1, "2027-01", "2026-10 2026-11 2026-12", "2027-01",
             "-2026-10 +2027-01");
    drm_case("a key that is not a period goes", 1, "2026-10", "2026-09 2026-9", "2026-10",
             "+2026-10 -2026-9");
    drm_case("depth 2 without a period: no month goes", 2, "", "2026-07 2026-08 2026-09 2026-10",
             "2026-10", "");
    drm_case("depth 1 without a period: no month goes", 1, "", "2026-09 2026-10", "", "");
    drm_case("depth 3 without a period: every month absent goes", 3, "",
             "2026-08 2026-09 2026-10 2026-11", "2026-10", "-2026-08 -2026-09 -2026-11");
    drm_case("no depth, no period: as depth 3", 0, "", "2026-08 2026-09 2026-10", "2026-10",
             "-2026-08 -2026-09");
    drm_case("a demand absent from the export loses every month", 1, "2026-10",
             "2026-08 2026-09 2026-10", NULL, "-2026-08 -2026-09 -2026-10");
}

/* A depth-1 export killed after one demand and run again (a new process: nothing but the store
 * remembers the run) applies its window to the other demands too, and replays the first one
 * without a change. */
static void test_drm_window_survives_a_restart(void)
{
    char dir[] = "/tmp/snesync-test-drm-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(false);
        return;
    }
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options o = {.writable = true, .create = true, .map_size = 64u << 20};
    CHECK_EQ_INT(sne_store_open(&s, dir, &o, &err), SNE_OK);
    if (!s)
        return;
    char got[CHANGES_TEXT] = "";
    const char *nums[2] = {"0380000000001G1226", "0380000000002G1226"};
    fake_demand d[2];
    sne_apply_stats st;
    for (int i = 0; i < 2; i++) {
        fake_init(&d[i], nums[i], "38185");
        fake_months(&d[i], "2026-07 2026-08 2026-09");
    }
    sne_export_header load = drm_header("L1", 1000, 0, "");
    ingest_run(s, &load, d, 2, &st, SNE_OK);
    for (int i = 0; i < 2; i++) {
        fake_free(&d[i]);
        fake_init(&d[i], nums[i], "38185");
        fake_months(&d[i], "2026-10");
    }
    sne_export_header h = drm_header("R1", 2000, 1, "2026-10");
    bool resumed;
    CHECK_EQ_INT(sne_store_run_begin(s, &h, false, &resumed), SNE_OK);
    CHECK_EQ_INT(sne_store_apply(s, &d[0].d, &st), SNE_OK);
    CHECK_EQ_INT(sne_store_commit(s), SNE_OK);
    sne_store_close(s); /* killed */

    s = NULL;
    CHECK_EQ_INT(sne_store_open(&s, dir, &o, &err), SNE_OK);
    if (!s)
        return;
    CHECK_EQ_INT(sne_store_run_begin(s, &h, false, &resumed), SNE_OK);
    CHECK(resumed);
    memset(&st, 0, sizeof(st));
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(sne_store_apply(s, &d[i].d, &st), SNE_OK);
    CHECK_EQ_INT(sne_store_commit(s), SNE_OK);
    CHECK_EQ_INT(sne_store_sweep(s, &st), SNE_OK);
    CHECK_EQ_INT(sne_store_run_finish(s), SNE_OK);
    CHECK_EQ_INT(st.items_unchanged, 1); /* the first demand's 2026-10, replayed */
    CHECK_EQ_INT(sne_store_changes(s, 6, 0, drm_changes, got), SNE_OK);
    CHECK_EQ_STR(got, "-2026-07 +2026-10 -2026-07 +2026-10");
    for (int i = 0; i < 2; i++)
        fake_free(&d[i]);
    sne_store_close(s);
    remove_store(dir);
}

/* Staleness stays a matter of dates: in the schedule's order (weekly full sync, monthly depth-1
 * refresh) neither makes the other stale, and a refresh older than the sync applied after it is
 * stale, since the month it carries is older than the one held. */
static void test_drm_refresh_and_sync_staleness(void)
{
    char dir[] = "/tmp/snesync-test-drm-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(false);
        return;
    }
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options o = {.writable = true, .create = true, .map_size = 64u << 20};
    CHECK_EQ_INT(sne_store_open(&s, dir, &o, &err), SNE_OK);
    if (!s)
        return;
    sne_apply_stats st;
    sne_entity_set all = CERFA_EVT | DRM_ONLY;
    sne_export_header sync1 = header("S1", "2026-11-22T02:00:00Z", 1000, all, NULL, 0);
    sne_export_header refresh = drm_header("D1", 2000, 1, "2026-11");
    sne_export_header sync2 = header("S2", "2026-11-29T02:00:00Z", 3000, all, NULL, 0);
    sne_export_header late = drm_header("D0", 2500, 1, "2026-11");
    sync1.derniere_periode_drm = refresh.derniere_periode_drm - 1;
    sync2.derniere_periode_drm = refresh.derniere_periode_drm;
    ingest_run(s, &sync1, NULL, 0, &st, SNE_OK);
    ingest_run(s, &refresh, NULL, 0, &st, SNE_OK);
    ingest_run(s, &sync2, NULL, 0, &st, SNE_OK);
    ingest_run(s, &late, NULL, 0, &st, SNE_ERR_STALE);
    sne_store_close(s);
    remove_store(dir);
}

/* The store's meta database, opened behind the store's back in a write transaction: meta_open
 * and meta_close go in pairs (meta_close commits when rc is 0, else aborts, and checks rc). */
typedef struct raw_meta {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
} raw_meta;

static int meta_open(raw_meta *m, const char *dir)
{
    *m = (raw_meta){0};
    int rc = mdb_env_create(&m->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(m->env, 8);
    if (!rc)
        rc = mdb_env_open(m->env, dir, 0, 0600);
    if (!rc)
        rc = mdb_txn_begin(m->env, NULL, 0, &m->txn);
    if (!rc)
        rc = mdb_dbi_open(m->txn, "meta", 0, &m->dbi);
    return rc;
}

static void meta_close(raw_meta *m, int rc)
{
    if (!rc)
        rc = mdb_txn_commit(m->txn);
    else if (m->txn)
        mdb_txn_abort(m->txn);
    CHECK_EQ_INT(rc, 0);
    if (m->env)
        mdb_env_close(m->env);
}

/* Rewrites the store's run record as a snesync of before the DRM window wrote it (version 0: no
 * version byte, and not the 5 bytes of the window at its end), behind the store's back. */
static void make_run_record_v0(const char *dir)
{
    raw_meta m;
    MDB_val k = {3, "run"}, v;
    uint8_t record[1024];
    int rc = meta_open(&m, dir);
    if (!rc)
        rc = mdb_get(m.txn, m.dbi, &k, &v);
    if (!rc && (v.mv_size < 1 + 5 || v.mv_size > sizeof(record) ||
                ((const uint8_t *)v.mv_data)[0] != SNE_RUN_VERSION))
        rc = MDB_BAD_VALSIZE;
    if (!rc) {
        memcpy(record, v.mv_data, v.mv_size);
        v = (MDB_val){v.mv_size - 1 - 5, record + 1};
        rc = mdb_put(m.txn, m.dbi, &k, &v, 0);
    }
    meta_close(&m, rc);
}

/* A run record written before the DRM window was kept (version 0) still reads: the unfinished run
 * it describes resumes. */
static void test_run_record_without_window(void)
{
    char dir[] = "/tmp/snesync-test-run-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(false);
        return;
    }
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options o = {.writable = true, .create = true, .map_size = 64u << 20};
    CHECK_EQ_INT(sne_store_open(&s, dir, &o, &err), SNE_OK);
    if (!s)
        return;
    sne_export_header h = header("Y1", "2026-12-01T00:00:00Z", 3000, CERFA_EVT, NULL, 0);
    bool resumed;
    CHECK_EQ_INT(sne_store_run_begin(s, &h, false, &resumed), SNE_OK);
    sne_store_close(s); /* killed */
    make_run_record_v0(dir);

    s = NULL;
    CHECK_EQ_INT(sne_store_open(&s, dir, &o, &err), SNE_OK);
    if (!s)
        return;
    sne_store_stats stats;
    CHECK_EQ_INT(sne_store_stats_get(s, &stats), SNE_OK);
    CHECK(stats.run_open);
    CHECK_EQ_STR(stats.run_export, "Y1");
    CHECK_EQ_INT(sne_store_run_begin(s, &h, false, &resumed), SNE_OK);
    CHECK(resumed);
    sne_store_close(s);
    remove_store(dir);
}

static void test_codecs(void)
{
    sne_frame_codec c;
    CHECK_EQ_INT(sne_frame_codec_init(&c, 3, 1 << 20), SNE_OK);
    sne_buf body, back;
    sne_buf_init(&body, 1 << 21);
    sne_buf_init(&back, 1 << 20);
    uint8_t text[4000];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = (uint8_t)("abcdefgh"[i % 8]);
    CHECK_EQ_INT(sne_frame_encode(&c, text, sizeof(text), &body), SNE_OK);
    CHECK(body.len < sizeof(text) / 4); /* repetitive: compressed */
    CHECK_EQ_INT(sne_frame_decode(&c, body.data, body.len, &back), SNE_OK);
    CHECK(back.len == sizeof(text) && memcmp(back.data, text, sizeof(text)) == 0);
    body.data[body.len / 2] ^= 0x55;
    sne_err rc = sne_frame_decode(&c, body.data, body.len, &back);
    CHECK(rc == SNE_ERR_CORRUPT || back.len != sizeof(text) ||
          memcmp(back.data, text, sizeof(text)) != 0);
    CHECK_EQ_INT(sne_frame_encode(&c, (const uint8_t *)"tiny", 4, &body), SNE_OK);
    CHECK_EQ_INT(body.data[0], 0); /* small: raw */
    CHECK_EQ_INT(sne_frame_decode(&c, (const uint8_t *)"\x07", 1, &back), SNE_ERR_CORRUPT);

    /* Change groups and bodies. */
    sne_buf g;
    sne_buf_init(&g, 1 << 16);
    CHECK_EQ_INT(sne_group_begin(&g, "0380000000001G1226", "X1", 2, "2026", 4), SNE_OK);
    sne_change_entry in1 = {
        SNE_OP_CREATE, SNE_ENTITY_EVT, "E1", 2, NULL, 0, (const uint8_t *)"after", 5};
    sne_change_entry in2 = {
        SNE_OP_DELETE, SNE_ENTITY_CERFA, "", 0, (const uint8_t *)"b", 1, NULL, 0};
    CHECK_EQ_INT(sne_group_add(&g, &in1), SNE_OK);
    CHECK_EQ_INT(sne_group_add(&g, &in2), SNE_OK);
    CHECK_EQ_INT(sne_group_count(&g), 2);
    sne_group_reader gr;
    sne_change_entry out;
    CHECK_EQ_INT(sne_group_open(&gr, g.data, g.len), SNE_OK);
    CHECK_EQ_STR(gr.num_unique, "0380000000001G1226");
    CHECK_EQ_INT(sne_group_next(&gr, &out), 1);
    CHECK(out.op == SNE_OP_CREATE && out.before == NULL && out.after_len == 5);
    CHECK_EQ_INT(sne_group_next(&gr, &out), 1);
    CHECK(out.op == SNE_OP_DELETE && out.after == NULL && out.before_len == 1);
    CHECK_EQ_INT(sne_group_next(&gr, &out), 0);
    CHECK_EQ_INT(sne_group_open(&gr, g.data, g.len - 1), SNE_OK);
    CHECK_EQ_INT(sne_group_next(&gr, &out), 1);
    CHECK_EQ_INT(sne_group_next(&gr, &out), -1); /* truncated */
    sne_buf_reset(&g);
    CHECK_EQ_INT(sne_body_add(&g, (const uint8_t *)"one", 3), SNE_OK);
    CHECK_EQ_INT(sne_body_add(&g, (const uint8_t *)"three", 5), SNE_OK);
    const uint8_t *items[2];
    size_t lens[2];
    CHECK_EQ_INT(sne_body_split(g.data, g.len, 2, items, lens), SNE_OK);
    CHECK(lens[1] == 5 && memcmp(items[1], "three", 5) == 0);
    CHECK_EQ_INT(sne_body_split(g.data, g.len, 1, items, lens), SNE_ERR_CORRUPT);
    CHECK_EQ_INT(sne_body_split(g.data, g.len - 1, 2, items, lens), SNE_ERR_CORRUPT);
    sne_buf_free(&g);

    sne_item_ref refs[2] = {{SNE_ENTITY_CERFA, "", 0, 42}, {SNE_ENTITY_EVT, "E1", 2, 7}};
    sne_header h = {true, "2026-10-01", 10, 1, "38185", 2, refs};
    sne_buf enc;
    sne_buf_init(&enc, 1 << 16);
    CHECK_EQ_INT(sne_header_encode(&h, &enc), SNE_OK);
    sne_header_scratch scratch = {0};
    sne_header back_h;
    CHECK_EQ_INT(sne_header_decode(enc.data, enc.len, &scratch, &back_h), SNE_OK);
    CHECK(back_h.radiee && back_h.n_items == 2 && back_h.items[1].hash == 7);
    CHECK(back_h.items[1].key_len == 2 && memcmp(back_h.items[1].key, "E1", 2) == 0);
    for (size_t cut = 0; cut < enc.len; cut++)
        CHECK_EQ_INT(sne_header_decode(enc.data, cut, &scratch, &back_h), SNE_ERR_CORRUPT);
    sne_header_scratch_free(&scratch);
    sne_buf_free(&enc);
    sne_buf_free(&body);
    sne_buf_free(&back);
    sne_frame_codec_free(&c);
}

/* A store opened with a 1 MiB map takes in several MiB: the map grows between batches. */
static void test_map_grows(void)
{
    char dir[] = "/tmp/snesync-test-map-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(false);
        return;
    }
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options o = {.writable = true, .create = true, .map_size = 1u << 20};
    CHECK_EQ_INT(sne_store_open(&s, dir, &o, &err), SNE_OK);
    if (!s)
        return;
    sne_export_header h = header("G1", "2026-10-01T00:00:00Z", 1000, CERFA_EVT, NULL, 0);
    bool resumed;
    sne_apply_stats st = {0};
    CHECK_EQ_INT(sne_store_run_begin(s, &h, false, &resumed), SNE_OK);
    char text[2049];
    uint64_t x = 88172645463325252ull; /* xorshift: text zstd cannot shrink much */
    for (int i = 0; i < 3000; i++) {
        for (size_t c = 0; c + 1 < sizeof(text); c++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            text[c] = (char)('0' + x % 64);
        }
        text[sizeof(text) - 1] = '\0';
        char num[SNE_NUM_UNIQUE_LEN + 1];
        snprintf(num, sizeof(num), "038%09dG1226", i);
        fake_demand d;
        fake_init(&d, num, "38185");
        fake_item(&d, SNE_ENTITY_CERFA, "", text);
        CHECK_EQ_INT(sne_store_apply(s, &d.d, &st), SNE_OK);
        fake_free(&d);
        if (i % 200 == 199)
            CHECK_EQ_INT(sne_store_commit(s), SNE_OK);
    }
    CHECK_EQ_INT(sne_store_commit(s), SNE_OK);
    CHECK_EQ_INT(sne_store_sweep(s, &st), SNE_OK);
    CHECK_EQ_INT(sne_store_run_finish(s), SNE_OK);
    sne_store_stats ss;
    CHECK_EQ_INT(sne_store_stats_get(s, &ss), SNE_OK);
    CHECK(ss.demands == 3000);
    CHECK(ss.file_bytes > (4u << 20));
    CHECK(ss.map_size > ss.file_bytes);
    sne_store_close(s);
    remove_store(dir);
}

/* A fresh path for a store: made by mkdtemp, then removed so that the store creates it. */
static bool new_store_path(char *dir)
{
    if (!mkdtemp(dir)) {
        CHECK(false);
        return false;
    }
    rmdir(dir);
    return true;
}

/* A store is built as DIR.creating and renamed once initialised: a creation killed half-way
 * (here: an environment left with nothing committed) leaves no DIR, readers see no store, and the
 * next creator completes it. A creator that finds DIR.creating locked by another is refused. */
static void test_creation_is_atomic(void)
{
    char dir[] = "/tmp/snesync-test-create-XXXXXX", creating[64], lock[80];
    if (!new_store_path(dir))
        return;
    snprintf(creating, sizeof(creating), "%s.creating", dir);
    snprintf(lock, sizeof(lock), "%s/writer.lock", creating);
    CHECK(mkdir(creating, 0700) == 0);
    MDB_env *env = NULL;
    CHECK(mdb_env_create(&env) == 0 && mdb_env_open(env, creating, 0, 0600) == 0);
    mdb_env_close(env);
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options ro = {.writable = false};
    CHECK_EQ_INT(sne_store_open(&s, dir, &ro, &err), SNE_ERR_NOTFOUND); /* no half store */
    CHECK(strstr(err.message, "no store at") != NULL);
    sne_store_options o = {.writable = true, .create = true, .map_size = 64u << 20};
    int other = open(lock, O_RDWR | O_CREAT, 0600); /* another creator at work */
    CHECK(other >= 0 && flock(other, LOCK_EX | LOCK_NB) == 0);
    CHECK_EQ_INT(sne_store_open(&s, dir, &o, &err), SNE_ERR_BUSY);
    close(other);
    struct stat st;
    CHECK(stat(dir, &st) != 0);
    CHECK_EQ_INT(sne_store_open(&s, dir, &o, &err), SNE_OK);
    sne_store_close(s);
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    CHECK(stat(creating, &st) != 0);
    s = NULL;
    CHECK_EQ_INT(sne_store_open(&s, dir, &ro, &err), SNE_OK);
    sne_store_close(s);
    remove_store(dir);
}

/* Only a caller that asks for it creates a store: a missing DIR, or an empty one, is no store
 * to read or write, and stays as it was. A path with trailing slashes names the same store. */
static void test_open_without_create(void)
{
    char dir[] = "/tmp/snesync-test-nocreate-XXXXXX", path[64];
    if (!new_store_path(dir))
        return;
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options w = {.writable = true, .map_size = 64u << 20};
    CHECK_EQ_INT(sne_store_open(&s, dir, &w, &err), SNE_ERR_NOTFOUND);
    CHECK(strstr(err.message, "no store at") != NULL);
    struct stat st;
    snprintf(path, sizeof(path), "%s.creating", dir);
    CHECK(stat(dir, &st) != 0 && stat(path, &st) != 0);
    CHECK(mkdir(dir, 0700) == 0);
    CHECK_EQ_INT(sne_store_open(&s, dir, &w, &err), SNE_ERR_NOTFOUND);
    sne_store_options ro = {.writable = false};
    CHECK_EQ_INT(sne_store_open(&s, dir, &ro, &err), SNE_ERR_NOTFOUND);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    CHECK(stat(path, &st) != 0);
    rmdir(dir);
    snprintf(path, sizeof(path), "%s//", dir);
    w.create = true;
    CHECK_EQ_INT(sne_store_open(&s, path, &w, &err), SNE_OK);
    sne_store_close(s);
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    remove_store(dir);
}

static bool is_hex_id(const char *id)
{
    if (strlen(id) != 32)
        return false;
    for (; *id; id++)
        if (!strchr("0123456789abcdef", *id))
            return false;
    return true;
}

/* A store gets a random identity at its creation, keeps it, and a store without one (made before
 * identities existed) gets one at its next writable open, not at a read-only one. */
static void test_identity(void)
{
    char a[] = "/tmp/snesync-test-id-XXXXXX", b[] = "/tmp/snesync-test-id-XXXXXX";
    if (!new_store_path(a) || !new_store_path(b))
        return;
    sne_store *s = NULL, *t = NULL;
    sne_error err = {0};
    sne_store_options w = {.writable = true, .create = true, .map_size = 64u << 20};
    sne_store_options ro = {.writable = false};
    char id[33];
    CHECK_EQ_INT(sne_store_open(&s, a, &w, &err), SNE_OK);
    CHECK_EQ_INT(sne_store_open(&t, b, &w, &err), SNE_OK);
    CHECK(is_hex_id(sne_store_identity(s)));
    CHECK(strcmp(sne_store_identity(s), sne_store_identity(t)) != 0);
    snprintf(id, sizeof(id), "%s", sne_store_identity(s));
    sne_store_close(s);
    sne_store_close(t);
    CHECK_EQ_INT(sne_store_open(&s, a, &ro, &err), SNE_OK);
    CHECK_EQ_STR(sne_store_identity(s), id);
    sne_store_close(s);
    /* Take the identity away, as in a store of an earlier version. */
    raw_meta m;
    MDB_val k = {strlen("identity"), "identity"};
    int rc = meta_open(&m, a);
    if (!rc)
        rc = mdb_del(m.txn, m.dbi, &k, NULL);
    meta_close(&m, rc);
    CHECK_EQ_INT(sne_store_open(&s, a, &ro, &err), SNE_OK);
    CHECK_EQ_STR(sne_store_identity(s), "");
    sne_store_close(s);
    w.create = false;
    CHECK_EQ_INT(sne_store_open(&s, a, &w, &err), SNE_OK);
    CHECK(is_hex_id(sne_store_identity(s)) && strcmp(sne_store_identity(s), id) != 0);
    snprintf(id, sizeof(id), "%s", sne_store_identity(s));
    sne_store_close(s);
    CHECK_EQ_INT(sne_store_open(&s, a, &ro, &err), SNE_OK);
    CHECK_EQ_STR(sne_store_identity(s), id);
    sne_store_close(s);
    remove_store(a);
    remove_store(b);
}

/* Sets or reads the store's format number (meta "format", a u64) behind the store's back. */
static uint64_t store_format_at(const char *dir, uint64_t set)
{
    raw_meta m;
    MDB_val k = {strlen("format"), "format"}, v = {sizeof(set), &set};
    uint64_t format = 0;
    int rc = meta_open(&m, dir);
    if (!rc && set)
        rc = mdb_put(m.txn, m.dbi, &k, &v, 0);
    if (!rc)
        rc = mdb_get(m.txn, m.dbi, &k, &v);
    if (!rc && v.mv_size == sizeof(format))
        memcpy(&format, v.mv_data, sizeof(format));
    meta_close(&m, rc);
    return format;
}

/* A store of the oldest format still read opens as it is for reading and is marked current by a
 * writer (so that an older snesync refuses it by its format); a newer format is refused, saying
 * so. */
static void test_format(void)
{
    char dir[] = "/tmp/snesync-test-format-XXXXXX";
    if (!new_store_path(dir))
        return;
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options w = {.writable = true, .create = true, .map_size = 64u << 20};
    sne_store_options ro = {.writable = false};
    CHECK_EQ_INT(sne_store_open(&s, dir, &w, &err), SNE_OK);
    sne_store_close(s);
    CHECK_EQ_INT((int)store_format_at(dir, 0), SNE_STORE_FORMAT);

    CHECK_EQ_INT((int)store_format_at(dir, SNE_STORE_FORMAT_OLDEST), SNE_STORE_FORMAT_OLDEST);
    CHECK_EQ_INT(sne_store_open(&s, dir, &ro, &err), SNE_OK);
    sne_store_close(s);
    CHECK_EQ_INT((int)store_format_at(dir, 0), SNE_STORE_FORMAT_OLDEST);
    w.create = false;
    CHECK_EQ_INT(sne_store_open(&s, dir, &w, &err), SNE_OK);
    sne_store_close(s);
    CHECK_EQ_INT((int)store_format_at(dir, 0), SNE_STORE_FORMAT);

    store_format_at(dir, SNE_STORE_FORMAT + 1);
    CHECK_EQ_INT(sne_store_open(&s, dir, &w, &err), SNE_ERR_CORRUPT);
    CHECK(strstr(err.message, "newer than this snesync") != NULL);
    CHECK_EQ_INT(sne_store_open(&s, dir, &ro, &err), SNE_ERR_CORRUPT);
    CHECK_EQ_INT((int)store_format_at(dir, 0), SNE_STORE_FORMAT + 1);

    store_format_at(dir, SNE_STORE_FORMAT_OLDEST - 1);
    CHECK_EQ_INT(sne_store_open(&s, dir, &w, &err), SNE_ERR_CORRUPT);
    CHECK(strstr(err.message, "initialise a new store") != NULL);
    remove_store(dir);
}

/* A demand's items as text: "ENTITY:key=canonical form;" each, in order. */
static sne_err item_text(void *ctx, const sne_stored_item *it)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s:%.*s=%.*s;", sne_entity_info_of(it->entity)->code,
             (int)it->key_len, it->key, (int)it->canon_len, (const char *)it->canon);
    return SNE_OK;
}

#define HALF_DEMANDS 40

static void half_num(int i, char num[SNE_NUM_UNIQUE_LEN + 1])
{
    snprintf(num, SNE_NUM_UNIQUE_LEN + 1, "038%010dG1226", i);
}

/* Moves the bodies of the even-numbered demands back to where format 3 kept them ("body" and
 * "drm", under the number alone) and forgets the demands' count, behind the store's back: a
 * store whose migration to format 4 was killed half-way. */
static void unmigrate_half(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi demand, meta, old[2];
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_env_create(&env);
    if (!rc)
        rc = mdb_env_set_maxdbs(env, 8);
    if (!rc)
        rc = mdb_env_open(env, dir, 0, 0600);
    if (!rc)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, "demand", 0, &demand);
    if (!rc)
        rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (!rc)
        rc = mdb_dbi_open(txn, "body", MDB_CREATE, &old[0]);
    if (!rc)
        rc = mdb_dbi_open(txn, "drm", MDB_CREATE, &old[1]);
    if (!rc)
        rc = mdb_cursor_open(txn, demand, &c);
    int moved = 0;
    while (!rc && (rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
        const char *key = k.mv_data;
        if (k.mv_size != SNE_NUM_UNIQUE_LEN + 1 || (key[12] - '0') % 2)
            continue;
        MDB_val num = {SNE_NUM_UNIQUE_LEN, k.mv_data};
        rc = mdb_put(txn, old[key[SNE_NUM_UNIQUE_LEN] - 1], &num, &v, 0);
        if (!rc)
            rc = mdb_cursor_del(c, 0);
        moved++;
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    MDB_val dk = {strlen("demands"), "demands"};
    if (!rc)
        rc = mdb_del(txn, meta, &dk, NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(moved, HALF_DEMANDS); /* half of them, each with its two bodies */
    rc ? mdb_txn_abort(txn) : (void)mdb_txn_commit(txn);
    mdb_env_close(env);
}

/* Whether the store at `dir` reads as `want` (every demand's items) and counts its demands. */
static void check_half(const char *dir, char want[HALF_DEMANDS][512], const char *what)
{
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options ro = {.writable = false};
    CHECK_EQ_INT(sne_store_open(&s, dir, &ro, &err), SNE_OK);
    if (!s)
        return;
    sne_store_stats st;
    CHECK_EQ_INT(sne_store_stats_get(s, &st), SNE_OK);
    CHECK_EQ_INT((int)st.demands, HALF_DEMANDS);
    int same = 0;
    for (int i = 0; i < HALF_DEMANDS; i++) {
        char num[SNE_NUM_UNIQUE_LEN + 1], got[512] = "";
        half_num(i, num);
        same += sne_store_read_demand(s, num, item_text, got) == SNE_OK && !strcmp(got, want[i]);
    }
    if (same != HALF_DEMANDS)
        fprintf(stderr, "%s: %d of %d demands read as before\n", what, same, HALF_DEMANDS);
    CHECK_EQ_INT(same, HALF_DEMANDS);
    sne_store_close(s);
}

/* A migration to format 4 killed half-way (half of the bodies still in format 3's databases):
 * a reader reads every demand as before, in either place, and counts them from their headers;
 * the next writable open finishes the move and empties the old databases. */
static void test_half_migrated(void)
{
    char dir[] = "/tmp/snesync-test-half-XXXXXX";
    if (!new_store_path(dir))
        return;
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options w = {.writable = true, .create = true, .map_size = 64u << 20};
    CHECK_EQ_INT(sne_store_open(&s, dir, &w, &err), SNE_OK);
    if (!s)
        return;
    sne_export_header h = header("G1", "2026-10-01T00:00:00Z", 1000, CERFA_EVT | DRM_ONLY, NULL, 0);
    bool resumed;
    sne_apply_stats st = {0};
    CHECK_EQ_INT(sne_store_run_begin(s, &h, false, &resumed), SNE_OK);
    static char want[HALF_DEMANDS][512];
    for (int i = 0; i < HALF_DEMANDS; i++) {
        char num[SNE_NUM_UNIQUE_LEN + 1], form[32];
        half_num(i, num);
        snprintf(form, sizeof(form), "form %d", i);
        fake_demand d;
        fake_init(&d, num, "38185");
        fake_item(&d, SNE_ENTITY_CERFA, "", form);
        fake_months(&d, "2026-08 2026-09");
        CHECK_EQ_INT(sne_store_apply(s, &d.d, &st), SNE_OK);
        fake_free(&d);
    }
    CHECK_EQ_INT(sne_store_commit(s), SNE_OK);
    CHECK_EQ_INT(sne_store_sweep(s, &st), SNE_OK);
    CHECK_EQ_INT(sne_store_run_finish(s), SNE_OK);
    for (int i = 0; i < HALF_DEMANDS; i++) {
        char num[SNE_NUM_UNIQUE_LEN + 1];
        half_num(i, num);
        want[i][0] = '\0';
        CHECK_EQ_INT(sne_store_read_demand(s, num, item_text, want[i]), SNE_OK);
        CHECK(strstr(want[i], "DRM:2026-09=") != NULL);
    }
    sne_store_close(s);

    unmigrate_half(dir);
    check_half(dir, want, "half migrated");
    w.create = false;
    CHECK_EQ_INT(sne_store_open(&s, dir, &w, &err), SNE_OK); /* finishes the move */
    sne_store_close(s);
    check_half(dir, want, "migrated");
    raw_meta m; /* "body" stays, empty, for an older snesync to find the format check */
    MDB_dbi body;
    MDB_stat ms = {0};
    int rc = meta_open(&m, dir);
    if (!rc)
        rc = mdb_dbi_open(m.txn, "body", 0, &body);
    if (!rc)
        rc = mdb_stat(m.txn, body, &ms);
    CHECK_EQ_INT((int)ms.ms_entries, 0);
    meta_close(&m, rc);
    remove_store(dir);
}

typedef struct headers_seen {
    int calls, held;
    char date[SNE_DATE_MAX + 1];
} headers_seen;

static sne_err see_header(void *ctx, const char *num, const sne_header *h)
{
    (void)num;
    headers_seen *hs = ctx;
    hs->calls++;
    if (h) {
        hs->held++;
        snprintf(hs->date, sizeof(hs->date), "%.*s", (int)h->date_len, h->date_modification);
    }
    return SNE_OK;
}

/* A pinned read sees one snapshot, whatever a writer commits meanwhile: the change log's extent,
 * the changes, the demands' headers; the pin's end shows the new state. No pin over an open batch,
 * nor two at once. */
static void test_pinned_read(void)
{
    char dir[] = "/tmp/snesync-test-pin-XXXXXX";
    if (!new_store_path(dir))
        return;
    sne_store *w = NULL, *r = NULL;
    sne_error err = {0};
    sne_store_options wo = {.writable = true, .create = true, .map_size = 64u << 20};
    sne_store_options ro = {.writable = false};
    CHECK_EQ_INT(sne_store_open(&w, dir, &wo, &err), SNE_OK);
    fake_demand d[2];
    fake_init(&d[0], "0380000000001G1226", "38185");
    fake_item(&d[0], SNE_ENTITY_CERFA, "", "form A");
    fake_init(&d[1], "0380000000002G1226", "38421");
    fake_item(&d[1], SNE_ENTITY_CERFA, "", "form B");
    sne_export_header h1 = header("P1", "2026-10-01T00:00:00Z", 1000, CERFA_EVT, NULL, 0);
    sne_apply_stats st;
    ingest_run(w, &h1, d, 2, &st, SNE_OK);
    CHECK_EQ_INT(sne_store_open(&r, dir, &ro, &err), SNE_OK);
    CHECK_EQ_INT(sne_store_read_begin(r), SNE_OK);
    CHECK_EQ_INT(sne_store_read_begin(r), SNE_ERR_USAGE);

    /* The writer changes A (new date and form) and sweeps B away. */
    fake_free(&d[0]);
    fake_free(&d[1]);
    fake_init(&d[0], "0380000000001G1226", "38185");
    snprintf(d[0].d.date_modification, sizeof(d[0].d.date_modification), "2026-11-02T00:00:00Z");
    fake_item(&d[0], SNE_ENTITY_CERFA, "", "form A2");
    sne_export_header h2 = header("P2", "2026-11-01T00:00:00Z", 2000, CERFA_EVT, NULL, 0);
    ingest_run(w, &h2, d, 1, &st, SNE_OK);
    CHECK_EQ_INT(st.updates + st.deletes, 2);

    uint64_t first, last;
    headers_seen hs = {0};
    collected col = {0};
    CHECK_EQ_INT(sne_store_seq_range(r, &first, &last), SNE_OK);
    CHECK_EQ_INT(last, 2);
    CHECK_EQ_INT(sne_store_changes(r, 0, 0, collect, &col), SNE_OK);
    CHECK_EQ_INT(col.n, 2);
    CHECK_EQ_INT(sne_store_demand_headers(r, see_header, &hs), SNE_OK);
    CHECK(hs.calls == 2 && hs.held == 2);
    CHECK_EQ_INT(sne_store_demand_header(r, "0380000000002G1226", see_header, &hs), SNE_OK);
    CHECK(hs.calls == 3 && hs.held == 3);
    CHECK_EQ_INT(sne_store_demand_header(r, "0380000000001G1226", see_header, &hs), SNE_OK);
    CHECK_EQ_STR(hs.date, "2026-10-01T00:00:00Z");

    sne_store_read_end(r);
    sne_store_read_end(r); /* ending no pin is harmless */
    hs = (headers_seen){0};
    CHECK_EQ_INT(sne_store_seq_range(r, &first, &last), SNE_OK);
    CHECK_EQ_INT(last, 4);
    CHECK_EQ_INT(sne_store_demand_headers(r, see_header, &hs), SNE_OK);
    CHECK(hs.calls == 1 && hs.held == 1);
    CHECK_EQ_STR(hs.date, "2026-11-02T00:00:00Z");
    CHECK_EQ_INT(sne_store_demand_header(r, "0380000000002G1226", see_header, &hs), SNE_OK);
    CHECK_EQ_INT(sne_store_demand_header(r, "not a number", see_header, &hs), SNE_OK);
    CHECK(hs.calls == 3 && hs.held == 1);

    /* A writer cannot pin over its own open batch. */
    bool resumed;
    sne_export_header h3 = header("P3", "2026-12-01T00:00:00Z", 3000, CERFA_EVT, NULL, 0);
    CHECK_EQ_INT(sne_store_run_begin(w, &h3, false, &resumed), SNE_OK);
    CHECK_EQ_INT(sne_store_apply(w, &d[0].d, &st), SNE_OK);
    CHECK_EQ_INT(sne_store_read_begin(w), SNE_ERR_USAGE);
    CHECK_EQ_INT(sne_store_commit(w), SNE_OK);
    CHECK_EQ_INT(sne_store_read_begin(w), SNE_OK);
    sne_store_close(w); /* ends the pin */
    fake_free(&d[0]);
    sne_store_close(r);
    remove_store(dir);
}

typedef struct items_seen {
    int n;
    char keys[4][16];
} items_seen;

static sne_err see_item(void *ctx, const sne_stored_item *it)
{
    items_seen *is = ctx;
    if (is->n < 4)
        snprintf(is->keys[is->n], sizeof(is->keys[0]), "%s:%.*s",
                 sne_entity_info_of(it->entity)->code, (int)it->key_len, it->key);
    is->n++;
    return SNE_OK;
}

/* What the public API gives of a demand: its state (radiee, date, how many items) and its items
 * in (entity, key) order; a demand held without items has a state and no item; an unknown one,
 * or a string that is no demand number, is SNE_ERR_NOTFOUND with a message. */
static void test_demand_state(void)
{
    char dir[] = "/tmp/snesync-test-state-XXXXXX";
    if (!new_store_path(dir))
        return;
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options o = {.writable = true, .create = true, .map_size = 64u << 20};
    CHECK_EQ_INT(sne_store_open(&s, dir, &o, &err), SNE_OK);
    fake_demand d[2];
    fake_init(&d[0], "0380000000001G1226", "38185");
    d[0].d.radiee = true;
    fake_item(&d[0], SNE_ENTITY_CERFA, "", "form A");
    fake_item(&d[0], SNE_ENTITY_EVT, "E1", "event 1");
    fake_item(&d[0], SNE_ENTITY_EVT, "E2", "event 2");
    fake_init(&d[1], "0380000000002G1226", "38421");
    sne_export_header h = header("S1", "2026-10-01T00:00:00Z", 1000, CERFA_EVT, NULL, 0);
    sne_apply_stats st;
    ingest_run(s, &h, d, 2, &st, SNE_OK);

    sne_demand_state state;
    CHECK_EQ_INT(sne_store_demand_state(s, "0380000000001G1226", &state), SNE_OK);
    CHECK(state.radiee && state.n_items == 3);
    CHECK_EQ_STR(state.date_modification, "2026-10-01T00:00:00Z");
    items_seen is = {0};
    CHECK_EQ_INT(sne_store_read_demand(s, "0380000000001G1226", see_item, &is), SNE_OK);
    CHECK_EQ_INT(is.n, 3);
    CHECK_EQ_STR(is.keys[0], "CERFA:");
    CHECK_EQ_STR(is.keys[2], "EVT:E2");

    CHECK_EQ_INT(sne_store_demand_state(s, "0380000000002G1226", &state), SNE_OK);
    CHECK(!state.radiee && state.n_items == 0);
    is = (items_seen){0};
    CHECK_EQ_INT(sne_store_read_demand(s, "0380000000002G1226", see_item, &is), SNE_OK);
    CHECK_EQ_INT(is.n, 0);

    CHECK_EQ_INT(sne_store_demand_state(s, "0380000000003G1226", &state), SNE_ERR_NOTFOUND);
    CHECK(strstr(sne_store_error(s)->message, "not in the store") != NULL);
    CHECK_EQ_INT(sne_store_demand_state(s, "short", &state), SNE_ERR_NOTFOUND);
    sne_store_close(s);
    fake_free(&d[0]);
    remove_store(dir);
}

int main(void)
{
    if (!mkdtemp(store_dir)) {
        perror("mkdtemp");
        return 1;
    }
    rmdir(store_dir); /* the store creates it, 0700 */
    test_lifecycle();
    test_seen_set_and_attempts();
    test_codecs();
    test_map_grows();
    test_drm_window();
    test_drm_window_survives_a_restart();
    test_drm_refresh_and_sync_staleness();
    test_run_record_without_window();
    test_creation_is_atomic();
    test_open_without_create();
    test_identity();
    test_format();
    test_half_migrated();
    test_pinned_read();
    test_demand_state();
    remove_store(store_dir);
    return TEST_SUMMARY();
}
