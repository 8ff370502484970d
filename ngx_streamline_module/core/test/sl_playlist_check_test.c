/*
 * Unit tests of the playlist checker (sl_playlist_check*.c), one program:
 * each rule it claims, the reload, segment and date rules, master
 * playlists here; the module's own form, its renderings in that form and
 * the segments the checker records (sl_playlist_check_form_test.c).
 * Prints TAP; exits 1 when a test fails.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_media.h"
#include "sl_playlist_check.h"
#include "sl_playlist_check_test.h"


static void test_checker(sl_tap_t *t);
static void test_checker_info(sl_tap_t *t);
static void test_reload(sl_tap_t *t);
static void test_reload_problems(sl_tap_t *t);
static void test_segment_rules(sl_tap_t *t);
static void test_master_rules(sl_tap_t *t);


int
main(void)
{
    sl_tap_t  t;

    t.n = 0;
    t.failed = 0;

    test_checker(&t);
    test_checker_info(&t);
    test_reload(&t);
    test_rendered(&t);
    test_rendered_output(&t);
    test_segments(&t);
    test_reload_problems(&t);
    test_segment_rules(&t);
    test_master_rules(&t);

    return sl_tap_done(&t);
}


static void
test_checker(sl_tap_t *t)
{
    int                 rc;
    size_t              i;
    const char         *err;
    sl_playlist_info_t  info;

#define H    "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n"
#define H9   "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n"
#define MAP  "#EXT-X-MAP:URI=\"init-1.mp4\"\n"
#define S0   "#EXTINF:2.000,\nseg-0.m4s\n"
#define S1   "#EXTINF:2.000,\nseg-1.m4s\n"
#define LL   "#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=1.5,HOLD-BACK=6\n"        \
             "#EXT-X-PART-INF:PART-TARGET=0.5\n"
#define P(m, i, d)                                                            \
    "#EXT-X-PART:DURATION=" d ",URI=\"part-" #m "." #i ".m4s\"\n"

    static const struct {
        const char  *name;
        const char  *text;
        const char  *err;            /* NULL: valid */
    } cases[] = {
        { "valid", H MAP S0 S1, NULL },
        { "CRLF", "#EXTM3U\r\n#EXT-X-VERSION:6\r\n#EXT-X-TARGETDURATION:2\r\n"
                  MAP "#EXTINF:2,\r\nseg-0.m4s\r\n", NULL },
        { "no final newline", H MAP "#EXTINF:2.000,\nseg-0.m4s", NULL },
        { "comments and unknown tags", H "# hello\n#EXT-X-FOO:1\n" MAP S0,
          NULL },
        { "other URI names", H MAP "#EXTINF:2.000,\nhttp://a/b.mp4\n", NULL },
        { "2.499 rounds to 2", H MAP "#EXTINF:2.499,\nseg-0.m4s\n", NULL },
        { "media sequence", H "#EXT-X-MEDIA-SEQUENCE:7\n" MAP
          "#EXTINF:2,\nseg-7.m4s\n#EXTINF:2,\nx/seg-8.m4s\n", NULL },
        { "parts", H LL MAP P(0, 0, "0.5") P(0, 1, "0.5") P(0, 2, "0.5")
          P(0, 3, "0.5") S0 P(1, 0, "0.5")
          "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-1.1.m4s\"\n", NULL },
        { "hint of the next segment", H LL MAP P(0, 0, "0.5") P(0, 1, "0.5")
          "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-1.0.m4s\"\n", NULL },
        { "skip", H9 "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12.0\n"
          "#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-SKIP:SKIPPED-SEGMENTS=5\n" MAP
          "#EXTINF:2,\nseg-8.m4s\n", NULL },

        { "empty", "", "empty" },
        { "first line", "#EXTM3X\n#EXT-X-VERSION:6\n", "#EXTM3U" },
        { "leading blank line", "\n" H MAP S0, "#EXTM3U" },
        { "no version", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n" MAP S0,
          "no EXT-X-VERSION" },
        { "version twice", H "#EXT-X-VERSION:6\n" MAP S0, "VERSION repeated" },
        { "bad version", "#EXTM3U\n#EXT-X-VERSION:x\n", "bad EXT-X-VERSION" },
        { "no target", "#EXTM3U\n#EXT-X-VERSION:6\n" MAP S0,
          "no EXT-X-TARGETDURATION" },
        { "target twice", H "#EXT-X-TARGETDURATION:2\n",
          "TARGETDURATION repeated" },
        { "target 0", "#EXTM3U\n#EXT-X-TARGETDURATION:0\n",
          "bad EXT-X-TARGETDURATION" },
        { "EXTINF over target", H MAP "#EXTINF:2.500,\nseg-0.m4s\n",
          "longer than EXT-X-TARGETDURATION" },
        { "bad EXTINF", H MAP "#EXTINF:2.x,\nseg-0.m4s\n", "bad EXTINF" },
        { "EXTINF without comma", H MAP "#EXTINF:2.0\nseg-0.m4s\n", "comma" },
        { "EXTINF without URI", H MAP "#EXTINF:2,\n#EXTINF:2,\nseg-0.m4s\n",
          "EXTINF without a URI" },
        { "EXTINF at the end", H MAP S0 "#EXTINF:2,\n",
          "EXTINF without a URI" },
        { "URI without EXTINF", H MAP "seg-0.m4s\n", "URI without EXTINF" },
        { "media sequence after a segment", H MAP S0
          "#EXT-X-MEDIA-SEQUENCE:1\n", "MEDIA-SEQUENCE after" },
        { "segment numbering", H "#EXT-X-MEDIA-SEQUENCE:7\n" MAP
          "#EXTINF:2,\nseg-7.m4s\n#EXTINF:2,\nseg-9.m4s\n",
          "does not match the media sequence" },
        { "discontinuity sequence late", H MAP "#EXT-X-DISCONTINUITY\n"
          "#EXT-X-DISCONTINUITY-SEQUENCE:2\n" S0,
          "DISCONTINUITY-SEQUENCE after" },
        { "no MAP", H S0, "no EXT-X-MAP" },
        { "MAP late", H S0 MAP, "no EXT-X-MAP" },
        { "MAP without URI", H "#EXT-X-MAP:BYTERANGE=\"1@0\"\n" S0,
          "bad EXT-X-MAP" },
        { "MAP with version 5", "#EXTM3U\n#EXT-X-VERSION:5\n"
          "#EXT-X-TARGETDURATION:2\n" MAP S0, "needs EXT-X-VERSION 6" },
        { "part without PART-INF", H MAP P(0, 0, "0.5") S0,
          "without EXT-X-PART-INF" },
        { "part before MAP", H LL P(0, 0, "0.5") MAP S0, "no EXT-X-MAP" },
        { "part over target", H LL MAP P(0, 0, "0.501") S0,
          "longer than PART-TARGET" },
        { "parts short of the segment", H LL MAP P(0, 0, "0.5")
          P(0, 1, "0.5") P(0, 2, "0.5") S0, "do not add up" },
        { "part numbering", H LL MAP P(0, 0, "0.5") P(0, 2, "0.5"),
          "does not match its segment" },
        { "part of another segment", H LL MAP S0 P(0, 0, "0.5"),
          "does not match its segment" },
        { "part without URI", H LL MAP "#EXT-X-PART:DURATION=0.5\n",
          "bad EXT-X-PART" },
        { "attribute list trailing comma", H LL MAP
          "#EXT-X-PART:DURATION=0.5,URI=\"part-0.0.m4s\",\n",
          "bad EXT-X-PART" },
        { "attribute unterminated quote", H LL MAP
          "#EXT-X-PART:DURATION=0.5,URI=\"part-0.0.m4s\n", "bad EXT-X-PART" },
        { "hint after ENDLIST", H LL MAP S0
          "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-1.0.m4s\"\n"
          "#EXT-X-ENDLIST\n", "in an ended playlist" },
        { "hint skips a part", H LL MAP P(0, 0, "0.5")
          "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-0.2.m4s\"\n",
          "not the next part" },
        { "hint twice", H LL MAP S0
          "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-1.0.m4s\"\n"
          "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-1.0.m4s\"\n",
          "PRELOAD-HINT repeated" },
        { "skip with version 6", H
          "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12.0\n"
          "#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n" MAP S1,
          "needs EXT-X-VERSION 9" },
        { "skip without CAN-SKIP-UNTIL", H9 "#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n"
          MAP S1, "without CAN-SKIP-UNTIL" },
        { "skip after a segment", H9
          "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12.0\n" MAP S0
          "#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n", "SKIP after a segment" },
        { "skip numbering", H9 "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12.0\n"
          "#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n" MAP S1,
          "does not match the media sequence" },
        { "CAN-SKIP-UNTIL too small", H
          "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=11.999\n" MAP S0,
          "CAN-SKIP-UNTIL below" },
        { "HOLD-BACK too small", H "#EXT-X-SERVER-CONTROL:HOLD-BACK=5.9\n"
          MAP S0, "HOLD-BACK below" },
        { "PART-HOLD-BACK missing", H "#EXT-X-PART-INF:PART-TARGET=0.5\n"
          MAP S0, "without PART-HOLD-BACK" },
        { "PART-HOLD-BACK too small", H
          "#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=0.9\n"
          "#EXT-X-PART-INF:PART-TARGET=0.5\n" MAP S0, "PART-HOLD-BACK below" },
        { "CAN-BLOCK-RELOAD=NO", H
          "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=NO\n" MAP S0,
          "bad EXT-X-SERVER-CONTROL" },
        { "ENDLIST twice", H MAP S0 "#EXT-X-ENDLIST\n#EXT-X-ENDLIST\n",
          "ENDLIST repeated" },
        { "control character", H MAP "#EXTINF:2,\nseg\t-0.m4s\n",
          "control character" },
        { "bad date", H MAP "#EXT-X-PROGRAM-DATE-TIME:2023-11-14 22:13:20Z\n"
          S0, "PROGRAM-DATE-TIME" },
        { "huge duration", H MAP "#EXTINF:99999999999999999999,\nseg-0.m4s\n",
          "bad EXTINF" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err = "unset";
        rc = sl_playlist_check((const unsigned char *) cases[i].text,
                               strlen(cases[i].text), &info, &err);

        if (cases[i].err == NULL) {
            if (!sl_ok(t, rc == SL_OK, "checker: %s accepted",
                       cases[i].name))
            {
                printf("#   line %zu: %s\n", info.line, err);
            }

        } else if (!sl_ok(t, rc == SL_ERROR
                          && strstr(err, cases[i].err) != NULL,
                          "checker: %s rejected (line %zu: %s)",
                          cases[i].name, info.line, err))
        {
            sl_tap_diag("playlist", (const unsigned char *) cases[i].text,
                        strlen(cases[i].text));
        }
    }

    rc = sl_playlist_check((const unsigned char *) H MAP S0 S1,
                           strlen(H MAP S0 S1) , NULL, &err);
    sl_ok(t, rc == SL_OK, "checker: info may be NULL");

    rc = sl_playlist_check((const unsigned char *) H MAP
                           "#EXTINF:2,\nseg-0.m4s\n#EXTINF:2,\nseg-5.m4s\n",
                           strlen(H MAP) + 42, &info, &err);
    sl_ok(t, rc == SL_ERROR && info.line == 8,
          "checker: the line of the error (%zu)", info.line);

#undef H
#undef H9
#undef MAP
#undef S0
#undef S1
#undef LL
#undef P
}


