/*
 * Helpers of the DVR index's and the playlists' unit tests
 * (sl_media_test.h): an index with a canary after it, segments, a
 * rendering checked, a clock.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_media_test.h"


/* an index in a malloc'ed block followed by 64 canary bytes */

sl_dvr_t *
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


int
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

void
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

sl_text_t
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


int
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


size_t
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


double
sl_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}
