
/*
 * Streamline core tests: timed metadata (sl_meta.c) and its
 * EXT-X-DATERANGE tags in the media playlists (sl_playlist.c).
 */


#include <stdlib.h>
#include <string.h>

#include "sl_media_test.h"
#include "sl_meta.h"


#define S(s)  (const unsigned char *) s, sizeof(s) - 1


static void
test_meta_parse(sl_tap_t *t)
{
    size_t                len;
    const unsigned char  *p;

    sl_ok(t, sl_meta_path(S("/main/metadata"), &p, &len) == SL_OK
          && len == 4 && memcmp(p, "main", 4) == 0,
          "meta: /main/metadata names main");
    sl_ok(t, sl_meta_path(S("/metadata"), &p, &len) == SL_DECLINED
          && sl_meta_path(S(""), &p, &len) == SL_DECLINED
          && sl_meta_path(S("/main"), &p, &len) == SL_DECLINED
          && sl_meta_path(S("/main/metadatax"), &p, &len) == SL_DECLINED,
          "meta: other paths are the state API's");
    sl_ok(t, sl_meta_path(S("/a/b/metadata"), &p, &len) == SL_ERROR
          && sl_meta_path(S("//metadata"), &p, &len) == SL_DECLINED
          && sl_meta_path(S("/a%20/metadata"), &p, &len) == SL_ERROR,
          "meta: a bad channel is an error");

    sl_ok(t, sl_meta_bearer(S("Bearer abcdefgh1234"), &p, &len) == SL_OK
          && len == 12 && memcmp(p, "abcdefgh1234", 12) == 0
          && sl_meta_bearer(S("bearer  abcdefgh1234 "), &p, &len) == SL_OK
          && len == 12,
          "meta: Bearer token, scheme in any case");
    sl_ok(t, sl_meta_bearer(S("Basic abcdefgh1234"), &p, &len) == SL_ERROR
          && sl_meta_bearer(S("Bearer "), &p, &len) == SL_ERROR
          && sl_meta_bearer(S("Bearer short"), &p, &len) == SL_ERROR
          && sl_meta_bearer(S("Bearer abc defgh1234"), &p, &len) == SL_ERROR
          && sl_meta_bearer(S("Bearerabcdefgh1234"), &p, &len) == SL_ERROR,
          "meta: other schemes and bad tokens refused");

    sl_ok(t, !sl_meta_body_valid(0) && sl_meta_body_valid(1)
          && sl_meta_body_valid(1024) && !sl_meta_body_valid(1025),
          "meta: a body of 1 to 1024 bytes");

    sl_ok(t, sl_meta_start(5100, 5000, 250) == 5100
          && sl_meta_start(4900, 5000, 250) == 5000
          && sl_meta_start(5400, 5000, 250) == 5249
          && sl_meta_start(5400, -1, 250) == 5400,
          "meta: START-DATE within the part being written");
}


static void
test_meta_ring(sl_tap_t *t)
{
    int              i, ok;
    char             id[SL_META_ID_MAX], first[SL_META_ID_MAX];
    size_t           n;
    sl_meta_ring_t  *m;
    sl_meta_entry_t *copy;
    unsigned char    body[SL_META_BODY_MAX];

    m = malloc(sizeof(sl_meta_ring_t));
    copy = malloc(SL_META_ENTRIES * sizeof(sl_meta_entry_t));
    if (m == NULL || copy == NULL) {
        abort();
    }

    sl_meta_ring_init(m, S("main"));

    /* 20 in one second: 5 accepted; a second later, 5 more */
    for (i = 0, n = 0; i < 20; i++) {
        n += sl_meta_rate(m, PDT0 + i * 10) == SL_OK;
    }

    sl_ok(t, n == 5, "meta: 5 of 20 POSTs in 200 ms accepted (%zu)", n);

    sl_ok(t, sl_meta_rate(m, PDT0 + 999) == SL_DECLINED
          && sl_meta_rate(m, PDT0 + 1000) == SL_OK
          && sl_meta_rate(m, PDT0 + 1005) == SL_DECLINED
          && sl_meta_rate(m, PDT0 + 1010) == SL_OK,
          "meta: at most 5 in any second");

    sl_ok(t, sl_meta_add(m, PDT0, PDT0, S("\x00\"\n\xff"), id) == SL_OK
          && strcmp(id, "1700000000000-0") == 0,
          "meta: ID %s", id);

    n = sl_meta_copy(m, copy);
    sl_ok(t, n == 1 && copy[0].start_ms == PDT0
          && copy[0].len == strlen((char *) "#EXT-X-DATERANGE:ID=\"1700000000000-0\","
                                   "CLASS=\"com.streamline.metadata\","
                                   "START-DATE=\"2023-11-14T22:13:20.000Z\","
                                   "X-STREAMLINE-DATA=0x00220aff\n")
          && memcmp(copy[0].tag, "#EXT-X-DATERANGE:ID=\"1700000000000-0\","
                    "CLASS=\"com.streamline.metadata\","
                    "START-DATE=\"2023-11-14T22:13:20.000Z\","
                    "X-STREAMLINE-DATA=0x00220aff\n", copy[0].len) == 0,
          "meta: the tag, any bytes in hex");

    sl_ok(t, sl_meta_add(m, PDT0, PDT0, body, 0, id) == SL_ERROR
          && sl_meta_add(m, PDT0, PDT0, body, 1025, id) == SL_ERROR,
          "meta: empty and oversize bodies refused");

    memset(body, 0xab, sizeof(body));
    strcpy(first, "1700000000000-0");

    for (i = 1, ok = 1; i <= SL_META_ENTRIES + 10; i++) {
        ok &= sl_meta_add(m, PDT0 + i, PDT0 + i, body, sizeof(body), id)
              == SL_OK;
    }

    n = sl_meta_copy(m, copy);
    sl_ok(t, ok && n == SL_META_ENTRIES
          && copy[0].start_ms == PDT0 + 11
          && copy[n - 1].start_ms == PDT0 + SL_META_ENTRIES + 10
          && copy[n - 1].len <= SL_META_TAG_MAX
          && copy[n - 1].tag[copy[n - 1].len - 1] == '\n',
          "meta: %d kept, the oldest dropped, a 1 KB body fits",
          SL_META_ENTRIES);
    sl_ok(t, strcmp(id, first) != 0 && m->seq == SL_META_ENTRIES + 11,
          "meta: IDs never repeat");

    free(m);
    free(copy);
}