static void
test_checker_info(sl_tap_t *t)
{
    const char          *err;
    sl_playlist_info_t   info;

    static const char  pl[] =
        "#EXTM3U\n"
        "#EXT-X-VERSION:9\n"
        "#EXT-X-TARGETDURATION:4\n"
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=24,"
        "PART-HOLD-BACK=3.0,HOLD-BACK=12\n"
        "#EXT-X-PART-INF:PART-TARGET=1.0\n"
        "#EXT-X-MEDIA-SEQUENCE:100\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:4\n"
        "#EXT-X-SKIP:SKIPPED-SEGMENTS=10\n"
        "#EXT-X-MAP:URI=\"init-3.mp4\"\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z\n"
        "#EXTINF:4.000,\n"
        "seg-110.m4s\n"
        "#EXT-X-DISCONTINUITY\n"
        "#EXT-X-MAP:URI=\"init-4.mp4\"\n"
        "#EXT-X-PART:DURATION=1.0,URI=\"part-111.0.m4s\",INDEPENDENT=YES\n"
        "#EXT-X-PART:DURATION=1.0,URI=\"part-111.1.m4s\"\n"
        "#EXT-X-PART:DURATION=0.999,URI=\"part-111.2.m4s\"\n"
        "#EXTINF:3.000,\n"
        "seg-111.m4s\n"
        "#EXT-X-PART:DURATION=1.0,URI=\"part-112.0.m4s\",INDEPENDENT=YES\n"
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-112.1.m4s\"\n"
        "#EXT-X-RENDITION-REPORT:URI=\"../a/index.m3u8\",LAST-MSN=112\n";

    sl_ok(t, sl_playlist_check((const unsigned char *) pl, sizeof(pl) - 1,
                               &info, &err) == SL_OK
          && info.version == 9 && info.target_duration == 4
          && info.part_target_us == 1000000 && info.media_sequence == 100
          && info.discontinuity_sequence == 4 && info.skipped == 10
          && info.segments == 2 && info.parts == 4
          && info.discontinuities == 1 && info.maps == 2 && info.pdts == 1
          && info.duration_us == 7000000 && info.last_msn == 112
          && info.last_part == 0 && !info.ended && info.preload_hint
          && info.server_control,
          "checker info: every field");
}


