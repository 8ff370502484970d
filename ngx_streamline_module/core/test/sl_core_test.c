/*
 * Unit tests of the Streamline core, one program: channel names, API
 * paths, HLS request paths and queries here; the H.264 SPS size
 * (sl_core_avc_test.c), stream keys and the keys file
 * (sl_core_keys_test.c), ISO 8601 dates and the state JSON
 * (sl_core_state_test.c), the transition queue, backoff and the state
 * cache (sl_core_queue_test.c), owner tokens and Redis replies
 * (sl_core_redis_test.c), Redis Sentinel (sl_core_sentinel_test.c).
 * Prints TAP; exits 1 when a test fails.
 */


#include <stdio.h>
#include <string.h>

#include "sl_core_test.h"


static void test_channel_valid(sl_tap_t *t);
static void test_api_path(sl_tap_t *t);
static void test_hls_path(sl_tap_t *t);
static void test_hls_query(sl_tap_t *t);


int
main(void)
{
    sl_tap_t  t;

    t.n = 0;
    t.failed = 0;

    test_channel_valid(&t);
    test_api_path(&t);
    test_hls_path(&t);
    test_hls_query(&t);
    test_avc_size(&t);
    test_key_valid(&t);
    test_key_digest(&t);
    test_secret_equal(&t);
    test_keyfile(&t);
    test_keyfile_errors(&t);
    test_keyfile_lookup(&t);
    test_keyfile_count(&t);
    test_keyfile_large(&t);
    test_iso8601(&t);
    test_iso8601_gmtime(&t);
    test_iso8601_errors(&t);
    test_iso8601_edges(&t);
    test_state_json(&t);
    test_state_origin(&t);
    test_state_parse(&t);
    test_state_parse_errors(&t);
    test_queue(&t);
    test_queue_full(&t);
    test_queue_random(&t);
    test_backoff(&t);
    test_cache(&t);
    test_owner(&t);
    test_proc_stat(&t);
    test_redis_errors(&t);
    test_redis_transition(&t);
    test_redis_claim(&t);
    test_redis_state(&t);
    test_redis_message(&t);
    test_sentinel_url(&t);
    test_sentinel_master(&t);
    test_sentinel_switch(&t);
    test_sentinel_role(&t);
    test_overload(&t);
    test_overload_streams(&t);
    test_viewers(&t);

    return sl_tap_done(&t);
}


static void
test_channel_valid(sl_tap_t *t)
{
    unsigned char  name[SL_CHANNEL_MAX + 2];

    memset(name, 'a', sizeof(name));

    sl_ok(t, sl_channel_valid(sl_str("main")), "channel: main");
    sl_ok(t, sl_channel_valid(sl_str("Az09_-")), "channel: all classes");
    sl_ok(t, sl_channel_valid(sl_str("a")), "channel: one byte");
    sl_ok(t, sl_channel_valid(name, SL_CHANNEL_MAX), "channel: 64 bytes");
    sl_ok(t, !sl_channel_valid(name, SL_CHANNEL_MAX + 1),
          "channel: 65 bytes rejected");
    sl_ok(t, !sl_channel_valid(sl_str("")), "channel: empty rejected");
    sl_ok(t, !sl_channel_valid(sl_str("a.b")), "channel: '.' rejected");
    sl_ok(t, !sl_channel_valid(sl_str("..")), "channel: '..' rejected");
    sl_ok(t, !sl_channel_valid(sl_str("a b")), "channel: space rejected");
    sl_ok(t, !sl_channel_valid(sl_str("a/b")), "channel: '/' rejected");
    sl_ok(t, !sl_channel_valid(sl_str("a\0b")), "channel: NUL rejected");
    sl_ok(t, !sl_channel_valid(sl_str("a\x01")), "channel: control rejected");
    sl_ok(t, !sl_channel_valid(sl_str("caf\xc3\xa9")),
          "channel: UTF-8 rejected");
    sl_ok(t, !sl_channel_valid(sl_str("a%2e")), "channel: '%%' rejected");
}


