/* snesync.h: the engine's public interface, the one header a program using libsnesync includes.
 *
 * snesync keeps a local store (LMDB) equal to the national register of social housing demands
 * (SNE) from its bulk export archives, and keeps a change log of what each archive changed, for
 * an information system (SI) to follow. This header needs only the standard C library's headers:
 * the libraries the engine is built on (zstd, LMDB, libxml2, libarchive, libcurl, libpq) are its
 * own business.
 *
 * How to use (examples/follow_changes.c is a complete program):
 *     sne_error err;
 *     sne_store *store;
 *     sne_store_options so = {.writable = true, .create = true};
 *     if (sne_store_open(&store, "snesync.store", &so, &err)) ...;     // err.message says why
 *     sne_ingest_options io;
 *     sne_ingest_options_default(&io);
 *     sne_ingest(store, read_fn, read_ctx, &io, &summary, &err);       // archive -> store
 *     sne_store_changes(store, since_seq, 0, on_change, ctx);         // the change log, in order
 *     sne_render_json(change->after, change->after_len, &json);       // an item as JSON
 *     sne_pg_apply(store, &pg_options, &pg_summary, &err);             // to PostgreSQL
 *     sne_store_close(store);
 *
 * Conventions that hold for every declaration below unless its comment says otherwise:
 *   - Errors: a function that can fail returns an sne_err, SNE_OK (0) being success. The detail
 *     is in the sne_error the caller passes (`err`: not NULL) or, for functions that take none,
 *     in the handle's last error (sne_store_error()). Messages name places (member, line,
 *     demand number, database) and never the personal data being processed.
 *   - Ownership: strings and structs passed in are borrowed for the call only; options structs
 *     are copied. Pointers handed to a callback are borrowed until the callback returns: copy
 *     what must outlive it. A handle made by _new/_open is the caller's, freed by the matching
 *     _free/_close, which accept NULL.
 *   - Threads: a handle is used by one thread at a time; distinct handles may be used by
 *     distinct threads at once, but a process opens a given store once at a time (LMDB's rule: a
 *     second environment on the same files in one process breaks its locks). Several processes
 *     may read a store while one writes it. Functions without a handle may be called from any
 *     thread on distinct arguments.
 *   - Callbacks run on the calling thread unless said otherwise; a callback that returns
 *     non-zero stops the walk, and the function returns that code.
 *
 * Compatibility: the library's soname changes whenever a struct below changes its layout or an
 * enum its values (adding an entity to the export format changes SNE_ENTITY__COUNT, hence
 * sne_store_stats). */
#ifndef SNESYNC_H
#define SNESYNC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks what the shared library exports; everything else in it is hidden. */
#if defined(__GNUC__)
#define SNESYNC_API          __attribute__((visibility("default")))
#define SNESYNC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SNESYNC_API
#define SNESYNC_PRINTF(f, a)
#endif

/* ---- version ------------------------------------------------------------------------------ */

/* The library's version, "MAJOR.MINOR.PATCH" (static storage). A program built against this
 * header may be running with a newer library of the same soname. */
SNESYNC_API const char *snesync_version(void);

/* ---- errors ------------------------------------------------------------------------------- */

typedef enum sne_err {
    SNE_OK = 0,
    SNE_ERR_NOMEM,      /* allocation failed */
    SNE_ERR_LIMIT,      /* a configured size, depth or count limit was exceeded */
    SNE_ERR_IO,         /* read/write/open of a file failed */
    SNE_ERR_ARCHIVE,    /* the archive is not a readable gzip tar, or is truncated */
    SNE_ERR_XML,        /* a document is not well-formed, or uses a forbidden construct (DTD) */
    SNE_ERR_INVALID,    /* well-formed but violates the export contract */
    SNE_ERR_INCOMPLETE, /* an export that cannot be proven complete (parts, counts, sha256) */
    SNE_ERR_STALE,      /* the export is older than the data held for its scope */
    SNE_ERR_STORE,      /* LMDB reported an error */
    SNE_ERR_BUSY,       /* another process holds the store's writer lock */
    SNE_ERR_USAGE,      /* a caller passed arguments that make no sense */
    SNE_ERR_NOTFOUND,   /* the thing asked for does not exist */
    SNE_ERR_CORRUPT,    /* stored data does not decode: the store was damaged */
    SNE_ERR_HTTP,       /* the server answered with a final error */
    SNE_ERR_NETWORK,    /* transport failure that retries did not cure */
    SNE_ERR_RANGE,      /* a change log cursor before the first change held or after the last */
    SNE_ERR_MISMATCH,   /* a database mirroring the store does not follow on from it (pruned
                           past, another store, ahead of it, a newer schema) */
    SNE_ERR_DATABASE,   /* a database failed or could not be reached (nothing half-applied) */
    SNE_ERR_BEHIND,     /* a store too far behind to follow the movements: a full sync first */
    SNE_ERR__COUNT
} sne_err;

/* The detail of an error. `code` is SNE_OK when there is none. */
typedef struct sne_error {
    sne_err code;
    int lib_code;      /* the underlying library's own code (MDB rc, libarchive errno, libxml2
                          error number, CURLcode, HTTP status), or 0 */
    char message[512]; /* human-readable, NUL-terminated; never holds personal data */
} sne_error;

/* A static string describing `code`; never NULL. */
SNESYNC_API const char *sne_strerror(sne_err code);

/* ---- buffers ------------------------------------------------------------------------------ */