static void
test_reload(sl_tap_t *t)
{
    const char          *err;
    sl_playlist_info_t   a, b;

    memset(&a, 0, sizeof(a));
    a.target_duration = 2;
    a.media_sequence = 10;
    a.segments = 5;
    a.last_msn = 14;
    a.last_part = 2;

    b = a;
    sl_ok(t, sl_playlist_check_reload(&a, &b, &err) == SL_OK,
          "reload: the same playlist again");

    b.last_part = 3;
    sl_ok(t, sl_playlist_check_reload(&a, &b, &err) == SL_OK,
          "reload: one more part");

    b.last_part = 1;
    sl_ok(t, sl_playlist_check_reload(&a, &b, &err) == SL_ERROR
          && strstr(err, "part went back"), "reload: part went back");

    b = a;
    b.last_msn = 13;
    b.last_part = 5;
    sl_ok(t, sl_playlist_check_reload(&a, &b, &err) == SL_ERROR
          && strstr(err, "segment went back"), "reload: segment went back");

    b = a;
    b.media_sequence = 9;
    sl_ok(t, sl_playlist_check_reload(&a, &b, &err) == SL_ERROR
          && strstr(err, "MEDIA-SEQUENCE"), "reload: media sequence back");

    b = a;
    a.discontinuity_sequence = 1;
    sl_ok(t, sl_playlist_check_reload(&a, &b, &err) == SL_ERROR
          && strstr(err, "DISCONTINUITY"),
          "reload: discontinuity sequence back");
    a.discontinuity_sequence = 0;

    b = a;
    b.target_duration = 3;
    sl_ok(t, sl_playlist_check_reload(&a, &b, &err) == SL_ERROR
          && strstr(err, "TARGETDURATION"), "reload: target changed");

    b = a;
    a.ended = 1;
    sl_ok(t, sl_playlist_check_reload(&a, &b, &err) == SL_ERROR
          && strstr(err, "ENDLIST"), "reload: ENDLIST went away");
}


