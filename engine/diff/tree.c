/* tree.c: building the flat tree of tree.h. */
#include "tree.h"

#include "../canon/canon.h"
#include "../common/schema.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Validates `in` and counts its elements and text segments. */
static sne_err scan(const uint8_t *in, size_t len, uint32_t *nnodes, uint32_t *nsegs,
                    uint32_t *nattrs)
{
    if (len > UINT32_MAX)
        return SNE_ERR_LIMIT;
    if (len == 0 || in[0] != SNE_CANON_OPEN)
        return SNE_ERR_CORRUPT;
    sne_canon_reader r;
    sne_canon_token t;
    int rc, prev = 0;
    const char *prev_attr = NULL;
    uint32_t nn = 0, ns = 0, na = 0;
    sne_canon_reader_init(&r, in, len);
    while ((rc = sne_canon_next(&r, &t)) == 1) {
        switch (t.kind) {
        case SNE_CANON_OPEN:
            nn++;
            break;
        case SNE_CANON_ATTR:
            /* Attributes come right after the name, strictly sorted (canon.h grammar). */
            if (prev != SNE_CANON_OPEN && prev != SNE_CANON_ATTR)
                return SNE_ERR_CORRUPT;
            if (prev == SNE_CANON_ATTR && strcmp(prev_attr, t.name) >= 0)
                return SNE_ERR_CORRUPT;
            prev_attr = t.name;
            na++;
            break;
        case SNE_CANON_TEXT:
            ns++;
            break;
        default:
            break;
        }
        prev = t.kind;
    }
    if (rc != 0 || nn == 0)
        return SNE_ERR_CORRUPT;
    *nnodes = nn;
    *nsegs = ns;
    *nattrs = na;
    return SNE_OK;
}

