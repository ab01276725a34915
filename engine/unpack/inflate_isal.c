/* inflate_isal.c: inflate.h on ISA-L's igzip (libisal), which also checks the gzip trailer.
 *
 * crc_flag ISAL_GZIP_NO_HDR_VER: the deflate data, then the 8-byte trailer compared by igzip
 * with the CRC-32 it computes while decoding and with its output length (mod 2^32). igzip's
 * counts are 32-bit: longer buffers are fed in pieces. */
#include "inflate.h"

#include <isa-l/igzip_lib.h>

#include <stdlib.h>

const char sne_inflate_backend[] = "isal";

struct sne_inflate {
    struct inflate_state st; /* about 100 KiB: its output window and tables */
};

sne_inflate *sne_inflate_new(void)
{
    sne_inflate *z = malloc(sizeof(*z));
    if (z)
        sne_inflate_reset(z);
    return z;
}

void sne_inflate_reset(sne_inflate *z)
{
    isal_inflate_init(&z->st);
    z->st.crc_flag = ISAL_GZIP_NO_HDR_VER;
}

static uint32_t piece(size_t n)
{
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

sne_inflate_status sne_inflate_run(sne_inflate *z, const uint8_t **in, size_t *in_len,
                                   uint8_t **out, size_t *out_room)
{
    for (;;) {
        uint32_t in_piece = piece(*in_len), out_piece = piece(*out_room);
        z->st.next_in = (uint8_t *)(uintptr_t)*in; /* igzip does not write its input */
        z->st.avail_in = in_piece;
        z->st.next_out = *out;
        z->st.avail_out = out_piece;
        int rc = isal_inflate(&z->st);
        *in_len -= in_piece - z->st.avail_in;
        *in = z->st.next_in;
        *out_room -= out_piece - z->st.avail_out;
        *out = z->st.next_out;
        if (rc == ISAL_INCORRECT_CHECKSUM)
            return SNE_INFLATE_MISMATCH;
        if (rc != ISAL_DECOMP_OK)
            return SNE_INFLATE_BAD;
        if (z->st.block_state == ISAL_BLOCK_FINISH)
            return SNE_INFLATE_END;
        /* igzip returns once its input piece is used up or its output piece is full: go on only
         * when that piece was cut from a longer buffer */
        if (*in_len == 0 || *out_room == 0 || (z->st.avail_in != 0 && z->st.avail_out != 0))
            return SNE_INFLATE_MORE;
    }
}

void sne_inflate_free(sne_inflate *z)
{
    free(z);
}
