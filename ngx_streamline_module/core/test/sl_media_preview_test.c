/*
 * Unit tests of the DVR index and the HLS playlists, continued (see
 * sl_media_test.c): the scrubber previews a DVR index carries
 * (sl_dvr_preview(), the drops' preview fields) and previews.vtt
 * (sl_preview_vtt()).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_media_test.h"


/* a segment of 4 parts of 500 ms; tile < 0: no preview */
static void
sl_preview_seg(sl_dvr_t *dvr, uint64_t sheet, int tile, int close)
{
    int  i;

    sl_dvr_segment_start(dvr, PDT0 + (int64_t) dvr->next_msn * 2000, 1,
                         SL_SEG_INDEPENDENT);

    if (tile >= 0) {
        sl_dvr_preview(dvr, sheet, (unsigned) tile);
    }

    for (i = 0; i < 4; i++) {
        sl_dvr_part_add(dvr, 500000, 100, i == 0 ? SL_PART_INDEPENDENT : 0);
    }

    if (close) {
        sl_dvr_segment_close(dvr, 0, 0, NULL);
    }
}


static char *
sl_vtt(const sl_dvr_t *dvr, const sl_preview_geom_t *g)
{
    char    *buf;
    size_t   n, len;

    n = 16;

    for ( ;; ) {
        buf = malloc(n + 1);
        if (buf == NULL) {
            abort();
        }

        len = sl_preview_vtt(dvr, g, (unsigned char *) buf, n);

        if (len <= n) {
            buf[len] = '\0';
            return buf;
        }

        free(buf);
        n = len;
    }
}


static int
sl_vtt_diag(const char *vtt)
{
    sl_tap_diag("previews.vtt", (const unsigned char *) vtt, strlen(vtt));
    return 0;
}


/* the text from the first cue on */
static const char *
sl_cues(const char *vtt)
{
    const char  *p;

    p = strstr(vtt, "sequence numbers of their first segments\n");

    return p ? strchr(p, '\n') + 1 : "";
}


