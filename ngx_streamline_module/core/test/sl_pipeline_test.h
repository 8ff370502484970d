/*
 * The unit tests of the media pipeline as a whole (sl_pipeline_test.c,
 * sl_pipeline_faults_test.c) share a recorder of what the pipeline
 * reports, an H.264 source made with libx264, and the helpers in
 * sl_pipeline_test_util.c.
 */

#ifndef SL_PIPELINE_TEST_H
#define SL_PIPELINE_TEST_H

#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>

#include <libavcodec/avcodec.h>

#include "sl_core.h"
#include "sl_media.h"
#include "sl_playlist_check.h"
#include "sl_pipeline.h"
#include "sl_tap.h"
#include "sl_test_files.h"


#define MAX_SEGS  256
#define MAX_LOGS  256

typedef struct {
    char            rendition[16];
    uint64_t        msn;
    int64_t         duration_us;
    uint64_t        bytes;
    unsigned        lost;
    size_t          nparts;
    int64_t         part_max_us;
    unsigned        independent;     /* parts[0] */
    unsigned        names_ahead;     /* the names file was beyond msn */
} seg_t;

typedef struct {
    pthread_mutex_t   lock;
    seg_t             segs[MAX_SEGS];
    size_t            nsegs;
    uint64_t          seen;            /* segments, past MAX_SEGS too */
    char              logs[MAX_LOGS][512];
    size_t            nlogs;
    const char       *names;
    uint64_t          first_msn;
    int64_t           max_lag_ms;      /* 0: none */

    /* on_segment of the source: limits set and lifted by msn */
    int               faults;

    /* on_part blocks while this is set (of block_rendition only, if set) */
    int               block;
    const char       *block_rendition;
    int               blocked;
    pthread_cond_t    cond;
} rec_t;

typedef struct {
    AVCodecContext   *ctx;
    AVFrame          *frame;
    AVPacket         *pkt;
    int64_t           n;
    int               flat;            /* luma of every pixel, -1: a pattern */
    uint8_t           avcc[1024];
    size_t            avcc_len;
    uint8_t         **capture;         /* gen_encode() */
    int               real_clock;      /* wallclock_ms: now, not fixed */
    int64_t           clock_ms;        /* less this (came in earlier) */
    size_t           *capture_len;
} gen_t;


/* sl_pipeline_faults_test.c */
void test_write_errors(sl_tap_t *t);
void test_bounds(sl_tap_t *t);
void test_names(sl_tap_t *t);
void test_long_run(sl_tap_t *t);

/* sl_pipeline_test_util.c */
extern const uint8_t  asc[2];

sl_pipeline_t *start(rec_t *rec, const char *dir, const sl_rung_t *rungs,
    size_t nrungs, int64_t segment_ms, int64_t part_ms);
void on_part(void *data, const sl_segment_info_t *seg);
void on_segment(void *data, const sl_segment_info_t *seg);
void on_log(void *data, int error, const char *msg);
size_t count_logs(rec_t *rec, const char *needle);
void fault(int resource, rlim_t cur);
int gen_open(gen_t *g, int w, int h, int gop, int global);
int gen_open_fmt(gen_t *g, int w, int h, int gop, int global,
    enum AVPixelFormat fmt);
void gen_close(gen_t *g);
int gen_push(gen_t *g, sl_pipeline_t *p, int64_t ms);
int gen_encode(gen_t *g, int64_t ms, uint8_t **out, size_t *out_len);
void push_audio(sl_pipeline_t *p, int64_t ms);
size_t annexb_to_avcc(const uint8_t *in, size_t len, uint8_t *out,
    size_t size);
int last_luma(const char *dir, const char *rendition, unsigned init_id,
    uint64_t msn);

#endif /* SL_PIPELINE_TEST_H */
