/*
 * libFuzzer target: a clip's request (sl_clip.c) on a URI tail and its
 * query string split at the first '?'.  A path accepted names a valid
 * channel inside the input; a query accepted holds start < end, at most
 * the maximum apart, in range; a time accepted is printed back and read
 * again to the same ms.  Then the range is selected from a DVR index
 * shaped by the input's last bytes: a selection lies in the window, runs
 * forward, starts on a keyframe and crosses no gap.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_core.h"
#include "sl_clip.h"


#define T0  1764670000000LL


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sl_dvr_t *shape(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                len, n;
    int64_t               ms, again;
    const char           *err;
    sl_dvr_t             *dvr;
    struct tm             tm;
    time_t                sec;
    sl_clip_sel_t         sel;
    sl_dvr_seg_t          seg;
    sl_clip_range_t       r;
    uint64_t              msn;
    const unsigned char  *mark, *ch;
    char                  iso[64];

    mark = memchr(data, '?', size);
    len = mark ? (size_t) (mark - data) : size;

    if (sl_clip_path(data, len, &ch, &n) == SL_OK
        && (ch != data + 1 || !sl_channel_valid(ch, n)
            || len != n + sizeof("//" SL_CLIP_URI_NAME) - 1))
    {
        abort();
    }

    /* the whole input as one time */
    if (sl_clip_time(data, size, &ms) == SL_OK) {
        if (ms < 0) {
            abort();
        }

        sec = (time_t) (ms / 1000);

        if (gmtime_r(&sec, &tm) == NULL) {
            abort();
        }

        n = strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(iso + n, sizeof(iso) - n, ".%03dZ", (int) (ms % 1000));

        if (sl_clip_time((const unsigned char *) iso, strlen(iso), &again)
            != SL_OK || again != ms)
        {
            abort();
        }
    }

    if (mark == NULL) {
        return 0;
    }

    if (sl_clip_query(mark + 1, size - len - 1, 60000, &r, &err) != SL_OK) {
        if (err == NULL) {
            abort();
        }

        return 0;
    }

    if (r.start_ms < 0 || r.end_ms <= r.start_ms
        || r.end_ms - r.start_ms > 60000)
    {
        abort();
    }

    /* the range, moved near the index's segments */
    r.end_ms = T0 + (r.end_ms - r.start_ms) + r.start_ms % 40000;
    r.start_ms = T0 + r.start_ms % 40000;

    dvr = shape(data, size);

    if (sl_clip_select(dvr, &r, &sel, &err) != SL_OK) {
        if (err == NULL) {
            abort();
        }

        return 0;
    }

    if (sel.first_msn < dvr->first_msn || sel.last_msn >= dvr->next_msn
        || sel.last_msn < sel.first_msn
        || sl_dvr_segment(dvr, sel.first_msn, &seg) != SL_OK
        || !(seg.flags & SL_SEG_INDEPENDENT))
    {
        abort();
    }

    for (msn = sel.first_msn; msn <= sel.last_msn; msn++) {
        if (sl_dvr_segment(dvr, msn, &seg) != SL_OK
            || (seg.flags & SL_SEG_GAP) || seg.init_id != sel.init_id)
        {
            abort();
        }
    }

    return 0;
}


/* up to 24 segments of 1 or 2 s, some without a keyframe, a gap, a new
 * init, from the input's last bytes */
static sl_dvr_t *
shape(const uint8_t *data, size_t size)
{
    size_t            i, k;
    int64_t           pdt;
    uint32_t          init;
    uint8_t           b;
    sl_dvr_params_t   dp;
    static sl_dvr_t  *dvr;
    static size_t     dvr_size;

    memset(&dp, 0, sizeof(dp));
    dp.max_segments = 32;
    dp.max_parts = 4;
    dp.window_us = 3600000000ULL;
    dp.target_duration = 2;

    if (dvr == NULL) {
        dvr_size = sl_dvr_size(dp.max_segments, dp.max_parts);
        dvr = malloc(dvr_size);
        if (dvr == NULL) {
            abort();
        }
    }

    if (sl_dvr_init(dvr, dvr_size, &dp) == NULL) {
        abort();
    }

    k = size < 24 ? size : 24;
    pdt = T0;
    init = 1;

    for (i = 0; i < k; i++) {
        b = data[size - 1 - i];

        if (b & 0x40) {
            init++;
        }

        if (sl_dvr_segment_start(dvr, pdt, init,
                                 (b & 1) ? 0 : SL_SEG_INDEPENDENT)
            != SL_OK)
        {
            abort();
        }

        if (b & 0x80) {
            (void) sl_dvr_segment_lost(dvr, 1000000, NULL);

        } else {
            (void) sl_dvr_segment_close(dvr, (b & 2) ? 2000000 : 1000000,
                                        100, NULL);
        }

        pdt += (b & 2) ? 2000 : 1000;
        pdt += (b & 0x20) ? 3000 : 0;
    }

    return dvr;
}
