/* fuzz_status.c: the export service's status and problem+json readers (fetch/status_json.h) on
 * arbitrary bytes. Invariants, beyond "no crash, no leak, no UB": on success the fields hold what
 * the header promises (numeroExport [0-9A-Za-z_-]{1,40}, a sha256 of 64 lowercase hex digits or
 * empty, progression -1..100, TERMINE with its fichier), every string is NUL-terminated within its
 * array and the free texts are printable. */
#include "fetch/status_json.h"
#include "fuzz_common.h"

#include <string.h>

static bool printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sne_export_status st;
    sne_error err = {0};
    if (sne_status_parse((const char *)data, size, &st, &err) == SNE_OK) {
        size_t n = strnlen(st.numero, sizeof(st.numero));
        FUZZ_CHECK(n >= 1 && n <= 40);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
                              st.numero[i]) != NULL);
        n = strnlen(st.sha256, sizeof(st.sha256));
        FUZZ_CHECK(n == 0 || n == 64);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(strchr("0123456789abcdef", st.sha256[i]) != NULL);
        FUZZ_CHECK(st.progression >= -1 && st.progression <= 100);
        FUZZ_CHECK(st.statut != SNE_STATUT_TERMINE ||
                   (st.has_fichier && st.taille >= 0 && n == 64));
        FUZZ_CHECK(printable(st.erreur_message, sizeof(st.erreur_message)));
        FUZZ_CHECK(strnlen(st.url, sizeof(st.url)) < sizeof(st.url));
    } else {
        FUZZ_CHECK(err.code != SNE_OK);
    }
    sne_problem pb;
    sne_error perr = {0};
    if (sne_problem_parse((const char *)data, size, &pb, &perr) == SNE_OK) {
        FUZZ_CHECK(printable(pb.title, sizeof(pb.title)));
        FUZZ_CHECK(printable(pb.detail, sizeof(pb.detail)));
    }
    return 0;
}