/* A growable byte buffer with an explicit cap, which the engine writes its JSON into. The buffer
 * owns `data` (free it with sne_buf_free). Growth past `cap` fails with SNE_ERR_LIMIT and leaves
 * the content as it was, so a hostile input can never make a buffer grow without bound. `data` is
 * NUL-terminated once anything was appended (the NUL is not counted in `len`). Start one with
 * sne_buf_init (a zeroed struct is an empty buffer of cap 0). */
typedef struct sne_buf {
    uint8_t *data; /* owned; NULL until the first append */
    size_t len;
    size_t alloc;
    size_t cap; /* the most `len` may ever be */
} sne_buf;

SNESYNC_API void sne_buf_init(sne_buf *b, size_t cap);
SNESYNC_API void sne_buf_free(sne_buf *b);  /* accepts NULL and a zeroed buffer */
SNESYNC_API void sne_buf_reset(sne_buf *b); /* len = 0, keeps the memory for reuse */
SNESYNC_API sne_err sne_buf_append(sne_buf *b, const void *p, size_t n);
SNESYNC_API sne_err sne_buf_append_byte(sne_buf *b, uint8_t c);
SNESYNC_API sne_err sne_buf_append_str(sne_buf *b, const char *s);
SNESYNC_API sne_err sne_buf_printf(sne_buf *b, const char *fmt, ...) SNESYNC_PRINTF(2, 3);
/* Appends `s` as a JSON string literal, quotes included. Invalid UTF-8 is replaced by U+FFFD. */
SNESYNC_API sne_err sne_buf_append_json_string(sne_buf *b, const uint8_t *s, size_t n);

/* ---- the model: entities, sizes ----------------------------------------------------------- */

/* The entities of the export format, in the order of schema/entities.def (the engine checks at
 * build time that the two agree). The values are stored: they never change meaning. */
typedef enum sne_entity {
    SNE_ENTITY_CERFA,
    SNE_ENTITY_DALO,
    SNE_ENTITY_EVT,
    SNE_ENTITY_CONT,
    SNE_ENTITY_ATTRIB,
    SNE_ENTITY_PRIO,
    SNE_ENTITY_COTA,
    SNE_ENTITY_PJ,
    SNE_ENTITY_DRM,
    SNE_ENTITY__COUNT
} sne_entity;

/* A set of entities, bit (1 << entity). */
typedef unsigned sne_entity_set;
#define SNE_ENTITY_ALL ((sne_entity_set)((1u << SNE_ENTITY__COUNT) - 1))

typedef struct sne_entity_info {
    const char *code;  /* "CERFA" */
    const char *block; /* element under <demande> */
    const char *item;  /* element of one item */
    const char *key;   /* key element of a keyed item, "" for single-item entities */
} sne_entity_info;

/* The row of `e` (a valid enumerator); static storage. */
SNESYNC_API const sne_entity_info *sne_entity_info_of(sne_entity e);
static inline bool sne_entity_is_keyed(sne_entity e)
{
    return sne_entity_info_of(e)->key[0] != '\0';
}
/* The entity whose code is the `len` bytes at `code` ("CERFA"), or -1. */
SNESYNC_API int sne_entity_by_code(const char *code, size_t len);

#define SNE_NUM_UNIQUE_LEN 18 /* characters of a demand number, [0-9A-Z] */
#define SNE_NUMERO_MAX     40 /* characters of an export number, [0-9A-Za-z_-] */
#define SNE_DATE_MAX       40 /* bytes of an xs:dateTime value */

/* ---- the store ---------------------------------------------------------------------------- */

/* A store: one directory holding the demands, their items and the change log. Readers never block
 * and see only committed state; one process at a time writes (an exclusive lock). */
typedef struct sne_store sne_store;

typedef struct sne_store_options {
    bool writable;
    bool create;       /* with writable: make the store when DIR holds none (DIR's parent must
                          exist); otherwise a missing store is SNE_ERR_NOTFOUND */
    uint64_t map_size; /* 0: $SNESYNC_MAP_SIZE, else 64 GiB, halved while the address space
                          cannot hold it (address space only: the file grows as used) */
    int zstd_level;    /* 0: 3 */
    size_t max_demand; /* largest canonical content of one demand (0: 64 MiB) */
} sne_store_options;

/* Opens the store in `dir`, creating it (0700 directory, 0600 files) when the options ask.
 * SNE_ERR_NOTFOUND when there is no store there (a missing DIR, or one without a data file),
 * SNE_ERR_IO when DIR cannot be reached or made (permissions), SNE_ERR_BUSY when another process
 * writes to it (or is creating it) and a writer was asked for. On success *out is the caller's
 * (sne_store_close); on failure it is NULL. */
SNESYNC_API sne_err sne_store_open(sne_store **out, const char *dir, const sne_store_options *opt,
                                   sne_error *err);
/* Aborts any open write batch and ends any read pin. Accepts NULL. */
SNESYNC_API void sne_store_close(sne_store *s);
/* The last error of `s`, for the functions that take no sne_error. Borrowed until the next call
 * on `s`. */
SNESYNC_API const sne_error *sne_store_error(const sne_store *s);

/* The store's identity: 32 hex digits drawn at random when it was created, so that a consumer
 * can tell a rebuilt store from the one its cursor belongs to. A store made before identities
 * existed gets one on its next writable open; until then this is "". Borrowed until close. */
SNESYNC_API const char *sne_store_identity(const sne_store *s);
/* The change log's extent: `last` is the last seq given out (0 in a new store), `first` the
 * first seq held, or last + 1 when none is held (a new store, or everything pruned). A cursor
 * (the last seq a consumer applied) is valid from first - 1 to last. */
SNESYNC_API sne_err sne_store_seq_range(sne_store *s, uint64_t *first, uint64_t *last);

