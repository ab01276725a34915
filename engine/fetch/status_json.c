/* status_json.c: EtatExport and problem+json, read by json_reader.h (status_json.h). */
#include "status_json.h"

#include "json_reader.h"

#include <string.h>

typedef struct status_ctx {
    sne_export_status *st;
    unsigned seen;
} status_ctx;

static sne_err on_fichier(sne_json_cursor *c, void *ctx, const char *key, bool key_cut)
{
    status_ctx *x = ctx;
    sne_export_status *st = x->st;
    sne_err rc;
    if (key_cut)
        return sne_json_skip(c);
    if (strcmp(key, "url") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1u << 10)))
            return rc;
        return sne_json_get_string(c, st->url, sizeof(st->url), false);
    }
    if (strcmp(key, "taille") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1u << 11)))
            return rc;
        return sne_json_get_int(c, &st->taille, 0, INT64_MAX);
    }
    if (strcmp(key, "sha256") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1u << 12)))
            return rc;
        return sne_json_get_string(c, st->sha256, sizeof(st->sha256), false);
    }
    if (strcmp(key, "nombreDemandes") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1u << 13)))
            return rc;
        return sne_json_get_int(c, &st->nombre_demandes, 0, INT64_MAX);
    }
    return sne_json_skip(c);
}

static sne_err on_erreur(sne_json_cursor *c, void *ctx, const char *key, bool key_cut)
{
    status_ctx *x = ctx;
    sne_err rc;
    if (key_cut)
        return sne_json_skip(c);
    if (strcmp(key, "code") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1u << 14)))
            return rc;
        return sne_json_get_string(c, x->st->erreur_code, sizeof(x->st->erreur_code), true);
    }
    if (strcmp(key, "message") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1u << 15)))
            return rc;
        return sne_json_get_string(c, x->st->erreur_message, sizeof(x->st->erreur_message), true);
    }
    return sne_json_skip(c);
}

static const char *const statut_names[] = {"?",       "EN_ATTENTE", "EN_COURS",
                                           "TERMINE", "ECHEC",      "EXPIRE"};

const char *sne_statut_name(sne_statut s)
{
    return (unsigned)s < sizeof(statut_names) / sizeof(statut_names[0]) ? statut_names[s] : "?";
}

static sne_err on_status(sne_json_cursor *c, void *ctx, const char *key, bool key_cut)
{
    status_ctx *x = ctx;
    sne_export_status *st = x->st;
    sne_err rc;
    if (key_cut)
        return sne_json_skip(c);
    if (strcmp(key, "numeroExport") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1u << 0)))
            return rc;
        return sne_json_get_string(c, st->numero, sizeof(st->numero), false);
    }
    if (strcmp(key, "statut") == 0) {
        char v[16] = "";
        if ((rc = sne_json_once(c, &x->seen, 1u << 1)))
            return rc;
        sne_json_sink s = {v,    sizeof(v), 0,
                           true, false,     false}; /* cut: unknown long values are UNKNOWN */
        if (sne_json_null(c))
            return SNE_OK;
        if ((rc = sne_json_string(c, &s)))
            return rc;
        st->statut = SNE_STATUT_UNKNOWN;
        for (size_t i = 1; i < sizeof(statut_names) / sizeof(statut_names[0]); i++)
            if (!s.overflow && strcmp(v, statut_names[i]) == 0)
                st->statut = (sne_statut)i;
        return SNE_OK;
    }
    if (strcmp(key, "progression") == 0) {
        int64_t v = -1;
        if ((rc = sne_json_once(c, &x->seen, 1u << 2)) || (rc = sne_json_get_int(c, &v, 0, 100)))
            return rc;
        st->progression = (int)v;
        return SNE_OK;
    }
    if (strcmp(key, "dateExport") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1u << 3)))
            return rc;
        return sne_json_get_string(c, st->date_export, sizeof(st->date_export), false);
    }
    if (strcmp(key, "expiration") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1u << 4)))
            return rc;
        return sne_json_get_string(c, st->expiration, sizeof(st->expiration), false);
    }
    if (strcmp(key, "fichier") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1u << 5)))
            return rc;
        if (sne_json_null(c))
            return SNE_OK;
        st->has_fichier = true;
        return sne_json_object(c, on_fichier, x);
    }
    if (strcmp(key, "erreur") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 1u << 6)))
            return rc;
        if (sne_json_null(c))
            return SNE_OK;
        return sne_json_object(c, on_erreur, x);
    }
    return sne_json_skip(c);
}

static bool valid_sha256(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 64;
}

sne_err sne_status_parse(const char *json, size_t n, sne_export_status *out, sne_error *err)
{
    memset(out, 0, sizeof(*out));
    out->progression = -1;
    out->taille = -1;
    out->nombre_demandes = -1;
    status_ctx x = {out, 0};
    sne_err rc = sne_json_document(json, n, SNE_JSON_MAX_INPUT, on_status, &x, err);
    if (rc)
        return rc;
    if (!(x.seen & 1u) || !sne_numero_valid(out->numero))
        return sne_error_set(err, SNE_ERR_INVALID, 0,
                             "export status: numeroExport missing or not [0-9A-Za-z_-]{1,40}");
    if (!(x.seen & 2u))
        return sne_error_set(err, SNE_ERR_INVALID, 0, "export status: statut missing");
    if (out->sha256[0] && !valid_sha256(out->sha256))
        return sne_error_set(err, SNE_ERR_INVALID, 0,
                             "export status: fichier.sha256 is not 64 lowercase hex digits");
    if (out->statut == SNE_STATUT_TERMINE &&
        (!out->has_fichier || out->taille < 0 || !out->sha256[0]))
        return sne_error_set(err, SNE_ERR_INVALID, 0,
                             "export status: TERMINE without fichier.taille and fichier.sha256");
    return SNE_OK;
}

typedef struct problem_ctx {
    sne_problem *pb;
    unsigned seen;
} problem_ctx;

static sne_err on_problem(sne_json_cursor *c, void *ctx, const char *key, bool key_cut)
{
    problem_ctx *x = ctx;
    sne_err rc;
    if (key_cut)
        return sne_json_skip(c);
    if (strcmp(key, "status") == 0) {
        /* Lenient: a wrong status must not hide the detail that comes with it. */
        int64_t v = -1;
        bool is_int;
        if ((rc = sne_json_once(c, &x->seen, 1)))
            return rc;
        if (sne_json_null(c))
            return SNE_OK;
        if ((rc = sne_json_number(c, &v, &is_int)))
            return rc;
        x->pb->status = is_int && v >= 100 && v <= 599 ? (int)v : -1;
        return SNE_OK;
    }
    if (strcmp(key, "title") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 2)))
            return rc;
        return sne_json_get_string(c, x->pb->title, sizeof(x->pb->title), true);
    }
    if (strcmp(key, "detail") == 0) {
        if ((rc = sne_json_once(c, &x->seen, 4)))
            return rc;
        return sne_json_get_string(c, x->pb->detail, sizeof(x->pb->detail), true);
    }
    return sne_json_skip(c);
}

sne_err sne_problem_parse(const char *json, size_t n, sne_problem *out, sne_error *err)
{
    memset(out, 0, sizeof(*out));
    out->status = -1;
    problem_ctx x = {out, 0};
    sne_err rc = sne_json_document(json, n, SNE_JSON_MAX_INPUT, on_problem, &x, err);
    if (rc)
        memset(out, 0, sizeof(*out)), out->status = -1;
    return rc;
}
