/*
 * Unit tests of the DVR index and the HLS playlists.  Prints TAP; exits 1
 * when a test fails.
 */


#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_media.h"
#include "sl_playlist_check.h"
#include "sl_tap.h"


typedef struct {
    unsigned char  *text;
    size_t          len;
} sl_text_t;

typedef struct {
    pthread_mutex_t  lock;
    sl_dvr_t        *dvr;
    int              done;
    unsigned         renders;
    unsigned         bad;
    const char      *err;
} sl_shared_t;


#define PDT0      1700000000000LL              /* 2023-11-14T22:13:20Z */
#define PDT0_ISO  "2023-11-14T22:13:20"
#define HOUR_US   3600000000ULL
#define CANARY    0xa5


static void test_sizes(sl_tap_t *t);
static void test_init(sl_tap_t *t);
static void test_plain(sl_tap_t *t);
static void test_ll(sl_tap_t *t);
static void test_ops(sl_tap_t *t);
static void test_trim(sl_tap_t *t);
static void test_capacity(sl_tap_t *t);
static void test_constant_time(sl_tap_t *t);
static void test_discontinuity(sl_tap_t *t);
static void test_pdt(sl_tap_t *t);
static void test_end(sl_tap_t *t);
static void test_skip(sl_tap_t *t);
static void test_parts_window(sl_tap_t *t);
static void test_raise(sl_tap_t *t);
static void test_round_trip(sl_tap_t *t);
static void test_small_buffer(sl_tap_t *t);
static void test_relocate(sl_tap_t *t);
static void test_copy(sl_tap_t *t);
static void test_trim_before(sl_tap_t *t);
static int sl_same_copy(sl_dvr_t *dvr);
static void test_threads(sl_tap_t *t);
static void test_master(sl_tap_t *t);
static void test_hls_request(sl_tap_t *t);

static sl_dvr_t *sl_new(uint32_t max_segments, uint32_t max_parts,
    uint64_t window_us, uint32_t target, uint32_t part_target_us);
static int sl_canary_ok(sl_dvr_t *dvr);
static void sl_seg(sl_dvr_t *dvr, uint32_t duration_us, unsigned nparts,
    int64_t pdt_ms, uint32_t init_id, unsigned flags);
static sl_text_t sl_render(const sl_dvr_t *dvr, const sl_hls_opts_t *opts);
static int sl_check_ok(sl_tap_t *t, sl_text_t *pl, sl_playlist_info_t *info,
    const char *name);
static size_t sl_count(sl_text_t *pl, const char *needle);
static double sl_now(void);
static void *sl_writer(void *data);
static void *sl_reader(void *data);


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

    return sl_tap_done(&t);
}


/* the LL-HLS request rules (sl_hls_request.c), RFC 8216bis 6.2.5.2 */
static void
test_hls_request(sl_tap_t *t)
{
    sl_dvr_t  *dvr;

    dvr = sl_new(16, 8, 60000000, 2, 500000);

    /* nothing yet: segment 0 and 1 are coming, 2 is too far */
    sl_ok(t, sl_hls_playlist_ready(dvr, -1, -1) == SL_HLS_READY,
          "request: no _HLS_msn is answered at once");
    sl_ok(t, sl_hls_playlist_ready(dvr, 0, -1) == SL_HLS_WAIT,
          "request: empty index, msn 0 waits");
    sl_ok(t, sl_hls_playlist_ready(dvr, 1, -1) == SL_HLS_WAIT,
          "request: empty index, msn 1 waits");
    sl_ok(t, sl_hls_playlist_ready(dvr, 2, -1) == SL_HLS_TOO_FAR,
          "request: empty index, msn 2 is too far (400)");
    sl_ok(t, sl_hls_part_ready(dvr, 0, 0) == SL_HLS_WAIT,
          "request: empty index, part 0.0 is the next one: waits");
    sl_ok(t, sl_hls_part_ready(dvr, 0, 1) == SL_HLS_NONE,
          "request: empty index, part 0.1 is not found");

    /* segments 0 and 1 complete, 4 parts each */
    sl_seg(dvr, 2000000, 4, 1000, 1, SL_SEG_INDEPENDENT);
    sl_seg(dvr, 2000000, 4, 3000, 1, SL_SEG_INDEPENDENT);

    sl_ok(t, sl_hls_playlist_ready(dvr, 1, -1) == SL_HLS_READY,
          "request: msn 1 complete is ready");
    sl_ok(t, sl_hls_playlist_ready(dvr, 1, 3) == SL_HLS_READY,
          "request: part 1.3 of a complete segment is ready");
    sl_ok(t, sl_hls_playlist_ready(dvr, 2, -1) == SL_HLS_WAIT,
          "request: msn 2 waits");
    sl_ok(t, sl_hls_playlist_ready(dvr, 3, -1) == SL_HLS_WAIT,
          "request: msn 3 waits (two after the last)");
    sl_ok(t, sl_hls_playlist_ready(dvr, 4, -1) == SL_HLS_TOO_FAR,
          "request: msn 4 is too far");
    sl_ok(t, sl_hls_part_ready(dvr, 1, 3) == SL_HLS_READY,
          "request: part 1.3 is listed");
    sl_ok(t, sl_hls_part_ready(dvr, 2, 0) == SL_HLS_WAIT,
          "request: part 2.0 is the next one: waits");
    sl_ok(t, sl_hls_part_ready(dvr, 3, 0) == SL_HLS_NONE,
          "request: part 3.0 is not found");

    /* segment 2 open with 2 parts */
    if (sl_dvr_segment_start(dvr, 5000, 1, SL_SEG_INDEPENDENT) != SL_OK
        || sl_dvr_part_add(dvr, 500000, 1000, SL_PART_INDEPENDENT) != SL_OK
        || sl_dvr_part_add(dvr, 500000, 1000, 0) != SL_OK)
    {
        abort();
    }

    sl_ok(t, sl_hls_playlist_ready(dvr, 2, 1) == SL_HLS_READY,
          "request: part 2.1 of the open segment is ready");
    sl_ok(t, sl_hls_playlist_ready(dvr, 2, 2) == SL_HLS_WAIT,
          "request: part 2.2 waits");
    sl_ok(t, sl_hls_playlist_ready(dvr, 2, -1) == SL_HLS_WAIT,
          "request: the open segment complete waits");
    sl_ok(t, sl_hls_playlist_ready(dvr, 4, 0) == SL_HLS_WAIT,
          "request: msn 4 waits (two after the open one)");
    sl_ok(t, sl_hls_playlist_ready(dvr, 5, 0) == SL_HLS_TOO_FAR,
          "request: msn 5 is too far");
    sl_ok(t, sl_hls_part_ready(dvr, 2, 1) == SL_HLS_READY,
          "request: part 2.1 is listed");
    sl_ok(t, sl_hls_part_ready(dvr, 2, 2) == SL_HLS_WAIT,
          "request: part 2.2 is the preload hint: waits");
    sl_ok(t, sl_hls_part_ready(dvr, 2, 3) == SL_HLS_NONE,
          "request: part 2.3 is not found");
    sl_ok(t, sl_hls_part_ready(dvr, 3, 0) == SL_HLS_WAIT,
          "request: part 3.0 (the next segment's first) waits");
    sl_ok(t, sl_hls_part_ready(dvr, 3, 1) == SL_HLS_NONE,
          "request: part 3.1 is not found");

    /* the stream ends: nothing waits any more */
    (void) sl_dvr_end(dvr);

    sl_ok(t, sl_hls_playlist_ready(dvr, 9, 0) == SL_HLS_READY,
          "request: an ended index answers any msn at once");
    sl_ok(t, sl_hls_part_ready(dvr, dvr->next_msn, 0) == SL_HLS_NONE,
          "request: after the end no part is coming");

    free(dvr);
}