typedef enum sne_op { SNE_OP_CREATE = 1, SNE_OP_UPDATE = 2, SNE_OP_DELETE = 3 } sne_op;
/* "create", "update", "delete"; static storage. */
SNESYNC_API const char *sne_op_name(sne_op op);

/* A change as read back. Everything is borrowed until the callback returns; before and after
 * are canonical forms (give them to sne_render_json), NULL when absent: a create has no
 * before, a delete no after. */
typedef struct sne_change {
    uint64_t seq;
    sne_op op;
    sne_entity entity;
    const char *num_unique; /* NUL-terminated */
    const char *key;        /* the item's key ("" for single-item entities), key_len bytes */
    size_t key_len;
    const char *numero; /* the export that made the change, numero_len bytes */
    size_t numero_len;
    const char *date_export; /* its dateExport, date_len bytes */
    size_t date_len;
    const uint8_t *before;
    size_t before_len;
    const uint8_t *after;
    size_t after_len;
} sne_change;

typedef sne_err (*sne_change_fn)(void *ctx, const sne_change *c);
/* Calls fn for each change with seq > since, in seq order, at most `limit` (0: no limit).
 * SNE_ERR_RANGE when `since` is outside the cursors sne_store_seq_range() allows: below
 * first - 1 (changes the consumer has not seen were pruned) or past last (the store is not the
 * one the consumer read: rebuilt or replaced). The walk reads one snapshot. */
SNESYNC_API sne_err sne_store_changes(sne_store *s, uint64_t since, uint64_t limit,
                                      sne_change_fn fn, void *ctx);
/* Deletes the changes with seq <= upto (after consumers have applied them). Needs a writable
 * store; *pruned counts them. */
SNESYNC_API sne_err sne_store_prune(sne_store *s, uint64_t upto, uint64_t *pruned);

/* What the store holds of a demand besides its items. */
typedef struct sne_demand_state {
    bool radiee;                              /* etatDemande RADIEE, else ACTIVE */
    char date_modification[SNE_DATE_MAX + 1]; /* dateDerniereModification, "" when absent */
    size_t n_items;                           /* items held (0: listed by a scope's export
                                                 without data) */
} sne_demand_state;

/* Fills *out with what the store holds of demand `num` (NUL-terminated numUnique);
 * SNE_ERR_NOTFOUND when it holds no such demand. */
SNESYNC_API sne_err sne_store_demand_state(sne_store *s, const char *num, sne_demand_state *out);

/* One stored item, decoded. Borrowed until the callback returns. */
typedef struct sne_stored_item {
    sne_entity entity;
    const char *key; /* "" for single-item entities, key_len bytes */
    size_t key_len;
    const uint8_t *canon; /* its canonical form (sne_render_json) */
    size_t canon_len;
} sne_stored_item;

typedef sne_err (*sne_item_fn)(void *ctx, const sne_stored_item *it);
/* Calls fn for every item of demand `num` in (entity, key) order (not at all for a demand held
 * without items); SNE_ERR_NOTFOUND if the store holds no such demand. */
SNESYNC_API sne_err sne_store_read_demand(sne_store *s, const char *num, sne_item_fn fn, void *ctx);

/* Pins one read transaction: until sne_store_read_end(), every read of `s` (the seq range, the
 * changes, demands, stats and scopes) sees one snapshot, the committed state at the pin,
 * whatever writers commit meanwhile: for a consumer that reads the change log and the demands'
 * state together. A pin keeps the pages of its snapshot from being reused by writers, so end it
 * soon (the store's file grows while one is held during large writes).
 * SNE_ERR_USAGE when a pin is held already, or a write batch is open on `s`. */
SNESYNC_API sne_err sne_store_read_begin(sne_store *s);
/* Ends the pin, if any. Accepts NULL. sne_store_close() ends it too. */
SNESYNC_API void sne_store_read_end(sne_store *s);

typedef struct sne_store_stats {
    uint64_t demands;
    uint64_t items[SNE_ENTITY__COUNT];
    uint64_t first_seq, last_seq; /* as sne_store_seq_range() */
    uint64_t changes;             /* changes held (not yet pruned) */
    uint64_t file_bytes;          /* size of the LMDB data file */
    uint64_t map_size;
    bool run_open; /* an ingest was interrupted and not finished */
    char run_export[SNE_NUMERO_MAX + 1];
} sne_store_stats;

SNESYNC_API sne_err sne_store_stats_get(sne_store *s, sne_store_stats *st);

/* `scope` names an export's scope ("A|CERFA|D38": state, entity, location); the strings are
 * NUL-terminated and borrowed until fn returns. */
typedef sne_err (*sne_scope_fn)(void *ctx, const char *scope, const char *numero,
                                const char *date_export);
/* Calls fn for each scope with the newest export applied to it. */
SNESYNC_API sne_err sne_store_scopes(sne_store *s, sne_scope_fn fn, void *ctx);

/* ---- items as JSON ------------------------------------------------------------------------ */

