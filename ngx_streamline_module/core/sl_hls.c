
/*
 * Streamline core: the LL-HLS request as the URI names it, for the
 * streamline_hls location: which playlist or part, and the _HLS_ query
 * arguments of a blocking reload or delta update (RFC 8216bis 6.2.5).
 */


#include <string.h>

#include "sl_core.h"


#define sl_hls_lit_len(s)  (sizeof(s) - 1)


static size_t sl_hls_segment(const unsigned char *p, const unsigned char *end,
    const unsigned char **next);
static int sl_hls_number(const unsigned char *p, size_t len, size_t max,
    int canonical, uint64_t *n);
static int sl_hls_name_is(const unsigned char *p, size_t len,
    const char *name);


void
sl_hls_path(const unsigned char *tail, size_t len, sl_hls_path_t *p)
{
    size_t                n;
    const unsigned char  *end, *name, *next, *dot;

    memset(p, 0, sizeof(sl_hls_path_t));

    if (len == 0 || tail[0] != '/') {
        return;
    }

    end = tail + len;

    /* /<channel>/ */

    n = sl_hls_segment(tail + 1, end, &next);

    if (next == NULL || !sl_channel_valid(tail + 1, n)) {
        return;
    }

    p->channel = tail + 1;
    p->channel_len = n;
    name = next;

    if ((size_t) (end - name) == sl_hls_lit_len(SL_NAME_MASTER_PLAYLIST)
        && memcmp(name, SL_NAME_MASTER_PLAYLIST,
                  sl_hls_lit_len(SL_NAME_MASTER_PLAYLIST)) == 0)
    {
        p->kind = SL_HLS_MASTER;
        return;
    }

    if ((size_t) (end - name) == sl_hls_lit_len(SL_NAME_PREVIEW_TRACK)
        && memcmp(name, SL_NAME_PREVIEW_TRACK,
                  sl_hls_lit_len(SL_NAME_PREVIEW_TRACK)) == 0)
    {
        p->kind = SL_HLS_PREVIEWS;
        return;
    }

    /* <rendition>/ */

    n = sl_hls_segment(name, end, &next);

    if (next == NULL || !sl_channel_valid(name, n)) {
        return;
    }

    p->rendition = name;
    p->rendition_len = n;
    name = next;
    len = end - name;

    if (len == sl_hls_lit_len(SL_NAME_MEDIA_PLAYLIST)
        && memcmp(name, SL_NAME_MEDIA_PLAYLIST, len) == 0)
    {
        p->kind = SL_HLS_MEDIA;
        return;
    }

    /* part-<msn>.<i>.m4s */

    if (len < sl_hls_lit_len(SL_NAME_PART_PREFIX "0.0" SL_NAME_MEDIA_SUFFIX)
        || memcmp(name, SL_NAME_PART_PREFIX,
                  sl_hls_lit_len(SL_NAME_PART_PREFIX)) != 0
        || memcmp(end - sl_hls_lit_len(SL_NAME_MEDIA_SUFFIX),
                  SL_NAME_MEDIA_SUFFIX, sl_hls_lit_len(SL_NAME_MEDIA_SUFFIX))
           != 0)
    {
        return;
    }

    name += sl_hls_lit_len(SL_NAME_PART_PREFIX);
    end -= sl_hls_lit_len(SL_NAME_MEDIA_SUFFIX);
    dot = memchr(name, '.', end - name);

    if (dot == NULL
        || sl_hls_number(name, dot - name, SL_HLS_MSN_DIGITS, 1, &p->msn)
           != SL_OK
        || sl_hls_number(dot + 1, end - dot - 1, SL_HLS_PART_DIGITS, 1,
                         &p->part)
           != SL_OK)
    {
        return;
    }

    p->kind = SL_HLS_PART;
}


int
sl_hls_query(const unsigned char *args, size_t len, sl_hls_query_t *q,
    const char **err)
{
    size_t                n, klen;
    uint64_t              v;
    unsigned              seen;
    const unsigned char  *p, *end, *eq, *next, *val;

    q->msn = -1;
    q->part = -1;
    q->skip = 0;
    *err = NULL;

    seen = 0;
    end = args + len;

    for (p = args; p < end; p = next + 1) {
        next = memchr(p, '&', end - p);

        if (next == NULL) {
            next = end;
        }

        eq = memchr(p, '=', next - p);

        if (eq == NULL) {
            continue;
        }

        klen = eq - p;
        val = eq + 1;
        n = next - val;

        if (sl_hls_name_is(p, klen, "_HLS_msn")) {
            if (seen & 1) {
                continue;
            }

            seen |= 1;

            if (sl_hls_number(val, n, SL_HLS_MSN_DIGITS, 0, &v) != SL_OK) {
                *err = "_HLS_msn is not a number";
                return SL_ERROR;
            }

            q->msn = (int64_t) v;

        } else if (sl_hls_name_is(p, klen, "_HLS_part")) {
            if (seen & 2) {
                continue;
            }

            seen |= 2;

            if (sl_hls_number(val, n, SL_HLS_PART_DIGITS, 0, &v) != SL_OK) {
                *err = "_HLS_part is not a number";
                return SL_ERROR;
            }

            q->part = (int64_t) v;

        } else if (sl_hls_name_is(p, klen, "_HLS_skip")) {
            if (seen & 4) {
                continue;
            }

            seen |= 4;

            if ((n == 3 && memcmp(val, "YES", 3) == 0)
                || (n == 2 && memcmp(val, "v2", 2) == 0))
            {
                q->skip = 1;

            } else {
                *err = "_HLS_skip is neither YES nor v2";
                return SL_ERROR;
            }
        }
    }

    if (q->part >= 0 && q->msn < 0) {
        *err = "_HLS_part without _HLS_msn";
        return SL_ERROR;
    }

    return SL_OK;
}


/* the bytes up to the next '/' (excluded); *next after it, NULL if none */

static size_t
sl_hls_segment(const unsigned char *p, const unsigned char *end,
    const unsigned char **next)
{
    const unsigned char  *slash;

    slash = memchr(p, '/', end - p);

    if (slash == NULL) {
        *next = NULL;
        return 0;
    }

    *next = slash + 1;

    return slash - p;
}


/*
 * 1..max decimal digits; canonical: no leading zero (but "0"), as the
 * playlists write file names, so that one file has one name
 */

static int
sl_hls_number(const unsigned char *p, size_t len, size_t max, int canonical,
    uint64_t *n)
{
    size_t  i;

    if (len == 0 || len > max || (canonical && p[0] == '0' && len > 1)) {
        return SL_ERROR;
    }

    *n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return SL_ERROR;
        }

        *n = *n * 10 + (p[i] - '0');
    }

    return SL_OK;
}


/* as nginx compares argument names: without case */

static int
sl_hls_name_is(const unsigned char *p, size_t len, const char *name)
{
    size_t         i;
    unsigned char  a, b;

    if (len != strlen(name)) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        a = p[i];
        b = (unsigned char) name[i];

        if (a >= 'A' && a <= 'Z') {
            a |= 0x20;
        }

        if (b >= 'A' && b <= 'Z') {
            b |= 0x20;
        }

        if (a != b) {
            return 0;
        }
    }

    return 1;
}
