/*
 * Unit tests of the core, continued (see sl_core_test.c): ISO 8601 dates,
 * a channel's state as JSON, written and parsed.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_core_test.h"


void
test_iso8601(sl_tap_t *t)
{
    size_t         i;
    int64_t        ms;
    unsigned char  buf[SL_ISO8601_LEN + 1];

    static const struct {
        int64_t      ms;
        const char  *iso;
    } cases[] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { 1, "1970-01-01T00:00:00.001Z" },
        { 86399999, "1970-01-01T23:59:59.999Z" },
        { 68169600001LL, "1972-02-29T00:00:00.001Z" },
        { 951825600000LL, "2000-02-29T12:00:00.000Z" },
        { 978220800000LL, "2000-12-31T00:00:00.000Z" },
        { 1709251199999LL, "2024-02-29T23:59:59.999Z" },
        { 1795658066123LL, "2026-11-26T01:54:26.123Z" },
        { 4107542400000LL, "2100-03-01T00:00:00.000Z" },
        { 253402300799999LL, "9999-12-31T23:59:59.999Z" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf[SL_ISO8601_LEN] = '#';

        sl_ok(t, sl_iso8601_ms(cases[i].ms, buf) == SL_OK
              && memcmp(buf, cases[i].iso, SL_ISO8601_LEN) == 0
              && buf[SL_ISO8601_LEN] == '#',
              "iso8601: %lld renders %s", (long long) cases[i].ms,
              cases[i].iso);

        ms = -2;
        sl_ok(t, sl_iso8601_parse((const unsigned char *) cases[i].iso,
                                  SL_ISO8601_LEN, &ms) == SL_OK
              && ms == cases[i].ms,
              "iso8601: %s parses", cases[i].iso);
    }

    sl_ok(t, sl_iso8601_ms(-1, buf) == SL_ERROR, "iso8601: -1 out of range");
    sl_ok(t, sl_iso8601_ms(INT64_MIN, buf) == SL_ERROR,
          "iso8601: INT64_MIN out of range");
    sl_ok(t, sl_iso8601_ms(253402300800000LL, buf) == SL_ERROR,
          "iso8601: year 10000 out of range");
    sl_ok(t, sl_iso8601_ms(INT64_MAX, buf) == SL_ERROR,
          "iso8601: INT64_MAX out of range");
}


/* compares with the C library over the whole range */

void
test_iso8601_gmtime(sl_tap_t *t)
{
    int            bad;
    char           expect[64];
    time_t         sec;
    int64_t        ms, back, step;
    struct tm      tm;
    unsigned char  buf[SL_ISO8601_LEN];

    bad = 0;

    /* a prime step in ms visits every time of day and every date class */
    step = 7919LL * 3600 * 1000 + 7877;

    for (ms = 0; ms <= 253402300799999LL && bad < 5; ms += step) {
        sec = (time_t) (ms / 1000);

        if (gmtime_r(&sec, &tm) == NULL) {
            bad++;
            continue;
        }

        snprintf(expect, sizeof(expect), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int) (ms % 1000));

        if (sl_iso8601_ms(ms, buf) != SL_OK
            || memcmp(buf, expect, SL_ISO8601_LEN) != 0
            || sl_iso8601_parse(buf, SL_ISO8601_LEN, &back) != SL_OK
            || back != ms)
        {
            printf("# %lld: expected %s\n", (long long) ms, expect);
            bad++;
        }
    }

    sl_ok(t, bad == 0, "iso8601: agrees with gmtime_r from 1970 to 9999");

    bad = 0;

    /* every day of the years around the leap rules */

    for (ms = 946684800000LL - 400LL * 86400000; ms < 4133980800000LL;
         ms += 86400000LL + 1)
    {
        if (sl_iso8601_ms(ms, buf) != SL_OK
            || sl_iso8601_parse(buf, SL_ISO8601_LEN, &back) != SL_OK
            || back != ms)
        {
            bad++;
        }
    }

    sl_ok(t, bad == 0, "iso8601: every day 1998-2100 round trips");
}