/* The JSON view of a canonical item, and the list of what changed between two items. This is the
 * contract the SI integrators code against; it is implemented exactly as written here.
 *
 * The JSON value of an element node N is:
 *   1. if N's name is a sequence container (schema/sequences.def): a JSON array of the values of
 *      its child elements in document order (its own attributes and text, which the schema never
 *      gives it, are ignored);
 *   2. else if N has no attribute and no child element: its text as a JSON string (the
 *      concatenation of its TEXT segments; "" if none);
 *   3. else a JSON object whose members are, in this order: its attributes (name -> string, in the
 *      canonical, sorted order), then "#text" -> string if it has text, then its child elements
 *      grouped by name in order of first appearance: a name that occurs once maps to that child's
 *      value; a name that occurs more than once maps to an array of the values in document order.
 * The JSON of an item is the value of its root node (the root's name does not appear). Example:
 *   <evenement><idEvenement>A1</idEvenement><typeEvenement code="RECTIF"/></evenement>
 *   -> {"idEvenement":"A1","typeEvenement":{"code":"RECTIF"}}
 * Strings are escaped as sne_buf_append_json_string() does: `"` and `\` backslashed, bytes below
 * 0x20 as \u00XX, invalid UTF-8 replaced by U+FFFD, everything else (including `/`, `<`, `&` and
 * non-ASCII UTF-8) written as is. The output is compact (no whitespace).
 *
 * An attribute and a child element with the same name (XML allows it; the export never does it)
 * give an object with two members of that name, both written, attribute first.
 *
 * Changed paths: the leaves of an item are exactly the JSON strings of the mapping above, each
 * named by its RFC 6901 pointer relative to the item's JSON value, built from member names and
 * array indices (`~` escaped as `~0`, `/` as `~1`): "/personnePhysique/demandeur/nom",
 * "/typeEvenement/code", "/logementRecherche/listeLocalisationSouhaitee/2/commune/code", "/#text";
 * an item whose root is a plain text element has one leaf, "". A leaf changed when it is present
 * on one side only or when its bytes differ (the canonical bytes are compared, before any U+FFFD
 * replacement). A change of shape reports every leaf of both shapes: a member that turns from
 * "x" into ["x","y"] (a second occurrence appeared) reports "/m", "/m/0" and "/m/1".
 *
 * Ownership and limits: `canon`, `before` and `after` are borrowed for the call only. Output is
 * appended to the caller's `out` through the sne_buf API only, so `out`'s cap holds: a result that
 * does not fit returns SNE_ERR_LIMIT. On any error `out` is truncated back to its length at entry
 * (its allocation may have grown). Work memory is proportional to the item (about 90 bytes per
 * element), taken from the stack for small items (8 KiB per item) and from one malloc per item
 * otherwise, and freed before return; the changed-path list also holds the changed pointers
 * themselves, bounded by about twice the room left in `out`. Items larger than 4 GiB are refused
 * with SNE_ERR_LIMIT. The functions keep no state and are safe to call from several threads on
 * distinct buffers.
 *
 * Validity: the store only ever hands out valid canonical forms; bytes that are not one (a
 * damaged store) are SNE_ERR_CORRUPT. */

/* Appends the JSON value of the canonical item `canon` (len bytes) to `out`.
 * SNE_ERR_CORRUPT if canon is not a valid canonical form; SNE_ERR_LIMIT/NOMEM from the buffer. */
SNESYNC_API sne_err sne_render_json(const uint8_t *canon, size_t len, sne_buf *out);

/* Appends to `out` a JSON array of the RFC 6901 pointers (relative to the item's JSON value) of the
 * string leaves that differ between the two items (value differs, or present on one side only),
 * sorted bytewise, without duplicates. Equal items give `[]`.
 * SNE_ERR_CORRUPT if either input is not a valid canonical form; SNE_ERR_LIMIT/NOMEM otherwise. */
SNESYNC_API sne_err sne_render_changed_paths(const uint8_t *before, size_t blen,
                                             const uint8_t *after, size_t alen, sne_buf *out);

/* ---- reading archives: ingest and validation ---------------------------------------------- */

/* Raw source of archive bytes: returns bytes read (>0, at most n), 0 at end, -1 on error (errno
 * set). It may return fewer bytes than asked at any time. Never called again once it returned 0.
 * sne_ingest() calls it from the calling thread at first, then from a thread of its own: never
 * two calls at once, all of them before sne_ingest() returns. */
typedef ptrdiff_t (*sne_unpack_read_fn)(void *ctx, void *buf, size_t n);

/* Caps on what an archive may unpack to: a gzip bomb stops at the cap with SNE_ERR_LIMIT. */
typedef struct sne_unpack_limits {
    uint64_t max_member_bytes; /* decompressed bytes of one member; 0 = default 8 GiB. A member
                                  whose tar header announces more is refused. */
    uint64_t max_total_bytes;  /* decompressed bytes of the whole tar stream (members, headers,
                                  padding and skipped members alike: it bounds the work of
                                  decompression); 0 = default 256 GiB */
    uint32_t max_members;      /* archive entries, ignored ones included; 0 = default 100000 */
} sne_unpack_limits;

/* Caps on one XML document: past one, SNE_ERR_LIMIT naming the member, line and demand. */
typedef struct sne_parse_limits {
    size_t max_text;   /* bytes of one text or attribute value */
    size_t max_item;   /* canonical bytes of one item */
    size_t max_demand; /* canonical bytes of all items of one demand */
    size_t max_items;  /* items in one demand */
    size_t max_depth;  /* element nesting in a document */
    size_t max_name;   /* bytes of an element or attribute name */
} sne_parse_limits;

/* The defaults: 256 KiB text, 4 MiB item, 32 MiB demand, 100000 items, depth 64, names 256. */
SNESYNC_API void sne_parse_limits_default(sne_parse_limits *l);

/* Counters of one ingest, added to as demands are applied and swept. */
typedef struct sne_apply_stats {
    uint64_t demands;
    uint64_t items_unchanged;
    uint64_t creates, updates, deletes;
    uint64_t demands_swept;      /* absent demands of the scope whose items were deleted (for
                                    a unit read: a demand held that left the scope) */
    uint64_t demands_newer_held; /* left as they are: a unit read took them after this data */
} sne_apply_stats;

