/* apply.c: turning a parsed demand into state and change records, and sweeping the demands an
 * export proved absent.
 *
 * An unchanged demand costs a header read, a hash comparison per item and its seen mark: no body
 * is decompressed or written. A changed demand costs, for each body part its changes touch (DRM
 * items apart from the rest, store_internal.h), one body read (to give `before` and keep the items
 * the export did not touch) and one body write, and one change group, each one zstd frame. */
#include "store_internal.h"

#include "../common/isotime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_BATCH 512   /* absent demands deleted per transaction */
#define SWEEP_SCAN  50000 /* headers examined per transaction at most */

/* One change the merge found: indexes into the stored and the arrived items. */
typedef struct planned_change {
    sne_op op;
    size_t old_index;     /* update, delete */
    size_t arrived_index; /* create, update */
} planned_change;

static int ref_compare(sne_entity ea, const char *ka, size_t la, sne_entity eb, const char *kb,
                       size_t lb)
{
    if (ea != eb)
        return ea < eb ? -1 : 1;
    size_t n = la < lb ? la : lb;
    int c = memcmp(ka, kb, n);
    return c ? c : (la > lb) - (la < lb);
}

static sne_err grow(sne_store *s, void **p, size_t elem, size_t n)
{
    void *q = realloc(*p, n * elem);
    if (!q)
        return sne_error_set(&s->err, SNE_ERR_NOMEM, 0, "out of memory");
    *p = q;
    return SNE_OK;
}

static sne_err reserve(sne_store *s, size_t merged, size_t old)
{
    sne_err rc = SNE_OK;
    if (merged > s->merged_alloc) {
        if (!(rc = grow(s, (void **)&s->merged, sizeof(*s->merged), merged)) &&
            !(rc = grow(s, (void **)&s->merged_source, sizeof(*s->merged_source), merged)) &&
            !(rc = grow(s, (void **)&s->planned, sizeof(*s->planned), merged)))
            s->merged_alloc = merged;
    }
    if (!rc && old > s->old_alloc) {
        if (!(rc = grow(s, (void **)&s->old_items, sizeof(*s->old_items), old)) &&
            !(rc = grow(s, (void **)&s->old_lens, sizeof(*s->old_lens), old)))
            s->old_alloc = old;
    }
    return rc;
}

/* Loads the stored header of `num` into s->old_header (a copy: LMDB's pointer would not survive
 * the writes that follow) and decodes it. *found is false for an unknown demand. */
static sne_err load_old_header(sne_store *s, const char *num, sne_header *old, bool *found)
{
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, v;
    memset(old, 0, sizeof(*old));
    sne_buf_reset(&s->old_header);
    int mrc = mdb_get(s->txn, s->db_demand, &k, &v);
    *found = mrc == 0;
    if (mrc == MDB_NOTFOUND)
        return SNE_OK;
    if (mrc)
        return store_fail(s, mrc, "cannot read a demand header");
    sne_err rc = sne_buf_append(&s->old_header, v.mv_data, v.mv_size);
    if (!rc)
        rc = sne_header_decode(s->old_header.data, s->old_header.len, &s->old_scratch, old);
    if (rc)
        return sne_error_set(&s->err, rc, 0, "store %s: demand %s has a damaged header", s->dir,
                             num);
    return SNE_OK;
}

/* Decodes the stored body `part` of `num` into s->old_items/old_lens at the part's items
 * (borrowing s->old_body[part]). A part without items has no body. */
static sne_err load_old_body(sne_store *s, const char *num, const sne_header *old, body_part part)
{
    size_t first, end;
    body_part_range(old->items, old->n_items, part, &first, &end);
    if (first == end)
        return SNE_OK;
    char kb[SNE_NUM_UNIQUE_LEN + 1];
    MDB_val k = store_body_key(num, part, kb), v;
    int mrc = mdb_get(s->txn, s->db_demand, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: demand %s lost its items",
                             s->dir, num);
    if (mrc)
        return store_fail(s, mrc, "cannot read a demand's items");
    sne_buf *body = &s->old_body[part];
    sne_err rc = sne_frame_decode(&s->codec, v.mv_data, v.mv_size, body);
    if (!rc)
        rc = sne_body_split(body->data, body->len, end - first, s->old_items + first,
                            s->old_lens + first);
    if (rc)
        return sne_error_set(&s->err, rc, 0, "store %s: the items of demand %s do not decode",
                             s->dir, num);
    return SNE_OK;
}

