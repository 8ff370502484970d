
/*
 * Helpers of the pipeline's unit tests (sl_pipeline_test.h): starting a
 * pipeline that reports to a recorder, faults, an H.264 source.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "sl_pipeline_test.h"


const uint8_t  asc[2] = { 0x11, 0x90 };    /* AAC LC, 48 kHz, 2 ch */


sl_pipeline_t *
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
    /* fed faster than real time: no frame is late, unless a test says */
    conf.max_lag_us = rec->max_lag_ms ? rec->max_lag_ms * 1000 : -1;
    conf.names = rec->names;
    conf.first_msn = rec->first_msn;
    conf.first_init_id = rec->first_msn;
    conf.on_part = on_part;
    conf.on_segment = on_segment;
    conf.on_log = on_log;
    conf.data = rec;

    return sl_pipeline_start(&conf);
}


void
fault(int resource, rlim_t cur)
{
    struct rlimit  rl;

    getrlimit(resource, &rl);
    rl.rlim_cur = cur;
    setrlimit(resource, &rl);
}


void
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


void
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


void
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


size_t
count_logs(rec_t *rec, const char *needle)
{
    size_t  i, n;

    n = 0;
    for (i = 0; i < rec->nlogs; i++) {
        n += strstr(rec->logs[i], needle) != NULL;
    }

    return n;
}


int
gen_open(gen_t *g, int w, int h, int gop, int global)
{
    return gen_open_fmt(g, w, h, gop, global, AV_PIX_FMT_YUV420P);
}


int
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


void
gen_close(gen_t *g)
{
    avcodec_free_context(&g->ctx);
    av_frame_free(&g->frame);
    av_packet_free(&g->pkt);
}


/* one frame at ms, encoded as AVCC into a new buffer (the one packet) */
int
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
int
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
                             g->real_clock ? sl_pipeline_now_ms() - g->clock_ms
                                           : 1795658595000LL + g->pkt->dts,
                             buf, len);
        }

        av_packet_unref(g->pkt);
    }

    return 0;
}


void
push_audio(sl_pipeline_t *p, int64_t ms)
{
    uint8_t  frame[64];

    memset(frame, 0x21, sizeof(frame));
    sl_pipeline_push(p, 0, ms, 0, 1, 1795658595000LL + ms, frame,
                     sizeof(frame));
}


/* Annex B start codes to 4-byte lengths, as RTMP carries H.264 */
size_t
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


/* the mean luma of the last frame of init + segment, decoded */
int
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

    if (sl_test_video_frames(dir, rendition, init_id, msn) <= 0) {
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
