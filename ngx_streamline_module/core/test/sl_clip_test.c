/*
 * Unit tests of a clip's request (sl_clip.c): the URI, ISO-8601 times
 * (good forms, zones, fractions, real dates only), the query (percent
 * decoding, missing, repeated and malformed arguments, the length cap),
 * the segments a range selects in a DVR index (nearest boundaries,
 * keyframes, the window's edges, gaps and discontinuities), and the clip
 * files' names.  Prints TAP.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sl_core.h"
#include "sl_clip.h"
#include "sl_tap.h"


#define T0  1764670000000LL          /* 2025-12-02T10:06:40Z */


static void test_path(sl_tap_t *t);
static void test_time(sl_tap_t *t);
static void test_query(sl_tap_t *t);
static void test_select(sl_tap_t *t);
static void test_names(sl_tap_t *t);
static int64_t tm(const char *s);
static sl_dvr_t *dvr_new(void);
static void seg(sl_dvr_t *dvr, int64_t pdt, uint32_t ms, uint32_t init,
    unsigned flags);
static int sel(const sl_dvr_t *dvr, int64_t start, int64_t end,
    sl_clip_sel_t *s, const char **err);


int
main(void)
{
    sl_tap_t  t = { 0, 0 };

    test_path(&t);
    test_time(&t);
    test_query(&t);
    test_select(&t);
    test_names(&t);

    return sl_tap_done(&t);
}


static void
test_path(sl_tap_t *t)
{
    size_t                n;
    const unsigned char  *ch;

#define P(s)  sl_clip_path((const unsigned char *) s, sizeof(s) - 1, &ch, &n)

    sl_ok(t, P("/main/clip.mp4") == SL_OK && n == 4
          && memcmp(ch, "main", 4) == 0, "path: /main/clip.mp4");
    sl_ok(t, P("/a-b_C9/clip.mp4") == SL_OK && n == 6, "path: any name");
    sl_ok(t, P("/main/clip.mp4/") == SL_DECLINED, "path: a trailing /");
    sl_ok(t, P("/main/source/clip.mp4") == SL_DECLINED, "path: deeper");
    sl_ok(t, P("//clip.mp4") == SL_DECLINED, "path: no channel");
    sl_ok(t, P("/../clip.mp4") == SL_DECLINED, "path: ..");
    sl_ok(t, P("/main/clip.mp") == SL_DECLINED, "path: another name");
    sl_ok(t, P("main/clip.mp4") == SL_DECLINED, "path: no leading /");
    sl_ok(t, P("") == SL_DECLINED, "path: empty");

#undef P
}