typedef struct sne_ingest_progress {
    uint64_t raw_bytes; /* archive bytes consumed */
    uint64_t xml_bytes; /* XML bytes parsed */
    uint64_t demands;
    const char *phase; /* "reading" or "sweeping" */
} sne_ingest_progress;

typedef struct sne_ingest_options {
    bool force;                /* apply even an export older than the data held (SNE_ERR_STALE) */
    size_t batch_demands;      /* demands per transaction at most; 0: 10000 */
    uint64_t batch_dirty;      /* bytes of dirty pages per transaction at most (they are held in
                                  memory until the commit); 0: 16 MiB */
    const char *expect_sha256; /* lowercase hex the archive must hash to, or NULL */
    int64_t expect_size;       /* bytes the archive must have, or -1 */
    const sne_parse_limits *limits;         /* NULL: the defaults */
    const sne_unpack_limits *unpack_limits; /* NULL: the defaults */
    /* Called on the calling thread after a batch is committed, every 16 MiB of XML and at phase
     * changes; may be NULL. */
    void (*progress)(void *ctx, const sne_ingest_progress *p);
    void *progress_ctx;
} sne_ingest_options;

typedef struct sne_ingest_summary {
    char numero[SNE_NUMERO_MAX + 1];
    char date_export[SNE_DATE_MAX + 1];
    sne_entity_set entities;
    bool radiees;
    bool resumed; /* an interrupted run of the same export was continued */
    unsigned parts;
    uint64_t raw_bytes;
    uint64_t xml_bytes;
    uint64_t unrequested; /* demands that carried entities the export did not request */
    char sha256[65];
    sne_apply_stats stats;
} sne_ingest_summary;

SNESYNC_API void sne_ingest_options_default(sne_ingest_options *o);

/* Ingests one export archive (a gzip-compressed tar of XML documents, read through
 * `read`/`read_ctx`) into the writable store `s`, and logs its changes. Nothing is deleted until
 * the archive has been read to its end and proven complete (every part, the counts, and the
 * expected size and sha256 when given); then what the export's scope no longer holds is swept.
 * Killed at any point, the same ingest run again yields the same store and change log. On error
 * the open batch is dropped, nothing is swept, and `err` says what and where. */
SNESYNC_API sne_err sne_ingest(sne_store *s, sne_unpack_read_fn read, void *read_ctx,
                               const sne_ingest_options *o, sne_ingest_summary *sum,
                               sne_error *err);

/* Checks export documents against the XSD (share/snesync/export.xsd), for a person who wants to
 * know whether an archive honours the contract to the letter (ingest does not need it). Streams,
 * so an archive of any size validates in bounded memory. DTDs, entities and the network stay
 * off. */
typedef struct sne_validator sne_validator;

/* Loads and compiles the schema at `xsd_path`. */
SNESYNC_API sne_err sne_validator_new(sne_validator **out, const char *xsd_path, sne_error *err);
SNESYNC_API void sne_validator_free(sne_validator *v); /* accepts NULL */

/* Validates every .xml member of the archive read through `read`. Stops at the first invalid
 * document with its member, line and libxml2's message; *documents counts those validated. */
SNESYNC_API sne_err sne_validate_archive(sne_validator *v, sne_unpack_read_fn read, void *ctx,
                                         unsigned *documents, sne_error *err);

/* ---- the sync job: an export requested from the service, downloaded and ingested ---------- */

/* Time and randomness, injectable for tests. NULL members (or a NULL clock) use the real ones:
 * CLOCK_MONOTONIC, an interruptible sleep, a random source seeded from the clock and pid. */
typedef struct sne_fetch_clock {
    double (*now)(void *ctx);                 /* monotonic seconds */
    void (*sleep)(void *ctx, double seconds); /* wait that long (the real one stops on cancel) */
    uint64_t (*random)(void *ctx);            /* uniform 64-bit values, for the jitter */
    void *ctx;
} sne_fetch_clock;

/* How to reach the export service (exports-api.yaml): TLS 1.2 at least, peer and host verified,
 * no redirects; transient failures (429, 503, 502, 504, the network) are retried with capped
 * exponential backoff and jitter, honouring Retry-After. */
typedef struct sne_fetch_options {
    const char *server;     /* http(s)://host[:port][/prefix]; "/v1.0" is appended unless present */
    const char *cert;       /* client certificate (PEM), or NULL */
    const char *key;        /* its private key (PEM), or NULL */
    const char *cacert;     /* CA bundle that signs the server (PEM), or NULL for the system's */
    const char *token;      /* bearer token, or NULL; borrowed, never copied into a message */
    long connect_timeout;   /* seconds; 0: 30 */
    long low_speed_time;    /* abort a transfer slower than low_speed_limit for this long; 0: 60 */
    long low_speed_limit;   /* bytes per second; 0: 1024 */
    long request_timeout;   /* whole-request cap for the small JSON calls, seconds; 0: 120 */
    unsigned max_attempts;  /* per call, the first included; 0: 8 */
    double backoff_base;    /* seconds before the first retry (then doubled); 0: 1 */
    double backoff_cap;     /* the longest wait between two attempts, Retry-After aside; 0: 60 */
    double max_retry_after; /* a longer Retry-After is an error rather than a wait; 0: 3600 */
    const sne_fetch_clock *clock; /* NULL: the real clock; borrowed for the handle's life */
} sne_fetch_options;

SNESYNC_API void sne_fetch_options_default(sne_fetch_options *o);

