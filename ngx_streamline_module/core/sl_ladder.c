
/*
 * Streamline core, the media pipeline: the ladder thread.  The video the
 * packager forwards is decoded once, then scaled and encoded with libx264
 * for every rung; audio is copied.  Each rung's encoder is forced to an
 * IDR frame where the source starts a segment, so that every rendition
 * has the same segments.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/opt.h>

#include "sl_pipeline_int.h"


static void sl_ladder_handle(sl_pipeline_t *p, sl_msg_t *m);
static void sl_ladder_audio(sl_pipeline_t *p, const sl_msg_t *m);
static void sl_ladder_video(sl_pipeline_t *p, const sl_msg_t *m);
static int sl_ladder_late(sl_pipeline_t *p, const sl_msg_t *m);
static void sl_ladder_overload_ended(sl_pipeline_t *p, const char *how);
static int sl_ladder_open(sl_pipeline_t *p);
static int sl_ladder_open_decoder(sl_pipeline_t *p);
static void sl_ladder_open_encoder(sl_pipeline_t *p, sl_ladder_rung_t *rung,
    const AVCodec *codec);
static void sl_ladder_close(sl_pipeline_t *p);
static size_t sl_ladder_cuts_due(sl_ladder_rung_t *rung, int64_t pts);
static int sl_ladder_write_init(sl_pipeline_t *p, sl_ladder_rung_t *rung);
static void sl_ladder_encode(sl_pipeline_t *p, sl_ladder_rung_t *rung,
    AVFrame *src);
static void sl_ladder_output(sl_pipeline_t *p, sl_ladder_rung_t *rung,
    AVPacket *pkt);
static void sl_ladder_drain(sl_ladder_rung_t *rung);
static int64_t sl_ladder_clock(sl_ladder_t *ld, int64_t pts);


void *
sl_ladder_thread(void *arg)
{
    sl_pipeline_t  *p = arg;
    sl_msg_t       *m;

    p->ladder.preview.on = p->conf.preview_us > 0
                           && p->conf.preview_width > 0
                           && p->conf.preview_height > 0
                           && p->ladder.nrungs > 0;

    while ((m = sl_msgq_get(&p->to_ladder)) != NULL) {
        sl_ladder_handle(p, m);
        free(m);
    }

    sl_ladder_close(p);
    sl_preview_end(p);
    sl_preview_free(&p->ladder.preview);

    if (sl_overload_stop(&p->ladder.overload)) {
        sl_ladder_overload_ended(p, "the stream ended");
    }

    return NULL;
}


static void
sl_ladder_handle(sl_pipeline_t *p, sl_msg_t *m)
{
    size_t        i;
    sl_ladder_t  *ld = &p->ladder;

    switch (m->type) {

    case SL_MSG_VIDEO_HEADER:
        (void) sl_seq_header_set(&ld->video_header, m);

        for (i = 0; i < ld->nrungs; i++) {
            ld->rungs[i].out.fps = ld->video_header.params.fps;
        }

        return;

    case SL_MSG_AUDIO_HEADER:
        (void) sl_seq_header_set(&ld->audio_header, m);
        return;
    }

    if (m->restart) {
        sl_ladder_close(p);

        if (sl_ladder_open(p) != SL_OK) {
            sl_ladder_close(p);
            return;
        }
    }

    /* no decoder: with video, nothing for the rungs; video started
     * after an audio-only start waits for the restart at its keyframe */
    if (ld->decoder == NULL && (ld->video_header.data || m->video)) {
        return;
    }

    if (m->video) {
        sl_ladder_video(p, m);

    } else {
        sl_ladder_audio(p, m);
    }
}


/* audio is copied into every rung */
static void
sl_ladder_audio(sl_pipeline_t *p, const sl_msg_t *m)
{
    size_t             i;
    AVPacket          *pkt;
    sl_ladder_rung_t  *rung;

    for (i = 0; i < p->ladder.nrungs; i++) {
        rung = &p->ladder.rungs[i];

        if (rung->out.muxer == NULL || rung->out.audio_index < 0) {
            continue;
        }

        pkt = av_packet_alloc();
        if (pkt == NULL || av_new_packet(pkt, (int) m->len) < 0) {
            av_packet_free(&pkt);
            continue;
        }

        memcpy(pkt->data, m->data, m->len);
        pkt->dts = m->dts_ms;
        pkt->pts = m->dts_ms;
        pkt->flags = AV_PKT_FLAG_KEY;
        sl_fmp4_packet(&rung->out, pkt, 0, m->cut, m->wallclock_ms);
    }
}


