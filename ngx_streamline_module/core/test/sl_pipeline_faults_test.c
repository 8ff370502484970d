
/*
 * Unit tests of the media pipeline as a whole, continued (see
 * sl_pipeline_test.c): write errors, bounds, names, hours of streaming.
 */


/* usleep() */
#define _GNU_SOURCE

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_pipeline_test.h"

#if defined(__SANITIZE_ADDRESS__)
/* <sanitizer/allocator_interface.h>, which not every compiler ships */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif


static long long heap_in_use(void);


/*
 * Files cannot grow (EFBIG, as ENOSPC would) for three segments, then no
 * descriptor can be opened (EMFILE) for three: the segments are reported
 * lost, numbers stay in step, the log says it once an episode, and the
 * segments after each are whole again.
 */
void
test_write_errors(sl_tap_t *t)
{
    int                   ok_seq, frames;
    char                 *dir, names[4200];
    gen_t                 g;
    size_t                i, lost, good_after, nsrc;
    int64_t               ms;
    uint64_t              next, last_lost;
    rec_t                 rec;
    seg_t                *s;
    sl_pipeline_t        *p;
    sl_pipeline_stats_t   st;

    static const sl_rung_t  rungs[] = {
        { "low", 96, 54, 100, "ultrafast", "baseline" },
    };

    dir = sl_test_tmp_dir("sl_pipeline_test");
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);
    snprintf(names, sizeof(names), "%s.names", dir);
    rec.names = names;
    rec.first_msn = 500;
    rec.faults = 1;

    if (gen_open(&g, 160, 90, 30, 1) != 0) {
        sl_ok(t, 0, "write errors: libx264 encoder");
        return;
    }

    p = start(&rec, dir, rungs, 1, 1000, 250);
    sl_pipeline_video_header(p, g.avcc, g.avcc_len, 160, 90, 30);
    sl_pipeline_audio_header(p, asc, sizeof(asc), 48000, 2);

    for (ms = 0; ms < 20000; ms++) {
        if (ms == 0 || ms * 30 / 1000 != (ms - 1) * 30 / 1000) {
            gen_push(&g, p, ms);
        }

        if (ms % 21 == 0) {
            push_audio(p, ms);
        }

        if (ms % 500 == 0) {
            /* real time, a little faster: the faults hit the rung too */
            usleep(20000);
        }
    }

    sl_pipeline_stats(p, &st);
    sl_pipeline_stop(p);
    gen_close(&g);

    fault(RLIMIT_FSIZE, RLIM_INFINITY);
    fault(RLIMIT_NOFILE, 1024);

    ok_seq = 1;
    next = 500;
    lost = 0;
    last_lost = 0;
    nsrc = 0;

    for (i = 0; i < rec.nsegs; i++) {
        s = &rec.segs[i];

        if (strcmp(s->rendition, "source") != 0) {
            continue;
        }

        nsrc++;

        if (s->msn != next++) {
            ok_seq = 0;
        }

        if (s->lost) {
            lost++;
            last_lost = s->msn;
        }
    }

    sl_ok(t, nsrc >= 18 && ok_seq,
          "write errors: %zu source segments, each number once, in order",
          nsrc);
    sl_ok(t, lost >= 4 && lost <= 8, "write errors: %zu segments lost",
          lost);

    good_after = 0;
    frames = 0;

    for (i = 0; i < rec.nsegs; i++) {
        s = &rec.segs[i];

        if (strcmp(s->rendition, "source") == 0 && !s->lost
            && s->msn > last_lost)
        {
            good_after++;

            if (frames == 0) {
                frames = sl_test_video_frames(dir, "source", 500, s->msn);
            }
        }
    }

    sl_ok(t, good_after >= 3 && frames >= 25,
          "write errors: %zu whole segments after the last loss (%d frames "
          "in the first)", good_after, frames);

    good_after = 0;
    for (i = 0; i < rec.nsegs; i++) {
        s = &rec.segs[i];

        if (strcmp(s->rendition, "low") == 0 && !s->lost
            && s->msn > last_lost)
        {
            good_after++;
        }
    }

    sl_ok(t, good_after >= 2,
          "write errors: the rung writes again too (%zu segments)",
          good_after);

    sl_ok(t, count_logs(&rec, "rendition \"source\": cannot") == 2
             && count_logs(&rec, "rendition \"source\": writing works "
                           "again") == 2,
          "write errors: one line as each episode begins, one as it ends");
    sl_ok(t, count_logs(&rec, "muxer refused") == 0,
          "write errors: the muxer never saw them");
    sl_ok(t, st.renditions[0].segments_lost == lost
             && st.renditions[0].write_errors == 2,
          "write errors: counted (%llu lost, %llu episodes)",
          (unsigned long long) st.renditions[0].segments_lost,
          (unsigned long long) st.renditions[0].write_errors);

    for (i = 0; i < rec.nlogs && i < 12; i++) {
        printf("#   log: %s\n", rec.logs[i]);
    }
}