/* Checks the options without creating or sending anything (for a caller that wants to refuse
 * bad options before it does anything else): SNE_ERR_USAGE, with why, for a server URL that is
 * not http(s), a token that holds a control character, a key without its certificate, or a
 * token to be sent over plain http to another machine than this one (localhost, 127.0.0.0/8,
 * ::1): it would cross the network in clear. */
SNESYNC_API sne_err sne_fetch_check_options(const sne_fetch_options *o, sne_error *err);

/* The statut of an export on the service. */
typedef enum sne_statut {
    SNE_STATUT_UNKNOWN = 0, /* absent, or a value this version does not know */
    SNE_STATUT_EN_ATTENTE,
    SNE_STATUT_EN_COURS,
    SNE_STATUT_TERMINE,
    SNE_STATUT_ECHEC,
    SNE_STATUT_EXPIRE,
} sne_statut;

/* "EN_ATTENTE"...; "?" for SNE_STATUT_UNKNOWN. Static storage. */
SNESYNC_API const char *sne_statut_name(sne_statut s);

/* A sync job's phases, in order. What a restart after a kill at each one does: POSTED and
 * POLLING pick up the same export (its number is kept in the store), DOWNLOADING and INGESTING
 * replay the bytes already on disk and continue the download from there, RELEASING releases it
 * again. */
typedef enum sne_sync_phase {
    SNE_SYNC_POSTED,      /* an export was requested and its number saved */
    SNE_SYNC_POLLING,     /* one status answer (statut, progression, polls) */
    SNE_SYNC_DOWNLOADING, /* bytes on disk (downloaded, total); from the download thread */
    SNE_SYNC_INGESTING,   /* a batch of demands committed (demands, ingested_bytes) */
    SNE_SYNC_SWEEPING,    /* the archive is verified; absent demands are being deleted */
    SNE_SYNC_RELEASING,   /* ingested; DELETE of the export */
} sne_sync_phase;

/* "posted", "polling"...; static storage. */
SNESYNC_API const char *sne_sync_phase_name(sne_sync_phase p);

typedef struct sne_sync_progress {
    sne_sync_phase phase;
    const char *numero; /* borrowed until the callback returns */
    sne_statut statut;
    int progression; /* -1 when unknown */
    unsigned polls;
    uint64_t downloaded; /* bytes of the archive on disk */
    uint64_t total;      /* its announced size, 0 before TERMINE */
    uint64_t resumed_from;
    uint64_t ingested_bytes; /* archive bytes read by the ingest */
    uint64_t demands;
} sne_sync_progress;

typedef struct sne_sync_options {
    sne_fetch_options fetch;  /* server, TLS, token, timeouts, retries, clock */
    const char *job;          /* names the note and the work sub-directory: "sync", "drm-refresh" */
    sne_entity_set entities;  /* at least one */
    bool radiees;             /* etatDemande RADIEE rather than ACTIVE */
    const char *departements; /* comma-separated codes, or NULL (exclusive with communes) */
    const char *communes;     /* comma-separated INSEE codes, or NULL */
    int profondeur_drm;       /* 1..3 with DRM, 0: not sent (the server's default, 3) */
    const char *work_dir;     /* downloads go to WORK/JOB/ (created 0700) */
    double max_wait;          /* seconds of polling before giving up; 0: 24 h */
    unsigned max_exports;     /* exports requested in one run (ECHEC, EXPIRE); 0: 3 */
    size_t batch_demands;     /* the ingest's transaction size; 0: its default */
    /* Called from this thread, and (SNE_SYNC_DOWNLOADING only) from the download thread: it
     * must be thread-safe. May be NULL. */
    void (*progress)(void *ctx, const sne_sync_progress *p);
    void *progress_ctx;
} sne_sync_options;

SNESYNC_API void sne_sync_options_default(sne_sync_options *o);

typedef struct sne_sync_summary {
    char numero[SNE_NUMERO_MAX + 1];
    bool resumed;               /* a pending export of an earlier run was picked up */
    unsigned exports_requested; /* POSTs made by this run */
    unsigned polls;
    uint64_t archive_bytes;
    uint64_t downloaded_bytes; /* fetched from the server by this run */
    uint64_t resumed_from;     /* bytes already on disk when this run started the download */
    bool ingested;             /* the ingest ran in this run */
    sne_ingest_summary ingest; /* valid when ingested */
    bool released;             /* the export was DELETEd on the server */
    char warning[1024];        /* what did not stop the job, "; " between two: a failed DELETE, an
                                  export replaced and why (ECHEC: the server's code and message) */
    char archive_path[1024];   /* the archive kept on disk, "" if none */
    double seconds;            /* the whole run */
    double seconds_waiting;    /* requesting and polling, until the export was TERMINE */
    double seconds_transfer;   /* downloading and ingesting at once, verification included */
    unsigned retries; /* HTTP attempts repeated after a transient failure, all requests of the run
                         (also when it fails) */
} sne_sync_summary;

/* Runs the job against the writable store `s`: requests an export (or picks up the pending one
 * of the same job and request), polls it, downloads it while ingesting it, verifies its size and
 * sha256 before anything is deleted, then releases it. SNE_ERR_HTTP / SNE_ERR_NETWORK: the
 * server refused or could not be reached (the pending export is kept when it may still be
 * resumed); the ingest's own errors otherwise (the export is released, the bad archive kept as
 * WORK/JOB/EXPORT_n.tar.gz.bad, and the next run asks for a fresh one). */
SNESYNC_API sne_err sne_sync_run(sne_store *s, const sne_sync_options *o, sne_sync_summary *sum,
                                 sne_error *err);