static void
test_time(sl_tap_t *t)
{
    sl_ok(t, tm("1970-01-01T00:00:00Z") == 0, "time: the epoch");
    sl_ok(t, tm("2025-12-02T10:06:40Z") == T0, "time: Z");
    sl_ok(t, tm("2025-12-02T10:06:40") == T0, "time: no zone is UTC");
    sl_ok(t, tm("2025-12-02t10:06:40z") == T0, "time: lowercase t and z");
    sl_ok(t, tm("2025-12-02T10:06:40.5Z") == T0 + 500, "time: .5");
    sl_ok(t, tm("2025-12-02T10:06:40.123Z") == T0 + 123, "time: ms");
    sl_ok(t, tm("2025-12-02T10:06:40,123Z") == T0 + 123, "time: ,123");
    sl_ok(t, tm("2025-12-02T10:06:40.123456789Z") == T0 + 123,
          "time: ns cut to ms");
    sl_ok(t, tm("2025-12-02T11:06:40+01:00") == T0, "time: +01:00");
    sl_ok(t, tm("2025-12-02T11:36:40+0130") == T0, "time: +0130");
    sl_ok(t, tm("2025-12-02T12:06:40+02") == T0, "time: +02");
    sl_ok(t, tm("2025-12-02T05:06:40.250-05:00") == T0 + 250,
          "time: -05:00 with ms");
    sl_ok(t, tm("2024-02-29T00:00:00Z") > 0, "time: a leap day");
    sl_ok(t, tm("2000-02-29T00:00:00Z") > 0, "time: 2000 is leap");
    sl_ok(t, tm("9999-12-31T23:59:59.999Z") == 253402300799999LL,
          "time: the last ms of 9999");

    sl_ok(t, tm("2025-02-29T00:00:00Z") == -1, "time: no 2025-02-29");
    sl_ok(t, tm("1900-02-29T00:00:00Z") == -1, "time: 1900 is not leap");
    sl_ok(t, tm("2025-04-31T00:00:00Z") == -1, "time: no April 31");
    sl_ok(t, tm("2025-13-01T00:00:00Z") == -1, "time: month 13");
    sl_ok(t, tm("2025-00-01T00:00:00Z") == -1, "time: month 0");
    sl_ok(t, tm("2025-01-00T00:00:00Z") == -1, "time: day 0");
    sl_ok(t, tm("2025-01-01T24:00:00Z") == -1, "time: hour 24");
    sl_ok(t, tm("2025-01-01T00:60:00Z") == -1, "time: minute 60");
    sl_ok(t, tm("2025-01-01T00:00:60Z") == -1, "time: no leap second");
    sl_ok(t, tm("1969-12-31T23:59:59Z") == -1, "time: before 1970");
    sl_ok(t, tm("1970-01-01T00:00:00+01:00") == -1,
          "time: before the epoch through the zone");
    sl_ok(t, tm("2025-01-01 00:00:00Z") == -1, "time: a space for T");
    sl_ok(t, tm("2025-01-01T00:00Z") == -1, "time: no seconds");
    sl_ok(t, tm("2025-01-01") == -1, "time: a date only");
    sl_ok(t, tm("2025-01-01T00:00:00.Z") == -1, "time: an empty fraction");
    sl_ok(t, tm("2025-01-01T00:00:00.1234567890Z") == -1,
          "time: 10 fraction digits");
    sl_ok(t, tm("2025-01-01T00:00:00ZZ") == -1, "time: trailing bytes");
    sl_ok(t, tm("2025-01-01T00:00:00+1") == -1, "time: +1");
    sl_ok(t, tm("2025-01-01T00:00:00+01:") == -1, "time: +01:");
    sl_ok(t, tm("2025-01-01T00:00:00+01:6") == -1, "time: +01:6");
    sl_ok(t, tm("2025-01-01T00:00:00+24:00") == -1, "time: +24:00");
    sl_ok(t, tm("2025-01-01T00:00:00+01:60") == -1, "time: +01:60");
    sl_ok(t, tm("+025-01-01T00:00:00Z") == -1, "time: a sign in the year");
    sl_ok(t, tm("2025-1-01T00:00:00Z") == -1, "time: one-digit month");
    sl_ok(t, tm("") == -1, "time: empty");
}