void
test_previews(sl_tap_t *t)
{
    int                 i, ok;
    char               *vtt;
    size_t              n;
    sl_dvr_t           *dvr;
    sl_dvr_drop_t       drops[8];
    sl_preview_geom_t   g = { 160, 90, 5 };

    dvr = sl_new(20, 8, 20000000, 2, 500000);

    sl_ok(t, sl_dvr_preview(dvr, 0, 0) == SL_ERROR,
          "previews: none without an open segment");

    /* tiles every other segment, sheet 0 of 3 tiles, then sheet 6 */
    sl_dvr_segment_start(dvr, PDT0, 1, SL_SEG_INDEPENDENT);
    sl_ok(t, sl_dvr_preview(dvr, 1, 0) == SL_ERROR,
          "previews: a sheet after the segment is refused");
    sl_ok(t, sl_dvr_preview(dvr, 0, 255) == SL_ERROR,
          "previews: tile 255 is refused");
    sl_ok(t, sl_dvr_preview(dvr, 0, 0) == SL_OK, "previews: tile 0 taken");

    for (i = 0; i < 4; i++) {
        sl_dvr_part_add(dvr, 500000, 100, i == 0 ? SL_PART_INDEPENDENT : 0);
    }

    sl_dvr_segment_close(dvr, 0, 0, NULL);

    sl_preview_seg(dvr, 0, 0, 1);       /* 1: tile 0 goes on */
    sl_preview_seg(dvr, 0, 1, 1);       /* 2 */
    sl_preview_seg(dvr, 0, 1, 1);       /* 3 */
    sl_preview_seg(dvr, 0, 2, 1);       /* 4 */
    sl_preview_seg(dvr, 0, 2, 1);       /* 5 */
    sl_preview_seg(dvr, 6, 0, 1);       /* 6: a new sheet */
    sl_preview_seg(dvr, 6, 0, 0);       /* 7: open, 2 s of parts */

    vtt = sl_vtt(dvr, &g);

    sl_ok(t, strncmp(vtt, "WEBVTT\n\nNOTE ", 13) == 0,
          "previews: a WebVTT file with a note");
    if (!sl_ok(t, strcmp(sl_cues(vtt),
        "\n0\n00:00:00.000 --> 00:00:04.000\n"
        "previews/0-3.jpg#xywh=0,0,160,90\n"
        "\n2\n00:00:04.000 --> 00:00:08.000\n"
        "previews/0-3.jpg#xywh=160,0,160,90\n"
        "\n4\n00:00:08.000 --> 00:00:12.000\n"
        "previews/0-3.jpg#xywh=320,0,160,90\n"
        "\n6\n00:00:12.000 --> 00:00:16.000\n"
        "previews/6-1.jpg#xywh=0,0,160,90\n") == 0,
        "previews: one cue a tile, contiguous, up to the open segment's "
        "parts, each sheet at its newest version")) {
        (void) sl_vtt_diag(vtt);
    }
    free(vtt);

    /* a trim: the window's first segment is in the middle of a run */
    sl_dvr_segment_close(dvr, 0, 0, NULL);

    for (i = 0; i < 4; i++) {
        sl_preview_seg(dvr, 6, 1, 1);   /* 8 .. 11 */
    }

    n = sl_dvr_trim(dvr, drops, 8);

    ok = n == 1 && drops[0].msn == 0 && drops[0].preview_tile == 1
         && drops[0].preview_sheet == 0 && !drops[0].preview_unused;
    sl_ok(t, ok, "previews: a dropped segment names its tile, the sheet "
          "still in use");

    vtt = sl_vtt(dvr, &g);
    if (!sl_ok(t, strncmp(sl_cues(vtt),
        "\n1\n00:00:02.000 --> 00:00:04.000\n"
        "previews/0-3.jpg#xywh=0,0,160,90\n", 66) == 0,
        "previews: the first cue starts with the window")) {
        (void) sl_vtt_diag(vtt);
    }
    free(vtt);

    /* until the sheet's last segment goes */
    for (i = 0; i < 5; i++) {
        sl_preview_seg(dvr, 6, 2, 1);   /* 12 .. 16 */
    }

    n = sl_dvr_trim(dvr, drops, 8);

    ok = n == 5;

    for (i = 0; i < (int) n; i++) {
        ok = ok && drops[i].msn == (uint64_t) i + 1
             && drops[i].preview_sheet == 0
             && drops[i].preview_unused == (i == 4);
    }

    sl_ok(t, ok, "previews: the sheet is unused once its last segment "
          "goes (%zu dropped)", n);

    vtt = sl_vtt(dvr, &g);
    if (!sl_ok(t, strncmp(sl_cues(vtt),
        "\n6\n00:00:12.000 --> 00:00:16.000\n"
        "previews/6-3.jpg#xywh=0,0,160,90\n", 66) == 0,
        "previews: the next sheet first, at its newest version")) {
        (void) sl_vtt_diag(vtt);
    }
    free(vtt);

    sl_ok(t, sl_preview_vtt(dvr, &(sl_preview_geom_t) { 0, 90, 5 }, NULL, 0)
          == 0, "previews: a bad geometry renders nothing");

    free(dvr);

    /* no previews: a header only; and hour-long times */
    dvr = sl_new(4000, 8, 3 * HOUR_US, 2, 500000);

    for (i = 0; i < 3601; i++) {
        sl_preview_seg(dvr, 0, -1, 1);
    }

    vtt = sl_vtt(dvr, &g);
    sl_ok(t, strcmp(sl_cues(vtt), "") == 0, "previews: no tile, no cue");
    free(vtt);

    sl_preview_seg(dvr, 3601, 0, 1);
    vtt = sl_vtt(dvr, &g);
    if (!sl_ok(t, strcmp(sl_cues(vtt),
        "\n3601\n02:00:02.000 --> 02:00:04.000\n"
        "previews/3601-1.jpg#xywh=0,0,160,90\n") == 0,
        "previews: hours in cue times")) {
        (void) sl_vtt_diag(vtt);
    }
    free(vtt);
    free(dvr);
}
