/*
 * Unit tests of the DVR index and the HLS playlists, one program: the
 * index's size, its operations, trims and capacity here; the playlists
 * rendered (sl_media_playlist_test.c), LL-HLS: parts, delta updates and
 * the request rules (sl_media_ll_test.c), the index moved and copied
 * (sl_media_copy_test.c), random operations and a concurrent reader
 * (sl_media_stress_test.c).  Prints TAP; exits 1 when a test fails.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_media_test.h"


static void test_sizes(sl_tap_t *t);
static void test_init(sl_tap_t *t);
static void test_ops(sl_tap_t *t);
static void test_trim(sl_tap_t *t);
static void test_capacity(sl_tap_t *t);
static void test_constant_time(sl_tap_t *t);
static void test_trim_before(sl_tap_t *t);


int
main(void)
{
    sl_tap_t  t;

    t.n = 0;
    t.failed = 0;

    test_sizes(&t);
    test_init(&t);
    test_plain(&t);
    test_ll(&t);
    test_ops(&t);
    test_trim(&t);
    test_capacity(&t);
    test_constant_time(&t);
    test_discontinuity(&t);
    test_pdt(&t);
    test_end(&t);
    test_skip(&t);
    test_parts_window(&t);
    test_raise(&t);
    test_round_trip(&t);
    test_small_buffer(&t);
    test_relocate(&t);
    test_copy(&t);
    test_trim_before(&t);
    test_threads(&t);
    test_master(&t);
    test_hls_request(&t);
    test_meta(&t);
    test_previews(&t);

    return sl_tap_done(&t);
}


static void
test_sizes(sl_tap_t *t)
{
    size_t  size;

    sl_ok(t, sizeof(sl_dvr_seg_t) == 56, "size: a segment record is 56 "
          "bytes (%zu)", sizeof(sl_dvr_seg_t));
    sl_ok(t, sizeof(sl_dvr_part_t) == 12, "size: a part record is 12 bytes");

    /* 4 hours of 2 s segments, up to 64 parts each (31 ms parts) */

    size = sl_dvr_size(7200, 64);
    sl_ok(t, size > 0 && size < 2 * 1024 * 1024,
          "size: 7200 segments x 64 parts: %zu bytes < 2 MB", size);

    size = sl_dvr_size(7200, SL_DVR_MAX_PARTS);
    sl_ok(t, size < 2 * 1024 * 1024,
          "size: 7200 segments x %u parts: %zu bytes < 2 MB",
          SL_DVR_MAX_PARTS, size);

    sl_ok(t, sl_dvr_size(7200, 8) < sl_dvr_size(7200, 64)
          && sl_dvr_size(7200, 64) - sl_dvr_size(7200, 8)
             == (size_t) 17 * 56 * 12,
          "size: parts cost 17 segments' worth, not 7200");
    sl_ok(t, sl_dvr_size(7201, 8) - sl_dvr_size(7200, 8) == 56,
          "size: one more segment, 56 bytes more");
    sl_ok(t, sl_dvr_size(0, 8) == 0, "size: 0 segments refused");
    sl_ok(t, sl_dvr_size(SL_DVR_MAX_SEGMENTS + 1, 8) == 0,
          "size: too many segments refused");
    sl_ok(t, sl_dvr_size(10, SL_DVR_MAX_PARTS + 1) == 0,
          "size: too many parts refused");
    sl_ok(t, sl_dvr_size(10, 0) > 0, "size: no parts at all");
    sl_ok(t, sl_dvr_size(10, 8) % 8 == 0, "size: a multiple of 8");
}


static void
test_init(sl_tap_t *t)
{
    size_t           size;
    uint64_t        *block;
    sl_dvr_params_t  p;

    memset(&p, 0, sizeof(p));
    p.max_segments = 10;
    p.max_parts = 4;
    p.window_us = 20000000;
    p.target_duration = 2;
    p.part_target_us = 500000;

    size = sl_dvr_size(10, 4);
    block = malloc(size + 8);
    if (block == NULL) {
        abort();
    }

    sl_ok(t, sl_dvr_init(block, size, &p) == (sl_dvr_t *) block,
          "init: exact size");
    sl_ok(t, sl_dvr_init(block, size - 1, &p) == NULL, "init: 1 byte short");
    sl_ok(t, sl_dvr_init((char *) block + 4, size, &p) == NULL,
          "init: misaligned block refused");

    p.window_us = 0;
    sl_ok(t, sl_dvr_init(block, size, &p) == NULL, "init: no window");
    p.window_us = 20000000;

    p.target_duration = 0;
    sl_ok(t, sl_dvr_init(block, size, &p) == NULL, "init: no target");
    p.target_duration = 2;

    p.max_parts = 5;
    sl_ok(t, sl_dvr_init(block, size, &p) == NULL,
          "init: more parts than sized for");

    free(block);
}