static void
test_reload_problems(sl_tap_t *t)
{
    size_t              n;
    const char         *errs[8];
    sl_playlist_info_t  a, b;

    memset(&a, 0, sizeof(a));
    a.target_duration = 2;
    a.media_sequence = 10;
    a.discontinuity_sequence = 2;
    a.segments = 5;
    a.last_msn = 14;
    a.last_part = -1;
    a.ended = 1;

    b = a;
    sl_ok(t, sl_playlist_reload_problems(&a, &b, errs, 8) == 0,
          "reload problems: none");

    b.media_sequence = 9;
    b.target_duration = 3;
    b.ended = 0;
    b.last_msn = 13;

    n = sl_playlist_reload_problems(&a, &b, errs, 8);

    sl_ok(t, n == 4 && strstr(errs[0], "MEDIA-SEQUENCE went back")
             && strstr(errs[1], "TARGETDURATION changed")
             && strstr(errs[2], "ENDLIST went away")
             && strstr(errs[3], "last segment went back"),
          "reload problems: each rule broken, in order (%zu)", n);

    errs[1] = NULL;
    n = sl_playlist_reload_problems(&a, &b, errs, 1);

    sl_ok(t, n == 4 && strstr(errs[0], "MEDIA-SEQUENCE") && errs[1] == NULL,
          "reload problems: no more than max written, all counted");
}


