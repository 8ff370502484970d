
/*
 * libFuzzer target: sl_hls_path() and sl_hls_query(), on a URI tail and
 * its query string split at the first '?'.  What a path names must be
 * exactly how the playlists write it, and a query accepted must hold
 * numbers in range.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_core.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


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
            || (p.kind != SL_HLS_MASTER
                && (p.rendition < data || p.rendition >= data + len
                    || !sl_channel_valid(p.rendition, p.rendition_len)))
            || n < 0 || (size_t) n != len || memcmp(name, data, len) != 0)
        {
            abort();
        }
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

    return 0;
}
