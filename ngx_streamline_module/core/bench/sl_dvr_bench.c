
/*
 * Micro benchmark of the DVR index and its playlists at a full 4-hour
 * window of 2 s segments: the cost of an append with its trim, of
 * rendering, of the copy of the window that a worker renders from (what
 * it holds the zone's lock for) and of checking.
 *
 *   make -C ngx_streamline_module/core bench BUILD_DIR=/abs/dir
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_media.h"
#include "sl_playlist_check.h"


#define SEGMENTS   7201                  /* 4 h of 2 s, and the straddler */
#define PARTS      4                     /* 0.5 s parts */
#define MAX_PARTS  16
#define WINDOW_US  (4 * 3600 * 1000000ULL)
#define PDT0       1700000000000LL
#define APPENDS    1000000


static sl_dvr_t *bench_new(void);
static void bench_segment(sl_dvr_t *dvr, uint64_t i, unsigned parts);
static double bench_render(sl_dvr_t *dvr, const sl_hls_opts_t *opts,
    size_t *len, unsigned char **text);
static void bench_lock(sl_dvr_t *dvr, const sl_hls_opts_t *opts);
static double bench_now(void);


int
main(void)
{
    size_t              len, plain_len, size;
    double              t0, t1, plain_ns, ll_ns, ns;
    uint64_t            i;
    sl_dvr_t           *dvr;
    const char         *err;
    unsigned char      *text;
    sl_hls_opts_t       opts;
    sl_dvr_drop_t       drop[8];
    sl_playlist_info_t  info;

    size = sl_dvr_size(SEGMENTS, MAX_PARTS);

    printf("DVR index, 4-hour window of 2 s segments (%u held)\n\n",
           SEGMENTS);
    printf("  memory per rendition   %zu bytes (%.1f KB) with up to %u "
           "parts a segment\n", size, size / 1024.0, MAX_PARTS);
    printf("                         %zu bytes with up to 64, %zu with "
           "none\n", sl_dvr_size(SEGMENTS, 64), sl_dvr_size(SEGMENTS, 0));

    /* appends into a full window: every close drops one segment */

    dvr = bench_new();

    for (i = 0; i < SEGMENTS; i++) {
        bench_segment(dvr, i, PARTS);
        while (sl_dvr_trim(dvr, drop, 8)) { /* void */ }
    }

    t0 = bench_now();

    for (i = SEGMENTS; i < SEGMENTS + APPENDS; i++) {
        bench_segment(dvr, i, PARTS);
        while (sl_dvr_trim(dvr, drop, 8)) { /* void */ }
    }

    t1 = bench_now();
    ll_ns = (t1 - t0) * 1e9 / APPENDS;

    if (dvr->next_msn - dvr->first_msn != SEGMENTS) {
        fprintf(stderr, "window not full\n");
        return 1;
    }

    t0 = bench_now();

    for (i = SEGMENTS + APPENDS; i < SEGMENTS + 2 * APPENDS; i++) {
        bench_segment(dvr, i, 0);
        while (sl_dvr_trim(dvr, drop, 8)) { /* void */ }
    }

    t1 = bench_now();
    plain_ns = (t1 - t0) * 1e9 / APPENDS;

    printf("\nappend at a full window (%u appends each, trim included)\n\n",
           APPENDS);
    printf("  segment of %u parts     %.0f ns (start + %u parts + close + "
           "trim)\n", PARTS, ll_ns, PARTS);
    printf("  segment without parts  %.0f ns\n", plain_ns);

    free(dvr);

    /* the parts of the last ones matter for LL-HLS: rebuild with parts */

    dvr = bench_new();

    for (i = 0; i < SEGMENTS + 100; i++) {
        bench_segment(dvr, i, PARTS);
        while (sl_dvr_trim(dvr, drop, 8)) { /* void */ }
    }

    sl_dvr_segment_start(dvr, PDT0 + 2000 * (int64_t) i, 1,
                         SL_SEG_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 40000, SL_PART_INDEPENDENT);

    printf("\nrender the media playlist, median of 51\n\n");

    memset(&opts, 0, sizeof(opts));
    ns = bench_render(dvr, &opts, &len, &text);
    printf("  plain                  %7.1f us  %7zu bytes  %.1f ns a "
           "segment\n", ns / 1000, len, ns / SEGMENTS);

    plain_len = len;

    t0 = bench_now();

    for (i = 0; i < 20; i++) {
        if (sl_playlist_check(text, len, &info, &err) != SL_OK
            || info.segments != SEGMENTS)
        {
            fprintf(stderr, "checker: line %zu: %s\n", info.line, err);
            return 1;
        }
    }

    t1 = bench_now();
    free(text);

    opts.parts = 1;
    opts.block = 1;
    opts.can_skip_until_us = 24000000;
    ns = bench_render(dvr, &opts, &len, &text);
    printf("  LL-HLS (parts, hint)   %7.1f us  %7zu bytes\n", ns / 1000, len);
    free(text);

    opts.skip = 1;
    ns = bench_render(dvr, &opts, &len, &text);
    printf("  LL-HLS delta (skip)    %7.1f us  %7zu bytes\n", ns / 1000, len);
    free(text);

    printf("\nzone lock held by a playlist request, median of 51: before "
           "issue 9 the\nplaylist was rendered under it (a pass into 16 KB, "
           "then the whole), now\nthe window is copied under it and "
           "rendered after; a delta update is still\nrendered under it "
           "(it lists 6 target durations, whatever the window)\n\n");

    opts.skip = 0;
    bench_lock(dvr, &opts);

    printf("\nchecker on the plain playlist: %.1f us (%.0f MB/s)\n",
           (t1 - t0) * 1e6 / 20, 20 * (double) plain_len / (t1 - t0) / 1e6);

    free(dvr);

    return 0;
}


