
/*
 * Streamline core: a checker of HLS media playlists, for the unit tests
 * and for integration tests against live output.  It parses outside bytes:
 * every number is bounded, nothing is read past len.
 */


#include <string.h>

#include "sl_media.h"


/* durations above this (us) are refused: far beyond any segment */
#define SL_CHECK_DURATION_MAX  (1000000ULL * 1000000000ULL)


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
} sl_span_t;

typedef struct {
    sl_span_t   name;
    sl_span_t   value;
    unsigned    quoted:1;
} sl_attr_t;

typedef struct {
    sl_playlist_info_t  *info;
    const char          *err;

    unsigned             seen_version:1;
    unsigned             seen_target:1;
    unsigned             seen_sequence:1;
    unsigned             seen_dseq:1;
    unsigned             seen_skip:1;
    unsigned             seen_map:1;
    unsigned             seen_media:1;      /* a segment or a part */
    unsigned             extinf:1;          /* waiting for its URI */

    uint64_t             extinf_us;
    uint64_t             max_extinf_s;
    size_t               max_extinf_line;
    size_t               skip_line;
    size_t               hint_line;

    uint64_t             can_skip_until_us;
    uint64_t             hold_back_us;
    uint64_t             part_hold_back_us;
    unsigned             seen_part_hold_back:1;

    uint64_t             cur_parts;         /* before the next URI */
    uint64_t             cur_parts_us;
} sl_check_t;


static int sl_check_line(sl_check_t *c, const unsigned char *p, size_t n);
static int sl_check_tag(sl_check_t *c, const unsigned char *p, size_t n);
static int sl_check_uri(sl_check_t *c, const unsigned char *p, size_t n);
static int sl_check_part(sl_check_t *c, sl_span_t *v);
static int sl_check_hint(sl_check_t *c, sl_span_t *v);
static int sl_check_server_control(sl_check_t *c, sl_span_t *v);
static int sl_check_end(sl_check_t *c);
static uint64_t sl_check_msn(sl_check_t *c);
static int sl_tag(const unsigned char *p, size_t n, const char *tag,
    sl_span_t *value);
static int sl_attr_next(sl_span_t *v, sl_attr_t *a);
static int sl_attr_is(sl_attr_t *a, const char *name);
static int sl_span_is(sl_span_t *s, const char *str);
static int sl_parse_uint(sl_span_t *s, uint64_t *v);
static int sl_parse_duration(sl_span_t *s, uint64_t *us);
static int sl_parse_name(sl_span_t *s, const char *prefix, uint64_t *a,
    uint64_t *b);


int
sl_playlist_check(const unsigned char *buf, size_t len,
    sl_playlist_info_t *info, const char **err)
{
    size_t                n;
    sl_check_t            c;
    sl_playlist_info_t    local;
    const unsigned char  *p, *end, *eol, *next;

    if (info == NULL) {
        info = &local;
    }

    memset(info, 0, sizeof(sl_playlist_info_t));
    memset(&c, 0, sizeof(sl_check_t));

    info->last_part = -1;
    c.info = info;

    p = buf;
    end = buf + len;

    if (len == 0) {
        info->line = 1;
        *err = "empty playlist";
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

        info->line++;

        if (sl_check_line(&c, p, n) != SL_OK) {
            *err = c.err;
            return SL_ERROR;
        }

        p = next;
    }

    if (sl_check_end(&c) != SL_OK) {
        *err = c.err;
        return SL_ERROR;
    }

    info->line = 0;

    return SL_OK;
}


static int
sl_check_line(sl_check_t *c, const unsigned char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            c->err = "control character";
            return SL_ERROR;
        }
    }

    if (c->info->line == 1) {
        if (n != 7 || memcmp(p, "#EXTM3U", 7) != 0) {
            c->err = "first line is not #EXTM3U";
            return SL_ERROR;
        }

        return SL_OK;
    }

    if (n == 0) {
        return SL_OK;
    }

    if (p[0] == '#') {
        return (n >= 4 && memcmp(p, "#EXT", 4) == 0) ? sl_check_tag(c, p, n)
                                                      : SL_OK;
    }

    return sl_check_uri(c, p, n);
}