static void
test_segment_rules(sl_tap_t *t)
{
    const char         *err;
    sl_playlist_seg_t   a, b;

    memset(&a, 0, sizeof(a));
    a.duration_us = 1967000;
    a.dseq = 1;
    a.map = (const unsigned char *) "init-3.mp4";
    a.map_len = 10;
    a.pdt_us = 1000000;
    a.pdt_stated = 1;

    b = a;
    b.map = (const unsigned char *) "xinit-3.mp4" + 1;
    b.pdt_stated = 0;
    sl_ok(t, sl_playlist_check_segment(&a, &b, 0, &err) == SL_OK
             && sl_playlist_check_date(&a, &b, &err) == SL_OK,
          "segment: kept (the date implied now)");

    b.duration_us = 1968000;
    sl_ok(t, sl_playlist_check_segment(&a, &b, 0, &err) == SL_ERROR
             && strstr(err, "EXTINF"), "segment: EXTINF changed");

    b = a;
    b.map = (const unsigned char *) "init-4.mp4";
    sl_ok(t, sl_playlist_check_segment(&a, &b, 0, &err) == SL_ERROR
             && strstr(err, "EXT-X-MAP"), "segment: map changed");

    b = a;
    b.dseq = 2;
    sl_ok(t, sl_playlist_check_segment(&a, &b, 0, &err) == SL_ERROR
             && strstr(err, "discontinuity sequence"),
          "segment: discontinuity sequence changed");

    a.discontinuity = 1;
    b = a;
    b.discontinuity = 0;
    sl_ok(t, sl_playlist_check_segment(&a, &b, 0, &err) == SL_ERROR
             && strstr(err, "lost its EXT-X-DISCONTINUITY")
             && sl_playlist_check_segment(&a, &b, 1, &err) == SL_OK,
          "segment: lost its discontinuity (the first may: the segment "
          "before it went)");

    b = a;
    b.pdt_us += 1000;
    sl_ok(t, sl_playlist_check_date(&a, &b, &err) == SL_OK,
          "date: 1 ms off is rounding");
    b.pdt_us += 1;
    sl_ok(t, sl_playlist_check_date(&a, &b, &err) == SL_ERROR
             && sl_playlist_check_date(&b, &a, &err) == SL_ERROR,
          "date: more is a change, either way");
    b.pdt_us = -1;
    sl_ok(t, sl_playlist_check_date(&a, &b, &err) == SL_ERROR
             && sl_playlist_check_date(&b, &a, &err) == SL_ERROR,
          "date: lost or gained");
    a.pdt_us = -1;
    sl_ok(t, sl_playlist_check_date(&a, &b, &err) == SL_OK,
          "date: none in either");
}


