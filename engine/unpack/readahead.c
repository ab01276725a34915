#include "readahead.h"

#include "../common/queue.h"
#include "../common/thread.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BLOCKS     8
#define DEFAULT_BLOCK_SIZE (256 * 1024)
#define NAME_MAX_LEN       1023 /* longer member names are cut: they are only shown and matched */

/* What travels through the queue. The end of the archive, clean or not, is the queue's close. */
typedef enum slot_kind {
    SLOT_MEMBER,    /* a new member; its name is in data */
    SLOT_DATA,      /* decompressed bytes of the current member */
    SLOT_MEMBER_END /* the current member has no more bytes */
} slot_kind;

typedef struct slot {
    slot_kind kind;
    size_t len;
    uint8_t *data; /* block_size bytes, owned */
} slot;

/* The slots travel in a loop: the producer takes a free one, fills it and pushes it to `filled`;
 * the consumer reads it and gives it back to `free_slots`. Both queues hold borrowed pointers
 * into `slots`, which owns them. */
struct sne_readahead {
    sne_unpack *u; /* owned */
    pthread_t thread;
    bool thread_started;
    sne_queue *filled;     /* slot *: for the consumer, in archive order */
    sne_queue *free_slots; /* slot *: for the producer */
    slot *slots;           /* owned, n_slots */
    size_t n_slots, block_size;
    _Atomic uint64_t raw_bytes;
    /* How the stream ended: written by the producer before it closes `filled`, read by the
     * consumer once its pop said so (the queue's lock orders the two). */
    sne_err end_code; /* SNE_ERR_NOTFOUND: the archive ended cleanly */
    sne_error error;

    /* Consumer side. */
    char name[NAME_MAX_LEN + 1];
    bool in_member; /* a member is open and its MEMBER_END not yet taken */
    bool ended;     /* the queue said the stream is over */
    slot *current;  /* a DATA slot being read */
    size_t offset;
};

/* Producer: waits for a free slot; NULL when cancelled. */
static slot *acquire(sne_readahead *r)
{
    slot *s;
    return sne_queue_pop(r->free_slots, &s) == SNE_QUEUE_OK ? s : NULL;
}

static bool publish(sne_readahead *r, slot *s, slot_kind kind, size_t len)
{
    s->kind = kind;
    s->len = len;
    return sne_queue_push(r->filled, &s) == SNE_QUEUE_OK;
}

/* Producer: ends the stream with `code` (SNE_ERR_NOTFOUND, or the archive's error). */
static void finish_stream(sne_readahead *r, sne_err code)
{
    atomic_store(&r->raw_bytes, sne_unpack_raw_bytes(r->u));
    if (code != SNE_ERR_NOTFOUND) {
        r->error = *sne_unpack_error(r->u);
        code = r->error.code ? r->error.code : SNE_ERR_ARCHIVE;
    }
    r->end_code = code;
    sne_queue_close(r->filled);
}

/* How the producer's reading of a member ended. */
typedef enum member_end { MEMBER_READ, MEMBER_FAILED, MEMBER_CANCELLED } member_end;

/* Producer: the bytes of the current member, block by block, then its MEMBER_END. */
static member_end produce_member(sne_readahead *r)
{
    for (;;) {
        slot *s = acquire(r);
        if (!s)
            return MEMBER_CANCELLED;
        ptrdiff_t got = sne_unpack_read(r->u, s->data, r->block_size);
        atomic_store(&r->raw_bytes, sne_unpack_raw_bytes(r->u));
        if (got < 0)
            return MEMBER_FAILED;
        if (!publish(r, s, got ? SLOT_DATA : SLOT_MEMBER_END, (size_t)got))
            return MEMBER_CANCELLED;
        if (!got)
            return MEMBER_READ;
    }
}

static void *produce(void *arg)
{
    sne_readahead *r = arg;
    const char *name;
    sne_err rc;
    sne_thread_name("sne-inflate");
    while ((rc = sne_unpack_next(r->u, &name)) == SNE_OK) {
        size_t n = strlen(name);
        if (n > NAME_MAX_LEN)
            n = NAME_MAX_LEN;
        if (n > r->block_size)
            n = r->block_size;
        slot *s = acquire(r);
        if (!s)
            return NULL; /* cancelled */
        memcpy(s->data, name, n);
        member_end end = publish(r, s, SLOT_MEMBER, n) ? produce_member(r) : MEMBER_CANCELLED;
        if (end == MEMBER_CANCELLED)
            return NULL;
        if (end == MEMBER_FAILED) {
            rc = SNE_ERR_ARCHIVE; /* finish_stream takes the archive's own error */
            break;
        }
    }
    finish_stream(r, rc);
    return NULL;
}

