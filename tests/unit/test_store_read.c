/* Unit tests of the unit read in the store (contract section 8): a read replaces the requested
 * entities of one demand, or deletes them when the demand left the scope (a tombstone); a read
 * that changes nothing logs nothing; newer data wins both ways (an older read, an older export
 * and its sweep leave a demand read later as it is; a tombstone keeps an older export from
 * re-creating the demand) until a complete export newer than the read is finished. */
#include "store_fixture.h"
#include "testlib.h"

#include <stdlib.h>
#include <unistd.h>

static char store_dir[] = "/tmp/snesync-test-store-read-XXXXXX";

#define NUM_A "0380000000001G1226"
#define NUM_B "0380000000002G1226"
#define NUM_C "0380000000003G1226"

static const sne_entity_set CERFA_EVT = (1u << SNE_ENTITY_CERFA) | (1u << SNE_ENTITY_EVT);

/* A read of `num` at `ms` bringing `d` (NULL: the demand left the scope). */
static sne_err read_demand(sne_store *s, const char *num, const fake_demand *d, int64_t ms,
                           sne_apply_stats *st)
{
    char numero[24], date[SNE_DATE_MAX + 1];
    snprintf(numero, sizeof(numero), "D%s", num);
    snprintf(date, sizeof(date), "T%lld", (long long)ms);
    sne_store_read rd = {.num = num,
                         .demand = d ? &d->d : NULL,
                         .entities = CERFA_EVT,
                         .numero = numero,
                         .date_export = date,
                         .date_ms = ms};
    memset(st, 0, sizeof(*st));
    sne_err rc = sne_store_apply_read(s, &rd, st);
    return rc ? rc : sne_store_commit(s);
}

/* The changes after seq `since`, as short lines. */
static int changes_since(sne_store *s, uint64_t since, collected *col)
{
    col->n = 0;
    CHECK_EQ_INT(sne_store_changes(s, since, 0, collect, col), SNE_OK);
    return col->n;
}

