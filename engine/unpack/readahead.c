#include "readahead.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BLOCKS     8
#define DEFAULT_BLOCK_SIZE (256 * 1024)
#define NAME_MAX_LEN       1023 /* longer member names are cut: they are only shown and matched */

/* What travels through the queue. */
typedef enum slot_kind {
    SLOT_MEMBER,     /* a new member; its name is in data */
    SLOT_DATA,       /* decompressed bytes of the current member */
    SLOT_MEMBER_END, /* the current member has no more bytes */
    SLOT_END,        /* the archive ended cleanly */
    SLOT_ERROR       /* the archive failed: r->error says how */
} slot_kind;

typedef struct slot {
    slot_kind kind;
    size_t len;
    uint8_t *data; /* block_size bytes, owned */
} slot;

struct sne_readahead {
    sne_unpack *u; /* owned */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t filled;  /* a slot became ready for the consumer */
    pthread_cond_t emptied; /* a slot became free for the producer */
    slot *slots;
    size_t n_slots, block_size;
    size_t head, count; /* ring: the consumer takes at head */
    bool cancel;        /* set by free: the producer stops */
    _Atomic uint64_t raw_bytes;
    sne_error error; /* written by the producer before it pushes SLOT_ERROR */

    /* Consumer side. */
    char name[NAME_MAX_LEN + 1];
    bool in_member; /* a member is open and its MEMBER_END not yet taken */
    bool ended;     /* END or ERROR was taken */
    sne_err end_code;
    slot *current; /* a DATA slot being read, still counted in `count` */
    size_t offset;
};

/* Producer: waits for a free slot (or cancellation) and returns it, or NULL when cancelled. */
static slot *acquire(sne_readahead *r)
{
    pthread_mutex_lock(&r->lock);
    while (r->count == r->n_slots && !r->cancel)
        pthread_cond_wait(&r->emptied, &r->lock);
    slot *s = r->cancel ? NULL : &r->slots[(r->head + r->count) % r->n_slots];
    pthread_mutex_unlock(&r->lock);
    return s;
}

static void publish(sne_readahead *r)
{
    pthread_mutex_lock(&r->lock);
    r->count++;
    pthread_cond_signal(&r->filled);
    pthread_mutex_unlock(&r->lock);
}

static bool push(sne_readahead *r, slot_kind kind, const void *data, size_t len)
{
    slot *s = acquire(r);
    if (!s)
        return false;
    s->kind = kind;
    s->len = len;
    if (len)
        memcpy(s->data, data, len);
    publish(r);
    return true;
}

static void *produce(void *arg)
{
    sne_readahead *r = arg;
    const char *name;
    sne_err rc;
    while ((rc = sne_unpack_next(r->u, &name)) == SNE_OK) {
        size_t n = strlen(name);
        if (n > NAME_MAX_LEN)
            n = NAME_MAX_LEN;
        if (n > r->block_size)
            n = r->block_size;
        if (!push(r, SLOT_MEMBER, name, n))
            return NULL;
        for (;;) {
            slot *s = acquire(r);
            if (!s)
                return NULL;
            ptrdiff_t got = sne_unpack_read(r->u, s->data, r->block_size);
            atomic_store(&r->raw_bytes, sne_unpack_raw_bytes(r->u));
            if (got < 0) {
                r->error = *sne_unpack_error(r->u);
                s->kind = SLOT_ERROR;
                s->len = 0;
                publish(r);
                return NULL;
            }
            s->kind = got ? SLOT_DATA : SLOT_MEMBER_END;
            s->len = (size_t)got;
            publish(r);
            if (!got)
                break;
        }
    }
    atomic_store(&r->raw_bytes, sne_unpack_raw_bytes(r->u));
    if (rc == SNE_ERR_NOTFOUND) {
        push(r, SLOT_END, NULL, 0);
    } else {
        r->error = *sne_unpack_error(r->u);
        push(r, SLOT_ERROR, NULL, 0);
    }
    return NULL;
}

