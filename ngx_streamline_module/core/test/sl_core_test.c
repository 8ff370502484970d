
/*
 * Unit tests of the Streamline core.  Prints TAP; exits 1 when a test fails.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_core.h"
#include "sl_redis.h"
#include "sl_tap.h"


#define sl_str(s)  (const unsigned char *) (s), sizeof(s) - 1

#define A32  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


static void test_channel_valid(sl_tap_t *t);
static void test_api_path(sl_tap_t *t);
static void test_hls_path(sl_tap_t *t);
static void test_hls_query(sl_tap_t *t);
static void test_avc_size(sl_tap_t *t);
static void test_key_valid(sl_tap_t *t);
static void test_key_digest(sl_tap_t *t);
static void test_secret_equal(sl_tap_t *t);
static void test_keyfile(sl_tap_t *t);
static void test_keyfile_errors(sl_tap_t *t);
static void test_keyfile_lookup(sl_tap_t *t);
static void test_keyfile_count(sl_tap_t *t);
static void test_keyfile_large(sl_tap_t *t);
static sl_key_entry_t *sl_keyfile_entry(sl_key_entry_t *e, size_t n,
    const char *digest);
static void test_iso8601(sl_tap_t *t);
static void test_iso8601_gmtime(sl_tap_t *t);
static void test_iso8601_errors(sl_tap_t *t);
static void test_iso8601_edges(sl_tap_t *t);
static void test_state_json(sl_tap_t *t);
static void test_state_parse(sl_tap_t *t);
static void test_state_parse_errors(sl_tap_t *t);
static void test_queue(sl_tap_t *t);
static void test_queue_full(sl_tap_t *t);
static void test_queue_random(sl_tap_t *t);
static void test_backoff(sl_tap_t *t);
static void test_cache(sl_tap_t *t);
static void test_owner(sl_tap_t *t);
static void test_proc_stat(sl_tap_t *t);
static void test_redis_errors(sl_tap_t *t);
static void test_redis_transition(sl_tap_t *t);
static void test_redis_claim(sl_tap_t *t);
static void test_redis_state(sl_tap_t *t);
static void test_redis_message(sl_tap_t *t);
static redisReply *sl_resp(const char *resp);

static void sl_transition(sl_transition_t *tr, const char *channel,
    sl_status_e status, int64_t ms);
static int sl_queue_is(sl_queue_t *q, const char *expect);


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


/* a bit writer for the SPS made by hand below */

typedef struct {
    uint8_t  buf[128];
    size_t   pos;
} sl_bw_t;


static void
sl_bw_u(sl_bw_t *w, uint32_t v, unsigned n)
{
    while (n--) {
        if ((v >> n) & 1) {
            w->buf[w->pos / 8] |= (uint8_t) (0x80 >> (w->pos % 8));
        }

        w->pos++;
    }
}


static void
sl_bw_ue(sl_bw_t *w, uint32_t v)
{
    unsigned  bits;

    for (bits = 0; ((v + 1) >> bits) > 1; bits++) { /* void */ }

    sl_bw_u(w, 0, bits);
    sl_bw_u(w, v + 1, bits + 1);
}


static void
sl_bw_se(sl_bw_t *w, int32_t v)
{
    sl_bw_ue(w, v > 0 ? (uint32_t) (2 * v - 1) : (uint32_t) (-2 * v));
}


static size_t
sl_hex(const char *hex, uint8_t *out)
{
    size_t  n;

    for (n = 0; hex[2 * n] && hex[2 * n + 1]; n++) {
        sscanf(hex + 2 * n, "%2hhx", &out[n]);
    }

    return n;
}


