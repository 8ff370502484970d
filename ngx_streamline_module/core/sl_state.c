
/*
 * Streamline core: stream state, its ISO-8601 times and its JSON.
 */


/* timegm(), which glibc declares for _DEFAULT_SOURCE */
#define _DEFAULT_SOURCE

#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sl_core.h"


/* 9999-12-31T23:59:59.999Z, the last time the ISO form can hold */
#define SL_ISO8601_MAX_MS  253402300799999LL
#define SL_MS_PER_DAY      86400000LL

/* far more than any state; bounds the work on what Redis hands us */
#define SL_STATE_PARSE_MAX  65536


static unsigned char *sl_put_digits(unsigned char *p, int64_t v, int width);
static int sl_get_digits(const unsigned char *p, int width);


/*
 * The date from gmtime_r(), once a day and thread: a 4-hour playlist may
 * carry a date on thousands of segments, and gmtime_r() takes glibc's
 * time zone lock each call (rendering was 60 % slower with a call each).
 */
int
sl_iso8601_ms(int64_t ms, unsigned char *buf)
{
    time_t          sec;
    int64_t         day, rest;
    struct tm       tm;
    unsigned char  *p;

    static __thread int64_t        cached_day = -1;
    static __thread unsigned char  cached_date[10];

    if (ms < 0 || ms > SL_ISO8601_MAX_MS) {
        return SL_ERROR;
    }

    day = ms / SL_MS_PER_DAY;

    if (day != cached_day) {
        sec = (time_t) (day * 86400);

        /* a 32-bit time_t does not reach year 9999 */
        if ((int64_t) sec != day * 86400 || gmtime_r(&sec, &tm) == NULL) {
            return SL_ERROR;
        }

        p = cached_date;
        p = sl_put_digits(p, tm.tm_year + 1900, 4);
        *p++ = '-';
        p = sl_put_digits(p, tm.tm_mon + 1, 2);
        *p++ = '-';
        (void) sl_put_digits(p, tm.tm_mday, 2);
        cached_day = day;
    }

    rest = ms % SL_MS_PER_DAY;

    p = (unsigned char *) memcpy(buf, cached_date, 10) + 10;
    *p++ = 'T';
    p = sl_put_digits(p, rest / 3600000, 2);
    *p++ = ':';
    p = sl_put_digits(p, rest / 60000 % 60, 2);
    *p++ = ':';
    p = sl_put_digits(p, rest / 1000 % 60, 2);
    *p++ = '.';
    p = sl_put_digits(p, rest % 1000, 3);
    *p = 'Z';

    return SL_OK;
}


