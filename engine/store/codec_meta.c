/* codec_meta.c: the small records of the store (codec.h): meta's counts and run record, the scope
 * database's keys and values, and the sync job's note. */
#include "codec.h"
#include "codec_bytes.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX 64 /* the widest fixed string field */
_Static_assert(SNE_STORED_NUMERO <= FIELD_MAX && SNE_STORED_DATE <= FIELD_MAX &&
                   SNE_STORED_LOCATION <= FIELD_MAX,
               "fixed fields fit put_padded's room");

/* Writes `s` NUL-padded to `width` bytes at `dst`; false when it does not fit with its NUL. */
static bool pad(uint8_t *dst, const char *s, size_t width)
{
    size_t n = strnlen(s, width);
    if (n == width)
        return false;
    memcpy(dst, s, n);
    memset(dst + n, 0, width - n);
    return true;
}

static sne_err put_padded(sne_buf *b, const char *s, size_t width)
{
    uint8_t field[FIELD_MAX];
    return pad(field, s, width) ? sne_buf_append(b, field, width) : SNE_ERR_LIMIT;
}

/* Reads a NUL-padded field of `width` bytes into `dst` (as many bytes); a field without its NUL
 * is bad. */
static void take_padded(reader *r, char *dst, size_t width)
{
    const uint8_t *p = take(r, width);
    if (p && !memchr(p, '\0', width))
        r->bad = true;
    if (r->bad)
        return;
    memcpy(dst, p, width);
}

/* ---- counts ---- */

void sne_counts_encode(const uint64_t counts[SNE_ENTITY__COUNT], uint8_t out[SNE_COUNTS_SIZE])
{
    for (int e = 0; e < SNE_ENTITY__COUNT; e++)
        sne_put_u64le(out + 8 * e, counts[e]);
}

bool sne_counts_decode(const uint8_t *v, size_t n, uint64_t counts[SNE_ENTITY__COUNT])
{
    for (int e = 0; e < SNE_ENTITY__COUNT; e++)
        counts[e] = n == SNE_COUNTS_SIZE ? sne_get_u64le(v + 8 * e) : 0;
    return n == SNE_COUNTS_SIZE;
}

/* ---- run record ---- */

#define RUN_WINDOW_SIZE 5 /* u8 profondeurDrm | u32 dernierePeriodeDrm: absent from version 0 */
_Static_assert(SNE_RUN_VERSION != SNE_RUN_STARTED && SNE_RUN_VERSION != SNE_RUN_DONE,
               "a versioned run record is told from an older one by its first byte");

sne_err sne_run_encode(const sne_run *r, sne_buf *out)
{
    if (r->n_locations > SNE_MAX_LOCATIONS || r->profondeur_drm > UINT8_MAX)
        return SNE_ERR_LIMIT;
    uint8_t head[4] = {SNE_RUN_VERSION, (uint8_t)r->state, r->radiees ? 1 : 0,
                       (uint8_t)r->location};
    sne_buf_reset(out);
    sne_err rc = sne_buf_append(out, head, sizeof(head));
    if (!rc)
        rc = put_u64(out, r->attempt);
    if (!rc)
        rc = put_u64(out, (uint64_t)r->date_ms);
    if (!rc)
        rc = put_u32(out, r->entities);
    if (!rc)
        rc = put_u32(out, (uint32_t)r->n_locations);
    if (!rc)
        rc = put_padded(out, r->numero, SNE_STORED_NUMERO);
    if (!rc)
        rc = put_padded(out, r->date_export, SNE_STORED_DATE);
    for (size_t i = 0; !rc && i < r->n_locations; i++)
        rc = put_padded(out, r->locations[i], SNE_STORED_LOCATION);
    if (!rc)
        rc = sne_buf_append_byte(out, (uint8_t)r->profondeur_drm);
    if (!rc)
        rc = put_u32(out, r->derniere_periode_drm);
    return rc;
}