static void
test_avc_size(sl_tap_t *t)
{
    int       w, h;
    size_t    i, n;
    uint8_t   avcc[256];
    sl_bw_t   bw;

    /* sequence headers of libx264 (ffmpeg -f flv) */
    static const struct {
        const char  *what;
        const char  *hex;
        int          w, h;
    } cases[] = {
        { "320x180 High (bottom crop)",
          "0164000dffe1001a6764000dacd941419f9f0110000003001000000303c0f1"
          "42996001000668ebe3cb22c0fdf8f800", 320, 180 },
        { "1920x1080 Constrained Baseline",
          "0142c028ffe100196742c028da01e0089f970110000003001000000303c0f1"
          "832a01000468ce0fc8", 1920, 1080 },
        { "642x362 (crop on both sides)",
          "0142c01effe1001a6742c01ed900a42fe224c044000003000400000300f03c"
          "58b92001000568cb83cb20", 642, 362 },
        { "320x240 High 4:4:4",
          "01f4000dffe1001967f4000d919b28283f6022000003000200000300781e28"
          "532c01000668ebe3c44844fff8f800", 320, 240 },
        { "720x576 interlaced",
          "0164001fffe100186764001facd940b424d80880000003008000001e0f8b16"
          "cb01000668fba3cb22c0fdf8f800", 720, 576 },
        { "322x182 High 4:2:2",
          "017a000dffe1001b677a000dbcd941519e222f0110000003001000000303c0"
          "f142996001000668ebe3cb22c0fef8f800", 322, 182 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = sl_hex(cases[i].hex, avcc);
        w = h = -1;
        sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_OK
              && w == cases[i].w && h == cases[i].h,
              "avc size: %s", cases[i].what);

        /* the NAL header byte nginx-rtmp wants (0x67) or not: the same */
        avcc[8] = 0x27;
        sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_OK
              && w == cases[i].w && h == cases[i].h,
              "avc size: %s, SPS NAL byte 0x27", cases[i].what);

        sl_ok(t, sl_avc_size(avcc, 20, &w, &h) == SL_ERROR,
              "avc size: %s cut short: refused", cases[i].what);
    }

    /* by hand: scaling lists, pic_order_cnt_type 1, an emulation byte */

    memset(&bw, 0, sizeof(bw));
    sl_bw_u(&bw, 100, 8);                     /* High */
    sl_bw_u(&bw, 0, 8);
    sl_bw_u(&bw, 40, 8);
    sl_bw_ue(&bw, 0);                         /* sps id */
    sl_bw_ue(&bw, 1);                         /* 4:2:0 */
    sl_bw_ue(&bw, 0);
    sl_bw_ue(&bw, 0);
    sl_bw_u(&bw, 0, 1);
    sl_bw_u(&bw, 1, 1);                       /* scaling matrix */

    for (i = 0; i < 8; i++) {
        if (i == 0) {
            sl_bw_u(&bw, 1, 1);
            sl_bw_se(&bw, -8);                /* next 0: the rest default */

        } else if (i == 6) {
            sl_bw_u(&bw, 1, 1);

            for (n = 0; n < 64; n++) {
                sl_bw_se(&bw, (n % 2) ? 1 : -1);
            }

        } else {
            sl_bw_u(&bw, 0, 1);
        }
    }

    sl_bw_ue(&bw, 0);                         /* log2_max_frame_num */
    sl_bw_ue(&bw, 1);                         /* pic_order_cnt_type 1 */
    sl_bw_u(&bw, 0, 1);
    sl_bw_se(&bw, 1);
    sl_bw_se(&bw, -1);
    sl_bw_ue(&bw, 2);
    sl_bw_se(&bw, 3);
    sl_bw_se(&bw, -3);
    sl_bw_ue(&bw, 1);                         /* max_num_ref_frames */
    sl_bw_u(&bw, 0, 1);
    sl_bw_ue(&bw, 79);                        /* 1280 */
    sl_bw_ue(&bw, 44);                        /* 720 */
    sl_bw_u(&bw, 1, 1);
    sl_bw_u(&bw, 1, 1);
    sl_bw_u(&bw, 0, 1);                       /* no cropping */
    sl_bw_u(&bw, 0, 1);                       /* no VUI */
    sl_bw_u(&bw, 1, 1);                       /* stop bit */

    n = (bw.pos + 7) / 8;

    memset(avcc, 0, sizeof(avcc));
    avcc[0] = 1;
    avcc[1] = 100;
    avcc[3] = 40;
    avcc[4] = 0xff;
    avcc[5] = 0xe1;
    avcc[6] = 0;
    avcc[7] = (uint8_t) (n + 1);
    avcc[8] = 0x67;
    memcpy(avcc + 9, bw.buf, n);

    w = h = -1;
    sl_ok(t, sl_avc_size(avcc, 9 + n, &w, &h) == SL_OK
          && w == 1280 && h == 720,
          "avc size: scaling lists and pic_order_cnt_type 1");

    /*
     * profile 66, constraints 0, level 0, then a first byte of 02: the
     * encoder wrote 00 00 03 02, and the 03 is no data
     */
    memset(&bw, 0, sizeof(bw));
    sl_bw_ue(&bw, 63);                        /* sps id: 0000001000000 */
    sl_bw_ue(&bw, 0);                         /* log2_max_frame_num */
    sl_bw_ue(&bw, 2);                         /* pic_order_cnt_type 2 */
    sl_bw_ue(&bw, 1);
    sl_bw_u(&bw, 0, 1);
    sl_bw_ue(&bw, 39);                        /* 640 */
    sl_bw_ue(&bw, 22);                        /* 368, cropped to 360 */
    sl_bw_u(&bw, 1, 1);
    sl_bw_u(&bw, 1, 1);
    sl_bw_u(&bw, 1, 1);                       /* cropping */
    sl_bw_ue(&bw, 0);
    sl_bw_ue(&bw, 0);
    sl_bw_ue(&bw, 0);
    sl_bw_ue(&bw, 4);
    sl_bw_u(&bw, 0, 1);
    sl_bw_u(&bw, 1, 1);
    n = (bw.pos + 7) / 8;

    avcc[9] = 66;
    avcc[10] = 0;
    avcc[11] = 0;
    avcc[12] = 3;
    memcpy(avcc + 13, bw.buf, n);
    avcc[7] = (uint8_t) (n + 5);

    w = h = -1;
    sl_ok(t, bw.buf[0] == 2 && sl_avc_size(avcc, 13 + n, &w, &h) == SL_OK
          && w == 640 && h == 360,
          "avc size: an emulation prevention byte");

    /* not an SPS, not version 1, no SPS, a length past the end */
    n = sl_hex("0164000dffe1001a6764000dacd941419f9f0110000003001000000303c0f1"
               "42996001000668ebe3cb22c0fdf8f800", avcc);
    avcc[8] = 0x68;
    sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_ERROR,
          "avc size: a PPS where the SPS should be: refused");
    avcc[8] = 0x67;
    avcc[0] = 2;
    sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_ERROR,
          "avc size: version 2 refused");
    avcc[0] = 1;
    avcc[5] = 0xe0;
    sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_ERROR,
          "avc size: no SPS refused");
    avcc[5] = 0xe1;
    avcc[7] = 200;
    sl_ok(t, sl_avc_size(avcc, n, &w, &h) == SL_ERROR,
          "avc size: an SPS longer than the record refused");
}


static void
test_key_valid(sl_tap_t *t)
{
    size_t         i;
    unsigned char  key[SL_KEY_MAX + 1];

    static const char  bad[] = " /?&#%\x7f\x80\xff\t\r\n";

    memset(key, 'k', sizeof(key));

    sl_ok(t, sl_key_valid(key, SL_KEY_MIN), "key: 8 bytes");
    sl_ok(t, !sl_key_valid(key, SL_KEY_MIN - 1), "key: 7 bytes rejected");
    sl_ok(t, sl_key_valid(key, SL_KEY_MAX), "key: 256 bytes");
    sl_ok(t, !sl_key_valid(key, SL_KEY_MAX + 1), "key: 257 bytes rejected");
    sl_ok(t, !sl_key_valid(key, 0), "key: empty rejected");
    sl_ok(t, sl_key_valid(sl_str("!\"$'()*+,-.:;<=>@[\\]^_`{|}~09azAZ")),
          "key: punctuation allowed");

    for (i = 0; i < sizeof(bad) - 1; i++) {
        key[3] = bad[i];
        sl_ok(t, !sl_key_valid(key, 16), "key: byte 0x%02x rejected",
              (unsigned char) bad[i]);
    }

    key[3] = '\0';
    sl_ok(t, !sl_key_valid(key, 16), "key: NUL rejected");
}


static void
test_key_digest(sl_tap_t *t)
{
    unsigned char  hex[SL_DIGEST_HEX + 1];

    hex[SL_DIGEST_HEX] = '#';

    sl_ok(t, sl_key_digest_hex(sl_str("abc"), hex) == SL_OK
          && memcmp(hex, "ba7816bf8f01cfea414140de5dae2223"
                         "b00361a396177a9cb410ff61f20015ad",
                    SL_DIGEST_HEX) == 0,
          "digest: sha256(\"abc\")");

    sl_ok(t, hex[SL_DIGEST_HEX] == '#', "digest: writes 64 bytes only");

    sl_ok(t, sl_key_digest_hex((const unsigned char *) "", 0, hex) == SL_OK
          && memcmp(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                         "27ae41e4649b934ca495991b7852b855",
                    SL_DIGEST_HEX) == 0,
          "digest: sha256(\"\")");
}


static void
test_secret_equal(sl_tap_t *t)
{
    sl_ok(t, sl_secret_equal(sl_str("secret"), sl_str("secret")) == 1,
          "secret: equal");
    sl_ok(t, sl_secret_equal(sl_str("secret"), sl_str("secreT")) == 0,
          "secret: last byte differs");
    sl_ok(t, sl_secret_equal(sl_str("Secret"), sl_str("secret")) == 0,
          "secret: first byte differs");
    sl_ok(t, sl_secret_equal(sl_str("secret"), sl_str("secret2")) == 0,
          "secret: longer b is unequal");
    sl_ok(t, sl_secret_equal(sl_str("secret2"), sl_str("secret")) == 0,
          "secret: shorter b is unequal");
    sl_ok(t, sl_secret_equal(sl_str(""), sl_str("x")) == 0,
          "secret: empty vs one byte");
    sl_ok(t, sl_secret_equal(sl_str(""), sl_str("")) == 1,
          "secret: both empty");
}


