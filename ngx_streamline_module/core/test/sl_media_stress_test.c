/*
 * Unit tests of the DVR index and the HLS playlists, continued (see
 * sl_media_test.c): random operations, every rendering checked; a writer
 * and a reader thread.
 */


#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_media_test.h"


typedef struct {
    pthread_mutex_t  lock;
    sl_dvr_t        *dvr;
    int              done;
    unsigned         renders;
    unsigned         bad;
    const char      *err;
} sl_shared_t;


static void *sl_writer(void *data);
static void *sl_reader(void *data);


/* random operations; every rendering passes the checker and agrees with
 * the index and with the previous one */

void
test_round_trip(sl_tap_t *t)
{
    int                 ok, mode, first;
    unsigned            r, i, k, renders;
    size_t              n;
    int64_t             part, pdt;
    uint64_t            msn;
    uint32_t            init;
    sl_dvr_t           *dvr;
    sl_text_t           pl;
    const char         *err;
    sl_hls_opts_t       opts;
    sl_dvr_drop_t       drop[4];
    sl_hls_report_t     rep;
    sl_playlist_info_t  info, prev;

    srand(7);

    dvr = sl_new(64, 12, 60000000, 2, 400000);

    ok = 1;
    first = 1;
    renders = 0;
    init = 1;
    pdt = PDT0;
    err = "";

    memset(&prev, 0, sizeof(prev));

    for (i = 0; i < 4000 && ok; i++) {
        r = (unsigned) rand();

        if (!dvr->open) {
            if (r % 17 == 0) {
                sl_dvr_discontinuity(dvr);
            }

            if (r % 29 == 0) {
                init++;
            }

            sl_dvr_segment_start(dvr, (r % 31 == 0) ? -1 : pdt, init,
                                 (r % 5 ? SL_SEG_INDEPENDENT : 0)
                                 | (r % 41 == 0 ? SL_SEG_GAP : 0));
        }

        /* within the targets (2 s, 0.4 s parts), which must not change */

        k = (r >> 8) % 4;

        while (k-- && dvr->cur.duration_us < 2000000) {
            sl_dvr_part_add(dvr, 100000 + rand() % 300001, 500,
                            (dvr->cur.nparts == 0) ? SL_PART_INDEPENDENT : 0);
        }

        if ((r >> 12) % 3 == 0) {
            if (sl_dvr_segment_close(dvr, 500000 + rand() % 1999000, 9000,
                                     &msn) == SL_OK)
            {
                pdt += 2000 + (rand() % 7 == 0 ? 500 : 0);
            }

            while ((n = sl_dvr_trim(dvr, drop, 4)) > 0) { /* void */ }
        }

        for (mode = 0; mode < 4; mode++) {
            memset(&opts, 0, sizeof(opts));
            opts.parts = (mode & 1);
            opts.block = (mode & 1);
            opts.skip = (mode & 2) != 0;
            opts.can_skip_until_us = (mode & 2) ? 12000000 : 0;

            if (mode == 3 && sl_dvr_last(dvr, &rep.last_msn, &rep.last_part)
                             == SL_OK)
            {
                rep.uri = (const unsigned char *) "../low/index.m3u8";
                rep.uri_len = 17;
                opts.reports = &rep;
                opts.nreports = 1;
            }

            pl = sl_render(dvr, &opts);
            renders++;

            if (sl_playlist_check(pl.text, pl.len, &info, &err) != SL_OK) {
                printf("# line %zu: %s\n", info.line, err);
                sl_tap_diag("playlist", pl.text, pl.len);
                ok = 0;
            }

            if (ok && mode == 1) {
                if (sl_dvr_last(dvr, &msn, &part) == SL_OK
                    && (info.last_msn != msn || info.last_part != part))
                {
                    printf("# last %llu.%lld, index %llu.%lld\n",
                           (unsigned long long) info.last_msn,
                           (long long) info.last_part,
                           (unsigned long long) msn, (long long) part);
                    ok = 0;
                }

                if (!first && sl_playlist_check_reload(&prev, &info, &err)
                              != SL_OK)
                {
                    printf("# reload: %s\n", err);
                    ok = 0;
                }

                prev = info;
                first = 0;
            }

            if (ok && info.media_sequence != dvr->first_msn) {
                ok = 0;
            }

            free(pl.text);
        }
    }

    sl_ok(t, ok, "round trip: %u renderings of random operations pass the "
          "checker", renders);

    sl_ok(t, sl_dvr_end(dvr) == SL_OK
          && (pl = sl_render(dvr, &opts), 1)
          && sl_check_ok(t, &pl, &info, "round trip: ended")
          && info.ended, "round trip: ended playlist passes");
    free(pl.text);

    free(dvr);
}


