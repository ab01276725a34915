/* pg_copy.c: rows in COPY's binary format (PostgreSQL's "COPY ... WITH BINARY" file layout),
 * handed in chunks, as they are made, to sender threads, one per connection (pg_internal.h). The
 * binary format needs no escaping: every field is its length and its bytes, so JSON's backslashes
 * and quotes reach the server as they are. Integers are big-endian; a jsonb field is the version
 * byte 1 and the JSON text. */
#include "pg_internal.h"

#include "../common/thread.h"
#include "../diff/render.h"

#include <string.h>

/* Each stream's first and last bytes: the signature, no OIDs, no header extension; a field
 * count of -1. */
static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
static const char trailer[2] = "\377\377";
#define BUF_CAP   (64u << 20) /* a chunk, plus the largest row (an item is at most 4 MiB) */
#define FIELD_MAX 0x7fffffff  /* a field's length is a signed 32-bit integer */

void pg_copy_init(pg_copy *c, pg_link *const *links, size_t n)
{
    memset(c, 0, sizeof(*c));
    c->n_streams = n < PG_COPY_STREAMS ? n : PG_COPY_STREAMS;
    for (size_t i = 0; i < c->n_streams; i++)
        c->streams[i] = (pg_copy_stream){.copy = c, .link = links[i]};
    sne_buf_init(&c->buf, BUF_CAP);
}

static sne_err put_be(pg_copy *c, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    return sne_buf_append(&c->buf, b, (size_t)bytes);
}

static sne_err limit(pg_copy *c, sne_err rc)
{
    if (rc && c->n_streams)
        sne_error_set(c->streams[0].link->err, rc, 0, "a row does not fit the COPY buffer (%u MiB)",
                      BUF_CAP >> 20);
    return rc;
}

static void free_chunk(void *elem)
{
    sne_buf_free(elem);
}

static bool put_data(pg_copy_stream *st, const void *data, size_t len)
{
    return PQputCopyData(st->link->conn, data, (int)len) == 1;
}

/* A sender: the header, then the chunks it takes in turn with the other senders, then, once
 * `full` is closed and drained, the trailer. On a refusal it stops every side; the caller reads
 * why from the connection once it has joined the senders. */
static void *send_chunks(void *arg)
{
    pg_copy_stream *st = arg;
    pg_copy *c = st->copy;
    sne_thread_name("sne-pg-copy");
    bool sent = put_data(st, header, sizeof(header));
    sne_buf b;
    sne_queue_rc q = SNE_QUEUE_CANCELLED;
    while (sent && (q = sne_queue_pop(c->full, &b)) == SNE_QUEUE_OK) {
        sent = put_data(st, b.data, b.len);
        sne_buf_reset(&b);
        if (sne_queue_push(c->spare, &b) != SNE_QUEUE_OK) {
            sne_buf_free(&b); /* cancelled */
            return NULL;
        }
    }
    if (sent && q == SNE_QUEUE_CLOSED)
        sent = put_data(st, trailer, sizeof(trailer));
    if (!sent) {
        st->failed = true;
        sne_queue_cancel(c->full);
        sne_queue_cancel(c->spare);
    }
    return NULL;
}

/* Stops the senders (at once when `cancel`, else once every chunk queued is sent), joins them
 * and frees the loop's chunks. */
static void stop_senders(pg_copy *c, bool cancel)
{
    if (!c->full) /* none started, or stopped already */
        return;
    if (cancel) {
        sne_queue_cancel(c->full);
        if (c->spare) /* made after full: absent when making it failed */
            sne_queue_cancel(c->spare);
    } else {
        sne_queue_close(c->full);
    }
    for (size_t i = 0; i < c->n_streams; i++) {
        if (c->streams[i].sending)
            pthread_join(c->streams[i].sender, NULL);
        c->streams[i].sending = false;
    }
    sne_queue_free(c->full, free_chunk);
    sne_queue_free(c->spare, free_chunk);
    c->full = c->spare = NULL;
}

static sne_err start_senders(pg_copy *c)
{
    sne_err rc = sne_queue_new(&c->full, PG_COPY_CHUNKS, sizeof(sne_buf));
    if (!rc)
        rc = sne_queue_new(&c->spare, PG_COPY_CHUNKS, sizeof(sne_buf));
    for (int i = 1; !rc && i < PG_COPY_CHUNKS; i++) { /* the caller fills the other one */
        sne_buf b;
        sne_buf_init(&b, BUF_CAP);
        sne_queue_push(c->spare, &b); /* cannot fail: room for them all */
    }
    for (size_t i = 0; !rc && i < c->n_streams; i++) {
        pg_copy_stream *st = &c->streams[i];
        st->failed = false;
        if (pthread_create(&st->sender, NULL, send_chunks, st) != 0)
            rc = SNE_ERR_NOMEM;
        st->sending = rc == SNE_OK;
    }
    if (rc) {
        stop_senders(c, true);
        return sne_error_set(c->streams[0].link->err, rc, 0, "cannot start the COPY's senders");
    }
    return SNE_OK;
}

/* Once the senders have stopped: SNE_ERR_DATABASE, described, when one of them failed. */
static sne_err sender_failure(pg_copy *c, const char *what)
{
    for (size_t i = 0; i < c->n_streams; i++)
        if (c->streams[i].failed)
            return pg_fail(c->streams[i].link, NULL, what);
    return SNE_OK;
}

/* Hands the chunk filled to the senders and takes an empty one, waiting while PG_COPY_CHUNKS
 * are in flight. */