#define D1  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define D1U "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
#define D2  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define D3  "b5e56216416cf14fc8e23f2f932734f3ce6fd6ea6dcc6feec2752344b3b0e74e"


static void
test_keyfile(sl_tap_t *t)
{
    int             rc;
    size_t          n, line;
    const char     *err;
    sl_key_entry_t  e[4], *k1, *k2, *k3;

    static const char  good[] =
        "# streamline keys\n"
        "\n"
        D1 " main\n"
        "   # indented comment\n"
        D2 "\tbackup-2\n"
        " \t\n"
        D3 "   studio_B   \n";

    static const char  crlf[] =
        "# windows\r\n"
        D1U " main\r\n"
        "\r\n"
        D2 " other\r\n";

    static const char  no_eol[] = D1 " main";

    rc = sl_keyfile_parse(sl_str(good), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_OK && n == 3, "keyfile: good file, 3 entries");
    k1 = sl_keyfile_entry(e, n, D1);
    k2 = sl_keyfile_entry(e, n, D2);
    k3 = sl_keyfile_entry(e, n, D3);
    sl_ok(t, n == 3 && k1 && k2 && k3
          && k1->channel_len == 4 && strcmp((char *) k1->channel, "main") == 0
          && k1->line == 3
          && strcmp((char *) k2->channel, "backup-2") == 0 && k2->line == 5
          && k3->channel_len == 8
          && strcmp((char *) k3->channel, "studio_B") == 0 && k3->line == 7,
          "keyfile: entries, tab separator, trailing blanks");
    sl_ok(t, n == 3 && memcmp(e[0].digest, D3, 64) == 0
          && memcmp(e[1].digest, D1, 64) == 0
          && memcmp(e[2].digest, D2, 64) == 0,
          "keyfile: entries sorted by digest");

    rc = sl_keyfile_parse(sl_str(crlf), e, 4, &n, &line, &err);
    k1 = sl_keyfile_entry(e, n, D1);
    k2 = sl_keyfile_entry(e, n, D2);
    sl_ok(t, rc == SL_OK && n == 2 && k1 && k2
          && strcmp((char *) k1->channel, "main") == 0
          && k2->channel_len == 5,
          "keyfile: CRLF, uppercase hex stored lowercase");

    rc = sl_keyfile_parse(sl_str(no_eol), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_OK && n == 1 && e[0].channel_len == 4,
          "keyfile: last line without newline");

    rc = sl_keyfile_parse(sl_str(""), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_OK && n == 0, "keyfile: empty file has no keys");

    rc = sl_keyfile_parse(sl_str("# none\n\n"), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_OK && n == 0, "keyfile: comments only");

    rc = sl_keyfile_parse(sl_str(D1 " main\n" D2 " b\n"), e, 2, &n, &line,
                          &err);
    sl_ok(t, rc == SL_OK && n == 2, "keyfile: exactly max entries");
}