static void
sl_ladder_video(sl_pipeline_t *p, const sl_msg_t *m)
{
    size_t             i;
    int64_t            pts;
    AVPacket          *pkt;
    sl_ladder_t       *ld = &p->ladder;
    sl_ladder_rung_t  *rung;

    pts = m->dts_ms + (m->cts_ms > 0 ? m->cts_ms : 0);

    /*
     * The frame that comes out for this packet must start the segment;
     * if it is dropped, the next frame encoded does (sl_ladder_cuts_due)
     */
    if (m->cut != SL_NO_CUT) {
        for (i = 0; i < ld->nrungs; i++) {
            rung = &ld->rungs[i];

            if (rung->ncuts < SL_CUTS) {
                rung->cuts[rung->ncuts].msn = m->cut;
                rung->cuts[rung->ncuts].pts = pts;
                rung->cuts[rung->ncuts].wallclock_ms = m->wallclock_ms;
                rung->ncuts++;
            }
        }

        sl_preview_cut(&ld->preview, m->cut, pts);
    }

    if (sl_ladder_late(p, m)) {
        return;
    }

    if (ld->skip_to_key && !m->key) {
        return;
    }

    ld->skip_to_key = 0;

    pkt = av_packet_alloc();
    if (pkt == NULL || av_new_packet(pkt, (int) m->len) < 0) {
        av_packet_free(&pkt);
        return;
    }

    memcpy(pkt->data, m->data, m->len);
    pkt->dts = m->dts_ms;
    pkt->pts = pts;
    pkt->flags = m->key ? AV_PKT_FLAG_KEY : 0;

    ld->clocks[ld->nclocks % SL_CLOCKS].pts = pkt->pts;
    ld->clocks[ld->nclocks % SL_CLOCKS].wallclock_ms = m->wallclock_ms;
    ld->nclocks++;

    if (avcodec_send_packet(ld->decoder, pkt) < 0) {
        sl_pipeline_log(p, 1, "cannot decode a video frame, waiting for "
                        "the next keyframe");
        ld->skip_to_key = 1;
        av_packet_free(&pkt);
        return;
    }

    av_packet_free(&pkt);

    while (avcodec_receive_frame(ld->decoder, ld->decoded) == 0) {

        /* before the rungs: the first one reports the tile of the
         * segment this frame may start */
        sl_preview_frame(p, ld->decoded);

        for (i = 0; i < ld->nrungs; i++) {
            rung = &ld->rungs[i];

            if (rung->encoder == NULL) {
                continue;
            }

            pthread_mutex_lock(&p->stats_lock);
            rung->out.stats->frames_in++;
            pthread_mutex_unlock(&p->stats_lock);

            sl_ladder_encode(p, rung, ld->decoded);
        }

        av_frame_unref(ld->decoded);
    }
}


/*
 * The overload policy (sl_overload_t): 1 when the frame came in too long
 * ago and is dropped, in every rung alike (one thread encodes them all);
 * a log line as an episode begins and one as it ends.
 */
static int
sl_ladder_late(sl_pipeline_t *p, const sl_msg_t *m)
{
    int             drop, event;
    size_t          i;
    int64_t         now, lag;
    sl_ladder_t    *ld = &p->ladder;
    sl_overload_t  *o = &ld->overload;

    now = sl_pipeline_now_ms();
    lag = m->wallclock_ms >= 0 ? now - m->wallclock_ms : -1;

    drop = sl_overload_video(o, m->key, lag, now, &event);

    if (event & SL_OVERLOAD_ENDED) {
        sl_ladder_overload_ended(p, "it keeps real time again");
    }

    if (event & SL_OVERLOAD_BEGAN) {
        sl_pipeline_log(p, 1, "the ladder is %lld ms behind real time "
                        "(streamline_ladder_max_lag %lld ms): dropping "
                        "video frames in every rendition up to the next "
                        "keyframe on time", (long long) lag,
                        (long long) o->max_lag_ms);
    }

    if (!drop && !event) {
        return 0;
    }

    pthread_mutex_lock(&p->stats_lock);

    if (event & SL_OVERLOAD_BEGAN) {
        p->stats.overloads++;
    }

    p->stats.overloaded = o->episode;

    if (drop) {
        for (i = 0; i < ld->nrungs; i++) {
            ld->rungs[i].out.stats->frames_dropped++;
        }
    }

    pthread_mutex_unlock(&p->stats_lock);

    return drop;
}


