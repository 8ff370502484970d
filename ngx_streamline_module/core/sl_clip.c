/*
 * Streamline core: a clip's request (its URI, its query and times) and
 * the segments it selects in a DVR index.  See sl_clip.h.
 */


#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sl_core.h"
#include "sl_clip.h"


#define sl_clip_lit_len(s)  (sizeof(s) - 1)

#define SL_CLIP_MAX_MS      253402300799999LL   /* 9999-12-31T23:59:59.999 */


static int sl_clip_digits(const unsigned char *p, int n);
static int64_t sl_clip_days(int y, int m, int d);
static size_t sl_clip_decode(const unsigned char *p, size_t len,
    unsigned char *out, size_t size);
static int sl_clip_hex(unsigned char c);
static int sl_clip_keyframe(const sl_dvr_t *dvr, int64_t at, uint64_t last,
    uint64_t *msn);
static int sl_clip_seg_time(const sl_dvr_seg_t *s, int64_t prev_end,
    int64_t *start, int64_t *end);


int
sl_clip_path(const unsigned char *tail, size_t len,
    const unsigned char **channel, size_t *channel_len)
{
    const unsigned char  *slash;

    if (len < 2 || tail[0] != '/') {
        return SL_DECLINED;
    }

    slash = memchr(tail + 1, '/', len - 1);

    if (slash == NULL
        || (size_t) (tail + len - slash - 1)
           != sl_clip_lit_len(SL_CLIP_URI_NAME)
        || memcmp(slash + 1, SL_CLIP_URI_NAME,
                  sl_clip_lit_len(SL_CLIP_URI_NAME)) != 0
        || !sl_channel_valid(tail + 1, slash - tail - 1))
    {
        return SL_DECLINED;
    }

    *channel = tail + 1;
    *channel_len = slash - tail - 1;

    return SL_OK;
}


int
sl_clip_time(const unsigned char *s, size_t len, int64_t *ms)
{
    int                   y, mo, d, h, mi, sec, oh, om, frac, n, sign;
    int64_t               t;
    const unsigned char  *p, *end;

    static const int  mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                    30, 31 };

    /* YYYY-MM-DDTHH:MM:SS */

    if (len < sl_clip_lit_len("YYYY-MM-DDTHH:MM:SS")) {
        return SL_ERROR;
    }

    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't')
        || s[13] != ':' || s[16] != ':')
    {
        return SL_ERROR;
    }

    y = sl_clip_digits(s, 4);
    mo = sl_clip_digits(s + 5, 2);
    d = sl_clip_digits(s + 8, 2);
    h = sl_clip_digits(s + 11, 2);
    mi = sl_clip_digits(s + 14, 2);
    sec = sl_clip_digits(s + 17, 2);

    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]
        || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
    {
        return SL_ERROR;
    }

    if (mo == 2 && d == 29
        && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    {
        return SL_ERROR;
    }

    p = s + sl_clip_lit_len("YYYY-MM-DDTHH:MM:SS");
    end = s + len;

    /* a fraction: ms from its first 3 digits */

    frac = 0;

    if (p < end && (*p == '.' || *p == ',')) {
        p++;

        for (n = 0; p < end && *p >= '0' && *p <= '9'; n++, p++) {
            if (n < 3) {
                frac = frac * 10 + (*p - '0');
            }
        }

        if (n == 0 || n > 9) {
            return SL_ERROR;
        }

        for ( /* void */ ; n < 3; n++) {
            frac *= 10;
        }
    }

    /* the zone */

    oh = 0;
    om = 0;
    sign = 0;

    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;

    } else if (p < end && (*p == '+' || *p == '-')) {
        sign = *p == '+' ? 1 : -1;
        p++;

        if (end - p < 2 || (oh = sl_clip_digits(p, 2)) < 0 || oh > 23) {
            return SL_ERROR;
        }

        p += 2;

        if (p < end && *p == ':') {
            p++;

            if (end - p < 2) {
                return SL_ERROR;
            }
        }

        if (end - p >= 2) {
            om = sl_clip_digits(p, 2);

            if (om < 0 || om > 59) {
                return SL_ERROR;
            }

            p += 2;
        }
    }

    if (p != end) {
        return SL_ERROR;
    }

    t = sl_clip_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= sign * (oh * 3600 + om * 60);
    t = t * 1000 + frac;

    if (t < 0 || t > SL_CLIP_MAX_MS) {
        return SL_ERROR;
    }

    *ms = t;

    return SL_OK;
}