/* Consumer: waits for the next slot; it stays counted until release(). */
static slot *take(sne_readahead *r)
{
    pthread_mutex_lock(&r->lock);
    while (r->count == 0)
        pthread_cond_wait(&r->filled, &r->lock);
    slot *s = &r->slots[r->head];
    pthread_mutex_unlock(&r->lock);
    return s;
}

static void release(sne_readahead *r)
{
    pthread_mutex_lock(&r->lock);
    r->head = (r->head + 1) % r->n_slots;
    r->count--;
    pthread_cond_signal(&r->emptied);
    pthread_mutex_unlock(&r->lock);
}

/* Takes END or ERROR: the stream is over for the consumer. */
static sne_err end_of_stream(sne_readahead *r, const slot *s)
{
    r->ended = true;
    r->in_member = false;
    r->end_code =
        s->kind == SLOT_END ? SNE_ERR_NOTFOUND : (r->error.code ? r->error.code : SNE_ERR_ARCHIVE);
    release(r);
    return r->end_code;
}

sne_err sne_readahead_start(sne_readahead **out, sne_unpack *u, size_t blocks, size_t block_size,
                            sne_error *err)
{
    *out = NULL;
    sne_readahead *r = calloc(1, sizeof(*r));
    blocks = blocks >= 2 ? blocks : DEFAULT_BLOCKS;
    block_size = block_size ? block_size : DEFAULT_BLOCK_SIZE;
    if (!r || !(r->slots = calloc(blocks, sizeof(*r->slots)))) {
        free(r);
        sne_unpack_free(u);
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    }
    r->u = u;
    r->n_slots = blocks;
    r->block_size = block_size;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->filled, NULL);
    pthread_cond_init(&r->emptied, NULL);
    for (size_t i = 0; i < blocks; i++) {
        if (!(r->slots[i].data = malloc(block_size))) {
            sne_readahead_free(r);
            return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
        }
    }
    if (pthread_create(&r->thread, NULL, produce, r) != 0) {
        sne_readahead_free(r);
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "cannot start the decompression thread");
    }
    r->thread_started = true;
    *out = r;
    return SNE_OK;
}

sne_err sne_readahead_next(sne_readahead *r, const char **name)
{
    if (r->ended)
        return r->end_code;
    if (r->current) { /* a DATA slot half read */
        r->current = NULL;
        release(r);
    }
    for (;;) {
        slot *s = take(r);
        switch (s->kind) {
        case SLOT_MEMBER:
            memcpy(r->name, s->data, s->len);
            r->name[s->len] = '\0';
            r->in_member = true;
            release(r);
            *name = r->name;
            return SNE_OK;
        case SLOT_DATA: /* the rest of a member the consumer abandoned */
        case SLOT_MEMBER_END:
            release(r);
            break;
        case SLOT_END:
        case SLOT_ERROR:
            return end_of_stream(r, s);
        }
    }
}

ptrdiff_t sne_readahead_read(sne_readahead *r, void *buf, size_t n)
{
    if (r->ended)
        return r->end_code == SNE_ERR_NOTFOUND ? 0 : -1;
    if (!r->in_member)
        return 0;
    while (!r->current) {
        slot *s = take(r);
        if (s->kind == SLOT_DATA) {
            r->current = s;
            r->offset = 0;
        } else if (s->kind == SLOT_MEMBER_END) {
            r->in_member = false;
            release(r);
            return 0;
        } else {
            end_of_stream(r, s);
            return -1;
        }
    }
    size_t left = r->current->len - r->offset;
    size_t give = n < left ? n : left;
    memcpy(buf, r->current->data + r->offset, give);
    r->offset += give;
    if (r->offset == r->current->len) {
        r->current = NULL;
        release(r);
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
        pthread_mutex_lock(&r->lock);
        r->cancel = true;
        pthread_cond_broadcast(&r->emptied);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    for (size_t i = 0; i < r->n_slots; i++)
        free(r->slots[i].data);
    free(r->slots);
    pthread_cond_destroy(&r->filled);
    pthread_cond_destroy(&r->emptied);
    pthread_mutex_destroy(&r->lock);
    sne_unpack_free(r->u);
    free(r);
}
