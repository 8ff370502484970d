
/*
 * Streamline core tests: the lexical layer of the playlist checker (tags,
 * attribute lists, numbers, the module's file names), shared by the
 * checks of media and master playlists.
 */


#include <string.h>

#include "sl_playlist_check_internal.h"


/* "#TAG:" at the start of the line: value is the rest */

int
sl_check_tag_is(const unsigned char *p, size_t n, const char *tag,
    sl_span_t *value)
{
    size_t  len;

    len = strlen(tag);

    if (n < len || memcmp(p, tag, len) != 0) {
        return 0;
    }

    value->p = p + len;
    value->end = p + n;

    return 1;
}


/*
 * One NAME=VALUE of an attribute list; SL_DECLINED past the last one.
 * Consumes the separating comma; a trailing comma is an error.
 */

int
sl_check_attr_next(sl_span_t *v, sl_attr_t *a)
{
    const unsigned char  *p, *q;

    p = v->p;

    if (p == v->end) {
        return SL_DECLINED;
    }

    a->name.p = p;

    while (p < v->end
           && ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
               || *p == '-'))
    {
        p++;
    }

    if (p == a->name.p || p == v->end || *p != '=') {
        return SL_ERROR;
    }

    a->name.end = p++;

    if (p < v->end && *p == '"') {
        q = memchr(p + 1, '"', v->end - (p + 1));
        if (q == NULL) {
            return SL_ERROR;
        }

        a->value.p = p + 1;
        a->value.end = q;
        a->quoted = 1;
        p = q + 1;

    } else {
        a->value.p = p;

        while (p < v->end && *p != ',' && *p != '"') {
            p++;
        }

        if (p == a->value.p) {
            return SL_ERROR;
        }

        a->value.end = p;
        a->quoted = 0;
    }

    if (p < v->end) {
        if (*p != ',' || p + 1 == v->end) {
            return SL_ERROR;
        }

        p++;
    }

    v->p = p;

    return SL_OK;
}


int
sl_check_span_is(const sl_span_t *s, const char *str)
{
    size_t  len;

    len = strlen(str);

    return (size_t) (s->end - s->p) == len && memcmp(s->p, str, len) == 0;
}


int
sl_check_uint(const sl_span_t *s, uint64_t *v)
{
    uint64_t              n;
    const unsigned char  *p;

    if (s->p == s->end) {
        return SL_ERROR;
    }

    n = 0;

    for (p = s->p; p < s->end; p++) {
        if (*p < '0' || *p > '9'
            || n > (UINT64_MAX - (*p - '0')) / 10)
        {
            return SL_ERROR;
        }

        n = n * 10 + (*p - '0');
    }

    *v = n;

    return SL_OK;
}


/* a decimal-floating-point number of seconds to us; digits after the
 * sixth decimal are checked and dropped */

int
sl_check_duration(const sl_span_t *s, uint64_t *us)
{
    int                   i;
    uint64_t              sec, frac;
    sl_span_t             ip;
    const unsigned char  *dot, *p;

    dot = memchr(s->p, '.', s->end - s->p);

    ip.p = s->p;
    ip.end = (dot != NULL) ? dot : s->end;

    if (sl_check_uint(&ip, &sec) != SL_OK
        || sec > SL_CHECK_DURATION_MAX / 1000000)
    {
        return SL_ERROR;
    }

    frac = 0;

    if (dot != NULL) {
        i = 0;

        for (p = dot + 1; p < s->end; p++) {
            if (*p < '0' || *p > '9') {
                return SL_ERROR;
            }

            if (i++ < 6) {
                frac = frac * 10 + (*p - '0');
            }
        }

        for ( /* void */ ; i < 6; i++) {
            frac *= 10;
        }
    }

    *us = sec * 1000000 + frac;

    return SL_OK;
}


/*
 * The last path component of a URI named prefix<a>.m4s (b = UINT64_MAX)
 * or prefix<a>.<b>.m4s: SL_OK with the numbers, SL_DECLINED for other
 * names.
 */

int
sl_check_name(const sl_span_t *s, const char *prefix, uint64_t *a, uint64_t *b)
{
    size_t                len;
    sl_span_t             na, nb;
    const unsigned char  *p, *dot;

    for (p = s->end; p > s->p && p[-1] != '/'; p--) {
        /* void */
    }

    len = strlen(prefix);

    if ((size_t) (s->end - p) < len + 4 || memcmp(p, prefix, len) != 0
        || memcmp(s->end - 4, ".m4s", 4) != 0)
    {
        return SL_DECLINED;
    }

    na.p = p + len;
    na.end = s->end - 4;

    dot = memchr(na.p, '.', na.end - na.p);

    if (dot == NULL) {
        *b = UINT64_MAX;

    } else {
        nb.p = dot + 1;
        nb.end = na.end;
        na.end = dot;

        if (sl_check_uint(&nb, b) != SL_OK || *b == UINT64_MAX) {
            return SL_DECLINED;
        }
    }

    return (sl_check_uint(&na, a) == SL_OK) ? SL_OK : SL_DECLINED;
}