static void
test_keyfile_errors(sl_tap_t *t)
{
    int             rc;
    size_t          i, n, line;
    const char     *err;
    sl_key_entry_t  e[2];

    static const struct {
        const char  *name;
        const char  *text;
        size_t       len;
        size_t       line;
    } cases[] = {
        { "bad hex",
          "# x\n" "g" D1 " main\n", 0, 2 },
        { "bad hex at the end",
          D1 " a\n"
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015az"
          " main\n", 0, 2 },
        { "short hex",
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"
          " main\n", 0, 1 },
        { "long hex",
          D1 "0 main\n", 0, 1 },
        { "missing channel",
          D1 "\n", 0, 1 },
        { "missing channel after blanks",
          D1 "  \t \r\n", 0, 1 },
        { "invalid channel",
          D1 " ma.in\n", 0, 1 },
        { "channel of 65 bytes",
          D1 " " A32 A32 "a\n", 0, 1 },
        { "trailing junk",
          "\n\n" D1 " main junk\n", 0, 3 },
        { "trailing comment",
          D1 " main # note\n", 0, 1 },
        { "too many entries",
          D1 " a\n" D2 " b\n" D3 " c\n", 0, 3 },
        { "duplicate key",
          D1 " a\n" D1U " b\n", 0, 2 },
        { "duplicate key before a bad line",
          D1 " a\n" D1 " b\nxyz\n", 0, 2 },
        { "bad line before a duplicate key",
          D1 " a\nxyz\n" D1 " b\n", 0, 2 },
        { "NUL inside",
          D1 " ma\0in\n", sizeof(D1 " ma\0in\n") - 1, 1 },
        { "NUL line",
          D1 " a\n\0\n", sizeof(D1 " a\n\0\n") - 1, 2 },
        { "CR inside",
          D1 " ma\rin\n", 0, 1 },
        { "only a digest prefix",
          "ba78\n", 0, 1 },
        { "colon separator",
          D1 ":main\n", 0, 1 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err = NULL;
        line = 0;

        rc = sl_keyfile_parse((const unsigned char *) cases[i].text,
                              cases[i].len ? cases[i].len
                                           : strlen(cases[i].text),
                              e, 2, &n, &line, &err);

        sl_ok(t, rc == SL_ERROR && line == cases[i].line && err != NULL,
              "keyfile: %s rejected at line %zu (%s)", cases[i].name, line,
              err ? err : "no reason");
    }
}


static void
test_keyfile_lookup(sl_tap_t *t)
{
    int                    rc;
    size_t                 n, line;
    const char            *err;
    unsigned char          hex[SL_DIGEST_HEX];
    sl_key_entry_t         e[4];
    const sl_key_entry_t  *found;

    static const char  keys[] = D1 " main\n" D3 " studio\n" D2 " empty\n";

    rc = sl_keyfile_parse(sl_str(keys), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_OK && n == 3, "lookup: keys parsed");

    (void) sl_key_digest_hex(sl_str("obs-secret-key-1"), hex);
    found = sl_keyfile_lookup(e, n, hex);
    sl_ok(t, found && strcmp((char *) found->channel, "studio") == 0,
          "lookup: key maps to its channel");

    (void) sl_key_digest_hex(sl_str("abc"), hex);
    found = sl_keyfile_lookup(e, n, hex);
    sl_ok(t, found && strcmp((char *) found->channel, "main") == 0,
          "lookup: another key, another channel");

    (void) sl_key_digest_hex(sl_str("obs-secret-key-2"), hex);
    sl_ok(t, sl_keyfile_lookup(e, n, hex) == NULL, "lookup: unknown key");

    sl_ok(t, sl_keyfile_lookup(e, 0, hex) == NULL, "lookup: no entries");

    memcpy(hex, D1U, SL_DIGEST_HEX);
    sl_ok(t, sl_keyfile_lookup(e, n, hex) == NULL,
          "lookup: uppercase digest is not a stored digest");
}


static void
test_keyfile_count(sl_tap_t *t)
{
    int             rc;
    size_t          n, line;
    const char     *err;
    sl_key_entry_t  e[4];

    static const char  keys[] =
        "# comment\n"
        "  \t# indented comment\n"
        "\n"
        " \t\r\n"
        D1 " main\n"
        D2 " main\r\n"
        D3 " other";

    static const char  dups[] =
        D2 " a\n" D1 " a\n" D1 " b\n" D2 " b\n";

    sl_ok(t, sl_keyfile_count(sl_str(keys)) == 3,
          "keyfile count: 3 keys among comments and blank lines");
    sl_ok(t, sl_keyfile_count(sl_str("")) == 0, "keyfile count: empty");
    sl_ok(t, sl_keyfile_count(sl_str("junk\n# c\nmore junk")) == 2,
          "keyfile count: lines that will not parse count too");

    rc = sl_keyfile_parse(sl_str(dups), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_ERROR && line == 3 && err
          && strcmp(err, "duplicate key") == 0,
          "keyfile: the first line that repeats a key is reported");
}


/*
 * 65536 keys (the most the module reads) that share all but their last
 * digits: comparing each with every earlier one took about 2^31 long
 * comparisons.  The bound is CPU time and far above what sorting takes.
 */

static void
test_keyfile_large(sl_tap_t *t)
{
    int              rc;
    char            *p;
    size_t           i, n, max, line, len;
    clock_t          start;
    double           cpu;
    const char      *err;
    unsigned char   *buf;
    sl_key_entry_t  *e;

    max = 65536;
    len = max * (SL_DIGEST_HEX + sizeof(" ch-00000\n") - 1);

    buf = malloc(len + 1);
    e = malloc(max * sizeof(sl_key_entry_t));

    if (buf == NULL || e == NULL) {
        sl_ok(t, 0, "keyfile large: memory");
        free(buf);
        free(e);
        return;
    }

    p = (char *) buf;

    for (i = 0; i < max; i++) {
        /* from the last key to the first: the sort has work to do */
        p += sprintf(p, "%.59s%05zx ch-%05zu\n", D1, max - 1 - i, i);
    }

    sl_ok(t, (size_t) (p - (char *) buf) == len
          && sl_keyfile_count(buf, len) == max,
          "keyfile large: %zu keys counted", max);

    start = clock();
    rc = sl_keyfile_parse(buf, len, e, max, &n, &line, &err);
    cpu = (double) (clock() - start) / CLOCKS_PER_SEC;

    sl_ok(t, rc == SL_OK && n == max, "keyfile large: %zu keys parsed", n);
    sl_ok(t, cpu < 1.0, "keyfile large: parsed in %.3f s of CPU", cpu);
    sl_ok(t, n == max && strcmp((char *) e[0].channel, "ch-65535") == 0
          && e[0].line == max,
          "keyfile large: sorted by digest");

    /* one duplicate at the very end */
    memcpy(buf + len - (SL_DIGEST_HEX + 10), buf, SL_DIGEST_HEX);

    start = clock();
    rc = sl_keyfile_parse(buf, len, e, max, &n, &line, &err);
    cpu = (double) (clock() - start) / CLOCKS_PER_SEC;

    sl_ok(t, rc == SL_ERROR && line == max && err
          && strcmp(err, "duplicate key") == 0,
          "keyfile large: duplicate on the last line found (%.3f s)", cpu);

    free(buf);
    free(e);
}


static sl_key_entry_t *
sl_keyfile_entry(sl_key_entry_t *e, size_t n, const char *digest)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (memcmp(e[i].digest, digest, SL_DIGEST_HEX) == 0) {
            return &e[i];
        }
    }

    return NULL;
}


static void
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

static void
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


static void
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

static void
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


static void
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


static void
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


static void
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


static void
sl_transition(sl_transition_t *tr, const char *channel, sl_status_e status,
    int64_t ms)
{
    memset(tr, 0, sizeof(sl_transition_t));

    tr->channel_len = strlen(channel);
    memcpy(tr->channel, channel, tr->channel_len);
    tr->state.status = status;
    tr->state.updated_ms = ms;
}


/* the queue as "channel:ms channel:ms ..." equals expect */

static int
sl_queue_is(sl_queue_t *q, const char *expect)
{
    char              got[1024], *p;
    size_t            i;
    sl_transition_t  *tr;

    p = got;
    *p = '\0';

    for (i = 0; (tr = sl_queue_at(q, i)) != NULL; i++) {
        p += snprintf(p, got + sizeof(got) - p, "%s%.*s:%lld",
                      i ? " " : "", (int) tr->channel_len,
                      (char *) tr->channel, (long long) tr->state.updated_ms);
    }

    if (strcmp(got, expect) != 0) {
        printf("#   queue: \"%s\", expected \"%s\"\n", got, expect);
        return 0;
    }

    return 1;
}


static void
test_queue(sl_tap_t *t)
{
    int              rc;
    sl_queue_t       q;
    sl_transition_t  items[4], tr;

    sl_queue_init(&q, items, 4);

    sl_ok(t, q.len == 0 && sl_queue_at(&q, 0) == NULL, "queue: empty");

    sl_queue_pop(&q);
    sl_ok(t, q.len == 0 && q.head == 0, "queue: pop on empty is harmless");

    sl_transition(&tr, "a", SL_STATUS_LIVE, 1);
    rc = sl_queue_push(&q, &tr);
    sl_transition(&tr, "b", SL_STATUS_LIVE, 2);
    rc |= sl_queue_push(&q, &tr);
    sl_transition(&tr, "a", SL_STATUS_IDLE, 3);
    rc |= sl_queue_push(&q, &tr);

    sl_ok(t, rc == SL_OK && q.len == 3 && sl_queue_is(&q, "a:1 b:2 a:3"),
          "queue: push keeps order");
    sl_ok(t, sl_queue_at(&q, 2)->state.status == SL_STATUS_IDLE
          && sl_queue_at(&q, 3) == NULL,
          "queue: at() past the end is NULL");

    sl_queue_pop(&q);
    sl_queue_pop(&q);
    sl_ok(t, q.len == 1 && sl_queue_is(&q, "a:3"), "queue: pop oldest");

    sl_transition(&tr, "c", SL_STATUS_LIVE, 4);
    rc = sl_queue_push(&q, &tr);
    sl_transition(&tr, "d", SL_STATUS_LIVE, 5);
    rc |= sl_queue_push(&q, &tr);
    sl_transition(&tr, "e", SL_STATUS_LIVE, 6);
    rc |= sl_queue_push(&q, &tr);

    sl_ok(t, rc == SL_OK && q.len == 4 && q.head == 2
          && sl_queue_is(&q, "a:3 c:4 d:5 e:6"),
          "queue: wraps around the storage");

    sl_queue_pop(&q);
    sl_queue_pop(&q);
    sl_queue_pop(&q);
    sl_ok(t, q.head == 1 && sl_queue_is(&q, "e:6"), "queue: pop wraps");

    sl_queue_pop(&q);
    sl_ok(t, q.len == 0 && q.merged == 0 && q.dropped == 0,
          "queue: drained, nothing lost");

    tr.channel_len = SL_CHANNEL_MAX + 1;
    sl_ok(t, sl_queue_push(&q, &tr) == SL_ERROR && q.len == 0,
          "queue: over-long channel refused");

    sl_queue_init(&q, NULL, 0);
    sl_transition(&tr, "a", SL_STATUS_LIVE, 1);
    sl_ok(t, sl_queue_push(&q, &tr) == SL_DECLINED && q.dropped == 1
          && q.len == 0,
          "queue: no storage, transition dropped");
}