static void
test_ops(sl_tap_t *t)
{
    int64_t       part;
    uint64_t      msn;
    sl_dvr_t     *dvr;
    sl_dvr_seg_t  seg;

    dvr = sl_new(10, 2, 60000000, 2, 500000);

    sl_ok(t, sl_dvr_last(dvr, &msn, &part) == SL_DECLINED,
          "ops: nothing last yet");
    sl_ok(t, sl_dvr_part_add(dvr, 1000, 1, 0) == SL_ERROR,
          "ops: part without a segment refused");
    sl_ok(t, sl_dvr_segment_close(dvr, 1000, 1, &msn) == SL_ERROR,
          "ops: close without a segment refused");
    sl_ok(t, sl_dvr_segment_start(dvr, PDT0, 5, 0) == SL_OK,
          "ops: start");
    sl_ok(t, sl_dvr_segment_start(dvr, PDT0, 5, 0) == SL_ERROR,
          "ops: start twice refused");
    sl_ok(t, sl_dvr_segment_close(dvr, 0, 1, &msn) == SL_ERROR,
          "ops: zero duration without parts refused");
    sl_ok(t, sl_dvr_part_add(dvr, 0, 1, 0) == SL_ERROR,
          "ops: zero part refused");
    sl_ok(t, sl_dvr_part_add(dvr, 400000, 1, 0) == SL_OK
          && sl_dvr_part_add(dvr, 400000, 2, 0) == SL_OK,
          "ops: two parts");
    sl_ok(t, sl_dvr_part_add(dvr, 400000, 1, 0) == SL_ERROR,
          "ops: a third part is over max_parts");
    sl_ok(t, sl_dvr_last(dvr, &msn, &part) == SL_OK && msn == 0 && part == 1,
          "ops: last is the open segment's part 1");
    sl_ok(t, sl_dvr_segment(dvr, 0, &seg) == SL_OK && seg.nparts == 2
          && seg.duration_us == 800000 && seg.bytes == 3,
          "ops: the open segment is found");
    sl_ok(t, sl_dvr_segment_close(dvr, 5000000, 99, &msn) == SL_OK
          && msn == 0, "ops: close");
    sl_ok(t, sl_dvr_segment(dvr, 0, &seg) == SL_OK
          && seg.duration_us == 800000 && seg.bytes == 3,
          "ops: with parts, their sums win over the arguments");
    sl_ok(t, sl_dvr_parts(dvr, 0) != NULL
          && sl_dvr_parts(dvr, 0)[1].bytes == 2, "ops: part detail kept");
    sl_ok(t, sl_dvr_last(dvr, &msn, &part) == SL_OK && msn == 0 && part == 1,
          "ops: last is still 0.1");
    sl_ok(t, sl_dvr_segment(dvr, 1, &seg) == SL_DECLINED
          && sl_dvr_parts(dvr, 1) == NULL, "ops: segment 1 unknown");
    sl_ok(t, sl_dvr_segment_start(dvr, PDT0, 4, 0) == SL_ERROR,
          "ops: an init id going back refused");
    sl_ok(t, sl_dvr_segment_start(dvr, -5, 5, 0) == SL_OK
          && sl_dvr_segment(dvr, 1, &seg) == SL_OK && seg.pdt_ms == -1,
          "ops: an unknown wall clock");
    sl_ok(t, sl_dvr_last(dvr, &msn, &part) == SL_OK && msn == 0 && part == 1,
          "ops: an open segment without parts is not last");
    sl_ok(t, sl_dvr_segment_close(dvr, SL_DVR_MAX_DURATION + 1, 1, &msn)
          == SL_ERROR, "ops: a duration over the maximum refused");

    free(dvr);
}


