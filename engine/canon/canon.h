/* canon.h: the canonical form of an item, the unit snesync hashes, stores and compares.
 *
 * Two items carry the same data (contract README §4) exactly when their canonical forms are equal
 * byte for byte. The form is built while the XML is parsed, so namespace prefixes, attribute order,
 * indentation, encoding, character references, CDATA, comments and processing instructions have
 * already disappeared; this module removes what remains:
 *   - leading and trailing XML whitespace of every text value;
 *   - whitespace-only text between elements;
 *   - elements with no attribute, no text and no (remaining) child, recursively.
 * The order of the item's own children is kept: inside an item it is data.
 *
 * Encoding (bytes 0x01-0x04 cannot occur in XML 1.0 text, so it is unambiguous):
 *   item := node
 *   node := OPEN name NUL attr* (TEXT value NUL | node)* CLOSE
 *   attr := ATTR name NUL value NUL          attributes sorted by name, bytewise
 * Names are local names (the namespace is implied: only the SNE namespace is kept). */
#ifndef SNE_CANON_H
#define SNE_CANON_H

#include "../common/buffer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SNE_CANON_OPEN = 1, SNE_CANON_ATTR = 2, SNE_CANON_TEXT = 3, SNE_CANON_CLOSE = 4 };

/* The deepest nesting an item may have. The export's deepest item is 8 levels. */
#define SNE_CANON_MAX_DEPTH 64

/* An attribute handed to sne_canon_open; name and value are borrowed for the call only. */
typedef struct sne_canon_attr {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} sne_canon_attr;

typedef struct sne_canon_writer {
    sne_buf out;       /* the canonical item being built (owned) */
    sne_buf text;      /* text gathered for the innermost open element (owned), from its first
                          non-whitespace byte */
    size_t text_blank; /* whitespace that came before it: never copied (trimming would drop it)
                          but counted against text_cap, as if it were held */
    size_t depth;
    size_t name_end[SNE_CANON_MAX_DEPTH]; /* offset just past each open element's name NUL */
    size_t start[SNE_CANON_MAX_DEPTH];    /* offset of each open element's OPEN byte */
} sne_canon_writer;

/* `item_cap` bounds the canonical size of one item, `text_cap` one text value. */
void sne_canon_writer_init(sne_canon_writer *w, size_t item_cap, size_t text_cap);
void sne_canon_writer_free(sne_canon_writer *w);
/* Forgets the current item, keeps the memory. */
void sne_canon_writer_reset(sne_canon_writer *w);
/* Opens an element. `attrs` is reordered in place (sorted). Fails with SNE_ERR_LIMIT past
 * SNE_CANON_MAX_DEPTH or the item cap, SNE_ERR_INVALID on a control byte in a name or value. */
sne_err sne_canon_open(sne_canon_writer *w, const char *name, size_t name_len,
                       sne_canon_attr *attrs, size_t nattrs);
/* Adds character data to the innermost open element. */
sne_err sne_canon_text(sne_canon_writer *w, const uint8_t *s, size_t n);
/* Closes the innermost element, dropping it if it turned out empty. */
sne_err sne_canon_close(sne_canon_writer *w);
/* True when the item that was just closed at depth 0 was dropped as empty. */
static inline bool sne_canon_is_empty(const sne_canon_writer *w)
{
    return w->out.len == 0;
}

/* Reading a canonical form back, token by token. */
typedef struct sne_canon_token {
    int kind;         /* SNE_CANON_OPEN, _ATTR, _TEXT or _CLOSE */
    const char *name; /* OPEN and ATTR: borrowed from the input, NUL-terminated */
    size_t name_len;
    const char *value; /* ATTR and TEXT: borrowed from the input, NUL-terminated */
    size_t value_len;
} sne_canon_token;

typedef struct sne_canon_reader {
    const uint8_t *p;
    const uint8_t *end;
    size_t depth;
} sne_canon_reader;

void sne_canon_reader_init(sne_canon_reader *r, const uint8_t *data, size_t len);
/* 1: a token was read into `t`; 0: the input ended cleanly (after the closing of the root);
 * -1: the input is not a canonical form (truncated, unbalanced, unknown byte). */
int sne_canon_next(sne_canon_reader *r, sne_canon_token *t);
/* True when `data` is one well-formed canonical node. */
bool sne_canon_valid(const uint8_t *data, size_t len);

#endif