static void
sl_ladder_overload_ended(sl_pipeline_t *p, const char *how)
{
    int64_t         ms;
    sl_overload_t  *o = &p->ladder.overload;

    ms = o->last_drop_ms - o->began_ms;

    sl_pipeline_log(p, 0, "the ladder's overload is over (%s): %llu video "
                    "frames dropped in every rendition over %lld.%03lld s, "
                    "at worst %lld ms behind real time", how,
                    (unsigned long long) o->dropped, (long long) (ms / 1000),
                    (long long) (ms % 1000), (long long) o->worst_lag_ms);

    pthread_mutex_lock(&p->stats_lock);
    p->stats.overloaded = 0;
    pthread_mutex_unlock(&p->stats_lock);
}


static int
sl_ladder_open(sl_pipeline_t *p)
{
    size_t          i;
    sl_ladder_t    *ld = &p->ladder;
    const AVCodec  *codec;

    if (ld->video_header.data && sl_ladder_open_decoder(p) != SL_OK) {
        return SL_ERROR;
    }

    if (ld->decoder == NULL) {
        /* audio only: the source is all there is to play */
        return SL_OK;
    }

    codec = avcodec_find_encoder_by_name("libx264");

    for (i = 0; i < ld->nrungs; i++) {
        if (codec == NULL) {
            sl_pipeline_log(p, 1, "libx264 is not available: rendition "
                            "\"%s\" is off", ld->rungs[i].conf.name);
            continue;
        }

        sl_ladder_open_encoder(p, &ld->rungs[i], codec);
    }

    return SL_OK;
}


static int
sl_ladder_open_decoder(sl_pipeline_t *p)
{
    sl_ladder_t     *ld = &p->ladder;
    const AVCodec   *codec;
    AVCodecContext  *dec;

    codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    ld->decoder = codec ? avcodec_alloc_context3(codec) : NULL;
    ld->decoded = av_frame_alloc();

    if (ld->decoder == NULL || ld->decoded == NULL) {
        sl_pipeline_log(p, 1, "cannot create the H.264 decoder");
        return SL_ERROR;
    }

    dec = ld->decoder;

    dec->extradata = av_mallocz(ld->video_header.len
                                + AV_INPUT_BUFFER_PADDING_SIZE);
    if (dec->extradata == NULL) {
        return SL_ERROR;
    }

    memcpy(dec->extradata, ld->video_header.data, ld->video_header.len);
    dec->extradata_size = (int) ld->video_header.len;
    dec->pkt_timebase = (AVRational) { 1, 1000 };
    dec->thread_count = 1;

    if (avcodec_open2(dec, codec, NULL) < 0) {
        sl_pipeline_log(p, 1, "cannot open the H.264 decoder");
        return SL_ERROR;
    }

    return SL_OK;
}


/* a rung without an encoder (failed here) is off until the next restart */
static void
sl_ladder_open_encoder(sl_pipeline_t *p, sl_ladder_rung_t *rung,
    const AVCodec *codec)
{
    int              rc;
    char             opt[32];
    AVDictionary    *opts;
    AVCodecContext  *enc;

    rung->encoder = avcodec_alloc_context3(codec);
    rung->scaled = av_frame_alloc();
    if (rung->encoder == NULL || rung->scaled == NULL) {
        return;
    }

    enc = rung->encoder;
    enc->width = rung->conf.width;
    enc->height = rung->conf.height;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = (AVRational) { 1, 1000 };
    enc->framerate = (AVRational) { p->ladder.video_header.params.fps, 1 };
    enc->bit_rate = (int64_t) rung->conf.bitrate_kbps * 1000;
    enc->rc_max_rate = enc->bit_rate * 6 / 5;
    enc->rc_buffer_size = (int) (enc->bit_rate * 2);
    enc->gop_size = 600;                /* IDRs come from the source */
    enc->max_b_frames = 0;
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER | AV_CODEC_FLAG_CLOSED_GOP;
    enc->thread_count = p->conf.threads;

    opts = NULL;
    av_dict_set(&opts, "preset",
                rung->conf.preset ? rung->conf.preset : "veryfast", 0);
    av_dict_set(&opts, "profile",
                rung->conf.profile ? rung->conf.profile : "main", 0);
    av_dict_set(&opts, "tune", "zerolatency", 0);
    av_dict_set(&opts, "forced-idr", "1", 0);
    snprintf(opt, sizeof(opt), "scenecut=0");
    av_dict_set(&opts, "x264-params", opt, 0);

    rc = avcodec_open2(enc, codec, &opts);
    av_dict_free(&opts);

    if (rc < 0) {
        sl_pipeline_log(p, 1, "cannot open the encoder of rendition "
                        "\"%s\"", rung->conf.name);
        avcodec_free_context(&rung->encoder);
        return;
    }

    /* the init segment is written once the decoder knows the input */
    rung->init_written = 0;
}


