/* codec.h: every byte snesync keeps in LMDB, and the functions that write and read them.
 *
 * Integers are little-endian, whatever the host, except the change log's keys (big-endian, so
 * that LMDB's byte order is seq order). Strings in fixed fields are NUL-padded to the field's
 * width. Decoders check every length against the value's size and fail with SNE_ERR_CORRUPT
 * rather than read past it; encoders refuse (SNE_ERR_LIMIT) what their layout cannot hold.
 *
 * Versions. A value that may change shape carries a version of its own (demand header, run
 * record, scope value, sync note), and its decoder reads every version ever written: stores
 * exist in the field. The rest (bodies, change groups, the change key, meta's scalars, seen) is
 * the layout of store format SNE_STORE_FORMAT (meta "format"): changing it changes the format.
 * A store of a format from SNE_STORE_FORMAT_OLDEST on is read; a writer marks it current, so
 * that an older snesync, which cannot read the versions it then writes, refuses the store by its
 * format; older and newer formats are refused, saying which.
 *
 * database "demand", key numUnique -> demand header: what a resync needs to decide, without
 * decompressing anything, whether anything changed and whether the demand is in an export's
 * scope:
 *
 *     u8 version=1 | u8 flags (bit 0: RADIEE) | u8 n, date of last modification (n bytes)
 *     | u8 n_communes, n_communes x 5 bytes (sought communes of the last CERFA)
 *     | u32 n_items, n_items x (u8 entity | u8 key_len | key | u64 hash)
 *
 * with the items sorted by (entity, key).
 *
 * database "demand" also, key numUnique + one byte (1: the main body, 2: the DRM body) -> demand
 * body: a frame whose content is, for each item of the header in the header's order (DRM items
 * in the DRM body, the others in the main one), u32 length | canonical form (canon.h). A body
 * sits next to its header, so a changed demand dirties one leaf, not three. Before format 4 the
 * bodies were in databases of their own, "body" and "drm", under numUnique alone.
 *
 * database "change", key u64 big-endian seq of its first change -> change group: a frame whose
 * content is the changes one ingest made to one demand, numbered from that seq on:
 *
 *     18 bytes numUnique | u8 n, numeroExport | u8 n, dateExport | u32 count
 *     | count x (u8 op | u8 entity | u8 key_len | key | u32 n_before | u32 n_after | before
 *                | after)
 *
 * where before/after are canonical forms (length 0: absent).
 *
 * frame: u8 codec (0 raw, 1 zstd, 2 zstd with the store's dictionary) | payload. One frame per
 * demand body and per change group: items of a demand compress far better together than one by
 * one, and cost one zstd call. The dictionary (meta "dict") is trained once per store on its
 * first demands; frames written before it exist stay codec 1.
 *
 * database "seen", key numUnique -> u64 attempt of the run that met the demand.
 *
 * database "scope", key scope -> scope value: the newest export applied to the scope. The key is
 * "<A|R>|<entity code>|<unit>" (active or radiees demands; unit "*" for everywhere,
 * "D<department>" or "C<commune>"), the value (SNE_SCOPE_VALUE_SIZE bytes):
 *
 *     u8 version=1 | i64 dateExport in ms | numeroExport (41 bytes) | dateExport (41 bytes)
 *
 *   Version 0, written before scope values had a version, is the same without its first byte.
 *
 * database "meta", key -> value:
 *   "format"    u64 store format (SNE_STORE_FORMAT)
 *   "seq"       u64 last seq given out
 *   "counts"    SNE_ENTITY__COUNT x u64: items held per entity, in entity order
 *   "demands"   u64 demands held (from format 4: "demand" holds bodies too)
 *   "identity"  32 lowercase hex digits
 *   "dict"      the zstd dictionary (ZDICT format)
 *   "run"       run record: the export being ingested, or the last one
 *
 *     u8 version=2 | u8 state (1 started, 3 done) | u8 radiees (0 or 1) | u8 location kind
 *     | u64 attempt | i64 dateExport in ms | u32 entities (bit set) | u32 n_locations
 *     | numeroExport (41 bytes) | dateExport (41 bytes) | n_locations x location code (8 bytes)
 *     | u8 profondeurDrm | u32 dernierePeriodeDrm (month number, 0: none)
 *
 *     Versions 0 and 1, written before run records had a version, are the same without their
 *     first byte, so they begin with the state (1 or 3, never 2); version 0 also lacks the last
 *     5 bytes (it was written before the DRM window was kept) and reads as an export without one.
 *   "note:<name>"  a note kept for the layers above the store (store.h). The sync job's note is
 *     text, one "key=value\n" line per key, every key in every note, values on one line each:
 *
 *     version=1 | phase=requested|ready|ingested | server= | request= | numero= | taille=
 *     | sha256= | url= | dateExport=
 *
 *     A note without one of these keys, or without the line break ending its last line, was cut
 *     and is no note. A decoder skips the keys it does not know: a key that older builds may
 *     ignore can be added without a new version. */
