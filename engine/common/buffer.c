#include "buffer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sne_buf_init(sne_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void sne_buf_free(sne_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

void sne_buf_reset(sne_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

sne_err sne_buf_reserve(sne_buf *b, size_t extra)
{
    if (extra > b->cap || b->len > b->cap - extra)
        return SNE_ERR_LIMIT;
    size_t need = b->len + extra + 1; /* room for the terminating NUL */
    if (need <= b->alloc)
        return SNE_OK;
    size_t grown = b->alloc ? b->alloc : 64;
    while (grown < need)
        grown = grown > SIZE_MAX / 2 ? need : grown * 2;
    if (b->cap < SIZE_MAX && grown > b->cap + 1)
        grown = b->cap + 1;
    uint8_t *p = realloc(b->data, grown);
    if (!p)
        return SNE_ERR_NOMEM;
    b->data = p;
    b->alloc = grown;
    return SNE_OK;
}

sne_err sne_buf_append(sne_buf *b, const void *p, size_t n)
{
    sne_err rc = sne_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SNE_OK;
}

sne_err sne_buf_append_byte(sne_buf *b, uint8_t c)
{
    return sne_buf_append(b, &c, 1);
}

sne_err sne_buf_append_str(sne_buf *b, const char *s)
{
    return sne_buf_append(b, s, strlen(s));
}

sne_err sne_buf_printf(sne_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return SNE_ERR_USAGE;
    if ((size_t)n < sizeof(small))
        return sne_buf_append(b, small, (size_t)n);
    sne_err rc = sne_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SNE_OK;
}

void sne_buf_truncate(sne_buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

/* Length of the valid UTF-8 sequence starting at s[0], or 0 if it is not valid. */
static size_t utf8_sequence_length(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t min;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

sne_err sne_buf_append_json_string(sne_buf *b, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sne_err rc = sne_buf_append_byte(b, '"');
    size_t i = 0;
    while (!rc && i < n) {
        /* Printable ASCII, most of any text, goes as it is in one piece. */
        size_t plain = i;
        while (plain < n && s[plain] >= 0x20 && s[plain] < 0x80 && s[plain] != '"' &&
               s[plain] != '\\')
            plain++;
        if (plain > i) {
            rc = sne_buf_append(b, s + i, plain - i);
            i = plain;
            continue;
        }
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            uint8_t esc[2] = {'\\', c};
            rc = sne_buf_append(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            rc = sne_buf_append(b, esc, 6);
            i++;
        } else {
            size_t run = utf8_sequence_length(s + i, n - i);
            if (run == 0) {
                rc = sne_buf_append(b, "\xEF\xBF\xBD", 3);
                i++;
            } else {
                rc = sne_buf_append(b, s + i, run);
                i += run;
            }
        }
    }
    if (!rc)
        rc = sne_buf_append_byte(b, '"');
    return rc;
}
