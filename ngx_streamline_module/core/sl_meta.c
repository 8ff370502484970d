
/*
 * Streamline core: timed metadata as EXT-X-DATERANGE tags (sl_meta.h).
 * The body is carried as a hexadecimal client attribute (RFC 8216bis
 * 4.4.5.1: "0x" and hex digits), so any bytes go through: no quoting
 * rule for a client to get wrong, twice the size of the body.
 */


#include <stdio.h>
#include <string.h>

#include "sl_meta.h"


#define SL_META_SUFFIX  "/metadata"


void
sl_meta_ring_init(sl_meta_ring_t *m, const unsigned char *channel, size_t len)
{
    size_t  i;

    memset(m, 0, offsetof(sl_meta_ring_t, e));

    if (len > SL_CHANNEL_MAX) {
        len = SL_CHANNEL_MAX;
    }

    if (len) {
        memcpy(m->channel, channel, len);
    }

    m->channel[len] = '\0';
    m->channel_len = len;
    m->last_ms = -1;

    for (i = 0; i < SL_META_RATE; i++) {
        m->accepted_ms[i] = INT64_MIN;
    }
}


int
sl_meta_body_valid(size_t len)
{
    return len >= 1 && len <= SL_META_BODY_MAX;
}


int
sl_meta_path(const unsigned char *tail, size_t len,
    const unsigned char **channel, size_t *channel_len)
{
    size_t  n = sizeof(SL_META_SUFFIX) - 1;

    /* "/x/metadata" at least */
    if (len < n + 2 || tail[0] != '/'
        || memcmp(tail + len - n, SL_META_SUFFIX, n) != 0)
    {
        return SL_DECLINED;
    }

    *channel = tail + 1;
    *channel_len = len - n - 1;

    return sl_channel_valid(*channel, *channel_len) ? SL_OK : SL_ERROR;
}


int
sl_meta_bearer(const unsigned char *h, size_t len,
    const unsigned char **token, size_t *token_len)
{
    size_t  i;

    static const char  scheme[] = "bearer ";

    if (len <= sizeof(scheme) - 1) {
        return SL_ERROR;
    }

    for (i = 0; i < sizeof(scheme) - 1; i++) {
        if ((h[i] | 0x20) != (unsigned char) scheme[i]) {
            return SL_ERROR;
        }
    }

    while (i < len && h[i] == ' ') {
        i++;
    }

    while (len > i && h[len - 1] == ' ') {
        len--;
    }

    if (!sl_key_valid(h + i, len - i)) {
        return SL_ERROR;
    }

    *token = h + i;
    *token_len = len - i;

    return SL_OK;
}


int64_t
sl_meta_start(int64_t now_ms, int64_t edge_ms, uint32_t part_ms)
{
    if (edge_ms < 0) {
        return now_ms;
    }

    if (now_ms < edge_ms) {
        return edge_ms;
    }

    if (part_ms > 0 && now_ms >= edge_ms + (int64_t) part_ms) {
        return edge_ms + part_ms - 1;
    }

    return now_ms;
}


int
sl_meta_rate(sl_meta_ring_t *m, int64_t now_ms)
{
    int64_t  *oldest = &m->accepted_ms[m->rate_next];

    /* the oldest of the last SL_META_RATE accepted decides */
    if (*oldest != INT64_MIN && now_ms - *oldest < SL_META_RATE_MS
        && now_ms >= *oldest)
    {
        return SL_DECLINED;
    }

    *oldest = now_ms;
    m->rate_next = (m->rate_next + 1) % SL_META_RATE;

    return SL_OK;
}


int
sl_meta_add(sl_meta_ring_t *m, int64_t start_ms, int64_t now_ms,
    const unsigned char *data, size_t len, char *id)
{
    int               n;
    size_t            i;
    unsigned char    *p;
    sl_meta_entry_t  *e;
    unsigned char     iso[SL_ISO8601_LEN];

    static const char  hex[] = "0123456789abcdef";

    if (!sl_meta_body_valid(len) || data == NULL
        || sl_iso8601_ms(start_ms, iso) != SL_OK)
    {
        return SL_ERROR;
    }

    n = snprintf(id, SL_META_ID_MAX, "%lld-%llu", (long long) start_ms,
                 (unsigned long long) m->seq);
    if (n <= 0 || n >= SL_META_ID_MAX) {
        return SL_ERROR;
    }

    if (m->count == SL_META_ENTRIES) {
        m->head = (m->head + 1) % SL_META_ENTRIES;
        m->count--;
    }

    e = &m->e[(m->head + m->count) % SL_META_ENTRIES];

    p = e->tag;

#define sl_meta_lit(s)   (memcpy(p, s, sizeof(s) - 1), p += sizeof(s) - 1)

    sl_meta_lit("#EXT-X-DATERANGE:ID=\"");
    memcpy(p, id, n);
    p += n;
    sl_meta_lit("\",CLASS=\"" SL_META_CLASS "\",START-DATE=\"");
    memcpy(p, iso, SL_ISO8601_LEN);
    p += SL_ISO8601_LEN;
    sl_meta_lit("\"," SL_META_ATTR "=0x");

    for (i = 0; i < len; i++) {
        *p++ = hex[data[i] >> 4];
        *p++ = hex[data[i] & 0x0f];
    }

    *p++ = '\n';

#undef sl_meta_lit

    e->len = (uint32_t) (p - e->tag);
    e->start_ms = start_ms;

    m->count++;
    m->seq++;
    m->last_ms = now_ms;

    return SL_OK;
}


size_t
sl_meta_copy(const sl_meta_ring_t *m, sl_meta_entry_t *out)
{
    size_t                  i;
    const sl_meta_entry_t  *e;

    for (i = 0; i < m->count && i < SL_META_ENTRIES; i++) {
        e = &m->e[(m->head + i) % SL_META_ENTRIES];

        out[i].start_ms = e->start_ms;
        out[i].len = e->len;
        memcpy(out[i].tag, e->tag, e->len);
    }

    return i;
}


size_t
sl_meta_dateranges(const sl_meta_entry_t *e, size_t n,
    sl_hls_daterange_t *out)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        out[i].start_ms = e[i].start_ms;
        out[i].tag = e[i].tag;
        out[i].len = e[i].len;
    }

    return n;
}