#ifndef SNE_CODEC_H
#define SNE_CODEC_H

#include "../common/buffer.h"
#include "../common/schema.h"
#include "../model/model.h"
#include "snesync.h" /* sne_op */

#include <stdbool.h>
#include <stdint.h>
#include <zstd.h>

/* Store formats: 2, DRM items in a body of their own; 3, the run record and the scope values
 * carry a version byte; 4, the bodies beside their header in "demand". The oldest one still read
 * is read as it is (its records are their older versions, its bodies in their own databases) and
 * brought to SNE_STORE_FORMAT at its first writable open (store_migrate.c). */
#define SNE_STORE_FORMAT        4
#define SNE_STORE_FORMAT_OLDEST 2
#define SNE_HEADER_VERSION      1

/* Widths of the fixed string fields (NUL-padded, so one byte more than the longest value). They
 * are stored: a model size that outgrows them changes the layouts that hold them. */
#define SNE_STORED_NUMERO   41 /* numeroExport */
#define SNE_STORED_DATE     41 /* dateExport */
#define SNE_STORED_LOCATION 8  /* a department or commune code */
_Static_assert(SNE_STORED_NUMERO == SNE_NUMERO_MAX + 1, "export numbers fit their stored field");
_Static_assert(SNE_STORED_DATE == SNE_DATE_MAX + 1, "export dates fit their stored field");
_Static_assert(SNE_STORED_LOCATION == SNE_LOCATION_CODE_MAX + 1, "location codes fit theirs");

/* Keys of the meta database. */
#define SNE_META_FORMAT   "format"
#define SNE_META_SEQ      "seq"
#define SNE_META_COUNTS   "counts"
#define SNE_META_DEMANDS  "demands"
#define SNE_META_IDENTITY "identity"
#define SNE_META_DICT     "dict"
#define SNE_META_RUN      "run"
#define SNE_META_NOTE     "note:" /* followed by the note's name */

/* An item reference in a decoded header; `key` borrows from the decoded value. */
typedef struct sne_item_ref {
    sne_entity entity;
    const char *key;
    size_t key_len;
    uint64_t hash;
} sne_item_ref;

/* A decoded demand header. Pointers borrow from the bytes it was decoded from. */
typedef struct sne_header {
    bool radiee;
    const char *date_modification;
    size_t date_len;
    size_t n_communes;
    const char *communes; /* n_communes x SNE_COMMUNE_LEN bytes, not NUL-terminated */
    size_t n_items;
    sne_item_ref *items; /* owned by the caller's sne_header_scratch */
} sne_header;

/* Reusable storage for decoded item references. */
typedef struct sne_header_scratch {
    sne_item_ref *items;
    size_t alloc;
} sne_header_scratch;

void sne_header_scratch_free(sne_header_scratch *s);
sne_err sne_header_decode(const uint8_t *v, size_t n, sne_header_scratch *scratch, sne_header *h);
/* Appends the encoding of `h` to `out`. */
sne_err sne_header_encode(const sne_header *h, sne_buf *out);

/* One change inside a group. Pointers borrow from the group's bytes (or the caller's). */
typedef struct sne_change_entry {
    sne_op op;
    sne_entity entity;
    const char *key;
    size_t key_len;
    const uint8_t *before; /* canonical form, NULL when absent */
    size_t before_len;
    const uint8_t *after;
    size_t after_len;
} sne_change_entry;

/* Starts a group in `out` (replacing its content) with count 0. */
sne_err sne_group_begin(sne_buf *out, const char *num, const char *numero, size_t numero_len,
                        const char *date, size_t date_len);
/* Appends one change and increments the group's count. */
sne_err sne_group_add(sne_buf *out, const sne_change_entry *e);
uint32_t sne_group_count(const sne_buf *group);