static void
test_queue_full(sl_tap_t *t)
{
    int              rc;
    sl_queue_t       q;
    sl_transition_t  items[4], tr;

    sl_queue_init(&q, items, 4);

    /* start away from slot 0 so that every removal crosses the wrap */
    sl_transition(&tr, "x", SL_STATUS_LIVE, 0);
    (void) sl_queue_push(&q, &tr);
    (void) sl_queue_push(&q, &tr);
    (void) sl_queue_push(&q, &tr);
    sl_queue_pop(&q);
    sl_queue_pop(&q);
    sl_queue_pop(&q);

    sl_transition(&tr, "a", SL_STATUS_LIVE, 1);
    (void) sl_queue_push(&q, &tr);
    sl_transition(&tr, "b", SL_STATUS_LIVE, 2);
    (void) sl_queue_push(&q, &tr);
    sl_transition(&tr, "a", SL_STATUS_IDLE, 3);
    (void) sl_queue_push(&q, &tr);
    sl_transition(&tr, "c", SL_STATUS_LIVE, 4);
    rc = sl_queue_push(&q, &tr);

    sl_ok(t, rc == SL_OK && q.len == 4 && sl_queue_is(&q, "a:1 b:2 a:3 c:4"),
          "queue full: filled");

    sl_transition(&tr, "d", SL_STATUS_LIVE, 5);
    rc = sl_queue_push(&q, &tr);
    sl_ok(t, rc == SL_DECLINED && q.merged == 1 && q.dropped == 0
          && sl_queue_is(&q, "b:2 a:3 c:4 d:5"),
          "queue full: superseded a:1 merged away");

    sl_transition(&tr, "c", SL_STATUS_IDLE, 6);
    rc = sl_queue_push(&q, &tr);
    sl_ok(t, rc == SL_DECLINED && q.merged == 2 && q.dropped == 0
          && sl_queue_is(&q, "b:2 a:3 d:5 c:6"),
          "queue full: merges with the transition being pushed");

    sl_transition(&tr, "e", SL_STATUS_LIVE, 7);
    rc = sl_queue_push(&q, &tr);
    sl_ok(t, rc == SL_DECLINED && q.merged == 2 && q.dropped == 1
          && sl_queue_is(&q, "a:3 d:5 c:6 e:7"),
          "queue full: no duplicate, oldest dropped and counted");

    sl_transition(&tr, "e", SL_STATUS_IDLE, 8);
    rc = sl_queue_push(&q, &tr);
    sl_ok(t, rc == SL_DECLINED && q.merged == 3 && q.dropped == 1
          && sl_queue_is(&q, "a:3 d:5 c:6 e:8"),
          "queue full: newest merged with its predecessor");

    sl_transition(&tr, "a", SL_STATUS_IDLE, 9);
    rc = sl_queue_push(&q, &tr);
    sl_ok(t, rc == SL_DECLINED && q.merged == 4
          && sl_queue_is(&q, "d:5 c:6 e:8 a:9"),
          "queue full: every channel keeps its final state");
}


/*
 * Random pushes and pops over fewer channels than slots: nothing is ever
 * dropped, order is preserved and each channel's last state is queued.
 */

static void
test_queue_random(sl_tap_t *t)
{
    int              bad;
    char             name[2];
    size_t           i, j, k;
    int64_t          last[5], prev;
    uint32_t         rnd;
    sl_queue_t       q;
    sl_transition_t  items[8], tr, *it;

    sl_queue_init(&q, items, 8);

    for (k = 0; k < 5; k++) {
        last[k] = -1;
    }

    bad = 0;
    rnd = 12345;
    name[1] = '\0';

    for (i = 1; i <= 20000 && !bad; i++) {
        rnd = rnd * 1103515245 + 12345;
        k = (rnd >> 16) % 5;

        if ((rnd >> 8) % 4 == 0 && q.len > 0) {
            it = sl_queue_at(&q, 0);

            /* popped: that channel's state has been delivered */
            if (last[it->channel[0] - 'a'] == it->state.updated_ms) {
                last[it->channel[0] - 'a'] = -1;
            }

            sl_queue_pop(&q);
            continue;
        }

        name[0] = (char) ('a' + k);
        sl_transition(&tr, name, SL_STATUS_LIVE, (int64_t) i);
        (void) sl_queue_push(&q, &tr);
        last[k] = (int64_t) i;

        prev = 0;

        for (j = 0; j < q.len; j++) {
            it = sl_queue_at(&q, j);

            if (it->state.updated_ms <= prev) {
                bad = 1;
            }

            prev = it->state.updated_ms;
        }

        for (k = 0; k < 5; k++) {
            if (last[k] < 0) {
                continue;
            }

            for (j = 0; j < q.len; j++) {
                if (sl_queue_at(&q, j)->state.updated_ms == last[k]) {
                    break;
                }
            }

            if (j == q.len) {
                bad = 1;
            }
        }
    }

    sl_ok(t, !bad && q.dropped == 0 && q.merged > 0,
          "queue: 20000 random operations keep order and final states "
          "(%llu merged)", (unsigned long long) q.merged);
}


static void
test_backoff(sl_tap_t *t)
{
    sl_ok(t, sl_backoff_ms(0, 30000) == 100, "backoff: first is 100 ms");
    sl_ok(t, sl_backoff_ms(1, 30000) == 200, "backoff: doubles");
    sl_ok(t, sl_backoff_ms(5, 30000) == 3200, "backoff: 5 failures");
    sl_ok(t, sl_backoff_ms(8, 30000) == 25600, "backoff: 8 failures");
    sl_ok(t, sl_backoff_ms(9, 30000) == 30000, "backoff: capped");
    sl_ok(t, sl_backoff_ms(4000000000U, 30000) == 30000,
          "backoff: huge attempt capped");
    sl_ok(t, sl_backoff_ms(200, INT64_MAX) == INT64_MAX,
          "backoff: no overflow under INT64_MAX");
    sl_ok(t, sl_backoff_ms(3, 50) == 50, "backoff: max below 100 ms");
    sl_ok(t, sl_backoff_ms(3, -5) == 0, "backoff: negative max");
}


