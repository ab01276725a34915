/* Unit tests of the bounded queue: order and counts across threads, full and empty, close then
 * drain, cancel from either side while the other waits, and what free hands to dispose. */
#include "common/queue.h"
#include "testlib.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define STREAM_COUNT 200000 /* elements sent through a small queue by the threaded test */

static void test_limits(void)
{
    sne_queue *q = (sne_queue *)1;
    CHECK_EQ_INT(sne_queue_new(&q, 0, 8), SNE_ERR_USAGE);
    CHECK(q == NULL);
    CHECK_EQ_INT(sne_queue_new(&q, SNE_QUEUE_MAX_CAPACITY + 1, 8), SNE_ERR_USAGE);
    CHECK_EQ_INT(sne_queue_new(&q, 4, 0), SNE_ERR_USAGE);
    CHECK_EQ_INT(sne_queue_new(&q, 4, SNE_QUEUE_MAX_ELEM + 1), SNE_ERR_USAGE);
    sne_queue_free(NULL, NULL);
}

/* Full and empty without threads: try_push reports FULL, order is kept across the ring's end. */
static void test_full_and_order(void)
{
    sne_queue *q;
    CHECK_EQ_INT(sne_queue_new(&q, 3, sizeof(int)), SNE_OK);
    int v;
    for (int round = 0; round < 4; round++) { /* head walks around the ring */
        for (int i = 0; i < 3; i++) {
            v = round * 10 + i;
            CHECK_EQ_INT(sne_queue_try_push(q, &v), SNE_QUEUE_OK);
        }
        v = -1;
        CHECK_EQ_INT(sne_queue_try_push(q, &v), SNE_QUEUE_FULL);
        CHECK_EQ_INT(sne_queue_pop(q, &v), SNE_QUEUE_OK);
        CHECK_EQ_INT(v, round * 10);
        v = round * 10 + 3;
        CHECK_EQ_INT(sne_queue_push(q, &v), SNE_QUEUE_OK);
        for (int i = 1; i <= 3; i++) {
            CHECK_EQ_INT(sne_queue_pop(q, &v), SNE_QUEUE_OK);
            CHECK_EQ_INT(v, round * 10 + i);
        }
    }
    sne_queue_free(q, NULL);
}

/* Runs without threads: push_n and pop_n keep the order across the ring's end; pop_n takes what
 * is there up to its max; a run larger than the queue can never fit. */
static void test_runs(void)
{
    sne_queue *q;
    CHECK_EQ_INT(sne_queue_new(&q, 4, sizeof(int)), SNE_OK);
    int in[5] = {1, 2, 3, 4, 5}, out[5] = {0};
    size_t got = 9;
    CHECK_EQ_INT(sne_queue_push_n(q, in, 5), SNE_QUEUE_FULL);
    CHECK_EQ_INT(sne_queue_push_n(q, in, 3), SNE_QUEUE_OK);
    CHECK_EQ_INT(sne_queue_pop_n(q, out, 2, &got), SNE_QUEUE_OK);
    CHECK(got == 2 && out[0] == 1 && out[1] == 2);
    CHECK_EQ_INT(sne_queue_push_n(q, in + 3, 2), SNE_QUEUE_OK); /* wraps around */
    CHECK_EQ_INT(sne_queue_pop_n(q, out, 5, &got), SNE_QUEUE_OK);
    CHECK(got == 3 && out[0] == 3 && out[1] == 4 && out[2] == 5);
    CHECK_EQ_INT(sne_queue_push_n(q, in, 0), SNE_QUEUE_OK); /* nothing to move */
    sne_queue_close(q);
    CHECK_EQ_INT(sne_queue_pop_n(q, out, 5, &got), SNE_QUEUE_CLOSED);
    CHECK_EQ_INT(got, 0);
    sne_queue_free(q, NULL);
}

static void test_close_then_drain(void)
{
    sne_queue *q;
    CHECK_EQ_INT(sne_queue_new(&q, 8, sizeof(int)), SNE_OK);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(sne_queue_push(q, &i), SNE_QUEUE_OK);
    sne_queue_close(q);
    sne_queue_close(q); /* idempotent */
    int v = 7;
    CHECK_EQ_INT(sne_queue_push(q, &v), SNE_QUEUE_CLOSED);
    CHECK_EQ_INT(sne_queue_try_push(q, &v), SNE_QUEUE_CLOSED);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(sne_queue_pop(q, &v), SNE_QUEUE_OK);
        CHECK_EQ_INT(v, i);
    }
    CHECK_EQ_INT(sne_queue_pop(q, &v), SNE_QUEUE_CLOSED);
    CHECK_EQ_INT(sne_queue_pop(q, &v), SNE_QUEUE_CLOSED);
    sne_queue_cancel(q); /* cancel wins over close */
    CHECK_EQ_INT(sne_queue_pop(q, &v), SNE_QUEUE_CANCELLED);
    sne_queue_free(q, NULL);
}

static int disposed_sum, disposed_count;

