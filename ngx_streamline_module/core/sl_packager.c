
/*
 * Streamline core, the media pipeline: the packager thread.  It takes
 * what the publisher sends (sequence headers and packets, in order), puts
 * the packets on one timeline that starts at 0 and never goes back,
 * decides where segments start, remuxes them into the source rendition
 * and forwards them to the ladder thread.
 */


#include <stdlib.h>
#include <string.h>

#include "sl_pipeline_int.h"


/* timestamps that go back more, or ahead more, start a new run */
#define SL_JUMP_BACK_MS      1000
#define SL_JUMP_AHEAD_MS     10000


static void sl_packager_handle(sl_pipeline_t *p, sl_msg_t *m);
static void sl_packager_header(sl_pipeline_t *p, sl_msg_t *m);
static int sl_packager_begin(sl_pipeline_t *p, sl_msg_t *m);
static void sl_packager_timeline(sl_pipeline_t *p, sl_msg_t *m);
static void sl_packager_cut(sl_pipeline_t *p, sl_msg_t *m);
static void sl_packager_remux(sl_pipeline_t *p, const sl_msg_t *m);
static void sl_packager_forward(sl_pipeline_t *p, sl_msg_t *m);
static void sl_packager_forward_headers(sl_pipeline_t *p);


void *
sl_packager_thread(void *arg)
{
    sl_pipeline_t  *p = arg;
    sl_msg_t       *m;
    int             detached;

    while ((m = sl_msgq_get(&p->to_packager)) != NULL) {
        sl_packager_handle(p, m);
    }

    sl_fmp4_close(&p->packager.source);

    if (p->has_ladder) {
        sl_msgq_stop(&p->to_ladder);
        pthread_join(p->ladder_thread, NULL);
    }

    sl_names_end(p);

    pthread_mutex_lock(&p->to_packager.lock);
    detached = p->detached;
    pthread_mutex_unlock(&p->to_packager.lock);

    if (detached) {
        if (p->conf.on_end) {
            p->conf.on_end(p->conf.data, &p->stats);
        }

        sl_pipeline_free(p);
    }

    return NULL;
}


/* m is freed here or by the ladder */
static void
sl_packager_handle(sl_pipeline_t *p, sl_msg_t *m)
{
    int             video;
    sl_packager_t  *pk = &p->packager;

    if (m->type != SL_MSG_PACKET) {
        sl_packager_header(p, m);
        free(m);
        return;
    }

    video = m->video;

    if (video ? pk->video_header.data == NULL
              : pk->audio_header.data == NULL)
    {
        /*
         * no sequence header yet: nothing could decode this; said once a
         * track, or a publisher that never sends one leaves no trace
         */
        if (!pk->headerless[video]) {
            pk->headerless[video] = 1;
            sl_pipeline_log(p, 1, "%s packets before any sequence header "
                            "are dropped", video ? "video" : "audio");
        }

        free(m);
        return;
    }

    if (pk->started
        && (pk->video_header_changed || pk->audio_header_changed)
        && (video ? m->key : pk->video_header.data == NULL))
    {
        /* new codec parameters: new init segments after a discontinuity */
        sl_pipeline_log(p, 0, "codec parameters changed, new init segment");
        sl_fmp4_close(&pk->source);
        pk->source.init_id++;
        pk->source.discontinuity = 1;
        pk->started = 0;
        m->restart = 1;
    }

    if (!pk->started && sl_packager_begin(p, m) != SL_OK) {
        free(m);
        return;
    }

    sl_packager_timeline(p, m);
    sl_packager_cut(p, m);
    sl_packager_remux(p, m);

    pthread_mutex_lock(&p->stats_lock);
    p->stats.packets_out++;
    pthread_mutex_unlock(&p->stats_lock);

    sl_packager_forward(p, m);
}


static void
sl_packager_header(sl_pipeline_t *p, sl_msg_t *m)
{
    int             rc;
    sl_packager_t  *pk = &p->packager;

    if (m->type == SL_MSG_VIDEO_HEADER) {
        rc = sl_seq_header_set(&pk->video_header, m);
        pk->source.fps = pk->video_header.params.fps;

        if (rc > 0 && pk->started) {
            pk->video_header_changed = 1;
        }

        return;
    }

    rc = sl_seq_header_set(&pk->audio_header, m);

    if (rc > 0 && pk->started) {
        pk->audio_header_changed = 1;
    }
}


