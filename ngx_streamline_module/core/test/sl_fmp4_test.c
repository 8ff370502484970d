
/*
 * Unit tests of a rendition's fMP4 output on its own (sl_fmp4.c,
 * sl_fmp4_io.c), driven from this thread with packets made up here (no
 * encoder, no packager): the init segment, segments where the cuts say,
 * parts that are the segment's bytes end to end, the wall clock of each
 * segment, a write error that loses two segments and no more, the names
 * file kept ahead, audio alone.  Prints TAP.
 */


#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "sl_pipeline_int.h"
#include "sl_tap.h"
#include "sl_test_files.h"


#define MAX_SEGS   32
#define WALLCLOCK  1795658595000LL
#define FIRST_MSN  10
#define FIRST_INIT 3


typedef struct {
    sl_segment_info_t   segs[MAX_SEGS];
    size_t              nsegs;
    size_t              nparts;          /* on_part calls */
    char                logs[16][512];
    size_t              nlogs;
} rec_t;


static void test_av(sl_tap_t *t);
static void test_audio_only(sl_tap_t *t);
static sl_pipeline_t *create(rec_t *rec, const char *dir,
    const char *names);
static void feed(sl_fmp4_t *out, int video, int64_t from_ms, int64_t to_ms,
    uint64_t *msn);
static void push(sl_fmp4_t *out, int video, int64_t ms, int key,
    uint64_t cut);
static int parts_make_segment(const char *dir, const sl_segment_info_t *s);
static int exists(const char *dir, const char *name);
static void on_part(void *data, const sl_segment_info_t *seg);
static void on_segment(void *data, const sl_segment_info_t *seg);
static void on_log(void *data, int error, const char *msg);


/* avcC: High profile, level 3.1, one SPS and one PPS (not decoded) */
static const uint8_t  avcc[] = {
    0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x1f,
    0x01, 0x00, 0x02, 0x68, 0xee
};

static const uint8_t  asc[] = { 0x11, 0x90 };      /* AAC LC, 48 kHz */


int
main(void)
{
    sl_tap_t  t = { 0, 0 };

    av_log_set_level(AV_LOG_QUIET);

    test_av(&t);
    test_audio_only(&t);

    sl_test_rm_dirs();

    return sl_tap_done(&t);
}