/* a packager thread appends while a worker thread renders, under a lock */

void
test_threads(sl_tap_t *t)
{
    pthread_t    w, r;
    sl_shared_t  sh;

    pthread_mutex_init(&sh.lock, NULL);
    sh.dvr = sl_new(200, 8, 30000000, 1, 250000);
    sh.done = 0;
    sh.renders = 0;
    sh.bad = 0;
    sh.err = "";

    if (pthread_create(&w, NULL, sl_writer, &sh) != 0
        || pthread_create(&r, NULL, sl_reader, &sh) != 0)
    {
        abort();
    }

    pthread_join(w, NULL);
    pthread_join(r, NULL);

    sl_ok(t, sh.bad == 0 && sh.renders > 0,
          "threads: %u renderings during appends, all valid (%s)",
          sh.renders, sh.bad ? sh.err : "ok");

    pthread_mutex_destroy(&sh.lock);
    free(sh.dvr);
}


static void *
sl_writer(void *data)
{
    int           i, j, more;
    sl_shared_t  *sh;

    sh = data;
    more = 1;

    /* until the reader has seen enough, whichever thread runs first */

    for (i = 0; more; i++) {
        pthread_mutex_lock(&sh->lock);
        sl_dvr_segment_start(sh->dvr, PDT0 + 1000 * i, 1, SL_SEG_INDEPENDENT);
        pthread_mutex_unlock(&sh->lock);

        for (j = 0; j < 4; j++) {
            pthread_mutex_lock(&sh->lock);
            sl_dvr_part_add(sh->dvr, 250000, 100,
                            j == 0 ? SL_PART_INDEPENDENT : 0);
            pthread_mutex_unlock(&sh->lock);
        }

        pthread_mutex_lock(&sh->lock);
        sl_dvr_segment_close(sh->dvr, 0, 0, NULL);
        while (sl_dvr_trim(sh->dvr, (sl_dvr_drop_t[4]) { { 0 } }, 4)) {
            /* void */
        }
        more = (sh->renders < 1000 && i < 1000000) || i < 1000;
        pthread_mutex_unlock(&sh->lock);
    }

    pthread_mutex_lock(&sh->lock);
    sl_dvr_end(sh->dvr);
    sh->done = 1;
    pthread_mutex_unlock(&sh->lock);

    return NULL;
}


static void *
sl_reader(void *data)
{
    int                 done, first;
    size_t              n, size;
    sl_shared_t        *sh;
    const char         *err;
    unsigned char      *buf, *p;
    sl_hls_opts_t       opts;
    sl_playlist_info_t  info, prev;

    sh = data;
    size = 256;
    buf = malloc(size);
    first = 1;
    done = 0;

    memset(&opts, 0, sizeof(opts));
    opts.parts = 1;
    opts.block = 1;

    while (buf != NULL && !done) {
        pthread_mutex_lock(&sh->lock);
        n = sl_hls_media_playlist(sh->dvr, &opts, buf, size);
        done = sh->done;

        if (n <= size) {
            sh->renders++;
        }

        pthread_mutex_unlock(&sh->lock);

        if (n > size) {
            /* the lock is released meanwhile: grow with some slack */
            size = n + n / 4;
            p = realloc(buf, size);
            if (p == NULL) {
                break;
            }

            buf = p;
            done = 0;
            continue;
        }

        if (sl_playlist_check(buf, n, &info, &err) != SL_OK
            || (!first && sl_playlist_check_reload(&prev, &info, &err)
                          != SL_OK))
        {
            sh->bad++;
            sh->err = err;
        }

        prev = info;
        first = 0;
    }

    if (buf == NULL) {
        sh->bad++;
        sh->err = "out of memory";
    }

    free(buf);

    return NULL;
}