void
test_bounds(sl_tap_t *t)
{
    int             rc;
    char           *dir;
    size_t          i, ok_headers, declined, ok_big;
    gen_t           g;
    int64_t         ms;
    rec_t           rec;
    uint8_t        *big;
    sl_pipeline_t  *p;
    sl_pipeline_stats_t  st;

    static const sl_rung_t  rungs[] = {
        { "low", 96, 54, 100, "ultrafast", "baseline" },
    };

    dir = sl_test_tmp_dir("sl_pipeline_test");
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);
    pthread_cond_init(&rec.cond, NULL);
    rec.block = 1;

    big = calloc(1, 1024 * 1024);

    if (big == NULL || gen_open(&g, 160, 90, 30, 1) != 0) {
        sl_ok(t, 0, "bounds: setup");
        free(big);
        return;
    }

    p = start(&rec, dir, NULL, 0, 1000, 250);
    sl_pipeline_video_header(p, g.avcc, g.avcc_len, 160, 90, 30);

    /* until the packager blocks in on_part */
    for (ms = 0; ms < 2000; ms += 33) {
        gen_push(&g, p, ms);
    }

    pthread_mutex_lock(&rec.lock);
    while (!rec.blocked) {
        pthread_cond_wait(&rec.cond, &rec.lock);
    }
    pthread_mutex_unlock(&rec.lock);

    ok_headers = 0;
    declined = 0;

    for (i = 0; i < 5000; i++) {
        rc = sl_pipeline_audio_header(p, big, 60000, 48000, 2);
        ok_headers += rc == SL_OK;
        declined += rc == SL_DECLINED;
    }

    sl_ok(t, ok_headers <= 1024 + 16 && ok_headers + declined == 5000,
          "bounds: %zu of 5000 headers queued while the packager is stuck",
          ok_headers);
    sl_ok(t, sl_pipeline_video_header(p, big, 100000, 1, 1, 30) == SL_ERROR,
          "bounds: a 100 KB sequence header is refused");

    pthread_mutex_lock(&rec.lock);
    rec.block = 0;
    pthread_cond_broadcast(&rec.cond);
    pthread_mutex_unlock(&rec.lock);

    sl_pipeline_stop(p);

    /* big packets: the bytes bound */
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);
    pthread_cond_init(&rec.cond, NULL);
    rec.block = 1;

    p = start(&rec, dir, NULL, 0, 1000, 250);
    sl_pipeline_video_header(p, g.avcc, g.avcc_len, 160, 90, 30);

    for (ms = 2000; ms < 4000; ms += 33) {
        gen_push(&g, p, ms);
    }

    pthread_mutex_lock(&rec.lock);
    while (!rec.blocked) {
        pthread_cond_wait(&rec.cond, &rec.lock);
    }
    pthread_mutex_unlock(&rec.lock);

    ok_big = 0;
    for (i = 0; i < 200; i++) {
        ok_big += sl_pipeline_push(p, 0, 5000 + i, 0, 1, -1, big,
                                   1024 * 1024)
                  == SL_OK;
    }

    sl_pipeline_stats(p, &st);

    sl_ok(t, ok_big <= 64 + 1,
          "bounds: %zu of 200 packets of 1 MB queued (64 MB)", ok_big);
    sl_ok(t, st.headers_dropped == 0 && st.packets_dropped >= 200 - ok_big,
          "bounds: the dropped ones counted");

    pthread_mutex_lock(&rec.lock);
    rec.block = 0;
    pthread_cond_broadcast(&rec.cond);
    pthread_mutex_unlock(&rec.lock);

    sl_pipeline_stop(p);

    /* the ladder stuck (its part callback blocks): audio piles up for it */
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);
    pthread_cond_init(&rec.cond, NULL);
    rec.block = 1;
    rec.block_rendition = "low";

    p = start(&rec, dir, rungs, 1, 1000, 250);
    sl_pipeline_video_header(p, g.avcc, g.avcc_len, 160, 90, 30);
    sl_pipeline_audio_header(p, asc, sizeof(asc), 48000, 2);

    for (ms = 4000; ms < 6000; ms += 33) {
        gen_push(&g, p, ms);
    }

    pthread_mutex_lock(&rec.lock);
    while (!rec.blocked) {
        pthread_cond_wait(&rec.cond, &rec.lock);
    }
    pthread_mutex_unlock(&rec.lock);

    /* the packager takes them as they come: the ladder's queue fills */
    for (i = 0; i < 200; i++) {
        while (sl_pipeline_push(p, 0, 6000 + i * 21, 0, 1, -1, big,
                                1024 * 1024)
               == SL_DECLINED)
        {
            usleep(1000);
        }
    }

    for (i = 0; i < 2000 && count_logs(&rec, "ladder is stuck") == 0; i++) {
        usleep(1000);
    }

    sl_ok(t, count_logs(&rec, "ladder is stuck") == 1,
          "bounds: the ladder's queue is bounded in bytes (stuck, off)");

    pthread_mutex_lock(&rec.lock);
    rec.block = 0;
    pthread_cond_broadcast(&rec.cond);
    pthread_mutex_unlock(&rec.lock);

    sl_pipeline_stop(p);
    gen_close(&g);
    free(big);
}


