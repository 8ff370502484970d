/*
 * The unit tests of the DVR index and the HLS playlists, one program:
 * sl_media_test.c runs them, in its order, and the sl_media_*_test.c files
 * hold them by concern, with the helpers of sl_media_test_util.c.
 */

#ifndef SL_MEDIA_TEST_H
#define SL_MEDIA_TEST_H

#include "sl_media.h"
#include "sl_playlist_check.h"
#include "sl_tap.h"


typedef struct {
    unsigned char  *text;
    size_t          len;
} sl_text_t;


#define PDT0      1700000000000LL              /* 2023-11-14T22:13:20Z */
#define PDT0_ISO  "2023-11-14T22:13:20"
#define HOUR_US   3600000000ULL
#define CANARY    0xa5


/* sl_media_playlist_test.c */
void test_plain(sl_tap_t *t);
void test_discontinuity(sl_tap_t *t);
void test_pdt(sl_tap_t *t);
void test_end(sl_tap_t *t);
void test_small_buffer(sl_tap_t *t);
void test_master(sl_tap_t *t);

/* sl_media_ll_test.c */
void test_ll(sl_tap_t *t);
void test_skip(sl_tap_t *t);
void test_parts_window(sl_tap_t *t);
void test_raise(sl_tap_t *t);
void test_hls_request(sl_tap_t *t);

/* sl_media_copy_test.c */
void test_relocate(sl_tap_t *t);
void test_copy(sl_tap_t *t);

/* sl_media_stress_test.c */
void test_round_trip(sl_tap_t *t);
void test_threads(sl_tap_t *t);

/* sl_media_preview_test.c */
void test_previews(sl_tap_t *t);

/* sl_media_meta_test.c */
void test_meta(sl_tap_t *t);

/* sl_media_test_util.c */
sl_dvr_t *sl_new(uint32_t max_segments, uint32_t max_parts,
    uint64_t window_us, uint32_t target, uint32_t part_target_us);
int sl_canary_ok(sl_dvr_t *dvr);
void sl_seg(sl_dvr_t *dvr, uint32_t duration_us, unsigned nparts,
    int64_t pdt_ms, uint32_t init_id, unsigned flags);
sl_text_t sl_render(const sl_dvr_t *dvr, const sl_hls_opts_t *opts);
int sl_check_ok(sl_tap_t *t, sl_text_t *pl, sl_playlist_info_t *info,
    const char *name);
size_t sl_count(sl_text_t *pl, const char *needle);
double sl_now(void);


#endif /* SL_MEDIA_TEST_H */
