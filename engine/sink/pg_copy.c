/* pg_copy.c: rows in COPY's binary format (PostgreSQL's "COPY ... WITH BINARY" file layout),
 * sent to the server by a thread of their own as they are made (pg_internal.h). The binary format
 * needs no escaping: every field is its length and its bytes, so JSON's backslashes and quotes
 * reach the server as they are. Integers are big-endian; a jsonb field is the version byte 1 and
 * the JSON text. */
#include "pg_internal.h"

#include "../common/thread.h"
#include "../diff/render.h"

#include <string.h>

static const char header[] = "PGCOPY\n\377\r\n"; /* and its NUL: 11 bytes */
#define HEADER_LEN 11
#define BUF_CAP    (64u << 20) /* a chunk, plus the largest row (an item is at most 4 MiB) */
#define FIELD_MAX  0x7fffffff  /* a field's length is a signed 32-bit integer */

void pg_copy_init(pg_copy *c, pg_link *l)
{
    memset(c, 0, sizeof(*c));
    c->link = l;
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
    if (rc && c->link)
        sne_error_set(c->link->err, rc, 0, "a row does not fit the COPY buffer (%u MiB)",
                      BUF_CAP >> 20);
    return rc;
}

static void free_chunk(void *elem)
{
    sne_buf_free(elem);
}

/* The sender thread: hands the chunks to libpq in order until `full` is closed and drained, or
 * either side cancels. On a refusal it stops both sides; the caller reads why from the
 * connection once it has joined this thread. */
static void *send_chunks(void *arg)
{
    pg_copy *c = arg;
    sne_thread_name("sne-pg-copy");
    sne_buf b;
    while (sne_queue_pop(c->full, &b) == SNE_QUEUE_OK) {
        bool sent = PQputCopyData(c->link->conn, (const char *)b.data, (int)b.len) == 1;
        sne_buf_reset(&b);
        if (sne_queue_push(c->spare, &b) != SNE_QUEUE_OK) {
            sne_buf_free(&b); /* cancelled by the caller */
            break;
        }
        if (!sent) {
            c->send_failed = true;
            sne_queue_cancel(c->full);
            sne_queue_cancel(c->spare);
            break;
        }
    }
    return NULL;
}

/* Stops the sender (at once when `cancel`, else once it has sent every chunk queued), joins it
 * and frees the loop's chunks. */
static void stop_sender(pg_copy *c, bool cancel)
{
    if (c->sending) {
        if (cancel) {
            sne_queue_cancel(c->full);
            sne_queue_cancel(c->spare);
        } else {
            sne_queue_close(c->full);
        }
        pthread_join(c->sender, NULL);
        c->sending = false;
    }
    sne_queue_free(c->full, free_chunk);
    sne_queue_free(c->spare, free_chunk);
    c->full = c->spare = NULL;
}

static sne_err start_sender(pg_copy *c)
{
    c->send_failed = false;
    sne_err rc = sne_queue_new(&c->full, PG_COPY_CHUNKS, sizeof(sne_buf));
    if (!rc)
        rc = sne_queue_new(&c->spare, PG_COPY_CHUNKS, sizeof(sne_buf));
    for (int i = 1; !rc && i < PG_COPY_CHUNKS; i++) { /* the caller fills the other one */
        sne_buf b;
        sne_buf_init(&b, BUF_CAP);
        sne_queue_push(c->spare, &b); /* cannot fail: room for them all */
    }
    if (!rc && pthread_create(&c->sender, NULL, send_chunks, c) != 0)
        rc = SNE_ERR_NOMEM;
    c->sending = rc == SNE_OK;
    if (rc) {
        stop_sender(c, true);
        return sne_error_set(c->link->err, rc, 0, "cannot start the COPY's sending thread");
    }
    return SNE_OK;
}

/* Hands the chunk filled to the sender and takes an empty one, waiting while PG_COPY_CHUNKS
 * are in flight. */
static sne_err hand_over(pg_copy *c, const char *what)
{
    if (!c->link || c->buf.len == 0)
        return SNE_OK;
    if (sne_queue_push(c->full, &c->buf) == SNE_QUEUE_OK) {
        memset(&c->buf, 0, sizeof(c->buf)); /* the sender owns its bytes now */
        if (sne_queue_pop(c->spare, &c->buf) == SNE_QUEUE_OK)
            return SNE_OK;
        sne_buf_init(&c->buf, BUF_CAP);
    }
    stop_sender(c, true);
    return pg_fail(c->link, NULL, what);
}

void pg_copy_free(pg_copy *c)
{
    stop_sender(c, true);
    sne_buf_free(&c->buf);
}

sne_err pg_copy_begin(pg_copy *c, const char *sql, const char *what)
{
    sne_buf_reset(&c->buf);
    c->rows = 0;
    if (c->link) {
        PGresult *res = PQexec(c->link->conn, sql);
        sne_err rc = PQresultStatus(res) == PGRES_COPY_IN ? SNE_OK : pg_fail(c->link, res, what);
        PQclear(res);
        if (rc)
            return rc;
        c->open = true;
        if ((rc = start_sender(c))) {
            pg_copy_abort(c);
            return rc;
        }
    }
    sne_err rc = sne_buf_append(&c->buf, header, HEADER_LEN);
    if (!rc)
        rc = put_be(c, 0, 4); /* flags: no OIDs */
    if (!rc)
        rc = put_be(c, 0, 4); /* no header extension */
    return limit(c, rc);
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

sne_err pg_copy_end(pg_copy *c, const char *what)
{
    sne_err rc = limit(c, put_be(c, 0xffff, 2)); /* the trailer: a field count of -1 */
    if (!rc)
        rc = hand_over(c, what);
    if (rc || !c->link)
        return rc;
    stop_sender(c, false);
    if (c->send_failed)
        return pg_fail(c->link, NULL, what);
    c->open = false;
    if (PQputCopyEnd(c->link->conn, NULL) != 1)
        return pg_fail(c->link, NULL, what);
    PGresult *res;
    while ((res = PQgetResult(c->link->conn)) != NULL) {
        if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = pg_fail(c->link, res, what);
        PQclear(res);
    }
    return rc;
}

void pg_copy_abort(pg_copy *c)
{
    stop_sender(c, true);
    if (!c->link || !c->open)
        return;
    c->open = false;
    if (PQputCopyEnd(c->link->conn, "snesync stopped the copy") == 1) {
        PGresult *res;
        while ((res = PQgetResult(c->link->conn)) != NULL)
            PQclear(res);
    }
}

sne_err pg_copy_item_json(pg_copy *c, const uint8_t *canon, size_t len)
{
    sne_err rc = pg_copy_field_open(c);
    if (!rc)
        rc = limit(c, sne_buf_append_byte(&c->buf, 1)); /* jsonb's binary version */
    if (rc)
        return rc;
    if ((rc = sne_render_jsonb(canon, len, &c->buf)) == SNE_ERR_CORRUPT && c->link)
        return sne_error_set(c->link->err, rc, 0, "a stored item does not decode");
    return rc ? limit(c, rc) : pg_copy_field_close(c);
}