int
sl_clip_query(const unsigned char *args, size_t len, uint64_t max_ms,
    sl_clip_range_t *range, const char **err)
{
    size_t                n, klen;
    int64_t              *dst;
    unsigned              seen, bit;
    const unsigned char  *p, *end, *eq, *next;
    unsigned char         val[SL_CLIP_TIME_MAX];

    seen = 0;
    end = args + len;
    range->start_ms = -1;
    range->end_ms = -1;
    *err = NULL;

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

        if (klen == sl_clip_lit_len("start")
            && memcmp(p, "start", klen) == 0)
        {
            bit = 1;
            dst = &range->start_ms;

        } else if (klen == sl_clip_lit_len("end")
                   && memcmp(p, "end", klen) == 0)
        {
            bit = 2;
            dst = &range->end_ms;

        } else {
            continue;
        }

        if (seen & bit) {
            continue;
        }

        seen |= bit;

        n = sl_clip_decode(eq + 1, next - eq - 1, val, sizeof(val));

        if (n == 0 || sl_clip_time(val, n, dst) != SL_OK) {
            *err = bit == 1 ? "start is not an ISO-8601 time"
                            : "end is not an ISO-8601 time";
            return SL_ERROR;
        }
    }

    if (seen != 3) {
        *err = "start and end are required";
        return SL_ERROR;
    }

    if (range->end_ms <= range->start_ms) {
        *err = "end is not after start";
        return SL_ERROR;
    }

    if ((uint64_t) (range->end_ms - range->start_ms) > max_ms) {
        *err = "the range is longer than streamline_clip_max_length";
        return SL_ERROR;
    }

    return SL_OK;
}


int
sl_clip_select(const sl_dvr_t *dvr, const sl_clip_range_t *range,
    sl_clip_sel_t *sel, const char **err)
{
    int           have_first;
    int64_t       s0, e0, prev_end, win_start, win_end;
    uint64_t      msn, first, last, at_start;
    sl_dvr_seg_t  seg;

    *err = NULL;

    if (dvr->next_msn <= dvr->first_msn) {
        *err = "the DVR holds no complete segment yet";
        return SL_DECLINED;
    }

    /*
     * One pass over the closed segments: the first whose end is after
     * start (rounded to the nearer boundary), the last whose start is
     * before end (likewise).
     */

    have_first = 0;
    first = 0;
    at_start = 0;
    last = 0;
    prev_end = -1;
    win_start = -1;
    win_end = -1;

    for (msn = dvr->first_msn; msn < dvr->next_msn; msn++) {
        if (sl_dvr_segment(dvr, msn, &seg) != SL_OK
            || sl_clip_seg_time(&seg, prev_end, &s0, &e0) != SL_OK)
        {
            prev_end = -1;
            continue;
        }

        prev_end = e0;

        if (win_start < 0) {
            win_start = s0;
        }

        win_end = e0;

        if (!have_first && e0 > range->start_ms) {
            at_start = msn;

            /* start in its later half: the next boundary is nearer */
            if (range->start_ms > s0 && range->start_ms - s0 > (e0 - s0) / 2
                && msn + 1 < dvr->next_msn)
            {
                first = msn + 1;

            } else {
                first = msn;
            }

            have_first = 1;
        }

        if (s0 < range->end_ms) {
            last = msn;

            /* end in its earlier half: the previous boundary is nearer */
            if (range->end_ms < e0 && range->end_ms - s0 < (e0 - s0) / 2
                && msn > dvr->first_msn)
            {
                last = msn - 1;
            }
        }
    }

    if (win_start < 0 || range->start_ms < win_start) {
        *err = "the range starts before the DVR window (expired)";
        return SL_DECLINED;
    }

    if (range->end_ms > win_end) {
        *err = "the range ends after the DVR's last complete segment";
        return SL_DECLINED;
    }

    if (!have_first) {
        *err = "the range is not in the DVR window";
        return SL_DECLINED;
    }

    if (last < first) {
        /* shorter than a segment: the one it starts in */
        first = at_start;
        last = at_start;
    }

    /* a clip starts on a keyframe: at the nearest independent segment */
    if (sl_clip_keyframe(dvr, range->start_ms, last, &first) != SL_OK) {
        *err = "no keyframe near the range's start";
        return SL_DECLINED;
    }

    sel->first_msn = first;
    sel->last_msn = last;
    sel->duration_us = 0;
    sel->window_msn = dvr->first_msn;

    for (msn = first; msn <= last; msn++) {
        if (sl_dvr_segment(dvr, msn, &seg) != SL_OK) {
            *err = "the range is not in the DVR window";
            return SL_DECLINED;
        }

        if (msn == first) {
            sel->init_id = seg.init_id;
            sel->start_ms = seg.pdt_ms;

        } else if ((seg.flags & SL_SEG_DISCONTINUITY)
                   || seg.init_id != sel->init_id)
        {
            *err = "the range crosses a discontinuity of the stream";
            return SL_DECLINED;
        }

        if (seg.flags & SL_SEG_GAP) {
            *err = "the range crosses a gap in the DVR";
            return SL_DECLINED;
        }

        sel->duration_us += seg.duration_us;
    }

    if (sel->start_ms < 0) {
        sel->start_ms = range->start_ms;
    }

    return SL_OK;
}


size_t
sl_clip_name(char *buf, size_t size, uint64_t first, uint64_t last)
{
    int  n;

    n = snprintf(buf, size, "%llu-%llu" SL_CLIP_SUFFIX,
                 (unsigned long long) first, (unsigned long long) last);

    return n < 0 ? size : (size_t) n;
}