void
test_iso8601_errors(sl_tap_t *t)
{
    size_t   i;
    int64_t  ms;

    static const char  *bad[] = {
        "2026-11-26T01:54:26.123",
        "2026-11-26T01:54:26.123ZZ",
        "2026-11-26T01:54:26Z",
        "2026-11-26T01:54:26.1234Z",
        "2026-11-26",
        "",
        "2026-13-01T00:00:00.000Z",
        "2026-00-01T00:00:00.000Z",
        "2026-01-00T00:00:00.000Z",
        "2026-01-32T00:00:00.000Z",
        "2026-02-30T00:00:00.000Z",
        "2023-02-29T00:00:00.000Z",
        "2100-02-29T00:00:00.000Z",
        "2026-04-31T00:00:00.000Z",
        "2026-11-26T24:00:00.000Z",
        "2026-11-26T23:60:00.000Z",
        "2026-11-26T23:59:60.000Z",
        "2026-11-26t01:54:26.123Z",
        "2026-11-26T01:54:26.123z",
        "2026-11-26 01:54:26.123Z",
        "2026-11-26T01:54:26,123Z",
        "2026/11/26T01:54:26.123Z",
        "2026-11-26T01:54:26.123+",
        "+026-11-26T01:54:26.123Z",
        "2026-1a-26T01:54:26.123Z",
        "2026-11-26T01:54:2 .123Z",
        "2026-11-26T01:54:26.-23Z",
        "1969-12-31T23:59:59.999Z",
        "0000-01-01T00:00:00.000Z",
        " 026-11-26T01:54:26.123Z",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = -2;

        sl_ok(t, sl_iso8601_parse((const unsigned char *) bad[i],
                                  strlen(bad[i]), &ms) == SL_ERROR
              && ms == -2,
              "iso8601: \"%s\" rejected", bad[i]);
    }

    ms = -2;
    sl_ok(t, sl_iso8601_parse(sl_str("2026-11-26T01:54:26.12\0Z"), &ms)
             == SL_ERROR,
          "iso8601: NUL rejected");
}


/* leap days, year ends, the end of a 32-bit time_t, the far future */