static int
sl_check_tag(sl_check_t *c, const unsigned char *p, size_t n)
{
    int                  rc;
    uint64_t             v;
    sl_attr_t            a;
    sl_span_t            val;
    const unsigned char  *comma;
    sl_playlist_info_t   *info;

    info = c->info;

    if (sl_tag(p, n, "#EXTINF:", &val)) {
        if (c->extinf) {
            c->err = "EXTINF without a URI";
            return SL_ERROR;
        }

        comma = memchr(val.p, ',', val.end - val.p);

        if (comma == NULL) {
            c->err = "EXTINF without a comma";
            return SL_ERROR;
        }

        val.end = comma;

        if (sl_parse_duration(&val, &c->extinf_us) != SL_OK) {
            c->err = "bad EXTINF duration";
            return SL_ERROR;
        }

        c->extinf = 1;

        /* the rule is on the duration rounded to the nearest second */

        v = (c->extinf_us + 500000) / 1000000;

        if (v > c->max_extinf_s || c->max_extinf_line == 0) {
            c->max_extinf_s = v;
            c->max_extinf_line = info->line;
        }

        return SL_OK;
    }

    if (sl_tag(p, n, "#EXT-X-PART:", &val)) {
        return sl_check_part(c, &val);
    }

    if (sl_tag(p, n, "#EXT-X-PROGRAM-DATE-TIME:", &val)) {
        int64_t  ms;

        if (sl_iso8601_parse(val.p, val.end - val.p, &ms) != SL_OK) {
            c->err = "EXT-X-PROGRAM-DATE-TIME not YYYY-MM-DDThh:mm:ss.sssZ";
            return SL_ERROR;
        }

        info->pdts++;
        return SL_OK;
    }

    if (n == 20 && memcmp(p, "#EXT-X-DISCONTINUITY", 20) == 0) {
        info->discontinuities++;
        return SL_OK;
    }

    if (sl_tag(p, n, "#EXT-X-MAP:", &val)) {
        v = 0;

        while ((rc = sl_attr_next(&val, &a)) == SL_OK) {
            if (sl_attr_is(&a, "URI")) {
                if (!a.quoted || a.value.p == a.value.end) {
                    rc = SL_ERROR;
                    break;
                }

                v = 1;
            }
        }

        if (rc == SL_ERROR || v == 0) {
            c->err = "bad EXT-X-MAP";
            return SL_ERROR;
        }

        c->seen_map = 1;
        info->maps++;
        return SL_OK;
    }

    if (sl_tag(p, n, "#EXT-X-VERSION:", &val)) {
        if (c->seen_version) {
            c->err = "EXT-X-VERSION repeated";
            return SL_ERROR;
        }

        if (sl_parse_uint(&val, &v) != SL_OK || v == 0 || v > 1000) {
            c->err = "bad EXT-X-VERSION";
            return SL_ERROR;
        }

        c->seen_version = 1;
        info->version = (unsigned) v;
        return SL_OK;
    }

    if (sl_tag(p, n, "#EXT-X-TARGETDURATION:", &val)) {
        if (c->seen_target) {
            c->err = "EXT-X-TARGETDURATION repeated";
            return SL_ERROR;
        }

        if (sl_parse_uint(&val, &v) != SL_OK || v == 0
            || v > SL_CHECK_DURATION_MAX / 1000000)
        {
            c->err = "bad EXT-X-TARGETDURATION";
            return SL_ERROR;
        }

        c->seen_target = 1;
        info->target_duration = v;
        return SL_OK;
    }

    if (sl_tag(p, n, "#EXT-X-MEDIA-SEQUENCE:", &val)) {
        if (c->seen_sequence) {
            c->err = "EXT-X-MEDIA-SEQUENCE repeated";
            return SL_ERROR;
        }

        if (c->seen_media || c->seen_skip) {
            c->err = "EXT-X-MEDIA-SEQUENCE after the first segment";
            return SL_ERROR;
        }

        if (sl_parse_uint(&val, &v) != SL_OK || v > UINT64_MAX / 2) {
            c->err = "bad EXT-X-MEDIA-SEQUENCE";
            return SL_ERROR;
        }

        c->seen_sequence = 1;
        info->media_sequence = v;
        return SL_OK;
    }

    if (sl_tag(p, n, "#EXT-X-DISCONTINUITY-SEQUENCE:", &val)) {
        if (c->seen_dseq) {
            c->err = "EXT-X-DISCONTINUITY-SEQUENCE repeated";
            return SL_ERROR;
        }

        if (c->seen_media || info->discontinuities) {
            c->err = "EXT-X-DISCONTINUITY-SEQUENCE after a segment "
                     "or a discontinuity";
            return SL_ERROR;
        }

        if (sl_parse_uint(&val, &v) != SL_OK) {
            c->err = "bad EXT-X-DISCONTINUITY-SEQUENCE";
            return SL_ERROR;
        }

        c->seen_dseq = 1;
        info->discontinuity_sequence = v;
        return SL_OK;
    }

    if (sl_tag(p, n, "#EXT-X-PART-INF:", &val)) {
        if (info->part_target_us) {
            c->err = "EXT-X-PART-INF repeated";
            return SL_ERROR;
        }

        while ((rc = sl_attr_next(&val, &a)) == SL_OK) {
            if (sl_attr_is(&a, "PART-TARGET")
                && (a.quoted
                    || sl_parse_duration(&a.value, &info->part_target_us)
                       != SL_OK))
            {
                rc = SL_ERROR;
                break;
            }
        }

        if (rc == SL_ERROR || info->part_target_us == 0) {
            c->err = "bad EXT-X-PART-INF";
            return SL_ERROR;
        }

        return SL_OK;
    }

    if (sl_tag(p, n, "#EXT-X-SERVER-CONTROL:", &val)) {
        return sl_check_server_control(c, &val);
    }

    if (sl_tag(p, n, "#EXT-X-SKIP:", &val)) {
        if (c->seen_skip) {
            c->err = "EXT-X-SKIP repeated";
            return SL_ERROR;
        }

        if (c->seen_media) {
            c->err = "EXT-X-SKIP after a segment";
            return SL_ERROR;
        }

        while ((rc = sl_attr_next(&val, &a)) == SL_OK) {
            if (sl_attr_is(&a, "SKIPPED-SEGMENTS")) {
                if (a.quoted
                    || sl_parse_uint(&a.value, &info->skipped) != SL_OK
                    || info->skipped > UINT64_MAX / 4)
                {
                    rc = SL_ERROR;
                    break;
                }

                c->seen_skip = 1;
            }
        }

        if (rc == SL_ERROR || !c->seen_skip) {
            c->err = "bad EXT-X-SKIP";
            return SL_ERROR;
        }

        c->skip_line = info->line;
        return SL_OK;
    }

    if (sl_tag(p, n, "#EXT-X-PRELOAD-HINT:", &val)) {
        return sl_check_hint(c, &val);
    }

    if (n == 14 && memcmp(p, "#EXT-X-ENDLIST", 14) == 0) {
        if (info->ended) {
            c->err = "EXT-X-ENDLIST repeated";
            return SL_ERROR;
        }

        info->ended = 1;
        return SL_OK;
    }

    /* other tags (EXT-X-GAP, EXT-X-RENDITION-REPORT, ...) pass */

    return SL_OK;
}


