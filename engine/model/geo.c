#include "geo.h"

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