/* Reads a group's changes in order. Pointers borrow from the bytes given to open. */
typedef struct sne_group_reader {
    const uint8_t *p;
    const uint8_t *end;
    uint32_t remaining;
    char num_unique[SNE_NUM_UNIQUE_LEN + 1];
    const char *numero;
    size_t numero_len;
    const char *date_export;
    size_t date_len;
} sne_group_reader;

sne_err sne_group_open(sne_group_reader *r, const uint8_t *raw, size_t n);
/* 1: a change was read into `e`; 0: the group ended cleanly; -1: corrupt. */
int sne_group_next(sne_group_reader *r, sne_change_entry *e);

/* Appends one item to a demand body's content. */
sne_err sne_body_add(sne_buf *out, const uint8_t *canon, size_t n);
/* Splits a body's content into exactly `n` items (items[i], lens[i] borrow from `raw`). */
sne_err sne_body_split(const uint8_t *raw, size_t len, size_t n, const uint8_t **items,
                       size_t *lens);

/* Frame coding with reusable zstd contexts. */
typedef struct sne_frame_codec {
    ZSTD_CCtx *cctx;   /* owned */
    ZSTD_DCtx *dctx;   /* owned */
    ZSTD_CDict *cdict; /* owned, NULL until a dictionary is loaded */
    ZSTD_DDict *ddict; /* owned, likewise */
    unsigned dict_id;
    int level;
    size_t max_content; /* largest content a frame may decode to */
} sne_frame_codec;

sne_err sne_frame_codec_init(sne_frame_codec *c, int level, size_t max_content);
/* Loads a dictionary (ZDICT format, copied): later frames are made with it. */
sne_err sne_frame_codec_load_dict(sne_frame_codec *c, const void *dict, size_t n);
void sne_frame_codec_free(sne_frame_codec *c);
/* Replaces `out` with the frame of `content`: zstd when it saves at least 1/8. */
sne_err sne_frame_encode(sne_frame_codec *c, const uint8_t *content, size_t n, sne_buf *out);
/* Replaces `out` with the content held in `frame`. SNE_ERR_CORRUPT if it does not decode. */
sne_err sne_frame_decode(sne_frame_codec *c, const uint8_t *frame, size_t n, sne_buf *out);

/* Little-endian and big-endian integer helpers shared by the store. */
static inline void sne_put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline uint32_t sne_get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void sne_put_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline uint64_t sne_get_u64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}
static inline void sne_put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline uint64_t sne_get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- meta "counts" ---- */

#define SNE_COUNTS_SIZE (8 * SNE_ENTITY__COUNT)
void sne_counts_encode(const uint64_t counts[SNE_ENTITY__COUNT], uint8_t out[SNE_COUNTS_SIZE]);
/* False, with `counts` zeroed, when `v` is not SNE_COUNTS_SIZE bytes (counted with another entity
 * table): the counts then start again from zero. */
bool sne_counts_decode(const uint8_t *v, size_t n, uint64_t counts[SNE_ENTITY__COUNT]);

/* ---- database "taken": the instant a unit read took a demand (store_taken.c) ---- */

#define SNE_TAKEN_SIZE      9
#define SNE_TAKEN_TOMBSTONE 0x01 /* flags: the read deleted the demand */

/* The value of a demand's entry: the read's dateExport in milliseconds (i64, little-endian),
 * then one byte of flags. */
void sne_taken_encode(int64_t ms, bool tombstone, uint8_t out[SNE_TAKEN_SIZE]);
/* False when `v` is not SNE_TAKEN_SIZE bytes (a damaged entry). */
bool sne_taken_decode(const uint8_t *v, size_t n, int64_t *ms, bool *tombstone);

/* ---- meta "run": the run record ---- */

#define SNE_RUN_VERSION 2

/* The values are stored (u8 state): 2 is never one, since it marks a versioned record. */
typedef enum sne_run_state {
    SNE_RUN_NONE = 0, /* no run recorded: never stored */
    SNE_RUN_STARTED = 1,
    SNE_RUN_DONE = 3
} sne_run_state;

/* The export being ingested, or the last one, as recorded in meta "run". */
typedef struct sne_run {
    sne_run_state state;
    uint64_t attempt; /* incremented each time an ingest (re)starts: the seen set's mark */
    char numero[SNE_STORED_NUMERO];
    char date_export[SNE_STORED_DATE];
    int64_t date_ms;
    sne_entity_set entities;
    bool radiees;
    sne_location_kind location;
    size_t n_locations;
    char (*locations)[SNE_STORED_LOCATION]; /* the caller's, room for SNE_MAX_LOCATIONS codes */
    unsigned profondeur_drm;                /* the export's DRM window, as in its header */
    uint32_t derniere_periode_drm;
} sne_run;

