/* tree.h: a canonical item (canon.h) as a flat tree of token offsets, which the JSON rendering
 * (render.c) and the changed paths (paths.c) walk.
 *
 * An item is read twice: the first pass validates it and counts its elements and text segments, so
 * the second can build the tree into one block (from the stack for small items, else one malloc).
 * Each node keeps offsets into the input, never copies: names, attribute values and text are
 * NUL-terminated there. The grouping of children by name is computed once per element by sorting
 * its children by (name, document order); that order also drives the diff's merge of members.
 * tree_build takes the inputs render.h calls valid; anything else is SNE_ERR_CORRUPT. */
#ifndef SNE_TREE_H
#define SNE_TREE_H

#include "snesync.h"

#include <stddef.h>
#include <stdint.h>

#define NONE UINT32_MAX

enum { K_STR, K_OBJ, K_SEQ };

typedef struct node {
    uint32_t name; /* offset of the NUL-terminated name in the input */
    uint32_t name_len;
    uint32_t attrs; /* offset of the first ATTR token: just past the name's NUL */
    uint32_t nattr;
    uint32_t seg_first, seg_last, nseg; /* its TEXT segments, a list in document order */
    uint32_t first_child, last_child, next_sibling, nchild;
    uint32_t group_next; /* next sibling of the same name, document order */
    uint32_t group_size; /* on the first of its name among its siblings: how many; else 0 */
    uint32_t head_first; /* the first of the child groups, by name */
    uint32_t head_next;  /* on a group's first element: the next group of the parent, by name */
    uint32_t kind;
} node;

typedef struct seg {
    uint32_t off, len, next;
} seg;

typedef struct sortkey {
    const char *name;
    uint32_t idx;
} sortkey;

/* A member of an object being written: an attribute, the element's text ("#text") or the child
 * elements of one name. */
typedef enum member_kind { M_ATTR, M_TEXT, M_CHILDREN } member_kind;
typedef struct member {
    const uint8_t *name;
    size_t name_len;
    member_kind kind;
    const uint8_t *val; /* M_ATTR: the value */
    size_t val_len;
    uint32_t node; /* M_TEXT: the element; M_CHILDREN: the first child of the name */
    uint32_t pos;  /* its place in the mapping's order */
} member;

typedef struct tree {
    const uint8_t *in;
    node *nodes;
    seg *segs;
    sortkey *keys;   /* scratch for grouping, one per node */
    member *members; /* scratch for writing: the objects open on the way down take turns */
    size_t members_used;
    void *heap;     /* the block holding the arrays when they did not fit on the stack */
    sne_buf concat; /* text of elements with several segments (mixed content); rare */
} tree;

/* Stack room for the tree of a small item (an event, a priority: a few dozen elements). */
#define STACK_TREE_BYTES 16384
typedef union stack_block {
    max_align_t align;
    unsigned char bytes[STACK_TREE_BYTES];
} stack_block;

/* Builds the tree of `in` (the caller's `stack` holds a small one). On success the caller frees it
 * with tree_free, whatever happens next. */
sne_err tree_build(tree *t, const uint8_t *in, size_t len, stack_block *stack);
void tree_free(tree *t);
/* The text of element `n`: borrowed from the input, or from t->concat when it has several
 * segments (valid until the next call for the same tree). */
sne_err tree_text(tree *t, uint32_t n, const uint8_t **s, size_t *len);
/* Reads the ATTR token at *p (validated input), advancing past it. */
void tree_next_attr(const uint8_t **p, const char **name, size_t *nl, const char **val, size_t *vl);

#endif