int
sl_iso8601_parse(const unsigned char *s, size_t len, int64_t *ms)
{
    int        year, month, day, hour, min, sec, msec;
    time_t     t;
    struct tm  tm;

    if (len != SL_ISO8601_LEN
        || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':'
        || s[16] != ':' || s[19] != '.' || s[23] != 'Z')
    {
        return SL_ERROR;
    }

    year = sl_get_digits(&s[0], 4);
    month = sl_get_digits(&s[5], 2);
    day = sl_get_digits(&s[8], 2);
    hour = sl_get_digits(&s[11], 2);
    min = sl_get_digits(&s[14], 2);
    sec = sl_get_digits(&s[17], 2);
    msec = sl_get_digits(&s[20], 3);

    /* before 1970 would be a negative time, which means "never" here */

    if (year < 1970 || month < 1 || month > 12 || day < 1
        || hour < 0 || hour > 23 || min < 0 || min > 59
        || sec < 0 || sec > 59 || msec < 0)
    {
        return SL_ERROR;
    }

    memset(&tm, 0, sizeof(struct tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;

    t = timegm(&tm);

    /* timegm() carries a day past the month's end into the next month */

    if (t == (time_t) -1 || tm.tm_mon != month - 1 || tm.tm_mday != day) {
        return SL_ERROR;
    }

    *ms = (int64_t) t * 1000 + msec;

    return SL_OK;
}


static unsigned char *
sl_put_digits(unsigned char *p, int64_t v, int width)
{
    int  i;

    for (i = width - 1; i >= 0; i--) {
        p[i] = (unsigned char) ('0' + v % 10);
        v /= 10;
    }

    return p + width;
}


/* a decimal number of exactly width digits, or -1 */

static int
sl_get_digits(const unsigned char *p, int width)
{
    int  i, v;

    v = 0;

    for (i = 0; i < width; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        v = v * 10 + (p[i] - '0');
    }

    return v;
}


int
sl_origin_valid(const unsigned char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > SL_ORIGIN_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if ((c >= 'a' && c <= 'z')
            || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '.' || c == '-' || c == '_' || c == ':'
            || c == '[' || c == ']')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


int
sl_state_json(const sl_state_t *st, const unsigned char *channel,
    size_t channel_len, unsigned flags, unsigned char *buf, size_t size)
{
    size_t         n;
    json_t        *obj;
    unsigned char  iso[SL_ISO8601_LEN];

    if (st->status != SL_STATUS_IDLE && st->status != SL_STATUS_LIVE) {
        return SL_ERROR;
    }

    if (channel != NULL && !sl_channel_valid(channel, channel_len)) {
        return SL_ERROR;
    }

    if (st->updated_ms >= 0 && sl_iso8601_ms(st->updated_ms, iso) != SL_OK) {
        return SL_ERROR;
    }

    if (!(flags & SL_STATE_JSON_ORIGIN) || st->origin_len == 0) {
        flags &= ~SL_STATE_JSON_ORIGIN;

    } else if (!sl_origin_valid(st->origin, st->origin_len)) {
        return SL_ERROR;
    }

    obj = json_object();
    if (obj == NULL) {
        return SL_ERROR;
    }

    /*
     * jansson keeps members in insertion order.  json_object_set_new()
     * fails on a NULL value and releases the value on any failure, so the
     * allocations are checked there.
     */

    if ((channel != NULL
         && json_object_set_new(obj, "channel",
                json_stringn((const char *) channel, channel_len)) != 0)
        || json_object_set_new(obj, "status",
               json_string(st->status == SL_STATUS_LIVE ? "live" : "idle"))
           != 0
        || json_object_set_new(obj, "updatedAt",
               st->updated_ms < 0
               ? json_null()
               : json_stringn((const char *) iso, SL_ISO8601_LEN)) != 0
        || ((flags & SL_STATE_JSON_ORIGIN)
            && json_object_set_new(obj, "origin",
                   json_stringn((const char *) st->origin, st->origin_len))
               != 0)
        || ((flags & SL_STATE_JSON_VIEWERS) && st->viewers >= 0
            && json_object_set_new(obj, "viewers",
                                   json_integer((json_int_t) st->viewers))
               != 0)
        || ((flags & SL_STATE_JSON_STALE)
            && json_object_set_new(obj, "stale", json_true()) != 0))
    {
        json_decref(obj);
        return SL_ERROR;
    }

    n = json_dumpb(obj, (char *) buf, size, JSON_COMPACT);

    json_decref(obj);

    if (n == 0 || n > size) {
        return SL_ERROR;
    }

    return (int) n;
}


int
sl_state_parse(const unsigned char *json, size_t len, sl_state_t *st,
    unsigned char *channel, size_t *channel_len)
{
    size_t        n;
    json_t       *root, *v, *origin;
    int64_t       ms;
    const char   *s;
    sl_status_e   status;
    json_error_t  error;

    if (len == 0 || len > SL_STATE_PARSE_MAX) {
        return SL_ERROR;
    }

    root = json_loadb((const char *) json, len, JSON_REJECT_DUPLICATES,
                      &error);
    if (root == NULL) {
        return SL_ERROR;
    }

    if (!json_is_object(root)) {
        goto failed;
    }

    v = json_object_get(root, "status");
    if (!json_is_string(v)) {
        goto failed;
    }

    s = json_string_value(v);
    n = json_string_length(v);

    if (n == 4 && memcmp(s, "live", 4) == 0) {
        status = SL_STATUS_LIVE;

    } else if (n == 4 && memcmp(s, "idle", 4) == 0) {
        status = SL_STATUS_IDLE;

    } else {
        goto failed;
    }

    v = json_object_get(root, "updatedAt");

    if (json_is_null(v)) {
        ms = -1;

    } else if (json_is_string(v)) {
        if (sl_iso8601_parse((const unsigned char *) json_string_value(v),
                             json_string_length(v), &ms)
            != SL_OK)
        {
            goto failed;
        }

    } else {
        goto failed;
    }

    origin = json_object_get(root, "origin");

    if (origin != NULL
        && (!json_is_string(origin)
            || !sl_origin_valid(
                   (const unsigned char *) json_string_value(origin),
                   json_string_length(origin))))
    {
        goto failed;
    }

    if (channel != NULL) {
        v = json_object_get(root, "channel");
        if (!json_is_string(v)) {
            goto failed;
        }

        s = json_string_value(v);
        n = json_string_length(v);

        if (!sl_channel_valid((const unsigned char *) s, n)) {
            goto failed;
        }

        memcpy(channel, s, n);
        channel[n] = '\0';

        if (channel_len != NULL) {
            *channel_len = n;
        }
    }

    st->status = status;
    st->updated_ms = ms;
    st->origin_len = origin ? json_string_length(origin) : 0;

    if (origin != NULL) {
        memcpy(st->origin, json_string_value(origin), st->origin_len);
    }

    st->origin[st->origin_len] = '\0';

    json_decref(root);

    return SL_OK;

failed:

    json_decref(root);

    return SL_ERROR;
}
