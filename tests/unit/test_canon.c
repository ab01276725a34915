/* Unit tests of the canonical form: trimming, empty-element pruning, attribute order, limits,
 * and the reader's refusal of anything that is not a canonical form. */
#include "canon/canon.h"
#include "testlib.h"

#include <string.h>

static void text(sne_canon_writer *w, const char *s)
{
    CHECK_EQ_INT(sne_canon_text(w, (const uint8_t *)s, strlen(s)), SNE_OK);
}

static void open_el(sne_canon_writer *w, const char *name)
{
    CHECK_EQ_INT(sne_canon_open(w, name, strlen(name), NULL, 0), SNE_OK);
}

static void test_trimming_and_pruning(void)
{
    sne_canon_writer w;
    sne_canon_writer_init(&w, 1 << 16, 1 << 12);
    open_el(&w, "item");
    text(&w, "\n  ");
    open_el(&w, "a");
    text(&w, "  x ");
    text(&w, "y\t\n");
    CHECK_EQ_INT(sne_canon_close(&w), SNE_OK);
    open_el(&w, "empty");
    open_el(&w, "inner"); /* empty too: both disappear */
    text(&w, "   ");
    CHECK_EQ_INT(sne_canon_close(&w), SNE_OK);
    CHECK_EQ_INT(sne_canon_close(&w), SNE_OK);
    CHECK_EQ_INT(sne_canon_close(&w), SNE_OK);
    const char want[] = "\x01item\0\x01"
                        "a\0\x03x y\0\x04\x04";
    CHECK_EQ_INT(w.out.len, sizeof(want) - 1);
    CHECK(memcmp(w.out.data, want, sizeof(want) - 1) == 0);
    CHECK(sne_canon_valid(w.out.data, w.out.len));

    /* An item with nothing in it is dropped entirely. */
    sne_canon_writer_reset(&w);
    open_el(&w, "dalo");
    text(&w, " \n ");
    CHECK_EQ_INT(sne_canon_close(&w), SNE_OK);
    CHECK(sne_canon_is_empty(&w));
    sne_canon_writer_free(&w);
}

static void test_attribute_order(void)
{
    sne_canon_writer a, b;
    sne_canon_writer_init(&a, 1 << 16, 1 << 12);
    sne_canon_writer_init(&b, 1 << 16, 1 << 12);
    sne_canon_attr x[2] = {{"points", 6, "3", 1}, {"code", 4, "C1", 2}};
    sne_canon_attr y[2] = {{"code", 4, "C1", 2}, {"points", 6, "3", 1}};
    CHECK_EQ_INT(sne_canon_open(&a, "critere", 7, x, 2), SNE_OK);
    CHECK_EQ_INT(sne_canon_open(&b, "critere", 7, y, 2), SNE_OK);
    sne_canon_close(&a);
    sne_canon_close(&b);
    CHECK(a.out.len == b.out.len && memcmp(a.out.data, b.out.data, a.out.len) == 0);
    /* An element with only an empty attribute is not empty. */
    sne_canon_writer_reset(&a);
    sne_canon_attr e[1] = {{"code", 4, "", 0}};
    CHECK_EQ_INT(sne_canon_open(&a, "x", 1, e, 1), SNE_OK);
    sne_canon_close(&a);
    CHECK(!sne_canon_is_empty(&a));
    sne_canon_writer_free(&a);
    sne_canon_writer_free(&b);
}

static void test_limits_and_control_bytes(void)
{
    sne_canon_writer w;
    sne_canon_writer_init(&w, 64, 16);
    open_el(&w, "item");
    CHECK_EQ_INT(sne_canon_text(&w, (const uint8_t *)"0123456789abcdefg", 17), SNE_ERR_LIMIT);
    /* Leading whitespace is never held but counts against the text cap all the same, in one
     * piece or in several, and a value that fits with it comes out trimmed. */
    sne_canon_writer_reset(&w);
    open_el(&w, "item");
    CHECK_EQ_INT(sne_canon_text(&w, (const uint8_t *)"          abcdefg", 17), SNE_ERR_LIMIT);
    sne_canon_writer_reset(&w);
    open_el(&w, "item");
    text(&w, "\n         ");
    text(&w, "    ");
    CHECK_EQ_INT(sne_canon_text(&w, (const uint8_t *)"abc", 3), SNE_ERR_LIMIT);
    text(&w, "x");
    CHECK_EQ_INT(sne_canon_close(&w), SNE_OK);
    CHECK_EQ_INT(w.out.len, 10);
    CHECK(memcmp(w.out.data, "\x01item\0\x03x\0\x04", 10) == 0);
    /* The count starts again with each value. */
    sne_canon_writer_reset(&w);
    open_el(&w, "item");
    text(&w, "               ");
    open_el(&w, "a");
    text(&w, "               y");
    CHECK_EQ_INT(sne_canon_close(&w), SNE_OK);
    CHECK_EQ_INT(sne_canon_close(&w), SNE_OK);
    sne_canon_writer_reset(&w);
    open_el(&w, "item");
    text(&w, "a\x02z");
    CHECK_EQ_INT(sne_canon_close(&w), SNE_ERR_INVALID);
    sne_canon_writer_reset(&w);
    sne_err rc = SNE_OK;
    for (int i = 0; i < SNE_CANON_MAX_DEPTH + 1 && !rc; i++)
        rc = sne_canon_open(&w, "a", 1, NULL, 0);
    CHECK_EQ_INT(rc, SNE_ERR_LIMIT);
    sne_canon_writer_reset(&w);
    char big[80];
    memset(big, 'n', sizeof(big));
    CHECK_EQ_INT(sne_canon_open(&w, big, sizeof(big), NULL, 0), SNE_ERR_LIMIT); /* item cap 64 */
    sne_canon_writer_free(&w);
}

static void test_reader_rejects(void)
{
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"", 0},
        {"\x01item", 5},                   /* no NUL */
        {"\x01item\0", 6},                 /* not closed */
        {"\x01item\0\x04\x04", 8},         /* closed twice */
        {"\x01item\0\x04\x01x\0\x04", 11}, /* a second root */
        {"\x03text\0", 6},                 /* text outside an element */
        {"\x01item\0\x09\x04", 8},         /* unknown byte */
        {"\x01\0\x04", 3},                 /* empty name */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(!sne_canon_valid((const uint8_t *)bad[i].bytes, bad[i].len));
    CHECK(sne_canon_valid((const uint8_t *)"\x01item\0\x02k\0v\0\x03t\0\x04", 15));
}

int main(void)
{
    test_trimming_and_pruning();
    test_attribute_order();
    test_limits_and_control_bytes();
    test_reader_rejects();
    return TEST_SUMMARY();
}