static sne_err put_frame(sne_store *s, MDB_dbi db, MDB_val *k, const sne_buf *content,
                         unsigned flags, const char *what)
{
    sne_err rc = sne_frame_encode(&s->codec, content->data, content->len, &s->frame);
    if (rc)
        return sne_error_set(&s->err, rc, 0, "cannot encode %s", what);
    MDB_val v = {s->frame.len, s->frame.data};
    int mrc = mdb_put(s->txn, db, k, &v, flags);
    store_count_write(s, v.mv_size, flags & MDB_APPEND);
    return mrc ? store_fail(s, mrc, what) : SNE_OK;
}

/* Writes `h` as the demand's header unless it encodes to the bytes already stored. */
static sne_err put_header(sne_store *s, const char *num, const sne_header *h, bool had_old)
{
    sne_buf_reset(&s->new_header);
    sne_err rc = sne_header_encode(h, &s->new_header);
    if (rc)
        return sne_error_set(&s->err, rc, 0, "demand %s: header too large", num);
    if (had_old && s->new_header.len == s->old_header.len &&
        memcmp(s->new_header.data, s->old_header.data, s->old_header.len) == 0)
        return SNE_OK;
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, v = {s->new_header.len, s->new_header.data};
    int mrc = mdb_put(s->txn, s->db_demand, &k, &v, 0);
    store_count_write(s, v.mv_size, false);
    if (mrc)
        return store_fail(s, mrc, "cannot write a demand header");
    s->demands += !had_old;
    return SNE_OK;
}

/* Deletes key `k` of the demand database; *gone (unless NULL) says whether it was there. */
static sne_err delete_key(sne_store *s, MDB_val *k, bool *gone, const char *what)
{
    int mrc = mdb_del(s->txn, s->db_demand, k, NULL);
    store_count_write(s, 0, false);
    if (gone)
        *gone = mrc == 0;
    return mrc && mrc != MDB_NOTFOUND ? store_fail(s, mrc, what) : SNE_OK;
}

/* Deletes the header of `num` (its bodies are deleted with its last items), and counts it. */
static sne_err delete_header(sne_store *s, const char *num)
{
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num};
    bool gone;
    sne_err rc = delete_key(s, &k, &gone, "cannot delete a demand header");
    if (!rc && gone && s->demands)
        s->demands--;
    return rc;
}

/* Whether a DRM month held for a demand of the export, and absent from it, is gone (contract
 * README §5). The register keeps the months of its SNE_DRM_PERIODS most recent periods; an export
 * of depth N whose most recent period is P carries P-N+1..P, its window. A month of the window is
 * gone, and so is one older than P-2, which has left the register; one of P-2..P-N is outside the
 * window and stays, as does one after P (held from a newer export). Without P the window cannot
 * be placed: a full-depth export carries every month the register keeps, so the months it does
 * not carry are gone, and a shallower one proves nothing. A key that is not a period is no month
 * of the register. */
static bool drm_month_gone(const sne_run *r, const char *key, size_t key_len)
{
    unsigned depth = r->profondeur_drm ? r->profondeur_drm : SNE_DRM_PERIODS;
    uint32_t last = r->derniere_periode_drm, month;
    if (!last)
        return depth >= SNE_DRM_PERIODS;
    if (!sne_period_parse(key, key_len, &month))
        return true;
    return month + SNE_DRM_PERIODS <= last || (month <= last && month + depth > last);
}

/* Whether a stored item of a requested entity that the export did not bring is gone: every item
 * of a demand the export swept (it left the scope); for a demand the export holds, every item but
 * the DRM months drm_month_gone() keeps. */
static bool absent_item_gone(const sne_run *r, const sne_item_ref *o, bool swept)
{
    return swept || o->entity != SNE_ENTITY_DRM || drm_month_gone(r, o->key, o->key_len);
}