static int
sl_check_uri(sl_check_t *c, const unsigned char *p, size_t n)
{
    uint64_t             msn, a, b, tol, d;
    sl_span_t            uri;
    sl_playlist_info_t  *info;

    info = c->info;

    if (!c->extinf) {
        c->err = "URI without EXTINF";
        return SL_ERROR;
    }

    if (!c->seen_map) {
        c->err = "no EXT-X-MAP before the first segment";
        return SL_ERROR;
    }

    msn = sl_check_msn(c);

    uri.p = p;
    uri.end = p + n;

    if (sl_parse_name(&uri, "seg-", &a, &b) == SL_OK
        && (b != UINT64_MAX || a != msn))
    {
        c->err = "segment URI does not match the media sequence";
        return SL_ERROR;
    }

    if (c->cur_parts > 0) {
        /* each printed duration is rounded: 1 ms of slack per part */

        tol = 1000 * (c->cur_parts + 1);
        d = (c->cur_parts_us > c->extinf_us) ? c->cur_parts_us - c->extinf_us
                                             : c->extinf_us - c->cur_parts_us;

        if (d > tol) {
            c->err = "parts do not add up to the segment duration";
            return SL_ERROR;
        }
    }

    info->segments++;
    info->duration_us += c->extinf_us;
    info->last_msn = msn;
    info->last_part = (int64_t) c->cur_parts - 1;

    c->extinf = 0;
    c->seen_media = 1;
    c->cur_parts = 0;
    c->cur_parts_us = 0;

    return SL_OK;
}