static void
test_query(sl_tap_t *t)
{
    const char       *err;
    sl_clip_range_t   r;

#define Q(s, max)  sl_clip_query((const unsigned char *) s, sizeof(s) - 1, \
                                 max, &r, &err)

    sl_ok(t, Q("start=2025-12-02T10:06:40Z&end=2025-12-02T10:06:50Z", 60000)
          == SL_OK && r.start_ms == T0 && r.end_ms == T0 + 10000,
          "query: plain");
    sl_ok(t, Q("start=2025-12-02T10%3A06%3A40.000Z&end=2025-12-02T11%3a06"
               "%3a50%2B01%3A00", 60000) == SL_OK
          && r.start_ms == T0 && r.end_ms == T0 + 10000,
          "query: percent-encoded, %%2B for +, lower and upper hex");
    sl_ok(t, Q("start=2025-12-02T11:06:40+01:00&end=2025-12-02T10:06:41Z",
               60000) == SL_OK && r.start_ms == T0,
          "query: a raw + is the zone's sign");
    sl_ok(t, Q("x=1&end=2025-12-02T10:06:50Z&y&start=2025-12-02T10:06:40Z"
               "&start=junk", 60000) == SL_OK && r.start_ms == T0,
          "query: any order, other arguments ignored, the first counts");
    sl_ok(t, Q("start=2025-12-02T10:06:40Z&end=2025-12-02T10:07:40Z", 60000)
          == SL_OK, "query: exactly the maximum");

    sl_ok(t, Q("start=2025-12-02T10:06:40Z&end=2025-12-02T10:07:40.001Z",
               60000) == SL_ERROR && strstr(err, "longer") != NULL,
          "query: 1 ms over the maximum");
    sl_ok(t, Q("start=2025-12-02T10:06:40Z&end=2025-12-02T10:06:40Z", 60000)
          == SL_ERROR && strstr(err, "not after") != NULL,
          "query: end = start");
    sl_ok(t, Q("start=2025-12-02T10:06:41Z&end=2025-12-02T10:06:40Z", 60000)
          == SL_ERROR && strstr(err, "not after") != NULL,
          "query: end before start");
    sl_ok(t, Q("start=2025-12-02T10:06:40Z", 60000) == SL_ERROR
          && strstr(err, "required") != NULL, "query: no end");
    sl_ok(t, Q("end=2025-12-02T10:06:40Z", 60000) == SL_ERROR
          && strstr(err, "required") != NULL, "query: no start");
    sl_ok(t, Q("", 60000) == SL_ERROR && err != NULL, "query: empty");
    sl_ok(t, Q("start=&end=2025-12-02T10:06:40Z", 60000) == SL_ERROR
          && strstr(err, "start") != NULL, "query: empty start");
    sl_ok(t, Q("start=2025-12-02T10%3G06:40Z&end=2025-12-02T10:06:50Z",
               60000) == SL_ERROR, "query: a bad %%-escape");
    sl_ok(t, Q("start=2025-12-02T10:06:40Z%&end=2025-12-02T10:06:50Z",
               60000) == SL_ERROR, "query: a cut %%-escape");
    sl_ok(t, Q("start=2025-12-02T10:06:40Z&end=2025-12-02T10:06:50.000000000"
               "000000000000000000000000000000000000Z", 60000) == SL_ERROR
          && strstr(err, "end") != NULL, "query: an over-long value");
    sl_ok(t, Q("start=2025-12-02T10%0006:40Z&end=2025-12-02T10:06:50Z",
               60000) == SL_ERROR, "query: a NUL byte");
    sl_ok(t, Q("START=2025-12-02T10:06:40Z&END=2025-12-02T10:06:50Z", 60000)
          == SL_ERROR, "query: names are lowercase");

#undef Q
}