/* The plan of one demand's merge: the items it will hold (s->merged, with where each comes from)
 * and the changes (s->planned), both in (entity, key) order; per body part, whether it changes
 * and whether its stored items must be read (for a `before`, or to keep them in a rewrite). */
typedef struct merge_plan {
    size_t n_merged;
    size_t n_changes;
    size_t n_unchanged; /* arrived items equal to the stored ones */
    bool rewrite[BODY_PARTS];
    bool needs_old[BODY_PARTS];
} merge_plan;

/* Merges the stored items with the arrived ones (both sorted by (entity, key)); only entities the
 * run requested can change, and a stored item that did not arrive goes as absent_item_gone()
 * says (`swept`: the demand is absent from the export). Arrived items of other entities are
 * ignored: the export said nothing about them. */
static merge_plan plan_merge(sne_store *s, const sne_run *r, const sne_header *old,
                             const sne_item *arrived, size_t n_arrived, bool swept)
{
    sne_entity_set requested = r->entities;
    merge_plan p = {0};
    bool kept[BODY_PARTS] = {false}; /* items kept as stored */
    size_t i = 0, j = 0;
    while (i < old->n_items || j < n_arrived) {
        const sne_item_ref *o = i < old->n_items ? &old->items[i] : NULL;
        const sne_item *a = j < n_arrived ? &arrived[j] : NULL;
        if (a && !(requested & (1u << a->entity))) {
            j++;
            continue;
        }
        int c = !o   ? 1
                : !a ? -1
                     : ref_compare(o->entity, o->key, o->key_len, a->entity, a->key, a->key_len);
        if (c < 0) {
            body_part part = body_part_of(o->entity);
            if ((requested & (1u << o->entity)) && absent_item_gone(r, o, swept)) {
                s->planned[p.n_changes++] = (planned_change){SNE_OP_DELETE, i, 0};
                p.rewrite[part] = p.needs_old[part] = true;
            } else { /* kept as stored */
                s->merged[p.n_merged] = *o;
                s->merged_source[p.n_merged++] = -1 - (int)i;
                kept[part] = true;
            }
            i++;
            continue;
        }
        body_part part = body_part_of(a->entity);
        if (c > 0) {
            s->planned[p.n_changes++] = (planned_change){SNE_OP_CREATE, 0, j};
            p.rewrite[part] = true;
        } else if (o->hash != a->hash) {
            s->planned[p.n_changes++] = (planned_change){SNE_OP_UPDATE, i, j};
            p.rewrite[part] = p.needs_old[part] = true;
        } else {
            p.n_unchanged++;
        }
        if (c == 0)
            i++;
        s->merged[p.n_merged] = (sne_item_ref){a->entity, a->key, a->key_len, a->hash};
        s->merged_source[p.n_merged++] = (int)j;
        j++;
    }
    for (int b = 0; b < BODY_PARTS; b++)
        p.needs_old[b] |= p.rewrite[b] && kept[b];
    return p;
}

/* Writes the planned changes into s->group and counts them. */
static sne_err build_changes(sne_store *s, const merge_plan *p, const sne_header *old,
                             const sne_item *arrived, sne_apply_stats *st)
{
    sne_err rc = SNE_OK;
    for (size_t c = 0; !rc && c < p->n_changes; c++) {
        const planned_change *pc = &s->planned[c];
        sne_change_entry e = {.op = pc->op};
        if (pc->op != SNE_OP_DELETE) {
            const sne_item *a = &arrived[pc->arrived_index];
            e.entity = a->entity, e.key = a->key, e.key_len = a->key_len;
            e.after = a->canon, e.after_len = a->canon_len;
        }
        if (pc->op != SNE_OP_CREATE) {
            const sne_item_ref *o = &old->items[pc->old_index];
            e.entity = o->entity, e.key = o->key, e.key_len = o->key_len;
            e.before = s->old_items[pc->old_index], e.before_len = s->old_lens[pc->old_index];
        }
        switch (pc->op) {
        case SNE_OP_CREATE:
            st->creates++;
            s->counts[e.entity]++;
            break;
        case SNE_OP_UPDATE:
            st->updates++;
            break;
        case SNE_OP_DELETE:
            st->deletes++;
            if (s->counts[e.entity])
                s->counts[e.entity]--;
            break;
        }
        rc = sne_group_add(&s->group, &e);
    }
    return rc ? sne_error_set(&s->err, rc, 0, "change group too large") : SNE_OK;
}