sne_err sne_run_decode(const uint8_t *v, size_t n, sne_run *r)
{
    reader rd = {v, v + n, false};
    /* Versions 0 and 1 begin with the state, which is never SNE_RUN_VERSION. */
    bool versioned = n > 0 && v[0] == SNE_RUN_VERSION;
    if (versioned)
        take(&rd, 1);
    sne_run got = {.locations = NULL};
    uint8_t state = take_u8(&rd), radiees = take_u8(&rd), location = take_u8(&rd);
    got.attempt = take_u64(&rd);
    got.date_ms = (int64_t)take_u64(&rd);
    got.entities = take_u32(&rd);
    uint32_t n_locations = take_u32(&rd);
    take_padded(&rd, got.numero, sizeof(got.numero));
    take_padded(&rd, got.date_export, sizeof(got.date_export));
    if (rd.bad || n_locations > SNE_MAX_LOCATIONS)
        return SNE_ERR_CORRUPT;
    const uint8_t *codes = take(&rd, (size_t)n_locations * SNE_STORED_LOCATION);
    bool window = versioned || (size_t)(rd.end - rd.p) == RUN_WINDOW_SIZE;
    got.profondeur_drm = window ? take_u8(&rd) : 0;
    got.derniere_periode_drm = window ? take_u32(&rd) : 0;
    if (rd.bad || rd.p != rd.end || (state != SNE_RUN_STARTED && state != SNE_RUN_DONE) ||
        radiees > 1 || location > SNE_LOCATION_COMMUNES)
        return SNE_ERR_CORRUPT;
    for (uint32_t i = 0; i < n_locations; i++)
        if (!memchr(codes + (size_t)i * SNE_STORED_LOCATION, '\0', SNE_STORED_LOCATION))
            return SNE_ERR_CORRUPT;
    if (n_locations)
        memcpy(r->locations, codes, (size_t)n_locations * SNE_STORED_LOCATION);
    got.state = (sne_run_state)state;
    got.radiees = radiees;
    got.location = (sne_location_kind)location;
    got.n_locations = n_locations;
    got.locations = r->locations;
    *r = got;
    return SNE_OK;
}

/* ---- scopes ---- */

size_t sne_scope_key_encode(const sne_scope_key *k, char out[SNE_SCOPE_KEY_MAX + 1])
{
    int n = snprintf(out, SNE_SCOPE_KEY_MAX + 1, "%c|%s|%s", k->radiees ? 'R' : 'A',
                     sne_entity_info_of(k->entity)->code, k->unit);
    return n > 0 && n <= SNE_SCOPE_KEY_MAX ? (size_t)n : 0;
}

sne_err sne_scope_key_decode(const uint8_t *v, size_t n, sne_scope_key *k)
{
    const uint8_t *end = v + n;
    const uint8_t *bar = n > 2 && v[1] == '|' ? memchr(v + 2, '|', n - 2) : NULL;
    if (!bar || n > SNE_SCOPE_KEY_MAX || (v[0] != 'A' && v[0] != 'R'))
        return SNE_ERR_CORRUPT;
    int e = sne_entity_by_code((const char *)v + 2, (size_t)(bar - v - 2));
    size_t unit = (size_t)(end - bar - 1);
    if (e < 0 || unit == 0 || unit > SNE_SCOPE_UNIT_MAX || memchr(bar + 1, '\0', unit))
        return SNE_ERR_CORRUPT;
    k->radiees = v[0] == 'R';
    k->entity = (sne_entity)e;
    memcpy(k->unit, bar + 1, unit);
    k->unit[unit] = '\0';
    return SNE_OK;
}

sne_err sne_scope_value_encode(const sne_scope_value *sv, uint8_t out[SNE_SCOPE_VALUE_SIZE])
{
    out[0] = SNE_SCOPE_VERSION;
    sne_put_u64le(out + 1, (uint64_t)sv->date_ms);
    if (!pad(out + 9, sv->numero, SNE_STORED_NUMERO) ||
        !pad(out + 9 + SNE_STORED_NUMERO, sv->date_export, SNE_STORED_DATE))
        return SNE_ERR_LIMIT;
    return SNE_OK;
}

sne_err sne_scope_value_decode(const uint8_t *v, size_t n, sne_scope_value *sv)
{
    reader r = {v, v + n, false};
    /* Version 0 is version 1 without its version byte. */
    if (n == SNE_SCOPE_VALUE_SIZE && take_u8(&r) != SNE_SCOPE_VERSION)
        return SNE_ERR_CORRUPT;
    if (n != SNE_SCOPE_VALUE_SIZE && n != SNE_SCOPE_VALUE_SIZE - 1)
        return SNE_ERR_CORRUPT;
    sne_scope_value got;
    got.date_ms = (int64_t)take_u64(&r);
    take_padded(&r, got.numero, sizeof(got.numero));
    take_padded(&r, got.date_export, sizeof(got.date_export));
    if (r.bad)
        return SNE_ERR_CORRUPT;
    *sv = got;
    return SNE_OK;
}

/* ---- the sync job's note ---- */

static const char *const phase_names[] = {"none", "requested", "ready", "ingested"};

/* The string fields of version 1, by key. Each key of version 1 (these, version, phase and taille)
 * is written in every note. */