static int
sl_check_part(sl_check_t *c, sl_span_t *v)
{
    int                  rc;
    uint64_t             us, a, b;
    sl_attr_t            attr;
    sl_playlist_info_t  *info;
    unsigned             duration, uri;

    info = c->info;

    if (info->part_target_us == 0) {
        c->err = "EXT-X-PART without EXT-X-PART-INF";
        return SL_ERROR;
    }

    if (!c->seen_map) {
        c->err = "no EXT-X-MAP before the first segment";
        return SL_ERROR;
    }

    duration = 0;
    uri = 0;
    us = 0;

    while ((rc = sl_attr_next(v, &attr)) == SL_OK) {
        if (sl_attr_is(&attr, "DURATION")) {
            if (attr.quoted || sl_parse_duration(&attr.value, &us) != SL_OK) {
                rc = SL_ERROR;
                break;
            }

            duration = 1;

        } else if (sl_attr_is(&attr, "URI")) {
            if (!attr.quoted || attr.value.p == attr.value.end) {
                rc = SL_ERROR;
                break;
            }

            uri = 1;

            if (sl_parse_name(&attr.value, "part-", &a, &b) == SL_OK
                && (a != sl_check_msn(c) || b != c->cur_parts))
            {
                c->err = "part URI does not match its segment and index";
                return SL_ERROR;
            }
        }
    }

    if (rc == SL_ERROR || !duration || !uri) {
        c->err = "bad EXT-X-PART";
        return SL_ERROR;
    }

    if (us > info->part_target_us) {
        c->err = "EXT-X-PART longer than PART-TARGET";
        return SL_ERROR;
    }

    c->cur_parts++;
    c->cur_parts_us += us;
    c->seen_media = 1;
    info->parts++;

    return SL_OK;
}