/* Writes body `part` of `num`: the merged items [first, end), or no body when there are none. */
static sne_err write_body(sne_store *s, const char *num, body_part part, size_t first, size_t end,
                          const sne_item *arrived)
{
    char kb[SNE_NUM_UNIQUE_LEN + 1];
    MDB_val k = store_body_key(num, part, kb);
    if (first == end)
        return delete_key(s, &k, NULL, "cannot delete a demand's items");
    sne_err rc = SNE_OK;
    sne_buf_reset(&s->new_body);
    for (size_t m = first; !rc && m < end; m++) {
        int src = s->merged_source[m];
        rc = src >= 0 ? sne_body_add(&s->new_body, arrived[src].canon, arrived[src].canon_len)
                      : sne_body_add(&s->new_body, s->old_items[-1 - src], s->old_lens[-1 - src]);
    }
    if (rc)
        return sne_error_set(&s->err, rc, 0, "demand %s: too large", num);
    if ((rc = store_sample_for_dictionary(s, &s->new_body)))
        return rc;
    return put_frame(s, s->db_demand, &k, &s->new_body, 0, "cannot write a demand's items");
}

/* Merges `arrived` into the stored demand `num` and writes what changed: body, change group and
 * header (`h` gives the new header's state, dates and communes; its items are filled in here).
 * `r` is what brought the data: the running export, or a unit read (its entities, DRM window,
 * number and date). `swept`: the demand is absent from the export (or left the scope of a read),
 * so it loses every requested item, and its header too when no item is left. */
static sne_err merge_demand(sne_store *s, const sne_run *r, const char *num, const sne_header *old,
                            bool found, const sne_item *arrived, size_t n_arrived, sne_header *h,
                            bool swept, sne_apply_stats *st)
{
    sne_err rc = reserve(s, old->n_items + n_arrived, old->n_items);
    if (rc)
        return rc;
    merge_plan p = plan_merge(s, r, old, arrived, n_arrived, swept);
    h->items = s->merged;
    h->n_items = p.n_merged;
    st->items_unchanged += p.n_unchanged;
    if (p.n_changes == 0)
        return put_header(s, num, h, found);
    for (int b = 0; b < BODY_PARTS && !rc; b++)
        if (p.needs_old[b])
            rc = load_old_body(s, num, old, (body_part)b);
    if (rc)
        return rc;

    rc = sne_group_begin(&s->group, num, r->numero, strlen(r->numero), r->date_export,
                         strlen(r->date_export));
    if (!rc)
        rc = build_changes(s, &p, old, arrived, st);
    if (rc)
        return rc;
    uint32_t n_changes = sne_group_count(&s->group);
    uint8_t seq[8];
    sne_put_u64be(seq, s->seq + 1);
    MDB_val ck = {8, seq};
    if ((rc = put_frame(s, s->db_change, &ck, &s->group, MDB_APPEND, "cannot log the changes")))
        return rc;
    s->seq += n_changes;

    for (int b = 0; b < BODY_PARTS && !rc; b++) {
        size_t first, end;
        body_part_range(s->merged, p.n_merged, (body_part)b, &first, &end);
        if (p.rewrite[b])
            rc = write_body(s, num, (body_part)b, first, end, arrived);
    }
    if (rc)
        return rc;
    if (p.n_merged == 0 && swept)
        return found ? delete_header(s, num) : SNE_OK;
    return put_header(s, num, h, found);
}

static sne_err mark_seen(sne_store *s, const char *num)
{
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, v;
    int mrc = mdb_get(s->txn, s->db_seen, &k, &v);
    if (mrc == 0 && v.mv_size == 8 && sne_get_u64le(v.mv_data) == s->run.attempt)
        return sne_error_set(&s->err, SNE_ERR_INVALID, 0, "demand appears twice in the export");
    uint8_t attempt[8];
    sne_put_u64le(attempt, s->run.attempt);
    v = (MDB_val){8, attempt};
    mrc = mdb_put(s->txn, s->db_seen, &k, &v, 0);
    store_count_write(s, v.mv_size, false);
    return mrc ? store_fail(s, mrc, "cannot record a seen demand") : SNE_OK;
}

