/*
 * Unit tests of the playlist checker (sl_playlist_check*.c): each rule it
 * claims, the module's own form, the segments it records, the reload,
 * segment and date rules, master playlists; and the module's renderings
 * pass the module's own form.  Prints TAP; exits 1 when a test fails.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_media.h"
#include "sl_playlist_check.h"
#include "sl_tap.h"


static void test_checker(sl_tap_t *t);
static void test_checker_info(sl_tap_t *t);
static void test_reload(sl_tap_t *t);
static void test_rendered(sl_tap_t *t);
static void test_rendered_output(sl_tap_t *t);
static void test_segments(sl_tap_t *t);
static void test_reload_problems(sl_tap_t *t);
static void test_segment_rules(sl_tap_t *t);
static void test_master_rules(sl_tap_t *t);

static int sl_check_text(const char *text, unsigned rendered,
    sl_playlist_seg_t *segs, size_t max, sl_playlist_info_t *info,
    const char **err);


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


/* the playlist t/69-media-helpers.t starts from, and each rule broken */

#define GOOD                                                                  \
    "#EXTM3U\n"                                                               \
    "#EXT-X-VERSION:6\n"                                                      \
    "#EXT-X-TARGETDURATION:2\n"                                               \
    "#EXT-X-MEDIA-SEQUENCE:10\n"                                              \
    "#EXT-X-INDEPENDENT-SEGMENTS\n"                                           \
    "#EXT-X-MAP:URI=\"init-3.mp4\"\n"                                         \
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-26T02:45:14.678Z\n"                     \
    "#EXTINF:2.000,\n"                                                        \
    "seg-10.m4s\n"                                                            \
    "#EXTINF:1.967,\n"                                                        \
    "seg-11.m4s\n"                                                            \
    "#EXT-X-DISCONTINUITY\n"                                                  \
    "#EXT-X-MAP:URI=\"init-4.mp4\"\n"                                         \
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-26T02:45:30.000Z\n"                     \
    "#EXTINF:2.033,\n"                                                        \
    "seg-12.m4s\n"                                                            \
    "#EXT-X-ENDLIST\n"