/*
 * A run starts on a keyframe, or on audio when there is no video: the
 * source's init segment from the headers, the timeline from 0.
 * SL_DECLINED: not here; SL_ERROR: no init segment.
 */
static int
sl_packager_begin(sl_pipeline_t *p, sl_msg_t *m)
{
    int                 rc;
    sl_packager_t      *pk = &p->packager;
    AVCodecParameters  *video, *audio;

    if (m->video ? !m->key : pk->video_header.data != NULL) {
        return SL_DECLINED;
    }

    pk->video_header_changed = 0;
    pk->audio_header_changed = 0;

    video = pk->video_header.data ? avcodec_parameters_alloc() : NULL;
    audio = pk->audio_header.data ? avcodec_parameters_alloc() : NULL;

    rc = (pk->video_header.data
          && (video == NULL
              || sl_codecpar_video(video, &pk->video_header)))
         || (pk->audio_header.data
             && (audio == NULL
                 || sl_codecpar_audio(audio, &pk->audio_header)))
         || sl_fmp4_open(&pk->source, video, audio) != SL_OK;

    avcodec_parameters_free(&video);
    avcodec_parameters_free(&audio);

    if (rc) {
        sl_fmp4_close(&pk->source);
        return SL_ERROR;
    }

    pk->started = 1;
    pk->have_dts[0] = pk->have_dts[1] = 0;
    pk->shift_ms[0] = pk->shift_ms[1] = 0;
    pk->base_ms = m->dts_ms;
    pk->segment_start_ms = INT64_MIN;
    m->restart = 1;

    return SL_OK;
}


/*
 * Every rendition shares one timeline that starts at 0 (the muxers wrote
 * their moov before any sample, no edit list can shift it) and never goes
 * back within a stream: m->dts_ms is rewritten onto it.
 */
static void
sl_packager_timeline(sl_pipeline_t *p, sl_msg_t *m)
{
    int             video;
    int64_t         dts, last;
    sl_packager_t  *pk = &p->packager;

    video = m->video;
    dts = m->dts_ms - pk->base_ms + pk->shift_ms[video];
    last = pk->last_dts_ms[video];

    if (pk->have_dts[video]
        && (dts < last - SL_JUMP_BACK_MS || dts > last + SL_JUMP_AHEAD_MS))
    {
        /* a publisher's clock jumped (or wrapped): the timeline goes on */
        sl_pipeline_log(p, 0, "%s timestamps jumped by %lld ms, timeline "
                        "continued", video ? "video" : "audio",
                        (long long) (dts - last));
        pk->shift_ms[video] += last + (video ? 33 : 21) - dts;
        dts = last + (video ? 33 : 21);
    }

    if (dts < 0) {
        dts = 0;
    }

    if (pk->have_dts[video] && dts <= last) {
        dts = last + 1;
    }

    pk->last_dts_ms[video] = dts;
    pk->have_dts[video] = 1;
    m->dts_ms = dts;
}


/*
 * Segments start on video keyframes (on audio without video), or on time
 * when none came: on a video frame, or on audio when the video has paused
 * for a part (see sl_pipeline_segment_max_us()).  m->cut says where.
 */
static void
sl_packager_cut(sl_pipeline_t *p, sl_msg_t *m)
{
    int             key_cut, stalled;
    int64_t         dts, dur;
    sl_packager_t  *pk = &p->packager;

    dts = m->dts_ms;

    m->cut = SL_NO_CUT;
    key_cut = m->video ? m->key : pk->video_header.data == NULL;
    stalled = !m->video && pk->have_dts[1]
              && (dts - pk->last_dts_ms[1]) * 1000 >= p->conf.part_us;
    dur = pk->segment_start_ms == INT64_MIN ? 0
                                            : dts - pk->segment_start_ms;

    if (pk->segment_start_ms == INT64_MIN
        ? key_cut
        : (key_cut && dur * 1000 >= p->conf.segment_us)
          || ((m->video || stalled) && dur >= p->segment_max_ms))
    {
        m->cut = pk->next_msn++;
        pk->segment_start_ms = dts;
    }
}