static void
test_select(sl_tap_t *t)
{
    int             i;
    sl_dvr_t       *dvr;
    const char     *err;
    sl_clip_sel_t   s;

    /* ten 2 s segments from T0 (msn 100..109), all on keyframes */

    dvr = dvr_new();
    for (i = 0; i < 10; i++) {
        seg(dvr, T0 + 2000 * i, 2000, 1, SL_SEG_INDEPENDENT);
    }

    sl_ok(t, sel(dvr, T0, T0 + 20000, &s, &err) == SL_OK
          && s.first_msn == 100 && s.last_msn == 109
          && s.duration_us == 20000000 && s.start_ms == T0
          && s.init_id == 1 && s.window_msn == 100,
          "select: the whole window");
    sl_ok(t, sel(dvr, T0 + 4000, T0 + 10000, &s, &err) == SL_OK
          && s.first_msn == 102 && s.last_msn == 104,
          "select: on boundaries");
    sl_ok(t, sel(dvr, T0 + 4900, T0 + 10900, &s, &err) == SL_OK
          && s.first_msn == 102 && s.last_msn == 104,
          "select: just before the middles: the boundaries before");
    sl_ok(t, sel(dvr, T0 + 5100, T0 + 11100, &s, &err) == SL_OK
          && s.first_msn == 103 && s.last_msn == 105,
          "select: just after the middles: the boundaries after");
    sl_ok(t, sel(dvr, T0 + 4100, T0 + 4200, &s, &err) == SL_OK
          && s.first_msn == 102 && s.last_msn == 102,
          "select: inside one segment: that one");
    sl_ok(t, sel(dvr, T0 + 5500, T0 + 5600, &s, &err) == SL_OK
          && s.first_msn == 102 && s.last_msn == 102,
          "select: a late part of one segment: that one");
    sl_ok(t, sel(dvr, T0 + 19000, T0 + 20000, &s, &err) == SL_OK
          && s.first_msn == 109 && s.last_msn == 109,
          "select: the end of the window");

    sl_ok(t, sel(dvr, T0 - 1, T0 + 1000, &s, &err) == SL_DECLINED
          && strstr(err, "expired") != NULL, "select: 1 ms too early: 416");
    sl_ok(t, sel(dvr, T0 + 19000, T0 + 20001, &s, &err) == SL_DECLINED
          && strstr(err, "ends after") != NULL,
          "select: 1 ms past the last closed segment: 416");

    /* the open segment is not in a clip */
    (void) sl_dvr_segment_start(dvr, T0 + 20000, 1, SL_SEG_INDEPENDENT);
    sl_ok(t, sel(dvr, T0 + 18000, T0 + 21000, &s, &err) == SL_DECLINED,
          "select: the segment in progress is in the future");
    free(dvr);

    /* keyframes every other segment (1 s segments, 2 s GOP) */

    dvr = dvr_new();
    for (i = 0; i < 10; i++) {
        seg(dvr, T0 + 1000 * i, 1000, 1, i % 2 ? 0 : SL_SEG_INDEPENDENT);
    }

    sl_ok(t, sel(dvr, T0 + 1000, T0 + 5000, &s, &err) == SL_OK
          && s.first_msn == 100 && s.last_msn == 104,
          "select: a start without a keyframe: the nearest one before");
    sl_ok(t, sel(dvr, T0 + 1400, T0 + 5000, &s, &err) == SL_OK
          && s.first_msn == 102,
          "select: ... or after, when nearer");
    sl_ok(t, sel(dvr, T0 + 9000, T0 + 10000, &s, &err) == SL_OK
          && s.first_msn == 108 && s.last_msn == 109,
          "select: a keyframe before, past the range's end segment");
    free(dvr);

    /* a gap, then a new init (a discontinuity) */

    dvr = dvr_new();
    for (i = 0; i < 4; i++) {
        seg(dvr, T0 + 2000 * i, 2000, 1, SL_SEG_INDEPENDENT);
    }
    (void) sl_dvr_segment_start(dvr, T0 + 8000, 1, SL_SEG_INDEPENDENT);
    (void) sl_dvr_segment_lost(dvr, 2000000, NULL);
    seg(dvr, T0 + 10000, 2000, 1, SL_SEG_INDEPENDENT);
    seg(dvr, T0 + 30000, 2000, 2, SL_SEG_INDEPENDENT);
    seg(dvr, T0 + 32000, 2000, 2, SL_SEG_INDEPENDENT);

    sl_ok(t, sel(dvr, T0, T0 + 8000, &s, &err) == SL_OK
          && s.last_msn == 103, "select: up to the gap");
    sl_ok(t, sel(dvr, T0 + 6000, T0 + 12000, &s, &err) == SL_DECLINED
          && strstr(err, "gap") != NULL, "select: across the gap: 416");
    sl_ok(t, sel(dvr, T0 + 10000, T0 + 32000, &s, &err) == SL_DECLINED
          && strstr(err, "discontinuity") != NULL,
          "select: across a new init: 416");
    sl_ok(t, sel(dvr, T0 + 30000, T0 + 34000, &s, &err) == SL_OK
          && s.first_msn == 106 && s.init_id == 2,
          "select: after the discontinuity, with its init");
    sl_ok(t, sel(dvr, T0 + 20000, T0 + 31000, &s, &err) == SL_OK
          && s.first_msn == 106 && s.last_msn == 106,
          "select: a start in the hole before a new run: the run's start");
    free(dvr);

    /* nothing closed yet */

    dvr = dvr_new();
    sl_ok(t, sel(dvr, T0, T0 + 1000, &s, &err) == SL_DECLINED
          && err != NULL, "select: an empty index: 416");
    free(dvr);
}