/* Replaces `out` with the record of `r` (version SNE_RUN_VERSION). SNE_ERR_LIMIT when a field
 * does not fit its layout. */
sne_err sne_run_encode(const sne_run *r, sne_buf *out);
/* Reads a record of any version into `r`, whose `locations` receives the codes. SNE_ERR_CORRUPT,
 * with `r` untouched, when `v` is no run record. */
sne_err sne_run_decode(const uint8_t *v, size_t n, sne_run *r);

/* ---- database "scope" ---- */

#define SNE_SCOPE_VERSION    1
#define SNE_SCOPE_VALUE_SIZE (1 + 8 + SNE_STORED_NUMERO + SNE_STORED_DATE)
#define SNE_SCOPE_KEY_MAX    63 /* bytes of a key read: "R|", entity code, "|", unit are fewer */
#define SNE_SCOPE_UNIT_MAX   (1 + SNE_LOCATION_CODE_MAX) /* bytes of a unit: "*", "D38", ... */

/* A scope's key, decoded. */
typedef struct sne_scope_key {
    bool radiees;
    sne_entity entity;
    char unit[SNE_SCOPE_UNIT_MAX + 1];
} sne_scope_key;

/* Writes the key of `k` with its NUL into `out`; returns its length, 0 when it does not fit. */
size_t sne_scope_key_encode(const sne_scope_key *k, char out[SNE_SCOPE_KEY_MAX + 1]);
/* SNE_ERR_CORRUPT when `v` is no scope key (or names an entity this build does not know). */
sne_err sne_scope_key_decode(const uint8_t *v, size_t n, sne_scope_key *k);

/* The newest export applied to a scope. */
typedef struct sne_scope_value {
    int64_t date_ms;
    char numero[SNE_STORED_NUMERO];
    char date_export[SNE_STORED_DATE];
} sne_scope_value;

/* SNE_ERR_LIMIT when a string does not fit its field. */
sne_err sne_scope_value_encode(const sne_scope_value *sv, uint8_t out[SNE_SCOPE_VALUE_SIZE]);
/* Reads a value of any version. SNE_ERR_CORRUPT when `v` is none. */
sne_err sne_scope_value_decode(const uint8_t *v, size_t n, sne_scope_value *sv);

/* ---- meta "note:<job>": the sync job's pending export (sync.c) ---- */

#define SNE_NOTE_MAX          (64 * 1024) /* bytes of any note's value */
#define SNE_SYNC_NOTE_VERSION 1
#define SNE_SYNC_REQUEST_MAX  (SNE_NOTE_MAX / 2) /* bytes of the request, NUL included */

typedef enum sne_sync_note_phase {
    SNE_NOTE_NONE = 0, /* no export pending: never stored */
    SNE_NOTE_REQUESTED,
    SNE_NOTE_READY,
    SNE_NOTE_INGESTED
} sne_sync_note_phase;

/* The export a sync job is about, and how far it went. */
typedef struct sne_sync_note {
    sne_sync_note_phase phase;
    char server[1024];                  /* the server it was requested from */
    char request[SNE_SYNC_REQUEST_MAX]; /* the request's JSON */
    char numero[SNE_STORED_NUMERO];
    int64_t taille; /* the archive's size, -1 until ready */
    char sha256[65];
    char url[512];        /* where to download it, "" for the default path */
    char date_export[40]; /* as the export's status gave it (status_json.h) */
} sne_sync_note;

/* Replaces `out` with the text of `nt`. SNE_ERR_INVALID when the note is not one the decoder would
 * read back (no phase or export number; ready or ingested without the size and SHA-256; a value
 * holding a line break). */
sne_err sne_sync_note_encode(const sne_sync_note *nt, sne_buf *out);
/* Reads a note. SNE_ERR_CORRUPT, with `nt` cleared (phase SNE_NOTE_NONE), when `text` is no note
 * of a version this build reads, was cut, or lacks what its phase needs; a value too long for its
 * field reads as absent. */
sne_err sne_sync_note_decode(sne_sync_note *nt, const void *text, size_t n);

#endif