static void dispose_int(void *elem)
{
    disposed_sum += *(int *)elem;
    disposed_count++;
}

/* Cancelled with elements queued: pop gives none of them; free hands each to dispose. */
static void test_cancel_keeps_for_dispose(void)
{
    sne_queue *q;
    CHECK_EQ_INT(sne_queue_new(&q, 4, sizeof(int)), SNE_OK);
    for (int i = 1; i <= 3; i++)
        CHECK_EQ_INT(sne_queue_push(q, &i), SNE_QUEUE_OK);
    int v;
    CHECK_EQ_INT(sne_queue_pop(q, &v), SNE_QUEUE_OK); /* 1 leaves */
    sne_queue_cancel(q);
    CHECK_EQ_INT(sne_queue_pop(q, &v), SNE_QUEUE_CANCELLED);
    CHECK_EQ_INT(sne_queue_push(q, &v), SNE_QUEUE_CANCELLED);
    CHECK_EQ_INT(sne_queue_try_push(q, &v), SNE_QUEUE_CANCELLED);
    disposed_sum = disposed_count = 0;
    sne_queue_free(q, dispose_int);
    CHECK_EQ_INT(disposed_count, 2);
    CHECK_EQ_INT(disposed_sum, 2 + 3);
}

/* ---- threads ---- */

#define RUN_MAX 4 /* elements per push_n or pop_n at most in the threaded tests */

typedef struct stream {
    sne_queue *q;
    size_t run;          /* elements per push_n (the last run may be shorter) and per pop_n */
    uint64_t sum;        /* consumer: of the values received */
    long received;       /* consumer */
    bool in_order;       /* consumer: every value was the previous one + 1 */
    sne_queue_rc pushed; /* producer: what ended its loop */
    sne_queue_rc popped; /* consumer: what ended its loop */
    atomic_bool started;
} stream;

static void *produce(void *arg)
{
    stream *s = arg;
    atomic_store(&s->started, true);
    long v[RUN_MAX];
    for (long i = 1; i <= STREAM_COUNT;) {
        size_t n = 0;
        while (n < s->run && i <= STREAM_COUNT)
            v[n++] = i++;
        s->pushed = n == 1 ? sne_queue_push(s->q, v) : sne_queue_push_n(s->q, v, n);
        if (s->pushed != SNE_QUEUE_OK)
            return NULL;
    }
    sne_queue_close(s->q);
    return NULL;
}

static void *consume(void *arg)
{
    stream *s = arg;
    atomic_store(&s->started, true);
    long v[RUN_MAX], expect = 1;
    size_t n = 0;
    s->in_order = true;
    while ((s->popped = sne_queue_pop_n(s->q, v, s->run, &n)) == SNE_QUEUE_OK) {
        s->in_order &= n >= 1 && n <= s->run;
        for (size_t k = 0; k < n; k++) {
            s->in_order &= v[k] == expect++;
            s->sum += (uint64_t)v[k];
            s->received++;
        }
    }
    s->in_order &= n == 0;
    return NULL;
}

/* A producer and a consumer on threads of their own, through a queue of 4, moving `run`
 * elements at a time: everything arrives, in order, then the close ends the consumer. */
static void test_threads_stream(size_t run)
{
    stream s = {.run = run};
    CHECK_EQ_INT(sne_queue_new(&s.q, 4, sizeof(long)), SNE_OK);
    pthread_t p, c;
    CHECK_EQ_INT(pthread_create(&c, NULL, consume, &s), 0);
    CHECK_EQ_INT(pthread_create(&p, NULL, produce, &s), 0);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    CHECK_EQ_INT(s.received, STREAM_COUNT);
    CHECK(s.in_order);
    CHECK(s.sum == (uint64_t)STREAM_COUNT * (STREAM_COUNT + 1) / 2);
    CHECK_EQ_INT(s.popped, SNE_QUEUE_CLOSED);
    CHECK_EQ_INT(s.pushed, SNE_QUEUE_OK);
    sne_queue_free(s.q, NULL);
}

/* Lets a started thread reach its wait (not required for the outcome, which is the same if the
 * cancel comes first: the call then returns at once). */
static void settle(stream *s)
{
    while (!atomic_load(&s->started))
        sched_yield();
    for (int i = 0; i < 100; i++)
        sched_yield();
}

/* The consumer waits on an empty queue; the producer side cancels. */
static void test_cancel_wakes_consumer(void)
{
    stream s = {.run = 1};
    CHECK_EQ_INT(sne_queue_new(&s.q, 4, sizeof(long)), SNE_OK);
    pthread_t c;
    CHECK_EQ_INT(pthread_create(&c, NULL, consume, &s), 0);
    settle(&s);
    sne_queue_cancel(s.q);
    pthread_join(c, NULL);
    CHECK_EQ_INT(s.popped, SNE_QUEUE_CANCELLED);
    CHECK_EQ_INT(s.received, 0);
    sne_queue_free(s.q, NULL);
}