/* prints bytes as TAP comments, a line each */


static void
test_sizes(sl_tap_t *t)
{
    size_t  size;

    sl_ok(t, sizeof(sl_dvr_seg_t) == 48, "size: a segment record is 48 "
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
    sl_ok(t, sl_dvr_size(7201, 8) - sl_dvr_size(7200, 8) == 48,
          "size: one more segment, 48 bytes more");
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
test_plain(sl_tap_t *t)
{
    int         i;
    uint64_t    msn;
    sl_dvr_t   *dvr;
    sl_text_t   pl;

    static const char  expect[] =
        "#EXTM3U\n"
        "#EXT-X-VERSION:6\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-MAP:URI=\"init-1.mp4\"\n"
        "#EXT-X-PROGRAM-DATE-TIME:" PDT0_ISO ".000Z\n"
        "#EXTINF:2.000,\n"
        "seg-0.m4s\n"
        "#EXTINF:2.000,\n"
        "seg-1.m4s\n"
        "#EXTINF:1.967,\n"
        "seg-2.m4s\n";

    dvr = sl_new(10, 8, 60000000, 2, 0);

    pl = sl_render(dvr, NULL);
    sl_ok(t, sl_check_ok(t, &pl, NULL, "plain: empty playlist")
          && sl_count(&pl, "#EXTINF") == 0, "plain: empty playlist");
    free(pl.text);

    for (i = 0; i < 2; i++) {
        sl_seg(dvr, 2000000, 0, PDT0 + 2000 * i, 1, SL_SEG_INDEPENDENT);
    }

    sl_ok(t, sl_dvr_segment_start(dvr, PDT0 + 4000, 1, SL_SEG_INDEPENDENT)
             == SL_OK
          && sl_dvr_segment_close(dvr, 1966667, 1000, &msn) == SL_OK
          && msn == 2, "plain: close returns the msn");

    pl = sl_render(dvr, NULL);

    if (!sl_ok(t, pl.len == sizeof(expect) - 1
               && memcmp(pl.text, expect, pl.len) == 0,
               "plain: three segments"))
    {
        sl_tap_diag("got", pl.text, pl.len);
    }

    sl_check_ok(t, &pl, NULL, "plain: checker accepts it");
    free(pl.text);

    free(dvr);
}


static void
test_ll(sl_tap_t *t)
{
    int              i;
    sl_dvr_t        *dvr;
    sl_text_t        pl;
    sl_hls_opts_t    opts;
    sl_hls_report_t  reports[1];

    static const char  expect[] =
        "#EXTM3U\n"
        "#EXT-X-VERSION:6\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.000,"
        "PART-HOLD-BACK=1.500,HOLD-BACK=6.000\n"
        "#EXT-X-PART-INF:PART-TARGET=0.500\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-MAP:URI=\"init-1.mp4\"\n"
        "#EXT-X-PROGRAM-DATE-TIME:" PDT0_ISO ".000Z\n"
        "#EXTINF:2.000,\n"
        "seg-0.m4s\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-1.0.m4s\",INDEPENDENT=YES\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-1.1.m4s\"\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-1.2.m4s\"\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-1.3.m4s\"\n"
        "#EXTINF:2.000,\n"
        "seg-1.m4s\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-2.0.m4s\",INDEPENDENT=YES\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-2.1.m4s\"\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-2.2.m4s\"\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-2.3.m4s\"\n"
        "#EXTINF:2.000,\n"
        "seg-2.m4s\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-3.0.m4s\",INDEPENDENT=YES\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-3.1.m4s\"\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-3.2.m4s\"\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-3.3.m4s\"\n"
        "#EXTINF:2.000,\n"
        "seg-3.m4s\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-4.0.m4s\",INDEPENDENT=YES\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"part-4.1.m4s\"\n"
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-4.2.m4s\"\n"
        "#EXT-X-RENDITION-REPORT:URI=\"../720p/index.m3u8\","
        "LAST-MSN=4,LAST-PART=1\n";

    dvr = sl_new(10, 8, 60000000, 2, 500000);

    /* 4 segments of 4 parts: 8 s; 2 parts in progress: the playlist ends
     * at 9 s, parts go back to 3 s: the segments ending after 3 s */

    for (i = 0; i < 4; i++) {
        sl_seg(dvr, 0, 4, PDT0 + 2000 * i, 1, SL_SEG_INDEPENDENT);
    }

    sl_dvr_segment_start(dvr, PDT0 + 8000, 1, SL_SEG_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 100, SL_PART_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 100, 0);

    memset(&opts, 0, sizeof(opts));
    opts.parts = 1;
    opts.block = 1;
    opts.can_skip_until_us = 12000000;
    opts.reports = reports;
    opts.nreports = 1;

    reports[0].uri = (const unsigned char *) "../720p/index.m3u8";
    reports[0].uri_len = strlen("../720p/index.m3u8");
    sl_dvr_last(dvr, &reports[0].last_msn, &reports[0].last_part);

    pl = sl_render(dvr, &opts);

    if (!sl_ok(t, pl.len == sizeof(expect) - 1
               && memcmp(pl.text, expect, pl.len) == 0,
               "ll: parts of the last 3 target durations, hint, report"))
    {
        sl_tap_diag("got", pl.text, pl.len);
    }

    sl_check_ok(t, &pl, NULL, "ll: checker accepts it");
    free(pl.text);

    reports[0].uri = (const unsigned char *) "a\"b";
    reports[0].uri_len = 3;
    sl_ok(t, sl_hls_media_playlist(dvr, &opts, NULL, 0) == 0,
          "ll: a report URI with '\"' refused");

    reports[0].uri_len = 0;
    sl_ok(t, sl_hls_media_playlist(dvr, &opts, NULL, 0) == 0,
          "ll: an empty report URI refused");

    opts.nreports = 0;
    opts.parts = 0;
    pl = sl_render(dvr, &opts);
    sl_ok(t, sl_count(&pl, "#EXT-X-PART") == 0
          && sl_count(&pl, "PRELOAD-HINT") == 0
          && sl_count(&pl, "PART-HOLD-BACK") == 0
          && sl_count(&pl, "CAN-BLOCK-RELOAD=YES") == 1,
          "ll: parts off lists no part");
    free(pl.text);

    free(dvr);
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


static void
test_discontinuity(sl_tap_t *t)
{
    int                 i;
    size_t              n;
    sl_dvr_t           *dvr;
    sl_text_t           pl;
    sl_dvr_drop_t       drop[16];
    sl_playlist_info_t  info;

    dvr = sl_new(20, 0, 10000000, 2, 0);

    /* discontinuities before segments 2 and 4 (marked), 6 (new init) */

    for (i = 0; i < 8; i++) {
        if (i == 2) {
            sl_dvr_discontinuity(dvr);
        }

        sl_seg(dvr, 2000000, 0, PDT0 + 2000 * i, (i >= 6) ? 2 : 1,
               SL_SEG_INDEPENDENT | ((i == 4) ? SL_SEG_DISCONTINUITY : 0));
    }

    pl = sl_render(dvr, NULL);
    sl_check_ok(t, &pl, &info, "discontinuity: 8 segments");
    sl_ok(t, info.discontinuity_sequence == 0 && info.discontinuities == 3
          && info.maps == 2 && sl_count(&pl, "DISCONTINUITY-SEQUENCE") == 0,
          "discontinuity: three tags, no sequence yet, MAP again for init 2");
    sl_ok(t, strstr((char *) pl.text, "#EXT-X-DISCONTINUITY\n"
                    "#EXT-X-MAP:URI=\"init-2.mp4\"\n"
                    "#EXT-X-PROGRAM-DATE-TIME:") != NULL,
          "discontinuity: the new init follows its discontinuity");
    free(pl.text);

    /* the window keeps 6: segments 0, 1 leave, no discontinuity with them */

    while ((n = sl_dvr_trim(dvr, drop, 16)) > 0) { /* void */ }

    pl = sl_render(dvr, NULL);
    sl_check_ok(t, &pl, &info, "discontinuity: after a trim");
    sl_ok(t, info.media_sequence == 2 && info.discontinuity_sequence == 0
          && info.discontinuities == 3,
          "discontinuity: segment 2 keeps its tag, sequence 0");
    free(pl.text);

    for (i = 8; i < 13; i++) {
        sl_seg(dvr, 2000000, 0, PDT0 + 2000 * i, 2, SL_SEG_INDEPENDENT);

        while ((n = sl_dvr_trim(dvr, drop, 16)) > 0) { /* void */ }
    }

    pl = sl_render(dvr, NULL);
    sl_check_ok(t, &pl, &info, "discontinuity: all left");
    sl_ok(t, info.media_sequence == 7 && info.discontinuity_sequence == 3
          && info.discontinuities == 0 && info.maps == 1
          && sl_count(&pl, "#EXT-X-MAP:URI=\"init-2.mp4\"") == 1,
          "discontinuity: 3 left the window, sequence 3");
    free(pl.text);

    free(dvr);

    /* the first segment after the start may carry one too */

    dvr = sl_new(20, 0, 10000000, 2, 0);
    dvr->dseq = 0;
    sl_seg(dvr, 2000000, 0, PDT0, 1, SL_SEG_DISCONTINUITY);
    pl = sl_render(dvr, NULL);
    sl_ok(t, sl_check_ok(t, &pl, &info, "discontinuity: first segment")
          && info.discontinuities == 1 && info.discontinuity_sequence == 0
          && sl_count(&pl, "#EXT-X-INDEPENDENT-SEGMENTS") == 0,
          "discontinuity: on the first segment, not independent");
    free(pl.text);
    free(dvr);
}


static void
test_pdt(sl_tap_t *t)
{
    int                 i;
    sl_dvr_t           *dvr;
    sl_text_t           pl;
    sl_playlist_info_t  info;

    dvr = sl_new(40, 0, HOUR_US, 2, 0);

    /* 2.0053 s each (94 AAC frames at 48 kHz), wall clock on time */

    for (i = 0; i < 30; i++) {
        sl_seg(dvr, 2005333, 0, PDT0 + (2005333LL * i + 500) / 1000, 1,
               SL_SEG_INDEPENDENT);
    }

    pl = sl_render(dvr, NULL);
    sl_check_ok(t, &pl, &info, "pdt: on time");
    sl_ok(t, info.pdts == 1, "pdt: one tag while the clock follows the "
          "media (%llu)", (unsigned long long) info.pdts);
    free(pl.text);

    /* the wall clock jumps 1 s ahead, then an unknown one */

    sl_seg(dvr, 2000000, 0, PDT0 + 70000, 1, SL_SEG_INDEPENDENT);
    sl_seg(dvr, 2000000, 0, PDT0 + 72000, 1, SL_SEG_INDEPENDENT);
    sl_seg(dvr, 2000000, 0, -1, 1, SL_SEG_INDEPENDENT);
    sl_seg(dvr, 2000000, 0, PDT0 + 76000, 1, SL_SEG_INDEPENDENT);

    pl = sl_render(dvr, NULL);
    sl_check_ok(t, &pl, &info, "pdt: a jump");
    sl_ok(t, info.pdts == 3, "pdt: again after a jump and after an unknown "
          "clock (%llu)", (unsigned long long) info.pdts);
    free(pl.text);

    free(dvr);
}


static void
test_end(sl_tap_t *t)
{
    uint64_t            msn;
    sl_dvr_t           *dvr;
    sl_text_t           pl;
    sl_hls_opts_t       opts;
    sl_playlist_info_t  info;

    memset(&opts, 0, sizeof(opts));
    opts.parts = 1;
    opts.block = 1;

    dvr = sl_new(10, 8, 60000000, 2, 500000);

    sl_seg(dvr, 0, 4, PDT0, 1, SL_SEG_INDEPENDENT);
    sl_dvr_segment_start(dvr, PDT0 + 2000, 1, SL_SEG_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 10, SL_PART_INDEPENDENT);

    pl = sl_render(dvr, &opts);
    sl_check_ok(t, &pl, &info, "end: live");
    sl_ok(t, !info.ended && info.preload_hint && info.last_msn == 1
          && info.last_part == 0, "end: live with a hint, last 1.0");
    free(pl.text);

    sl_ok(t, sl_dvr_end(dvr) == SL_OK, "end: ended");
    sl_ok(t, sl_dvr_end(dvr) == SL_OK, "end: twice is fine");

    pl = sl_render(dvr, &opts);
    sl_check_ok(t, &pl, &info, "end: ended");
    sl_ok(t, info.ended && !info.preload_hint && info.segments == 2
          && info.last_msn == 1 && info.last_part == 0
          && sl_count(&pl, "#EXT-X-ENDLIST\n") == 1,
          "end: the open segment closed with its one part, ENDLIST, no hint");
    free(pl.text);

    sl_ok(t, sl_dvr_segment_start(dvr, PDT0, 1, 0) == SL_ERROR,
          "end: no segment after the end");

    sl_dvr_resume(dvr);
    sl_seg(dvr, 0, 2, PDT0 + 60000, 1, SL_SEG_INDEPENDENT);

    pl = sl_render(dvr, &opts);
    sl_ok(t, sl_check_ok(t, &pl, &info, "end: resumed")
          && !info.ended && info.preload_hint && info.segments == 3
          && info.discontinuities == 1 && info.pdts == 2,
          "end: resumed, live again after a discontinuity");
    free(pl.text);

    sl_dvr_resume(dvr);
    sl_ok(t, dvr->pending == 0, "end: resuming a live stream changes "
          "nothing");

    free(dvr);

    /* an open segment without parts is dropped */

    dvr = sl_new(10, 8, 60000000, 2, 500000);
    sl_seg(dvr, 0, 4, PDT0, 1, SL_SEG_INDEPENDENT);
    sl_dvr_segment_start(dvr, PDT0 + 2000, 1, SL_SEG_INDEPENDENT);
    sl_dvr_end(dvr);

    pl = sl_render(dvr, NULL);
    sl_ok(t, sl_check_ok(t, &pl, &info, "end: empty open segment")
          && info.segments == 1 && info.ended
          && sl_dvr_segment(dvr, 1, &(sl_dvr_seg_t) { 0 }) == SL_DECLINED,
          "end: an open segment without parts is dropped");
    free(pl.text);
    free(dvr);

    /* no room for the open segment: declined until a trim */

    dvr = sl_new(1, 8, 1000 * HOUR_US, 2, 500000);
    sl_seg(dvr, 0, 1, PDT0, 1, SL_SEG_INDEPENDENT);
    sl_seg(dvr, 0, 1, PDT0, 1, SL_SEG_INDEPENDENT);
    sl_dvr_segment_start(dvr, PDT0, 1, SL_SEG_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 10, SL_PART_INDEPENDENT);

    sl_ok(t, sl_dvr_end(dvr) == SL_DECLINED && !dvr->ended,
          "end: declined while the ring is full");
    sl_ok(t, sl_dvr_trim(dvr, (sl_dvr_drop_t[2]) { { 0 } }, 2) == 1
          && sl_dvr_end(dvr) == SL_OK && dvr->ended
          && sl_dvr_last(dvr, &msn, &(int64_t) { 0 }) == SL_OK && msn == 2,
          "end: then it closes the open segment");
    free(dvr);
}


static void
test_skip(sl_tap_t *t)
{
    int                 i;
    sl_dvr_t           *dvr;
    sl_text_t           full, delta;
    sl_hls_opts_t       opts;
    sl_playlist_info_t  fi, di;

    dvr = sl_new(100, 4, HOUR_US, 2, 500000);

    for (i = 0; i < 20; i++) {
        sl_seg(dvr, 0, 4, PDT0 + 2000 * i, 1 + i / 10, SL_SEG_INDEPENDENT);
    }

    memset(&opts, 0, sizeof(opts));
    opts.parts = 1;
    opts.block = 1;
    opts.can_skip_until_us = 12000000;

    full = sl_render(dvr, &opts);
    sl_check_ok(t, &full, &fi, "skip: full");

    opts.skip = 1;
    delta = sl_render(dvr, &opts);
    sl_check_ok(t, &delta, &di, "skip: delta");

    /* 40 s listed, the last 12 s must stay: segments ending at or before
     * 28 s go, 14 of them */

    sl_ok(t, di.version == 9 && di.skipped == 14 && di.segments == 6
          && fi.version == 6 && fi.skipped == 0 && fi.segments == 20,
          "skip: version 9, 14 skipped, 6 listed");
    sl_ok(t, di.media_sequence == fi.media_sequence
          && di.discontinuity_sequence == fi.discontinuity_sequence
          && di.last_msn == fi.last_msn && di.last_part == fi.last_part,
          "skip: same sequences and last part as the full playlist");
    sl_ok(t, strstr((char *) delta.text, "#EXT-X-SKIP:SKIPPED-SEGMENTS=14\n"
                    "#EXT-X-MAP:URI=\"init-2.mp4\"\n"
                    "#EXT-X-PROGRAM-DATE-TIME:") != NULL,
          "skip: MAP and PDT again after the skip");
    sl_ok(t, sl_count(&delta, "#EXTINF") == 6
          && full.len - delta.len > 14 * strlen("#EXTINF:2.000,\nseg-0.m4s\n"),
          "skip: %zu bytes instead of %zu", delta.len, full.len);
    free(full.text);
    free(delta.text);

    /* a boundary below 6 target durations is raised to it */

    opts.can_skip_until_us = 1000000;
    delta = sl_render(dvr, &opts);
    sl_ok(t, sl_check_ok(t, &delta, &di, "skip: raised boundary")
          && di.skipped == 14
          && sl_count(&delta, "CAN-SKIP-UNTIL=12.000,") == 1,
          "skip: CAN-SKIP-UNTIL at least 6 target durations");
    free(delta.text);

    /* nothing to skip: a full playlist */

    opts.can_skip_until_us = 60000000;
    delta = sl_render(dvr, &opts);
    sl_ok(t, sl_check_ok(t, &delta, &di, "skip: nothing to skip")
          && di.skipped == 0 && di.version == 6 && di.segments == 20,
          "skip: nothing older than the boundary: full, version 6");
    free(delta.text);

    /* no CAN-SKIP-UNTIL: skip ignored */

    opts.can_skip_until_us = 0;
    delta = sl_render(dvr, &opts);
    sl_ok(t, sl_check_ok(t, &delta, &di, "skip: not offered")
          && di.skipped == 0 && sl_count(&delta, "CAN-SKIP-UNTIL") == 0,
          "skip: without CAN-SKIP-UNTIL no delta");
    free(delta.text);

    free(dvr);
}


static void
test_parts_window(sl_tap_t *t)
{
    int                 i;
    sl_dvr_t           *dvr;
    sl_text_t           pl;
    sl_hls_opts_t       opts;
    sl_playlist_info_t  info;

    memset(&opts, 0, sizeof(opts));
    opts.parts = 1;

    /* short segments: 40 of 0.25 s in one part each; 3 target durations
     * would be 24 of them, detail is kept for 16 */

    dvr = sl_new(100, 4, HOUR_US, 2, 250000);

    for (i = 0; i < 40; i++) {
        sl_seg(dvr, 0, 1, PDT0 + 250 * i, 1, SL_SEG_INDEPENDENT);
    }

    pl = sl_render(dvr, &opts);
    sl_ok(t, sl_check_ok(t, &pl, &info, "parts window: short segments")
          && info.parts == SL_DVR_PART_SEGMENTS
          && sl_count(&pl, "part-24.0.m4s") == 1
          && sl_count(&pl, "part-23.0.m4s") == 0,
          "parts window: detail of the last %d segments only (%llu parts)",
          SL_DVR_PART_SEGMENTS, (unsigned long long) info.parts);
    sl_ok(t, sl_dvr_parts(dvr, 23) == NULL && sl_dvr_parts(dvr, 24) != NULL,
          "parts window: detail of segment 23 gone");
    free(pl.text);
    free(dvr);

    /* segments without parts among segments with parts, a gap */

    dvr = sl_new(100, 4, HOUR_US, 2, 500000);
    sl_seg(dvr, 0, 4, PDT0, 1, SL_SEG_INDEPENDENT);
    sl_seg(dvr, 2000000, 0, PDT0 + 2000, 1, SL_SEG_INDEPENDENT);
    sl_seg(dvr, 2000000, 0, PDT0 + 4000, 1, SL_SEG_GAP);
    sl_seg(dvr, 0, 2, PDT0 + 6000, 1, SL_SEG_INDEPENDENT);

    pl = sl_render(dvr, &opts);
    sl_ok(t, sl_check_ok(t, &pl, &info, "parts window: mixed")
          && info.parts == 6 && sl_count(&pl, "#EXT-X-GAP\n") == 1
          && sl_count(&pl, "INDEPENDENT-SEGMENTS") == 0,
          "parts window: mixed segments, a gap, not all independent");
    free(pl.text);

    sl_dvr_segment_start(dvr, PDT0 + 7000, 1, SL_SEG_GAP);

    pl = sl_render(dvr, &opts);
    sl_ok(t, sl_check_ok(t, &pl, &info, "parts window: open gap")
          && !info.preload_hint
          && sl_dvr_part_add(dvr, 500000, 1, 0) == SL_ERROR,
          "parts window: a gap takes no part and gets no hint");
    free(pl.text);
    free(dvr);
}


static void
test_raise(sl_tap_t *t)
{
    sl_dvr_t           *dvr;
    sl_text_t           pl;
    sl_hls_opts_t       opts;
    sl_playlist_info_t  info;

    memset(&opts, 0, sizeof(opts));
    opts.parts = 1;

    dvr = sl_new(10, 8, HOUR_US, 2, 500000);

    /* 2.499 s rounds to 2, 2.5 s to 3; a 0.6 s part raises PART-TARGET */

    sl_seg(dvr, 2499000, 0, PDT0, 1, SL_SEG_INDEPENDENT);
    pl = sl_render(dvr, &opts);
    sl_ok(t, sl_check_ok(t, &pl, &info, "raise: 2.499 s")
          && info.target_duration == 2, "raise: 2.499 s keeps target 2");
    free(pl.text);

    sl_seg(dvr, 2500000, 0, PDT0, 1, SL_SEG_INDEPENDENT);
    sl_dvr_segment_start(dvr, PDT0, 1, SL_SEG_INDEPENDENT);
    sl_dvr_part_add(dvr, 600000, 1, SL_PART_INDEPENDENT);

    pl = sl_render(dvr, &opts);
    sl_ok(t, sl_check_ok(t, &pl, &info, "raise: 2.5 s and a long part")
          && info.target_duration == 3 && info.part_target_us == 600000,
          "raise: target 3, PART-TARGET 0.600");
    free(pl.text);
    free(dvr);
}


/* random operations; every rendering passes the checker and agrees with
 * the index and with the previous one */

static void
test_round_trip(sl_tap_t *t)
{
    int                 ok, mode, first;
    unsigned            r, i, k, renders;
    size_t              n;
    int64_t             part, pdt;
    uint64_t            msn;
    uint32_t            init;
    sl_dvr_t           *dvr;
    sl_text_t           pl;
    const char         *err;
    sl_hls_opts_t       opts;
    sl_dvr_drop_t       drop[4];
    sl_hls_report_t     rep;
    sl_playlist_info_t  info, prev;

    srand(7);

    dvr = sl_new(64, 12, 60000000, 2, 400000);

    ok = 1;
    first = 1;
    renders = 0;
    init = 1;
    pdt = PDT0;
    err = "";

    memset(&prev, 0, sizeof(prev));

    for (i = 0; i < 4000 && ok; i++) {
        r = (unsigned) rand();

        if (!dvr->open) {
            if (r % 17 == 0) {
                sl_dvr_discontinuity(dvr);
            }

            if (r % 29 == 0) {
                init++;
            }

            sl_dvr_segment_start(dvr, (r % 31 == 0) ? -1 : pdt, init,
                                 (r % 5 ? SL_SEG_INDEPENDENT : 0)
                                 | (r % 41 == 0 ? SL_SEG_GAP : 0));
        }

        /* within the targets (2 s, 0.4 s parts), which must not change */

        k = (r >> 8) % 4;

        while (k-- && dvr->cur.duration_us < 2000000) {
            sl_dvr_part_add(dvr, 100000 + rand() % 300001, 500,
                            (dvr->cur.nparts == 0) ? SL_PART_INDEPENDENT : 0);
        }

        if ((r >> 12) % 3 == 0) {
            if (sl_dvr_segment_close(dvr, 500000 + rand() % 1999000, 9000,
                                     &msn) == SL_OK)
            {
                pdt += 2000 + (rand() % 7 == 0 ? 500 : 0);
            }

            while ((n = sl_dvr_trim(dvr, drop, 4)) > 0) { /* void */ }
        }

        for (mode = 0; mode < 4; mode++) {
            memset(&opts, 0, sizeof(opts));
            opts.parts = (mode & 1);
            opts.block = (mode & 1);
            opts.skip = (mode & 2) != 0;
            opts.can_skip_until_us = (mode & 2) ? 12000000 : 0;

            if (mode == 3 && sl_dvr_last(dvr, &rep.last_msn, &rep.last_part)
                             == SL_OK)
            {
                rep.uri = (const unsigned char *) "../low/index.m3u8";
                rep.uri_len = 17;
                opts.reports = &rep;
                opts.nreports = 1;
            }

            pl = sl_render(dvr, &opts);
            renders++;

            if (sl_playlist_check(pl.text, pl.len, &info, &err) != SL_OK) {
                printf("# line %zu: %s\n", info.line, err);
                sl_tap_diag("playlist", pl.text, pl.len);
                ok = 0;
            }

            if (ok && mode == 1) {
                if (sl_dvr_last(dvr, &msn, &part) == SL_OK
                    && (info.last_msn != msn || info.last_part != part))
                {
                    printf("# last %llu.%lld, index %llu.%lld\n",
                           (unsigned long long) info.last_msn,
                           (long long) info.last_part,
                           (unsigned long long) msn, (long long) part);
                    ok = 0;
                }

                if (!first && sl_playlist_check_reload(&prev, &info, &err)
                              != SL_OK)
                {
                    printf("# reload: %s\n", err);
                    ok = 0;
                }

                prev = info;
                first = 0;
            }

            if (ok && info.media_sequence != dvr->first_msn) {
                ok = 0;
            }

            free(pl.text);
        }
    }

    sl_ok(t, ok, "round trip: %u renderings of random operations pass the "
          "checker", renders);

    sl_ok(t, sl_dvr_end(dvr) == SL_OK
          && (pl = sl_render(dvr, &opts), 1)
          && sl_check_ok(t, &pl, &info, "round trip: ended")
          && info.ended, "round trip: ended playlist passes");
    free(pl.text);

    free(dvr);
}


static void
test_small_buffer(sl_tap_t *t)
{
    int             i;
    size_t          need, n;
    sl_dvr_t       *dvr;
    unsigned char  *buf, small[16];
    sl_hls_opts_t   opts;

    dvr = sl_new(100, 8, HOUR_US, 2, 500000);

    for (i = 0; i < 50; i++) {
        sl_seg(dvr, 0, 4, PDT0 + 2000 * i, 1, SL_SEG_INDEPENDENT);
    }

    memset(&opts, 0, sizeof(opts));
    opts.parts = 1;

    memset(small, CANARY, sizeof(small));

    need = sl_hls_media_playlist(dvr, &opts, small, 10);
    sl_ok(t, need > 10 && small[10] == CANARY,
          "small buffer: returns the size needed (%zu), writes no further",
          need);

    sl_ok(t, sl_hls_media_playlist(dvr, &opts, NULL, 0) == need,
          "small buffer: NULL buffer sizes it");

    buf = malloc(need + 1);
    if (buf == NULL) {
        abort();
    }

    buf[need] = CANARY;
    n = sl_hls_media_playlist(dvr, &opts, buf, need);
    sl_ok(t, n == need && buf[need] == CANARY
          && sl_playlist_check(buf, n, NULL, &(const char *) { 0 }) == SL_OK,
          "small buffer: the retry with that size fits exactly");

    n = sl_hls_media_playlist(dvr, &opts, buf, need - 1);
    sl_ok(t, n == need, "small buffer: one byte short still asks for %zu",
          need);

    free(buf);
    free(dvr);
}


static void
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


/* a packager thread appends while a worker thread renders, under a lock */

static void
test_threads(sl_tap_t *t)
{
    pthread_t    w, r;
    sl_shared_t  sh;

    pthread_mutex_init(&sh.lock, NULL);
    sh.dvr = sl_new(200, 8, 30000000, 1, 250000);
    sh.done = 0;
    sh.renders = 0;
    sh.bad = 0;
    sh.err = "";

    if (pthread_create(&w, NULL, sl_writer, &sh) != 0
        || pthread_create(&r, NULL, sl_reader, &sh) != 0)
    {
        abort();
    }

    pthread_join(w, NULL);
    pthread_join(r, NULL);

    sl_ok(t, sh.bad == 0 && sh.renders > 0,
          "threads: %u renderings during appends, all valid (%s)",
          sh.renders, sh.bad ? sh.err : "ok");

    pthread_mutex_destroy(&sh.lock);
    free(sh.dvr);
}


static void *
sl_writer(void *data)
{
    int           i, j, more;
    sl_shared_t  *sh;

    sh = data;
    more = 1;

    /* until the reader has seen enough, whichever thread runs first */

    for (i = 0; more; i++) {
        pthread_mutex_lock(&sh->lock);
        sl_dvr_segment_start(sh->dvr, PDT0 + 1000 * i, 1, SL_SEG_INDEPENDENT);
        pthread_mutex_unlock(&sh->lock);

        for (j = 0; j < 4; j++) {
            pthread_mutex_lock(&sh->lock);
            sl_dvr_part_add(sh->dvr, 250000, 100,
                            j == 0 ? SL_PART_INDEPENDENT : 0);
            pthread_mutex_unlock(&sh->lock);
        }

        pthread_mutex_lock(&sh->lock);
        sl_dvr_segment_close(sh->dvr, 0, 0, NULL);
        while (sl_dvr_trim(sh->dvr, (sl_dvr_drop_t[4]) { { 0 } }, 4)) {
            /* void */
        }
        more = (sh->renders < 1000 && i < 1000000) || i < 1000;
        pthread_mutex_unlock(&sh->lock);
    }

    pthread_mutex_lock(&sh->lock);
    sl_dvr_end(sh->dvr);
    sh->done = 1;
    pthread_mutex_unlock(&sh->lock);

    return NULL;
}


static void *
sl_reader(void *data)
{
    int                 done, first;
    size_t              n, size;
    sl_shared_t        *sh;
    const char         *err;
    unsigned char      *buf, *p;
    sl_hls_opts_t       opts;
    sl_playlist_info_t  info, prev;

    sh = data;
    size = 256;
    buf = malloc(size);
    first = 1;
    done = 0;

    memset(&opts, 0, sizeof(opts));
    opts.parts = 1;
    opts.block = 1;

    while (buf != NULL && !done) {
        pthread_mutex_lock(&sh->lock);
        n = sl_hls_media_playlist(sh->dvr, &opts, buf, size);
        done = sh->done;

        if (n <= size) {
            sh->renders++;
        }

        pthread_mutex_unlock(&sh->lock);

        if (n > size) {
            /* the lock is released meanwhile: grow with some slack */
            size = n + n / 4;
            p = realloc(buf, size);
            if (p == NULL) {
                break;
            }

            buf = p;
            done = 0;
            continue;
        }

        if (sl_playlist_check(buf, n, &info, &err) != SL_OK
            || (!first && sl_playlist_check_reload(&prev, &info, &err)
                          != SL_OK))
        {
            sh->bad++;
            sh->err = err;
        }

        prev = info;
        first = 0;
    }

    if (buf == NULL) {
        sh->bad++;
        sh->err = "out of memory";
    }

    free(buf);

    return NULL;
}


static void
test_master(sl_tap_t *t)
{
    size_t            n;
    unsigned char     buf[1024];
    sl_hls_variant_t  v[3];

    static const char  expect[] =
        "#EXTM3U\n"
        "#EXT-X-VERSION:6\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=6500000,AVERAGE-BANDWIDTH=6000000,"
        "RESOLUTION=1920x1080,CODECS=\"avc1.640028,mp4a.40.2\","
        "FRAME-RATE=29.970\n"
        "source/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=640x360,"
        "CODECS=\"avc1.4d401e,mp4a.40.2\",FRAME-RATE=30.000\n"
        "360p/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.2\"\n"
        "audio_only/index.m3u8\n";

    memset(v, 0, sizeof(v));

    v[0].name = (const unsigned char *) "source";
    v[0].name_len = 6;
    v[0].bandwidth = 6500000;
    v[0].average_bandwidth = 6000000;
    v[0].width = 1920;
    v[0].height = 1080;
    v[0].codecs = "avc1.640028,mp4a.40.2";
    v[0].frame_rate = 30000.0 / 1001;

    v[1].name = (const unsigned char *) "360p";
    v[1].name_len = 4;
    v[1].bandwidth = 1200000;
    v[1].width = 640;
    v[1].height = 360;
    v[1].codecs = "avc1.4d401e,mp4a.40.2";
    v[1].frame_rate = 30;

    v[2].name = (const unsigned char *) "audio_only";
    v[2].name_len = 10;
    v[2].bandwidth = 64000;
    v[2].codecs = "mp4a.40.2";

    n = sl_hls_master_playlist(v, 3, buf, sizeof(buf));

    if (!sl_ok(t, n == sizeof(expect) - 1 && memcmp(buf, expect, n) == 0,
               "master: every attribute"))
    {
        sl_tap_diag("got", buf, n < sizeof(buf) ? n : sizeof(buf));
    }

    sl_ok(t, sl_hls_master_playlist(v, 3, buf, 20) == n
          && sl_hls_master_playlist(v, 3, NULL, 0) == n,
          "master: size needed when the buffer is small");

    sl_ok(t, sl_hls_master_playlist(v, 0, buf, sizeof(buf)) == 0,
          "master: no rendition refused");

    v[1].codecs = "avc1\"x";
    sl_ok(t, sl_hls_master_playlist(v, 3, buf, sizeof(buf)) == 0,
          "master: '\"' in CODECS refused");
    v[1].codecs = "";
    sl_ok(t, sl_hls_master_playlist(v, 3, buf, sizeof(buf)) == 0,
          "master: empty CODECS refused");
    v[1].codecs = NULL;

    v[1].name = (const unsigned char *) "../x";
    sl_ok(t, sl_hls_master_playlist(v, 3, buf, sizeof(buf)) == 0,
          "master: a name with '/' refused");
    v[1].name = (const unsigned char *) "360p";

    v[1].bandwidth = 0;
    sl_ok(t, sl_hls_master_playlist(v, 3, buf, sizeof(buf)) == 0,
          "master: BANDWIDTH 0 refused");
    v[1].bandwidth = 1;

    /* issue 9 case 14: half a size (from the publisher's metadata) is no
     * RESOLUTION, and the other renditions are still listed */

    v[1].bandwidth = 1200000;
    v[1].height = 0;
    n = sl_hls_master_playlist(v, 3, buf, sizeof(buf) - 1);
    buf[n < sizeof(buf) ? n : 0] = '\0';
    sl_ok(t, n > 0 && n < sizeof(buf)
          && strstr((char *) buf, "BANDWIDTH=1200000,FRAME-RATE=") != NULL
          && strstr((char *) buf, "RESOLUTION=640") == NULL
          && strstr((char *) buf, "RESOLUTION=1920x1080") != NULL
          && strstr((char *) buf, "360p/index.m3u8") != NULL,
          "master: width without height, no RESOLUTION");

    v[1].width = 0;
    v[1].height = 360;
    n = sl_hls_master_playlist(v, 3, buf, sizeof(buf) - 1);
    buf[n < sizeof(buf) ? n : 0] = '\0';
    sl_ok(t, n > 0 && n < sizeof(buf)
          && strstr((char *) buf, "BANDWIDTH=1200000,FRAME-RATE=") != NULL
          && strstr((char *) buf, "x360") == NULL,
          "master: height without width, no RESOLUTION");
    v[1].width = 640;

    v[1].frame_rate = -1;
    sl_ok(t, sl_hls_master_playlist(v, 3, buf, sizeof(buf)) == 0,
          "master: negative frame rate refused");
}


/*
 * The copy a reader renders outside the lock (issue 9 case 15): the same
 * bytes as the index itself, whatever the state of the ring.
 */
static void
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


/* an index in a malloc'ed block followed by 64 canary bytes */

static sl_dvr_t *
sl_new(uint32_t max_segments, uint32_t max_parts, uint64_t window_us,
    uint32_t target, uint32_t part_target_us)
{
    size_t           size;
    sl_dvr_t        *dvr;
    unsigned char   *block;
    sl_dvr_params_t  p;

    size = sl_dvr_size(max_segments, max_parts);

    block = malloc(size + 64);
    if (block == NULL) {
        abort();
    }

    memset(block, CANARY, size + 64);

    memset(&p, 0, sizeof(p));
    p.max_segments = max_segments;
    p.max_parts = max_parts;
    p.window_us = window_us;
    p.target_duration = target;
    p.part_target_us = part_target_us;

    dvr = sl_dvr_init(block, size, &p);
    if (dvr == NULL) {
        abort();
    }

    return dvr;
}


static int
sl_canary_ok(sl_dvr_t *dvr)
{
    size_t          i, size;
    unsigned char  *p;

    size = sl_dvr_size(dvr->max_segments, dvr->max_parts);
    p = (unsigned char *) dvr + size;

    for (i = 0; i < 64; i++) {
        if (p[i] != CANARY) {
            return 0;
        }
    }

    return 1;
}


/* a segment of nparts equal parts, or of duration_us without parts */

static void
sl_seg(sl_dvr_t *dvr, uint32_t duration_us, unsigned nparts, int64_t pdt_ms,
    uint32_t init_id, unsigned flags)
{
    unsigned  i;

    if (sl_dvr_segment_start(dvr, pdt_ms, init_id, flags) != SL_OK) {
        abort();
    }

    for (i = 0; i < nparts; i++) {
        if (sl_dvr_part_add(dvr, dvr->part_target_us, 1000,
                            (i == 0) ? SL_PART_INDEPENDENT : 0)
            != SL_OK)
        {
            abort();
        }
    }

    if (sl_dvr_segment_close(dvr, duration_us, 1000, NULL) != SL_OK) {
        abort();
    }
}


/* renders as the HTTP glue will: size it, allocate, render */

static sl_text_t
sl_render(const sl_dvr_t *dvr, const sl_hls_opts_t *opts)
{
    size_t     n;
    sl_text_t  pl;

    n = sl_hls_media_playlist(dvr, opts, NULL, 0);

    pl.text = malloc(n + 1);
    if (n == 0 || pl.text == NULL) {
        abort();
    }

    pl.len = sl_hls_media_playlist(dvr, opts, pl.text, n);

    if (pl.len != n) {
        abort();
    }

    pl.text[n] = '\0';

    return pl;
}


static int
sl_check_ok(sl_tap_t *t, sl_text_t *pl, sl_playlist_info_t *info,
    const char *name)
{
    int                 ok;
    const char         *err;
    sl_playlist_info_t  local;

    if (info == NULL) {
        info = &local;
    }

    err = "";
    ok = (sl_playlist_check(pl->text, pl->len, info, &err) == SL_OK);

    if (!ok) {
        sl_ok(t, 0, "%s: checker: line %zu: %s", name, info->line, err);
        sl_tap_diag("playlist", pl->text, pl->len);
    }

    return ok;
}


static size_t
sl_count(sl_text_t *pl, const char *needle)
{
    size_t      n;
    const char  *p;

    n = 0;

    for (p = (char *) pl->text; (p = strstr(p, needle)) != NULL; p++) {
        n++;
    }

    return n;
}


static double
sl_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}
