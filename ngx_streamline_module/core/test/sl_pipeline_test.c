/*
 * Unit tests of the media pipeline as a whole (sl_pipeline.h) with what
 * publishers and hosts do to it: a 30 s GOP, video that pauses while
 * audio goes on, an in-band SPS that changes the frame size, video that
 * comes late, a ladder that falls behind real time; write errors (a file
 * size limit, a descriptor limit), a flood of sequence headers and big
 * packets, names that never repeat, hours of streaming
 * (sl_pipeline_faults_test.c); and the FLV tag parser (sl_flv.c), a lost
 * segment in the DVR index.  H.264 comes from libx264 through libavcodec.
 * Prints TAP; exits 1 when a test fails.
 */


#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/cpu.h>
#include <libavutil/log.h>

#include "sl_pipeline_test.h"


static void test_segment_max(sl_tap_t *t);
static void test_flv(sl_tap_t *t);
static void test_dvr_lost(sl_tap_t *t);
static void test_long_gop(sl_tap_t *t);
static void test_video_pause(sl_tap_t *t);
static void test_sps_change(sl_tap_t *t);
static void test_video_late(sl_tap_t *t);
static void test_part_eager(sl_tap_t *t);
static void test_overload(sl_tap_t *t);


int
main(void)
{
    sl_tap_t  t = { 0, 0 };

    av_log_set_level(AV_LOG_QUIET);
    signal(SIGXFSZ, SIG_IGN);

    /* C, not assembly, in libav*: what ASan sees (swscale's reads) */
    av_force_cpu_flags(0);

    test_segment_max(&t);
    test_flv(&t);
    test_dvr_lost(&t);
    test_long_gop(&t);
    test_video_pause(&t);
    test_sps_change(&t);
    test_video_late(&t);
    test_part_eager(&t);
    test_overload(&t);
    test_write_errors(&t);
    test_bounds(&t);
    test_names(&t);
    test_long_run(&t);

    sl_test_rm_dirs();

    return sl_tap_done(&t);
}


static void
test_segment_max(sl_tap_t *t)
{
    sl_ok(t, sl_pipeline_segment_max_us(2000000, 250000) == 2249000,
          "segment max: 2 s segments, 250 ms parts: 2.249 s");
    sl_ok(t, sl_pipeline_segment_max_us(1500000, 250000) == 2249000,
          "segment max: 1.5 s segments: the 2 s target rounds");
    sl_ok(t, sl_pipeline_segment_max_us(6000000, 100000) == 6399000,
          "segment max: 6 s segments, 100 ms parts: 6.399 s");
    sl_ok(t, sl_pipeline_segment_max_us(1000000, 1000000) == 1000000,
          "segment max: never below the segment");
}