static void
test_cache(sl_tap_t *t)
{
    sl_state_t        st;
    sl_cache_t        c;
    sl_cache_entry_t  storage[3], *e, *a;

    memset(storage, 0x5a, sizeof(storage));

    sl_cache_init(&c, storage, 3);
    sl_ok(t, !storage[0].valid && !storage[2].valid, "cache: init clears");

    sl_ok(t, sl_cache_get(&c, sl_str("a"), 10) == NULL, "cache: miss");

    st.status = SL_STATUS_LIVE;
    st.updated_ms = 1000;

    a = sl_cache_put(&c, sl_str("a"), &st, 100);
    sl_ok(t, a != NULL && a->valid && a->channel_len == 1
          && strcmp((char *) a->channel, "a") == 0
          && a->state.updated_ms == 1000 && a->fetched_ms == 100
          && a->used_ms == 100,
          "cache: put");

    e = sl_cache_get(&c, sl_str("a"), 150);
    sl_ok(t, e == a && e->used_ms == 150 && e->fetched_ms == 100,
          "cache: get marks use, keeps fetch time");

    sl_ok(t, sl_cache_get(&c, sl_str("ab"), 150) == NULL
          && sl_cache_get(&c, sl_str("A"), 150) == NULL,
          "cache: exact names only");

    (void) sl_cache_put(&c, sl_str("b"), &st, 200);
    (void) sl_cache_put(&c, sl_str("c"), &st, 300);
    (void) sl_cache_get(&c, sl_str("a"), 400);

    st.status = SL_STATUS_IDLE;
    e = sl_cache_put(&c, sl_str("d"), &st, 500);

    sl_ok(t, e != NULL && sl_cache_get(&c, sl_str("b"), 600) == NULL
          && sl_cache_get(&c, sl_str("a"), 600) != NULL
          && sl_cache_get(&c, sl_str("c"), 600) != NULL
          && sl_cache_get(&c, sl_str("d"), 600) == e,
          "cache: least recently used evicted");

    st.updated_ms = 2000;
    e = sl_cache_put(&c, sl_str("a"), &st, 700);
    sl_ok(t, e == a && e->state.status == SL_STATUS_IDLE
          && e->state.updated_ms == 2000 && e->fetched_ms == 700
          && sl_cache_get(&c, sl_str("c"), 800) != NULL
          && sl_cache_get(&c, sl_str("d"), 800) != NULL,
          "cache: put replaces the channel's own entry");

    sl_ok(t, sl_cache_put(&c, sl_str(""), &st, 900) == NULL,
          "cache: empty name refused");

    sl_ok(t, sl_cache_put(&c, sl_str(A32 A32 "a"), &st, 900) == NULL,
          "cache: over-long name refused");

    sl_cache_clear(&c);
    sl_ok(t, sl_cache_get(&c, sl_str("a"), 1000) == NULL
          && sl_cache_get(&c, sl_str("c"), 1000) == NULL
          && sl_cache_get(&c, sl_str("d"), 1000) == NULL,
          "cache: clear forgets everything");

    e = sl_cache_put(&c, sl_str("z"), &st, 1100);
    sl_ok(t, e == &storage[0], "cache: free slot reused after clear");

    sl_cache_init(&c, NULL, 0);
    sl_ok(t, sl_cache_put(&c, sl_str("a"), &st, 1) == NULL
          && sl_cache_get(&c, sl_str("a"), 1) == NULL,
          "cache: no storage");
}