/* sne_sync_run(), stopping at the next safe point once *stop is non-zero (a signal handler may
 * set it; NULL: never), within a second or so: a request, a wait between polls or retries and
 * a transfer are cut at once, the ingest at its next read (its committed batches stay). The note
 * of the pending export is kept, so that the next run resumes the same export, and nothing is
 * released. Returns SNE_ERR_NETWORK ("stopped ...") then, unless the job had ended first (its
 * own result). `stop` is borrowed for the call. */
SNESYNC_API sne_err sne_sync_run_until(sne_store *s, const sne_sync_options *o,
                                       const volatile sig_atomic_t *stop, sne_sync_summary *sum,
                                       sne_error *err);

/* Appends to `out` the DemandeExport JSON the job would POST (a canonical form: entities in
 * schema order, locations sorted and deduplicated). Checks the request: SNE_ERR_USAGE with why. */
SNESYNC_API sne_err sne_sync_request_json(const sne_sync_options *o, sne_buf *out, sne_error *err);

/* ---- follow: the incremental sync, the demands that moved read one by one ----------------- */

/* Between two full syncs, the movements (GDM) of the window since the last one are listed and
 * each demand that moved is read (GET /demandes/{numUnique}) and applied to the store, in the
 * same change log as an ingest. Newer data wins: a demand read after an export's dateExport is
 * left as the read brought it when that older export is ingested. A run killed at any point is
 * run again from the same window (engine/follow.h says how). The scope (entities, state,
 * location, DRM depth) must be the one a full sync filled the store with.
 *
 *     sne_follow_options o;
 *     sne_follow_options_default(&o);
 *     o.fetch.server = url; o.entities = ...; o.departements = "38,26";
 *     sne_follow_run(store, &o, &summary, &err);
 */

typedef struct sne_follow_options {
    sne_fetch_options fetch;  /* server, TLS, token, retries (each reading thread its own) */
    sne_entity_set entities;  /* the scope: at least one entity */
    bool radiees;             /* the scope mirrors RADIEE demands rather than ACTIVE ones */
    const char *departements; /* comma-separated codes, or NULL (exclusive with communes) */
    const char *communes;     /* comma-separated INSEE codes, or NULL */
    unsigned profondeur_drm;  /* 1..3, 0: the server's default (3) */
    unsigned overlap;         /* seconds the window starts before the last one ended; 600 */
    unsigned parallel;        /* reads at once, 1..4; 4 (the service's limit) */
    double min_interval;      /* seconds between two movement sequences; 3600 */
    size_t batch_reads;       /* reads per transaction; 256 */
    /* Called on the calling thread after each batch is committed, with the distinct demands
     * that moved and the reads applied so far; may be NULL. */
    void (*progress)(void *ctx, uint64_t moved, uint64_t applied);
    void *progress_ctx;
} sne_follow_options;

SNESYNC_API void sne_follow_options_default(sne_follow_options *o);

typedef struct sne_follow_summary {
    bool skipped;                /* within min_interval of the last sequence: nothing called */
    double since_last;           /* seconds since the last sequence began (when skipped) */
    char depuis[48], jusque[48]; /* the window asked (UTC xs:dateTime) and the server's end of
                                    it */
    uint64_t movements;          /* listed, a demand moved twice counted twice */
    uint64_t demands_read;       /* distinct demands read */
    uint64_t left_scope;         /* of which out of the scope or unknown (404) */
    sne_apply_stats stats;       /* creates, updates, deletes, unchanged items */
    double seconds, seconds_reading;
    unsigned retries; /* HTTP attempts repeated after a transient failure, the listing's and every
                         reading thread's (also when the run fails) */
} sne_follow_summary;

/* Follows the movements into the writable store `s`. One movements sequence per min_interval: a
 * run within it calls nothing (sum->skipped). Errors: SNE_ERR_BEHIND when the window would start
 * more than 7 days back (the server refuses it) or the store holds no complete export of the
 * scope: run a full sync first; SNE_ERR_USAGE (a bad scope), SNE_ERR_HTTP / SNE_ERR_NETWORK (the
 * server), SNE_ERR_INVALID and the like (a read that is not a valid document), the store's. */
SNESYNC_API sne_err sne_follow_run(sne_store *s, const sne_follow_options *o,
                                   sne_follow_summary *sum, sne_error *err);

/* sne_follow_run(), stopping once *stop is non-zero (a signal handler may set it; NULL: never),
 * within a second or so: the listing and the reads under way are cut, the reads applied are
 * committed, and the window's end is not recorded, so that the next run reads the window again
 * (nothing is lost; the reads it repeats change nothing). Returns SNE_ERR_NETWORK ("stopped
 * ...") then, unless every read was committed first (the run's own result). `stop` is borrowed
 * for the call. */
SNESYNC_API sne_err sne_follow_run_until(sne_store *s, const sne_follow_options *o,
                                         const volatile sig_atomic_t *stop, sne_follow_summary *sum,
                                         sne_error *err);

/* ---- the PostgreSQL sink ------------------------------------------------------------------ */