static void
test_flv(sl_tap_t *t)
{
    sl_flv_tag_t  tag;

    static const uint8_t  vhdr[] = { 0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f };
    static const uint8_t  vkey[] = { 0x17, 1, 0, 0, 0x42, 0, 0, 0, 1, 0x65 };
    static const uint8_t  vneg[] = { 0x27, 1, 0xff, 0xff, 0xdf, 9 };
    static const uint8_t  veos[] = { 0x17, 2, 0, 0, 0 };
    static const uint8_t  vshort[] = { 0x17, 1, 0, 0 };
    static const uint8_t  vflv1[] = { 0x22, 0, 0 };
    static const uint8_t  ahdr[] = { 0xaf, 0, 0x11, 0x90 };
    static const uint8_t  araw[] = { 0xaf, 1, 0x21, 0x10 };
    static const uint8_t  aempty[] = { 0xaf, 1 };
    static const uint8_t  amp3[] = { 0x2f, 0xff };

    sl_ok(t, sl_flv_parse(1, vhdr, sizeof(vhdr), &tag) == SL_FLV_HEADER
             && tag.data == vhdr + 5 && tag.len == 4,
          "flv: AVC sequence header");
    sl_ok(t, sl_flv_parse(1, vkey, sizeof(vkey), &tag) == SL_FLV_PACKET
             && tag.key && tag.cts_ms == 66 && tag.len == 5,
          "flv: keyframe with a composition offset");
    sl_ok(t, sl_flv_parse(1, vneg, sizeof(vneg), &tag) == SL_FLV_PACKET
             && !tag.key && tag.cts_ms == -33 && tag.len == 1,
          "flv: inter frame, negative composition offset");
    sl_ok(t, sl_flv_parse(1, veos, sizeof(veos), &tag) == SL_FLV_SKIP,
          "flv: end of sequence skipped");
    sl_ok(t, sl_flv_parse(1, vshort, sizeof(vshort), &tag) == SL_FLV_SKIP,
          "flv: truncated video tag skipped");
    sl_ok(t, sl_flv_parse(1, vflv1, sizeof(vflv1), &tag)
             == SL_FLV_UNSUPPORTED && tag.codec == 2,
          "flv: Sorenson H.263 unsupported, codec named");
    sl_ok(t, sl_flv_parse(0, ahdr, sizeof(ahdr), &tag) == SL_FLV_HEADER
             && tag.len == 2 && tag.data == ahdr + 2,
          "flv: AAC sequence header");
    sl_ok(t, sl_flv_parse(0, araw, sizeof(araw), &tag) == SL_FLV_PACKET
             && tag.key && tag.len == 2,
          "flv: AAC raw frame");
    sl_ok(t, sl_flv_parse(0, aempty, sizeof(aempty), &tag) == SL_FLV_SKIP,
          "flv: empty AAC frame skipped");
    sl_ok(t, sl_flv_parse(0, amp3, sizeof(amp3), &tag) == SL_FLV_UNSUPPORTED
             && tag.codec == 2,
          "flv: MP3 unsupported, codec named");
    sl_ok(t, sl_flv_parse(0, amp3, 0, &tag) == SL_FLV_SKIP
             && sl_flv_parse(1, NULL, 5, &tag) == SL_FLV_SKIP,
          "flv: nothing is nothing");
}


static void
test_dvr_lost(sl_tap_t *t)
{
    size_t               size, n;
    uint64_t             msn;
    const char          *err;
    sl_dvr_seg_t         seg;
    sl_dvr_params_t      dp;
    sl_playlist_info_t   info;
    unsigned char        buf[8192];
    void                *block;
    sl_dvr_t            *dvr;
    sl_hls_opts_t        opts;

    memset(&dp, 0, sizeof(dp));
    dp.max_segments = 16;
    dp.max_parts = 8;
    dp.window_us = 60000000;
    dp.target_duration = 2;
    dp.part_target_us = 500000;
    dp.first_msn = 100;

    size = sl_dvr_size(dp.max_segments, dp.max_parts);
    block = aligned_alloc(8, (size + 7) & ~(size_t) 7);
    dvr = block ? sl_dvr_init(block, size, &dp) : NULL;

    if (!sl_ok(t, dvr != NULL, "dvr: index")) {
        free(block);
        return;
    }

    sl_dvr_segment_start(dvr, 1000, 1, SL_SEG_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 100, SL_PART_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 100, 0);
    sl_dvr_segment_close(dvr, 0, 0, NULL);

    /* two parts listed, then the segment file could not be written */
    sl_dvr_segment_start(dvr, 2000, 1, SL_SEG_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 100, SL_PART_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 100, 0);

    sl_ok(t, sl_dvr_segment_lost(dvr, 2000000, &msn) == SL_OK && msn == 101,
          "dvr: a segment with parts closed as lost");
    sl_ok(t, sl_dvr_segment(dvr, 101, &seg) == SL_OK
             && (seg.flags & SL_SEG_GAP) && !(seg.flags & SL_SEG_INDEPENDENT)
             && seg.nparts == 0 && seg.duration_us == 2000000,
          "dvr: it is a gap of its whole duration, without parts");
    sl_ok(t, sl_dvr_segment_lost(dvr, 2000000, NULL) == SL_ERROR,
          "dvr: nothing open, nothing lost");

    sl_dvr_segment_start(dvr, 4000, 1, SL_SEG_INDEPENDENT);
    sl_dvr_part_add(dvr, 500000, 100, SL_PART_INDEPENDENT);

    memset(&opts, 0, sizeof(opts));
    opts.parts = 1;
    opts.block = 1;
    n = sl_hls_media_playlist(dvr, &opts, buf, sizeof(buf));

    sl_ok(t, n > 0 && n < sizeof(buf)
             && sl_playlist_check(buf, n, &info, &err) == SL_OK
             && strstr((char *) buf, "#EXT-X-GAP\n#EXTINF:2.000,\nseg-101")
             && info.last_msn == 102,
          "dvr: the playlist lists the gap and goes on");

    if (n > 0 && n < sizeof(buf)) {
        sl_tap_diag("playlist", buf, n);
    }

    free(block);
}