static void
test_redis_errors(sl_tap_t *t)
{
    size_t       i;
    redisReply  *r;

    static const struct {
        const char  *error;
        int          transient;
    } cases[] = {
        { "LOADING Redis is loading the dataset in memory", 1 },
        { "BUSY Redis is busy running a script.", 1 },
        { "OOM command not allowed when used memory > 'maxmemory'. "
          "script: 214d, on @user_script:1.", 1 },
        { "READONLY You can't write against a read only replica.", 1 },
        { "MISCONF Redis is configured to save RDB snapshots", 1 },
        { "MASTERDOWN Link with MASTER is down", 1 },
        { "NOAUTH Authentication required.", 1 },
        { "TRYAGAIN", 1 },
        { "ERR Error running script", 0 },
        { "WRONGTYPE Operation against a key holding the wrong kind", 0 },
        { "NOSCRIPT No matching script", 0 },
        { "LOADINGX", 0 },
        { "loading lowercase", 0 },
        { "OO", 0 },
        { "", 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sl_ok(t, sl_redis_error_transient(cases[i].error,
                                          strlen(cases[i].error))
                 == cases[i].transient,
              "redis error: \"%.12s\" %s", cases[i].error,
              cases[i].transient ? "transient" : "for good");
    }

    sl_ok(t, sl_redis_error_code("OOM command", 11) == 3
          && sl_redis_error_code("LOADING", 7) == 7
          && sl_redis_error_code(A32 A32, 64) == SL_REDIS_CODE_MAX,
          "redis error: codes, bounded");

    r = sl_resp("+PONG\r\n");
    sl_ok(t, sl_redis_pong(r) == SL_OK, "redis PING: PONG");
    freeReplyObject(r);

    r = sl_resp("-LOADING Redis is loading the dataset in memory\r\n");
    sl_ok(t, sl_redis_pong(r) == SL_AGAIN, "redis PING: LOADING, again");
    freeReplyObject(r);

    r = sl_resp("$4\r\nPONG\r\n");
    sl_ok(t, sl_redis_pong(r) == SL_AGAIN, "redis PING: not a status");
    freeReplyObject(r);

    sl_ok(t, sl_redis_pong(NULL) == SL_AGAIN, "redis PING: no reply");
}


static void
test_redis_transition(sl_tap_t *t)
{
    size_t       i;
    redisReply  *r;

    static const struct {
        const char  *resp;
        int          rc;
    } cases[] = {
        { ":1\r\n", SL_OK },
        { ":0\r\n", SL_OK },
        { ":2\r\n", SL_ERROR },
        { ":-1\r\n", SL_ERROR },
        { "-LOADING Redis is loading the dataset in memory\r\n", SL_AGAIN },
        { "-OOM command not allowed when used memory > 'maxmemory'. "
          "script: 21, on @user_script:1.\r\n", SL_AGAIN },
        { "-READONLY You can't write against a read only replica.\r\n",
          SL_AGAIN },
        { "-BUSY Redis is busy running a script.\r\n", SL_AGAIN },
        { "-WRONGTYPE Operation against a key holding the wrong kind of "
          "value script: 21, on @user_script:1.\r\n", SL_ERROR },
        { "-ERR unknown command 'EVAL'\r\n", SL_ERROR },
        { "+OK\r\n", SL_ERROR },
        { "$-1\r\n", SL_ERROR },
        { "$1\r\n1\r\n", SL_ERROR },
        { "*1\r\n:1\r\n", SL_ERROR },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = sl_resp(cases[i].resp);
        sl_ok(t, r && sl_redis_transition_result(r) == cases[i].rc,
              "redis transition: reply %zu gives %d", i, cases[i].rc);
        freeReplyObject(r);
    }

    sl_ok(t, sl_redis_transition_result(NULL) == SL_AGAIN,
          "redis transition: no reply (disconnected), again");
}


static void
test_redis_claim(sl_tap_t *t)
{
    size_t         i, len, owner_len;
    redisReply    *r;
    const char    *owner;
    unsigned char  ch[SL_CHANNEL_MAX + 1];

    static const struct {
        const char  *resp;
        int          rc;
        const char  *channel;
    } cases[] = {
        { "*2\r\n:1\r\n$4\r\nmain\r\n", SL_REDIS_CLAIM_CLAIMED, "main" },
        { "*2\r\n:2\r\n$5\r\nstu-1\r\n", SL_REDIS_CLAIM_BUSY, "stu-1" },
        { "*2\r\n:0\r\n$0\r\n\r\n", SL_REDIS_CLAIM_UNKNOWN_KEY, "" },
        { "*2\r\n:1\r\n$4\r\nma.n\r\n", SL_REDIS_CLAIM_BAD_CHANNEL, "" },
        { "*2\r\n:1\r\n$0\r\n\r\n", SL_REDIS_CLAIM_BAD_CHANNEL, "" },
        { "*2\r\n:1\r\n$65\r\n" A32 A32 "a\r\n",
          SL_REDIS_CLAIM_BAD_CHANNEL, "" },
        { "*2\r\n:3\r\n$4\r\nmain\r\n", SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "*2\r\n:1\r\n:1\r\n", SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "*2\r\n$1\r\n1\r\n$4\r\nmain\r\n",
          SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "*3\r\n:1\r\n$4\r\nmain\r\n:1\r\n",
          SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "*-1\r\n", SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "*0\r\n", SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "-LOADING Redis is loading the dataset in memory\r\n",
          SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "-NOSCRIPT No matching script\r\n", SL_REDIS_CLAIM_UNAVAILABLE, "" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = sl_resp(cases[i].resp);
        ch[0] = 'x';
        sl_ok(t, r && sl_redis_claim_result(r, ch, &len, &owner, &owner_len)
                      == cases[i].rc
              && owner == NULL
              && len == strlen(cases[i].channel)
              && (len == 0 || strcmp((char *) ch, cases[i].channel) == 0),
              "redis claim: reply %zu gives %d \"%s\"", i, cases[i].rc,
              cases[i].channel);
        freeReplyObject(r);
    }

    sl_ok(t, sl_redis_claim_result(NULL, ch, &len, &owner, &owner_len)
             == SL_REDIS_CLAIM_UNAVAILABLE && len == 0 && owner == NULL,
          "redis claim: no reply");

    r = sl_resp("*3\r\n:2\r\n$4\r\nmain\r\n$7\r\nh:1:2:3\r\n");
    sl_ok(t, r && sl_redis_claim_result(r, ch, &len, &owner, &owner_len)
                  == SL_REDIS_CLAIM_BUSY
          && owner_len == 7 && memcmp(owner, "h:1:2:3", 7) == 0,
          "redis claim: busy, with its owner");
    freeReplyObject(r);

    r = sl_resp("*3\r\n:2\r\n$4\r\nmain\r\n$-1\r\n");
    sl_ok(t, r && sl_redis_claim_result(r, ch, &len, &owner, &owner_len)
                  == SL_REDIS_CLAIM_UNAVAILABLE && owner == NULL,
          "redis claim: busy, an owner that is no string");
    freeReplyObject(r);
}


static void
test_redis_state(sl_tap_t *t)
{
    size_t       owner_len;
    redisReply  *r;
    sl_state_t   st;
    const char  *owner;

    static const char  live[] =
        "$56\r\n{\"status\":\"live\",\"updatedAt\":"
        "\"2026-11-26T01:54:26.123Z\"}\r\n";

    r = sl_resp("$-1\r\n");
    sl_ok(t, sl_redis_state_result(r, &st) == SL_OK
          && st.status == SL_STATUS_IDLE && st.updated_ms == -1,
          "redis state: no key, idle");
    freeReplyObject(r);

    r = sl_resp(live);
    sl_ok(t, r && sl_redis_state_result(r, &st) == SL_OK
          && st.status == SL_STATUS_LIVE && st.updated_ms == 1795658066123LL,
          "redis state: live");
    freeReplyObject(r);

    r = sl_resp("$3\r\nabc\r\n");
    sl_ok(t, sl_redis_state_result(r, &st) == SL_DECLINED,
          "redis state: not a state");
    freeReplyObject(r);

    r = sl_resp("*2\r\n$-1\r\n$-1\r\n");
    sl_ok(t, sl_redis_read_result(r, &st, &owner, &owner_len) == SL_OK
          && st.status == SL_STATUS_IDLE && owner == NULL,
          "redis read: no state, no lock");
    freeReplyObject(r);

    r = sl_resp("*2\r\n$56\r\n{\"status\":\"live\",\"updatedAt\":"
                "\"2026-11-26T01:54:26.123Z\"}\r\n$9\r\nh:1:2:3:4\r\n");
    sl_ok(t, sl_redis_read_result(r, &st, &owner, &owner_len) == SL_OK
          && st.status == SL_STATUS_LIVE && owner_len == 9
          && memcmp(owner, "h:1:2:3:4", 9) == 0,
          "redis read: live, with its lock's owner");
    freeReplyObject(r);

    r = sl_resp("*1\r\n$-1\r\n");
    sl_ok(t, sl_redis_read_result(r, &st, &owner, &owner_len) == SL_DECLINED
          && owner == NULL, "redis read: one element");
    freeReplyObject(r);

    r = sl_resp("-LOADING Redis is loading the dataset in memory\r\n");
    sl_ok(t, sl_redis_read_result(r, &st, &owner, &owner_len) == SL_AGAIN,
          "redis read: loading, again later");
    freeReplyObject(r);

    r = sl_resp(":1\r\n");
    sl_ok(t, sl_redis_state_result(r, &st) == SL_DECLINED,
          "redis state: an integer");
    freeReplyObject(r);

    r = sl_resp("-LOADING Redis is loading the dataset in memory\r\n");
    sl_ok(t, sl_redis_state_result(r, &st) == SL_AGAIN,
          "redis state: LOADING, unavailable");
    freeReplyObject(r);

    sl_ok(t, sl_redis_state_result(NULL, &st) == SL_AGAIN,
          "redis state: no reply");
}


static void
test_redis_message(sl_tap_t *t)
{
    size_t         len;
    redisReply    *r;
    sl_state_t     st;
    unsigned char  ch[SL_CHANNEL_MAX + 1];

    static const char  event[] =
        "*3\r\n$7\r\nmessage\r\n$17\r\nstreamline:events\r\n"
        "$74\r\n{\"channel\":\"stu-1\",\"status\":\"idle\","
        "\"updatedAt\":\"2026-11-26T01:54:26.123Z\"}\r\n";

    r = sl_resp("*3\r\n$9\r\nsubscribe\r\n$17\r\nstreamline:events\r\n"
                ":1\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_SUBSCRIBED,
          "redis message: subscribed");
    freeReplyObject(r);

    r = sl_resp(event);
    sl_ok(t, r && sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_STATE
          && len == 5 && strcmp((char *) ch, "stu-1") == 0
          && st.status == SL_STATUS_IDLE && st.updated_ms == 1795658066123LL,
          "redis message: a state event");
    freeReplyObject(r);

    r = sl_resp("*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$2\r\n{}\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_MALFORMED,
          "redis message: not a state event");
    freeReplyObject(r);

    r = sl_resp("*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n:1\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_MALFORMED,
          "redis message: an integer payload");
    freeReplyObject(r);

    r = sl_resp("*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:0\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_OTHER,
          "redis message: unsubscribe ignored");
    freeReplyObject(r);

    r = sl_resp("*2\r\n$7\r\nmessage\r\n$1\r\nx\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_OTHER,
          "redis message: two elements ignored");
    freeReplyObject(r);

    r = sl_resp("-LOADING Redis is loading the dataset in memory\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_OTHER,
          "redis message: an error ignored");
    freeReplyObject(r);

    sl_ok(t, sl_redis_message(NULL, &st, ch, &len) == SL_REDIS_MSG_OTHER,
          "redis message: no reply");
}


/* one reply tree from RESP bytes, through hiredis's reader; NULL if none */

static redisReply *
sl_resp(const char *resp)
{
    void         *reply;
    redisReader  *rd;

    rd = redisReaderCreate();
    if (rd == NULL) {
        return NULL;
    }

    reply = NULL;

    if (redisReaderFeed(rd, resp, strlen(resp)) != REDIS_OK
        || redisReaderGetReply(rd, &reply) != REDIS_OK)
    {
        reply = NULL;
    }

    redisReaderFree(rd);

    return reply;
}


static void
test_owner(sl_tap_t *t)
{
    size_t          len, i;
    sl_owner_t      o, p;
    unsigned char   host[300], buf[SL_OWNER_MAX];

    static const char  *bad[] = {
        "", "host", "host:1:2:3", ":1:2:3:4", "a:b:1:2:3:4", "h:1:2:3:x",
        "h:1:2:3:", "h:1:2::4", "h:-1:2:3:4", "h:1:2:3:4 ",
        "h:1:2:3:123456789012345678901", "h:18446744073709551616:2:3:4",
        "h h:1:2:3:4", "h\x7f:1:2:3:4"
    };

    o.host = (const unsigned char *) "origin-1";
    o.host_len = 8;
    o.pid = 4242;
    o.start = 987654321;

    len = sl_owner_format(buf, &o, 17, 1234567);
    sl_ok(t, len == 34 && strcmp((char *) buf,
                                 "origin-1:4242:987654321:17:1234567") == 0,
          "owner: format");
    sl_ok(t, sl_owner_parse(buf, len, &p) == SL_OK && p.host_len == 8
             && memcmp(p.host, "origin-1", 8) == 0 && p.pid == 4242
             && p.start == 987654321, "owner: parse");

    /* a 63-byte host (the Linux limit) and the largest numbers */
    memset(host, 'h', sizeof(host));
    o.host = host;
    o.host_len = 63;
    o.pid = UINT64_MAX;
    o.start = UINT64_MAX;
    len = sl_owner_format(buf, &o, UINT64_MAX, UINT64_MAX);
    sl_ok(t, len == 63 + 4 * 21 && sl_owner_parse(buf, len, &p) == SL_OK
             && p.host_len == 63 && p.pid == UINT64_MAX,
          "owner: a 63-byte host and 20-digit numbers");

    /* a host beyond any system's limit is cut, the buffer holds it */
    o.host_len = sizeof(host);
    len = sl_owner_format(buf, &o, 1, 2);
    sl_ok(t, len < SL_OWNER_MAX && buf[len] == '\0'
             && sl_owner_parse(buf, len, &p) == SL_OK
             && p.host_len == SL_OWNER_HOST_MAX,
          "owner: a 300-byte host is cut at SL_OWNER_HOST_MAX");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sl_ok(t, sl_owner_parse((const unsigned char *) bad[i],
                                strlen(bad[i]), &p) == SL_ERROR,
              "owner: \"%s\" refused", bad[i]);
    }

    sl_ok(t, sl_owner_parse((const unsigned char *) "h\0h:1:2:3:4", 11, &p)
             == SL_ERROR, "owner: a NUL in the host refused");

    /* the old form (host:pid:conn:msec) has no start: not an owner */
    sl_ok(t, sl_owner_parse(sl_str("origin-1:4242:17:1234567"), &p)
             == SL_ERROR, "owner: the old three-number form refused");
}


static void
test_proc_stat(sl_tap_t *t)
{
    char      state;
    uint64_t  start;

    static const char  stat[] =
        "4242 (nginx) S 1 4242 4242 0 -1 4194624 100 0 0 0 1 2 0 0 20 0 1 0 "
        "98765 123456 789 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 "
        "1 0 0 0 0 0\n";
    static const char  odd[] =
        "77 (a) b (c) d) Z 1 77 77 0 -1 4194624 0 0 0 0 0 0 0 0 20 0 1 0 "
        "5 0 0\n";

    state = 0;
    start = 0;
    sl_ok(t, sl_proc_stat_parse(sl_str(stat), &state, &start) == SL_OK
             && state == 'S' && start == 98765, "proc stat: state, start");
    sl_ok(t, sl_proc_stat_parse(sl_str(odd), &state, &start) == SL_OK
             && state == 'Z' && start == 5,
          "proc stat: a command name with spaces and parentheses");
    sl_ok(t, sl_proc_stat_parse(sl_str("1 (x) S 1 2 3"), &state, &start)
             == SL_ERROR, "proc stat: cut short");
    sl_ok(t, sl_proc_stat_parse(sl_str("1 x S 1 2 3"), &state, &start)
             == SL_ERROR, "proc stat: no command name");
    sl_ok(t, sl_proc_stat_parse(sl_str(""), &state, &start) == SL_ERROR,
          "proc stat: empty");
}