void
test_iso8601_edges(sl_tap_t *t)
{
    int            y, m, dim, leap, last, bad;
    char           iso[64], next[64];
    size_t         i;
    int64_t        ms;
    unsigned char  buf[SL_ISO8601_LEN + 1];

    static const struct {
        int64_t      ms;
        const char  *iso;
    } cases[] = {
        { 946684799999LL, "1999-12-31T23:59:59.999Z" },
        { 946684800000LL, "2000-01-01T00:00:00.000Z" },
        { 951782400000LL, "2000-02-29T00:00:00.000Z" },
        { 951868800000LL, "2000-03-01T00:00:00.000Z" },
        { 1735689599999LL, "2024-12-31T23:59:59.999Z" },
        { 1735689600000LL, "2025-01-01T00:00:00.000Z" },
        { 2147483647999LL, "2038-01-19T03:14:07.999Z" },
        { 2147483648000LL, "2038-01-19T03:14:08.000Z" },
        { 4107542399999LL, "2100-02-28T23:59:59.999Z" },
        { 13574606400000LL, "2400-02-29T12:00:00.000Z" },
        { 253370764800000LL, "9999-01-01T00:00:00.000Z" },
        { 253402214400000LL, "9999-12-31T00:00:00.000Z" },
    };

    static const char  *bad_dates[] = {
        "2024-02-30T00:00:00.000Z",
        "2300-02-29T00:00:00.000Z",
        "2400-02-30T00:00:00.000Z",
        "9999-02-29T00:00:00.000Z",
        "2026-06-31T00:00:00.000Z",
        "2026-12-32T00:00:00.000Z",
        "2026-01-99T00:00:00.000Z",
        "9999-12-32T00:00:00.000Z",
        "1969-01-01T00:00:00.000Z",
        "1900-02-28T00:00:00.000Z",
        "0001-01-01T00:00:00.000Z",
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf[SL_ISO8601_LEN] = '#';

        sl_ok(t, sl_iso8601_ms(cases[i].ms, buf) == SL_OK
              && memcmp(buf, cases[i].iso, SL_ISO8601_LEN) == 0
              && buf[SL_ISO8601_LEN] == '#',
              "iso8601: %lld renders %s", (long long) cases[i].ms,
              cases[i].iso);

        ms = -2;
        sl_ok(t, sl_iso8601_parse((const unsigned char *) cases[i].iso,
                                  SL_ISO8601_LEN, &ms) == SL_OK
              && ms == cases[i].ms,
              "iso8601: %s parses", cases[i].iso);
    }

    for (i = 0; i < sizeof(bad_dates) / sizeof(bad_dates[0]); i++) {
        ms = -2;

        sl_ok(t, sl_iso8601_parse((const unsigned char *) bad_dates[i],
                                  SL_ISO8601_LEN, &ms) == SL_ERROR
              && ms == -2,
              "iso8601: \"%s\" rejected", bad_dates[i]);
    }

    /*
     * The last millisecond of every month parses and renders back, the
     * next one is the first of the next month, and the day after the
     * month's last is refused.
     */

    bad = 0;

    for (y = 1970; y <= 9999 && bad < 5; y++) {
        leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        for (m = 1; m <= 12; m++) {
            dim = (m == 2) ? 28 + leap
                  : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;

            snprintf(iso, sizeof(iso), "%04d-%02d-%02dT23:59:59.999Z",
                     y, m, dim);
            snprintf(next, sizeof(next), "%04d-%02d-01T00:00:00.000Z",
                     m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);

            /* after 9999-12-31T23:59:59.999Z the ISO form ends */
            last = (y == 9999 && m == 12);

            if (sl_iso8601_parse((const unsigned char *) iso,
                                 SL_ISO8601_LEN, &ms) != SL_OK
                || sl_iso8601_ms(ms, buf) != SL_OK
                || memcmp(buf, iso, SL_ISO8601_LEN) != 0
                || (last ? sl_iso8601_ms(ms + 1, buf) != SL_ERROR
                         : sl_iso8601_ms(ms + 1, buf) != SL_OK
                           || memcmp(buf, next, SL_ISO8601_LEN) != 0))
            {
                printf("# %s: the month's end\n", iso);
                bad++;
            }

            snprintf(iso, sizeof(iso), "%04d-%02d-%02dT00:00:00.000Z",
                     y, m, dim + 1);

            if (sl_iso8601_parse((const unsigned char *) iso,
                                 SL_ISO8601_LEN, &ms) != SL_ERROR)
            {
                printf("# %s: not refused\n", iso);
                bad++;
            }
        }
    }

    sl_ok(t, bad == 0, "iso8601: every month's end 1970-9999, and the day "
          "after it refused");
}