static void
test_api_path(sl_tap_t *t)
{
    int                   rc, ok;
    size_t                i, len;
    const char           *err;
    unsigned char         path[SL_CHANNEL_MAX + 3];
    const unsigned char  *ch;

    static const struct {
        const char  *tail;
        size_t       len;
        const char  *channel;          /* NULL: SL_ERROR expected */
    } cases[] = {
        { "", 0, "" },
        { "/", 1, "" },
        { "/main", 5, "main" },
        { "/main/", 6, "main" },
        { "/Main_2-b/", 10, "Main_2-b" },
        { "//", 2, NULL },
        { "///", 3, NULL },
        { "/main//", 7, NULL },
        { "/../etc", 7, NULL },
        { "/..", 3, NULL },
        { "/.", 2, NULL },
        { "/a/b", 4, NULL },
        { "/a/b/", 5, NULL },
        { "/%2e%2e", 7, NULL },
        { "/ma\x01in", 7, NULL },
        { "/main\r\n", 7, NULL },
        { "/ma\0in", 6, NULL },
        { "/a.b", 4, NULL },
        { "/main?x=1", 9, NULL },
        { "main", 4, NULL },
        { " /main", 6, NULL },
        { "/main ", 6, NULL },
        { "\\main", 5, NULL },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err = "unset";
        rc = sl_api_path_channel((const unsigned char *) cases[i].tail,
                                 cases[i].len, &ch, &len, &err);

        if (cases[i].channel == NULL) {
            ok = sl_ok(t, rc == SL_ERROR && err != NULL && *err != '\0',
                       "api path %zu rejected (%s)", i,
                       err ? err : "no reason");

        } else {
            ok = sl_ok(t, rc == SL_OK && len == strlen(cases[i].channel)
                       && memcmp(ch, cases[i].channel, len) == 0,
                       "api path %zu gives \"%s\"", i, cases[i].channel);
        }

        if (!ok) {
            sl_tap_diag("tail", (const unsigned char *) cases[i].tail,
                        cases[i].len);
        }
    }

    path[0] = '/';
    memset(path + 1, 'x', sizeof(path) - 1);

    rc = sl_api_path_channel(path, 1 + SL_CHANNEL_MAX, &ch, &len, &err);
    sl_ok(t, rc == SL_OK && len == SL_CHANNEL_MAX && ch == path + 1,
          "api path: 64-byte name");

    path[1 + SL_CHANNEL_MAX] = '/';
    rc = sl_api_path_channel(path, 2 + SL_CHANNEL_MAX, &ch, &len, &err);
    sl_ok(t, rc == SL_OK && len == SL_CHANNEL_MAX,
          "api path: 64-byte name and '/'");

    path[1 + SL_CHANNEL_MAX] = 'x';
    rc = sl_api_path_channel(path, 2 + SL_CHANNEL_MAX, &ch, &len, &err);
    sl_ok(t, rc == SL_ERROR && strstr(err, "long") != NULL,
          "api path: 65-byte name rejected (%s)", err);
}


