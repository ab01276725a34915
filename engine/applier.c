#include "applier.h"

#include "common/queue.h"
#include "common/thread.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* Records travel in a loop, APPLIER_RUN at a time: the producer takes a run of empty records
 * from `empty`, gives them out one by one in exchange for the demands it hands over, and pushes
 * those to `full` together once the run is spent; the applier thread applies each run that comes
 * out of `full` and puts its records back into `empty` together. One lock and at most one thread
 * switch per run, not per demand (a hand-over per demand was measured at about 4% of a resync's
 * CPU). Each queue has room for the whole pool, so only a pop ever waits; and the producer hands
 * its demands over before it waits, so the loop cannot stall. A failure or a cancel cancels both
 * queues. */
struct sne_applier {
    sne_store *store;
    sne_apply_stats *stats;
    size_t batch_demands;
    uint64_t batch_dirty;

    sne_queue *full;  /* sne_record *: handed over, to apply in order */
    sne_queue *empty; /* sne_record *: applied and cleared, for the producer */
    pthread_t thread;
    bool thread_started;
    /* Written by the applier thread before it cancels the queues, read by the producer after a
     * queue said so (the queue's lock orders the two) or after the join. */
    sne_error error;
    _Atomic uint64_t commits;

    /* Producer only: the run of empty records being given out, and the demands taken in
     * exchange, not yet pushed. */
    sne_record *spare[APPLIER_RUN], *taken[APPLIER_RUN];
    size_t n_spare, n_taken;

    size_t since_commit; /* applier thread only */
};

static void dispose_record(void *elem)
{
    sne_record_free(*(sne_record **)elem);
}

/* ---- the applier thread ---- */

/* Applies one demand; commits when the batch is full. On failure a->error says which and why. */
static sne_err apply_record(sne_applier *a, const sne_record *r)
{
    const sne_demand *d = &r->demand;
    sne_err rc = sne_store_apply(a->store, d, a->stats);
    if (!rc && (++a->since_commit >= a->batch_demands ||
                sne_store_batch_dirty(a->store) >= a->batch_dirty)) {
        a->since_commit = 0;
        if (!(rc = sne_store_commit(a->store)))
            atomic_fetch_add(&a->commits, 1);
    }
    if (rc) {
        a->error = *sne_store_error(a->store);
        sne_error_prefix(&a->error, "%s, line %zu, demand %s: ", r->member, d->line, d->num_unique);
    }
    return rc;
}

/* Applies a run of records in order, stopping at the first failure; gives them all back. */
static sne_err apply_run(sne_applier *a, sne_record **run, size_t n)
{
    sne_err rc = SNE_OK;
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = apply_record(a, run[i]);
        sne_record_clear(run[i]);
    }
    if (sne_queue_push_n(a->empty, run, n) != SNE_QUEUE_OK) /* cancelled: nobody will take them */
        for (size_t i = 0; i < n; i++)
            sne_record_free(run[i]);
    return rc;
}

static void *apply_loop(void *arg)
{
    sne_applier *a = arg;
    sne_record *run[APPLIER_RUN];
    sne_thread_name("sne-store");
    size_t n;
    sne_err rc = SNE_OK;
    sne_queue_rc qrc = SNE_QUEUE_OK;
    while (!rc && (qrc = sne_queue_pop_n(a->full, run, APPLIER_RUN, &n)) == SNE_QUEUE_OK)
        rc = apply_run(a, run, n);
    bool finish = !rc && qrc == SNE_QUEUE_CLOSED;
    if (finish && (rc = sne_store_commit(a->store)))
        a->error = *sne_store_error(a->store);
    if (!finish || rc)
        sne_store_abort(a->store); /* on this thread, which began the batch */
    if (rc) {                      /* wakes a producer waiting for empty records */
        sne_queue_cancel(a->full);
        sne_queue_cancel(a->empty);
    }
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
    sne_err rc = sne_queue_new(&a->full, APPLIER_RECORDS, sizeof(sne_record *));
    if (!rc)
        rc = sne_queue_new(&a->empty, APPLIER_RECORDS, sizeof(sne_record *));
    for (size_t i = 0; !rc && i < APPLIER_RECORDS; i++) {
        sne_record *r = sne_record_new();
        if (!r)
            rc = SNE_ERR_NOMEM;
        else
            sne_queue_push(a->empty, &r); /* cannot fail: room for the pool, nobody cancels */
    }
    if (rc) {
        sne_error_set(err, rc, 0, "out of memory");
        goto out;
    }
    if (pthread_create(&a->thread, NULL, apply_loop, a) != 0) {
        rc = sne_error_set(err, SNE_ERR_NOMEM, 0, "cannot start the store thread");
        goto out;
    }
    a->thread_started = true;
    *out = a;
out:
    if (rc)
        sne_applier_free(a);
    return rc;
}

/* The code of the error that stopped the applier (the queues were cancelled because of it). */
static sne_err failed(const sne_applier *a)
{
    return a->error.code ? a->error.code : SNE_ERR_STORE;
}

/* Pushes the demands taken since the last hand-over to the applier thread. */
static sne_err hand_over(sne_applier *a)
{
    if (a->n_taken && sne_queue_push_n(a->full, a->taken, a->n_taken) != SNE_QUEUE_OK)
        return failed(a);
    a->n_taken = 0;
    return SNE_OK;
}

sne_err sne_applier_push(sne_applier *a, sne_record **rec)
{
    if (a->n_spare == 0) {
        sne_err rc = hand_over(a);
        if (rc)
            return rc;
        if (sne_queue_pop_n(a->empty, a->spare, APPLIER_RUN, &a->n_spare) != SNE_QUEUE_OK)
            return failed(a);
    }
    a->taken[a->n_taken++] = *rec;
    *rec = a->spare[--a->n_spare];
    return SNE_OK;
}

sne_err sne_applier_finish(sne_applier *a)
{
    hand_over(a); /* a failure is the thread's own: the join below reports it */
    sne_queue_close(a->full);
    pthread_join(a->thread, NULL);
    a->thread_started = false;
    return a->error.code;
}

const sne_error *sne_applier_error(const sne_applier *a)
{
    return &a->error;
}

uint64_t sne_applier_commits(const sne_applier *a)
{
    return atomic_load(&((sne_applier *)a)->commits);
}

void sne_applier_free(sne_applier *a)
{
    if (!a)
        return;
    if (a->thread_started) {
        sne_queue_cancel(a->full);
        sne_queue_cancel(a->empty);
        pthread_join(a->thread, NULL);
    }
    sne_queue_free(a->full, dispose_record);
    sne_queue_free(a->empty, dispose_record);
    for (size_t i = 0; i < a->n_spare; i++)
        sne_record_free(a->spare[i]);
    for (size_t i = 0; i < a->n_taken; i++)
        sne_record_free(a->taken[i]);
    free(a);
}
