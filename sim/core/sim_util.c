/* sim_util.c: see sim_util.h. */
#include "sim_util.h"

#include <string.h>

void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    uint64_t z = seed;
    for (int i = 0; i < 4; i++) {
        z += 0x9E3779B97F4A7C15ull;
        r->s[i] = sim_mix64(z);
    }
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Howard Hinnant's civil calendar algorithms. */
int32_t sim_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}

void sim_civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = (int)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

int32_t sim_add_years(int32_t day, int years)
{
    int y, m, d;
    sim_civil_from_days(day, &y, &m, &d);
    if (m == 2 && d == 29)
        d = 28;
    return sim_days_from_civil(y + years, m, d);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Last Sunday of month m of year y, as days since epoch. 1970-01-01 was a Thursday. */
static int32_t last_sunday(int y, int m)
{
    int32_t last = sim_days_from_civil(y, m + 1, 1) - 1;
    int wd = (int)((last % 7 + 7 + 4) % 7); /* 0 = Sunday */
    return last - wd;
}

int sim_paris_offset(int64_t t)
{
    int y, m, d;
    sim_civil_from_days((int32_t)floordiv(t, 86400), &y, &m, &d);
    int64_t start = (int64_t)last_sunday(y, 3) * 86400 + 3600; /* 01:00 UTC */
    int64_t end = (int64_t)last_sunday(y, 10) * 86400 + 3600;
    return (t >= start && t < end) ? 7200 : 3600;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int sim_parse_iso(const char *s, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    const char *p = s + 10;
    int have_time = 0;
    if (*p == 'T' || *p == ' ') {
        have_time = 1;
        if (digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi))
            return -1;
        p += 6;
        if (*p == ':') {
            if (digits(p + 1, 2, &se))
                return -1;
            p += 3;
            if (*p == '.') {
                p++;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        if (h > 23 || mi > 59 || se > 60)
            return -1;
    }
    int64_t local = (int64_t)sim_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    if (!have_time)
        local += 2 * 3600; /* a bare date means 02:00 Paris time, the usual snapshot hour */
    if (*p == 'Z') {
        p++;
        *out = local;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
            return -1;
        int off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
        *out = local - off;
    } else if (*p == '\0') {
        /* Paris local: the offset of the instant one hour either side is the same except at the
         * switch itself, where the earlier reading is as good as the other. */
        int off = sim_paris_offset(local - 3600);
        *out = local - off;
    } else {
        return -1;
    }
    return *p == '\0' ? 0 : -1;
}

static void put2(char *o, int v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
}

static void put4(char *o, int v)
{
    o[0] = (char)('0' + v / 1000 % 10);
    o[1] = (char)('0' + v / 100 % 10);
    o[2] = (char)('0' + v / 10 % 10);
    o[3] = (char)('0' + v % 10);
}

static int fmt_local(int64_t local, char *o)
{
    int y, m, d;
    int32_t day = (int32_t)floordiv(local, 86400);
    int sec = (int)(local - (int64_t)day * 86400);
    sim_civil_from_days(day, &y, &m, &d);
    put4(o, y);
    o[4] = '-';
    put2(o + 5, m);
    o[7] = '-';
    put2(o + 8, d);
    o[10] = 'T';
    put2(o + 11, sec / 3600);
    o[13] = ':';
    put2(o + 14, sec / 60 % 60);
    o[16] = ':';
    put2(o + 17, sec % 60);
    return 19;
}

int sim_fmt_paris(int64_t t, int millis, char *out)
{
    int off = sim_paris_offset(t);
    int n = fmt_local(t + off, out);
    if (millis) {
        memcpy(out + n, ".000", 4);
        n += 4;
    }
    memcpy(out + n, off == 7200 ? "+02:00" : "+01:00", 6);
    n += 6;
    out[n] = '\0';
    return n;
}

int sim_fmt_utc(int64_t t, char *out)
{
    int n = fmt_local(t, out);
    out[n++] = 'Z';
    out[n] = '\0';
    return n;
}

int sim_fmt_day(int32_t day, char *out)
{
    int y, m, d;
    sim_civil_from_days(day, &y, &m, &d);
    put4(out, y);
    out[4] = '-';
    put2(out + 5, m);
    out[7] = '-';
    put2(out + 8, d);
    out[10] = '\0';
    return 10;
}

int32_t sim_paris_day(int64_t t)
{
    return (int32_t)floordiv(t + sim_paris_offset(t), 86400);
}

int sim_month_of_day(int32_t day)
{
    int y, m, d;
    sim_civil_from_days(day, &y, &m, &d);
    return y * 12 + (m - 1);
}

int sim_fmt_month(int month, char *out)
{
    put4(out, month / 12);
    out[4] = '-';
    put2(out + 5, month % 12 + 1);
    out[7] = '\0';
    return 7;
}