static void
test_names(sl_tap_t *t)
{
    char           buf[SL_CLIP_NAME_MAX];
    uint64_t       first;
    unsigned char  stamp[SL_CLIP_STAMP_LEN];

    sl_ok(t, sl_clip_name(buf, sizeof(buf), 12, 17) == 9
          && strcmp(buf, "12-17.mp4") == 0, "names: 12-17.mp4");
    sl_ok(t, sl_clip_name(buf, sizeof(buf), UINT64_MAX, UINT64_MAX)
          < sizeof(buf), "names: the largest numbers fit");

    sl_ok(t, sl_clip_name_first("12-17.mp4", &first) == SL_OK && first == 12,
          "names: the first of a clip");
    sl_ok(t, sl_clip_name_first("12-17.mp4.4242.tmp", &first) == SL_OK
          && first == 12, "names: a clip being written");
    sl_ok(t, sl_clip_name_first("12-17.mp4x", &first) == SL_DECLINED,
          "names: not a clip: a suffix");
    sl_ok(t, sl_clip_name_first("12.mp4", &first) == SL_DECLINED,
          "names: not a clip: one number");
    sl_ok(t, sl_clip_name_first("-17.mp4", &first) == SL_DECLINED,
          "names: not a clip: no first");
    sl_ok(t, sl_clip_name_first(".", &first) == SL_DECLINED,
          "names: not a clip: .");
    sl_ok(t, sl_clip_name_first("99999999999999999999-1.mp4", &first)
          == SL_DECLINED, "names: not a clip: 20 digits");

    sl_ok(t, sl_clip_stamp(T0 + 999, stamp) == SL_OK
          && memcmp(stamp, "20251202T100640Z", SL_CLIP_STAMP_LEN) == 0,
          "names: the download's stamp");
    sl_ok(t, sl_clip_stamp(-1, stamp) == SL_ERROR, "names: no stamp before "
          "the epoch");
}


/* a time, or -1 */
static int64_t
tm(const char *s)
{
    int64_t  ms;

    return sl_clip_time((const unsigned char *) s, strlen(s), &ms) == SL_OK
           ? ms : -1;
}


static sl_dvr_t *
dvr_new(void)
{
    size_t           size;
    void            *block;
    sl_dvr_params_t  p;

    memset(&p, 0, sizeof(p));
    p.max_segments = 64;
    p.max_parts = 4;
    p.window_us = 3600000000ULL;
    p.target_duration = 2;
    p.first_msn = 100;

    size = sl_dvr_size(p.max_segments, p.max_parts);
    block = malloc(size);

    if (block == NULL || sl_dvr_init(block, size, &p) == NULL) {
        abort();
    }

    return block;
}


static void
seg(sl_dvr_t *dvr, int64_t pdt, uint32_t ms, uint32_t init, unsigned flags)
{
    if (sl_dvr_segment_start(dvr, pdt, init, flags) != SL_OK
        || sl_dvr_segment_close(dvr, ms * 1000, 1000, NULL) != SL_OK)
    {
        abort();
    }
}


static int
sel(const sl_dvr_t *dvr, int64_t start, int64_t end, sl_clip_sel_t *s,
    const char **err)
{
    sl_clip_range_t  r;

    r.start_ms = start;
    r.end_ms = end;

    return sl_clip_select(dvr, &r, s, err);
}
