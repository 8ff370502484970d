/*
 * Unit tests of the DVR index and the HLS playlists, continued (see
 * sl_media_test.c): LL-HLS: parts, delta updates (EXT-X-SKIP), the parts
 * listed, targets raised, and when a blocking request is answered.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_media_test.h"


void
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

    /* the operator's hold-back, in parts: 2 is the least the spec allows */
    opts.nreports = 0;
    sl_dvr_set_part_hold_back(dvr, 2);
    pl = sl_render(dvr, &opts);
    sl_ok(t, sl_count(&pl, "PART-HOLD-BACK=1.000,HOLD-BACK=6.000") == 1,
          "ll: a hold-back of 2 parts: PART-HOLD-BACK=1.000");
    sl_check_ok(t, &pl, NULL, "ll: checker accepts it");
    free(pl.text);

    sl_dvr_set_part_hold_back(dvr, 1);
    pl = sl_render(dvr, &opts);
    sl_ok(t, sl_count(&pl, "PART-HOLD-BACK=1.000,") == 1,
          "ll: a hold-back of 1 part is ignored (below the spec's 2)");
    free(pl.text);

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


void
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


void
test_parts_window(sl_tap_t *t)
{
    int                 i, ok;
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
    /* checked first: the name below prints what the check found */
    ok = sl_check_ok(t, &pl, &info, "parts window: short segments");
    sl_ok(t, ok && info.parts == SL_DVR_PART_SEGMENTS
             && sl_count(&pl, "part-24.0.m4s") == 1
             && sl_count(&pl, "part-23.0.m4s") == 0,
          "parts window: detail of the last %d segments only (%llu parts)",
          SL_DVR_PART_SEGMENTS,
          (unsigned long long) (ok ? info.parts : 0));
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


void
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


/* the LL-HLS request rules (sl_hls_request.c), RFC 8216bis 6.2.5.2 */
void
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
