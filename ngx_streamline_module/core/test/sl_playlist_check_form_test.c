/*
 * Unit tests of the playlist checker, continued (see
 * sl_playlist_check_test.c): the module's own form, each of its rules
 * broken; the module's renderings have that form; the segments recorded.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_media.h"
#include "sl_playlist_check.h"
#include "sl_playlist_check_test.h"


static int sl_check_text(const char *text, unsigned rendered,
    sl_playlist_seg_t *segs, size_t max, sl_playlist_info_t *info,
    const char **err);


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

void
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

void
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

void
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