/* a 30 s GOP: segments end on time, the later ones not independent */
static void
test_long_gop(sl_tap_t *t)
{
    int            ok_dur, ok_part;
    char          *dir;
    size_t         i;
    gen_t          g;
    int64_t        ms, max_us;
    rec_t          rec;
    sl_pipeline_t *p;

    dir = sl_test_tmp_dir("sl_pipeline_test");
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);

    if (gen_open(&g, 160, 90, 900, 1) != 0) {
        sl_ok(t, 0, "long gop: libx264 encoder");
        return;
    }

    p = start(&rec, dir, NULL, 0, 2000, 250);
    sl_pipeline_video_header(p, g.avcc, g.avcc_len, 160, 90, 30);
    sl_pipeline_audio_header(p, asc, sizeof(asc), 48000, 2);

    for (ms = 0; ms < 12000; ms += 1) {
        if (ms * 30 / 1000 != (ms - 1) * 30 / 1000 || ms == 0) {
            gen_push(&g, p, ms);
        }

        if (ms % 21 == 0) {
            push_audio(p, ms);
        }
    }

    sl_pipeline_stop(p);
    gen_close(&g);

    /* cut at the first frame from the maximum on: EXTINF rounds to 2 */
    max_us = sl_pipeline_segment_max_us(2000000, 250000) + 250000;
    ok_dur = 1;
    ok_part = 1;

    for (i = 0; i < rec.nsegs; i++) {
        if (rec.segs[i].duration_us > max_us) {
            ok_dur = 0;
            printf("#   segment %llu lasts %lld us\n",
                   (unsigned long long) rec.segs[i].msn,
                   (long long) rec.segs[i].duration_us);
        }

        if (rec.segs[i].part_max_us > 250000) {
            ok_part = 0;
        }
    }

    sl_ok(t, rec.nsegs >= 5, "long gop: 12 s make %zu segments (>= 5)",
          rec.nsegs);
    sl_ok(t, ok_dur, "long gop: no segment longer than %lld us (EXTINF "
          "rounds to the target)", (long long) max_us);
    sl_ok(t, ok_part, "long gop: no part longer than the part target");
    sl_ok(t, rec.nsegs >= 2 && rec.segs[0].independent
             && !rec.segs[1].independent,
          "long gop: the first segment is independent, the next is not");
}


/* the video pauses 8 s while audio goes on */
static void
test_video_pause(sl_tap_t *t)
{
    int            ok_dur, ok_part;
    char          *dir;
    size_t         i;
    gen_t          g;
    int64_t        ms, max_us;
    rec_t          rec;
    sl_pipeline_t *p;

    dir = sl_test_tmp_dir("sl_pipeline_test");
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);

    if (gen_open(&g, 160, 90, 60, 1) != 0) {
        sl_ok(t, 0, "video pause: libx264 encoder");
        return;
    }

    p = start(&rec, dir, NULL, 0, 2000, 250);
    sl_pipeline_video_header(p, g.avcc, g.avcc_len, 160, 90, 30);
    sl_pipeline_audio_header(p, asc, sizeof(asc), 48000, 2);

    for (ms = 0; ms < 14000; ms++) {
        if ((ms < 3000 || ms >= 11000)
            && (ms == 0 || ms * 30 / 1000 != (ms - 1) * 30 / 1000))
        {
            gen_push(&g, p, ms);
        }

        if (ms % 21 == 0) {
            push_audio(p, ms);
        }
    }

    sl_pipeline_stop(p);
    gen_close(&g);

    max_us = sl_pipeline_segment_max_us(2000000, 250000) + 250000;
    ok_dur = 1;
    ok_part = 1;

    for (i = 0; i + 1 < rec.nsegs; i++) {
        if (rec.segs[i].duration_us > max_us) {
            ok_dur = 0;
            printf("#   segment %llu lasts %lld us\n",
                   (unsigned long long) rec.segs[i].msn,
                   (long long) rec.segs[i].duration_us);
        }

        if (rec.segs[i].part_max_us > 2 * 250000) {
            ok_part = 0;
            printf("#   segment %llu has a part of %lld us\n",
                   (unsigned long long) rec.segs[i].msn,
                   (long long) rec.segs[i].part_max_us);
        }
    }

    sl_ok(t, rec.nsegs >= 6, "video pause: 14 s make %zu segments (>= 6)",
          rec.nsegs);
    sl_ok(t, ok_dur, "video pause: no segment longer than %lld us (EXTINF "
          "rounds to the target)", (long long) max_us);
    sl_ok(t, ok_part, "video pause: no part longer than two part targets");
}


