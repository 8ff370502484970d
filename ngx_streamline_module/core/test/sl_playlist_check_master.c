
/*
 * Streamline core tests: the checker of HLS master playlists, the form
 * sl_hls_master_playlist() renders: variants as EXT-X-STREAM-INF each
 * followed by its URI.
 */


#include <string.h>

#include "sl_playlist_check_internal.h"


static const char *sl_check_stream_inf(sl_span_t *v);


int
sl_playlist_check_master(const unsigned char *buf, size_t len,
    size_t *line, const char **err)
{
    size_t                n, i;
    uint64_t              v;
    unsigned              version, pending;
    sl_span_t             val;
    const unsigned char  *p, *end, *eol, *next;

    *line = 0;
    version = 0;
    pending = 0;

    p = buf;
    end = buf + len;

    if (len == 0) {
        *line = 1;
        *err = "first line is not #EXTM3U";
        return SL_ERROR;
    }

    while (p < end) {
        eol = memchr(p, '\n', end - p);

        if (eol == NULL) {
            eol = end;
            next = end;

        } else {
            next = eol + 1;
        }

        n = eol - p;

        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }

        (*line)++;

        for (i = 0; i < n; i++) {
            if (p[i] < 0x20 || p[i] == 0x7f) {
                *err = "control character";
                return SL_ERROR;
            }
        }

        if (*line == 1) {
            if (n != 7 || memcmp(p, "#EXTM3U", 7) != 0) {
                *err = "first line is not #EXTM3U";
                return SL_ERROR;
            }

        } else if (sl_check_tag_is(p, n, "#EXT-X-VERSION:", &val)) {
            if (version) {
                *err = "EXT-X-VERSION repeated";
                return SL_ERROR;
            }

            if (sl_check_uint(&val, &v) != SL_OK || v == 0 || v > 1000) {
                *err = "bad EXT-X-VERSION";
                return SL_ERROR;
            }

            version = 1;

        } else if (sl_check_tag_is(p, n, "#EXT-X-STREAM-INF:", &val)) {
            if (pending) {
                *err = "EXT-X-STREAM-INF without a URI";
                return SL_ERROR;
            }

            *err = sl_check_stream_inf(&val);

            if (*err != NULL) {
                return SL_ERROR;
            }

            pending = 1;

        } else if (n > 0 && p[0] != '#') {
            if (!pending) {
                *err = "URI without EXT-X-STREAM-INF";
                return SL_ERROR;
            }

            pending = 0;
        }

        p = next;
    }

    if (pending) {
        *err = "EXT-X-STREAM-INF without a URI at the end";
        return SL_ERROR;
    }

    if (buf[len - 1] != '\n') {
        *err = "does not end with a newline";
        return SL_ERROR;
    }

    *line = 0;

    return SL_OK;
}


/* the attribute list: well formed, with a decimal BANDWIDTH */

static const char *
sl_check_stream_inf(sl_span_t *v)
{
    int        rc;
    uint64_t   bandwidth;
    unsigned   seen;
    sl_attr_t  a;

    seen = 0;

    while ((rc = sl_check_attr_next(v, &a)) == SL_OK) {
        if (sl_check_span_is(&a.name, "BANDWIDTH")) {
            if (a.quoted || sl_check_uint(&a.value, &bandwidth) != SL_OK) {
                return "EXT-X-STREAM-INF without BANDWIDTH (not decimal)";
            }

            seen = 1;
        }
    }

    if (rc == SL_ERROR) {
        return "bad EXT-X-STREAM-INF";
    }

    if (!seen) {
        return "EXT-X-STREAM-INF without BANDWIDTH";
    }

    return NULL;
}
