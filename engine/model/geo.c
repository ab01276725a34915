#include "geo.h"

#include <stdlib.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

size_t sne_commune_department_len(const char *commune)
{
    return commune[0] == '9' && commune[1] == '7' ? 3 : 2;
}

bool sne_departement_valid(const char *s, size_t n)
{
    if (n == 2)
        return (is_digit(s[0]) && is_digit(s[1])) || (s[0] == '2' && (s[1] == 'A' || s[1] == 'B'));
    return n == 3 && s[0] == '9' && s[1] == '7' && s[2] >= '1' && s[2] <= '6';
}

bool sne_commune_valid(const char *s, size_t n)
{
    if (n != 5)
        return false;
    bool corse = s[0] == '2' && (s[1] == 'A' || s[1] == 'B');
    for (size_t i = corse ? 2 : 0; i < 5; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

static int compare_codes(const void *a, const void *b)
{
    return strcmp(a, b);
}

sne_err sne_location_list_parse(sne_location_list *out, sne_location_kind kind, const char *list,
                                size_t max, sne_error *err)
{
    const char *option = kind == SNE_LOCATION_DEPARTEMENTS ? "departements" : "communes";
    bool (*valid)(const char *, size_t) =
        kind == SNE_LOCATION_DEPARTEMENTS ? sne_departement_valid : sne_commune_valid;
    out->n = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        const char *code = p;
        p += len + (p[len] == ',');
        while (len > 0 && *code == ' ')
            code++, len--;
        while (len > 0 && code[len - 1] == ' ')
            len--;
        if (len == 0)
            continue;
        if (!valid(code, len))
            return sne_error_set(err, SNE_ERR_USAGE, 0, "'%.*s' is not a valid code for --%s",
                                 (int)(len > 12 ? 12 : len), code, option);
        if (out->n == max || out->n == SNE_MAX_LOCATIONS)
            return sne_error_set(err, SNE_ERR_USAGE, 0, "more than %zu codes for --%s", out->n,
                                 option);
        memcpy(out->codes[out->n], code, len);
        out->codes[out->n++][len] = '\0';
    }
    if (out->n == 0)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "--%s lists no code", option);
    qsort(out->codes, out->n, sizeof(out->codes[0]), compare_codes);
    size_t kept = 0;
    for (size_t i = 0; i < out->n; i++)
        if (kept == 0 || strcmp(out->codes[kept - 1], out->codes[i]) != 0)
            memmove(out->codes[kept++], out->codes[i], sizeof(out->codes[0]));
    out->n = kept;
    return SNE_OK;
}