static void
test_av(sl_tap_t *t)
{
    int                  whole, pdt, frames;
    char                *dir, names[4200], away[4200], path[4200];
    size_t               i;
    rec_t                rec;
    unsigned             init_id;
    uint64_t             msn, next_msn, bytes;
    sl_fmp4_t           *out;
    sl_pipeline_t       *p;
    sl_seq_header_t      vh, ah;
    AVCodecParameters   *video, *audio;
    sl_segment_info_t   *s;
    sl_rendition_stats_t *st;

    dir = sl_test_tmp_dir("sl_fmp4_test");
    snprintf(names, sizeof(names), "%s.names", dir);

    p = create(&rec, dir, names);
    out = &p->packager.source;
    out->fps = 30;

    memset(&vh, 0, sizeof(vh));
    vh.data = (uint8_t *) avcc;
    vh.len = sizeof(avcc);
    vh.params.width = 160;
    vh.params.height = 90;

    memset(&ah, 0, sizeof(ah));
    ah.data = (uint8_t *) asc;
    ah.len = sizeof(asc);
    ah.params.sample_rate = 48000;
    ah.params.channels = 2;

    video = avcodec_parameters_alloc();
    audio = avcodec_parameters_alloc();

    if (video == NULL || audio == NULL
        || sl_codecpar_video(video, &vh) != SL_OK
        || sl_codecpar_audio(audio, &ah) != SL_OK)
    {
        sl_ok(t, 0, "av: codec parameters");
        exit(1);
    }

    sl_ok(t, sl_fmp4_open(out, video, audio) == SL_OK
             && exists(dir, "source/init-3.mp4")
             && !exists(dir, "source/init-3.mp4.tmp"),
          "av: the init segment is written, under its own name only");

    avcodec_parameters_free(&video);
    avcodec_parameters_free(&audio);

    sl_ok(t, sl_pipeline_names_load(names, &msn, &init_id) == SL_OK
             && init_id > FIRST_INIT,
          "av: the names file is ahead of the init segment");

    /* segments 10 and 11 whole, then the directory goes away and back */
    next_msn = FIRST_MSN;
    feed(out, 1, 0, 2000, &next_msn);

    snprintf(path, sizeof(path), "%s/source", dir);
    snprintf(away, sizeof(away), "%s/away", dir);

    /* the frame after segment 12's first ends 11 and begins 12 */
    push(out, 0, 2000, 1, SL_NO_CUT);
    push(out, 1, 2000, 1, next_msn++);
    rename(path, away);
    push(out, 1, 2033, 0, SL_NO_CUT);
    feed(out, 1, 2066, 3000, &next_msn);
    rename(away, path);

    feed(out, 1, 3000, 5000, &next_msn);
    sl_fmp4_close(out);

    sl_ok(t, rec.nsegs == 5 && rec.segs[0].msn == FIRST_MSN
             && rec.segs[4].msn == FIRST_MSN + 4,
          "av: 5 segments from the cuts (%zu)", rec.nsegs);

    sl_ok(t, rec.nsegs == 5 && !rec.segs[0].lost && rec.segs[1].lost
             && rec.segs[2].lost && !rec.segs[3].lost && !rec.segs[4].lost,
          "av: the segment being written and the next are lost, no more");

    whole = 1;
    pdt = 1;
    bytes = 0;

    for (i = 0; i < rec.nsegs; i++) {
        s = &rec.segs[i];

        if (s->pdt_ms != WALLCLOCK + (int64_t) (s->msn - FIRST_MSN) * 1000) {
            pdt = 0;
        }

        if (s->lost) {
            continue;
        }

        bytes += s->bytes;

        if (s->duration_us != 1000000 || s->nparts < 4
            || !s->parts[0].independent || s->parts[1].independent
            || strcmp(s->codecs, "avc1.64001f,mp4a.40.2") != 0
            || s->width != 160 || s->height != 90 || s->fps != 30
            || s->init_id != FIRST_INIT
            || parts_make_segment(dir, s) != SL_OK)
        {
            whole = 0;
        }
    }

    sl_ok(t, whole, "av: each segment 1 s, its parts its bytes end to end, "
          "the first independent");
    sl_ok(t, pdt, "av: each segment has the wall clock of its first frame");

    frames = sl_test_video_frames(dir, "source", FIRST_INIT, FIRST_MSN + 3);
    sl_ok(t, frames == 30, "av: 30 frames in a segment after the loss (%d)",
          frames);

    st = &p->stats.renditions[0];
    sl_ok(t, st->segments == 3 && st->segments_lost == 2
             && st->write_errors == 1 && st->bytes == bytes,
          "av: counted (%llu segments, %llu lost, %llu episodes)",
          (unsigned long long) st->segments,
          (unsigned long long) st->segments_lost,
          (unsigned long long) st->write_errors);

    sl_ok(t, rec.nlogs == 2 && strstr(rec.logs[0], "cannot") != NULL
             && strstr(rec.logs[1], "works again, 2 segment(s) lost"),
          "av: one line as the failures begin, one as they end");

    for (i = 0; i < rec.nlogs; i++) {
        printf("#   log: %s\n", rec.logs[i]);
    }

    sl_ok(t, sl_pipeline_names_load(names, &msn, &init_id) == SL_OK
             && msn > FIRST_MSN + 4,
          "av: the names file is ahead of the last segment");

    sl_pipeline_free(p);
}


/* without video, segments and parts start on audio and are independent */
static void
test_audio_only(sl_tap_t *t)
{
    int                  ok;
    char                *dir;
    size_t               i, j;
    rec_t                rec;
    uint64_t             msn;
    sl_fmp4_t           *out;
    sl_pipeline_t       *p;
    sl_seq_header_t      ah;
    AVCodecParameters   *audio;

    dir = sl_test_tmp_dir("sl_fmp4_test");
    p = create(&rec, dir, NULL);
    out = &p->packager.source;

    memset(&ah, 0, sizeof(ah));
    ah.data = (uint8_t *) asc;
    ah.len = sizeof(asc);
    ah.params.sample_rate = 48000;
    ah.params.channels = 2;

    audio = avcodec_parameters_alloc();

    if (audio == NULL || sl_codecpar_audio(audio, &ah) != SL_OK
        || sl_fmp4_open(out, NULL, audio) != SL_OK)
    {
        sl_ok(t, 0, "audio only: the init segment");
        exit(1);
    }

    avcodec_parameters_free(&audio);

    msn = FIRST_MSN;
    feed(out, 0, 0, 3000, &msn);
    sl_fmp4_close(out);

    ok = rec.nsegs == 3;

    for (i = 0; i < rec.nsegs; i++) {
        ok = ok && strcmp(rec.segs[i].codecs, "mp4a.40.2") == 0
             && rec.segs[i].nparts >= 4
             && parts_make_segment(dir, &rec.segs[i]) == SL_OK;

        for (j = 0; j < rec.segs[i].nparts; j++) {
            ok = ok && rec.segs[i].parts[j].independent;
        }
    }

    sl_ok(t, ok, "audio only: %zu segments, every part independent",
          rec.nsegs);
    sl_ok(t, rec.nparts >= 12 && rec.nlogs == 0,
          "audio only: %zu parts reported, nothing logged", rec.nparts);

    sl_pipeline_free(p);
}


