
/*
 * Streamline core tests: the rules of what the module renders, beyond
 * those of RFC 8216 that sl_playlist_check.c checks: the exact form of
 * its lines and names (sl_playlist_opts_t.rendered).  A playlist of
 * another server may break them and still be valid.
 */


#include <stdio.h>
#include <string.h>

#include "sl_playlist_check_internal.h"


typedef struct {
    const char  *name;
    unsigned     value:1;            /* "name:value", else "name" alone */
} sl_check_known_t;


static int sl_check_rendered_uri(sl_check_t *c, const unsigned char *p,
    size_t n);
static int sl_check_rendered_extinf(sl_check_t *c, const sl_span_t *v);
static int sl_check_rendered_map(sl_check_t *c, sl_span_t *v);
static int sl_check_known(const unsigned char *p, size_t n);
static size_t sl_check_digits(const unsigned char *p,
    const unsigned char *end);


/* the tags the module renders in a media playlist */

static const sl_check_known_t  sl_check_known_tags[] = {
    { "#EXTINF", 1 },
    { "#EXT-X-VERSION", 1 },
    { "#EXT-X-TARGETDURATION", 1 },
    { "#EXT-X-MEDIA-SEQUENCE", 1 },
    { "#EXT-X-DISCONTINUITY-SEQUENCE", 1 },
    { "#EXT-X-INDEPENDENT-SEGMENTS", 0 },
    { "#EXT-X-DISCONTINUITY", 0 },
    { "#EXT-X-MAP", 1 },
    { "#EXT-X-PROGRAM-DATE-TIME", 1 },
    { "#EXT-X-PART-INF", 1 },
    { "#EXT-X-PART", 1 },
    { "#EXT-X-GAP", 0 },
    { "#EXT-X-ENDLIST", 0 },
    { "#EXT-X-SERVER-CONTROL", 1 },
    { "#EXT-X-PRELOAD-HINT", 1 },
    { "#EXT-X-RENDITION-REPORT", 1 },
    { "#EXT-X-SKIP", 1 },
    { "#EXT-X-DATERANGE", 1 },
};


/* a line after the first, before the RFC 8216 rules see it */

int
sl_check_rendered_line(sl_check_t *c, const unsigned char *p, size_t n)
{
    sl_span_t  val;

    /* a second EXT-X-ENDLIST is told as such by the RFC rules */

    if (c->info->ended && !(n == 14 && memcmp(p, "#EXT-X-ENDLIST", 14) == 0))
    {
        c->err = "a line after EXT-X-ENDLIST";
        return SL_ERROR;
    }

    if (n == 0) {
        c->err = "empty line";
        return SL_ERROR;
    }

    if (p[0] != '#') {
        return sl_check_rendered_uri(c, p, n);
    }

    if (n < 4 || memcmp(p, "#EXT", 4) != 0) {
        /* a comment */
        return SL_OK;
    }

    if (!sl_check_known(p, n)) {
        c->err = "unknown tag";
        return SL_ERROR;
    }

    if (sl_check_tag_is(p, n, "#EXTINF:", &val)) {
        return sl_check_rendered_extinf(c, &val);
    }

    if (sl_check_tag_is(p, n, "#EXT-X-MAP:", &val)) {
        return sl_check_rendered_map(c, &val);
    }

    /* parts are named by the media sequence too */

    if (sl_check_tag_is(p, n, "#EXT-X-PART:", &val) && !c->seen_sequence) {
        c->err = "no EXT-X-MEDIA-SEQUENCE before the first segment";
        return SL_ERROR;
    }

    return SL_OK;
}


/* the whole playlist, once the RFC 8216 rules passed; len > 0 */

int
sl_check_rendered_end(sl_check_t *c, const unsigned char *buf, size_t len)
{
    if (!c->seen_sequence) {
        c->err = "no EXT-X-MEDIA-SEQUENCE";
        return SL_ERROR;
    }

    if (buf[len - 1] != '\n') {
        c->err = "does not end with a newline";
        return SL_ERROR;
    }

    return SL_OK;
}


/* seg-<msn>.m4s, no path, no leading zero */

static int
sl_check_rendered_uri(sl_check_t *c, const unsigned char *p, size_t n)
{
    int   len;
    char  name[32];

    if (!c->seen_sequence) {
        c->err = "no EXT-X-MEDIA-SEQUENCE before the first segment";
        return SL_ERROR;
    }

    len = snprintf(name, sizeof(name), "seg-%llu.m4s",
                   (unsigned long long) sl_check_msn(c));

    if ((size_t) len != n || memcmp(name, p, n) != 0) {
        c->err = "segment URI does not match the media sequence "
                 "(not seg-<msn>.m4s)";
        return SL_ERROR;
    }

    return SL_OK;
}


/* <s>.<3 decimals>, then the title, if any */

static int
sl_check_rendered_extinf(sl_check_t *c, const sl_span_t *v)
{
    size_t                d;
    const unsigned char  *p;

    p = v->p;
    d = sl_check_digits(p, v->end);

    if (d > 0) {
        p += d;

        if (p < v->end && *p == '.'
            && sl_check_digits(p + 1, v->end) == 3
            && p + 4 < v->end && p[4] == ',')
        {
            return SL_OK;
        }
    }

    c->err = "EXTINF not <s>.<3 decimals>,";
    return SL_ERROR;
}


/* URI="init-<id>.mp4"; a list the RFC rules refuse is left to them */

static int
sl_check_rendered_map(sl_check_t *c, sl_span_t *v)
{
    size_t     len;
    sl_attr_t  a;

    while (sl_check_attr_next(v, &a) == SL_OK) {
        if (!sl_check_span_is(&a.name, "URI")) {
            continue;
        }

        len = a.value.end - a.value.p;

        if (!a.quoted || len < sizeof("init-0.mp4") - 1
            || memcmp(a.value.p, "init-", 5) != 0
            || memcmp(a.value.end - 4, ".mp4", 4) != 0
            || sl_check_digits(a.value.p + 5, a.value.end - 4) != len - 9)
        {
            c->err = "bad EXT-X-MAP (URI not init-<id>.mp4)";
            return SL_ERROR;
        }
    }

    return SL_OK;
}


static int
sl_check_known(const unsigned char *p, size_t n)
{
    size_t  i, len;

    for (i = 0; i < sizeof(sl_check_known_tags) / sizeof(sl_check_known_t);
         i++)
    {
        len = strlen(sl_check_known_tags[i].name);

        if (n < len || memcmp(p, sl_check_known_tags[i].name, len) != 0) {
            continue;
        }

        if (sl_check_known_tags[i].value ? (n > len && p[len] == ':')
                                         : (n == len))
        {
            return 1;
        }
    }

    return 0;
}


/* how many decimal digits p starts with */

static size_t
sl_check_digits(const unsigned char *p, const unsigned char *end)
{
    size_t  n;

    for (n = 0; p + n < end && p[n] >= '0' && p[n] <= '9'; n++) {
        /* void */
    }

    return n;
}