void
test_state_json(sl_tap_t *t)
{
    int            n;
    sl_state_t     st;
    unsigned char  buf[SL_STATE_JSON_MAX], name[SL_CHANNEL_MAX];

    static const char  live[] =
        "{\"status\":\"live\",\"updatedAt\":\"2026-11-26T01:54:26.123Z\"}";
    static const char  idle[] = "{\"status\":\"idle\",\"updatedAt\":null}";
    static const char  full[] =
        "{\"channel\":\"main\",\"status\":\"live\","
        "\"updatedAt\":\"2026-11-26T01:54:26.123Z\",\"stale\":true}";

    st.status = SL_STATUS_LIVE;
    st.updated_ms = 1795658066123LL;

    n = sl_state_json(&st, NULL, 0, 0, buf, sizeof(buf));
    if (!sl_ok(t, n == (int) sizeof(live) - 1 && memcmp(buf, live, n) == 0,
               "json: live state")
        && n > 0)
    {
        sl_tap_diag("got", buf, n);
    }

    st.status = SL_STATUS_IDLE;
    st.updated_ms = -1;

    n = sl_state_json(&st, NULL, 0, 0, buf, sizeof(buf));
    sl_ok(t, n == (int) sizeof(idle) - 1 && memcmp(buf, idle, n) == 0,
          "json: idle, never updated");

    st.status = SL_STATUS_LIVE;
    st.updated_ms = 1795658066123LL;

    n = sl_state_json(&st, sl_str("main"), 1, buf, sizeof(buf));
    sl_ok(t, n == (int) sizeof(full) - 1 && memcmp(buf, full, n) == 0,
          "json: channel first, stale last");

    n = sl_state_json(&st, sl_str("main"), 1, buf, sizeof(full) - 1);
    sl_ok(t, n == (int) sizeof(full) - 1, "json: exact buffer size");

    n = sl_state_json(&st, sl_str("main"), 1, buf, sizeof(full) - 2);
    sl_ok(t, n == SL_ERROR, "json: buffer one byte short");

    n = sl_state_json(&st, NULL, 0, 0, buf, 0);
    sl_ok(t, n == SL_ERROR, "json: empty buffer");

    memset(name, 'z', sizeof(name));
    st.updated_ms = 253402300799999LL;

    n = sl_state_json(&st, name, sizeof(name), 1, buf, sizeof(buf));
    sl_ok(t, n > 0 && n <= SL_STATE_JSON_MAX,
          "json: largest state fits SL_STATE_JSON_MAX (%d)", n);

    sl_ok(t, sl_state_json(&st, sl_str("a.b"), 0, buf, sizeof(buf))
             == SL_ERROR,
          "json: invalid channel");

    sl_ok(t, sl_state_json(&st, sl_str(""), 0, buf, sizeof(buf)) == SL_ERROR,
          "json: empty channel");

    st.updated_ms = 253402300800000LL;
    sl_ok(t, sl_state_json(&st, NULL, 0, 0, buf, sizeof(buf)) == SL_ERROR,
          "json: time out of range");

    st.updated_ms = 0;
    st.status = (sl_status_e) 7;
    sl_ok(t, sl_state_json(&st, NULL, 0, 0, buf, sizeof(buf)) == SL_ERROR,
          "json: unknown status");
}


void
test_state_parse(sl_tap_t *t)
{
    int            n, rc;
    size_t         len;
    sl_state_t     st, back;
    unsigned char  buf[SL_STATE_JSON_MAX], ch[SL_CHANNEL_MAX + 1];

    st.status = SL_STATUS_LIVE;
    st.updated_ms = 1795658066123LL;

    n = sl_state_json(&st, NULL, 0, 0, buf, sizeof(buf));
    rc = sl_state_parse(buf, n, &back, NULL, NULL);
    sl_ok(t, rc == SL_OK && back.status == SL_STATUS_LIVE
          && back.updated_ms == 1795658066123LL,
          "parse: round trip");

    st.status = SL_STATUS_IDLE;
    st.updated_ms = -1;

    n = sl_state_json(&st, NULL, 0, 0, buf, sizeof(buf));
    rc = sl_state_parse(buf, n, &back, NULL, NULL);
    sl_ok(t, rc == SL_OK && back.status == SL_STATUS_IDLE
          && back.updated_ms == -1,
          "parse: null updatedAt");

    st.updated_ms = 0;

    n = sl_state_json(&st, sl_str("chan-1"), 1, buf, sizeof(buf));
    memset(ch, '#', sizeof(ch));
    len = 0;
    rc = sl_state_parse(buf, n, &back, ch, &len);
    sl_ok(t, rc == SL_OK && back.status == SL_STATUS_IDLE
          && back.updated_ms == 0 && len == 6
          && strcmp((char *) ch, "chan-1") == 0,
          "parse: channel and stale flag, epoch 0");

    rc = sl_state_parse(buf, n, &back, NULL, NULL);
    sl_ok(t, rc == SL_OK, "parse: channel member ignored when not asked");

    rc = sl_state_parse(sl_str(
             " {\n  \"updatedAt\" : \"2000-02-29T12:00:00.000Z\",\n"
             "  \"extra\": {\"nested\": [1, 2.5, null]},\n"
             "  \"status\": \"live\", \"stale\": false }\n"),
             &back, NULL, NULL);
    sl_ok(t, rc == SL_OK && back.status == SL_STATUS_LIVE
          && back.updated_ms == 951825600000LL,
          "parse: other program's layout, extra fields ignored");

    rc = sl_state_parse(sl_str("{\"channel\":\"\\u0061bc\",\"status\":\"idle\","
                               "\"updatedAt\":null}"),
                        &back, ch, &len);
    sl_ok(t, rc == SL_OK && len == 3 && strcmp((char *) ch, "abc") == 0,
          "parse: escaped channel name");
}