void
test_names(sl_tap_t *t)
{
    char           *dir, path[4200];
    gen_t           g;
    size_t          i, ahead;
    int64_t         ms;
    rec_t           rec;
    FILE           *f;
    unsigned        init_id;
    uint64_t        msn, last;
    sl_pipeline_t  *p;

    dir = sl_test_tmp_dir("sl_pipeline_test");
    snprintf(path, sizeof(path), "%s.names", dir);

    sl_ok(t, sl_pipeline_names_load(path, &msn, &init_id) == SL_DECLINED,
          "names: no file yet");
    sl_ok(t, sl_pipeline_names_store(path, 12345678901ULL, 77) == SL_OK
             && sl_pipeline_names_load(path, &msn, &init_id) == SL_OK
             && msn == 12345678901ULL && init_id == 77,
          "names: stored and loaded");

    f = fopen(path, "w");
    if (f) {
        fputs("garbage\n", f);
        fclose(f);
    }

    sl_ok(t, sl_pipeline_names_load(path, &msn, &init_id) == SL_DECLINED,
          "names: garbage is no file");

    unlink(path);

    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);
    rec.names = path;
    rec.first_msn = 40;

    if (gen_open(&g, 160, 90, 30, 1) != 0) {
        sl_ok(t, 0, "names: libx264 encoder");
        return;
    }

    p = start(&rec, dir, NULL, 0, 1000, 250);
    sl_pipeline_video_header(p, g.avcc, g.avcc_len, 160, 90, 30);

    for (ms = 0; ms < 5000; ms += 33) {
        gen_push(&g, p, ms);
    }

    sl_pipeline_stop(p);
    gen_close(&g);

    ahead = 0;
    last = 0;
    for (i = 0; i < rec.nsegs; i++) {
        ahead += rec.segs[i].names_ahead;
        last = rec.segs[i].msn;
    }

    sl_ok(t, rec.nsegs >= 4 && ahead == rec.nsegs,
          "names: the file was ahead of every segment as it was written");
    msn = 0;
    init_id = 0;
    (void) sl_pipeline_names_load(path, &msn, &init_id);

    sl_ok(t, msn == last + 1 && init_id == 41,
          "names: the next stream starts after the last (%llu %u)",
          (unsigned long long) msn, init_id);
}


