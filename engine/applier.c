#include "applier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMBER_SHOWN 256 /* bytes of a member name kept for messages */

/* A demand as copied into a parcel: its fixed fields (d, whose pointers are not kept), and where
 * in the parcel its items and sought communes went. */
typedef struct parcel_demand {
    sne_demand d;
    size_t first_item;   /* in the parcel's items */
    size_t communes_off; /* in the parcel's bytes */
} parcel_demand;

typedef struct parcel_item {
    sne_entity entity;
    size_t key_off, key_len; /* the key is followed by a NUL in bytes */
    size_t canon_off, canon_len;
    uint64_t hash;
} parcel_item;

/* A run of demands of one member, with everything they point to. */
typedef struct parcel {
    char member[MEMBER_SHOWN];
    sne_buf bytes; /* keys, canonical forms, sought communes */
    parcel_demand demands[APPLIER_PARCEL_DEMAND];
    size_t n_demands;
    parcel_item *items;
    size_t n_items, items_alloc;
} parcel;

struct sne_applier {
    sne_store *store;
    sne_apply_stats *stats;
    size_t batch_demands;
    uint64_t batch_dirty;

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t filled;  /* a parcel was handed over, or the producer closed or cancelled */
    pthread_cond_t emptied; /* a parcel was applied, or the applier failed or stopped */
    parcel parcels[APPLIER_PARCELS];
    size_t head, count; /* ring: the applier works on parcels[head] while it is counted */
    bool closed;        /* finish: no more parcels will come */
    bool cancel;        /* free: stop now */
    bool failed;        /* the applier stopped on `error` */
    bool stopped;       /* the thread is about to return */
    sne_error error;

    _Atomic uint64_t commits;

    /* Applier thread only. */
    size_t since_commit;
    sne_item *view; /* the items of the demand being applied, as the store wants them */
    size_t view_alloc;

    /* Producer only. */
    parcel *filling; /* the parcel being filled, or NULL */
};

#define PARCEL_ITEMS_KEPT 16384 /* item slots a parcel keeps between uses */

static void parcel_clear(parcel *p)
{
    p->n_demands = 0;
    p->n_items = 0;
    sne_buf_reset(&p->bytes);
    /* Grown for one large demand: give the memory back. */
    if (p->bytes.alloc > 2 * APPLIER_PARCEL_BYTES)
        sne_buf_free(&p->bytes);
    if (p->items_alloc > PARCEL_ITEMS_KEPT) {
        free(p->items);
        p->items = NULL;
        p->items_alloc = 0;
    }
}

/* ---- the applier thread ---- */

/* Rebuilds the sne_demand the store expects from parcel record `pd`. */
static sne_err view_demand(sne_applier *a, const parcel *p, const parcel_demand *pd, sne_demand *d)
{
    size_t n_items = pd->d.n_items;
    if (n_items > a->view_alloc) {
        sne_item *v = realloc(a->view, n_items * sizeof(*v));
        if (!v)
            return SNE_ERR_NOMEM;
        a->view = v;
        a->view_alloc = n_items;
    }
    for (size_t i = 0; i < n_items; i++) {
        const parcel_item *it = &p->items[pd->first_item + i];
        a->view[i] = (sne_item){it->entity,    (const char *)p->bytes.data + it->key_off,
                                it->key_len,   p->bytes.data + it->canon_off,
                                it->canon_len, it->hash};
    }
    *d = pd->d;
    d->items = a->view;
    d->communes = (const char(*)[SNE_COMMUNE_LEN + 1])(p->bytes.data + pd->communes_off);
    return SNE_OK;
}

/* Applies one demand; commits when the batch is full. */
static sne_err apply_demand(sne_applier *a, const sne_demand *d)
{
    sne_err rc = sne_store_apply(a->store, d, a->stats);
    if (!rc && (++a->since_commit >= a->batch_demands ||
                sne_store_batch_dirty(a->store) >= a->batch_dirty)) {
        a->since_commit = 0;
        if (!(rc = sne_store_commit(a->store)))
            atomic_fetch_add(&a->commits, 1);
    }
    return rc;
}