/*
 * The sequence header says 320x180 4:2:0; the packets carry their own SPS
 * (x264 without global headers repeats SPS and PPS in-band): 640x360
 * 4:4:4 first, then 320x180 4:2:0.  The ladder's scaler must follow the
 * decoded frames, not read a 640x360 4:4:4 picture out of a smaller one
 * (libswscale is not instrumented: what shows is the picture, dark then
 * bright, whose bottom half would stay dark).
 */
static void
test_sps_change(sl_tap_t *t)
{
    char                 *dir;
    gen_t                 a, b, c;
    int64_t               ms;
    rec_t                 rec;
    int                   luma;
    size_t                i, rung_segs;
    uint64_t              last;
    sl_pipeline_t        *p;

    static const sl_rung_t  rungs[] = {
        { "low", 96, 54, 100, "ultrafast", "baseline" },
    };

    dir = sl_test_tmp_dir("sl_pipeline_test");
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);

    if (gen_open(&a, 320, 180, 30, 1) != 0
        || gen_open_fmt(&b, 640, 360, 30, 0, AV_PIX_FMT_YUV444P) != 0
        || gen_open(&c, 320, 180, 30, 0) != 0)
    {
        sl_ok(t, 0, "sps change: libx264 encoders");
        return;
    }

    b.flat = 40;
    c.flat = 200;

    p = start(&rec, dir, rungs, 1, 1000, 250);
    sl_pipeline_video_header(p, a.avcc, a.avcc_len, 320, 180, 30);
    sl_pipeline_audio_header(p, asc, sizeof(asc), 48000, 2);

    for (ms = 0; ms < 2000; ms += 33) {
        gen_push(&b, p, ms);
    }

    for ( /* void */ ; ms < 5000; ms += 33) {
        gen_push(&c, p, ms);
    }

    sl_pipeline_stop(p);
    gen_close(&a);
    gen_close(&b);
    gen_close(&c);

    rung_segs = 0;
    last = 0;
    for (i = 0; i < rec.nsegs; i++) {
        if (strcmp(rec.segs[i].rendition, "low") == 0 && !rec.segs[i].lost) {
            rung_segs++;
            last = rec.segs[i].msn;
        }
    }

    sl_ok(t, rung_segs >= 4, "sps change: the rung made %zu segments",
          rung_segs);

    luma = last_luma(dir, "low", 0, last);
    sl_ok(t, luma >= 190 && luma <= 210,
          "sps change: the rung shows the whole new picture (luma %d)", luma);
}


/*
 * Audio alone first, then a video sequence header and inter frames (found
 * by fuzz_pipeline): the ladder, started without a decoder, must not hand
 * them to one.  Before it, audio and video packets before their sequence
 * headers: a line for each track, not one for each packet.
 */