/* Consumer: the next slot, or NULL once the stream is over (r->end_code says how). */
static slot *take(sne_readahead *r)
{
    slot *s;
    if (sne_queue_pop(r->filled, &s) == SNE_QUEUE_OK)
        return s;
    r->ended = true;
    r->in_member = false;
    return NULL;
}

/* Consumer: gives a slot back to the producer (never waits: there is room for them all). */
static void release(sne_readahead *r, slot *s)
{
    sne_queue_push(r->free_slots, &s);
}

sne_err sne_readahead_start(sne_readahead **out, sne_unpack *u, size_t blocks, size_t block_size,
                            sne_error *err)
{
    *out = NULL;
    sne_readahead *r = calloc(1, sizeof(*r));
    if (!r) {
        sne_unpack_free(u);
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    }
    r->u = u;
    r->n_slots = blocks >= 2 ? blocks : DEFAULT_BLOCKS;
    r->block_size = block_size ? block_size : DEFAULT_BLOCK_SIZE;
    sne_err rc = (r->slots = calloc(r->n_slots, sizeof(*r->slots))) ? SNE_OK : SNE_ERR_NOMEM;
    if (!rc)
        rc = sne_queue_new(&r->filled, r->n_slots, sizeof(slot *));
    if (!rc)
        rc = sne_queue_new(&r->free_slots, r->n_slots, sizeof(slot *));
    for (size_t i = 0; !rc && i < r->n_slots; i++) {
        slot *s = &r->slots[i];
        if (!(s->data = malloc(r->block_size)))
            rc = SNE_ERR_NOMEM;
        else
            sne_queue_push(r->free_slots, &s); /* cannot fail: room for them all */
    }
    if (rc) {
        sne_error_set(err, rc, 0, "%s",
                      rc == SNE_ERR_NOMEM ? "out of memory" : "too many readahead blocks");
        goto out;
    }
    if (pthread_create(&r->thread, NULL, produce, r) != 0) {
        rc = sne_error_set(err, SNE_ERR_NOMEM, 0, "cannot start the decompression thread");
        goto out;
    }
    r->thread_started = true;
    *out = r;
out:
    if (rc)
        sne_readahead_free(r);
    return rc;
}

sne_err sne_readahead_next(sne_readahead *r, const char **name)
{
    if (r->current) { /* a DATA slot half read */
        release(r, r->current);
        r->current = NULL;
    }
    slot *s;
    while (!r->ended && (s = take(r)) != NULL) {
        if (s->kind == SLOT_MEMBER) {
            memcpy(r->name, s->data, s->len);
            r->name[s->len] = '\0';
            r->in_member = true;
            release(r, s);
            *name = r->name;
            return SNE_OK;
        }
        release(r, s); /* the rest of a member the consumer abandoned */
    }
    return r->end_code;
}

ptrdiff_t sne_readahead_read(sne_readahead *r, void *buf, size_t n)
{
    while (!r->current) {
        if (r->ended)
            return r->end_code == SNE_ERR_NOTFOUND ? 0 : -1;
        if (!r->in_member)
            return 0;
        slot *s = take(r);
        if (s && s->kind == SLOT_DATA) {
            r->current = s;
            r->offset = 0;
        } else if (s) { /* MEMBER_END: a MEMBER never comes before it */
            r->in_member = false;
            release(r, s);
        }
    }
    size_t left = r->current->len - r->offset;
    size_t give = n < left ? n : left;
    memcpy(buf, r->current->data + r->offset, give);
    r->offset += give;
    if (r->offset == r->current->len) {
        release(r, r->current);
        r->current = NULL;
    }
    return (ptrdiff_t)give;
}

uint64_t sne_readahead_raw_bytes(const sne_readahead *r)
{
    return atomic_load(&((sne_readahead *)r)->raw_bytes);
}

sne_err sne_readahead_digest(sne_readahead *r, uint8_t sha256[32], uint64_t *raw_size)
{
    if (!r->ended || r->end_code != SNE_ERR_NOTFOUND)
        return SNE_ERR_USAGE;
    return sne_unpack_digest(r->u, sha256, raw_size); /* the producer is done with u */
}

const sne_error *sne_readahead_error(const sne_readahead *r)
{
    return &r->error;
}

void sne_readahead_free(sne_readahead *r)
{
    if (!r)
        return;
    if (r->thread_started) {
        sne_queue_cancel(r->free_slots); /* wakes the producer waiting for a slot */
        sne_queue_cancel(r->filled);
        pthread_join(r->thread, NULL);
    }
    for (size_t i = 0; r->slots && i < r->n_slots; i++)
        free(r->slots[i].data);
    free(r->slots);
    sne_queue_free(r->filled, NULL);
    sne_queue_free(r->free_slots, NULL);
    sne_unpack_free(r->u);
    free(r);
}