static int
sl_check_hint(sl_check_t *c, sl_span_t *v)
{
    int                  rc;
    uint64_t             a, b, msn;
    sl_attr_t            attr;
    unsigned             part, named, uri;
    sl_playlist_info_t  *info;

    info = c->info;

    if (info->preload_hint) {
        /* one hint per type is allowed; one is all we render */
        c->err = "EXT-X-PRELOAD-HINT repeated";
        return SL_ERROR;
    }

    part = 0;
    uri = 0;
    named = 0;
    a = 0;
    b = 0;

    while ((rc = sl_attr_next(v, &attr)) == SL_OK) {
        if (sl_attr_is(&attr, "TYPE")) {
            if (attr.quoted) {
                rc = SL_ERROR;
                break;
            }

            part = sl_span_is(&attr.value, "PART");

            if (!part && !sl_span_is(&attr.value, "MAP")) {
                rc = SL_ERROR;
                break;
            }

        } else if (sl_attr_is(&attr, "URI")) {
            if (!attr.quoted || attr.value.p == attr.value.end) {
                rc = SL_ERROR;
                break;
            }

            uri = 1;
            named = (sl_parse_name(&attr.value, "part-", &a, &b) == SL_OK);
        }
    }

    if (rc == SL_ERROR || !uri) {
        c->err = "bad EXT-X-PRELOAD-HINT";
        return SL_ERROR;
    }

    if (part && named) {
        /* the next part: of the segment whose parts are being listed, or
         * the first of the next segment */

        msn = sl_check_msn(c);

        if (!((a == msn && b == c->cur_parts)
              || (c->cur_parts > 0 && a == msn + 1 && b == 0)))
        {
            c->err = "EXT-X-PRELOAD-HINT is not the next part";
            return SL_ERROR;
        }
    }

    info->preload_hint = 1;
    c->hint_line = info->line;

    return SL_OK;
}


static int
sl_check_server_control(sl_check_t *c, sl_span_t *v)
{
    int         rc;
    sl_attr_t   a;
    uint64_t   *us;

    if (c->info->server_control) {
        c->err = "EXT-X-SERVER-CONTROL repeated";
        return SL_ERROR;
    }

    while ((rc = sl_attr_next(v, &a)) == SL_OK) {
        if (sl_attr_is(&a, "CAN-SKIP-UNTIL")) {
            us = &c->can_skip_until_us;

        } else if (sl_attr_is(&a, "HOLD-BACK")) {
            us = &c->hold_back_us;

        } else if (sl_attr_is(&a, "PART-HOLD-BACK")) {
            us = &c->part_hold_back_us;
            c->seen_part_hold_back = 1;

        } else if (sl_attr_is(&a, "CAN-BLOCK-RELOAD")) {
            if (a.quoted || !sl_span_is(&a.value, "YES")) {
                rc = SL_ERROR;
                break;
            }

            continue;

        } else {
            continue;
        }

        if (a.quoted || sl_parse_duration(&a.value, us) != SL_OK) {
            rc = SL_ERROR;
            break;
        }
    }

    if (rc == SL_ERROR) {
        c->err = "bad EXT-X-SERVER-CONTROL";
        return SL_ERROR;
    }

    c->info->server_control = 1;

    return SL_OK;
}


/* the rules on the whole playlist */

static int
sl_check_end(sl_check_t *c)
{
    uint64_t             td_us;
    sl_playlist_info_t  *info;

    info = c->info;

    if (c->extinf) {
        c->err = "EXTINF without a URI";
        return SL_ERROR;
    }

    if (!c->seen_version) {
        c->err = "no EXT-X-VERSION";
        return SL_ERROR;
    }

    if (!c->seen_target) {
        c->err = "no EXT-X-TARGETDURATION";
        return SL_ERROR;
    }

    if (c->max_extinf_s > info->target_duration) {
        info->line = c->max_extinf_line;
        c->err = "EXTINF longer than EXT-X-TARGETDURATION";
        return SL_ERROR;
    }

    if (info->maps > 0 && info->version < 6) {
        c->err = "EXT-X-MAP needs EXT-X-VERSION 6";
        return SL_ERROR;
    }

    if (c->seen_skip) {
        info->line = c->skip_line;

        if (info->version < 9) {
            c->err = "EXT-X-SKIP needs EXT-X-VERSION 9";
            return SL_ERROR;
        }

        if (c->can_skip_until_us == 0) {
            c->err = "EXT-X-SKIP without CAN-SKIP-UNTIL";
            return SL_ERROR;
        }
    }

    if (info->ended && info->preload_hint) {
        info->line = c->hint_line;
        c->err = "EXT-X-PRELOAD-HINT in an ended playlist";
        return SL_ERROR;
    }

    /* server control minimums (section 4.4.3.8), target <= 1e9 s */

    td_us = info->target_duration * 1000000;

    if (c->can_skip_until_us != 0 && c->can_skip_until_us < 6 * td_us) {
        c->err = "CAN-SKIP-UNTIL below 6 target durations";
        return SL_ERROR;
    }

    if (c->hold_back_us != 0 && c->hold_back_us < 3 * td_us) {
        c->err = "HOLD-BACK below 3 target durations";
        return SL_ERROR;
    }

    if (info->part_target_us != 0) {
        if (!c->seen_part_hold_back) {
            c->err = "EXT-X-PART-INF without PART-HOLD-BACK";
            return SL_ERROR;
        }

        if (c->part_hold_back_us < 2 * info->part_target_us) {
            c->err = "PART-HOLD-BACK below 2 part targets";
            return SL_ERROR;
        }
    }

    if (c->cur_parts > 0) {
        info->last_msn = sl_check_msn(c);
        info->last_part = (int64_t) c->cur_parts - 1;
    }

    return SL_OK;
}