/* The header a demand arriving as `d` will have: its state and date, and its sought communes
 * (those of `old` when `d` brings no CERFA); `communes` holds them. */
static sne_header arrived_header(const sne_demand *d, const sne_header *old,
                                 char communes[SNE_MAX_SOUGHT_COMMUNES * SNE_COMMUNE_LEN])
{
    sne_header h = {.radiee = d->radiee,
                    .date_modification = d->date_modification,
                    .date_len = strlen(d->date_modification),
                    .n_communes = old->n_communes,
                    .communes = old->communes};
    if (d->has_cerfa) {
        for (size_t c = 0; c < d->n_communes; c++)
            memcpy(communes + c * SNE_COMMUNE_LEN, d->communes[c], SNE_COMMUNE_LEN);
        h.n_communes = d->n_communes;
        h.communes = communes;
    }
    return h;
}

sne_err sne_store_apply(sne_store *s, const sne_demand *d, sne_apply_stats *st)
{
    const char *num = d->num_unique;
    sne_header old;
    bool found, newer_held = false;
    store_taken taken;
    sne_err rc = store_begin_batch(s);
    if (!rc)
        rc = mark_seen(s, num);
    if (!rc)
        rc = store_taken_get(s, s->txn, num, &taken);
    if (!rc)
        rc = store_taken_settle(s, num, &taken, s->run.date_ms, &newer_held);
    if (rc)
        return rc;
    st->demands++;
    if (newer_held) { /* newer data wins: a read took this demand after the export */
        st->demands_newer_held++;
        return SNE_OK;
    }
    if ((rc = load_old_header(s, num, &old, &found)))
        return rc;
    char communes[SNE_MAX_SOUGHT_COMMUNES * SNE_COMMUNE_LEN];
    sne_header h = arrived_header(d, &old, communes);
    return merge_demand(s, &s->run, num, &old, found, d->items, d->n_items, &h, false, st);
}

/* The unit read `rd` as the merge sees it: a run of its entities, DRM window, number and date. */
static void read_as_run(const sne_store_read *rd, sne_run *r)
{
    memset(r, 0, sizeof(*r));
    r->state = SNE_RUN_STARTED;
    snprintf(r->numero, sizeof(r->numero), "%s", rd->numero);
    snprintf(r->date_export, sizeof(r->date_export), "%s", rd->date_export);
    r->date_ms = rd->date_ms;
    r->entities = rd->entities;
    r->profondeur_drm = rd->profondeur_drm;
    r->derniere_periode_drm = rd->derniere_periode_drm;
}

sne_err sne_store_apply_read(sne_store *s, const sne_store_read *rd, sne_apply_stats *st)
{
    sne_header old;
    bool found;
    store_taken taken;
    sne_run r;
    if (!s->has_taken)
        return sne_error_set(&s->err, SNE_ERR_USAGE, 0, "store %s: opened read-only", s->dir);
    sne_err rc = store_begin_batch(s);
    if (!rc)
        rc = store_taken_get(s, s->txn, rd->num, &taken);
    if (rc)
        return rc;
    st->demands++;
    if (taken.found && taken.ms > rd->date_ms) { /* a newer read is already applied */
        st->demands_newer_held++;
        return SNE_OK;
    }
    if ((rc = load_old_header(s, rd->num, &old, &found)))
        return rc;
    read_as_run(rd, &r);
    bool left = rd->demand == NULL;
    char communes[SNE_MAX_SOUGHT_COMMUNES * SNE_COMMUNE_LEN];
    sne_header h = left ? old : arrived_header(rd->demand, &old, communes);
    if (left)
        st->demands_swept += found;
    if (left && found && old.n_items == 0)
        rc = delete_header(s, rd->num);
    else if (!left || found)
        rc = merge_demand(s, &r, rd->num, &old, found, left ? NULL : rd->demand->items,
                          left ? 0 : rd->demand->n_items, &h, left, st);
    return rc ? rc : store_taken_put(s, rd->num, rd->date_ms, left);
}

