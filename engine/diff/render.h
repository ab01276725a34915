/* render.h: the JSON view of a canonical item, and the list of what changed between two items.
 *
 * This is the contract the SI integrators code against; it is implemented exactly as written here.
 *
 * The JSON value of an element node N is:
 *   1. if N's name is a sequence container (sne_schema_is_sequence(), schema/sequences.def): a
 *      JSON array of the values of its child elements in document order (its own attributes and
 *      text, which the schema never gives it, are ignored);
 *   2. else if N has no attribute and no child element: its text as a JSON string (the
 *      concatenation of its TEXT segments; "" if none);
 *   3. else a JSON object whose members are, in this order: its attributes (name -> string, in the
 *      canonical, sorted order), then "#text" -> string if it has text, then its child elements
 *      grouped by name in order of first appearance: a name that occurs once maps to that child's
 *      value; a name that occurs more than once maps to an array of the values in document order.
 * The JSON of an item is the value of its root node (the root's name does not appear). Example:
 *   <evenement><idEvenement>A1</idEvenement><typeEvenement code="RECTIF"/></evenement>
 *   -> {"idEvenement":"A1","typeEvenement":{"code":"RECTIF"}}
 * Strings are escaped as sne_buf_append_json_string() does: `"` and `\` backslashed, bytes below
 * 0x20 as \u00XX, invalid UTF-8 replaced by U+FFFD, everything else (including `/`, `<`, `&` and
 * non-ASCII UTF-8) written as is. The output is compact (no whitespace).
 *
 * An attribute and a child element with the same name (XML allows it; the export never does it)
 * give an object with two members of that name, both written, attribute first.
 *
 * Changed paths: the leaves of an item are exactly the JSON strings of the mapping above, each
 * named by its RFC 6901 pointer relative to the item's JSON value, built from member names and
 * array indices (`~` escaped as `~0`, `/` as `~1`): "/personnePhysique/demandeur/nom",
 * "/typeEvenement/code", "/logementRecherche/listeLocalisationSouhaitee/2/commune/code", "/#text";
 * an item whose root is a plain text element has one leaf, "". A leaf changed when it is present
 * on one side only or when its bytes differ (the canonical bytes are compared, before any U+FFFD
 * replacement). A change of shape reports every leaf of both shapes: a member that turns from
 * "x" into ["x","y"] (a second occurrence appeared) reports "/m", "/m/0" and "/m/1".
 *
 * Ownership and limits: `canon`, `before` and `after` are borrowed for the call only. Output is
 * appended to the caller's `out` through the sne_buf API only, so `out`'s cap holds: a result that
 * does not fit returns SNE_ERR_LIMIT. On any error `out` is truncated back to its length at entry
 * (its allocation may have grown). Work memory is proportional to the item (about 90 bytes per
 * element), taken from the stack for small items (8 KiB per item) and from one malloc per item
 * otherwise, and freed before return; the changed-path list also holds the changed pointers
 * themselves, bounded by about twice the room left in `out`. Items larger than 4 GiB are refused
 * with SNE_ERR_LIMIT. The functions keep no state and are safe to call from several threads on
 * distinct buffers.
 *
 * Validity: an input is a valid canonical form when sne_canon_valid() accepts it and, in addition,
 * each element's attributes come right after its name, in strictly increasing bytewise order (the
 * grammar of canon.h). Anything else is SNE_ERR_CORRUPT: a stored item that does not decode. */
#ifndef SNE_RENDER_H
#define SNE_RENDER_H

#include "../common/buffer.h"

#include <stddef.h>
#include <stdint.h>

/* Appends the JSON value of the canonical item `canon` (len bytes) to `out`.
 * SNE_ERR_CORRUPT if canon is not a valid canonical form; SNE_ERR_LIMIT/NOMEM from the buffer. */
sne_err sne_render_json(const uint8_t *canon, size_t len, sne_buf *out);

/* Appends to `out` a JSON array of the RFC 6901 pointers (relative to the item's JSON value) of the
 * string leaves that differ between the two items (value differs, or present on one side only),
 * sorted bytewise, without duplicates. Equal items give `[]`.
 * SNE_ERR_CORRUPT if either input is not a valid canonical form; SNE_ERR_LIMIT/NOMEM otherwise. */
sne_err sne_render_changed_paths(const uint8_t *before, size_t blen, const uint8_t *after,
                                 size_t alen, sne_buf *out);

#endif
