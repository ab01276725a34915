/* Unit tests of the PostgreSQL sink's COPY encoder (engine/sink/pg_copy.c) and of its demand
 * rows, without a server: the bytes of PostgreSQL's binary COPY format, field by field; an item's
 * JSON with quotes, backslashes and a line break, passed as they are (no escaping layer); a
 * field's length patched after its bytes; the limits; a demand's state and date (timestamptz
 * counts microseconds from 2000-01-01; a date that is no xs:dateTime gives NULL). */
#include "canon/canon.h"
#include "sink/pg_internal.h"
#include "testlib.h"

#include <string.h>

static bool bytes_at(const pg_copy *c, size_t off, const void *want, size_t n)
{
    return off + n <= c->buf.len && memcmp(c->buf.data + off, want, n) == 0;
}

static void test_header_and_fields(void)
{
    pg_copy c;
    pg_copy_init(&c, NULL, 0);
    CHECK_EQ_INT(pg_copy_begin(&c, "unused", "unused"), SNE_OK);
    static const uint8_t head[] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n',
                                   0,   0,   0,   0,   0,   0,   0,    0,    0};
    CHECK_EQ_INT(c.buf.len, sizeof(head));
    CHECK(bytes_at(&c, 0, head, sizeof(head)));

    size_t off = c.buf.len;
    CHECK_EQ_INT(pg_copy_row(&c, 5), SNE_OK);
    CHECK_EQ_INT(pg_copy_int8(&c, 0x0102030405060708LL), SNE_OK);
    CHECK_EQ_INT(pg_copy_int2(&c, -2), SNE_OK);
    CHECK_EQ_INT(pg_copy_text(&c, "a\"\\b", 4), SNE_OK);
    CHECK_EQ_INT(pg_copy_null(&c), SNE_OK);
    CHECK_EQ_INT(pg_copy_field_open(&c), SNE_OK);
    CHECK_EQ_INT(sne_buf_append(&c.buf, "xyz", 3), SNE_OK);
    CHECK_EQ_INT(pg_copy_field_close(&c), SNE_OK);
    static const uint8_t row[] = {0,    5, /* fields */
                                  0,    0,    0,    8,    1,    2,    3,    4,
                                  5,    6,    7,    8,                           /* int8 */
                                  0,    0,    0,    2,    0xff, 0xfe,            /* int2 */
                                  0,    0,    0,    4,    'a',  '"',  '\\', 'b', /* text */
                                  0xff, 0xff, 0xff, 0xff,                        /* NULL */
                                  0,    0,    0,    3,    'x',  'y',  'z'};      /* patched */
    CHECK_EQ_INT(c.buf.len - off, sizeof(row));
    CHECK(bytes_at(&c, off, row, sizeof(row)));
    CHECK_EQ_INT(c.rows, 1);

    off = c.buf.len;
    CHECK_EQ_INT(pg_copy_end(&c, "unused"), SNE_OK);
    static const uint8_t trailer[] = {0xff, 0xff};
    CHECK(c.buf.len == off + 2 && bytes_at(&c, off, trailer, 2));
    /* A field's length is a signed 32-bit number: a longer one is refused before any copy. */
    CHECK_EQ_INT(pg_copy_text(&c, "", (size_t)0x80000000u), SNE_ERR_LIMIT);
    pg_copy_free(&c);
}

static void test_item_json(void)
{
    sne_canon_writer w;
    sne_canon_writer_init(&w, 1 << 20, 1 << 16);
    const char *text = "quote \" backslash \\ line\nend";
    sne_canon_open(&w, "evenement", 9, NULL, 0);
    sne_canon_open(&w, "v", 1, NULL, 0);
    sne_canon_text(&w, (const uint8_t *)text, strlen(text));
    sne_canon_close(&w);
    sne_canon_close(&w);

    pg_copy c;
    pg_copy_init(&c, NULL, 0);
    CHECK_EQ_INT(pg_copy_item_json(&c, w.out.data, w.out.len), SNE_OK);
    /* render.h: quotes and backslashes escaped, bytes below 0x20 as \u00XX */
    const char *json = "{\"v\":\"quote \\\" backslash \\\\ line\\u000aend\"}";
    size_t n = strlen(json);
    uint8_t head[5] = {0, 0, 0, (uint8_t)(n + 1), 1}; /* length, then jsonb's version 1 */
    CHECK_EQ_INT(c.buf.len, 5 + n);
    CHECK(bytes_at(&c, 0, head, 5) && bytes_at(&c, 5, json, n));
    /* Bytes that are no canonical item are a corrupt store, not a row. */
    sne_buf_reset(&c.buf);
    CHECK_EQ_INT(pg_copy_item_json(&c, (const uint8_t *)"junk", 4), SNE_ERR_CORRUPT);
    pg_copy_free(&c);
    sne_buf_free(&w.out);
    sne_buf_free(&w.text);
}

static void test_demande_row(void)
{
    pg_copy c;
    pg_copy_init(&c, NULL, 0);
    const char *date = "2000-01-01T01:00:01.5+01:00"; /* 1.5 s after PostgreSQL's epoch */
    sne_header h = {.radiee = true, .date_modification = date, .date_len = strlen(date)};
    CHECK_EQ_INT(pg_copy_demande(&c, "0380000000001G1226", &h), SNE_OK);
    static const uint8_t row[] = {
        0,   3, /* fields */
        0,   0,   0,   18,  '0', '3', '8', '0', '0', '0',  '0',  '0', '0', '0', '0', '0', /* num */
        '1', 'G', '1', '2', '2', '6',                                                     /* ... */
        0,   0,   0,   6,   'R', 'A', 'D', 'I', 'E', 'E',                                 /* etat */
        0,   0,   0,   8,   0,   0,   0,   0,   0,   0x16, 0xe3, 0x60};                   /* date */
    CHECK_EQ_INT(c.buf.len, sizeof(row));
    CHECK(bytes_at(&c, 0, row, sizeof(row)));

    sne_buf_reset(&c.buf);
    h = (sne_header){.radiee = false, .date_modification = "hier", .date_len = 4};
    CHECK_EQ_INT(pg_copy_demande(&c, "0380000000001G1226", &h), SNE_OK);
    static const uint8_t tail[] = {0,   0,   0,   6,    'A',  'C',  'T',
                                   'I', 'V', 'E', 0xff, 0xff, 0xff, 0xff};
    CHECK(bytes_at(&c, c.buf.len - sizeof(tail), tail, sizeof(tail)));
    pg_copy_free(&c);
}

int main(void)
{
    test_header_and_fields();
    test_item_json();
    test_demande_row();
    return TEST_SUMMARY();
}