static void
test_rendered(sl_tap_t *t)
{
    int                 rc;
    char                text[2048];
    size_t              i, at;
    const char         *err, *p;
    sl_playlist_info_t  info;

    static const struct {
        const char  *from;           /* its first occurrence in GOOD */
        const char  *to;
        const char  *err;
        unsigned     rfc_ok:1;       /* RFC 8216 alone accepts it */
    } edits[] = {
        { "#EXTM3U\n", "#EXTM3X\n", "first line is not #EXTM3U", 0 },
        { "#EXT-X-VERSION:6\n", "#EXT-X-VERSION:6\n#EXT-X-VERSION:6\n",
          "EXT-X-VERSION repeated", 0 },
        { "#EXT-X-VERSION:6\n", "", "no EXT-X-VERSION", 0 },
        { "VERSION:6", "VERSION:5", "EXT-X-MAP needs EXT-X-VERSION 6", 0 },
        { "#EXT-X-TARGETDURATION:2\n", "", "no EXT-X-TARGETDURATION", 0 },
        { "EXTINF:2.033", "EXTINF:2.600",
          "longer than EXT-X-TARGETDURATION", 0 },
        { "EXTINF:2.000,", "EXTINF:2.0,", "EXTINF not <s>.<3 decimals>", 1 },
        { "EXTINF:2.000,", "EXTINF:2.000", "EXTINF not <s>.<3 decimals>",
          0 },
        { "EXTINF:2.000,", "EXTINF:2.0000,", "EXTINF not <s>.<3 decimals>",
          1 },
        { "#EXT-X-MEDIA-SEQUENCE:10\n", "", "no EXT-X-MEDIA-SEQUENCE", 0 },
        { "seg-11", "seg-12", "does not match the media sequence", 0 },
        { "seg-11", "x/seg-11", "does not match the media sequence", 1 },
        { "seg-11", "seg-011", "does not match the media sequence", 1 },
        { "#EXTINF:1.967,\n", "", "URI without EXTINF", 0 },
        { "#EXT-X-MAP:URI=\"init-3.mp4\"\n", "",
          "no EXT-X-MAP before the first segment", 0 },
        { "URI=\"init-3.mp4\"", "URI=init-3.mp4", "bad EXT-X-MAP", 0 },
        { "init-3.mp4", "x/init-3.mp4", "bad EXT-X-MAP", 1 },
        { "init-3.mp4", "init-.mp4", "bad EXT-X-MAP", 1 },
        { "02:45:14.678Z", "02:45:14Z", "PROGRAM-DATE-TIME not", 0 },
        { "#EXT-X-ENDLIST\n", "#EXT-X-ENDLIST\n#EXTINF:1.000,\nseg-13.m4s\n",
          "a line after EXT-X-ENDLIST", 1 },
        { "#EXT-X-ENDLIST\n", "#EXT-X-ENDLIST\n#EXT-X-ENDLIST\n",
          "EXT-X-ENDLIST repeated", 0 },
        { "#EXT-X-INDEPENDENT-SEGMENTS", "#EXT-X-INDEPENDENT", "unknown tag",
          1 },
        { "#EXT-X-ENDLIST\n", "#EXT-X-GAP:1\n#EXT-X-ENDLIST\n", "unknown tag",
          1 },
        { "seg-10.m4s\n", "seg-10.m4s\n\n", "empty line", 1 },
        { "#EXT-X-ENDLIST\n", "#EXT-X-ENDLIST", "does not end with a newline",
          1 },
        { "seg-10.m4s\n", "seg-10.m4s\n#EXT-X-MEDIA-SEQUENCE:10\n",
          "EXT-X-MEDIA-SEQUENCE after the first segment", 0 },
        { "#EXT-X-ENDLIST\n", "#EXT-X-PRELOAD-HINT:TYPE=PART,"
          "URI=\"part-13.0.m4s\"\n#EXT-X-ENDLIST\n",
          "PRELOAD-HINT in an ended playlist", 0 },
    };

    sl_ok(t, sl_check_text(GOOD, 1, NULL, 0, &info, &err) == SL_OK,
          "rendered: the good playlist passes");

    for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        p = strstr(GOOD, edits[i].from);
        at = p - GOOD;

        snprintf(text, sizeof(text), "%.*s%s%s", (int) at, GOOD, edits[i].to,
                 GOOD + at + strlen(edits[i].from));

        err = "";
        rc = sl_check_text(text, 1, NULL, 0, &info, &err);

        if (!sl_ok(t, rc == SL_ERROR && strstr(err, edits[i].err) != NULL,
                   "rendered: edit %zu: %s (line %zu: %s)", i, edits[i].err,
                   info.line, err))
        {
            sl_tap_diag("playlist", (unsigned char *) text, strlen(text));
        }

        if (edits[i].rfc_ok) {
            rc = sl_check_text(text, 0, NULL, 0, &info, &err);
            sl_ok(t, rc == SL_OK, "rendered: edit %zu: RFC 8216 alone "
                  "lets it pass", i);
        }
    }

    rc = sl_check_text("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n"
                       "#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=1.5\n"
                       "#EXT-X-PART-INF:PART-TARGET=0.5\n"
                       "#EXT-X-MAP:URI=\"init-3.mp4\"\n"
                       "#EXT-X-PART:DURATION=0.5,URI=\"part-0.0.m4s\"\n", 1,
                       NULL, 0, &info, &err);
    sl_ok(t, rc == SL_ERROR && strstr(err, "no EXT-X-MEDIA-SEQUENCE before"),
          "rendered: a part before the media sequence (%s)", err);
}


/* every playlist the module renders has the module's form */

static void
test_rendered_output(sl_tap_t *t)
{
    size_t              n, mode;
    const char         *err;
    sl_dvr_t           *dvr;
    unsigned            i, k;
    void               *block;
    sl_hls_opts_t       opts;
    sl_dvr_drop_t       drop[4];
    sl_dvr_params_t     p;
    sl_playlist_info_t  info;
    sl_playlist_opts_t  rendered;

    static unsigned char  buf[16384];

    memset(&p, 0, sizeof(p));
    p.max_segments = 8;
    p.max_parts = 8;
    p.window_us = 12000000;
    p.target_duration = 2;
    p.part_target_us = 500000;
    p.first_msn = 40;

    n = sl_dvr_size(p.max_segments, p.max_parts);
    block = malloc(n);
    dvr = (block != NULL) ? sl_dvr_init(block, n, &p) : NULL;

    /* parts, a discontinuity with a new init, a gap, an open segment */

    for (i = 0; dvr != NULL && i < 13; i++) {
        if (i == 5) {
            sl_dvr_discontinuity(dvr);
        }

        sl_dvr_segment_start(dvr, 1700000000000LL + i * 2000, (i < 5) ? 1 : 2,
                             SL_SEG_INDEPENDENT);

        for (k = 0; k < ((i < 12) ? 4 : 1); k++) {
            sl_dvr_part_add(dvr, 500000, 100, (k == 0) ? SL_PART_INDEPENDENT
                                                       : 0);
        }

        if (i == 8) {
            sl_dvr_segment_lost(dvr, 2000000, NULL);

        } else if (i < 12) {
            sl_dvr_segment_close(dvr, 0, 0, NULL);
            sl_dvr_trim(dvr, drop, 4);
        }
    }

    memset(&rendered, 0, sizeof(rendered));
    rendered.rendered = 1;

    /* plain, parts and blocking, delta update, ended */

    for (mode = 0; dvr != NULL && mode < 4; mode++) {
        memset(&opts, 0, sizeof(opts));
        opts.parts = (mode == 1 || mode == 2);
        opts.block = opts.parts;
        opts.skip = (mode == 2);
        opts.can_skip_until_us = (mode == 2) ? 12000000 : 0;

        if (mode == 3) {
            sl_dvr_end(dvr);
        }

        n = sl_hls_media_playlist(dvr, &opts, buf, sizeof(buf));
        err = "none";

        if (!sl_ok(t, n > 0 && n <= sizeof(buf)
                      && sl_playlist_check_opts(buf, n, &rendered, &info,
                                                &err) == SL_OK
                      && (mode != 2 || info.skipped > 0),
                   "rendered output: mode %zu has the module's form "
                   "(line %zu: %s)", mode, info.line, err))
        {
            sl_tap_diag("playlist", buf, n <= sizeof(buf) ? n : 0);
        }
    }

    sl_ok(t, dvr != NULL, "rendered output: an index");

    free(block);
}