#define NOTE_STRING(key, member)                                                                   \
    {                                                                                              \
        key, offsetof(sne_sync_note, member), sizeof(((sne_sync_note *)0)->member)                 \
    }
static const struct note_string {
    const char *key;
    size_t offset, size;
} note_strings[] = {NOTE_STRING("server", server), NOTE_STRING("request", request),
                    NOTE_STRING("numero", numero), NOTE_STRING("sha256", sha256),
                    NOTE_STRING("url", url),       NOTE_STRING("dateExport", date_export)};
#define NOTE_STRINGS  (sizeof(note_strings) / sizeof(note_strings[0]))
#define NOTE_KEYS_ALL ((1u << (3 + NOTE_STRINGS)) - 1) /* version, phase, taille, strings */

/* What a note must hold to be one: its decoder's test, which its encoder applies too. */
static bool note_complete(const sne_sync_note *nt)
{
    if (nt->phase <= SNE_NOTE_NONE || nt->phase > SNE_NOTE_INGESTED || !nt->numero[0])
        return false;
    return nt->phase < SNE_NOTE_READY || (nt->taille >= 0 && strlen(nt->sha256) == 64);
}

sne_err sne_sync_note_encode(const sne_sync_note *nt, sne_buf *out)
{
    if (!note_complete(nt))
        return SNE_ERR_INVALID;
    for (size_t i = 0; i < NOTE_STRINGS; i++)
        if (strchr((const char *)nt + note_strings[i].offset, '\n'))
            return SNE_ERR_INVALID;
    sne_buf_reset(out);
    return sne_buf_printf(out,
                          "version=%d\nphase=%s\nserver=%s\nrequest=%s\nnumero=%s\n"
                          "taille=%" PRId64 "\nsha256=%s\nurl=%s\ndateExport=%s\n",
                          SNE_SYNC_NOTE_VERSION, phase_names[nt->phase], nt->server, nt->request,
                          nt->numero, nt->taille, nt->sha256, nt->url, nt->date_export);
}

/* Copies a value into its field; one too long for it reads as absent. */
static void note_field(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        n = 0;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int64_t note_taille(const char *v, size_t n)
{
    char num[24], *end;
    note_field(num, sizeof(num), v, n);
    long long t = strtoll(num, &end, 10);
    return num[0] && !*end && t >= 0 ? t : -1;
}

static bool is_key(const char *key, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(key, name, n) == 0;
}

/* Reads the value `v` of key `key` into `nt` (`version` receives the version's); returns the
 * key's bit in NOTE_KEYS_ALL, 0 for a key version 1 does not know. */
static unsigned note_line(sne_sync_note *nt, const char *key, size_t kn, const char *v, size_t vn,
                          char version[8])
{
    if (is_key(key, kn, "version")) {
        note_field(version, 8, v, vn);
        return 1u << 0;
    }
    if (is_key(key, kn, "phase")) {
        for (int i = SNE_NOTE_REQUESTED; i <= SNE_NOTE_INGESTED; i++)
            if (is_key(v, vn, phase_names[i]))
                nt->phase = (sne_sync_note_phase)i;
        return 1u << 1;
    }
    if (is_key(key, kn, "taille")) {
        nt->taille = note_taille(v, vn);
        return 1u << 2;
    }
    for (size_t i = 0; i < NOTE_STRINGS; i++) {
        if (is_key(key, kn, note_strings[i].key)) {
            note_field((char *)nt + note_strings[i].offset, note_strings[i].size, v, vn);
            return 1u << (3 + i);
        }
    }
    return 0;
}

sne_err sne_sync_note_decode(sne_sync_note *nt, const void *text, size_t n)
{
    const char *s = text, *end = s + n;
    char version[8] = "", known[8];
    unsigned keys = 0;
    snprintf(known, sizeof(known), "%d", SNE_SYNC_NOTE_VERSION);
    memset(nt, 0, sizeof(*nt));
    nt->taille = -1;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        const char *eq = memchr(s, '=', (size_t)(le - s));
        if (eq)
            keys |= note_line(nt, s, (size_t)(eq - s), eq + 1, (size_t)(le - eq - 1), version);
        s = nl ? nl + 1 : end;
    }
    /* Every key, and the line break ending the last: a cut note is no note. */
    if (keys != NOTE_KEYS_ALL || n == 0 || end[-1] != '\n' || strcmp(version, known) != 0 ||
        !note_complete(nt)) {
        memset(nt, 0, sizeof(*nt));
        nt->taille = -1;
        return SNE_ERR_CORRUPT;
    }
    return SNE_OK;
}