int
sl_clip_name_first(const char *name, uint64_t *first)
{
    size_t       len, n;
    uint64_t     v;
    const char  *p, *suffix;

    v = 0;

    for (p = name, n = 0; *p >= '0' && *p <= '9'; p++, n++) {
        if (n == 19) {
            return SL_DECLINED;
        }

        v = v * 10 + (uint64_t) (*p - '0');
    }

    if (n == 0 || *p++ != '-') {
        return SL_DECLINED;
    }

    for (n = 0; *p >= '0' && *p <= '9'; p++, n++) { /* void */ }

    if (n == 0 || n > 19
        || strncmp(p, SL_CLIP_SUFFIX, sl_clip_lit_len(SL_CLIP_SUFFIX)) != 0)
    {
        return SL_DECLINED;
    }

    suffix = p + sl_clip_lit_len(SL_CLIP_SUFFIX);
    len = strlen(suffix);

    if (len != 0
        && !(suffix[0] == '.' && len > sl_clip_lit_len(SL_NAME_TMP_SUFFIX)
             && strcmp(suffix + len - sl_clip_lit_len(SL_NAME_TMP_SUFFIX),
                       SL_NAME_TMP_SUFFIX) == 0))
    {
        return SL_DECLINED;
    }

    *first = v;

    return SL_OK;
}


int
sl_clip_stamp(int64_t ms, unsigned char *buf)
{
    time_t     sec;
    struct tm  tm;
    char       tmp[SL_CLIP_STAMP_LEN + 1];

    if (ms < 0 || ms > SL_CLIP_MAX_MS) {
        return SL_ERROR;
    }

    sec = (time_t) (ms / 1000);

    if (gmtime_r(&sec, &tm) == NULL
        || strftime(tmp, sizeof(tmp), "%Y%m%dT%H%M%SZ", &tm)
           != SL_CLIP_STAMP_LEN)
    {
        return SL_ERROR;
    }

    memcpy(buf, tmp, SL_CLIP_STAMP_LEN);

    return SL_OK;
}


/* n decimal digits, or -1 */
static int
sl_clip_digits(const unsigned char *p, int n)
{
    int  v;

    for (v = 0; n > 0; n--, p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        v = v * 10 + (*p - '0');
    }

    return v;
}


/* days since 1970-01-01 of a proleptic Gregorian date */
static int64_t
sl_clip_days(int y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= m <= 2;
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


/* percent-decoding into out: its length, 0 if bad or too long */
static size_t
sl_clip_decode(const unsigned char *p, size_t len, unsigned char *out,
    size_t size)
{
    int                   hi, lo;
    size_t                n;
    const unsigned char  *end;

    end = p + len;

    for (n = 0; p < end; n++) {
        if (n == size) {
            return 0;
        }

        if (*p != '%') {
            out[n] = *p++;
            continue;
        }

        if (end - p < 3
            || (hi = sl_clip_hex(p[1])) < 0 || (lo = sl_clip_hex(p[2])) < 0)
        {
            return 0;
        }

        out[n] = (unsigned char) (hi << 4 | lo);
        p += 3;
    }

    return n;
}


static int
sl_clip_hex(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


/* a segment's start and end (ms): from its PDT, or the previous end */
static int
sl_clip_seg_time(const sl_dvr_seg_t *s, int64_t prev_end, int64_t *start,
    int64_t *end)
{
    if (s->pdt_ms >= 0) {
        *start = s->pdt_ms;

    } else if (prev_end >= 0) {
        *start = prev_end;

    } else {
        return SL_ERROR;
    }

    *end = *start + (int64_t) (s->duration_us + 500) / 1000;

    return SL_OK;
}


/*
 * The independent segment (it starts on a keyframe) whose start is
 * nearest to at: *msn or before it, or after it up to last.
 */
static int
sl_clip_keyframe(const sl_dvr_t *dvr, int64_t at, uint64_t last,
    uint64_t *msn)
{
    int           found;
    int64_t       back_ms;
    uint64_t      m, back;
    sl_dvr_seg_t  seg;

    found = 0;
    back = 0;
    back_ms = 0;

    for (m = *msn + 1; m-- > dvr->first_msn; /* void */ ) {
        if (sl_dvr_segment(dvr, m, &seg) == SL_OK
            && (seg.flags & SL_SEG_INDEPENDENT) && seg.pdt_ms >= 0)
        {
            if (m == *msn) {
                return SL_OK;
            }

            found = 1;
            back = m;
            back_ms = seg.pdt_ms;
            break;
        }
    }

    for (m = *msn + 1; m <= last; m++) {
        if (sl_dvr_segment(dvr, m, &seg) == SL_OK
            && (seg.flags & SL_SEG_INDEPENDENT) && seg.pdt_ms >= 0)
        {
            if (!found || seg.pdt_ms - at < at - back_ms) {
                back = m;
                found = 1;
            }

            break;
        }
    }

    if (!found) {
        return SL_DECLINED;
    }

    *msn = back;

    return SL_OK;
}
