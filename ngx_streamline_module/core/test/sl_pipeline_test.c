/*
 * Unit tests of the media pipeline (sl_pipeline.c) with what publishers
 * and hosts do to it: a 30 s GOP, video that pauses while audio goes on,
 * an in-band SPS that changes the frame size, write errors (a file size
 * limit, a descriptor limit), a flood of sequence headers and big
 * packets, names that never repeat; and the FLV tag parser (sl_flv.c),
 * a lost segment in the DVR index.  H.264 comes from libx264 through
 * libavcodec.  Prints TAP; exits 1 when a test fails.
 */


/* nftw(), mkdtemp(), usleep() */
#define _GNU_SOURCE

#include <errno.h>
#include <ftw.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/cpu.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>

#if defined(__SANITIZE_ADDRESS__)
/* <sanitizer/allocator_interface.h>, which not every compiler ships */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#include "sl_core.h"
#include "sl_media.h"
#include "sl_pipeline.h"
#include "sl_tap.h"


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
    size_t           *capture_len;
} gen_t;


static void test_segment_max(sl_tap_t *t);
static void test_flv(sl_tap_t *t);
static void test_dvr_lost(sl_tap_t *t);
static void test_long_gop(sl_tap_t *t);
static void test_video_pause(sl_tap_t *t);
static void test_sps_change(sl_tap_t *t);
static void test_video_late(sl_tap_t *t);
static void test_write_errors(sl_tap_t *t);
static void test_bounds(sl_tap_t *t);
static void test_names(sl_tap_t *t);
static void test_long_run(sl_tap_t *t);

static sl_pipeline_t *start(rec_t *rec, const char *dir,
    const sl_rung_t *rungs, size_t nrungs, int64_t segment_ms,
    int64_t part_ms);
static void on_part(void *data, const sl_segment_info_t *seg);
static void on_segment(void *data, const sl_segment_info_t *seg);
static void on_log(void *data, int error, const char *msg);
static size_t count_logs(rec_t *rec, const char *needle);
static int gen_open(gen_t *g, int w, int h, int gop, int global);
static int gen_open_fmt(gen_t *g, int w, int h, int gop, int global,
    enum AVPixelFormat fmt);
static void gen_close(gen_t *g);
static int gen_push(gen_t *g, sl_pipeline_t *p, int64_t ms);
static int gen_encode(gen_t *g, int64_t ms, uint8_t **out, size_t *out_len);
static long long heap_in_use(void);
static void push_audio(sl_pipeline_t *p, int64_t ms);
static size_t annexb_to_avcc(const uint8_t *in, size_t len, uint8_t *out,
    size_t size);
static int video_frames(const char *dir, const char *rendition,
    unsigned init_id, uint64_t msn);
static int last_luma(const char *dir, const char *rendition,
    unsigned init_id, uint64_t msn);
static char *tmp_dir(void);
static void rm_dirs(void);
static int rm_one(const char *path, const struct stat *sb, int type,
    struct FTW *ftw);


static char   *dirs[16];
static size_t  ndirs;


static const uint8_t  asc[2] = { 0x11, 0x90 };    /* AAC LC, 48 kHz, 2 ch */


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
    test_write_errors(&t);
    test_bounds(&t);
    test_names(&t);
    test_long_run(&t);

    rm_dirs();

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

    dir = tmp_dir();
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

    dir = tmp_dir();
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

    dir = tmp_dir();
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

    dir = tmp_dir();
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


static void
fault(int resource, rlim_t cur)
{
    struct rlimit  rl;

    getrlimit(resource, &rl);
    rl.rlim_cur = cur;
    setrlimit(resource, &rl);
}


/*
 * Files cannot grow (EFBIG, as ENOSPC would) for three segments, then no
 * descriptor can be opened (EMFILE) for three: the segments are reported
 * lost, numbers stay in step, the log says it once an episode, and the
 * segments after each are whole again.
 */
static void
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

    dir = tmp_dir();
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
                frames = video_frames(dir, "source", 500, s->msn);
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


static void
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

    dir = tmp_dir();
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


static void
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

    dir = tmp_dir();
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


/* helpers */