static void
test_meta_playlist(sl_tap_t *t)
{
    int                  i;
    char                 id[SL_META_ID_MAX];
    size_t               n;
    sl_dvr_t            *dvr;
    sl_text_t            full, delta;
    sl_meta_ring_t      *m;
    sl_hls_opts_t        opts;
    sl_meta_entry_t     *copy;
    sl_playlist_info_t   fi, di;
    sl_dvr_drop_t        drop[64];
    sl_hls_daterange_t   dr[SL_META_ENTRIES];

    m = malloc(sizeof(sl_meta_ring_t));
    copy = malloc(SL_META_ENTRIES * sizeof(sl_meta_entry_t));
    if (m == NULL || copy == NULL) {
        abort();
    }

    sl_meta_ring_init(m, S("main"));

    /* a window of 20 s: 30 segments of 2 s, the first 10 trimmed */
    dvr = sl_new(100, 4, 20000000, 2, 500000);

    for (i = 0; i < 30; i++) {
        sl_seg(dvr, 0, 4, PDT0 + 2000 * i, 1, SL_SEG_INDEPENDENT);
    }

    while (sl_dvr_trim(dvr, drop, 64) == 64) { /* void */ }

    /* one before the window, one in its skipped part, one at the end */
    (void) sl_meta_add(m, PDT0 + 1000, PDT0, S("old"), id);
    (void) sl_meta_add(m, PDT0 + 2000 * 20 + 300, PDT0, S("skipped"), id);
    (void) sl_meta_add(m, PDT0 + 2000 * 30 - 100, PDT0, S("{\"a\":1}"), id);

    n = sl_meta_dateranges(copy, sl_meta_copy(m, copy), dr);

    memset(&opts, 0, sizeof(opts));
    opts.parts = 1;
    opts.block = 1;
    opts.can_skip_until_us = 12000000;
    opts.dateranges = dr;
    opts.ndateranges = n;

    full = sl_render(dvr, &opts);
    sl_check_ok(t, &full, &fi, "meta: full playlist");

    opts.skip = 1;
    delta = sl_render(dvr, &opts);
    sl_check_ok(t, &delta, &di, "meta: delta update");

    sl_ok(t, n == 3 && fi.dateranges == 2 && di.dateranges == 2
          && di.skipped > 0
          && sl_count(&full, "X-STREAMLINE-DATA=0x6f6c64") == 0
          && sl_count(&full, "X-STREAMLINE-DATA=0x736b6970706564\n") == 1
          && sl_count(&delta, "X-STREAMLINE-DATA=0x736b6970706564\n") == 1
          && sl_count(&delta, "X-STREAMLINE-DATA=0x7b2261223a317d\n") == 1,
          "meta: the window's tags in full and delta playlists, not older");
    sl_ok(t, strstr((char *) full.text, "#EXT-X-MEDIA-SEQUENCE:")
             < strstr((char *) full.text, "#EXT-X-DATERANGE:")
          && strstr((char *) full.text, "#EXT-X-DATERANGE:")
             < strstr((char *) full.text, "#EXTINF:")
          && strstr((char *) delta.text, "#EXT-X-SKIP:")
             < strstr((char *) delta.text, "#EXT-X-DATERANGE:"),
          "meta: tags before the first segment listed");
    sl_ok(t, strstr((char *) full.text, "CAN-SKIP-DATERANGES") == NULL,
          "meta: no CAN-SKIP-DATERANGES: delta updates keep them all");

    free(full.text);
    free(delta.text);

    /* no PDT: no tag (RFC 8216bis) */
    free(dvr);
    dvr = sl_new(100, 4, HOUR_US, 2, 500000);
    sl_seg(dvr, 0, 4, -1, 1, SL_SEG_INDEPENDENT);
    opts.skip = 0;
    full = sl_render(dvr, &opts);
    sl_check_ok(t, &full, &fi, "meta: no PDT");
    sl_ok(t, fi.dateranges == 0, "meta: no tag without a date");
    free(full.text);
    free(dvr);

    free(m);
    free(copy);
}


void
test_meta(sl_tap_t *t)
{
    test_meta_parse(t);
    test_meta_ring(t);
    test_meta_playlist(t);
}
