/*
 * Unit tests: the live viewer count's per-worker sets, ids and keys
 * (sl_viewers.c).
 */

#include <stdio.h>
#include <string.h>

#include "sl_core_test.h"
#include "sl_viewers.h"


void
test_viewers(sl_tap_t *t)
{
    int                   rc;
    size_t                i, n, len;
    uint64_t              a, b;
    const unsigned char  *ch;
    unsigned char         hex[SL_VIEWER_ID_HEX + 1], key[64], name[8];

    static sl_viewers_t   v;

    /* ids: deterministic, distinct, never 0, and no address in them */
    a = sl_viewer_id(sl_str("192.0.2.1"));
    b = sl_viewer_id(sl_str("192.0.2.2"));
    sl_ok(t, a != 0 && a == sl_viewer_id(sl_str("192.0.2.1")) && a != b,
          "viewer id: the same address, the same id; another, another");

    sl_viewer_id_hex(0x0123456789abcdefULL, hex);
    hex[SL_VIEWER_ID_HEX] = '\0';
    sl_ok(t, strcmp((char *) hex, "0123456789abcdef") == 0,
          "viewer id: 16 lowercase hex digits");

    /* the SHA-256 of "192.0.2.1" begins with these 64 bits */
    sl_viewer_id_hex(a, hex);
    sl_ok(t, memcmp(hex, "37fcff24bf62035b", SL_VIEWER_ID_HEX) == 0,
          "viewer id: the first 64 bits of the address's SHA-256");

    /* sets: one entry a viewer, whatever the requests */
    sl_viewers_init(&v);
    sl_ok(t, sl_viewers_add(&v, sl_str("main"), a) == SL_OK
          && sl_viewers_add(&v, sl_str("main"), a) == SL_OK
          && sl_viewers_add(&v, sl_str("main"), b) == SL_OK
          && sl_viewers_add(&v, sl_str("other"), a) == SL_OK
          && v.used == 2 && v.channels[0].n == 2 && v.channels[1].n == 1,
          "viewers: distinct per channel");

    sl_ok(t, sl_viewers_add(&v, sl_str("a.b"), a) == SL_ERROR
          && sl_viewers_add(&v, sl_str("main"), 0) == SL_ERROR,
          "viewers: no bad channel name, no id 0");

    /* a full set: three quarters asks for a hand-over, then no room */
    sl_viewers_clear(&v);
    sl_ok(t, v.used == 0, "viewers: clear empties every set");

    n = 0;
    rc = SL_OK;

    for (i = 1; i <= SL_VIEWERS_SET; i++) {
        /* ids that all fall on one place: the probing is worst here */
        rc = sl_viewers_add(&v, sl_str("main"), i * SL_VIEWERS_SET);
        if (rc == SL_AGAIN && n == 0) {
            n = i;
        }
    }

    sl_ok(t, n == SL_VIEWERS_SET / 4 * 3 && rc == SL_AGAIN
          && v.channels[0].n == SL_VIEWERS_SET,
          "viewers: a hand-over asked for at 3/4 (at %zu)", n);
    sl_ok(t, sl_viewers_add(&v, sl_str("main"), 7) == SL_DECLINED
          && v.dropped == 1
          && sl_viewers_add(&v, sl_str("main"), SL_VIEWERS_SET) == SL_OK,
          "viewers: a full set drops a new viewer (counted), not an old one");

    sl_viewers_clear(&v);

    for (i = 0; i < SL_VIEWERS_CHANNELS; i++) {
        len = (size_t) snprintf((char *) name, sizeof(name), "c%zu", i);
        (void) sl_viewers_add(&v, name, len, 5);
    }

    sl_ok(t, v.used == SL_VIEWERS_CHANNELS
          && sl_viewers_add(&v, sl_str("more"), 5) == SL_DECLINED
          && v.dropped == 2,
          "viewers: %d channels a second at most", SL_VIEWERS_CHANNELS);

    /* buckets and keys */
    sl_ok(t, sl_viewers_bucket(1795658069999LL) == 179565806
          && sl_viewers_bucket(1795658070000LL) == 179565807
          && sl_viewers_bucket(-5) == 0,
          "viewers: 10 s buckets");

    len = sl_viewers_key(key, sizeof(key), sl_str("streamline:"),
                         sl_str("main"), 179565807);
    sl_ok(t, len == strlen("streamline:viewers:main:179565807")
          && strcmp((char *) key, "streamline:viewers:main:179565807") == 0,
          "viewers: the key of a channel's bucket");
    sl_ok(t, sl_viewers_key(key, 20, sl_str("streamline:"), sl_str("main"),
                            179565807) == 0,
          "viewers: a key that does not fit is not cut");

    /* the channel of an HLS path */
    sl_ok(t, sl_viewers_path_channel(sl_str("/main/source/index.m3u8"), &ch,
                                     &len) == SL_OK
          && len == 4 && memcmp(ch, "main", 4) == 0,
          "viewers: the channel of /main/source/index.m3u8");
    sl_ok(t, sl_viewers_path_channel(sl_str("/main"), &ch, &len) == SL_OK
          && len == 4,
          "viewers: /main");
    sl_ok(t, sl_viewers_path_channel(sl_str("/"), &ch, &len) == SL_DECLINED
          && sl_viewers_path_channel(sl_str("//x"), &ch, &len) == SL_DECLINED
          && sl_viewers_path_channel(sl_str("/a.b/x"), &ch, &len)
             == SL_DECLINED
          && sl_viewers_path_channel(sl_str("main/x"), &ch, &len)
             == SL_DECLINED,
          "viewers: no channel in /, //x, /a.b/x, main/x");
}
