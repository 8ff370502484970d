
/*
 * libFuzzer target: sl_hls_path() and sl_hls_query(), on a URI tail and
 * its query string split at the first '?'.  What a path names must be
 * exactly how the playlists write it, and a query accepted must hold
 * numbers in range.  Then the LL-HLS request rules (sl_hls_request.c)
 * with what was asked, on a DVR index shaped by the input's last bytes:
 * an ended index never makes a request wait, a part said to be ready is
 * in the index.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_core.h"
#include "sl_media.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sl_dvr_t *shape(const uint8_t *data, size_t size);
static void rules(const sl_dvr_t *dvr, int64_t msn, int64_t part);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   n;
    char                  name[256];
    size_t                len;
    const char           *err;
    sl_hls_path_t         p;
    sl_hls_query_t        q;
    const unsigned char  *mark;

    mark = memchr(data, '?', size);
    len = mark ? (size_t) (mark - data) : size;

    sl_hls_path(data, len, &p);

    n = 0;

    switch (p.kind) {

    case SL_HLS_MASTER:
        n = snprintf(name, sizeof(name), "/%.*s/master.m3u8",
                     (int) p.channel_len, p.channel);
        break;

    case SL_HLS_PREVIEWS:
        n = snprintf(name, sizeof(name), "/%.*s/previews.vtt",
                     (int) p.channel_len, p.channel);
        break;

    case SL_HLS_MEDIA:
        n = snprintf(name, sizeof(name), "/%.*s/%.*s/index.m3u8",
                     (int) p.channel_len, p.channel,
                     (int) p.rendition_len, p.rendition);
        break;

    case SL_HLS_PART:
        if (p.msn > 999999999999999999ULL || p.part > 999999999) {
            abort();
        }

        n = snprintf(name, sizeof(name), "/%.*s/%.*s/part-%llu.%llu.m4s",
                     (int) p.channel_len, p.channel,
                     (int) p.rendition_len, p.rendition,
                     (unsigned long long) p.msn,
                     (unsigned long long) p.part);
        break;

    case SL_HLS_OTHER:
        break;

    default:
        abort();
    }

    if (p.kind != SL_HLS_OTHER) {
        /* names inside the input, valid, and the whole path as written */
        if (p.channel != data + 1
            || !sl_channel_valid(p.channel, p.channel_len)
            || (p.kind != SL_HLS_MASTER && p.kind != SL_HLS_PREVIEWS
                && (p.rendition < data || p.rendition >= data + len
                    || !sl_channel_valid(p.rendition, p.rendition_len)))
            || n < 0 || (size_t) n != len || memcmp(name, data, len) != 0)
        {
            abort();
        }
    }

    if (p.kind == SL_HLS_PART) {
        rules(shape(data, size), (int64_t) p.msn, (int64_t) p.part);
    }

    if (mark == NULL) {
        return 0;
    }

    if (sl_hls_query(mark + 1, size - len - 1, &q, &err) != SL_OK) {
        if (err == NULL) {
            abort();
        }

        return 0;
    }

    if (q.msn < -1 || q.msn > 999999999999999999LL
        || q.part < -1 || q.part > 999999999
        || (q.part >= 0 && q.msn < 0))
    {
        abort();
    }

    rules(shape(data, size), q.msn, q.part);

    return 0;
}


/* complete segments, the open one's parts and the end from 3 bytes */
static sl_dvr_t *
shape(const uint8_t *data, size_t size)
{
    size_t            i, k;
    uint8_t           b[3];
    sl_dvr_params_t   dp;
    static sl_dvr_t  *dvr;
    static size_t     dvr_size;

    b[0] = size > 0 ? data[size - 1] : 0;
    b[1] = size > 1 ? data[size - 2] : 0;
    b[2] = size > 2 ? data[size - 3] : 0;

    memset(&dp, 0, sizeof(dp));
    dp.max_segments = 16;
    dp.max_parts = 8;
    dp.window_us = 60000000;
    dp.target_duration = 2;
    dp.part_target_us = 500000;
    dp.first_msn = b[2] & 0x80 ? 1000 : 0;

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

    for (i = 0; i < (size_t) (b[0] % 12); i++) {
        if (sl_dvr_segment_start(dvr, 1000 + 2000 * (int64_t) i, 1,
                                 SL_SEG_INDEPENDENT) != SL_OK)
        {
            abort();
        }

        for (k = 0; k < 4; k++) {
            (void) sl_dvr_part_add(dvr, 500000, 100,
                                   k ? 0 : SL_PART_INDEPENDENT);
        }

        (void) sl_dvr_segment_close(dvr, 2000000, 400, NULL);
    }

    if (b[1] % 8) {
        (void) sl_dvr_segment_start(dvr, 1000 + 2000 * (int64_t) i, 1,
                                    SL_SEG_INDEPENDENT);

        for (k = 0; k < (size_t) (b[1] % 8) - 1; k++) {
            (void) sl_dvr_part_add(dvr, 500000, 100,
                                   k ? 0 : SL_PART_INDEPENDENT);
        }
    }

    if (b[2] & 1) {
        (void) sl_dvr_end(dvr);
    }

    return dvr;
}


static void
rules(const sl_dvr_t *dvr, int64_t msn, int64_t part)
{
    sl_hls_ready_e  pl, pr;

    pl = sl_hls_playlist_ready(dvr, msn, part);

    if (pl != SL_HLS_READY && pl != SL_HLS_WAIT && pl != SL_HLS_TOO_FAR) {
        abort();
    }

    /* an ended index, or no _HLS_msn: answered at once */
    if ((dvr->ended || msn < 0) && pl != SL_HLS_READY) {
        abort();
    }

    /* blocking for what is listed already: never */
    if (msn >= 0 && (uint64_t) msn < dvr->next_msn && pl != SL_HLS_READY) {
        abort();
    }

    if (msn < 0 || part < 0) {
        return;
    }

    pr = sl_hls_part_ready(dvr, (uint64_t) msn, (uint64_t) part);

    /* a ready part is listed: in a complete segment or the open one */
    if (pr == SL_HLS_READY
        && !((uint64_t) msn < dvr->next_msn
             || (dvr->open && (uint64_t) msn == dvr->cur.msn
                 && (uint64_t) part < dvr->cur.nparts)))
    {
        abort();
    }

    /* a part that waits is the next one of a live index, and so would a
     * blocking playlist request for it */
    if (pr == SL_HLS_WAIT && (dvr->ended || pl != SL_HLS_WAIT)) {
        abort();
    }
}
