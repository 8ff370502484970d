/*
 * Unit tests of the DVR index and the HLS playlists, continued (see
 * sl_media_test.c): the index moved to another address, and the copy a
 * reader renders outside the lock.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_media_test.h"


static int sl_same_copy(sl_dvr_t *dvr);


void
test_relocate(sl_tap_t *t)
{
    int         i;
    size_t      size;
    sl_dvr_t   *dvr, *copy;
    sl_text_t   a, b;

    dvr = sl_new(30, 8, 20000000, 2, 500000);
    size = sl_dvr_size(30, 8);

    for (i = 0; i < 40; i++) {
        sl_seg(dvr, 0, 4, PDT0 + 2000 * i, 1, SL_SEG_INDEPENDENT);
        sl_dvr_trim(dvr, (sl_dvr_drop_t[8]) { { 0 } }, 8);
    }

    sl_dvr_segment_start(dvr, PDT0 + 80000, 1, SL_SEG_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 1, SL_PART_INDEPENDENT);

    /* another address, as another process maps the zone */

    copy = malloc(size);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, dvr, size);
    memset(dvr, 0, size);

    a = sl_render(copy, &(sl_hls_opts_t) { .parts = 1 });
    sl_ok(t, sl_check_ok(t, &a, NULL, "relocate: copy renders"),
          "relocate: the copy renders");

    sl_ok(t, sl_dvr_part_add(copy, 500000, 1, 0) == SL_OK
          && sl_dvr_segment_close(copy, 0, 0, NULL) == SL_OK,
          "relocate: the copy takes appends");

    memcpy(dvr, copy, size);
    a.len = 0;
    free(a.text);

    a = sl_render(dvr, &(sl_hls_opts_t) { .parts = 1 });
    b = sl_render(copy, &(sl_hls_opts_t) { .parts = 1 });
    sl_ok(t, a.len == b.len && memcmp(a.text, b.text, a.len) == 0,
          "relocate: both copies render the same bytes");

    free(a.text);
    free(b.text);
    free(copy);
    free(dvr);
}


/*
 * The copy a reader renders outside the lock (issue 9 case 15): the same
 * bytes as the index itself, whatever the state of the ring.
 */
void
test_copy(sl_tap_t *t)
{
    int              i, ok;
    size_t           size;
    sl_dvr_t        *dvr;
    uint64_t         block[8];
    sl_dvr_drop_t    drops[8];

    dvr = sl_new(30, 8, 20000000, 2, 500000);

    sl_ok(t, sl_same_copy(dvr), "copy: an empty index");

    sl_dvr_segment_start(dvr, PDT0, 1, SL_SEG_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 1, SL_PART_INDEPENDENT);
    sl_ok(t, sl_same_copy(dvr), "copy: a first part");

    sl_dvr_segment_close(dvr, 0, 0, NULL);

    ok = 1;

    /* the ring wraps several times, trimmed by the window */

    for (i = 1; i < 100; i++) {
        sl_seg(dvr, 0, 4, PDT0 + 2000 * i, 1 + i / 40,
               (i % 7 == 0) ? SL_SEG_DISCONTINUITY : SL_SEG_INDEPENDENT);

        while (sl_dvr_trim(dvr, drops, 8) == 8) { /* void */ }

        ok = ok && sl_same_copy(dvr);
    }

    sl_ok(t, ok, "copy: at every step of a wrapping ring");

    sl_dvr_segment_start(dvr, PDT0 + 300000, 3, SL_SEG_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 1, SL_PART_INDEPENDENT);
    sl_dvr_part_add(dvr, 400000, 1, 0);
    sl_ok(t, sl_same_copy(dvr), "copy: an open segment with parts");

    sl_dvr_end(dvr);
    sl_ok(t, sl_same_copy(dvr), "copy: an ended index");

    size = sl_dvr_copy_size(dvr);
    sl_ok(t, size < sl_dvr_size(30, 8)
          && sl_dvr_copy(dvr, block, sizeof(block)) == NULL,
          "copy: smaller than the index, NULL when the block is too small");

    free(dvr);

    /* a ring full to its last slot, without trims (the window is long) */

    dvr = sl_new(10, 0, 3600000000ULL, 2, 0);

    for (i = 0; i < 11; i++) {
        sl_seg(dvr, 2000000, 0, PDT0 + 2000 * i, 1, SL_SEG_INDEPENDENT);
    }

    sl_ok(t, dvr->next_msn - dvr->first_msn == 11 && sl_same_copy(dvr),
          "copy: a full ring");

    free(dvr);
}


/* every kind of playlist, and the last segment and part, as the index */

static int
sl_same_copy(sl_dvr_t *dvr)
{
    int              ok;
    size_t           i, size;
    int64_t          p1, p2;
    uint64_t         m1, m2;
    sl_dvr_t        *copy;
    sl_text_t        a, b;
    unsigned char   *block;
    sl_hls_opts_t    opts[4];

    size = sl_dvr_copy_size(dvr);

    block = malloc(size + 64);
    if (block == NULL) {
        abort();
    }

    memset(block, CANARY, size + 64);

    copy = sl_dvr_copy(dvr, block, size);
    if (copy == NULL) {
        free(block);
        return 0;
    }

    memset(opts, 0, sizeof(opts));
    opts[1].parts = 1;
    opts[1].block = 1;
    opts[2] = opts[1];
    opts[2].can_skip_until_us = 12000000;
    opts[3] = opts[2];
    opts[3].skip = 1;

    ok = 1;

    for (i = 0; i < 4; i++) {
        a = sl_render(dvr, &opts[i]);
        b = sl_render(copy, &opts[i]);
        ok = ok && a.len == b.len && memcmp(a.text, b.text, a.len) == 0;
        free(a.text);
        free(b.text);
    }

    if (sl_dvr_last(dvr, &m1, &p1) == SL_OK) {
        ok = ok && sl_dvr_last(copy, &m2, &p2) == SL_OK
             && m1 == m2 && p1 == p2;

    } else {
        ok = ok && sl_dvr_last(copy, &m2, &p2) == SL_DECLINED;
    }

    for (i = size; i < size + 64; i++) {
        ok = ok && block[i] == CANARY;
    }

    free(block);

    return ok;
}
