/*
 * Unit tests of the core, continued (see sl_core_test.c): the frame size
 * in an H.264 SPS (sl_avc.c), on SPS made bit by bit.
 */


#include <stdint.h>
#include <string.h>

#include "sl_core_test.h"


/* a bit writer for the SPS made by hand below */

typedef struct {
    uint8_t  buf[128];
    size_t   pos;
} sl_bw_t;


static void
sl_bw_u(sl_bw_t *w, uint32_t v, unsigned n)
{
    while (n--) {
        if ((v >> n) & 1) {
            w->buf[w->pos / 8] |= (uint8_t) (0x80 >> (w->pos % 8));
        }

        w->pos++;
    }
}


static void
sl_bw_ue(sl_bw_t *w, uint32_t v)
{
    unsigned  bits;

    for (bits = 0; ((v + 1) >> bits) > 1; bits++) { /* void */ }

    sl_bw_u(w, 0, bits);
    sl_bw_u(w, v + 1, bits + 1);
}


static void
sl_bw_se(sl_bw_t *w, int32_t v)
{
    sl_bw_ue(w, v > 0 ? (uint32_t) (2 * v - 1) : (uint32_t) (-2 * v));
}


static size_t
sl_hex(const char *hex, uint8_t *out)
{
    size_t  n;

    for (n = 0; hex[2 * n] && hex[2 * n + 1]; n++) {
        sscanf(hex + 2 * n, "%2hhx", &out[n]);
    }

    return n;
}