static sne_err hand_over(pg_copy *c, const char *what)
{
    if (c->n_streams == 0 || c->buf.len == 0)
        return SNE_OK;
    if (sne_queue_push(c->full, &c->buf) == SNE_QUEUE_OK) {
        memset(&c->buf, 0, sizeof(c->buf)); /* a sender owns its bytes now */
        if (sne_queue_pop(c->spare, &c->buf) == SNE_QUEUE_OK)
            return SNE_OK;
        sne_buf_init(&c->buf, BUF_CAP);
    }
    stop_senders(c, true); /* only a sender cancels while the caller fills */
    return sender_failure(c, what);
}

void pg_copy_free(pg_copy *c)
{
    stop_senders(c, true);
    sne_buf_free(&c->buf);
}

sne_err pg_copy_begin(pg_copy *c, const char *sql, const char *what)
{
    sne_buf_reset(&c->buf);
    c->rows = 0;
    if (c->n_streams == 0)
        return limit(c, sne_buf_append(&c->buf, header, sizeof(header)));
    for (size_t i = 0; i < c->n_streams; i++) {
        pg_copy_stream *st = &c->streams[i];
        PGresult *res = PQexec(st->link->conn, sql);
        sne_err rc = PQresultStatus(res) == PGRES_COPY_IN ? SNE_OK : pg_fail(st->link, res, what);
        PQclear(res);
        st->open = rc == SNE_OK;
        if (rc) {
            pg_copy_abort(c);
            return rc;
        }
    }
    sne_err rc = start_senders(c);
    if (rc)
        pg_copy_abort(c);
    return rc;
}

sne_err pg_copy_row(pg_copy *c, uint16_t fields)
{
    if (c->buf.len >= PG_COPY_CHUNK) {
        sne_err rc = hand_over(c, "cannot send rows");
        if (rc)
            return rc;
    }
    c->rows++;
    return limit(c, put_be(c, fields, 2));
}

sne_err pg_copy_null(pg_copy *c)
{
    return limit(c, put_be(c, 0xffffffffu, 4));
}

sne_err pg_copy_int2(pg_copy *c, int16_t v)
{
    sne_err rc = put_be(c, 2, 4);
    return limit(c, rc ? rc : put_be(c, (uint16_t)v, 2));
}

sne_err pg_copy_int8(pg_copy *c, int64_t v)
{
    sne_err rc = put_be(c, 8, 4);
    return limit(c, rc ? rc : put_be(c, (uint64_t)v, 8));
}

sne_err pg_copy_text(pg_copy *c, const char *s, size_t n)
{
    if (n > FIELD_MAX)
        return limit(c, SNE_ERR_LIMIT);
    sne_err rc = put_be(c, n, 4);
    return limit(c, rc ? rc : sne_buf_append(&c->buf, s, n));
}

sne_err pg_copy_field_open(pg_copy *c)
{
    c->field = c->buf.len;
    return limit(c, put_be(c, 0, 4));
}

sne_err pg_copy_field_close(pg_copy *c)
{
    size_t n = c->buf.len - c->field - 4;
    if (n > FIELD_MAX)
        return limit(c, SNE_ERR_LIMIT);
    for (int i = 3; i >= 0; i--, n >>= 8)
        c->buf.data[c->field + (size_t)i] = (uint8_t)n;
    return SNE_OK;
}

/* Ends the COPY of one connection whose sender sent everything. */
static sne_err end_stream(pg_copy_stream *st, const char *what)
{
    st->open = false;
    if (PQputCopyEnd(st->link->conn, NULL) != 1)
        return pg_fail(st->link, NULL, what);
    sne_err rc = SNE_OK;
    PGresult *res;
    while ((res = PQgetResult(st->link->conn)) != NULL) {
        if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = pg_fail(st->link, res, what);
        PQclear(res);
    }
    return rc;
}

sne_err pg_copy_end(pg_copy *c, const char *what)
{
    if (c->n_streams == 0)
        return limit(c, sne_buf_append(&c->buf, trailer, sizeof(trailer)));
    sne_err rc = hand_over(c, what);
    if (rc)
        return rc;
    stop_senders(c, false);
    if ((rc = sender_failure(c, what)))
        return rc;
    for (size_t i = 0; !rc && i < c->n_streams; i++)
        rc = end_stream(&c->streams[i], what);
    return rc;
}

void pg_copy_abort(pg_copy *c)
{
    stop_senders(c, true);
    for (size_t i = 0; i < c->n_streams; i++) {
        pg_copy_stream *st = &c->streams[i];
        if (!st->open)
            continue;
        st->open = false;
        if (PQputCopyEnd(st->link->conn, "snesync stopped the copy") == 1) {
            PGresult *res;
            while ((res = PQgetResult(st->link->conn)) != NULL)
                PQclear(res);
        }
    }
}

sne_err pg_copy_item_json(pg_copy *c, const uint8_t *canon, size_t len)
{
    sne_err rc = pg_copy_field_open(c);
    if (!rc)
        rc = limit(c, sne_buf_append_byte(&c->buf, 1)); /* jsonb's binary version */
    if (rc)
        return rc;
    if ((rc = sne_render_jsonb(canon, len, &c->buf)) == SNE_ERR_CORRUPT && c->n_streams)
        return sne_error_set(c->streams[0].link->err, rc, 0, "a stored item does not decode");
    return rc ? limit(c, rc) : pg_copy_field_close(c);
}
