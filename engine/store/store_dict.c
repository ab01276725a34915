/* store_dict.c: the store's zstd dictionary: trained once on the bodies of the store's first
 * demands, recorded in meta "dict" by the batch that completes the samples, loaded at open. */
#include "store_internal.h"

#define ZDICT_STATIC_LINKING_ONLY /* fastCover parameters */
#include <zdict.h>
#include <stdlib.h>

/* Trained on the first DICT_SAMPLES demand bodies, at most STORE_DICT_SAMPLE_BYTES of them. */
#define DICT_SIZE    (64 * 1024)
#define DICT_SAMPLES 1000

sne_err store_dict_load(sne_store *s, MDB_txn *txn)
{
    MDB_val k = store_meta_key(SNE_META_DICT), v;
    int mrc = mdb_get(txn, s->db_meta, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return SNE_OK;
    if (mrc)
        return store_fail(s, mrc, "cannot read its dictionary");
    if (sne_frame_codec_load_dict(&s->codec, v.mv_data, v.mv_size) != SNE_OK)
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: its dictionary is damaged",
                             s->dir);
    return SNE_OK;
}

void store_dict_forget_samples(sne_store *s)
{
    sne_buf_free(&s->dict_samples);
    free(s->sample_sizes);
    s->sample_sizes = NULL;
    s->n_samples = 0;
}

sne_err store_sample_for_dictionary(sne_store *s, const sne_buf *content)
{
    if (s->codec.cdict || s->dict_failed)
        return SNE_OK;
    if (!s->sample_sizes && !(s->sample_sizes = malloc(DICT_SAMPLES * sizeof(size_t))))
        return sne_error_set(&s->err, SNE_ERR_NOMEM, 0, "out of memory");
    if (sne_buf_append(&s->dict_samples, content->data, content->len) == SNE_OK)
        s->sample_sizes[s->n_samples++] = content->len;
    if (s->n_samples < DICT_SAMPLES && s->dict_samples.len + 64 * 1024 < STORE_DICT_SAMPLE_BYTES)
        return SNE_OK;
    uint8_t *dict = malloc(DICT_SIZE);
    /* Fixed fastCover parameters: the optimising search of ZDICT_trainFromBuffer costs seconds
     * for a gain of a few percent. */
    ZDICT_fastCover_params_t params = {
        .k = 512, .d = 8, .f = 20, .steps = 0, .nbThreads = 1, .splitPoint = 1.0, .accel = 1};
    params.zParams.compressionLevel = s->codec.level;
    size_t n =
        dict ? ZDICT_trainFromBuffer_fastCover(dict, DICT_SIZE, s->dict_samples.data,
                                               s->sample_sizes, (unsigned)s->n_samples, params)
             : 0;
    sne_err rc = SNE_OK;
    if (!dict || ZDICT_isError(n) || sne_frame_codec_load_dict(&s->codec, dict, n) != SNE_OK) {
        s->dict_failed = true; /* plain zstd still works; only the ratio suffers */
    } else {
        MDB_val k = store_meta_key(SNE_META_DICT), v = {n, dict};
        int mrc = mdb_put(s->txn, s->db_meta, &k, &v, 0);
        if (mrc)
            rc = store_fail(s, mrc, "cannot record the dictionary");
    }
    free(dict);
    store_dict_forget_samples(s);
    return rc;
}