static void
test_trim(sl_tap_t *t)
{
    int            i, ok;
    size_t         j, n;
    uint64_t       next;
    sl_dvr_t      *dvr;
    sl_text_t      pl;
    sl_dvr_drop_t  drop[3];

    /* a 10 s window of 2 s segments, a new init every 10 segments */

    dvr = sl_new(20, 4, 10000000, 2, 500000);

    next = 0;
    ok = 1;

    for (i = 0; i < 30; i++) {
        sl_seg(dvr, 0, 4, PDT0 + 2000 * i, 1 + i / 10, SL_SEG_INDEPENDENT);

        while ((n = sl_dvr_trim(dvr, drop, 3)) > 0) {
            for (j = 0; j < n; j++) {
                /* in order, with their parts; 9 and 19 end an init */

                if (drop[j].msn != next || drop[j].nparts != 4
                    || drop[j].init_id != 1 + next / 10
                    || drop[j].init_unused != (next % 10 == 9))
                {
                    ok = 0;
                }

                next++;
            }
        }

        /* the newest ends at 2(i+1) s: the segments ending 10 s before
         * it or later stay, 6 of them */

        if (dvr->next_msn - dvr->first_msn != (uint64_t) (i < 5 ? i + 1 : 6)) {
            ok = 0;
        }
    }

    sl_ok(t, ok && next == 24, "trim: 10 s window keeps 6 segments, drops "
          "the rest in order (%llu dropped)", (unsigned long long) next);

    pl = sl_render(dvr, NULL);
    sl_ok(t, sl_check_ok(t, &pl, NULL, "trim: playlist")
          && sl_count(&pl, "#EXTINF") == 6
          && sl_count(&pl, "#EXT-X-MEDIA-SEQUENCE:24\n") == 1,
          "trim: the playlist lists 24..29");
    free(pl.text);

    sl_ok(t, sl_dvr_trim(dvr, drop, 3) == 0, "trim: nothing more to drop");
    sl_ok(t, sl_dvr_trim(dvr, NULL, 0) == 0, "trim: max 0");

    free(dvr);
}


static void
test_capacity(sl_tap_t *t)
{
    int            i, ok;
    size_t         n;
    uint64_t       msn;
    sl_dvr_t      *dvr;
    sl_dvr_drop_t  drop[8];

    /* the window holds everything: only max_segments limits */

    dvr = sl_new(4, 0, 1000 * HOUR_US, 2, 0);

    ok = 1;

    for (i = 0; i < 5; i++) {
        ok &= sl_dvr_segment_start(dvr, PDT0, 1, SL_SEG_INDEPENDENT) == SL_OK
              && sl_dvr_segment_close(dvr, 2000000, 10, &msn) == SL_OK;
    }

    sl_ok(t, ok, "capacity: max_segments + 1 closed without a trim");

    sl_ok(t, sl_dvr_segment_start(dvr, PDT0, 1, 0) == SL_OK
          && sl_dvr_segment_close(dvr, 2000000, 10, &msn) == SL_DECLINED,
          "capacity: one more is declined");

    n = sl_dvr_trim(dvr, drop, 8);
    sl_ok(t, n == 1 && drop[0].msn == 0 && drop[0].init_unused == 0,
          "capacity: trim drops the oldest beyond max_segments");

    sl_ok(t, sl_dvr_segment_close(dvr, 2000000, 10, &msn) == SL_OK
          && msn == 5, "capacity: the declined close goes through now");

    sl_ok(t, sl_dvr_trim(dvr, drop, 8) == 1 && drop[0].msn == 1
          && dvr->next_msn - dvr->first_msn == 4,
          "capacity: 4 segments held");
    sl_ok(t, sl_dvr_segment_close(dvr, 2000000, 10, &msn) == SL_ERROR,
          "capacity: closing twice refused");

    free(dvr);
}


