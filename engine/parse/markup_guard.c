/* markup_guard.c: the attribute count of start tags, from the raw bytes (markup_guard.h). */
#include "markup_guard.h"

#include <string.h>

void sne_markup_guard_reset(sne_markup_guard *g)
{
    memset(g, 0, sizeof(*g));
}

/* The bytes that change the state inside a tag. */
static const bool tag_special[256] = {['"'] = true, ['\''] = true, ['='] = true, ['>'] = true};

/* The byte `back` (1 or 2) places before b[at], reaching into the previous chunk. */
static uint8_t byte_before(const sne_markup_guard *m, const uint8_t *b, size_t at, size_t back)
{
    return at >= back ? b[at - back] : m->last[2 + at - back];
}

/* Whether the '>' at b[at] ends the comment, CDATA section, PI or declaration being skipped. */
static bool ends_skipped(const sne_markup_guard *m, const uint8_t *b, size_t at)
{
    uint8_t p1 = byte_before(m, b, at, 1), p2 = byte_before(m, b, at, 2);
    switch (m->state) {
    case SNE_MARKUP_COMMENT:
        return p1 == '-' && p2 == '-';
    case SNE_MARKUP_CDATA:
        return p1 == ']' && p2 == ']';
    case SNE_MARKUP_PI:
        return p1 == '?';
    default:
        return true;
    }
}

/* Text, attribute values and skipped sections are crossed with memchr, tags with a table: this
 * runs over every byte of the export before libxml2 does. */
bool sne_markup_guard_scan(sne_markup_guard *m, const void *data, size_t n)
{
    const uint8_t *b = data;
    size_t i = 0;
    while (i < n) {
        switch (m->state) {
        case SNE_MARKUP_TEXT: {
            const uint8_t *lt = memchr(b + i, '<', n - i);
            i = lt ? (size_t)(lt - b) + 1 : n;
            if (lt)
                m->state = SNE_MARKUP_LT;
            break;
        }
        case SNE_MARKUP_LT: {
            uint8_t c = b[i++];
            m->state = c == '!' ? SNE_MARKUP_BANG : c == '?' ? SNE_MARKUP_PI : SNE_MARKUP_TAG;
            m->equals = 0;
            break;
        }
        case SNE_MARKUP_BANG: {
            uint8_t c = b[i++];
            m->bang = c;
            m->state = c == '-' || c == '[' ? SNE_MARKUP_BANG2
                       : c == '>'           ? SNE_MARKUP_TEXT
                                            : SNE_MARKUP_DECL;
            break;
        }
        case SNE_MARKUP_BANG2: {
            uint8_t c = b[i++];
            m->state = m->bang == '-' && c == '-'   ? SNE_MARKUP_COMMENT
                       : m->bang == '[' && c == 'C' ? SNE_MARKUP_CDATA
                       : c == '>'                   ? SNE_MARKUP_TEXT
                                                    : SNE_MARKUP_DECL;
            break;
        }
        case SNE_MARKUP_TAG: {
            while (i < n && !tag_special[b[i]])
                i++;
            if (i == n)
                break;
            uint8_t c = b[i++];
            if (c == '"' || c == '\'') {
                m->quote = c;
                m->state = SNE_MARKUP_QUOTED;
            } else if (c == '=') {
                if (++m->equals > SNE_MARKUP_MAX_ATTRIBUTES)
                    return false;
            } else {
                m->state = SNE_MARKUP_TEXT;
            }
            break;
        }
        case SNE_MARKUP_QUOTED: {
            const uint8_t *q = memchr(b + i, m->quote, n - i);
            i = q ? (size_t)(q - b) + 1 : n;
            if (q)
                m->state = SNE_MARKUP_TAG;
            break;
        }
        case SNE_MARKUP_COMMENT:
        case SNE_MARKUP_CDATA:
        case SNE_MARKUP_PI:
        case SNE_MARKUP_DECL: {
            const uint8_t *gt = memchr(b + i, '>', n - i);
            if (!gt) {
                i = n;
                break;
            }
            size_t at = (size_t)(gt - b);
            if (ends_skipped(m, b, at))
                m->state = SNE_MARKUP_TEXT;
            i = at + 1;
            break;
        }
        }
    }
    if (n >= 2) {
        m->last[0] = b[n - 2];
        m->last[1] = b[n - 1];
    } else if (n == 1) {
        m->last[0] = m->last[1];
        m->last[1] = b[0];
    }
    return true;
}