static void
test_video_late(sl_tap_t *t)
{
    char           *dir;
    gen_t           g;
    int64_t         ms;
    rec_t           rec;
    sl_pipeline_t  *p;

    static const sl_rung_t  rungs[] = {
        { "low", 96, 54, 100, "ultrafast", "baseline" },
    };

    dir = sl_test_tmp_dir("sl_pipeline_test");
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);

    if (gen_open(&g, 160, 90, 30, 1) != 0) {
        sl_ok(t, 0, "video late: libx264 encoder");
        return;
    }

    p = start(&rec, dir, rungs, 1, 1000, 250);

    /* packets before their sequence header: dropped, said once a track */
    for (ms = 0; ms < 100; ms += 21) {
        push_audio(p, ms);
        sl_pipeline_push(p, 1, ms, 0, 1, 1795658595000LL + ms, asc,
                         sizeof(asc));
    }

    sl_pipeline_audio_header(p, asc, sizeof(asc), 48000, 2);

    for ( /* void */ ; ms < 1500; ms += 21) {
        push_audio(p, ms);
        sl_pipeline_push(p, 1, ms, 0, 1, 1795658595000LL + ms, asc,
                         sizeof(asc));
    }

    sl_pipeline_video_header(p, g.avcc, g.avcc_len, 160, 90, 30);

    /* the first frame (the keyframe) is lost */
    gen_push(&g, NULL, ms);

    for (ms += 33; ms < 3000; ms += 33) {
        gen_push(&g, p, ms);
        push_audio(p, ms);
    }

    sl_pipeline_stop(p);
    gen_close(&g);

    sl_ok(t, rec.nsegs >= 2, "video late: no crash, %zu segments",
          rec.nsegs);
    sl_ok(t, count_logs(&rec, "video packets before any sequence header "
                        "are dropped") == 1
             && count_logs(&rec, "audio packets before any sequence header "
                           "are dropped") == 1,
          "video late: the packets before the headers are said once a track");
}


/*
 * A part is written as soon as the frame after it shows that one more
 * frame would overshoot the target, not when that frame comes: 30 fps,
 * 250 ms parts, frames 0 to 7 in (0 to 233 ms): the first part, frames 0
 * to 6, is out.  And the latency figures: real wall clocks in, sane
 * delays out, for the source and a rung.
 */
static void
test_part_eager(sl_tap_t *t)
{
    int                   i;
    char                 *dir;
    gen_t                 g;
    rec_t                 rec;
    sl_rung_t             rung;
    sl_pipeline_t        *p;
    sl_pipeline_stats_t   st;

    dir = sl_test_tmp_dir("sl_pipeline_test");
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);

    if (gen_open(&g, 160, 90, 60, 1) != 0) {
        sl_ok(t, 0, "part eager: libx264 encoder");
        return;
    }

    g.real_clock = 1;

    memset(&rung, 0, sizeof(rung));
    rung.name = "low";
    rung.width = 96;
    rung.height = 54;
    rung.bitrate_kbps = 100;
    rung.preset = "ultrafast";

    p = start(&rec, dir, &rung, 1, 2000, 250);
    sl_pipeline_video_header(p, g.avcc, g.avcc_len, 160, 90, 30);

    for (i = 0; i < 8; i++) {
        gen_push(&g, p, i * 100 / 3);
    }

    memset(&st, 0, sizeof(st));

    for (i = 0; i < 300; i++) {
        sl_pipeline_stats(p, &st);
        if (st.renditions[0].part_delay.count >= 1 && st.renditions[1].part_delay.count >= 1) {
            break;
        }
        usleep(10000);
    }

    usleep(100000);
    sl_pipeline_stats(p, &st);

    sl_ok(t, st.renditions[0].part_delay.count == 1,
          "part eager: frames 0-7 in, the part of frames 0-6 is out "
          "(%llu parts)", (unsigned long long) st.renditions[0].part_delay.count);
    sl_ok(t, st.renditions[1].part_delay.count == 1,
          "part eager: the rung's too (%llu parts)",
          (unsigned long long) st.renditions[1].part_delay.count);
    sl_ok(t, st.renditions[0].part_delay.max_ms < 3000
             && st.renditions[1].part_delay.max_ms < 3000,
          "part eager: parts written %llu and %llu ms after their last "
          "frame came in",
          (unsigned long long) st.renditions[0].part_delay.max_ms,
          (unsigned long long) st.renditions[1].part_delay.max_ms);
    sl_ok(t, st.renditions[1].encode_delay.count >= 7
             && st.renditions[1].encode_delay.max_ms < 3000
             && st.renditions[0].encode_delay.count == 0,
          "part eager: %llu frames of the rung encoded, at most %llu ms "
          "after they came in",
          (unsigned long long) st.renditions[1].encode_delay.count,
          (unsigned long long) st.renditions[1].encode_delay.max_ms);

    {
        uint64_t  n = 0;
        size_t    b;

        for (b = 0; b <= SL_DELAY_BUCKETS; b++) {
            n += st.renditions[1].encode_delay.bucket[b];
        }

        sl_ok(t, n == st.renditions[1].encode_delay.count
                 && st.renditions[1].encode_delay.last_ms
                    <= st.renditions[1].encode_delay.max_ms,
              "part eager: the rung's delay histogram holds every frame");
    }

    sl_pipeline_stop(p);
    gen_close(&g);
}


