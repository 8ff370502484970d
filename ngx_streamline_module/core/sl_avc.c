
/*
 * Streamline core: the picture size of an H.264 stream from the sequence
 * parameter set of its AVCDecoderConfigurationRecord (ISO/IEC 14496-15
 * 5.3.3, H.264 7.3.2.1.1), for publishers whose metadata does not say it
 * (or says half of it) and whose SPS nginx-rtmp does not read.
 */


#include <string.h>

#include "sl_core.h"


#define SL_AVC_RBSP_MAX  512         /* an SPS is far smaller */


typedef struct {
    const uint8_t  *p;
    size_t          len;             /* bytes */
    size_t          pos;             /* bits read */
    int             overrun;
} sl_bits_t;


static unsigned sl_bits_u(sl_bits_t *b, unsigned n);
static uint32_t sl_bits_ue(sl_bits_t *b);
static int32_t sl_bits_se(sl_bits_t *b);
static void sl_avc_scaling_list(sl_bits_t *b, unsigned size);


int
sl_avc_size(const uint8_t *avcc, size_t len, int *width, int *height)
{
    size_t     i, n, sps_len;
    uint8_t    rbsp[SL_AVC_RBSP_MAX];
    uint32_t   profile, chroma, separate, poc_type, cycle, w, h, frame_mbs;
    uint32_t   crop_l, crop_r, crop_t, crop_b, unit_x, unit_y;
    sl_bits_t  b;

    /* version 1, at least one SPS, its NAL unit type 7 */

    if (len < 9 || avcc[0] != 1 || (avcc[5] & 0x1f) == 0) {
        return SL_ERROR;
    }

    sps_len = ((size_t) avcc[6] << 8) | avcc[7];

    if (sps_len < 4 || sps_len > len - 8 || (avcc[8] & 0x9f) != 7) {
        return SL_ERROR;
    }

    /* the RBSP: no emulation prevention bytes (00 00 03) */

    n = 0;

    for (i = 9; i < 8 + sps_len && n < sizeof(rbsp); i++) {
        if (avcc[i] == 3 && n >= 2 && rbsp[n - 1] == 0 && rbsp[n - 2] == 0) {
            continue;
        }

        rbsp[n++] = avcc[i];
    }

    b.p = rbsp;
    b.len = n;
    b.pos = 0;
    b.overrun = 0;

    profile = sl_bits_u(&b, 8);
    (void) sl_bits_u(&b, 16);                 /* constraints, level */
    (void) sl_bits_ue(&b);                    /* seq_parameter_set_id */

    chroma = 1;
    separate = 0;

    if (profile == 100 || profile == 110 || profile == 122 || profile == 244
        || profile == 44 || profile == 83 || profile == 86 || profile == 118
        || profile == 128 || profile == 138 || profile == 139
        || profile == 134 || profile == 135)
    {
        chroma = sl_bits_ue(&b);

        if (chroma > 3) {
            return SL_ERROR;
        }

        if (chroma == 3) {
            separate = sl_bits_u(&b, 1);
        }

        (void) sl_bits_ue(&b);                /* bit depths */
        (void) sl_bits_ue(&b);
        (void) sl_bits_u(&b, 1);              /* transform bypass */

        if (sl_bits_u(&b, 1)) {               /* scaling matrix */
            for (i = 0; i < ((chroma != 3) ? 8 : 12); i++) {
                if (sl_bits_u(&b, 1)) {
                    sl_avc_scaling_list(&b, (i < 6) ? 16 : 64);
                }
            }
        }
    }

    (void) sl_bits_ue(&b);                    /* log2_max_frame_num */

    poc_type = sl_bits_ue(&b);

    if (poc_type == 0) {
        (void) sl_bits_ue(&b);

    } else if (poc_type == 1) {
        (void) sl_bits_u(&b, 1);
        (void) sl_bits_se(&b);
        (void) sl_bits_se(&b);
        cycle = sl_bits_ue(&b);

        if (cycle > 255) {
            return SL_ERROR;
        }

        for (i = 0; i < cycle; i++) {
            (void) sl_bits_se(&b);
        }

    } else if (poc_type != 2) {
        return SL_ERROR;
    }

    (void) sl_bits_ue(&b);                    /* max_num_ref_frames */
    (void) sl_bits_u(&b, 1);                  /* gaps allowed */

    w = sl_bits_ue(&b) + 1;                   /* in macroblocks */
    h = sl_bits_ue(&b) + 1;                   /* in map units */
    frame_mbs = sl_bits_u(&b, 1);

    if (!frame_mbs) {
        (void) sl_bits_u(&b, 1);              /* mb_adaptive_frame_field */
    }

    (void) sl_bits_u(&b, 1);                  /* direct_8x8_inference */

    crop_l = crop_r = crop_t = crop_b = 0;

    if (sl_bits_u(&b, 1)) {
        crop_l = sl_bits_ue(&b);
        crop_r = sl_bits_ue(&b);
        crop_t = sl_bits_ue(&b);
        crop_b = sl_bits_ue(&b);
    }

    if (b.overrun || w > 1024 || h > 1024) {
        return SL_ERROR;
    }

    /* H.264 Table 6-1 and (7-19) to (7-22) */

    if (separate || chroma == 0) {
        unit_x = 1;
        unit_y = 2 - frame_mbs;

    } else {
        unit_x = (chroma == 3) ? 1 : 2;
        unit_y = ((chroma == 1) ? 2 : 1) * (2 - frame_mbs);
    }

    w *= 16;
    h *= 16 * (2 - frame_mbs);

    if (crop_l > w || crop_r > w || crop_t > h || crop_b > h
        || (uint64_t) unit_x * (crop_l + crop_r) >= w
        || (uint64_t) unit_y * (crop_t + crop_b) >= h)
    {
        return SL_ERROR;
    }

    *width = (int) (w - unit_x * (crop_l + crop_r));
    *height = (int) (h - unit_y * (crop_t + crop_b));

    return SL_OK;
}


static void
sl_avc_scaling_list(sl_bits_t *b, unsigned size)
{
    int32_t   last, next, delta;
    unsigned  j;

    last = 8;
    next = 8;

    for (j = 0; j < size && !b->overrun; j++) {
        if (next != 0) {
            delta = sl_bits_se(b);

            if (delta < -128 || delta > 127) {
                b->overrun = 1;
                return;
            }

            next = (last + delta + 256) % 256;
        }

        last = (next == 0) ? last : next;
    }
}


static unsigned
sl_bits_u(sl_bits_t *b, unsigned n)
{
    unsigned  v;

    v = 0;

    while (n--) {
        if (b->pos >= b->len * 8) {
            b->overrun = 1;
            return 0;
        }

        v = (v << 1) | ((b->p[b->pos / 8] >> (7 - b->pos % 8)) & 1);
        b->pos++;
    }

    return v;
}


/* Exp-Golomb, at most 31 leading zeros (values below 2^32 - 1) */

static uint32_t
sl_bits_ue(sl_bits_t *b)
{
    unsigned  zeros;

    for (zeros = 0; sl_bits_u(b, 1) == 0; zeros++) {
        if (b->overrun || zeros == 31) {
            b->overrun = 1;
            return 0;
        }
    }

    return ((uint32_t) 1 << zeros) - 1 + sl_bits_u(b, zeros);
}


static int32_t
sl_bits_se(sl_bits_t *b)
{
    uint32_t  v;

    v = sl_bits_ue(b);

    return (v & 1) ? (int32_t) ((v + 1) / 2) : -(int32_t) (v / 2);
}
