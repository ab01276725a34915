/* queue.h: a bounded FIFO of small fixed-size elements between threads.
 *
 * The one hand-over between the stages that run on threads of their own (unpack's readahead,
 * the applier, the sync's download): a producer pushes, a consumer pops, and whichever side gets
 * ahead blocks until the other catches up, so memory is bounded by `capacity` elements.
 *
 * What it owns: a ring of `capacity` elements of `elem_size` bytes, which push copies in and pop
 * copies out. An element is usually a pointer, and the queue owns nothing it points to: whoever
 * pops an element owns what it refers to, and sne_queue_free() hands the elements still queued to
 * the `dispose` function it is given (so nothing leaks when a side gives up).
 *
 * Threads: push, push_n, try_push, pop, pop_n, close and cancel may be called from any thread, at
 * the same time (a mutex guards the ring). new and free are not concurrent with anything: free only
 * once no thread can touch the queue any more (after joining them).
 *
 * Blocking and ending:
 *   - push waits while the queue is full (push_n: until there is room for all n elements);
 *     try_push never waits (SNE_QUEUE_FULL instead).
 *   - pop waits while the queue is empty and open (pop_n: then takes what is there, up to max).
 *     Moving elements n at a time costs one lock and at most one thread switch for the n: what
 *     a hand-over per element costs adds up when the elements are small and many (demands).
 *   - close (the producer: no more elements will come) lets pop drain what is queued, then
 *     return SNE_QUEUE_CLOSED; pushing after close is a caller's bug and returns that too.
 *   - cancel (either side: stop now) wakes every waiter; from then on push and pop return
 *     SNE_QUEUE_CANCELLED at once, and what is queued stays for sne_queue_free's `dispose`.
 * close and cancel are idempotent; cancel wins over close.
 *
 * Typical use, a pool of buffers travelling in a loop (the consumer gives each one back):
 *     sne_queue_new(&full, n, sizeof(buf *)); sne_queue_new(&empty, n, sizeof(buf *));
 *     push the n buffers into `empty`;
 *     producer: pop(empty, &b); fill b; push(full, &b); ... close(full)
 *     consumer: while (pop(full, &b) == SNE_QUEUE_OK) { use b; push(empty, &b); }
 *     either side on failure: cancel(full); cancel(empty);
 */
#ifndef SNE_QUEUE_H
#define SNE_QUEUE_H

#include "error.h"

#include <stddef.h>

typedef struct sne_queue sne_queue;

/* What push and pop report. Not errors: states of the hand-over. */
typedef enum sne_queue_rc {
    SNE_QUEUE_OK = 0,
    SNE_QUEUE_FULL,     /* try_push: no room now; push_n: more than the capacity */
    SNE_QUEUE_CLOSED,   /* pop: closed and drained; push: pushed after close */
    SNE_QUEUE_CANCELLED /* either side cancelled */
} sne_queue_rc;

#define SNE_QUEUE_MAX_CAPACITY 65536 /* elements */
#define SNE_QUEUE_MAX_ELEM     64    /* bytes of one element */

/* Makes an empty, open queue of `capacity` (1..SNE_QUEUE_MAX_CAPACITY) elements of `elem_size`
 * (1..SNE_QUEUE_MAX_ELEM) bytes. SNE_ERR_USAGE outside those limits, SNE_ERR_NOMEM. */
sne_err sne_queue_new(sne_queue **out, size_t capacity, size_t elem_size);
/* Frees the queue, first calling dispose(elem) (unless NULL) for each element still queued, in
 * queue order; `elem` points to the element's bytes. Accepts NULL. */
void sne_queue_free(sne_queue *q, void (*dispose)(void *elem));

/* Copies `elem` in at the tail, waiting while the queue is full. */
sne_queue_rc sne_queue_push(sne_queue *q, const void *elem);
/* Copies the `n` elements at `elems` in at the tail together, waiting until there is room for all
 * of them; n <= capacity (else SNE_QUEUE_FULL at once). */
sne_queue_rc sne_queue_push_n(sne_queue *q, const void *elems, size_t n);
/* As push, without waiting: SNE_QUEUE_FULL when there is no room. */
sne_queue_rc sne_queue_try_push(sne_queue *q, const void *elem);
/* Copies the head element out to `elem` and removes it, waiting while the queue is empty. */
sne_queue_rc sne_queue_pop(sne_queue *q, void *elem);
/* As pop, then takes the elements that follow too, up to `max` in all (`max` >= 1), into the
 * array `elems`; *got (unless NULL) says how many, 0 unless SNE_QUEUE_OK. */
sne_queue_rc sne_queue_pop_n(sne_queue *q, void *elems, size_t max, size_t *got);
/* No more elements will be pushed: pop drains the queue, then returns SNE_QUEUE_CLOSED. */
void sne_queue_close(sne_queue *q);
/* Stops both sides now: waiters return SNE_QUEUE_CANCELLED, and so do all later calls. */
void sne_queue_cancel(sne_queue *q);

#endif
