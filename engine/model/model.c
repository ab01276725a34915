#include "model.h"

bool sne_numero_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '_' || c == '-'))
            return false;
    }
    return n >= 1 && n <= SNE_NUMERO_MAX;
}

bool sne_num_unique_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'A' && s[n] <= 'Z')))
            return false;
    return n == SNE_NUM_UNIQUE_LEN;
}
