/* Unit tests of the demand record: items sorted and pointed at once sealed, duplicates found, the
 * byte cap, the sought communes' cap, and memory given back after a large demand. */
#include "model/record.h"
#include "testlib.h"

#include <stdio.h>
#include <string.h>

static sne_err add(sne_record *r, sne_entity e, const char *key, const char *canon)
{
    return sne_record_add_item(r, e, key, strlen(key), (const uint8_t *)canon, strlen(canon),
                               strlen(canon));
}

static void test_sealed_sorted(void)
{
    sne_record *r = sne_record_new();
    CHECK(r != NULL);
    sne_record_begin(r, "EXPORT_T_001.xml", 1 << 20);
    CHECK_EQ_INT(add(r, SNE_ENTITY_EVT, "E2", "<e>2</e>"), SNE_OK);
    CHECK_EQ_INT(add(r, SNE_ENTITY_CERFA, "", "<cerfa/>"), SNE_OK);
    CHECK_EQ_INT(add(r, SNE_ENTITY_EVT, "E10", "<e>10</e>"), SNE_OK);
    CHECK_EQ_INT(add(r, SNE_ENTITY_EVT, "E1", "<e>1</e>"), SNE_OK);
    CHECK_EQ_INT(sne_record_seal(r), 0);
    const sne_demand *d = &r->demand;
    CHECK_EQ_INT(d->n_items, 4);
    CHECK(d->items == r->items);
    CHECK_EQ_INT(d->items[0].entity, SNE_ENTITY_CERFA);
    const char *keys[] = {"", "E1", "E10", "E2"},
               *forms[] = {"<cerfa/>", "<e>1</e>", "<e>10</e>", "<e>2</e>"};
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ_STR(d->items[i].key, keys[i]);
        CHECK_EQ_INT(d->items[i].key_len, strlen(keys[i]));
        CHECK(d->items[i].canon_len == strlen(forms[i]) &&
              memcmp(d->items[i].canon, forms[i], d->items[i].canon_len) == 0);
        CHECK_EQ_INT(d->items[i].hash, strlen(forms[i]));
    }
    CHECK_EQ_STR(r->member, "EXPORT_T_001.xml");
    sne_record_free(r);
    sne_record_free(NULL);
}

/* Many items: the arrays and the bytes grow (and move) while filled; sealing points at the
 * final place. */
static void test_growth(void)
{
    sne_record *r = sne_record_new();
    sne_record_begin(r, "m", 1 << 20);
    char key[16], form[32];
    for (int i = 999; i >= 0; i--) {
        snprintf(key, sizeof(key), "K%04d", i);
        snprintf(form, sizeof(form), "<v>%d</v>", i);
        CHECK_EQ_INT(add(r, SNE_ENTITY_DRM, key, form), SNE_OK);
    }
    CHECK_EQ_INT(sne_record_seal(r), 0);
    int ordered = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "K%04d", i);
        snprintf(form, sizeof(form), "<v>%d</v>", i);
        const sne_item *it = &r->demand.items[i];
        ordered += strcmp(it->key, key) == 0 && it->canon_len == strlen(form) &&
                   memcmp(it->canon, form, it->canon_len) == 0;
    }
    CHECK_EQ_INT(ordered, 1000);
    /* Grown past the keep limits for one large demand: the memory goes back. */
    CHECK(r->bytes.alloc > SNE_RECORD_KEEP_BYTES || r->items_alloc > SNE_RECORD_KEEP_ITEMS);
    sne_record_clear(r);
    CHECK(r->bytes.alloc <= SNE_RECORD_KEEP_BYTES && r->items_alloc <= SNE_RECORD_KEEP_ITEMS);
    CHECK_EQ_INT(r->demand.n_items, 0);
    sne_record_begin(r, "n", 1 << 20);
    CHECK_EQ_STR(r->member, "n");
    CHECK_EQ_INT(r->bytes.len, 0);
    sne_record_free(r);
}

static void test_duplicates(void)
{
    sne_record *r = sne_record_new();
    sne_record_begin(r, "m", 1 << 20);
    CHECK_EQ_INT(add(r, SNE_ENTITY_EVT, "E1", "<a/>"), SNE_OK);
    CHECK_EQ_INT(add(r, SNE_ENTITY_EVT, "E2", "<b/>"), SNE_OK);
    CHECK_EQ_INT(add(r, SNE_ENTITY_EVT, "E1", "<c/>"), SNE_OK);
    size_t dup = sne_record_seal(r);
    CHECK_EQ_INT(dup, 1);
    CHECK_EQ_STR(r->items[dup].key, "E1");
    /* The same key in two entities is no duplicate. */
    sne_record_begin(r, "m", 1 << 20);
    CHECK_EQ_INT(add(r, SNE_ENTITY_EVT, "X", "<a/>"), SNE_OK);
    CHECK_EQ_INT(add(r, SNE_ENTITY_DRM, "X", "<b/>"), SNE_OK);
    CHECK_EQ_INT(sne_record_seal(r), 0);
    sne_record_free(r);
}

/* The filler's cap counts keys, their NULs and forms; an item over it leaves the record as it
 * was. */
static void test_cap(void)
{
    sne_record *r = sne_record_new();
    sne_record_begin(r, "m", 12);
    CHECK_EQ_INT(add(r, SNE_ENTITY_EVT, "E1", "<a></a>"), SNE_OK); /* 2 + 1 + 7 = 10 */
    size_t len = r->bytes.len;
    CHECK_EQ_INT(add(r, SNE_ENTITY_EVT, "E2", "<b/>"), SNE_ERR_LIMIT);
    CHECK_EQ_INT(r->bytes.len, len);
    CHECK_EQ_INT(r->demand.n_items, 1);
    CHECK_EQ_INT(add(r, SNE_ENTITY_EVT, "", "x"), SNE_OK); /* exactly 12 */
    CHECK_EQ_INT(sne_record_seal(r), 0);
    CHECK_EQ_STR(r->demand.items[0].key, "");
    sne_record_free(r);
}

static void test_communes(void)
{
    sne_record *r = sne_record_new();
    sne_record_begin(r, "m", 1 << 20);
    int kept = 0;
    for (int i = 0; i < SNE_MAX_SOUGHT_COMMUNES + 3; i++) {
        char code[8];
        snprintf(code, sizeof(code), "%05d", 38000 + i);
        kept += sne_record_add_commune(r, code);
    }
    CHECK_EQ_INT(kept, SNE_MAX_SOUGHT_COMMUNES);
    sne_record_seal(r);
    CHECK_EQ_INT(r->demand.n_communes, SNE_MAX_SOUGHT_COMMUNES);
    CHECK_EQ_STR(r->demand.communes[0], "38000");
    CHECK_EQ_STR(r->demand.communes[SNE_MAX_SOUGHT_COMMUNES - 1], "38063");
    sne_record_free(r);
}

int main(void)
{
    test_sealed_sorted();
    test_growth();
    test_duplicates();
    test_cap();
    test_communes();
    return TEST_SUMMARY();
}