/*
 * Hours of streaming must not grow the heap: 24 minutes of a stream with
 * a ladder rung (decoded, scaled, encoded), fed as fast as the pipeline
 * takes it (one segment ahead in both renditions), with the heap in use
 * measured after 6 minutes and at the end.
 */
void
test_long_run(sl_tap_t *t)
{
    static const sl_rung_t  rungs[] = {
        { "low", 96, 54, 100, "ultrafast", "baseline" },
    };

    int             i, n;
    char           *dir;
    gen_t           g;
    rec_t           rec;
    size_t          len[30];
    int64_t         s, ms, audio;
    uint64_t        want;
    uint8_t        *pkt[30];
    long long       early, late;
    sl_pipeline_t  *p;

    dir = sl_test_tmp_dir("sl_pipeline_test");
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);

    if (gen_open(&g, 160, 90, 30, 1) != 0) {
        sl_ok(t, 0, "long run: libx264 encoder");
        return;
    }

    /* one GOP of 30 frames, encoded once, repeated with new timestamps */
    n = 0;

    for (i = 0; i < 30; i++) {
        if (gen_encode(&g, i * 1000 / 30, &pkt[n], &len[n]) == 0) {
            n++;
        }
    }

    gen_close(&g);

    if (n != 30) {
        sl_ok(t, 0, "long run: 30 frames encoded (%d)", n);
        return;
    }

    p = start(&rec, dir, rungs, 1, 2000, 250);
    sl_pipeline_video_header(p, g.avcc, g.avcc_len, 160, 90, 30);
    sl_pipeline_audio_header(p, asc, sizeof(asc), 48000, 2);

    early = -1;
    audio = 0;

    for (s = 0; s < 24 * 60; s++) {
        for (i = 0; i < 30; i++) {
            ms = s * 1000 + i * 1000 / 30;

            while (audio <= ms) {
                push_audio(p, audio);
                audio += 21;
            }

            sl_pipeline_push(p, 1, ms, 0, i == 0, 1795658595000LL + ms,
                             pkt[i], len[i]);
        }

        /* 2 s segments: all but the open one are out, of both */
        want = s >= 4 ? (uint64_t) (s - 2) : 0;

        for ( ;; ) {
            pthread_mutex_lock(&rec.lock);
            i = rec.seen >= want;
            pthread_mutex_unlock(&rec.lock);

            if (i) {
                break;
            }

            usleep(200);
        }

        if (s == 6 * 60) {
            early = heap_in_use();
        }
    }

    late = heap_in_use();

    sl_pipeline_stop(p);

    for (i = 0; i < n; i++) {
        free(pkt[i]);
    }

    sl_ok(t, rec.seen >= 1400,
          "long run: 24 minutes make %llu segments (two renditions)",
          (unsigned long long) rec.seen);
    /* with a per-fragment index (movenc without skip_trailer): 400 KB */
    sl_ok(t, early > 0 && late - early < 128 * 1024,
          "long run: the heap grows %lld bytes from minute 6 to 24 "
          "(< 128 KiB)", late - early);
    sl_ok(t, count_logs(&rec, "") == 0, "long run: nothing logged (%zu)",
          rec.nlogs);
}


static long long
heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return (long long) __sanitizer_get_current_allocated_bytes();
#else
    return (long long) mallinfo2().uordblks;
#endif
}
