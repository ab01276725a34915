#include "queue.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sne_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty; /* elements came, or the queue was closed or cancelled */
    pthread_cond_t not_full;  /* elements left, or the queue was closed or cancelled */
    uint8_t *ring;            /* owned: capacity x elem_size bytes */
    size_t capacity, elem_size;
    size_t head, count; /* the elements are ring[head .. head + count), modulo capacity */
    bool closed, cancelled;
};

sne_err sne_queue_new(sne_queue **out, size_t capacity, size_t elem_size)
{
    *out = NULL;
    if (capacity == 0 || capacity > SNE_QUEUE_MAX_CAPACITY || elem_size == 0 ||
        elem_size > SNE_QUEUE_MAX_ELEM)
        return SNE_ERR_USAGE;
    sne_queue *q = calloc(1, sizeof(*q));
    if (!q || !(q->ring = malloc(capacity * elem_size))) {
        free(q);
        return SNE_ERR_NOMEM;
    }
    q->capacity = capacity;
    q->elem_size = elem_size;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    *out = q;
    return SNE_OK;
}

static uint8_t *slot(const sne_queue *q, size_t i)
{
    return q->ring + ((q->head + i) % q->capacity) * q->elem_size;
}

void sne_queue_free(sne_queue *q, void (*dispose)(void *elem))
{
    if (!q)
        return;
    for (size_t i = 0; dispose && i < q->count; i++)
        dispose(slot(q, i));
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->lock);
    free(q->ring);
    free(q);
}

/* Pushes `n` elements at once, waiting for room for all of them when `wait`. The signal comes
 * after the unlock, so that the consumer it wakes does not wait again, for the lock. */
static sne_queue_rc push(sne_queue *q, const void *elems, size_t n, bool wait)
{
    if (n == 0 || n > q->capacity)
        return n ? SNE_QUEUE_FULL : SNE_QUEUE_OK;
    sne_queue_rc rc = SNE_QUEUE_OK;
    pthread_mutex_lock(&q->lock);
    while (wait && q->capacity - q->count < n && !q->cancelled && !q->closed)
        pthread_cond_wait(&q->not_full, &q->lock);
    if (q->cancelled)
        rc = SNE_QUEUE_CANCELLED;
    else if (q->closed)
        rc = SNE_QUEUE_CLOSED;
    else if (q->capacity - q->count < n)
        rc = SNE_QUEUE_FULL;
    for (size_t i = 0; rc == SNE_QUEUE_OK && i < n; i++) {
        memcpy(slot(q, q->count), (const uint8_t *)elems + i * q->elem_size, q->elem_size);
        q->count++;
    }
    pthread_mutex_unlock(&q->lock);
    if (rc == SNE_QUEUE_OK) /* cheap when nobody waits */
        pthread_cond_signal(&q->not_empty);
    return rc;
}

sne_queue_rc sne_queue_push(sne_queue *q, const void *elem)
{
    return push(q, elem, 1, true);
}

sne_queue_rc sne_queue_push_n(sne_queue *q, const void *elems, size_t n)
{
    return push(q, elems, n, true);
}

sne_queue_rc sne_queue_try_push(sne_queue *q, const void *elem)
{
    return push(q, elem, 1, false);
}

sne_queue_rc sne_queue_pop_n(sne_queue *q, void *elems, size_t max, size_t *got)
{
    sne_queue_rc rc = SNE_QUEUE_OK;
    size_t n = 0;
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed && !q->cancelled)
        pthread_cond_wait(&q->not_empty, &q->lock);
    if (q->cancelled)
        rc = SNE_QUEUE_CANCELLED;
    else if (q->count == 0)
        rc = SNE_QUEUE_CLOSED;
    for (; rc == SNE_QUEUE_OK && n < max && q->count > 0; n++) {
        memcpy((uint8_t *)elems + n * q->elem_size, slot(q, 0), q->elem_size);
        q->head = (q->head + 1) % q->capacity;
        q->count--;
    }
    pthread_mutex_unlock(&q->lock);
    if (n) /* a producer may wait for more room than this: it looks again */
        pthread_cond_broadcast(&q->not_full);
    if (got)
        *got = n;
    return rc;
}

sne_queue_rc sne_queue_pop(sne_queue *q, void *elem)
{
    return sne_queue_pop_n(q, elem, 1, NULL);
}

void sne_queue_close(sne_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_mutex_unlock(&q->lock);
    /* Consumers drain and see the end; a producer waiting for room has pushed after close. */
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
}

void sne_queue_cancel(sne_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->cancelled = true;
    pthread_mutex_unlock(&q->lock);
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
}