static int sortkey_cmp(const void *a, const void *b)
{
    const sortkey *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static void sort_keys(sortkey *k, size_t n)
{
    if (n > 16) {
        qsort(k, n, sizeof(*k), sortkey_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        sortkey v = k[i];
        size_t j = i;
        while (j > 0 && sortkey_cmp(&k[j - 1], &v) > 0) {
            k[j] = k[j - 1];
            j--;
        }
        k[j] = v;
    }
}

/* Called when element `n` closes: all its children are known. */
static void finish_node(tree *t, uint32_t n)
{
    node *nd = &t->nodes[n];
    if (sne_schema_is_sequence((const char *)t->in + nd->name)) {
        nd->kind = K_SEQ;
        return;
    }
    if (nd->nattr == 0 && nd->nchild == 0) {
        nd->kind = K_STR;
        return;
    }
    nd->kind = K_OBJ;
    size_t k = 0;
    for (uint32_t c = nd->first_child; c != NONE; c = t->nodes[c].next_sibling)
        t->keys[k++] = (sortkey){(const char *)t->in + t->nodes[c].name, c};
    sort_keys(t->keys, k);
    uint32_t head = NONE, last = NONE;
    for (size_t i = 0; i < k; i++) {
        uint32_t c = t->keys[i].idx;
        if (i == 0 || strcmp(t->keys[i].name, t->keys[i - 1].name) != 0) {
            if (head == NONE)
                nd->head_first = c;
            else
                t->nodes[head].head_next = c;
            head = c;
            t->nodes[c].group_size = 1;
        } else {
            t->nodes[last].group_next = c;
            t->nodes[head].group_size++;
        }
        last = c;
    }
}

void tree_free(tree *t)
{
    free(t->heap);
    t->heap = NULL;
    sne_buf_free(&t->concat);
}

sne_err tree_build(tree *t, const uint8_t *in, size_t len, stack_block *stack)
{
    uint32_t nn, ns, na;
    memset(t, 0, sizeof(*t));
    sne_buf_init(&t->concat, len);
    sne_err rc = scan(in, len, &nn, &ns, &na);
    if (rc)
        return rc;
    /* An object has at most one member per attribute, per child and for its text: the members of
     * the objects open at once never pass na + 2 nn. */
    size_t nm = (size_t)na + 2 * (size_t)nn;
    size_t need = (size_t)nn * (sizeof(node) + sizeof(sortkey)) + nm * sizeof(member) +
                  (size_t)ns * sizeof(seg);
    unsigned char *block;
    if (need <= sizeof(stack->bytes)) {
        block = stack->bytes;
    } else {
        block = t->heap = malloc(need);
        if (!block)
            return SNE_ERR_NOMEM;
    }
    /* sortkey and member (holding pointers) first, then the uint32_t-only arrays. */
    t->in = in;
    t->keys = (sortkey *)block;
    t->members = (member *)(block + (size_t)nn * sizeof(sortkey));
    t->nodes = (node *)((unsigned char *)t->members + nm * sizeof(member));
    t->segs = (seg *)((unsigned char *)t->nodes + (size_t)nn * sizeof(node));

    sne_canon_reader r;
    sne_canon_token tok;
    uint32_t stack_nodes[SNE_CANON_MAX_DEPTH];
    size_t depth = 0;
    uint32_t n_used = 0, s_used = 0;
    sne_canon_reader_init(&r, in, len);
    while (sne_canon_next(&r, &tok) == 1) {
        uint32_t top = depth ? stack_nodes[depth - 1] : NONE;
        switch (tok.kind) {
        case SNE_CANON_OPEN: {
            uint32_t n = n_used++;
            node *nd = &t->nodes[n];
            *nd = (node){.name = (uint32_t)((const uint8_t *)tok.name - in),
                         .name_len = (uint32_t)tok.name_len,
                         .attrs = (uint32_t)(r.p - in),
                         .seg_first = NONE,
                         .seg_last = NONE,
                         .first_child = NONE,
                         .last_child = NONE,
                         .next_sibling = NONE,
                         .group_next = NONE,
                         .head_first = NONE,
                         .head_next = NONE};
            if (top != NONE) {
                node *p = &t->nodes[top];
                if (p->last_child == NONE)
                    p->first_child = n;
                else
                    t->nodes[p->last_child].next_sibling = n;
                p->last_child = n;
                p->nchild++;
            }
            stack_nodes[depth++] = n;
            break;
        }
        case SNE_CANON_ATTR:
            t->nodes[top].nattr++;
            break;
        case SNE_CANON_TEXT: {
            uint32_t s = s_used++;
            node *p = &t->nodes[top];
            t->segs[s] =
                (seg){(uint32_t)((const uint8_t *)tok.value - in), (uint32_t)tok.value_len, NONE};
            if (p->seg_last == NONE)
                p->seg_first = s;
            else
                t->segs[p->seg_last].next = s;
            p->seg_last = s;
            p->nseg++;
            break;
        }
        case SNE_CANON_CLOSE:
            finish_node(t, stack_nodes[--depth]);
            break;
        }
    }
    return SNE_OK;
}

sne_err tree_text(tree *t, uint32_t n, const uint8_t **s, size_t *len)
{
    const node *nd = &t->nodes[n];
    if (nd->nseg == 0) {
        *s = (const uint8_t *)"";
        *len = 0;
        return SNE_OK;
    }
    const seg *g = &t->segs[nd->seg_first];
    if (nd->nseg == 1) {
        *s = t->in + g->off;
        *len = g->len;
        return SNE_OK;
    }
    sne_buf_reset(&t->concat);
    for (uint32_t i = nd->seg_first; i != NONE; i = t->segs[i].next) {
        sne_err rc = sne_buf_append(&t->concat, t->in + t->segs[i].off, t->segs[i].len);
        if (rc)
            return rc;
    }
    *s = t->concat.data;
    *len = t->concat.len;
    return SNE_OK;
}

void tree_next_attr(const uint8_t **p, const char **name, size_t *nl, const char **val, size_t *vl)
{
    const char *s = (const char *)*p + 1;
    *name = s;
    *nl = strlen(s);
    s += *nl + 1;
    *val = s;
    *vl = strlen(s);
    *p = (const uint8_t *)s + *vl + 1;
}
