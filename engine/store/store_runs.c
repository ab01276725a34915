/* store_runs.c: the run of an export (store.h): its record in meta "run", the staleness check
 * against the scopes already applied, and the scope dates recorded when it finishes. */
#include "store_internal.h"

#include "../model/geo.h"

#include <stdio.h>
#include <string.h>

sne_err store_load_run(sne_store *s, MDB_txn *txn, sne_run *r)
{
    MDB_val k = store_meta_key(SNE_META_RUN), v;
    int mrc = mdb_get(txn, s->db_meta, &k, &v);
    if (mrc == MDB_NOTFOUND) {
        r->state = SNE_RUN_NONE;
        r->attempt = 0;
        return SNE_OK;
    }
    if (mrc)
        return store_fail(s, mrc, "cannot read the run record");
    if (sne_run_decode(v.mv_data, v.mv_size, r) != SNE_OK)
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: damaged run record", s->dir);
    return SNE_OK;
}

static sne_err save_run(sne_store *s)
{
    sne_err rc = sne_run_encode(&s->run, &s->new_header);
    if (rc) {
        sne_store_abort(s);
        return sne_error_set(&s->err, rc, 0, "cannot encode the run record");
    }
    MDB_val k = store_meta_key(SNE_META_RUN), v = {s->new_header.len, s->new_header.data};
    int mrc = mdb_put(s->txn, s->db_meta, &k, &v, 0);
    return mrc ? store_fail(s, mrc, "cannot write the run record") : SNE_OK;
}

/* Scope units are "*" (everywhere), "D<department>" or "C<commune>". */
static bool units_overlap(const char *a, const char *b)
{
    if (a[0] == '*' || b[0] == '*' || strcmp(a, b) == 0)
        return true;
    if (a[0] == 'C' && b[0] == 'D') {
        const char *t = a;
        a = b;
        b = t;
    }
    if (a[0] == 'D' && b[0] == 'C') {
        size_t n = sne_commune_department_len(b + 1);
        return strlen(a + 1) == n && memcmp(a + 1, b + 1, n) == 0;
    }
    return false;
}

/* The i-th scope unit of the run ("*" when it has no location filter). */
static void run_unit(const sne_run *r, size_t i, char unit[SNE_SCOPE_UNIT_MAX + 1])
{
    if (r->location == SNE_LOCATION_ALL)
        snprintf(unit, SNE_SCOPE_UNIT_MAX + 1, "*");
    else
        snprintf(unit, SNE_SCOPE_UNIT_MAX + 1, "%c%s",
                 r->location == SNE_LOCATION_DEPARTEMENTS ? 'D' : 'C', r->locations[i]);
}

static size_t run_unit_count(const sne_run *r)
{
    return r->location == SNE_LOCATION_ALL ? 1 : r->n_locations;
}

/* Refuses (SNE_ERR_STALE) the run `r` when a scope it overlaps holds data of a newer export. */
static sne_err check_stale(sne_store *s, const sne_run *r)
{
    MDB_cursor *c;
    MDB_val k, v;
    int mrc = mdb_cursor_open(s->txn, s->db_scope, &c);
    if (mrc)
        return store_fail(s, mrc, "cannot read scopes");
    sne_err rc = SNE_OK;
    for (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0 && !rc;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        sne_scope_key key;
        sne_scope_value held;
        /* A scope of an entity this build does not know holds none of its exports' data. */
        if (sne_scope_key_decode(k.mv_data, k.mv_size, &key) != SNE_OK ||
            sne_scope_value_decode(v.mv_data, v.mv_size, &held) != SNE_OK)
            continue;
        if (key.radiees != r->radiees || !(r->entities & (1u << key.entity)) ||
            held.date_ms <= r->date_ms)
            continue;
        for (size_t i = 0; i < run_unit_count(r) && !rc; i++) {
            char mine[SNE_SCOPE_UNIT_MAX + 1];
            run_unit(r, i, mine);
            if (units_overlap(mine, key.unit))
                rc =
                    sne_error_set(&s->err, SNE_ERR_STALE, 0,
                                  "export %s of %s is older than the data held for scope "
                                  "%s|%s|%s (export of %s); --force applies it anyway",
                                  r->numero, r->date_export, r->radiees ? "RADIEE" : "ACTIVE",
                                  sne_entity_info_of(key.entity)->code, key.unit, held.date_export);
        }
    }
    mdb_cursor_close(c);
    if (!rc && mrc && mrc != MDB_NOTFOUND)
        rc = store_fail(s, mrc, "cannot read scopes");
    return rc;
}