/* the media sequence number of the next segment */

static uint64_t
sl_check_msn(sl_check_t *c)
{
    return c->info->media_sequence + c->info->skipped + c->info->segments;
}


int
sl_playlist_check_reload(const sl_playlist_info_t *prev,
    const sl_playlist_info_t *next, const char **err)
{
    int  prev_empty, next_empty;

    if (next->media_sequence < prev->media_sequence) {
        *err = "EXT-X-MEDIA-SEQUENCE went back";
        return SL_ERROR;
    }

    if (next->discontinuity_sequence < prev->discontinuity_sequence) {
        *err = "EXT-X-DISCONTINUITY-SEQUENCE went back";
        return SL_ERROR;
    }

    if (next->target_duration != prev->target_duration) {
        *err = "EXT-X-TARGETDURATION changed";
        return SL_ERROR;
    }

    if (prev->ended && !next->ended) {
        *err = "EXT-X-ENDLIST went away";
        return SL_ERROR;
    }

    prev_empty = (prev->segments + prev->skipped == 0 && prev->last_part < 0);
    next_empty = (next->segments + next->skipped == 0 && next->last_part < 0);

    if (!prev_empty) {
        if (next_empty || next->last_msn < prev->last_msn) {
            *err = "the last segment went back";
            return SL_ERROR;
        }

        if (next->last_msn == prev->last_msn && prev->last_part >= 0
            && next->last_part >= 0 && next->last_part < prev->last_part)
        {
            *err = "the last part went back";
            return SL_ERROR;
        }
    }

    return SL_OK;
}


/* "#TAG:" at the start of the line: value is the rest */

static int
sl_tag(const unsigned char *p, size_t n, const char *tag, sl_span_t *value)
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

static int
sl_attr_next(sl_span_t *v, sl_attr_t *a)
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


static int
sl_attr_is(sl_attr_t *a, const char *name)
{
    return sl_span_is(&a->name, name);
}


static int
sl_span_is(sl_span_t *s, const char *str)
{
    size_t  len;

    len = strlen(str);

    return (size_t) (s->end - s->p) == len && memcmp(s->p, str, len) == 0;
}


static int
sl_parse_uint(sl_span_t *s, uint64_t *v)
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

static int
sl_parse_duration(sl_span_t *s, uint64_t *us)
{
    int                   i;
    uint64_t              sec, frac;
    sl_span_t             ip;
    const unsigned char  *dot, *p;

    dot = memchr(s->p, '.', s->end - s->p);

    ip.p = s->p;
    ip.end = (dot != NULL) ? dot : s->end;

    if (sl_parse_uint(&ip, &sec) != SL_OK
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

static int
sl_parse_name(sl_span_t *s, const char *prefix, uint64_t *a, uint64_t *b)
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

        if (sl_parse_uint(&nb, b) != SL_OK || *b == UINT64_MAX) {
            return SL_DECLINED;
        }
    }

    return (sl_parse_uint(&na, a) == SL_OK) ? SL_OK : SL_DECLINED;
}