/* Applies one parcel; on failure `err` says which demand and why. */
static sne_err apply_parcel(sne_applier *a, const parcel *p, sne_error *err)
{
    for (size_t i = 0; i < p->n_demands; i++) {
        const parcel_demand *pd = &p->demands[i];
        sne_demand d;
        sne_err rc = view_demand(a, p, pd, &d);
        if (rc)
            sne_error_set(err, rc, 0, "out of memory");
        else if ((rc = apply_demand(a, &d)))
            *err = *sne_store_error(a->store);
        if (rc) {
            sne_error_prefix(err, "%s, line %zu, demand %s: ", p->member, pd->d.line,
                             pd->d.num_unique);
            return rc;
        }
    }
    return SNE_OK;
}

static void *apply_loop(void *arg)
{
    sne_applier *a = arg;
    sne_error err = {0};
    sne_err rc = SNE_OK;
    for (;;) {
        pthread_mutex_lock(&a->lock);
        while (a->count == 0 && !a->closed && !a->cancel)
            pthread_cond_wait(&a->filled, &a->lock);
        bool stop = a->cancel || a->count == 0; /* cancelled, or closed and drained */
        parcel *p = stop ? NULL : &a->parcels[a->head];
        pthread_mutex_unlock(&a->lock);
        if (stop)
            break;
        rc = apply_parcel(a, p, &err);
        parcel_clear(p);
        pthread_mutex_lock(&a->lock);
        a->head = (a->head + 1) % APPLIER_PARCELS;
        a->count--;
        pthread_cond_signal(&a->emptied);
        pthread_mutex_unlock(&a->lock);
        if (rc)
            break;
    }
    pthread_mutex_lock(&a->lock);
    bool finish = !rc && !a->cancel;
    pthread_mutex_unlock(&a->lock);
    if (finish && (rc = sne_store_commit(a->store)))
        err = *sne_store_error(a->store);
    if (rc || !finish)
        sne_store_abort(a->store); /* on this thread, which began the batch */
    /* Wakes a producer waiting for room, or the finish waiting for the end. */
    pthread_mutex_lock(&a->lock);
    if (rc) {
        a->failed = true;
        a->error = err;
    }
    a->stopped = true;
    pthread_cond_broadcast(&a->emptied);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* ---- the producer ---- */

sne_err sne_applier_start(sne_applier **out, sne_store *s, size_t batch_demands,
                          uint64_t batch_dirty, sne_apply_stats *stats, sne_error *err)
{
    *out = NULL;
    sne_applier *a = calloc(1, sizeof(*a));
    if (!a)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    a->store = s;
    a->stats = stats;
    a->batch_demands = batch_demands;
    a->batch_dirty = batch_dirty;
    /* No cap of its own: a parcel holds APPLIER_PARCEL_BYTES plus one demand, which the parser
     * caps (sne_parse_limits.max_demand). */
    for (size_t i = 0; i < APPLIER_PARCELS; i++)
        sne_buf_init(&a->parcels[i].bytes, SIZE_MAX / 2);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->filled, NULL);
    pthread_cond_init(&a->emptied, NULL);
    if (pthread_create(&a->thread, NULL, apply_loop, a) != 0) {
        sne_applier_free(a);
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "cannot start the store thread");
    }
    a->thread_started = true;
    *out = a;
    return SNE_OK;
}

/* Hands the parcel being filled to the applier. */
static void hand_over(sne_applier *a)
{
    if (!a->filling)
        return;
    a->filling = NULL;
    pthread_mutex_lock(&a->lock);
    a->count++;
    pthread_cond_signal(&a->filled);
    pthread_mutex_unlock(&a->lock);
}

/* The parcel to fill, waiting for one to be free; NULL once the applier failed. */
static parcel *filling(sne_applier *a)
{
    if (a->filling)
        return a->filling;
    pthread_mutex_lock(&a->lock);
    while (a->count == APPLIER_PARCELS && !a->failed)
        pthread_cond_wait(&a->emptied, &a->lock);
    if (!a->failed)
        a->filling = &a->parcels[(a->head + a->count) % APPLIER_PARCELS];
    pthread_mutex_unlock(&a->lock);
    return a->filling;
}

