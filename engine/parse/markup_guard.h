/* markup_guard.h: a byte-level guard run over an XML document before libxml2 sees it, refusing a
 * start tag with more attributes than any export needs.
 *
 * Why: libxml2 2.9 reads a whole start tag, comparing its attributes pairwise, before any SAX
 * callback runs, so a tag with 500000 attributes costs minutes of CPU before the parser's own
 * limits could apply. The guard counts the '=' signs outside quoted values in each start tag and
 * stops at SNE_MARKUP_MAX_ATTRIBUTES + 1. Comments, CDATA sections, processing instructions and
 * declarations are skipped whole (their '=' are text).
 *
 * It is a few states advanced with memchr over text and values and with a table inside tags, so
 * it costs little next to libxml2. The bytes may come in chunks of any size, split anywhere: the
 * state (and the last two bytes, for "-->", "]]>" and "?>") carries over. It is not a parser: a
 * document it lets through may still be malformed, which libxml2 reports. Nothing allocates.
 *
 *     sne_markup_guard g;
 *     sne_markup_guard_reset(&g);                  // at the start of each document
 *     if (!sne_markup_guard_scan(&g, chunk, n)) ... // refuse the document
 */
#ifndef SNE_MARKUP_GUARD_H
#define SNE_MARKUP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Attributes of one start tag, at most (namespace declarations count too). */
#define SNE_MARKUP_MAX_ATTRIBUTES 64

typedef enum sne_markup_state {
    SNE_MARKUP_TEXT,
    SNE_MARKUP_LT,      /* after '<' */
    SNE_MARKUP_BANG,    /* after "<!" */
    SNE_MARKUP_BANG2,   /* after "<!-" or "<![" */
    SNE_MARKUP_TAG,     /* inside a start or end tag */
    SNE_MARKUP_QUOTED,  /* inside an attribute value */
    SNE_MARKUP_COMMENT, /* until "-->" */
    SNE_MARKUP_CDATA,   /* until "]]>" */
    SNE_MARKUP_PI,      /* until "?>" */
    SNE_MARKUP_DECL     /* "<!DOCTYPE" and the like, until '>' (the parser refuses them anyway) */
} sne_markup_state;

/* The scan's state between two chunks; the caller owns it (no resources). */
typedef struct sne_markup_guard {
    sne_markup_state state;
    uint8_t quote;   /* the quote that opened the value */
    uint8_t last[2]; /* the last two bytes of the previous chunk, for "-->", "]]>" and "?>" */
    uint8_t bang;    /* '-' or '[' in SNE_MARKUP_BANG2 */
    unsigned equals; /* '=' in the current tag */
} sne_markup_guard;

/* Starts a new document. */
void sne_markup_guard_reset(sne_markup_guard *g);

/* Scans the next `n` bytes of the document; false as soon as a start tag has more than
 * SNE_MARKUP_MAX_ATTRIBUTES attributes (the state is then meaningless: reset before reuse). */
bool sne_markup_guard_scan(sne_markup_guard *g, const void *data, size_t n);

#endif