static void test_reads_and_newer_data(void)
{
    sne_store *s = NULL;
    sne_error err = {0};
    sne_store_options o = {.writable = true, .create = true, .map_size = 64u << 20};
    CHECK_EQ_INT(sne_store_open(&s, store_dir, &o, &err), SNE_OK);
    sne_apply_stats st;
    collected col;
    uint64_t first, last;
    fake_demand x1[3], a2, a1bis[3];

    /* 1. Export X1 at 1000: A (CERFA, EVT E1), B, C. */
    fake_init(&x1[0], NUM_A, "38185");
    fake_item(&x1[0], SNE_ENTITY_CERFA, "", "a1");
    fake_item(&x1[0], SNE_ENTITY_EVT, "E1", "e1");
    fake_init(&x1[1], NUM_B, "38185");
    fake_item(&x1[1], SNE_ENTITY_CERFA, "", "b1");
    fake_init(&x1[2], NUM_C, "38185");
    fake_item(&x1[2], SNE_ENTITY_CERFA, "", "c1");
    sne_export_header h1 = header("X1", "T1000", 1000, CERFA_EVT, NULL, 0);
    ingest_run(s, &h1, x1, 3, &st, SNE_OK);
    CHECK_EQ_INT(st.creates, 4);

    /* 2. A read at 2000: a new form, no EVT block (the event is gone). */
    fake_init(&a2, NUM_A, "38185");
    fake_item(&a2, SNE_ENTITY_CERFA, "", "a2");
    CHECK_EQ_INT(sne_store_seq_range(s, &first, &last), SNE_OK);
    CHECK_EQ_INT(read_demand(s, NUM_A, &a2, 2000, &st), SNE_OK);
    CHECK_EQ_INT(changes_since(s, last, &col), 2);
    CHECK_EQ_STR(col.lines[0], "5 update " NUM_A " CERFA  B A");
    CHECK_EQ_STR(col.lines[1], "6 delete " NUM_A " EVT E1 B");
    /* ... read again, unchanged: nothing logged; an older read: left as it is */
    CHECK_EQ_INT(read_demand(s, NUM_A, &a2, 2000, &st), SNE_OK);
    CHECK_EQ_INT(st.items_unchanged, 1);
    CHECK_EQ_INT(read_demand(s, NUM_A, &x1[0], 1500, &st), SNE_OK);
    CHECK_EQ_INT(st.demands_newer_held, 1);
    CHECK_EQ_INT(changes_since(s, 6, &col), 0);

    /* 3. B read at 2000 has left the scope: its entities go, a tombstone stays. */
    CHECK_EQ_INT(read_demand(s, NUM_B, NULL, 2000, &st), SNE_OK);
    CHECK_EQ_INT(st.demands_swept, 1);
    CHECK_EQ_INT(changes_since(s, 6, &col), 1);
    CHECK_EQ_STR(col.lines[0], "7 delete " NUM_B " CERFA  B");
    CHECK_EQ_INT(sne_store_read_demand(s, NUM_B, NULL, NULL), SNE_ERR_NOTFOUND);
    /* ... a demand never held that left the scope: nothing to log */
    CHECK_EQ_INT(read_demand(s, "0380000000009G1226", NULL, 2000, &st), SNE_OK);
    CHECK_EQ_INT(changes_since(s, 7, &col), 0);

    /* 4. A complete export at 1000 again (older than the reads): A stays as read, B is not
     * re-created, C changes as usual; the sweep deletes nothing (A and B absent or not). */
    for (int i = 0; i < 3; i++)
        a1bis[i] = x1[i];
    fake_init(&a1bis[2], NUM_C, "38185");
    fake_item(&a1bis[2], SNE_ENTITY_CERFA, "", "c2");
    sne_export_header h1b = header("X1B", "T1000", 1000, CERFA_EVT, NULL, 0);
    ingest_run(s, &h1b, a1bis, 3, &st, SNE_OK);
    CHECK_EQ_INT(st.demands_newer_held, 2);
    CHECK_EQ_INT(changes_since(s, 7, &col), 1);
    CHECK_EQ_STR(col.lines[0], "8 update " NUM_C " CERFA  B A");
    sne_export_header h1c = header("X1C", "T1000", 1000, CERFA_EVT, NULL, 0);
    ingest_run(s, &h1c, &x1[2], 1, &st, SNE_OK); /* A absent: read later, not swept */
    CHECK_EQ_INT(changes_since(s, 8, &col), 1);
    CHECK_EQ_STR(col.lines[0], "9 update " NUM_C " CERFA  B A");

    /* 5. A complete export at 3000 is newer than the reads: it applies to A and B as to any
     * demand, and the reads' instants are forgotten: an export at 3000 after it, bringing A's
     * old form, changes A again. */
    sne_export_header h3 = header("X3", "T3000", 3000, CERFA_EVT, NULL, 0);
    ingest_run(s, &h3, x1, 2, &st, SNE_OK);
    CHECK_EQ_INT(st.demands_newer_held, 0);
    CHECK_EQ_INT(changes_since(s, 9, &col), 4);
    CHECK_EQ_STR(col.lines[0], "10 update " NUM_A " CERFA  B A");
    CHECK_EQ_STR(col.lines[1], "11 create " NUM_A " EVT E1 A");
    CHECK_EQ_STR(col.lines[2], "12 create " NUM_B " CERFA  A");
    CHECK_EQ_STR(col.lines[3], "13 delete " NUM_C " CERFA  B");
    sne_export_header h3b = header("X3B", "T3000", 3000, CERFA_EVT, NULL, 0);
    fake_demand a3;
    fake_init(&a3, NUM_A, "38185");
    fake_item(&a3, SNE_ENTITY_CERFA, "", "a3");
    ingest_run(s, &h3b, &a3, 1, &st, SNE_OK);
    CHECK_EQ_INT(changes_since(s, 13, &col), 3); /* A's form, A's event and B swept */
    CHECK_EQ_STR(col.lines[0], "14 update " NUM_A " CERFA  B A");
    fake_free(&a3);

    for (int i = 0; i < 3; i++)
        fake_free(&x1[i]);
    fake_free(&a2);
    fake_free(&a1bis[2]);
    sne_store_close(s);
}

int main(void)
{
    if (!mkdtemp(store_dir)) {
        perror("mkdtemp");
        return 1;
    }
    rmdir(store_dir); /* the store creates it, 0700 */
    test_reads_and_newer_data();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", store_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", store_dir);
    return TEST_SUMMARY();
}
