/*
 * Unit tests of the DVR index and the HLS playlists, continued (see
 * sl_media_test.c): media playlists rendered, with discontinuities,
 * dates and an end, into a buffer too small; master playlists.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_media_test.h"


void
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


void
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


void
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


void
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


void
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


void
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