static sne_err copy_demand(parcel *p, const sne_demand *d)
{
    if (p->n_items + d->n_items > p->items_alloc) {
        size_t n = p->items_alloc ? p->items_alloc : 1024;
        while (n < p->n_items + d->n_items)
            n *= 2;
        parcel_item *items = realloc(p->items, n * sizeof(*items));
        if (!items)
            return SNE_ERR_NOMEM;
        p->items = items;
        p->items_alloc = n;
    }
    parcel_demand *pd = &p->demands[p->n_demands];
    pd->d = *d;
    pd->d.items = NULL; /* borrowed from the parser: rebuilt from the parcel by view_demand */
    pd->d.communes = NULL;
    pd->first_item = p->n_items;
    pd->communes_off = p->bytes.len;
    sne_err rc = sne_buf_append(&p->bytes, d->communes, d->n_communes * sizeof(*d->communes));
    for (size_t i = 0; !rc && i < d->n_items; i++) {
        const sne_item *it = &d->items[i];
        parcel_item *pi = &p->items[p->n_items + i];
        pi->entity = it->entity;
        pi->hash = it->hash;
        pi->key_off = p->bytes.len;
        pi->key_len = it->key_len;
        if (!(rc = sne_buf_append(&p->bytes, it->key, it->key_len)) &&
            !(rc = sne_buf_append_byte(&p->bytes, '\0'))) {
            pi->canon_off = p->bytes.len;
            pi->canon_len = it->canon_len;
            rc = sne_buf_append(&p->bytes, it->canon, it->canon_len);
        }
    }
    if (rc)
        return rc;
    p->n_items += d->n_items;
    p->n_demands++;
    return SNE_OK;
}

static sne_err applier_error(sne_applier *a, sne_error *err)
{
    pthread_mutex_lock(&a->lock);
    *err = a->error;
    pthread_mutex_unlock(&a->lock);
    return err->code ? err->code : SNE_ERR_STORE;
}

sne_err sne_applier_push(sne_applier *a, const char *member, const sne_demand *d, sne_error *err)
{
    parcel *p = a->filling;
    if (p && strncmp(p->member, member, sizeof(p->member) - 1) != 0)
        hand_over(a); /* a parcel holds demands of one member, for messages */
    if (!(p = filling(a)))
        return applier_error(a, err);
    if (p->n_demands == 0)
        snprintf(p->member, sizeof(p->member), "%s", member);
    sne_err rc = copy_demand(p, d);
    if (rc)
        return sne_error_set(err, rc, 0, "out of memory");
    if (p->n_demands == APPLIER_PARCEL_DEMAND || p->bytes.len >= APPLIER_PARCEL_BYTES)
        hand_over(a);
    return SNE_OK;
}

uint64_t sne_applier_commits(const sne_applier *a)
{
    return atomic_load(&((sne_applier *)a)->commits);
}

sne_err sne_applier_finish(sne_applier *a, void (*on_progress)(void *ctx), void *ctx,
                           sne_error *err)
{
    if (a->filling && a->filling->n_demands)
        hand_over(a);
    pthread_mutex_lock(&a->lock);
    a->closed = true;
    pthread_cond_signal(&a->filled);
    while (!a->stopped) { /* each parcel applied wakes us, to look at the commits */
        pthread_cond_wait(&a->emptied, &a->lock);
        if (on_progress) {
            pthread_mutex_unlock(&a->lock);
            on_progress(ctx);
            pthread_mutex_lock(&a->lock);
        }
    }
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    a->thread_started = false;
    return a->failed ? applier_error(a, err) : SNE_OK;
}

void sne_applier_free(sne_applier *a)
{
    if (!a)
        return;
    if (a->thread_started) {
        pthread_mutex_lock(&a->lock);
        a->cancel = true;
        pthread_cond_signal(&a->filled);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->thread, NULL);
    }
    for (size_t i = 0; i < APPLIER_PARCELS; i++) {
        sne_buf_free(&a->parcels[i].bytes);
        free(a->parcels[i].items);
    }
    free(a->view);
    pthread_cond_destroy(&a->filled);
    pthread_cond_destroy(&a->emptied);
    pthread_mutex_destroy(&a->lock);
    free(a);
}