/* A database kept equal to the store, exactly once, through libpq.
 *
 *     sne_pg_options o;
 *     sne_pg_options_default(&o);
 *     o.conninfo = "host=db dbname=si";   // NULL: libpq's environment (PGHOST...) and ~/.pgpass
 *     sne_pg_summary sum;
 *     sne_pg_apply(store, &o, &sum, &err);   // the changes the database has not applied yet
 *     sne_pg_applied(&o, sne_store_identity(store), &seq, &err);   // how far it is, for prune
 *
 * In the database, schema o.schema (default "sne") holds:
 *   item                  every item: (entity, num_unique, item_key, item jsonb), partitioned by
 *                         entity into one table per entity, named by its code in lower case
 *                         (cerfa, dalo, evt, ... from schema/entities.def), each with the primary
 *                         key (num_unique, item_key); item_key is '' for single-item entities and
 *                         item is the JSON of the item as sne_render_json() writes it;
 *   demande               one row per demand holding at least one item: num_unique (primary key),
 *                         etat_demande (ACTIVE or RADIEE), date_derniere_modification
 *                         (timestamptz; NULL when the export's value is no xs:dateTime);
 *   snesync_state         one row: the schema's version, the identity of the store it follows,
 *                         the last seq applied, the digest of the store's scopes when demande was
 *                         last compared with every demand, and when the seq last moved.
 *
 * The layout follows entities.def: a run adds to an older schema the tables of entities it lacks.
 *
 * Exactly once: changes are applied in batches, each in one transaction that also moves the last
 * seq; a kill or a lost connection leaves the database at a batch boundary and the next run goes
 * on from there. A database that does not follow on from the store (its changes were pruned
 * before it applied them, it was filled from another store, it is ahead of the store) is refused
 * with SNE_ERR_MISMATCH, or reloaded from the store's state with `rebuild`: into a new schema,
 * swapped in in one transaction, so readers see the old tables or the new ones, never a mix.
 *
 * Messages name the database (name, host, port) and the batch, never a password, a row's data or
 * a value of PostgreSQL's error detail (which may quote personal data). */

#define SNE_PG_SCHEMA_VERSION 2  /* the layout above; an older one is migrated, a newer refused */
#define SNE_PG_SCHEMA_MAX     40 /* bytes of a schema name: [a-z_][a-z0-9_]* */
/* Changes per transaction. The default takes a month of a 100,000-demand register (252,000
 * changes) in one: each batch compares demande again for the demands it touched and commits, and
 * three batches of 100,000 took 3.1 to 3.4 s where one took 2.6 to 2.8 (bench/RESULTS.md, run
 * 15). A batch's changes wait in the server's temporary tables, and pg-apply keeps 27 bytes per
 * change (an item's hash and its demand) until the batch commits. */
#define SNE_PG_BATCH_DEFAULT 1000000
#define SNE_PG_BATCH_MAX     1000000

typedef enum sne_pg_phase {
    SNE_PG_LOADING,   /* filling a new schema from the store's state; `rows` so far */
    SNE_PG_COPIED,    /* a batch's changes are in the staging tables */
    SNE_PG_MERGED,    /* ... merged into the tables, not yet committed */
    SNE_PG_COMMITTED, /* ... committed: `seq` is the database's last seq */
} sne_pg_phase;

typedef struct sne_pg_progress {
    sne_pg_phase phase;
    uint64_t batch;    /* batches begun in this run, from 1 */
    uint64_t seq;      /* the last seq the batch applies (or the load's) */
    uint64_t last_seq; /* the store's last seq when the batch was read */
    uint64_t rows;     /* changes (items, for a load) sent in this run so far */
} sne_pg_progress;

/* Called on the calling thread; it may stop the process (the tests' kill points). */
typedef void (*sne_pg_progress_fn)(void *ctx, const sne_pg_progress *p);

typedef struct sne_pg_options {
    const char *conninfo; /* a libpq connection string or URI; NULL or "": the environment */
    const char *schema;   /* default "sne" */
    size_t batch;         /* changes per transaction, 1..SNE_PG_BATCH_MAX */
    bool rebuild;         /* reload from the store's state a database that does not follow on */
    sne_pg_progress_fn progress;
    void *progress_ctx;
} sne_pg_options;

SNESYNC_API void sne_pg_options_default(sne_pg_options *o);

typedef struct sne_pg_summary {
    char store_id[33];
    uint64_t from_seq, to_seq; /* the database's last seq before and after */
    uint64_t changes;          /* changes read from the log and applied */
    uint64_t batches;          /* transactions committed */
    uint64_t items_written;    /* item rows inserted or updated (a load: inserted) */
    uint64_t items_deleted;
    uint64_t demandes_written; /* demande rows inserted or changed */
    uint64_t demandes_deleted;
    bool loaded;     /* filled from the store's state: a new schema, or a rebuild */
    bool rebuilt;    /* ... replacing the schema that was there */
    bool reconciled; /* demande was compared with every demand held (see README) */
    double seconds;
} sne_pg_summary;

/* Applies to the database the store's changes after its last seq (all of them in batches, or a
 * load of the store's state for a schema that does not exist yet), and brings demande up to date.
 * `store` is only read (a read-only handle will do). Errors: SNE_ERR_USAGE (options),
 * SNE_ERR_MISMATCH (the database does not follow on from the store; the message says which way
 * and what to do), SNE_ERR_BUSY (another pg-apply holds the schema), SNE_ERR_DATABASE (the
 * database failed: the batches committed before stay, the next run continues), the store's. */
SNESYNC_API sne_err sne_pg_apply(sne_store *store, const sne_pg_options *o, sne_pg_summary *sum,
                                 sne_error *err);

/* The last seq the database has applied from the store whose identity is `store_id`:
 * SNE_ERR_MISMATCH when it holds no schema of snesync or follows another store. */
SNESYNC_API sne_err sne_pg_applied(const sne_pg_options *o, const char *store_id, uint64_t *seq,
                                   sne_error *err);

/* Checks the options before anything is opened: the schema name, the batch size, and a
 * connection string that libpq can parse; `on_command_line` refuses one holding a password
 * (every user of the machine can read a command line). */
SNESYNC_API sne_err sne_pg_check_options(const sne_pg_options *o, bool on_command_line,
                                         sne_error *err);

#ifdef __cplusplus
}
#endif

#endif