/*
 * The overload policy in the ladder: a GOP that came in 5 s ago (a ladder
 * that fell behind) is dropped whole, in every rung alike, with one log
 * line; the next GOP, on time, is encoded; the segment of the dropped GOP
 * is a gap in the rungs, the next ones are there; the episode ends with
 * the stream.
 */
static void
test_overload(sl_tap_t *t)
{
    int                   i;
    char                 *dir;
    gen_t                 g;
    rec_t                 rec;
    size_t                k, low, low_first;
    sl_rung_t             rungs[2];
    sl_pipeline_t        *p;
    sl_pipeline_stats_t   st;

    dir = sl_test_tmp_dir("sl_pipeline_test");
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);
    rec.max_lag_ms = 500;

    if (gen_open(&g, 160, 90, 30, 1) != 0) {
        sl_ok(t, 0, "overload: libx264 encoder");
        return;
    }

    g.real_clock = 1;

    memset(rungs, 0, sizeof(rungs));
    rungs[0].name = "low";
    rungs[0].width = 96;
    rungs[0].height = 54;
    rungs[0].bitrate_kbps = 100;
    rungs[0].preset = "ultrafast";
    rungs[1] = rungs[0];
    rungs[1].name = "lower";
    rungs[1].width = 64;
    rungs[1].height = 36;

    p = start(&rec, dir, rungs, 2, 1000, 250);
    sl_pipeline_video_header(p, g.avcc, g.avcc_len, 160, 90, 30);

    /* frames 0-29 came in 5 s ago, 30-119 now */
    g.clock_ms = 5000;

    for (i = 0; i < 120; i++) {
        if (i == 30) {
            g.clock_ms = 0;
        }

        gen_push(&g, p, i * 100 / 3);
    }

    memset(&st, 0, sizeof(st));

    for (i = 0; i < 500; i++) {
        sl_pipeline_stats(p, &st);
        if (st.renditions[2].frames_in + st.renditions[2].frames_dropped
            >= 120)
        {
            break;
        }
        usleep(10000);
    }

    sl_ok(t, st.renditions[1].frames_dropped == 30
             && st.renditions[2].frames_dropped == 30,
          "overload: the late GOP dropped in both rungs (%llu, %llu)",
          (unsigned long long) st.renditions[1].frames_dropped,
          (unsigned long long) st.renditions[2].frames_dropped);
    sl_ok(t, st.renditions[1].frames_in == 90
             && st.renditions[2].frames_in == 90,
          "overload: the frames on time encoded (%llu, %llu of 90)",
          (unsigned long long) st.renditions[1].frames_in,
          (unsigned long long) st.renditions[2].frames_in);
    sl_ok(t, st.overloads == 1 && st.overloaded == 1,
          "overload: one episode, going on (%llu, %d)",
          (unsigned long long) st.overloads, st.overloaded);
    sl_ok(t, count_logs(&rec, "behind real time") == 1,
          "overload: one log line as it begins");

    sl_pipeline_stop(p);

    sl_ok(t, count_logs(&rec, "overload is over (the stream ended): 30 "
                        "video frames dropped") == 1,
          "overload: one as it ends with the stream, with its figures");

    /* segments 0 (dropped GOP), 1, 2 of the source; the rung lacks 0 */
    low = 0;
    low_first = 0;

    for (k = 0; k < rec.nsegs; k++) {
        if (strcmp(rec.segs[k].rendition, "low") == 0) {
            if (low++ == 0) {
                low_first = k;
            }
        }
    }

    sl_ok(t, low >= 2 && rec.segs[low_first].msn == 1,
          "overload: the rung's segments go on after the gap (%zu, the "
          "first %llu)", low,
          low ? (unsigned long long) rec.segs[low_first].msn : 0ULL);

    gen_close(&g);
}
