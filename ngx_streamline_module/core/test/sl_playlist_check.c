
/*
 * Streamline core tests: the checker of HLS media playlists, the rules on
 * each line and on the whole playlist.  The LL-HLS tags are checked in
 * sl_playlist_check_ll.c, what the module renders beyond RFC 8216 in
 * sl_playlist_check_rendered.c.
 */


#include <string.h>

#include "sl_playlist_check_internal.h"


static int sl_check_line(sl_check_t *c, const unsigned char *p, size_t n);
static int sl_check_tag(sl_check_t *c, const unsigned char *p, size_t n);
static int sl_check_uri(sl_check_t *c, const unsigned char *p, size_t n);
static int sl_check_record(sl_check_t *c, uint64_t msn);
static int sl_check_end(sl_check_t *c);


int
sl_playlist_check(const unsigned char *buf, size_t len,
    sl_playlist_info_t *info, const char **err)
{
    return sl_playlist_check_opts(buf, len, NULL, info, err);
}


int
sl_playlist_check_opts(const unsigned char *buf, size_t len,
    const sl_playlist_opts_t *opts, sl_playlist_info_t *info,
    const char **err)
{
    size_t                n;
    sl_check_t            c;
    sl_playlist_opts_t    none;
    sl_playlist_info_t    local;
    const unsigned char  *p, *end, *eol, *next;

    if (info == NULL) {
        info = &local;
    }

    memset(info, 0, sizeof(sl_playlist_info_t));
    memset(&c, 0, sizeof(sl_check_t));

    if (opts == NULL) {
        memset(&none, 0, sizeof(sl_playlist_opts_t));
        opts = &none;
    }

    info->last_part = -1;
    c.info = info;
    c.opts = opts;
    c.pdt_us = -1;
    c.pdt_run_us = -1;

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

    if (sl_check_end(&c) != SL_OK
        || (opts->rendered && sl_check_rendered_end(&c, buf, len) != SL_OK))
    {
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

    if (c->opts->rendered && sl_check_rendered_line(c, p, n) != SL_OK) {
        return SL_ERROR;
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

    if (sl_check_tag_is(p, n, "#EXTINF:", &val)) {
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

        if (sl_check_duration(&val, &c->extinf_us) != SL_OK) {
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

    if (sl_check_tag_is(p, n, "#EXT-X-PART:", &val)) {
        return sl_check_part(c, &val);
    }

    if (sl_check_tag_is(p, n, "#EXT-X-PROGRAM-DATE-TIME:", &val)) {
        int64_t  ms;

        if (sl_iso8601_parse(val.p, val.end - val.p, &ms) != SL_OK) {
            c->err = "EXT-X-PROGRAM-DATE-TIME not YYYY-MM-DDThh:mm:ss.sssZ";
            return SL_ERROR;
        }

        c->pdt_us = ms * 1000;
        info->pdts++;
        return SL_OK;
    }

    if (sl_check_tag_is(p, n, "#EXT-X-DATERANGE:", &val)) {
        int64_t   ms;
        unsigned  id = 0, start = 0;

        /* RFC 8216bis 4.4.5.1: a quoted ID and START-DATE; an X- client
         * attribute's value is quoted, hexadecimal or a number */
        while ((rc = sl_check_attr_next(&val, &a)) == SL_OK) {
            if (sl_check_span_is(&a.name, "ID")) {
                id += a.quoted && a.value.p != a.value.end;

            } else if (sl_check_span_is(&a.name, "START-DATE")) {
                start += a.quoted
                         && sl_iso8601_parse(a.value.p,
                                             a.value.end - a.value.p, &ms)
                            == SL_OK;
            }
        }

        if (rc == SL_ERROR || id != 1 || start != 1) {
            c->err = "bad EXT-X-DATERANGE";
            return SL_ERROR;
        }

        info->dateranges++;
        return SL_OK;
    }

    if (n == 20 && memcmp(p, "#EXT-X-DISCONTINUITY", 20) == 0) {
        c->discontinuity = 1;
        info->discontinuities++;
        return SL_OK;
    }

    if (sl_check_tag_is(p, n, "#EXT-X-MAP:", &val)) {
        v = 0;

        while ((rc = sl_check_attr_next(&val, &a)) == SL_OK) {
            if (sl_check_span_is(&a.name, "URI")) {
                if (!a.quoted || a.value.p == a.value.end) {
                    rc = SL_ERROR;
                    break;
                }

                c->map = a.value;
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

    if (sl_check_tag_is(p, n, "#EXT-X-VERSION:", &val)) {
        if (c->seen_version) {
            c->err = "EXT-X-VERSION repeated";
            return SL_ERROR;
        }

        if (sl_check_uint(&val, &v) != SL_OK || v == 0 || v > 1000) {
            c->err = "bad EXT-X-VERSION";
            return SL_ERROR;
        }

        c->seen_version = 1;
        info->version = (unsigned) v;
        return SL_OK;
    }

    if (sl_check_tag_is(p, n, "#EXT-X-TARGETDURATION:", &val)) {
        if (c->seen_target) {
            c->err = "EXT-X-TARGETDURATION repeated";
            return SL_ERROR;
        }

        if (sl_check_uint(&val, &v) != SL_OK || v == 0
            || v > SL_CHECK_DURATION_MAX / 1000000)
        {
            c->err = "bad EXT-X-TARGETDURATION";
            return SL_ERROR;
        }

        c->seen_target = 1;
        info->target_duration = v;
        return SL_OK;
    }

    if (sl_check_tag_is(p, n, "#EXT-X-MEDIA-SEQUENCE:", &val)) {
        if (c->seen_media || c->seen_skip) {
            c->err = "EXT-X-MEDIA-SEQUENCE after the first segment";
            return SL_ERROR;
        }

        if (c->seen_sequence) {
            c->err = "EXT-X-MEDIA-SEQUENCE repeated";
            return SL_ERROR;
        }

        if (sl_check_uint(&val, &v) != SL_OK || v > UINT64_MAX / 2) {
            c->err = "bad EXT-X-MEDIA-SEQUENCE";
            return SL_ERROR;
        }

        c->seen_sequence = 1;
        info->media_sequence = v;
        return SL_OK;
    }

    if (sl_check_tag_is(p, n, "#EXT-X-DISCONTINUITY-SEQUENCE:", &val)) {
        if (c->seen_dseq) {
            c->err = "EXT-X-DISCONTINUITY-SEQUENCE repeated";
            return SL_ERROR;
        }

        if (c->seen_media || info->discontinuities) {
            c->err = "EXT-X-DISCONTINUITY-SEQUENCE after a segment "
                     "or a discontinuity";
            return SL_ERROR;
        }

        if (sl_check_uint(&val, &v) != SL_OK) {
            c->err = "bad EXT-X-DISCONTINUITY-SEQUENCE";
            return SL_ERROR;
        }

        c->seen_dseq = 1;
        info->discontinuity_sequence = v;
        return SL_OK;
    }

    if (sl_check_tag_is(p, n, "#EXT-X-PART-INF:", &val)) {
        if (info->part_target_us) {
            c->err = "EXT-X-PART-INF repeated";
            return SL_ERROR;
        }

        while ((rc = sl_check_attr_next(&val, &a)) == SL_OK) {
            if (sl_check_span_is(&a.name, "PART-TARGET")
                && (a.quoted
                    || sl_check_duration(&a.value, &info->part_target_us)
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

    if (sl_check_tag_is(p, n, "#EXT-X-SERVER-CONTROL:", &val)) {
        return sl_check_server_control(c, &val);
    }

    if (sl_check_tag_is(p, n, "#EXT-X-SKIP:", &val)) {
        if (c->seen_skip) {
            c->err = "EXT-X-SKIP repeated";
            return SL_ERROR;
        }

        if (c->seen_media) {
            c->err = "EXT-X-SKIP after a segment";
            return SL_ERROR;
        }

        while ((rc = sl_check_attr_next(&val, &a)) == SL_OK) {
            if (sl_check_span_is(&a.name, "SKIPPED-SEGMENTS")) {
                if (a.quoted
                    || sl_check_uint(&a.value, &info->skipped) != SL_OK
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

    if (sl_check_tag_is(p, n, "#EXT-X-PRELOAD-HINT:", &val)) {
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

    if (sl_check_name(&uri, "seg-", &a, &b) == SL_OK
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

    if (c->opts->segs != NULL && sl_check_record(c, msn) != SL_OK) {
        return SL_ERROR;
    }

    info->segments++;
    info->duration_us += c->extinf_us;
    info->last_msn = msn;
    info->last_part = (int64_t) c->cur_parts - 1;

    c->extinf = 0;
    c->seen_media = 1;
    c->discontinuity = 0;
    c->pdt_us = -1;
    c->cur_parts = 0;
    c->cur_parts_us = 0;

    return SL_OK;
}


/*
 * The segment as a later version of the playlist must keep it.  Its date
 * is the one stated before it, or the last one stated plus the EXTINFs
 * since; a discontinuity without a date breaks that chain.
 */

static int
sl_check_record(sl_check_t *c, uint64_t msn)
{
    sl_playlist_seg_t  *seg;

    if (c->info->segments >= c->opts->max_segs) {
        c->err = "more segments than the checker has room for";
        return SL_ERROR;
    }

    seg = &c->opts->segs[c->info->segments];

    seg->msn = msn;
    seg->duration_us = c->extinf_us;
    seg->dseq = c->info->discontinuity_sequence + c->info->discontinuities;
    seg->map = c->map.p;
    seg->map_len = c->map.end - c->map.p;
    seg->discontinuity = c->discontinuity;
    seg->pdt_stated = (c->pdt_us >= 0);

    if (c->pdt_us >= 0) {
        seg->pdt_us = c->pdt_us;

    } else {
        seg->pdt_us = c->discontinuity ? -1 : c->pdt_run_us;
    }

    /* durations are bounded (SL_CHECK_DURATION_MAX), their sum is not */

    if (seg->pdt_us >= 0
        && (uint64_t) (INT64_MAX - seg->pdt_us) > c->extinf_us)
    {
        c->pdt_run_us = seg->pdt_us + (int64_t) c->extinf_us;

    } else {
        c->pdt_run_us = -1;
    }

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

    if (info->dateranges > 0 && info->pdts == 0) {
        c->err = "EXT-X-DATERANGE without EXT-X-PROGRAM-DATE-TIME";
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

uint64_t
sl_check_msn(sl_check_t *c)
{
    return c->info->media_sequence + c->info->skipped + c->info->segments;
}