static void
test_hls_path(sl_tap_t *t)
{
    size_t         i;
    sl_hls_path_t  p;

    static const struct {
        const char     *tail;
        sl_hls_kind_e   kind;
        const char     *channel;
        const char     *rendition;
        uint64_t        msn;
        uint64_t        part;
    } cases[] = {
        { "/main/master.m3u8", SL_HLS_MASTER, "main", NULL, 0, 0 },
        { "/a-B_9/master.m3u8", SL_HLS_MASTER, "a-B_9", NULL, 0, 0 },
        { "/main/source/index.m3u8", SL_HLS_MEDIA, "main", "source", 0, 0 },
        { "/main/previews.vtt", SL_HLS_PREVIEWS, "main", NULL, 0, 0 },
        { "/main/360p/part-1764600000.12.m4s", SL_HLS_PART, "main", "360p",
          1764600000, 12 },
        { "/main/source/part-0.0.m4s", SL_HLS_PART, "main", "source", 0, 0 },
        { "/m/s/part-999999999999999999.999999999.m4s", SL_HLS_PART, "m",
          "s", 999999999999999999ULL, 999999999 },

        /* the static module's (or a 404) */
        { "", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "main/master.m3u8", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "//master.m3u8", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/../master.m3u8", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/master.m3u8/", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/Master.m3u8", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/index.m3u", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/seg-1.m4s", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/previews/1-2.jpg", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/previews.vtt/", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/previews.vtt", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/previews.vtt", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/init-1.mp4", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/x/index.m3u8", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/so.urce/index.m3u8", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/part-1.m4s", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/part-.1.m4s", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/part-1..m4s", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/part-1.2.3.m4s", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/part-01.2.m4s", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/part-1.02.m4s", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/part--1.2.m4s", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/part-+1.2.m4s", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/part-1.2.m4", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/part-1.2.m4s.tmp", SL_HLS_OTHER, NULL, NULL, 0, 0 },
        { "/main/source/part-1000000000000000000.2.m4s", SL_HLS_OTHER,
          NULL, NULL, 0, 0 },
        { "/main/source/part-1.1000000000.m4s", SL_HLS_OTHER, NULL, NULL,
          0, 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sl_hls_path((const unsigned char *) cases[i].tail,
                    strlen(cases[i].tail), &p);

        if (cases[i].kind == SL_HLS_OTHER) {
            sl_ok(t, p.kind == SL_HLS_OTHER, "hls path \"%s\": not ours",
                  cases[i].tail);
            continue;
        }

        sl_ok(t, p.kind == cases[i].kind
              && p.channel_len == strlen(cases[i].channel)
              && memcmp(p.channel, cases[i].channel, p.channel_len) == 0
              && (cases[i].rendition == NULL
                  || (p.rendition_len == strlen(cases[i].rendition)
                      && memcmp(p.rendition, cases[i].rendition,
                                p.rendition_len) == 0))
              && p.msn == cases[i].msn && p.part == cases[i].part,
              "hls path \"%s\"", cases[i].tail);
    }
}


static void
test_hls_query(sl_tap_t *t)
{
    int             rc;
    size_t          i;
    const char     *err;
    sl_hls_query_t  q;

    static const struct {
        const char  *args;
        int          rc;
        int64_t      msn;
        int64_t      part;
        unsigned     skip;
    } cases[] = {
        { "", SL_OK, -1, -1, 0 },
        { "_HLS_msn=12", SL_OK, 12, -1, 0 },
        { "_HLS_msn=12&_HLS_part=3", SL_OK, 12, 3, 0 },
        { "_HLS_part=3&_HLS_msn=12", SL_OK, 12, 3, 0 },
        { "_HLS_msn=0&_HLS_part=0&_HLS_skip=YES", SL_OK, 0, 0, 1 },
        { "_HLS_skip=v2", SL_OK, -1, -1, 1 },
        { "_hls_msn=7", SL_OK, 7, -1, 0 },
        { "_HLS_msn=007", SL_OK, 7, -1, 0 },
        { "_HLS_msn=999999999999999999", SL_OK, 999999999999999999LL, -1,
          0 },
        { "a=1&_HLS_msn=5&b", SL_OK, 5, -1, 0 },
        { "_HLS_msn=5&_HLS_msn=x", SL_OK, 5, -1, 0 },
        { "x_HLS_msn=5", SL_OK, -1, -1, 0 },
        { "_HLS_msn", SL_OK, -1, -1, 0 },
        { "&&&", SL_OK, -1, -1, 0 },

        { "_HLS_part=1", SL_ERROR, 0, 0, 0 },
        { "_HLS_msn=x", SL_ERROR, 0, 0, 0 },
        { "_HLS_msn=", SL_ERROR, 0, 0, 0 },
        { "_HLS_msn=-1", SL_ERROR, 0, 0, 0 },
        { "_HLS_msn=+1", SL_ERROR, 0, 0, 0 },
        { "_HLS_msn=1 ", SL_ERROR, 0, 0, 0 },
        { "_HLS_msn=1000000000000000000", SL_ERROR, 0, 0, 0 },
        { "_HLS_msn=1&_HLS_part=y", SL_ERROR, 0, 0, 0 },
        { "_HLS_msn=1&_HLS_part=1000000000", SL_ERROR, 0, 0, 0 },
        { "_HLS_skip=NO", SL_ERROR, 0, 0, 0 },
        { "_HLS_skip=yes", SL_ERROR, 0, 0, 0 },
        { "_HLS_skip=", SL_ERROR, 0, 0, 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc = sl_hls_query((const unsigned char *) cases[i].args,
                          strlen(cases[i].args), &q, &err);

        if (cases[i].rc == SL_ERROR) {
            sl_ok(t, rc == SL_ERROR && err != NULL,
                  "hls query \"%s\": 400 (%s)", cases[i].args,
                  err ? err : "no reason");
            continue;
        }

        sl_ok(t, rc == SL_OK && q.msn == cases[i].msn
              && q.part == cases[i].part && q.skip == cases[i].skip,
              "hls query \"%s\"", cases[i].args);
    }
}