sne_err sne_store_run_begin(sne_store *s, const sne_export_header *h, bool force, bool *resumed)
{
    sne_err rc = sne_store_commit(s);
    if (!rc)
        rc = store_begin_batch(s);
    if (rc)
        return rc;
    sne_run *r = &s->run;
    if ((rc = store_load_run(s, s->txn, r)))
        return rc;
    *resumed = r->state == SNE_RUN_STARTED && strcmp(r->numero, h->numero) == 0 &&
               strcmp(r->date_export, h->date_export) == 0;
    if (!*resumed) {
        /* A different export, or none unfinished: the seen set starts empty. */
        int mrc = mdb_drop(s->txn, s->db_seen, 0);
        if (mrc)
            return store_fail(s, mrc, "cannot clear the seen set");
        snprintf(r->numero, sizeof(r->numero), "%s", h->numero);
        snprintf(r->date_export, sizeof(r->date_export), "%s", h->date_export);
        r->date_ms = h->date_export_ms;
        r->entities = h->entities;
        r->radiees = h->radiees;
        r->location = h->location;
        r->n_locations = h->n_locations;
        r->profondeur_drm = h->profondeur_drm;
        r->derniere_periode_drm = h->derniere_periode_drm;
        if (h->n_locations)
            memcpy(r->locations, h->locations, h->n_locations * sizeof(r->locations[0]));
    }
    r->state = SNE_RUN_STARTED;
    r->attempt++;
    if (!force && (rc = check_stale(s, r))) {
        mdb_txn_abort(s->txn);
        s->txn = NULL;
        return rc;
    }
    if ((rc = save_run(s)))
        return rc;
    return sne_store_commit(s);
}

/* Records the run's export as the newest applied to each of its scopes, unless a scope holds a
 * newer one (a forced older export does not hide newer data). */
static sne_err record_scopes(sne_store *s, const sne_run *r)
{
    sne_scope_value sv = {.date_ms = r->date_ms};
    uint8_t value[SNE_SCOPE_VALUE_SIZE];
    snprintf(sv.numero, sizeof(sv.numero), "%s", r->numero);
    snprintf(sv.date_export, sizeof(sv.date_export), "%s", r->date_export);
    sne_err rc = sne_scope_value_encode(&sv, value);
    for (int e = 0; !rc && e < SNE_ENTITY__COUNT; e++) {
        if (!(r->entities & (1u << e)))
            continue;
        for (size_t i = 0; !rc && i < run_unit_count(r); i++) {
            sne_scope_key key = {.radiees = r->radiees, .entity = (sne_entity)e};
            char kb[SNE_SCOPE_KEY_MAX + 1];
            run_unit(r, i, key.unit);
            size_t n = sne_scope_key_encode(&key, kb);
            if (!n) {
                rc = SNE_ERR_LIMIT;
                break;
            }
            MDB_val k = {n, kb}, old, v = {sizeof(value), value};
            sne_scope_value held;
            if (mdb_get(s->txn, s->db_scope, &k, &old) == 0 &&
                sne_scope_value_decode(old.mv_data, old.mv_size, &held) == SNE_OK &&
                held.date_ms > r->date_ms)
                continue;
            int mrc = mdb_put(s->txn, s->db_scope, &k, &v, 0);
            if (mrc)
                return store_fail(s, mrc, "cannot record the scope");
        }
    }
    if (rc) {
        sne_store_abort(s);
        return sne_error_set(&s->err, rc, 0, "cannot encode the scopes of export %s", r->numero);
    }
    return SNE_OK;
}

sne_err sne_store_run_finish(sne_store *s)
{
    sne_err rc = store_begin_batch(s);
    if (rc || (rc = record_scopes(s, &s->run)))
        return rc;
    int mrc = mdb_drop(s->txn, s->db_seen, 0);
    if (mrc)
        return store_fail(s, mrc, "cannot clear the seen set");
    s->run.state = SNE_RUN_DONE;
    if ((rc = save_run(s)) || (rc = sne_store_commit(s)))
        return rc;
    mrc = mdb_env_sync(s->env, 1);
    return mrc ? store_fail(s, mrc, "cannot flush the store to disk") : SNE_OK;
}

bool store_in_run_scope(const sne_store *s, const sne_header *h)
{
    const sne_run *r = &s->run;
    if (h->radiee != r->radiees)
        return false;
    if (r->location == SNE_LOCATION_ALL)
        return true;
    for (size_t c = 0; c < h->n_communes; c++) {
        const char *commune = h->communes + c * SNE_COMMUNE_LEN;
        size_t n = r->location == SNE_LOCATION_COMMUNES ? SNE_COMMUNE_LEN
                                                        : sne_commune_department_len(commune);
        for (size_t i = 0; i < r->n_locations; i++)
            if (strlen(r->locations[i]) == n && memcmp(r->locations[i], commune, n) == 0)
                return true;
    }
    return false;
}