static sl_pipeline_t *
start(rec_t *rec, const char *dir, const sl_rung_t *rungs, size_t nrungs,
    int64_t segment_ms, int64_t part_ms)
{
    sl_pipeline_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.dir = dir;
    conf.rendition = "source";
    conf.rungs = rungs;
    conf.nrungs = nrungs;
    conf.threads = 1;
    conf.segment_us = segment_ms * 1000;
    conf.part_us = part_ms * 1000;
    conf.queue_max = rec->block ? 1024 : 1000000;
    conf.queue_bytes = rec->block ? 0 : (size_t) 1 << 30;
    conf.names = rec->names;
    conf.first_msn = rec->first_msn;
    conf.first_init_id = rec->first_msn;
    conf.on_part = on_part;
    conf.on_segment = on_segment;
    conf.on_log = on_log;
    conf.data = rec;

    return sl_pipeline_start(&conf);
}


/*
 * Hours of streaming must not grow the heap: 24 minutes of a stream, fed
 * as fast as the pipeline takes it (one segment ahead), with the heap in
 * use measured after 6 minutes and at the end.
 */
static void
test_long_run(sl_tap_t *t)
{
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

    dir = tmp_dir();
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

    p = start(&rec, dir, NULL, 0, 2000, 250);
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

        /* 2 s segments: all but the open one are out */
        want = s >= 4 ? (uint64_t) (s - 2) / 2 : 0;

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

    sl_ok(t, rec.seen >= 700, "long run: 24 minutes make %llu segments",
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


static void
on_part(void *data, const sl_segment_info_t *seg)
{
    rec_t  *rec = data;

    pthread_mutex_lock(&rec->lock);

    if (rec->block
        && (rec->block_rendition == NULL
            || strcmp(rec->block_rendition, seg->rendition) == 0))
    {
        rec->blocked = 1;
        pthread_cond_broadcast(&rec->cond);

        while (rec->block) {
            pthread_cond_wait(&rec->cond, &rec->lock);
        }
    }

    pthread_mutex_unlock(&rec->lock);
}


static void
on_segment(void *data, const sl_segment_info_t *seg)
{
    rec_t  *rec = data;

    size_t     i;
    seg_t     *s;
    unsigned   init_id;
    uint64_t   msn, k;

    pthread_mutex_lock(&rec->lock);

    rec->seen++;

    if (rec->nsegs < MAX_SEGS) {
        s = &rec->segs[rec->nsegs++];
        snprintf(s->rendition, sizeof(s->rendition), "%s", seg->rendition);
        s->msn = seg->msn;
        s->duration_us = seg->duration_us;
        s->bytes = seg->bytes;
        s->lost = seg->lost;
        s->nparts = seg->nparts;
        s->independent = seg->nparts ? seg->parts[0].independent : 0;
        s->part_max_us = 0;

        for (i = 0; i < seg->nparts; i++) {
            if (seg->parts[i].duration_us > s->part_max_us) {
                s->part_max_us = seg->parts[i].duration_us;
            }
        }

        s->names_ahead = rec->names
                         && sl_pipeline_names_load(rec->names, &msn, &init_id)
                            == SL_OK
                         && msn > seg->msn && init_id > seg->init_id;
    }

    /* faults by the source's segment numbers, relative to the first */
    if (rec->faults && strcmp(seg->rendition, "source") == 0) {
        k = seg->msn - rec->first_msn;

        if (k == 3) {
            fault(RLIMIT_FSIZE, 0);

        } else if (k == 6) {
            fault(RLIMIT_FSIZE, RLIM_INFINITY);

        } else if (k == 10) {
            fault(RLIMIT_NOFILE, 3);

        } else if (k == 13) {
            fault(RLIMIT_NOFILE, 1024);
        }
    }

    pthread_mutex_unlock(&rec->lock);
}


static void
on_log(void *data, int error, const char *msg)
{
    rec_t  *rec = data;

    (void) error;

    pthread_mutex_lock(&rec->lock);

    if (rec->nlogs < MAX_LOGS) {
        snprintf(rec->logs[rec->nlogs++], sizeof(rec->logs[0]), "%s", msg);
    }

    pthread_mutex_unlock(&rec->lock);
}


static size_t
count_logs(rec_t *rec, const char *needle)
{
    size_t  i, n;

    n = 0;
    for (i = 0; i < rec->nlogs; i++) {
        n += strstr(rec->logs[i], needle) != NULL;
    }

    return n;
}


static int
gen_open(gen_t *g, int w, int h, int gop, int global)
{
    return gen_open_fmt(g, w, h, gop, global, AV_PIX_FMT_YUV420P);
}


static int
gen_open_fmt(gen_t *g, int w, int h, int gop, int global,
    enum AVPixelFormat fmt)
{
    size_t          i, n, sps, pps, sps_len, pps_len;
    uint8_t        *e;
    const AVCodec  *codec;

    memset(g, 0, sizeof(gen_t));
    g->flat = -1;

    codec = avcodec_find_encoder_by_name("libx264");
    if (codec == NULL) {
        return -1;
    }

    g->ctx = avcodec_alloc_context3(codec);
    g->frame = av_frame_alloc();
    g->pkt = av_packet_alloc();

    if (g->ctx == NULL || g->frame == NULL || g->pkt == NULL) {
        return -1;
    }

    g->ctx->width = w;
    g->ctx->height = h;
    g->ctx->pix_fmt = fmt;
    g->ctx->time_base = (AVRational) { 1, 1000 };
    g->ctx->framerate = (AVRational) { 30, 1 };
    g->ctx->gop_size = gop;
    g->ctx->keyint_min = gop;
    g->ctx->max_b_frames = 0;
    g->ctx->bit_rate = 200000;
    g->ctx->thread_count = 1;

    if (global) {
        g->ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }

    av_opt_set(g->ctx->priv_data, "preset", "ultrafast", 0);
    av_opt_set(g->ctx->priv_data, "tune", "zerolatency", 0);
    av_opt_set(g->ctx->priv_data, "x264-params", "scenecut=0", 0);

    if (avcodec_open2(g->ctx, codec, NULL) < 0) {
        return -1;
    }

    g->frame->format = fmt;
    g->frame->width = w;
    g->frame->height = h;

    if (av_frame_get_buffer(g->frame, 0) < 0) {
        return -1;
    }

    if (!global) {
        return 0;
    }

    /* avcC from the Annex B SPS and PPS of the extradata */
    e = g->ctx->extradata;
    n = (size_t) g->ctx->extradata_size;
    sps = pps = sps_len = pps_len = 0;

    for (i = 0; i + 4 < n; i++) {
        if (e[i] == 0 && e[i + 1] == 0 && e[i + 2] == 1) {
            if ((e[i + 3] & 0x1f) == 7) {
                sps = i + 3;

            } else if ((e[i + 3] & 0x1f) == 8) {
                pps = i + 3;
            }
        }
    }

    if (sps == 0 || pps == 0 || pps < sps) {
        return -1;
    }

    sps_len = pps - sps - 3;
    while (sps_len > 0 && e[sps + sps_len - 1] == 0) {
        sps_len--;
    }

    pps_len = n - pps;

    if (11 + sps_len + pps_len > sizeof(g->avcc)) {
        return -1;
    }

    e = g->avcc;
    e[0] = 1;
    e[1] = g->ctx->extradata[sps + 1];
    e[2] = g->ctx->extradata[sps + 2];
    e[3] = g->ctx->extradata[sps + 3];
    e[4] = 0xff;
    e[5] = 0xe1;
    e[6] = (uint8_t) (sps_len >> 8);
    e[7] = (uint8_t) sps_len;
    memcpy(e + 8, g->ctx->extradata + sps, sps_len);
    e += 8 + sps_len;
    e[0] = 1;
    e[1] = (uint8_t) (pps_len >> 8);
    e[2] = (uint8_t) pps_len;
    memcpy(e + 3, g->ctx->extradata + pps, pps_len);
    g->avcc_len = 8 + sps_len + 3 + pps_len;

    return 0;
}


static void
gen_close(gen_t *g)
{
    avcodec_free_context(&g->ctx);
    av_frame_free(&g->frame);
    av_packet_free(&g->pkt);
}


/* one frame at ms, encoded as AVCC into a new buffer (the one packet) */
static int
gen_encode(gen_t *g, int64_t ms, uint8_t **out, size_t *out_len)
{
    int  rc;

    g->capture = out;
    g->capture_len = out_len;
    *out = NULL;

    rc = gen_push(g, NULL, ms);

    g->capture = NULL;

    return rc == 0 && *out ? 0 : -1;
}


/* one frame at ms: a moving pattern, encoded, pushed as AVCC */
static int
gen_push(gen_t *g, sl_pipeline_t *p, int64_t ms)
{
    int       x, y;
    size_t    len;
    uint8_t   buf[256 * 1024];

    if (av_frame_make_writable(g->frame) < 0) {
        return -1;
    }

    for (y = 0; y < g->frame->height; y++) {
        for (x = 0; x < g->frame->width; x++) {
            g->frame->data[0][y * g->frame->linesize[0] + x] =
                g->flat >= 0 ? (uint8_t) g->flat
                             : (uint8_t) (x + y + g->n * 3);
        }
    }

    /* chroma planes: all of them is the whole height in 4:4:4 */
    for (y = 0; y < g->frame->height; y++) {
        if (g->frame->format == AV_PIX_FMT_YUV420P
            && y >= g->frame->height / 2)
        {
            break;
        }

        memset(g->frame->data[1] + y * g->frame->linesize[1], 128,
               g->frame->linesize[1]);
        memset(g->frame->data[2] + y * g->frame->linesize[2],
               (int) (g->n & 0xff), g->frame->linesize[2]);
    }

    g->frame->pts = ms;
    g->n++;

    if (avcodec_send_frame(g->ctx, g->frame) < 0) {
        return -1;
    }

    while (avcodec_receive_packet(g->ctx, g->pkt) == 0) {
        len = annexb_to_avcc(g->pkt->data, g->pkt->size, buf, sizeof(buf));

        if (len && g->capture && *g->capture == NULL) {
            *g->capture = malloc(len);
            if (*g->capture) {
                memcpy(*g->capture, buf, len);
                *g->capture_len = len;
            }
        }

        if (len && p) {
            sl_pipeline_push(p, 1, g->pkt->dts, 0,
                             (g->pkt->flags & AV_PKT_FLAG_KEY) != 0,
                             1795658595000LL + g->pkt->dts, buf, len);
        }

        av_packet_unref(g->pkt);
    }

    return 0;
}


static void
push_audio(sl_pipeline_t *p, int64_t ms)
{
    uint8_t  frame[64];

    memset(frame, 0x21, sizeof(frame));
    sl_pipeline_push(p, 0, ms, 0, 1, 1795658595000LL + ms, frame,
                     sizeof(frame));
}


/* Annex B start codes to 4-byte lengths, as RTMP carries H.264 */
static size_t
annexb_to_avcc(const uint8_t *in, size_t len, uint8_t *out, size_t size)
{
    size_t  i, start, end, n, o;

    o = 0;
    i = 0;

    while (i + 3 <= len) {
        if (!(in[i] == 0 && in[i + 1] == 0 && in[i + 2] == 1)) {
            i++;
            continue;
        }

        start = i + 3;
        end = start;

        while (end + 3 <= len
               && !(in[end] == 0 && in[end + 1] == 0
                    && (in[end + 2] == 1
                        || (end + 3 < len && in[end + 2] == 0
                            && in[end + 3] == 1))))
        {
            end++;
        }

        if (end + 3 > len) {
            end = len;
        }

        n = end - start;

        if (o + 4 + n > size) {
            return 0;
        }

        out[o] = (uint8_t) (n >> 24);
        out[o + 1] = (uint8_t) (n >> 16);
        out[o + 2] = (uint8_t) (n >> 8);
        out[o + 3] = (uint8_t) n;
        memcpy(out + o + 4, in + start, n);
        o += 4 + n;
        i = end;
    }

    return o;
}


/* init + segment as one file, read back: how many video frames */
static int
video_frames(const char *dir, const char *rendition, unsigned init_id,
    uint64_t msn)
{
    int               n;
    char              path[1024], cat[4400];
    FILE             *out, *in;
    size_t            k;
    uint8_t           buf[65536];
    AVPacket         *pkt;
    AVFormatContext  *ic;
    const char       *parts[2];
    char              init[4200], seg[4200];

    snprintf(path, sizeof(path), "%s/%s", dir, rendition);
    snprintf(init, sizeof(init), "%s/init-%u.mp4", path, init_id);
    snprintf(seg, sizeof(seg), "%s/seg-%llu.m4s", path,
             (unsigned long long) msn);
    snprintf(cat, sizeof(cat), "%s/check-%llu.mp4", path,
             (unsigned long long) msn);

    out = fopen(cat, "wb");
    if (out == NULL) {
        return -1;
    }

    parts[0] = init;
    parts[1] = seg;

    for (k = 0; k < 2; k++) {
        in = fopen(parts[k], "rb");
        if (in == NULL) {
            fclose(out);
            return -1;
        }

        while ((n = (int) fread(buf, 1, sizeof(buf), in)) > 0) {
            fwrite(buf, 1, n, out);
        }

        fclose(in);
    }

    fclose(out);

    ic = NULL;
    if (avformat_open_input(&ic, cat, NULL, NULL) < 0) {
        return -1;
    }

    pkt = av_packet_alloc();
    n = 0;

    while (pkt && av_read_frame(ic, pkt) >= 0) {
        if (ic->streams[pkt->stream_index]->codecpar->codec_type
            == AVMEDIA_TYPE_VIDEO)
        {
            n++;
        }

        av_packet_unref(pkt);
    }

    av_packet_free(&pkt);
    avformat_close_input(&ic);

    return n;
}


/* the mean luma of the last frame of init + segment, decoded */
static int
last_luma(const char *dir, const char *rendition, unsigned init_id,
    uint64_t msn)
{
    int                x, y, n;
    char               cat[4400];
    int64_t            sum;
    AVFrame           *frame;
    AVPacket          *pkt;
    AVCodecContext    *dec;
    AVFormatContext   *ic;
    const AVCodec     *codec;

    if (video_frames(dir, rendition, init_id, msn) <= 0) {
        return -1;
    }

    snprintf(cat, sizeof(cat), "%s/%s/check-%llu.mp4", dir, rendition,
             (unsigned long long) msn);

    ic = NULL;
    if (avformat_open_input(&ic, cat, NULL, NULL) < 0
        || avformat_find_stream_info(ic, NULL) < 0)
    {
        return -1;
    }

    n = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    dec = codec ? avcodec_alloc_context3(codec) : NULL;
    frame = av_frame_alloc();
    pkt = av_packet_alloc();
    sum = -1;

    if (n >= 0 && dec && frame && pkt
        && avcodec_parameters_to_context(dec, ic->streams[n]->codecpar) >= 0
        && avcodec_open2(dec, codec, NULL) >= 0)
    {
        while (av_read_frame(ic, pkt) >= 0) {
            if (pkt->stream_index == n) {
                avcodec_send_packet(dec, pkt);
            }

            av_packet_unref(pkt);

            while (avcodec_receive_frame(dec, frame) == 0) {
                sum = 0;

                for (y = 0; y < frame->height; y++) {
                    for (x = 0; x < frame->width; x++) {
                        sum += frame->data[0][y * frame->linesize[0] + x];
                    }
                }

                sum /= (int64_t) frame->width * frame->height;
                av_frame_unref(frame);
            }
        }
    }

    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&ic);

    return (int) sum;
}


static char *
tmp_dir(void)
{
    char  *dir;

    dir = strdup("/tmp/sl_pipeline_test.XXXXXX");
    if (dir == NULL || mkdtemp(dir) == NULL || ndirs == 16) {
        fprintf(stderr, "cannot create a temporary directory\n");
        exit(2);
    }

    dirs[ndirs++] = dir;

    return dir;
}


static void
rm_dirs(void)
{
    char    path[4200];
    size_t  i;

    for (i = 0; i < ndirs; i++) {
        nftw(dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
        snprintf(path, sizeof(path), "%s.names", dirs[i]);
        unlink(path);
        free(dirs[i]);
    }
}


static int
rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void) sb;
    (void) type;
    (void) ftw;

    remove(path);

    return 0;
}