/* the segments recorded: what a later version must keep */

static void
test_segments(sl_tap_t *t)
{
    int                 rc;
    const char         *err;
    sl_playlist_seg_t   s[8];
    sl_playlist_info_t  info;

    static const char  pl[] =
        "#EXTM3U\n"
        "#EXT-X-VERSION:6\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-MEDIA-SEQUENCE:10\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:3\n"
        "#EXT-X-MAP:URI=\"init-3.mp4\"\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-26T02:45:14.678Z\n"
        "#EXTINF:2.000,\n"
        "seg-10.m4s\n"
        "#EXTINF:1.967,\n"
        "seg-11.m4s\n"
        "#EXT-X-DISCONTINUITY\n"
        "#EXT-X-MAP:URI=\"init-4.mp4\"\n"
        "#EXTINF:2.033,\n"
        "seg-12.m4s\n"
        "#EXTINF:2.000,\n"
        "seg-13.m4s\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-26T02:45:30.000Z\n"
        "#EXTINF:2.000,\n"
        "seg-14.m4s\n";

    memset(s, 0xff, sizeof(s));

    rc = sl_check_text(pl, 1, s, 8, &info, &err);

    sl_ok(t, rc == SL_OK && info.segments == 5, "segments: five recorded");

    sl_ok(t, s[0].msn == 10 && s[1].msn == 11 && s[4].msn == 14
             && s[1].duration_us == 1967000 && s[2].duration_us == 2033000,
          "segments: numbered by the media sequence, with their EXTINF");
    sl_ok(t, s[1].map_len == 10 && memcmp(s[1].map, "init-3.mp4", 10) == 0
             && s[2].map_len == 10 && memcmp(s[3].map, "init-4.mp4", 10) == 0,
          "segments: the map in force");
    sl_ok(t, s[1].dseq == 3 && !s[1].discontinuity && s[2].dseq == 4
             && s[2].discontinuity && s[3].dseq == 4 && !s[3].discontinuity,
          "segments: discontinuity and its sequence");
    sl_ok(t, s[0].pdt_stated && s[0].pdt_us == 1795661114678000LL
             && !s[1].pdt_stated && s[1].pdt_us == s[0].pdt_us + 2000000,
          "segments: a date stated, then implied (%lld, %lld)",
          (long long) s[0].pdt_us, (long long) s[1].pdt_us);
    sl_ok(t, s[2].pdt_us == -1 && s[3].pdt_us == -1,
          "segments: a discontinuity without a date breaks the chain");
    sl_ok(t, s[4].pdt_stated && s[4].pdt_us == 1795661130000000LL,
          "segments: until a date is stated again");

    rc = sl_check_text(pl, 0, s, 4, &info, &err);
    sl_ok(t, rc == SL_ERROR && strstr(err, "room") && info.line == 20,
          "segments: more than max_segs is an error (line %zu)", info.line);
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


static int
sl_check_text(const char *text, unsigned rendered, sl_playlist_seg_t *segs,
    size_t max, sl_playlist_info_t *info, const char **err)
{
    sl_playlist_opts_t  opts;

    memset(&opts, 0, sizeof(opts));
    opts.rendered = rendered;
    opts.segs = segs;
    opts.max_segs = max;

    return sl_playlist_check_opts((const unsigned char *) text, strlen(text),
                                  &opts, info, err);
}