/* The producer waits on a full queue; the consumer side cancels. What was queued goes to
 * dispose, nothing else. */
static void test_cancel_wakes_producer(void)
{
    stream s = {.run = 1};
    CHECK_EQ_INT(sne_queue_new(&s.q, 2, sizeof(long)), SNE_OK);
    pthread_t p;
    CHECK_EQ_INT(pthread_create(&p, NULL, produce, &s), 0);
    settle(&s);
    sne_queue_cancel(s.q);
    pthread_join(p, NULL);
    CHECK_EQ_INT(s.pushed, SNE_QUEUE_CANCELLED);
    long v;
    CHECK_EQ_INT(sne_queue_pop(s.q, &v), SNE_QUEUE_CANCELLED);
    sne_queue_free(s.q, NULL);
}

/* The consumer waits on an empty queue; the producer closes it without pushing. */
static void test_close_wakes_consumer(void)
{
    stream s = {.run = 1};
    CHECK_EQ_INT(sne_queue_new(&s.q, 4, sizeof(long)), SNE_OK);
    pthread_t c;
    CHECK_EQ_INT(pthread_create(&c, NULL, consume, &s), 0);
    settle(&s);
    sne_queue_close(s.q);
    pthread_join(c, NULL);
    CHECK_EQ_INT(s.popped, SNE_QUEUE_CLOSED);
    CHECK_EQ_INT(s.received, 0);
    sne_queue_free(s.q, NULL);
}

/* A pool travelling in a loop (queue.h's typical use, as the applier moves its records): the
 * producer takes empty buffers from one queue and hands them full through the other, the consumer
 * gives them back, both `run` at a time. */
#define POOL_BUFFERS 3
#define POOL_VALUES  50000

typedef struct pool_loop {
    sne_queue *full, *empty;
    size_t run;
    long done; /* consumer: buffers that came in order */
} pool_loop;

static void *pool_consumer(void *arg)
{
    pool_loop *l = arg;
    long *b[RUN_MAX];
    size_t n;
    while (sne_queue_pop_n(l->full, b, l->run, &n) == SNE_QUEUE_OK) {
        for (size_t k = 0; k < n; k++)
            l->done += *b[k] == l->done + 1;
        if (sne_queue_push_n(l->empty, b, n) != SNE_QUEUE_OK)
            break;
    }
    return NULL;
}

static void test_pool_loop(size_t run)
{
    long bufs[POOL_BUFFERS];
    pool_loop l = {.run = run};
    CHECK_EQ_INT(sne_queue_new(&l.full, POOL_BUFFERS, sizeof(long *)), SNE_OK);
    CHECK_EQ_INT(sne_queue_new(&l.empty, POOL_BUFFERS, sizeof(long *)), SNE_OK);
    for (int i = 0; i < POOL_BUFFERS; i++) {
        long *b = &bufs[i];
        CHECK_EQ_INT(sne_queue_push(l.empty, &b), SNE_QUEUE_OK);
    }
    pthread_t c;
    CHECK_EQ_INT(pthread_create(&c, NULL, pool_consumer, &l), 0);
    for (long i = 1; i <= POOL_VALUES;) {
        long *b[RUN_MAX];
        size_t n = 0;
        CHECK_EQ_INT(sne_queue_pop_n(l.empty, b, run, &n), SNE_QUEUE_OK);
        CHECK(n >= 1 && n <= run);
        size_t k = 0;
        while (k < n && i <= POOL_VALUES)
            *b[k++] = i++;
        CHECK_EQ_INT(sne_queue_push_n(l.full, b, k), SNE_QUEUE_OK);
        if (k < n) /* the last values took fewer buffers than the run */
            CHECK_EQ_INT(sne_queue_push_n(l.empty, b + k, n - k), SNE_QUEUE_OK);
    }
    sne_queue_close(l.full);
    pthread_join(c, NULL);
    CHECK_EQ_INT(l.done, POOL_VALUES);
    long *b[POOL_BUFFERS];
    size_t back = 0;
    sne_queue_close(l.empty);
    CHECK_EQ_INT(sne_queue_pop_n(l.empty, b, POOL_BUFFERS, &back), SNE_QUEUE_OK);
    CHECK_EQ_INT(back, POOL_BUFFERS); /* every buffer came back */
    CHECK_EQ_INT(sne_queue_pop_n(l.empty, b, POOL_BUFFERS, &back), SNE_QUEUE_CLOSED);
    CHECK_EQ_INT(back, 0);
    sne_queue_free(l.full, NULL);
    sne_queue_free(l.empty, NULL);
}

int main(void)
{
    test_limits();
    test_full_and_order();
    test_runs();
    test_close_then_drain();
    test_cancel_keeps_for_dispose();
    test_threads_stream(1);
    test_threads_stream(3);
    test_cancel_wakes_consumer();
    test_cancel_wakes_producer();
    test_close_wakes_consumer();
    test_pool_loop(1);
    test_pool_loop(2);
    return TEST_SUMMARY();
}