void
test_avc_size(sl_tap_t *t)
{
    int       w, h;
    size_t    i, n;
    uint8_t   avcc[256];
    sl_bw_t   bw;

    /* sequence headers of libx264 (ffmpeg -f flv) */
    static const struct {
        const char  *what;
        const char  *hex;
        int          w, h;
    } cases[] = {
        { "320x180 High (bottom crop)",
          "0164000dffe1001a6764000dacd941419f9f0110000003001000000303c0f1"
          "42996001000668ebe3cb22c0fdf8f800", 320, 180 },
        { "1920x1080 Constrained Baseline",
          "0142c028ffe100196742c028da01e0089f970110000003001000000303c0f1"
          "832a01000468ce0fc8", 1920, 1080 },
        { "642x362 (crop on both sides)",
          "0142c01effe1001a6742c01ed900a42fe224c044000003000400000300f03c"
          "58b92001000568cb83cb20", 642, 362 },
        { "320x240 High 4:4:4",
          "01f4000dffe1001967f4000d919b28283f6022000003000200000300781e28"
          "532c01000668ebe3c44844fff8f800", 320, 240 },
        { "720x576 interlaced",
          "0164001fffe100186764001facd940b424d80880000003008000001e0f8b16"
          "cb01000668fba3cb22c0fdf8f800", 720, 576 },
        { "322x182 High 4:2:2",
          "017a000dffe1001b677a000dbcd941519e222f0110000003001000000303c0"
          "f142996001000668ebe3cb22c0fef8f800", 322, 182 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = sl_hex(cases[i].hex, avcc);
        w = h = -1;
        sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_OK
              && w == cases[i].w && h == cases[i].h,
              "avc size: %s", cases[i].what);

        /* the NAL header byte nginx-rtmp wants (0x67) or not: the same */
        avcc[8] = 0x27;
        sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_OK
              && w == cases[i].w && h == cases[i].h,
              "avc size: %s, SPS NAL byte 0x27", cases[i].what);

        sl_ok(t, sl_avc_size(avcc, 20, &w, &h) == SL_ERROR,
              "avc size: %s cut short: refused", cases[i].what);
    }

    /* by hand: scaling lists, pic_order_cnt_type 1, an emulation byte */

    memset(&bw, 0, sizeof(bw));
    sl_bw_u(&bw, 100, 8);                     /* High */
    sl_bw_u(&bw, 0, 8);
    sl_bw_u(&bw, 40, 8);
    sl_bw_ue(&bw, 0);                         /* sps id */
    sl_bw_ue(&bw, 1);                         /* 4:2:0 */
    sl_bw_ue(&bw, 0);
    sl_bw_ue(&bw, 0);
    sl_bw_u(&bw, 0, 1);
    sl_bw_u(&bw, 1, 1);                       /* scaling matrix */

    for (i = 0; i < 8; i++) {
        if (i == 0) {
            sl_bw_u(&bw, 1, 1);
            sl_bw_se(&bw, -8);                /* next 0: the rest default */

        } else if (i == 6) {
            sl_bw_u(&bw, 1, 1);

            for (n = 0; n < 64; n++) {
                sl_bw_se(&bw, (n % 2) ? 1 : -1);
            }

        } else {
            sl_bw_u(&bw, 0, 1);
        }
    }

    sl_bw_ue(&bw, 0);                         /* log2_max_frame_num */
    sl_bw_ue(&bw, 1);                         /* pic_order_cnt_type 1 */
    sl_bw_u(&bw, 0, 1);
    sl_bw_se(&bw, 1);
    sl_bw_se(&bw, -1);
    sl_bw_ue(&bw, 2);
    sl_bw_se(&bw, 3);
    sl_bw_se(&bw, -3);
    sl_bw_ue(&bw, 1);                         /* max_num_ref_frames */
    sl_bw_u(&bw, 0, 1);
    sl_bw_ue(&bw, 79);                        /* 1280 */
    sl_bw_ue(&bw, 44);                        /* 720 */
    sl_bw_u(&bw, 1, 1);
    sl_bw_u(&bw, 1, 1);
    sl_bw_u(&bw, 0, 1);                       /* no cropping */
    sl_bw_u(&bw, 0, 1);                       /* no VUI */
    sl_bw_u(&bw, 1, 1);                       /* stop bit */

    n = (bw.pos + 7) / 8;

    memset(avcc, 0, sizeof(avcc));
    avcc[0] = 1;
    avcc[1] = 100;
    avcc[3] = 40;
    avcc[4] = 0xff;
    avcc[5] = 0xe1;
    avcc[6] = 0;
    avcc[7] = (uint8_t) (n + 1);
    avcc[8] = 0x67;
    memcpy(avcc + 9, bw.buf, n);

    w = h = -1;
    sl_ok(t, sl_avc_size(avcc, 9 + n, &w, &h) == SL_OK
          && w == 1280 && h == 720,
          "avc size: scaling lists and pic_order_cnt_type 1");

    /*
     * profile 66, constraints 0, level 0, then a first byte of 02: the
     * encoder wrote 00 00 03 02, and the 03 is no data
     */
    memset(&bw, 0, sizeof(bw));
    sl_bw_ue(&bw, 63);                        /* sps id: 0000001000000 */
    sl_bw_ue(&bw, 0);                         /* log2_max_frame_num */
    sl_bw_ue(&bw, 2);                         /* pic_order_cnt_type 2 */
    sl_bw_ue(&bw, 1);
    sl_bw_u(&bw, 0, 1);
    sl_bw_ue(&bw, 39);                        /* 640 */
    sl_bw_ue(&bw, 22);                        /* 368, cropped to 360 */
    sl_bw_u(&bw, 1, 1);
    sl_bw_u(&bw, 1, 1);
    sl_bw_u(&bw, 1, 1);                       /* cropping */
    sl_bw_ue(&bw, 0);
    sl_bw_ue(&bw, 0);
    sl_bw_ue(&bw, 0);
    sl_bw_ue(&bw, 4);
    sl_bw_u(&bw, 0, 1);
    sl_bw_u(&bw, 1, 1);
    n = (bw.pos + 7) / 8;

    avcc[9] = 66;
    avcc[10] = 0;
    avcc[11] = 0;
    avcc[12] = 3;
    memcpy(avcc + 13, bw.buf, n);
    avcc[7] = (uint8_t) (n + 5);

    w = h = -1;
    sl_ok(t, bw.buf[0] == 2 && sl_avc_size(avcc, 13 + n, &w, &h) == SL_OK
          && w == 640 && h == 360,
          "avc size: an emulation prevention byte");

    /* not an SPS, not version 1, no SPS, a length past the end */
    n = sl_hex("0164000dffe1001a6764000dacd941419f9f0110000003001000000303c0f1"
               "42996001000668ebe3cb22c0fdf8f800", avcc);
    avcc[8] = 0x68;
    sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_ERROR,
          "avc size: a PPS where the SPS should be: refused");
    avcc[8] = 0x67;
    avcc[0] = 2;
    sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_ERROR,
          "avc size: version 2 refused");
    avcc[0] = 1;
    avcc[5] = 0xe0;
    sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_ERROR,
          "avc size: no SPS refused");
    avcc[5] = 0xe1;
    avcc[7] = 200;
    sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_ERROR,
          "avc size: an SPS longer than the record refused");
}