static sl_dvr_t *
bench_new(void)
{
    size_t           size;
    void            *block;
    sl_dvr_t        *dvr;
    sl_dvr_params_t  p;

    memset(&p, 0, sizeof(p));
    p.max_segments = SEGMENTS;
    p.max_parts = MAX_PARTS;
    p.window_us = WINDOW_US;
    p.target_duration = 2;
    p.part_target_us = 500000;

    size = sl_dvr_size(SEGMENTS, MAX_PARTS);

    block = malloc(size);
    if (block == NULL) {
        abort();
    }

    dvr = sl_dvr_init(block, size, &p);
    if (dvr == NULL) {
        abort();
    }

    return dvr;
}


static void
bench_segment(sl_dvr_t *dvr, uint64_t i, unsigned parts)
{
    unsigned  j;

    if (sl_dvr_segment_start(dvr, PDT0 + 2000 * (int64_t) i, 1,
                             SL_SEG_INDEPENDENT) != SL_OK)
    {
        abort();
    }

    for (j = 0; j < parts; j++) {
        sl_dvr_part_add(dvr, 500000, 40000, j == 0 ? SL_PART_INDEPENDENT : 0);
    }

    if (sl_dvr_segment_close(dvr, 2000000, 160000, NULL) != SL_OK) {
        abort();
    }
}


static int
bench_cmp(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return (x > y) - (x < y);
}


/* the median time (ns) of rendering into a buffer of the right size */

static double
bench_render(sl_dvr_t *dvr, const sl_hls_opts_t *opts, size_t *len,
    unsigned char **text)
{
    int             i;
    size_t          n;
    double          t0, runs[51];
    unsigned char  *buf;

    n = sl_hls_media_playlist(dvr, opts, NULL, 0);

    buf = malloc(n);
    if (buf == NULL) {
        abort();
    }

    for (i = 0; i < 51; i++) {
        t0 = bench_now();

        if (sl_hls_media_playlist(dvr, opts, buf, n) != n) {
            abort();
        }

        runs[i] = (bench_now() - t0) * 1e9;
    }

    qsort(runs, 51, sizeof(double), bench_cmp);

    *len = n;
    *text = buf;

    return runs[25];
}


/*
 * The zone's lock held by a full playlist request: before issue 9, the
 * glue rendered under the lock (a first pass into 16 KB, then the
 * playlist again); now it copies the window (sl_dvr_copy) into a buffer
 * it keeps, and renders after unlocking.
 */
static void
bench_lock(sl_dvr_t *dvr, const sl_hls_opts_t *opts)
{
    int             i;
    size_t          n, size;
    double          t0, before[51], after[51];
    unsigned char  *buf, *block;

    n = sl_hls_media_playlist(dvr, opts, NULL, 0);
    size = sl_dvr_copy_size(dvr);

    buf = malloc(n);
    block = malloc(size);

    if (buf == NULL || block == NULL) {
        abort();
    }

    memset(buf, 0, n);
    memset(block, 0, size);

    for (i = 0; i < 51; i++) {
        t0 = bench_now();

        if (sl_hls_media_playlist(dvr, opts, buf, 16384) != n
            || sl_hls_media_playlist(dvr, opts, buf, n) != n)
        {
            abort();
        }

        before[i] = (bench_now() - t0) * 1e9;

        t0 = bench_now();

        if (sl_dvr_copy(dvr, block, size) == NULL) {
            abort();
        }

        after[i] = (bench_now() - t0) * 1e9;
    }

    qsort(before, 51, sizeof(double), bench_cmp);
    qsort(after, 51, sizeof(double), bench_cmp);

    printf("  full LL-HLS playlist   before %7.1f us  now %5.1f us (%zu "
           "bytes copied)\n", before[25] / 1000, after[25] / 1000, size);

    free(buf);
    free(block);
}


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}