static sl_pipeline_t *
create(rec_t *rec, const char *dir, const char *names)
{
    sl_pipeline_t       *p;
    sl_pipeline_conf_t   conf;

    memset(rec, 0, sizeof(rec_t));
    memset(&conf, 0, sizeof(conf));
    conf.dir = dir;
    conf.rendition = SL_NAME_SOURCE;
    conf.segment_us = 1000000;
    conf.part_us = 250000;
    conf.queue_max = 16;
    conf.names = names;
    conf.first_msn = FIRST_MSN;
    conf.first_init_id = FIRST_INIT;
    conf.on_part = on_part;
    conf.on_segment = on_segment;
    conf.on_log = on_log;
    conf.data = rec;

    p = sl_pipeline_create(&conf);
    if (p == NULL) {
        fprintf(stderr, "sl_pipeline_create() failed\n");
        exit(1);
    }

    return p;
}


/* video at 30 fps with a keyframe and a cut every second, audio every
 * 21 ms; with video 0, the audio is cut every second */
static void
feed(sl_fmp4_t *out, int video, int64_t from_ms, int64_t to_ms,
    uint64_t *msn)
{
    int64_t  ms, frame;

    for (ms = from_ms; ms < to_ms; ms++) {
        frame = ms * 30 / 1000;

        if (video && ms == (frame * 1000 + 29) / 30) {
            push(out, 1, ms, frame % 30 == 0,
                 frame % 30 == 0 ? (*msn)++ : SL_NO_CUT);
        }

        if (ms % 21 == 0 || (!video && ms % 1000 == 0)) {
            push(out, 0, ms, 1,
                 !video && ms % 1000 == 0 ? (*msn)++ : SL_NO_CUT);
        }
    }
}


static void
push(sl_fmp4_t *out, int video, int64_t ms, int key, uint64_t cut)
{
    AVPacket  *pkt;

    pkt = av_packet_alloc();
    if (pkt == NULL || av_new_packet(pkt, 64) < 0) {
        exit(1);
    }

    /* one NAL unit of 60 bytes (IDR or not), or an AAC frame */
    memset(pkt->data, 0x21, 64);

    if (video) {
        pkt->data[0] = 0;
        pkt->data[1] = 0;
        pkt->data[2] = 0;
        pkt->data[3] = 60;
        pkt->data[4] = key ? 0x65 : 0x41;
    }

    pkt->dts = ms;
    pkt->pts = ms;
    pkt->flags = key ? AV_PKT_FLAG_KEY : 0;

    sl_fmp4_packet(out, pkt, video, cut, WALLCLOCK + ms);
}


/* the part files of a segment, end to end, are its file */
static int
parts_make_segment(const char *dir, const sl_segment_info_t *s)
{
    int          rc;
    char         path[4200];
    FILE        *seg, *part;
    size_t       i, n, off;
    uint8_t      a[4096], b[4096];
    struct stat  sb;

    snprintf(path, sizeof(path), "%s/%s/seg-%llu.m4s", dir, s->rendition,
             (unsigned long long) s->msn);

    if (stat(path, &sb) != 0 || (uint64_t) sb.st_size != s->bytes) {
        return SL_ERROR;
    }

    seg = fopen(path, "rb");
    if (seg == NULL) {
        return SL_ERROR;
    }

    rc = SL_OK;
    off = 0;

    for (i = 0; rc == SL_OK && i < s->nparts; i++) {
        snprintf(path, sizeof(path), "%s/%s/part-%llu.%zu.m4s", dir,
                 s->rendition, (unsigned long long) s->msn, i);

        part = fopen(path, "rb");
        if (part == NULL || s->parts[i].offset != off) {
            rc = SL_ERROR;
            break;
        }

        while ((n = fread(a, 1, sizeof(a), part)) > 0) {
            if (fread(b, 1, n, seg) != n || memcmp(a, b, n) != 0) {
                rc = SL_ERROR;
                break;
            }

            off += n;
        }

        fclose(part);

        if (off != s->parts[i].offset + s->parts[i].bytes) {
            rc = SL_ERROR;
        }
    }

    if (off != s->bytes || fread(b, 1, 1, seg) != 0) {
        rc = SL_ERROR;
    }

    fclose(seg);

    return rc;
}


static int
exists(const char *dir, const char *name)
{
    char         path[4200];
    struct stat  sb;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    return stat(path, &sb) == 0;
}


static void
on_part(void *data, const sl_segment_info_t *seg)
{
    rec_t  *rec = data;

    (void) seg;

    rec->nparts++;
}


static void
on_segment(void *data, const sl_segment_info_t *seg)
{
    rec_t  *rec = data;

    if (rec->nsegs < MAX_SEGS) {
        rec->segs[rec->nsegs++] = *seg;
    }
}


static void
on_log(void *data, int error, const char *msg)
{
    rec_t  *rec = data;

    (void) error;

    if (rec->nlogs < 16) {
        snprintf(rec->logs[rec->nlogs++], sizeof(rec->logs[0]), "%s", msg);
    }
}