static void
test_master_rules(sl_tap_t *t)
{
    int               rc;
    size_t            i, n, line;
    const char       *err;
    unsigned char     buf[512];
    sl_hls_variant_t  v;

#define M   "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n"
#define V0  "#EXT-X-STREAM-INF:BANDWIDTH=2605692,AVERAGE-BANDWIDTH=2600000," \
            "RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\","          \
            "FRAME-RATE=30.000\nsource/index.m3u8\n"
#define V1  "#EXT-X-STREAM-INF:BANDWIDTH=133296,CODECS=\"mp4a.40.2\"\n"     \
            "low/index.m3u8\n"

    static const struct {
        const char  *name;
        const char  *text;
        const char  *err;            /* NULL: valid */
        size_t       line;
    } cases[] = {
        { "two variants", M V0 V1, NULL, 0 },
        { "no variant", M, NULL, 0 },
        { "empty", "", "first line is not #EXTM3U", 1 },
        { "first line", "#EXTM3X\n" V1, "first line is not #EXTM3U", 1 },
        { "version twice", M "#EXT-X-VERSION:6\n" V1,
          "EXT-X-VERSION repeated", 4 },
        { "no URI", M "#EXT-X-STREAM-INF:BANDWIDTH=1\n" V1,
          "EXT-X-STREAM-INF without a URI", 5 },
        { "no URI at the end", M V1 "#EXT-X-STREAM-INF:BANDWIDTH=1\n",
          "without a URI at the end", 6 },
        { "no BANDWIDTH", M "#EXT-X-STREAM-INF:CODECS=\"mp4a.40.2\"\nx\n",
          "without BANDWIDTH", 4 },
        { "BANDWIDTH not decimal", M "#EXT-X-STREAM-INF:BANDWIDTH=1.5\nx\n",
          "without BANDWIDTH", 4 },
        { "bad attribute list", M "#EXT-X-STREAM-INF:BANDWIDTH=1,\nx\n",
          "bad EXT-X-STREAM-INF", 4 },
        { "URI alone", M V1 "other/index.m3u8\n",
          "URI without EXT-X-STREAM-INF", 6 },
        { "no final newline", M "#EXT-X-STREAM-INF:BANDWIDTH=1\nx",
          "does not end with a newline", 5 },
        { "control character", M "#EXT-X-STREAM-INF:BANDWIDTH=1\n\tx\n",
          "control character", 5 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err = "unset";
        rc = sl_playlist_check_master((const unsigned char *) cases[i].text,
                                      strlen(cases[i].text), &line, &err);

        sl_ok(t, (cases[i].err == NULL)
                 ? rc == SL_OK && line == 0
                 : rc == SL_ERROR && strstr(err, cases[i].err) != NULL
                   && line == cases[i].line,
              "master: %s %s (line %zu: %s)", cases[i].name,
              cases[i].err ? "rejected" : "accepted", line, err);
    }

    memset(&v, 0, sizeof(v));
    v.name = (const unsigned char *) "source";
    v.name_len = 6;
    v.bandwidth = 6500000;
    v.width = 1920;
    v.height = 1080;
    v.codecs = "avc1.640028,mp4a.40.2";
    v.frame_rate = 25;

    n = sl_hls_master_playlist(&v, 1, buf, sizeof(buf));

    sl_ok(t, n > 0 && n <= sizeof(buf)
             && sl_playlist_check_master(buf, n, &line, &err) == SL_OK,
          "master: the module's rendering passes");

#undef M
#undef V0
#undef V1
}