/* the origin that holds a live channel: to Redis and the edges only */
void
test_state_origin(sl_tap_t *t)
{
    int            n, rc;
    size_t         i, len;
    sl_state_t     st, back;
    unsigned char  buf[SL_STATE_JSON_MAX], ch[SL_CHANNEL_MAX + 1],
                   big[SL_ORIGIN_MAX + 2];

    static const char  with[] =
        "{\"channel\":\"main\",\"status\":\"live\","
        "\"updatedAt\":\"2026-11-26T01:54:26.123Z\","
        "\"origin\":\"10.0.0.5:8080\"}";
    static const char  without[] =
        "{\"status\":\"live\",\"updatedAt\":\"2026-11-26T01:54:26.123Z\"}";

    static const struct {
        const char  *s;
        int          valid;
    } addrs[] = {
        { "10.0.0.5:8080", 1 },
        { "[::1]:8080", 1 },
        { "origin-a", 1 },
        { "origin_a.example.com:80", 1 },
        { "", 0 },
        { "a b", 0 },
        { "a\"b", 0 },
        { "http://a", 0 },
        { "a/b", 0 },
        { "a\\b", 0 },
        { "\xc3\xa9", 0 },
        { "a\x01", 0 },
    };

    for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        sl_ok(t, sl_origin_valid((const unsigned char *) addrs[i].s,
                                 strlen(addrs[i].s))
                 == addrs[i].valid,
              "origin \"%s\": %s", addrs[i].s,
              addrs[i].valid ? "valid" : "refused");
    }

    memset(big, 'a', sizeof(big));
    sl_ok(t, sl_origin_valid(big, SL_ORIGIN_MAX), "origin: 255 bytes");
    sl_ok(t, !sl_origin_valid(big, SL_ORIGIN_MAX + 1), "origin: 256 refused");

    memset(&st, 0, sizeof(sl_state_t));
    st.status = SL_STATUS_LIVE;
    st.updated_ms = 1795658066123LL;
    st.origin_len = 13;
    memcpy(st.origin, "10.0.0.5:8080", 14);

    n = sl_state_json(&st, sl_str("main"), SL_STATE_JSON_ORIGIN, buf,
                      sizeof(buf));
    if (!sl_ok(t, n == (int) sizeof(with) - 1 && memcmp(buf, with, n) == 0,
               "json: the origin, after updatedAt")
        && n > 0)
    {
        sl_tap_diag("got", buf, n);
    }

    memset(&back, 0x55, sizeof(sl_state_t));
    rc = sl_state_parse(buf, n, &back, ch, &len);
    sl_ok(t, rc == SL_OK && back.origin_len == 13
          && strcmp((char *) back.origin, "10.0.0.5:8080") == 0
          && back.updated_ms == st.updated_ms,
          "parse: the origin, round trip");

    n = sl_state_json(&st, NULL, 0, 0, buf, sizeof(buf));
    sl_ok(t, n == (int) sizeof(without) - 1
          && memcmp(buf, without, n) == 0,
          "json: no origin for the public API");

    rc = sl_state_parse(buf, n, &back, NULL, NULL);
    sl_ok(t, rc == SL_OK && back.origin_len == 0 && back.origin[0] == '\0',
          "parse: a state without an origin has none");

    memset(st.origin, 'o', SL_ORIGIN_MAX);
    st.origin_len = SL_ORIGIN_MAX;
    st.origin[SL_ORIGIN_MAX] = '\0';
    n = sl_state_json(&st, big, SL_CHANNEL_MAX,
                      SL_STATE_JSON_ORIGIN | SL_STATE_JSON_STALE, buf,
                      sizeof(buf));
    sl_ok(t, n > 0 && sl_state_parse(buf, n, &back, ch, &len) == SL_OK
          && back.origin_len == SL_ORIGIN_MAX,
          "json: the longest channel and origin fit SL_STATE_JSON_MAX");

    st.origin[3] = ' ';
    sl_ok(t, sl_state_json(&st, NULL, 0, SL_STATE_JSON_ORIGIN, buf,
                           sizeof(buf)) == SL_ERROR,
          "json: an invalid origin is not written");

    sl_ok(t, sl_state_parse(sl_str("{\"status\":\"live\",\"updatedAt\":null,"
                                   "\"origin\":\"a b\"}"),
                            &back, NULL, NULL) == SL_ERROR,
          "parse: an invalid origin refuses the state");
    sl_ok(t, sl_state_parse(sl_str("{\"status\":\"live\",\"updatedAt\":null,"
                                   "\"origin\":8080}"),
                            &back, NULL, NULL) == SL_ERROR,
          "parse: an origin that is no string");
    sl_ok(t, sl_state_parse(sl_str("{\"status\":\"live\",\"updatedAt\":null,"
                                   "\"origin\":\"\"}"),
                            &back, NULL, NULL) == SL_ERROR,
          "parse: an empty origin");
}