static void
test_constant_time(sl_tap_t *t)
{
    int            ok;
    size_t         n, size;
    uint64_t       i, msn, dropped;
    double         t0, t1;
    sl_dvr_t      *dvr;
    sl_text_t      pl;
    sl_dvr_drop_t  drop[4];

    /* a full 4-hour window of 2 s segments of 4 parts, then 100k more */

    dvr = sl_new(7201, 8, 4 * HOUR_US, 2, 500000);
    size = sl_dvr_size(7201, 8);

    ok = 1;
    dropped = 0;

    t0 = sl_now();

    for (i = 0; i < 7200 + 100000; i++) {
        ok &= sl_dvr_segment_start(dvr, PDT0 + 2000 * (int64_t) i, 1,
                                   SL_SEG_INDEPENDENT) == SL_OK;
        ok &= sl_dvr_part_add(dvr, 500000, 1000, SL_PART_INDEPENDENT)
              == SL_OK;
        ok &= sl_dvr_part_add(dvr, 500000, 1000, 0) == SL_OK;
        ok &= sl_dvr_part_add(dvr, 500000, 1000, 0) == SL_OK;
        ok &= sl_dvr_part_add(dvr, 500000, 1000, 0) == SL_OK;
        ok &= sl_dvr_segment_close(dvr, 0, 0, &msn) == SL_OK && msn == i;

        while ((n = sl_dvr_trim(dvr, drop, 4)) > 0) {
            dropped += n;
        }

        ok &= dvr->next_msn - dvr->first_msn <= 7201;
    }

    t1 = sl_now();

    sl_ok(t, ok, "O(1): 107200 segments appended and trimmed");
    sl_ok(t, dropped == 107200 - 7201 && dvr->first_msn == dropped,
          "O(1): the window holds 7201 segments (%llu dropped)",
          (unsigned long long) dropped);
    sl_ok(t, t1 - t0 < 2.0, "O(1): %.3f s for 107200 segments "
          "(%.0f ns each, budget 2 s)", t1 - t0, (t1 - t0) * 1e9 / 107200);
    sl_ok(t, sl_canary_ok(dvr) && sl_dvr_size(7201, 8) == size,
          "O(1): nothing written past the block");

    pl = sl_render(dvr, NULL);
    sl_ok(t, sl_check_ok(t, &pl, NULL, "O(1): 4-hour playlist")
          && sl_count(&pl, "#EXTINF") == 7201,
          "O(1): the 4-hour playlist lists 7201 segments (%zu bytes)",
          pl.len);
    free(pl.text);

    free(dvr);
}


/* a disk budget shortens the DVR (issue 9 case 6) */
static void
test_trim_before(sl_tap_t *t)
{
    int            i;
    size_t         n;
    uint64_t       sum;
    sl_dvr_t      *dvr;
    sl_text_t      pl;
    sl_dvr_drop_t  drops[32];

    dvr = sl_new(64, 4, 3600000000ULL, 2, 500000);

    for (i = 0; i < 20; i++) {
        /* 1000 bytes a part: 4000 a segment; init 2 from the 11th on */
        sl_seg(dvr, 0, 4, PDT0 + 2000 * i, (i < 10) ? 1 : 2,
               SL_SEG_INDEPENDENT);
    }

    sl_ok(t, dvr->bytes == 20 * 4000, "budget: the bytes held are counted");

    sl_ok(t, sl_dvr_trim(dvr, drops, 32) == 0,
          "budget: nothing left the window");

    n = sl_dvr_trim_before(dvr, dvr->first_msn + 3, 2, drops, 32);
    sl_ok(t, n == 3 && drops[0].msn == 0 && drops[2].msn == 2
          && drops[0].bytes == 4000 && drops[0].nparts == 4
          && !drops[0].init_unused && dvr->first_msn == 3
          && dvr->bytes == 17 * 4000,
          "budget: the oldest segments go, their sizes told");

    n = sl_dvr_trim_before(dvr, 10, 2, drops, 4);
    sl_ok(t, n == 4 && dvr->first_msn == 7,
          "budget: at most max at once");

    n = sl_dvr_trim_before(dvr, 10, 2, drops, 32);
    sl_ok(t, n == 3 && drops[2].msn == 9 && drops[2].init_unused
          && dvr->first_msn == 10,
          "budget: the last segment of an init frees the init");

    n = sl_dvr_trim_before(dvr, UINT64_MAX, 4, drops, 32);

    for (sum = 0, i = 0; (size_t) i < n; i++) {
        sum += drops[i].bytes;
    }

    sl_ok(t, n == 6 && dvr->next_msn - dvr->first_msn == 4
          && dvr->bytes == 4 * 4000 && sum == 6 * 4000,
          "budget: the newest keep segments stay");

    sl_ok(t, sl_dvr_trim_before(dvr, UINT64_MAX, 4, drops, 32) == 0,
          "budget: nothing more");

    pl = sl_render(dvr, &(sl_hls_opts_t) { .parts = 1, .block = 1 });
    sl_ok(t, sl_check_ok(t, &pl, NULL, "budget: trimmed playlist"),
          "budget: the playlist is valid, from the new first segment");
    free(pl.text);

    free(dvr);
}