static void
sl_ladder_close(sl_pipeline_t *p)
{
    size_t             i;
    sl_ladder_t       *ld = &p->ladder;
    sl_ladder_rung_t  *rung;

    /* the frames the decoder still holds (B-frame reordering) */
    if (ld->decoder && avcodec_send_packet(ld->decoder, NULL) == 0) {
        while (avcodec_receive_frame(ld->decoder, ld->decoded) == 0) {
            for (i = 0; i < ld->nrungs; i++) {
                if (ld->rungs[i].encoder) {
                    sl_ladder_encode(p, &ld->rungs[i], ld->decoded);
                }
            }

            av_frame_unref(ld->decoded);
        }
    }

    for (i = 0; i < ld->nrungs; i++) {
        rung = &ld->rungs[i];

        sl_ladder_drain(rung);

        if (rung->out.muxer) {
            sl_fmp4_close(&rung->out);

            /* a later start writes a new init after a discontinuity */
            rung->out.init_id++;
            rung->out.discontinuity = 1;
        }

        avcodec_free_context(&rung->encoder);
        av_frame_free(&rung->scaled);
        sws_freeContext(rung->scaler);
        rung->scaler = NULL;
        rung->ncuts = 0;
        rung->nforced = 0;
        rung->have_shift = 0;
        rung->init_written = 0;
        rung->init_failed = 0;
        rung->scale_failed = 0;
    }

    avcodec_free_context(&ld->decoder);
    av_frame_free(&ld->decoded);
    sl_preview_reset(&ld->preview);
    ld->skip_to_key = 0;
    ld->nclocks = 0;
}


/*
 * How many of the rung's cuts a frame at pts is due for: the frame of a
 * source cut becomes an IDR that starts the segment.  If that frame never
 * came (undecodable), the next frame does: the segment starts a little
 * late but under its number.  Cuts passed over together leave a gap in
 * this rendition.
 */
static size_t
sl_ladder_cuts_due(sl_ladder_rung_t *rung, int64_t pts)
{
    size_t  n;

    n = 0;
    while (n < rung->ncuts && rung->cuts[n].pts <= pts) {
        n++;
    }

    return n;
}


/*
 * The codec parameters of the encoder, audio of the source.  After a
 * failure (a write error) it is tried again at the next cut only, where
 * a segment can start.
 */
static int
sl_ladder_write_init(sl_pipeline_t *p, sl_ladder_rung_t *rung)
{
    int                 rc;
    AVCodecParameters  *video, *audio;
    sl_seq_header_t    *audio_header = &p->ladder.audio_header;

    video = avcodec_parameters_alloc();
    audio = audio_header->data ? avcodec_parameters_alloc() : NULL;

    rc = video == NULL
         || avcodec_parameters_from_context(video, rung->encoder) < 0
         || (audio_header->data
             && (audio == NULL || sl_codecpar_audio(audio, audio_header)))
         || sl_fmp4_open(&rung->out, video, audio) != SL_OK;

    avcodec_parameters_free(&video);
    avcodec_parameters_free(&audio);

    if (rc) {
        sl_fmp4_close(&rung->out);
        rung->init_failed = 1;
        return SL_ERROR;
    }

    rung->init_written = 1;
    rung->init_failed = 0;

    return SL_OK;
}


