#include "isotime.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* Reads exactly `n` digits. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
 */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool sne_isotime_parse(const char *s, int64_t *epoch_ms)
{
    const char *p = s;
    int y, mo, d, h, mi, sec, ms = 0;
    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
        !digits(&p, 2, &d) || !expect(&p, 'T') || !digits(&p, 2, &h) || !expect(&p, ':') ||
        !digits(&p, 2, &mi) || !expect(&p, ':') || !digits(&p, 2, &sec))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60)
        return false;
    if (*p == '.') {
        p++;
        int scale = 100, n = 0;
        while (isdigit((unsigned char)*p)) {
            ms += (*p - '0') * scale;
            scale /= 10;
            p++, n++;
        }
        if (n == 0)
            return false;
    }
    int offset_min = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om) || oh > 14 || om > 59)
            return false;
        offset_min = sign * (oh * 60 + om);
    }
    if (*p != '\0')
        return false;
    int64_t seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    *epoch_ms = (seconds - (int64_t)offset_min * 60) * 1000 + ms;
    return true;
}

bool sne_period_parse(const char *s, size_t n, uint32_t *month)
{
    const char *p = s;
    int y, mo;
    if (n != 7 || !digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || mo < 1 ||
        mo > 12)
        return false;
    *month = (uint32_t)y * 12 + (uint32_t)mo;
    return true;
}

void sne_isotime_format_utc(int64_t epoch_ms, char out[SNE_ISOTIME_UTC_LEN])
{
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, SNE_ISOTIME_UTC_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, SNE_ISOTIME_UTC_LEN - n, ".%03dZ", (int)(epoch_ms % 1000));
}