/* into the source rendition */
static void
sl_packager_remux(sl_pipeline_t *p, const sl_msg_t *m)
{
    AVPacket   *pkt;
    sl_fmp4_t  *source = &p->packager.source;

    if ((m->video ? source->video_index : source->audio_index) < 0) {
        return;
    }

    pkt = av_packet_alloc();

    if (pkt == NULL || av_new_packet(pkt, (int) m->len) < 0) {
        av_packet_free(&pkt);
        sl_pipeline_log(p, 1, "out of memory");
        return;
    }

    memcpy(pkt->data, m->data, m->len);
    pkt->dts = m->dts_ms;
    pkt->pts = m->dts_ms + (m->cts_ms > 0 ? m->cts_ms : 0);
    pkt->flags = (!m->video || m->key) ? AV_PKT_FLAG_KEY : 0;
    sl_fmp4_packet(source, pkt, m->video, m->cut, m->wallclock_ms);
}


/*
 * To the ladder.  The ladder drops the video frames that reach it late
 * (sl_overload_t); its queue is bounded as well, for a ladder that hangs
 * in one call: when it is full, video frames are dropped here up to the
 * next keyframe (the decoder needs every reference); keyframes, segment
 * starts and audio always pass, so the ladder's segments stay aligned
 * with the source's.
 */
static void
sl_packager_forward(sl_pipeline_t *p, sl_msg_t *m)
{
    size_t          i;
    sl_packager_t  *pk = &p->packager;

    if (!p->has_ladder || pk->ladder_off) {
        free(m);
        return;
    }

    if (sl_msgq_full(&p->to_ladder, 4 * p->conf.queue_max, p->queue_bytes)) {
        /*
         * Even keyframes and audio pile up: the ladder is stuck.  It gets
         * nothing more (memory stays bounded); the source goes on.
         */
        pk->ladder_off = 1;
        sl_pipeline_log(p, 1, "the ladder is stuck: switched off, "
                        "the source rendition goes on");
        free(m);
        return;
    }

    if (m->restart) {
        sl_packager_forward_headers(p);
    }

    if (m->video && !m->key
        && (pk->ladder_skip_to_key
            || sl_msgq_full(&p->to_ladder, p->conf.queue_max,
                            p->queue_bytes / 4)))
    {
        if (!pk->ladder_skip_to_key) {
            sl_pipeline_log(p, 1, "the ladder's queue is full: dropping "
                            "video frames up to the next keyframe");
        }

        pk->ladder_skip_to_key = 1;

        pthread_mutex_lock(&p->stats_lock);

        for (i = 1; i <= p->conf.nrungs; i++) {
            p->stats.renditions[i].frames_dropped++;
        }

        pthread_mutex_unlock(&p->stats_lock);

        /* a segment starts here all the same: with the next packet */
        if (m->cut != SL_NO_CUT) {
            pk->ladder_cut = m->cut;
        }

        free(m);
        return;
    }

    if (m->video && m->key) {
        pk->ladder_skip_to_key = 0;
    }

    if (pk->ladder_cut != SL_NO_CUT) {
        if (m->cut == SL_NO_CUT) {
            m->cut = pk->ladder_cut;
        }

        pk->ladder_cut = SL_NO_CUT;
    }

    sl_msgq_put(&p->to_ladder, m);
}


/* the ladder gets the headers the source started with */
static void
sl_packager_forward_headers(sl_pipeline_t *p)
{
    sl_msg_t         *m;
    sl_seq_header_t  *h;

    h = &p->packager.video_header;
    m = sl_msg_new(SL_MSG_VIDEO_HEADER, h->data, h->len);

    if (m && h->data) {
        m->params = h->params;
        sl_msgq_put(&p->to_ladder, m);

    } else {
        free(m);
    }

    h = &p->packager.audio_header;
    m = sl_msg_new(SL_MSG_AUDIO_HEADER, h->data, h->len);

    if (m && h->data) {
        m->params = h->params;
        sl_msgq_put(&p->to_ladder, m);

    } else {
        free(m);
    }
}