static void
sl_ladder_encode(sl_pipeline_t *p, sl_ladder_rung_t *rung, AVFrame *src)
{
    size_t     ndue;
    int64_t    pts;
    AVFrame   *scaled;
    AVPacket  *pkt;

    pts = src->best_effort_timestamp;
    ndue = sl_ladder_cuts_due(rung, pts);

    if (!rung->init_written) {
        if (rung->init_failed && ndue == 0) {
            return;
        }

        if (sl_ladder_write_init(p, rung) != SL_OK) {
            /* these segments are gaps in this rendition */
            rung->ncuts -= ndue;
            memmove(&rung->cuts[0], &rung->cuts[ndue],
                    rung->ncuts * sizeof(sl_cut_t));
            return;
        }
    }

    /*
     * An in-band SPS may change the decoded size or pixel format without
     * a new sequence header: the scaler follows every frame.
     */
    rung->scaler = sws_getCachedContext(rung->scaler, src->width,
                                        src->height, src->format,
                                        rung->conf.width, rung->conf.height,
                                        AV_PIX_FMT_YUV420P, SWS_BILINEAR,
                                        NULL, NULL, NULL);
    if (rung->scaler == NULL) {
        if (!rung->scale_failed) {
            rung->scale_failed = 1;
            sl_pipeline_log(p, 1, "cannot scale %dx%d (format %d) for "
                            "rendition \"%s\"", src->width, src->height,
                            src->format, rung->conf.name);
        }

        return;
    }

    rung->scale_failed = 0;
    scaled = rung->scaled;

    if (scaled->buf[0] == NULL) {
        scaled->format = AV_PIX_FMT_YUV420P;
        scaled->width = rung->conf.width;
        scaled->height = rung->conf.height;

        if (av_frame_get_buffer(scaled, 0) < 0) {
            sl_pipeline_log(p, 1, "out of memory");
            return;
        }
    }

    if (av_frame_make_writable(scaled) < 0) {
        return;
    }

    sws_scale(rung->scaler, (const uint8_t * const *) src->data,
              src->linesize, 0, src->height, scaled->data, scaled->linesize);

    scaled->pts = pts;
    scaled->pict_type = AV_PICTURE_TYPE_NONE;
    scaled->key_frame = 0;

    if (ndue) {
        if (rung->nforced < SL_CUTS) {
            rung->forced[rung->nforced] = rung->cuts[ndue - 1];
            rung->forced[rung->nforced].pts = scaled->pts;
            rung->nforced++;
        }

        scaled->pict_type = AV_PICTURE_TYPE_I;
        rung->ncuts -= ndue;
        memmove(&rung->cuts[0], &rung->cuts[ndue],
                rung->ncuts * sizeof(sl_cut_t));
    }

    if (avcodec_send_frame(rung->encoder, scaled) < 0) {
        return;
    }

    pkt = av_packet_alloc();
    if (pkt == NULL) {
        return;
    }

    while (avcodec_receive_packet(rung->encoder, pkt) == 0) {
        sl_ladder_output(p, rung, pkt);
        av_packet_unref(pkt);
    }

    av_packet_free(&pkt);
}


/* an encoded packet into the rung's output, starting its segment if the
 * frame was forced for a cut */
static void
sl_ladder_output(sl_pipeline_t *p, sl_ladder_rung_t *rung, AVPacket *pkt)
{
    size_t    i;
    int64_t   wallclock_ms;
    uint64_t  cut;

    cut = SL_NO_CUT;
    wallclock_ms = sl_ladder_clock(&p->ladder, pkt->pts);

    sl_pipeline_delay(p, wallclock_ms, &rung->out.stats->encode_delay);

    for (i = 0; i < rung->nforced; i++) {
        if (rung->forced[i].pts == pkt->pts) {
            cut = rung->forced[i].msn;
            wallclock_ms = rung->forced[i].wallclock_ms;
            rung->nforced--;
            memmove(&rung->forced[i], &rung->forced[i + 1],
                    (rung->nforced - i) * sizeof(sl_cut_t));
            break;
        }
    }

    pthread_mutex_lock(&p->stats_lock);
    rung->out.stats->frames_out++;
    pthread_mutex_unlock(&p->stats_lock);

    /*
     * The source's first keyframe is decoded at 0 and shown at its
     * composition offset (B-frames); the encoder's first frame is shown
     * at the same time: decode it at 0 too, so that every rendition
     * presents the same frame at the same time.
     */
    if (!rung->have_shift) {
        rung->dts_shift = pkt->dts;
        rung->have_shift = 1;
    }

    pkt->dts -= rung->dts_shift;
    sl_fmp4_packet(&rung->out, av_packet_clone(pkt), 1, cut, wallclock_ms);
}


/* when the source frame of pts came in, -1 if it is no longer known */
static int64_t
sl_ladder_clock(sl_ladder_t *ld, int64_t pts)
{
    size_t  i, n;

    n = ld->nclocks < SL_CLOCKS ? ld->nclocks : SL_CLOCKS;

    for (i = 1; i <= n; i++) {
        if (ld->clocks[(ld->nclocks - i) % SL_CLOCKS].pts == pts) {
            return ld->clocks[(ld->nclocks - i) % SL_CLOCKS].wallclock_ms;
        }
    }

    return -1;
}


static void
sl_ladder_drain(sl_ladder_rung_t *rung)
{
    AVPacket  *pkt;

    if (rung->encoder == NULL || !rung->init_written) {
        return;
    }

    if (avcodec_send_frame(rung->encoder, NULL) < 0) {
        return;
    }

    pkt = av_packet_alloc();
    if (pkt == NULL) {
        return;
    }

    while (avcodec_receive_packet(rung->encoder, pkt) == 0) {
        pkt->dts -= rung->dts_shift;
        sl_fmp4_packet(&rung->out, av_packet_clone(pkt), 1, SL_NO_CUT, -1);
        av_packet_unref(pkt);
    }

    av_packet_free(&pkt);
}