void
test_state_parse_errors(sl_tap_t *t)
{
    int            rc, bad;
    char          *big;
    size_t         i, len, n;
    sl_state_t     st;
    unsigned char  ch[SL_CHANNEL_MAX + 1];

    static const struct {
        const char  *name;
        const char  *json;
        int          channel;
    } cases[] = {
        { "missing status", "{\"updatedAt\":null}", 0 },
        { "status foo", "{\"status\":\"foo\",\"updatedAt\":null}", 0 },
        { "status LIVE", "{\"status\":\"LIVE\",\"updatedAt\":null}", 0 },
        { "status live with NUL",
          "{\"status\":\"live\\u0000\",\"updatedAt\":null}", 0 },
        { "status number", "{\"status\":1,\"updatedAt\":null}", 0 },
        { "status null", "{\"status\":null,\"updatedAt\":null}", 0 },
        { "status true", "{\"status\":true,\"updatedAt\":null}", 0 },
        { "status array", "{\"status\":[\"live\"],\"updatedAt\":null}", 0 },
        { "missing updatedAt", "{\"status\":\"live\"}", 0 },
        { "updatedAt number", "{\"status\":\"live\",\"updatedAt\":1}", 0 },
        { "updatedAt false", "{\"status\":\"live\",\"updatedAt\":false}", 0 },
        { "updatedAt object", "{\"status\":\"live\",\"updatedAt\":{}}", 0 },
        { "updatedAt date only",
          "{\"status\":\"live\",\"updatedAt\":\"2026-11-26\"}", 0 },
        { "updatedAt Feb 30",
          "{\"status\":\"live\",\"updatedAt\":\"2026-02-30T00:00:00.000Z\"}",
          0 },
        { "updatedAt with offset",
          "{\"status\":\"live\","
          "\"updatedAt\":\"2026-11-26T01:54:26.123+00:00\"}", 0 },
        { "updatedAt empty", "{\"status\":\"live\",\"updatedAt\":\"\"}", 0 },
        { "duplicate status",
          "{\"status\":\"idle\",\"status\":\"live\",\"updatedAt\":null}", 0 },
        { "array", "[\"live\"]", 0 },
        { "string", "\"live\"", 0 },
        { "null", "null", 0 },
        { "empty object", "{}", 0 },
        { "trailing garbage",
          "{\"status\":\"live\",\"updatedAt\":null}x", 0 },
        { "two objects",
          "{\"status\":\"live\",\"updatedAt\":null}{}", 0 },
        { "single quotes", "{'status':'live','updatedAt':null}", 0 },
        { "invalid UTF-8",
          "{\"status\":\"live\",\"x\":\"\xff\",\"updatedAt\":null}", 0 },
        { "missing channel", "{\"status\":\"live\",\"updatedAt\":null}", 1 },
        { "channel number",
          "{\"channel\":7,\"status\":\"live\",\"updatedAt\":null}", 1 },
        { "channel with '.'",
          "{\"channel\":\"a.b\",\"status\":\"live\",\"updatedAt\":null}", 1 },
        { "channel empty",
          "{\"channel\":\"\",\"status\":\"live\",\"updatedAt\":null}", 1 },
        { "channel with NUL",
          "{\"channel\":\"a\\u0000b\",\"status\":\"live\","
          "\"updatedAt\":null}", 1 },
        { "channel of 65 bytes",
          "{\"channel\":\"" A32 A32 "a\",\"status\":\"live\","
          "\"updatedAt\":null}", 1 },
    };

    static const char  good[] =
        "{\"channel\":\"main\",\"status\":\"live\","
        "\"updatedAt\":\"2026-11-26T01:54:26.123Z\",\"stale\":true}";

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        st.status = SL_STATUS_LIVE;
        st.updated_ms = 42;

        rc = sl_state_parse((const unsigned char *) cases[i].json,
                            strlen(cases[i].json), &st,
                            cases[i].channel ? ch : NULL, &len);

        sl_ok(t, rc == SL_ERROR && st.status == SL_STATUS_LIVE
              && st.updated_ms == 42,
              "parse: %s rejected, state untouched", cases[i].name);
    }

    sl_ok(t, sl_state_parse((const unsigned char *) "", 0, &st, NULL, NULL)
             == SL_ERROR,
          "parse: empty input");

    bad = 0;

    for (n = 0; n < sizeof(good) - 1; n++) {
        if (sl_state_parse((const unsigned char *) good, n, &st, ch, &len)
            != SL_ERROR)
        {
            bad++;
        }
    }

    sl_ok(t, bad == 0, "parse: every truncation of a state rejected");

    sl_ok(t, sl_state_parse(sl_str("{\"channel\":\"main\",\"status\":\"live\","
                                   "\"updatedAt\":null}\0"),
                            &st, ch, &len) == SL_ERROR,
          "parse: NUL after the object");

    /* a valid state padded with blanks, just under and over the limit */

    n = 65536;
    big = malloc(n + 1);
    if (big == NULL) {
        sl_ok(t, 0, "parse: allocation for the huge input");
        return;
    }

    memset(big, ' ', n + 1);
    memcpy(big, good, sizeof(good) - 1);

    sl_ok(t, sl_state_parse((unsigned char *) big, n, &st, ch, &len)
             == SL_OK,
          "parse: 64 KiB input accepted");

    sl_ok(t, sl_state_parse((unsigned char *) big, n + 1, &st, ch, &len)
             == SL_ERROR,
          "parse: huge input rejected");

    free(big);

    /* deep nesting must not exhaust the stack */

    n = 100000;
    big = malloc(2 * n + 64);
    if (big == NULL) {
        sl_ok(t, 0, "parse: allocation for the deep input");
        return;
    }

    memcpy(big, "{\"status\":\"live\",\"updatedAt\":null,\"x\":", 39);
    memset(big + 39, '[', 30000);
    memset(big + 39 + 30000, ']', 30000);
    big[39 + 60000] = '}';

    sl_ok(t, sl_state_parse((unsigned char *) big, 39 + 60001, &st, NULL,
                            NULL) == SL_ERROR,
          "parse: 30000 nested arrays rejected");

    free(big);
}