/* Scans headers after `from` (from the first when !*started) and collects absent, in-scope
 * demands. Sets *done when the scan reached the end; `from` becomes the last key examined. */
static sne_err collect_absent(sne_store *s, char from[SNE_NUM_UNIQUE_LEN], bool *started,
                              char (*victims)[SNE_NUM_UNIQUE_LEN], size_t *n_victims, bool *done)
{
    MDB_cursor *c;
    MDB_val k = {SNE_NUM_UNIQUE_LEN, from}, v;
    int mrc = mdb_cursor_open(s->txn, s->db_demand, &c);
    if (mrc)
        return store_fail(s, mrc, "cannot scan demands");
    if (!*started) {
        mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        *started = true;
    } else {
        mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (mrc == 0 && k.mv_size == SNE_NUM_UNIQUE_LEN && memcmp(k.mv_data, from, k.mv_size) == 0)
            mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    sne_err rc = SNE_OK;
    size_t scanned = 0;
    *n_victims = 0;
    for (; mrc == 0 && *n_victims < SWEEP_BATCH && scanned < SWEEP_SCAN;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT), scanned++) {
        if (k.mv_size != SNE_NUM_UNIQUE_LEN)
            continue;
        memcpy(from, k.mv_data, SNE_NUM_UNIQUE_LEN);
        MDB_val seen;
        if (mdb_get(s->txn, s->db_seen, &k, &seen) == 0)
            continue;
        store_taken taken;
        if ((rc = store_taken_get(s, s->txn, from, &taken)))
            break;
        if (taken.found && taken.ms > s->run.date_ms)
            continue; /* newer data wins: read after the export, it stays as read */
        sne_header h;
        if ((rc = sne_header_decode(v.mv_data, v.mv_size, &s->old_scratch, &h))) {
            sne_error_set(&s->err, rc, 0, "store %s: a demand header is damaged", s->dir);
            break;
        }
        if (store_in_run_scope(s, &h))
            memcpy(victims[(*n_victims)++], k.mv_data, SNE_NUM_UNIQUE_LEN);
    }
    mdb_cursor_close(c);
    if (!rc && mrc && mrc != MDB_NOTFOUND)
        rc = store_fail(s, mrc, "cannot scan demands");
    *done = mrc == MDB_NOTFOUND;
    return rc;
}

/* Deletes the requested entities of one absent demand. */
static sne_err sweep_demand(sne_store *s, const char *num, sne_apply_stats *st)
{
    sne_header old;
    bool found;
    sne_err rc = load_old_header(s, num, &old, &found);
    if (rc || !found)
        return rc;
    sne_header h = old;
    st->demands_swept++;
    if (old.n_items == 0) /* nothing held for it: only its header goes */
        return delete_header(s, num);
    return merge_demand(s, &s->run, num, &old, found, NULL, 0, &h, true, st);
}

sne_err sne_store_sweep(sne_store *s, sne_apply_stats *st)
{
    char from[SNE_NUM_UNIQUE_LEN] = {0};
    char(*victims)[SNE_NUM_UNIQUE_LEN] = malloc(SWEEP_BATCH * sizeof(*victims));
    if (!victims)
        return sne_error_set(&s->err, SNE_ERR_NOMEM, 0, "out of memory");
    bool started = false, done = false;
    sne_err rc = SNE_OK;
    while (!rc && !done) {
        size_t n = 0;
        rc = store_begin_batch(s);
        if (!rc)
            rc = collect_absent(s, from, &started, victims, &n, &done);
        for (size_t i = 0; !rc && i < n; i++) {
            char num[SNE_NUM_UNIQUE_LEN + 1];
            memcpy(num, victims[i], SNE_NUM_UNIQUE_LEN);
            num[SNE_NUM_UNIQUE_LEN] = '\0';
            rc = sweep_demand(s, num, st);
        }
        if (!rc)
            rc = sne_store_commit(s);
    }
    free(victims);
    return rc;
}
