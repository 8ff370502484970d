/*
 * The media pipeline: see sl_pipeline.h.
 *
 * Two threads a channel.  The packager thread takes what the publisher
 * sends, remuxes it into the source rendition and forwards it to the
 * ladder thread, which decodes the video once, scales and encodes it for
 * every rung and packages each rung.  The queue between the two is
 * bounded and drops video frames (up to the next keyframe) when the ladder
 * falls behind, so a slow encoder never stalls the source rendition.
 *
 * The packager thread decides where segments start (a video keyframe once
 * the segment has its target duration) and tells every rendition, so that
 * segment numbers and boundaries are the same in all renditions: encoders
 * are forced to an IDR frame at every segment start.
 *
 * A write error (ENOSPC, EMFILE, ...) loses the segment being written, not
 * the rendition: the muxer never sees the error (its output goes nowhere
 * until the segment ends), the segment is reported as lost (a gap in the
 * index, so numbers stay in step) and the next one is tried afresh.  One
 * log line when the failures begin and one when writing works again.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "sl_core.h"
#include "sl_pipeline.h"


#define SL_MSG_VIDEO_HEADER  1
#define SL_MSG_AUDIO_HEADER  2
#define SL_MSG_PACKET        3

#define SL_IO_BUFFER         65536
#define SL_QUEUE_BYTES       (64 * 1024 * 1024)
#define SL_HEADER_SLACK      16

/* timestamps that go back more, or ahead more, start a new run */
#define SL_JUMP_BACK_MS      1000
#define SL_JUMP_AHEAD_MS     10000
#define SL_NO_CUT            UINT64_MAX

#define sl_max(a, b)         ((a) > (b) ? (a) : (b))


typedef struct sl_msg_s  sl_msg_t;

struct sl_msg_s {
    sl_msg_t   *next;
    int         type;
    int         video;
    int         key;
    int64_t     dts_ms;
    int32_t     cts_ms;
    int64_t     wallclock_ms;
    uint64_t    cut;           /* a segment starts here: its msn */
    int         restart;       /* new init segment (discontinuity) */
    int         a, b, c;       /* width/height/fps or rate/channels */
    size_t      len;
    uint8_t     data[];
};


/* a bounded message queue between two threads */
typedef struct {
    pthread_mutex_t       lock;
    pthread_cond_t        cond;
    sl_msg_t             *head;
    sl_msg_t            **tail;
    size_t                len;
    size_t                bytes;
    int                   stopping;
} sl_mq_t;


typedef struct {
    uint8_t    *data;
    size_t      len;
    int         a, b, c;
} sl_header_t;


/* one rendition's packager: mp4 muxer, segment and part files */
typedef struct {
    char                  name[64];
    char                  dir[4096];
    struct sl_pipeline_s *p;
    sl_rendition_stats_t *stats;

    AVFormatContext      *oc;
    int                   vindex;      /* -1: no such stream */
    int                   aindex;
    AVPacket             *held[2];     /* [0] audio, [1] video */
    uint64_t              held_cut[2];
    int64_t               last_dts[2];
    int                   have_dts[2];

    int                   fd;
    uint64_t              written;
    uint8_t              *part_buf;       /* the part being written */
    size_t                part_len;
    size_t                part_size;
    char                  tmp_path[4200];
    char                  path[4200];

    unsigned              init_id;
    char                  codecs[64];
    int                   width;
    int                   height;
    int                   seg_open;
    int                   discontinuity;
    int64_t               seg_start_ms;
    int64_t               seg_end_ms[2];  /* of each stream's samples */
    int64_t               last_dur[2];    /* the last known durations */
    int64_t               part_start_ms;
    uint64_t              part_offset;
    int                   part_independent;
    int                   part_video;     /* the part has a video frame */
    int                   frag_pending;
    int                   lost;           /* the file being written is */
    int                   failing;        /* since the last good segment */
    uint64_t              nlost;          /* segments lost meanwhile */
    sl_segment_info_t     seg;
} sl_out_t;


/* a segment start: its msn, the pts of its first frame, its wall clock */
#define SL_CUTS  16

typedef struct {
    uint64_t              msn;
    int64_t               pts;
    int64_t               wall;
} sl_cut_t;


/* one ladder rung: scaler and encoder in front of a packager */
typedef struct {
    sl_rung_t             conf;
    struct SwsContext    *sws;
    AVCodecContext       *enc;
    AVFrame              *frame;
    sl_cut_t              cuts[SL_CUTS];     /* source keyframes to come */
    size_t                ncuts;
    sl_cut_t              forced[SL_CUTS];   /* frames forced to IDR */
    size_t                nforced;
    int64_t               dts_shift;
    int                   have_shift;
    int                   opened;      /* its out has an init segment */
    int                   open_failed;
    int                   sws_failed;
    sl_out_t              out;
} sl_rung_state_t;


struct sl_pipeline_s {
    sl_pipeline_conf_t    conf;
    char                 *dir;
    char                 *rendition;

    pthread_t             thread;
    pthread_t             ladder_thread;
    int                   ladder;
    sl_mq_t               in;
    sl_mq_t               lq;          /* to the ladder */
    int                   detached;
    int                   ladder_done;

    pthread_mutex_t       stats_lock;
    sl_pipeline_stats_t   stats;

    /* names reserved in conf.names (either thread), see sl_names_use */
    pthread_mutex_t       names_lock;
    uint64_t              names_msn;     /* reserved below this */
    unsigned              names_init;
    uint64_t              next_msn;      /* used below this */
    unsigned              next_init;
    size_t                queue_bytes;
    int64_t               seg_max_ms;

    /* the packager thread */
    sl_header_t           vhdr;
    sl_header_t           ahdr;
    int                   vhdr_changed;
    int                   ahdr_changed;
    int                   started;
    int64_t               base_ms;
    int64_t               shift[2];    /* after timestamp jumps */
    int64_t               last_dts[2];
    int                   have_dts[2];
    int                   headerless[2]; /* no header yet: logged once */
    uint64_t              msn;
    int64_t               cut_ms;      /* where the current segment began */
    int                   skip_to_key; /* the ladder dropped a frame */
    uint64_t              lcut;        /* a cut the ladder has yet to get */
    int                   ladder_off;  /* and then got stuck */
    sl_out_t              source;

    /* the ladder thread */
    sl_header_t           lvhdr;
    sl_header_t           lahdr;
    AVCodecContext       *dec;
    AVFrame              *decoded;
    int                   dec_skip;    /* decode from the next keyframe */
    size_t                nrungs;
    sl_rung_state_t       rungs[SL_PIPELINE_MAX_RUNGS];
};


static void *sl_pipeline_thread(void *arg);
static void *sl_ladder_thread(void *arg);
static void sl_pipeline_free(sl_pipeline_t *p);
static void sl_pipeline_handle(sl_pipeline_t *p, sl_msg_t *m);
static void sl_pipeline_forward(sl_pipeline_t *p, sl_msg_t *m);
static int sl_header_admit(sl_pipeline_t *p, size_t len);
static void sl_ladder_handle(sl_pipeline_t *p, sl_msg_t *m);
static int sl_ladder_open(sl_pipeline_t *p);
static void sl_ladder_close(sl_pipeline_t *p);
static void sl_ladder_encode(sl_pipeline_t *p, sl_rung_state_t *r,
    AVFrame *src);
static void sl_ladder_drain(sl_rung_state_t *r);

static int sl_mq_init(sl_mq_t *q);
static void sl_mq_destroy(sl_mq_t *q);
static void sl_mq_put(sl_mq_t *q, sl_msg_t *m);
static sl_msg_t *sl_mq_get(sl_mq_t *q);
static void sl_mq_stop(sl_mq_t *q);
static int sl_mq_full(sl_mq_t *q, size_t max, size_t bytes);
static sl_msg_t *sl_msg_new(int type, const uint8_t *data, size_t len);

static void sl_out_init(sl_out_t *o, sl_pipeline_t *p, const char *name,
    sl_rendition_stats_t *stats);
static int sl_out_open(sl_out_t *o, const AVCodecParameters *vpar,
    const AVCodecParameters *apar);
static void sl_out_close(sl_out_t *o);
static void sl_out_packet(sl_out_t *o, AVPacket *pkt, int video,
    uint64_t cut);
static void sl_out_write(sl_out_t *o, AVPacket *pkt, int video, uint64_t cut);
static void sl_out_flush_fragment(sl_out_t *o, int64_t end_ms);
static int sl_out_write_part(sl_out_t *o);
static int sl_out_open_segment(sl_out_t *o, uint64_t msn, int64_t start_ms,
    int64_t wallclock_ms);
static void sl_out_close_segment(sl_out_t *o, int64_t end_ms);
static int sl_out_open_file(sl_out_t *o, const char *name);
static int sl_out_close_file(sl_out_t *o);
static int sl_out_io_write(void *opaque, uint8_t *buf, int size);
static void sl_out_fail(sl_out_t *o, const char *what, const char *path,
    int err);
static int sl_names_use(sl_pipeline_t *p, uint64_t msn, unsigned init_id);
static void sl_names_end(sl_pipeline_t *p);
static int sl_file_replace(const char *path, const void *data, size_t len,
    int durable);

static int sl_header_set(sl_header_t *h, const uint8_t *data, size_t len,
    int a, int b);
static void sl_codecs(char *buf, size_t size, const AVCodecParameters *vpar,
    const AVCodecParameters *apar);
static int sl_par_video(AVCodecParameters *par, const sl_header_t *h);
static int sl_par_audio(AVCodecParameters *par, const sl_header_t *h);
static void sl_pipeline_log(sl_pipeline_t *p, int error, const char *fmt,
    ...);


/* the public side, called from the nginx worker's event loop */

sl_pipeline_t *
sl_pipeline_start(const sl_pipeline_conf_t *conf)
{
    size_t          i;
    sl_pipeline_t  *p;

    if (conf->nrungs > SL_PIPELINE_MAX_RUNGS) {
        return NULL;
    }

    p = calloc(1, sizeof(sl_pipeline_t));
    if (p == NULL) {
        return NULL;
    }

    p->conf = *conf;
    p->dir = strdup(conf->dir);
    p->rendition = strdup(conf->rendition);
    p->conf.dir = p->dir;
    p->conf.rendition = p->rendition;
    p->conf.names = NULL;
    p->msn = conf->first_msn;
    p->nrungs = conf->nrungs;
    p->ladder = conf->nrungs > 0;
    p->lcut = SL_NO_CUT;
    p->queue_bytes = conf->queue_bytes ? conf->queue_bytes : SL_QUEUE_BYTES;
    p->seg_max_ms = sl_pipeline_segment_max_us(conf->segment_us,
                                               conf->part_us) / 1000;
    p->next_msn = conf->first_msn;
    p->next_init = conf->first_init_id;

    if (p->dir == NULL || p->rendition == NULL) {
        goto failed;
    }

    if (conf->names) {
        p->conf.names = strdup(conf->names);
        if (p->conf.names == NULL) {
            goto failed;
        }
    }

    p->stats.nrenditions = 1 + conf->nrungs;
    sl_out_init(&p->source, p, p->rendition, &p->stats.renditions[0]);

    for (i = 0; i < conf->nrungs; i++) {
        p->rungs[i].conf = conf->rungs[i];
        sl_out_init(&p->rungs[i].out, p, conf->rungs[i].name,
                    &p->stats.renditions[1 + i]);
    }

    if (pthread_mutex_init(&p->stats_lock, NULL) != 0) {
        goto failed;
    }

    if (pthread_mutex_init(&p->names_lock, NULL) != 0) {
        goto failed_stats;
    }

    if (sl_mq_init(&p->in) != SL_OK) {
        goto failed_names;
    }

    if (sl_mq_init(&p->lq) != SL_OK) {
        goto failed_in;
    }

    if (p->ladder
        && pthread_create(&p->ladder_thread, NULL, sl_ladder_thread, p) != 0)
    {
        goto failed_lq;
    }

    if (pthread_create(&p->thread, NULL, sl_pipeline_thread, p) != 0) {
        if (p->ladder) {
            sl_mq_stop(&p->lq);
            pthread_join(p->ladder_thread, NULL);
        }

        goto failed_lq;
    }

    return p;

failed_lq:
    sl_mq_destroy(&p->lq);
failed_in:
    sl_mq_destroy(&p->in);
failed_names:
    pthread_mutex_destroy(&p->names_lock);
failed_stats:
    pthread_mutex_destroy(&p->stats_lock);
failed:
    free((char *) p->conf.names);
    free(p->dir);
    free(p->rendition);
    free(p);
    return NULL;
}


int64_t
sl_pipeline_segment_max_us(int64_t segment_us, int64_t part_us)
{
    int64_t  max;

    max = (segment_us + 999999) / 1000000 * 1000000 + 499000 - part_us;

    return sl_max(max, segment_us);
}


int
sl_pipeline_video_header(sl_pipeline_t *p, const uint8_t *avcc, size_t len,
    int width, int height, int fps)
{
    int        rc;
    sl_msg_t  *m;

    rc = sl_header_admit(p, len);
    if (rc != SL_OK) {
        return rc;
    }

    m = sl_msg_new(SL_MSG_VIDEO_HEADER, avcc, len);
    if (m == NULL) {
        return SL_ERROR;
    }

    /*
     * The size the SPS states, which the decoder and players go by; the
     * publisher's metadata (which may hold half of it, or nothing) only
     * when the SPS cannot be read.
     */
    (void) sl_avc_size(avcc, len, &width, &height);

    m->a = width;
    m->b = height;
    m->c = fps > 0 && fps <= 240 ? fps : 30;
    sl_mq_put(&p->in, m);

    return SL_OK;
}


int
sl_pipeline_audio_header(sl_pipeline_t *p, const uint8_t *asc, size_t len,
    int sample_rate, int channels)
{
    int        rc;
    sl_msg_t  *m;

    rc = sl_header_admit(p, len);
    if (rc != SL_OK) {
        return rc;
    }

    m = sl_msg_new(SL_MSG_AUDIO_HEADER, asc, len);
    if (m == NULL) {
        return SL_ERROR;
    }

    m->a = sample_rate;
    m->b = channels;
    sl_mq_put(&p->in, m);

    return SL_OK;
}


/*
 * A publisher may send headers as often as packets: they count in the
 * queue's bounds like packets (with a little slack, so that one that
 * follows a burst still gets through), and are small.
 */
static int
sl_header_admit(sl_pipeline_t *p, size_t len)
{
    int  rc;

    rc = SL_OK;

    if (len > SL_PIPELINE_MAX_HEADER) {
        rc = SL_ERROR;

    } else if (sl_mq_full(&p->in, p->conf.queue_max + SL_HEADER_SLACK,
                          p->queue_bytes + SL_HEADER_SLACK
                                           * SL_PIPELINE_MAX_HEADER))
    {
        rc = SL_DECLINED;
    }

    if (rc != SL_OK) {
        pthread_mutex_lock(&p->stats_lock);
        p->stats.headers_dropped++;
        pthread_mutex_unlock(&p->stats_lock);
    }

    return rc;
}


int
sl_pipeline_push(sl_pipeline_t *p, int video, int64_t dts_ms, int32_t cts_ms,
    int key, int64_t wallclock_ms, const uint8_t *data, size_t len)
{
    sl_msg_t  *m;

    pthread_mutex_lock(&p->stats_lock);
    p->stats.packets_in++;
    pthread_mutex_unlock(&p->stats_lock);

    if (sl_mq_full(&p->in, p->conf.queue_max, p->queue_bytes)) {
        pthread_mutex_lock(&p->stats_lock);
        p->stats.packets_dropped++;
        pthread_mutex_unlock(&p->stats_lock);
        return SL_DECLINED;
    }

    m = sl_msg_new(SL_MSG_PACKET, data, len);
    if (m == NULL) {
        return SL_ERROR;
    }

    m->video = video ? 1 : 0;
    m->dts_ms = dts_ms;
    m->cts_ms = cts_ms;
    m->key = key;
    m->wallclock_ms = wallclock_ms;
    sl_mq_put(&p->in, m);

    return SL_OK;
}


void
sl_pipeline_stats(sl_pipeline_t *p, sl_pipeline_stats_t *st)
{
    pthread_mutex_lock(&p->stats_lock);
    *st = p->stats;
    pthread_mutex_unlock(&p->stats_lock);
}


void
sl_pipeline_stop(sl_pipeline_t *p)
{
    sl_mq_stop(&p->in);
    pthread_join(p->thread, NULL);
    sl_pipeline_free(p);
}


void
sl_pipeline_finish(sl_pipeline_t *p)
{
    pthread_mutex_lock(&p->in.lock);
    p->detached = 1;
    pthread_mutex_unlock(&p->in.lock);

    pthread_detach(p->thread);
    sl_mq_stop(&p->in);
}


static void
sl_pipeline_free(sl_pipeline_t *p)
{
    sl_mq_destroy(&p->in);
    sl_mq_destroy(&p->lq);
    pthread_mutex_destroy(&p->stats_lock);
    pthread_mutex_destroy(&p->names_lock);

    free((char *) p->conf.names);
    free(p->vhdr.data);
    free(p->ahdr.data);
    free(p->lvhdr.data);
    free(p->lahdr.data);
    free(p->dir);
    free(p->rendition);
    free(p);
}


/* the packager thread */

static void *
sl_pipeline_thread(void *arg)
{
    sl_pipeline_t  *p = arg;
    sl_msg_t       *m;
    int             detached;

    while ((m = sl_mq_get(&p->in)) != NULL) {
        sl_pipeline_handle(p, m);
    }

    sl_out_close(&p->source);

    if (p->ladder) {
        sl_mq_stop(&p->lq);
        pthread_join(p->ladder_thread, NULL);
    }

    sl_names_end(p);

    pthread_mutex_lock(&p->in.lock);
    detached = p->detached;
    pthread_mutex_unlock(&p->in.lock);

    if (detached) {
        if (p->conf.on_end) {
            p->conf.on_end(p->conf.data, &p->stats);
        }

        sl_pipeline_free(p);
    }

    return NULL;
}


static void
sl_pipeline_handle(sl_pipeline_t *p, sl_msg_t *m)
{
    int                 video, rc, key_cut, stalled;
    int64_t             dts, dur;
    AVPacket           *pkt;
    AVCodecParameters  *vpar, *apar;

    switch (m->type) {

    case SL_MSG_VIDEO_HEADER:
        rc = sl_header_set(&p->vhdr, m->data, m->len, m->a, m->b);
        p->vhdr.c = m->c;
        if (rc > 0 && p->started) {
            p->vhdr_changed = 1;
        }

        free(m);
        return;

    case SL_MSG_AUDIO_HEADER:
        rc = sl_header_set(&p->ahdr, m->data, m->len, m->a, m->b);
        if (rc > 0 && p->started) {
            p->ahdr_changed = 1;
        }

        free(m);
        return;
    }

    video = m->video;

    if (video ? p->vhdr.data == NULL : p->ahdr.data == NULL) {
        /*
         * no sequence header yet: nothing could decode this; said once a
         * track, or a publisher that never sends one leaves no trace
         */
        if (!p->headerless[video]) {
            p->headerless[video] = 1;
            sl_pipeline_log(p, 1, "%s packets before any sequence header "
                            "are dropped", video ? "video" : "audio");
        }

        free(m);
        return;
    }

    if (p->started && (p->vhdr_changed || p->ahdr_changed)
        && (video ? m->key : p->vhdr.data == NULL))
    {
        /* new codec parameters: new init segments after a discontinuity */
        sl_pipeline_log(p, 0, "codec parameters changed, new init segment");
        sl_out_close(&p->source);
        p->source.init_id++;
        p->source.discontinuity = 1;
        p->started = 0;
        m->restart = 1;
    }

    if (!p->started) {
        /* start on a keyframe, or on audio when there is no video */
        if (video ? !m->key : p->vhdr.data != NULL) {
            free(m);
            return;
        }

        p->vhdr_changed = 0;
        p->ahdr_changed = 0;

        vpar = p->vhdr.data ? avcodec_parameters_alloc() : NULL;
        apar = p->ahdr.data ? avcodec_parameters_alloc() : NULL;

        rc = (p->vhdr.data && (vpar == NULL || sl_par_video(vpar, &p->vhdr)))
             || (p->ahdr.data && (apar == NULL || sl_par_audio(apar, &p->ahdr)))
             || sl_out_open(&p->source, vpar, apar) != SL_OK;

        avcodec_parameters_free(&vpar);
        avcodec_parameters_free(&apar);

        if (rc) {
            sl_out_close(&p->source);
            free(m);
            return;
        }

        p->started = 1;
        p->have_dts[0] = p->have_dts[1] = 0;
        p->shift[0] = p->shift[1] = 0;
        p->base_ms = m->dts_ms;
        p->cut_ms = INT64_MIN;
        m->restart = 1;
    }

    /*
     * Every rendition shares one timeline that starts at 0 (the muxers
     * wrote their moov before any sample, no edit list can shift it) and
     * never goes back within a stream.
     */
    dts = m->dts_ms - p->base_ms + p->shift[video];

    if (p->have_dts[video]
        && (dts < p->last_dts[video] - SL_JUMP_BACK_MS
            || dts > p->last_dts[video] + SL_JUMP_AHEAD_MS))
    {
        /* a publisher's clock jumped (or wrapped): the timeline goes on */
        sl_pipeline_log(p, 0, "%s timestamps jumped by %lld ms, timeline "
                        "continued", video ? "video" : "audio",
                        (long long) (dts - p->last_dts[video]));
        p->shift[video] += p->last_dts[video] + (video ? 33 : 21) - dts;
        dts = p->last_dts[video] + (video ? 33 : 21);
    }

    if (dts < 0) {
        dts = 0;
    }

    if (p->have_dts[video] && dts <= p->last_dts[video]) {
        dts = p->last_dts[video] + 1;
    }

    p->last_dts[video] = dts;
    p->have_dts[video] = 1;
    m->dts_ms = dts;

    /*
     * Segments start on video keyframes (on audio without video), or on
     * time when none came: on a video frame, or on audio when the video
     * has paused for a part (see sl_pipeline_segment_max_us()).
     */
    m->cut = SL_NO_CUT;
    key_cut = video ? m->key : p->vhdr.data == NULL;
    stalled = !video && p->have_dts[1]
              && (dts - p->last_dts[1]) * 1000 >= p->conf.part_us;
    dur = p->cut_ms == INT64_MIN ? 0 : dts - p->cut_ms;

    if (p->cut_ms == INT64_MIN
        ? key_cut
        : (key_cut && dur * 1000 >= p->conf.segment_us)
          || ((video || stalled) && dur >= p->seg_max_ms))
    {
        m->cut = p->msn++;
        p->cut_ms = dts;
    }

    if ((video ? p->source.vindex : p->source.aindex) >= 0) {
        pkt = av_packet_alloc();

        if (pkt == NULL || av_new_packet(pkt, (int) m->len) < 0) {
            av_packet_free(&pkt);
            sl_pipeline_log(p, 1, "out of memory");

        } else {
            memcpy(pkt->data, m->data, m->len);
            pkt->dts = dts;
            pkt->pts = dts + (m->cts_ms > 0 ? m->cts_ms : 0);
            pkt->flags = (!video || m->key) ? AV_PKT_FLAG_KEY : 0;
            pkt->pos = m->wallclock_ms;
            sl_out_packet(&p->source, pkt, video, m->cut);
        }
    }

    pthread_mutex_lock(&p->stats_lock);
    p->stats.packets_out++;
    pthread_mutex_unlock(&p->stats_lock);

    sl_pipeline_forward(p, m);
}


/*
 * To the ladder.  When its queue is full, video frames are dropped up to
 * the next keyframe (the decoder needs every reference); keyframes,
 * segment starts and audio always pass, so the ladder's segments stay
 * aligned with the source's.
 */
static void
sl_pipeline_forward(sl_pipeline_t *p, sl_msg_t *m)
{
    sl_msg_t  *h;

    if (!p->ladder || p->ladder_off) {
        free(m);
        return;
    }

    if (sl_mq_full(&p->lq, 4 * p->conf.queue_max, p->queue_bytes)) {
        /*
         * Even keyframes and audio pile up: the ladder is stuck.  It gets
         * nothing more (memory stays bounded); the source goes on.
         */
        p->ladder_off = 1;
        sl_pipeline_log(p, 1, "the ladder is stuck: switched off, "
                        "the source rendition goes on");
        free(m);
        return;
    }

    if (m->restart) {
        /* the ladder gets the headers the source started with */
        h = sl_msg_new(SL_MSG_VIDEO_HEADER, p->vhdr.data, p->vhdr.len);
        if (h && p->vhdr.data) {
            h->a = p->vhdr.a;
            h->b = p->vhdr.b;
            h->c = p->vhdr.c;
            sl_mq_put(&p->lq, h);

        } else {
            free(h);
        }

        h = sl_msg_new(SL_MSG_AUDIO_HEADER, p->ahdr.data, p->ahdr.len);
        if (h && p->ahdr.data) {
            h->a = p->ahdr.a;
            h->b = p->ahdr.b;
            sl_mq_put(&p->lq, h);

        } else {
            free(h);
        }
    }

    if (m->video && !m->key
        && (p->skip_to_key
            || sl_mq_full(&p->lq, p->conf.queue_max, p->queue_bytes / 4)))
    {
        if (!p->skip_to_key) {
            sl_pipeline_log(p, 1, "the ladder falls behind: dropping "
                            "frames up to the next keyframe");
        }

        p->skip_to_key = 1;

        pthread_mutex_lock(&p->stats_lock);
        p->stats.renditions[1].frames_dropped++;
        pthread_mutex_unlock(&p->stats_lock);

        /* a segment starts here all the same: with the next packet */
        if (m->cut != SL_NO_CUT) {
            p->lcut = m->cut;
        }

        free(m);
        return;
    }

    if (m->video && m->key) {
        p->skip_to_key = 0;
    }

    if (p->lcut != SL_NO_CUT) {
        if (m->cut == SL_NO_CUT) {
            m->cut = p->lcut;
        }

        p->lcut = SL_NO_CUT;
    }

    sl_mq_put(&p->lq, m);
}


/* the ladder thread */

static void *
sl_ladder_thread(void *arg)
{
    sl_pipeline_t  *p = arg;
    sl_msg_t       *m;

    while ((m = sl_mq_get(&p->lq)) != NULL) {
        sl_ladder_handle(p, m);
        free(m);
    }

    sl_ladder_close(p);

    return NULL;
}


static void
sl_ladder_handle(sl_pipeline_t *p, sl_msg_t *m)
{
    size_t            i;
    AVPacket         *pkt;
    sl_rung_state_t  *r;

    switch (m->type) {

    case SL_MSG_VIDEO_HEADER:
        (void) sl_header_set(&p->lvhdr, m->data, m->len, m->a, m->b);
        p->lvhdr.c = m->c;
        return;

    case SL_MSG_AUDIO_HEADER:
        (void) sl_header_set(&p->lahdr, m->data, m->len, m->a, m->b);
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
    if (p->dec == NULL && (p->lvhdr.data || m->video)) {
        return;
    }

    if (!m->video) {
        /* audio is copied into every rung */
        for (i = 0; i < p->nrungs; i++) {
            r = &p->rungs[i];

            if (r->out.oc == NULL || r->out.aindex < 0) {
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
            pkt->pos = m->wallclock_ms;
            sl_out_packet(&r->out, pkt, 0, m->cut);
        }

        return;
    }

    if (p->dec_skip && !m->key) {
        return;
    }

    p->dec_skip = 0;

    pkt = av_packet_alloc();
    if (pkt == NULL || av_new_packet(pkt, (int) m->len) < 0) {
        av_packet_free(&pkt);
        return;
    }

    memcpy(pkt->data, m->data, m->len);
    pkt->dts = m->dts_ms;
    pkt->pts = m->dts_ms + (m->cts_ms > 0 ? m->cts_ms : 0);
    pkt->flags = m->key ? AV_PKT_FLAG_KEY : 0;

    /* the frame that comes out for this packet must start the segment */
    if (m->cut != SL_NO_CUT) {
        for (i = 0; i < p->nrungs; i++) {
            r = &p->rungs[i];

            if (r->ncuts < SL_CUTS) {
                r->cuts[r->ncuts].msn = m->cut;
                r->cuts[r->ncuts].pts = pkt->pts;
                r->cuts[r->ncuts].wall = m->wallclock_ms;
                r->ncuts++;
            }
        }
    }

    if (avcodec_send_packet(p->dec, pkt) < 0) {
        sl_pipeline_log(p, 1, "cannot decode a video frame, waiting for "
                        "the next keyframe");
        p->dec_skip = 1;
        av_packet_free(&pkt);
        return;
    }

    av_packet_free(&pkt);

    while (avcodec_receive_frame(p->dec, p->decoded) == 0) {

        for (i = 0; i < p->nrungs; i++) {
            r = &p->rungs[i];

            if (r->enc == NULL) {
                continue;
            }

            pthread_mutex_lock(&p->stats_lock);
            r->out.stats->frames_in++;
            pthread_mutex_unlock(&p->stats_lock);

            sl_ladder_encode(p, r, p->decoded);
        }

        av_frame_unref(p->decoded);
    }
}


static int
sl_ladder_open(sl_pipeline_t *p)
{
    int                 rc;
    char                opt[32];
    size_t              i;
    AVDictionary       *opts;
    sl_rung_state_t    *r;
    const AVCodec      *codec;

    if (p->lvhdr.data) {
        codec = avcodec_find_decoder(AV_CODEC_ID_H264);
        p->dec = codec ? avcodec_alloc_context3(codec) : NULL;
        p->decoded = av_frame_alloc();

        if (p->dec == NULL || p->decoded == NULL) {
            sl_pipeline_log(p, 1, "cannot create the H.264 decoder");
            return SL_ERROR;
        }

        p->dec->extradata = av_mallocz(p->lvhdr.len
                                       + AV_INPUT_BUFFER_PADDING_SIZE);
        if (p->dec->extradata == NULL) {
            return SL_ERROR;
        }

        memcpy(p->dec->extradata, p->lvhdr.data, p->lvhdr.len);
        p->dec->extradata_size = (int) p->lvhdr.len;
        p->dec->pkt_timebase = (AVRational) { 1, 1000 };
        p->dec->thread_count = 1;

        if (avcodec_open2(p->dec, codec, NULL) < 0) {
            sl_pipeline_log(p, 1, "cannot open the H.264 decoder");
            return SL_ERROR;
        }
    }

    codec = avcodec_find_encoder_by_name("libx264");

    for (i = 0; i < p->nrungs; i++) {
        r = &p->rungs[i];

        if (p->dec == NULL) {
            /* audio only: the source is all there is to play */
            continue;
        }

        if (codec == NULL) {
            sl_pipeline_log(p, 1, "libx264 is not available: rendition "
                            "\"%s\" is off", r->conf.name);
            continue;
        }

        r->enc = avcodec_alloc_context3(codec);
        r->frame = av_frame_alloc();
        if (r->enc == NULL || r->frame == NULL) {
            continue;
        }

        r->enc->width = r->conf.width;
        r->enc->height = r->conf.height;
        r->enc->pix_fmt = AV_PIX_FMT_YUV420P;
        r->enc->time_base = (AVRational) { 1, 1000 };
        r->enc->framerate = (AVRational) { p->lvhdr.c, 1 };
        r->enc->bit_rate = (int64_t) r->conf.bitrate_kbps * 1000;
        r->enc->rc_max_rate = r->enc->bit_rate * 6 / 5;
        r->enc->rc_buffer_size = (int) (r->enc->bit_rate * 2);
        r->enc->gop_size = 600;             /* IDRs come from the source */
        r->enc->max_b_frames = 0;
        r->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER | AV_CODEC_FLAG_CLOSED_GOP;
        r->enc->thread_count = p->conf.threads;

        opts = NULL;
        av_dict_set(&opts, "preset",
                    r->conf.preset ? r->conf.preset : "veryfast", 0);
        av_dict_set(&opts, "profile",
                    r->conf.profile ? r->conf.profile : "main", 0);
        av_dict_set(&opts, "tune", "zerolatency", 0);
        av_dict_set(&opts, "forced-idr", "1", 0);
        snprintf(opt, sizeof(opt), "scenecut=0");
        av_dict_set(&opts, "x264-params", opt, 0);

        rc = avcodec_open2(r->enc, codec, &opts);
        av_dict_free(&opts);

        if (rc < 0) {
            sl_pipeline_log(p, 1, "cannot open the encoder of rendition "
                            "\"%s\"", r->conf.name);
            avcodec_free_context(&r->enc);
            continue;
        }

        /* the init segment is written once the decoder knows the input */
        r->opened = 0;
    }

    return SL_OK;
}


static void
sl_ladder_encode(sl_pipeline_t *p, sl_rung_state_t *r, AVFrame *src)
{
    int                 rc;
    size_t              i, n;
    int64_t             pts;
    AVPacket           *pkt;
    AVCodecParameters  *vpar, *apar;

    /*
     * The frame of a source cut becomes an IDR that starts the segment.
     * If that frame never came (undecodable), the next frame does: the
     * segment starts a little late but under its number.  Cuts passed
     * over together leave a gap in this rendition.
     */
    pts = src->best_effort_timestamp;
    n = 0;
    while (n < r->ncuts && r->cuts[n].pts <= pts) {
        n++;
    }

    if (!r->opened) {
        /*
         * The codec parameters of the encoder, audio of the source.  After
         * a failure (a write error) it is tried again at the next cut
         * only, where a segment can start.
         */
        if (r->open_failed && n == 0) {
            return;
        }

        vpar = avcodec_parameters_alloc();
        apar = p->lahdr.data ? avcodec_parameters_alloc() : NULL;

        rc = vpar == NULL
             || avcodec_parameters_from_context(vpar, r->enc) < 0
             || (p->lahdr.data
                 && (apar == NULL || sl_par_audio(apar, &p->lahdr)))
             || sl_out_open(&r->out, vpar, apar) != SL_OK;

        avcodec_parameters_free(&vpar);
        avcodec_parameters_free(&apar);

        if (rc) {
            sl_out_close(&r->out);
            r->open_failed = 1;
            r->ncuts -= n;
            memmove(&r->cuts[0], &r->cuts[n], r->ncuts * sizeof(sl_cut_t));
            return;
        }

        r->opened = 1;
        r->open_failed = 0;
    }

    /*
     * An in-band SPS may change the decoded size or pixel format without
     * a new sequence header: the scaler follows every frame.
     */
    r->sws = sws_getCachedContext(r->sws, src->width, src->height,
                                  src->format, r->conf.width,
                                  r->conf.height, AV_PIX_FMT_YUV420P,
                                  SWS_BILINEAR, NULL, NULL, NULL);
    if (r->sws == NULL) {
        if (!r->sws_failed) {
            r->sws_failed = 1;
            sl_pipeline_log(p, 1, "cannot scale %dx%d (format %d) for "
                            "rendition \"%s\"", src->width, src->height,
                            src->format, r->conf.name);
        }

        return;
    }

    r->sws_failed = 0;

    if (r->frame->buf[0] == NULL) {
        r->frame->format = AV_PIX_FMT_YUV420P;
        r->frame->width = r->conf.width;
        r->frame->height = r->conf.height;

        if (av_frame_get_buffer(r->frame, 0) < 0) {
            sl_pipeline_log(p, 1, "out of memory");
            return;
        }
    }

    if (av_frame_make_writable(r->frame) < 0) {
        return;
    }

    sws_scale(r->sws, (const uint8_t * const *) src->data, src->linesize,
              0, src->height, r->frame->data, r->frame->linesize);

    r->frame->pts = pts;
    r->frame->pict_type = AV_PICTURE_TYPE_NONE;
    r->frame->key_frame = 0;

    if (n) {
        if (r->nforced < SL_CUTS) {
            r->forced[r->nforced] = r->cuts[n - 1];
            r->forced[r->nforced].pts = r->frame->pts;
            r->nforced++;
        }

        r->frame->pict_type = AV_PICTURE_TYPE_I;
        r->ncuts -= n;
        memmove(&r->cuts[0], &r->cuts[n], r->ncuts * sizeof(sl_cut_t));
    }

    if (avcodec_send_frame(r->enc, r->frame) < 0) {
        return;
    }

    pkt = av_packet_alloc();
    if (pkt == NULL) {
        return;
    }

    while (avcodec_receive_packet(r->enc, pkt) == 0) {
        uint64_t  c = SL_NO_CUT;
        int64_t   wall = -1;

        for (i = 0; i < r->nforced; i++) {
            if (r->forced[i].pts == pkt->pts) {
                c = r->forced[i].msn;
                wall = r->forced[i].wall;
                r->nforced--;
                memmove(&r->forced[i], &r->forced[i + 1],
                        (r->nforced - i) * sizeof(sl_cut_t));
                break;
            }
        }

        pthread_mutex_lock(&p->stats_lock);
        r->out.stats->frames_out++;
        pthread_mutex_unlock(&p->stats_lock);

        /*
         * The source's first keyframe is decoded at 0 and shown at its
         * composition offset (B-frames); the encoder's first frame is
         * shown at the same time: decode it at 0 too, so that every
         * rendition presents the same frame at the same time.
         */
        if (!r->have_shift) {
            r->dts_shift = pkt->dts;
            r->have_shift = 1;
        }

        pkt->dts -= r->dts_shift;
        pkt->pos = wall;        /* the segment's PROGRAM-DATE-TIME */
        sl_out_packet(&r->out, av_packet_clone(pkt), 1, c);
        av_packet_unref(pkt);
    }

    av_packet_free(&pkt);
}


static void
sl_ladder_drain(sl_rung_state_t *r)
{
    AVPacket  *pkt;

    if (r->enc == NULL || !r->opened) {
        return;
    }

    if (avcodec_send_frame(r->enc, NULL) < 0) {
        return;
    }

    pkt = av_packet_alloc();
    if (pkt == NULL) {
        return;
    }

    while (avcodec_receive_packet(r->enc, pkt) == 0) {
        pkt->dts -= r->dts_shift;
        pkt->pos = -1;
        sl_out_packet(&r->out, av_packet_clone(pkt), 1, SL_NO_CUT);
        av_packet_unref(pkt);
    }

    av_packet_free(&pkt);
}


static void
sl_ladder_close(sl_pipeline_t *p)
{
    size_t            i;
    sl_rung_state_t  *r;

    /* the frames the decoder still holds (B-frame reordering) */
    if (p->dec && avcodec_send_packet(p->dec, NULL) == 0) {
        while (avcodec_receive_frame(p->dec, p->decoded) == 0) {
            for (i = 0; i < p->nrungs; i++) {
                if (p->rungs[i].enc) {
                    sl_ladder_encode(p, &p->rungs[i], p->decoded);
                }
            }

            av_frame_unref(p->decoded);
        }
    }

    for (i = 0; i < p->nrungs; i++) {
        r = &p->rungs[i];

        sl_ladder_drain(r);

        if (r->out.oc) {
            sl_out_close(&r->out);

            /* a later start writes a new init after a discontinuity */
            r->out.init_id++;
            r->out.discontinuity = 1;
        }

        avcodec_free_context(&r->enc);
        av_frame_free(&r->frame);
        sws_freeContext(r->sws);
        r->sws = NULL;
        r->ncuts = 0;
        r->nforced = 0;
        r->have_shift = 0;
        r->opened = 0;
        r->open_failed = 0;
        r->sws_failed = 0;
    }

    avcodec_free_context(&p->dec);
    av_frame_free(&p->decoded);
    p->dec_skip = 0;
}


/* a rendition's packager */

static void
sl_out_init(sl_out_t *o, sl_pipeline_t *p, const char *name,
    sl_rendition_stats_t *stats)
{
    memset(o, 0, sizeof(sl_out_t));
    o->p = p;
    o->stats = stats;
    snprintf(o->name, sizeof(o->name), "%s", name);
    snprintf(o->dir, sizeof(o->dir), "%s/%s", p->dir, name);
    o->fd = -1;
    o->vindex = -1;
    o->aindex = -1;
    o->init_id = p->conf.first_init_id;
    o->discontinuity = p->conf.resume;
}


static int
sl_out_open(sl_out_t *o, const AVCodecParameters *vpar,
    const AVCodecParameters *apar)
{
    int               rc;
    char              name[64];
    uint8_t          *iobuf;
    AVStream         *st;
    AVDictionary     *opts;
    AVFormatContext  *oc;

    if (mkdir(o->dir, 0755) != 0 && errno != EEXIST) {
        sl_pipeline_log(o->p, 1, "cannot create \"%s\": %s", o->dir,
                        strerror(errno));
        return SL_ERROR;
    }

    if (avformat_alloc_output_context2(&oc, NULL, "mp4", NULL) < 0) {
        sl_pipeline_log(o->p, 1, "cannot create the mp4 muxer");
        return SL_ERROR;
    }

    o->oc = oc;
    /* our timestamps start at 0 already; B-frames must not shift them */
    oc->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
    o->vindex = -1;
    o->aindex = -1;
    o->have_dts[0] = o->have_dts[1] = 0;

    if (vpar) {
        st = avformat_new_stream(oc, NULL);
        if (st == NULL || avcodec_parameters_copy(st->codecpar, vpar) < 0) {
            return SL_ERROR;
        }

        st->time_base = (AVRational) { 1, 1000 };
        st->codecpar->codec_tag = 0;
        o->vindex = st->index;
    }

    if (apar) {
        st = avformat_new_stream(oc, NULL);
        if (st == NULL || avcodec_parameters_copy(st->codecpar, apar) < 0) {
            return SL_ERROR;
        }

        st->time_base = (AVRational) { 1, 1000 };
        st->codecpar->codec_tag = 0;
        o->aindex = st->index;
    }

    iobuf = av_malloc(SL_IO_BUFFER);
    if (iobuf == NULL) {
        return SL_ERROR;
    }

    oc->pb = avio_alloc_context(iobuf, SL_IO_BUFFER, 1, o, NULL,
                                sl_out_io_write, NULL);
    if (oc->pb == NULL) {
        av_free(iobuf);
        return SL_ERROR;
    }

    sl_codecs(o->codecs, sizeof(o->codecs), vpar, apar);
    o->width = vpar ? vpar->width : 0;
    o->height = vpar ? vpar->height : 0;

    snprintf(name, sizeof(name), "init-%u.mp4", o->init_id);

    o->lost = 0;

    if (sl_names_use(o->p, SL_NO_CUT, o->init_id) != SL_OK) {
        sl_out_fail(o, "keep the names in", o->p->conf.names, errno);
        return SL_ERROR;
    }

    if (sl_out_open_file(o, name) != SL_OK) {
        return SL_ERROR;
    }

    /*
     * Not "cmaf": it rebases composition offsets per track, which would
     * show the B-frame-less ladder 1-2 frames earlier than the source.
     * "skip_trailer": no trailer is written, and without it the muxer
     * keeps an index entry (tfra) per fragment and track for the whole
     * stream, 1 MB an hour per rendition.
     */
    opts = NULL;
    av_dict_set(&opts, "movflags",
                "frag_custom+empty_moov+default_base_moof+skip_trailer", 0);

    rc = avformat_write_header(oc, &opts);
    av_dict_free(&opts);

    if (rc < 0) {
        sl_pipeline_log(o->p, 1, "the mp4 muxer refused the stream "
                        "parameters of rendition \"%s\"", o->name);
        return SL_ERROR;
    }

    avio_flush(oc->pb);

    return sl_out_close_file(o);
}


static void
sl_out_close(sl_out_t *o)
{
    int      i;
    int64_t  end;

    if (o->oc == NULL) {
        return;
    }

    /* the held packets end the stream with the duration before them */
    for (i = 0; i < 2; i++) {
        if (o->held[i]) {
            o->held[i]->duration = o->last_dur[i] > 0 ? o->last_dur[i]
                                                      : (i ? 33 : 21);
            sl_out_write(o, o->held[i], i, o->held_cut[i]);
            av_packet_free(&o->held[i]);
        }
    }

    if (o->seg_open) {
        /* the video's end when there is video: audio frames overhang */
        end = o->seg_end_ms[o->vindex >= 0 ? 1 : 0];
        if (end <= o->seg_start_ms) {
            end = sl_max(o->seg_end_ms[0], o->seg_end_ms[1]);
        }

        sl_out_flush_fragment(o, end);
        sl_out_close_segment(o, end);
    }

    if (o->fd >= 0) {
        /* an init segment that never completed */
        close(o->fd);
        o->fd = -1;
        unlink(o->tmp_path);
    }

    if (o->oc->pb) {
        av_freep(&o->oc->pb->buffer);
        avio_context_free(&o->oc->pb);
    }

    avformat_free_context(o->oc);
    o->oc = NULL;
    o->vindex = -1;
    o->aindex = -1;

    free(o->part_buf);
    o->part_buf = NULL;
    o->part_len = 0;
    o->part_size = 0;
}


/* a packet's duration is known when the next one of its stream comes */
static void
sl_out_packet(sl_out_t *o, AVPacket *pkt, int video, uint64_t cut)
{
    AVPacket  *prev;

    if (pkt == NULL) {
        return;
    }

    if (o->oc == NULL || (video ? o->vindex : o->aindex) < 0) {
        av_packet_free(&pkt);
        return;
    }

    pkt->stream_index = video ? o->vindex : o->aindex;

    if (o->have_dts[video] && pkt->dts <= o->last_dts[video]) {
        pkt->dts = o->last_dts[video] + 1;
        if (pkt->pts < pkt->dts) {
            pkt->pts = pkt->dts;
        }
    }

    o->last_dts[video] = pkt->dts;
    o->have_dts[video] = 1;

    prev = o->held[video];
    if (prev) {
        prev->duration = pkt->dts - prev->dts;
        o->last_dur[video] = prev->duration;
        sl_out_write(o, prev, video, o->held_cut[video]);
        av_packet_free(&prev);
    }

    o->held[video] = pkt;
    o->held_cut[video] = cut;
}


static void
sl_out_write(sl_out_t *o, AVPacket *pkt, int video, uint64_t cut)
{
    int64_t    dts_ms, end_ms, wallclock;
    AVStream  *st;

    dts_ms = pkt->dts;
    end_ms = pkt->dts + pkt->duration;
    wallclock = pkt->pos;

    if (cut != SL_NO_CUT) {
        if (o->seg_open) {
            sl_out_flush_fragment(o, dts_ms);
            sl_out_close_segment(o, dts_ms);
        }

        sl_out_open_segment(o, cut, dts_ms, wallclock);

    } else if (!o->seg_open) {
        /* before the first segment start of this rendition */
        return;

    } else if ((end_ms - o->part_start_ms) * 1000 > o->p->conf.part_us
               && dts_ms > o->part_start_ms
               && (video || o->vindex < 0 || !o->have_dts[1]
                   || (dts_ms - o->last_dts[1]) * 1000
                      >= o->p->conf.part_us)
               && o->seg.nparts < SL_PIPELINE_MAX_PARTS - 1)
    {
        /* on a video frame, or on audio while the video pauses */
        sl_out_flush_fragment(o, dts_ms);
        o->part_independent = o->vindex < 0;
        o->part_video = 0;
    }

    if (video && !o->part_video) {
        o->part_video = 1;
        o->part_independent = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    }

    st = o->oc->streams[pkt->stream_index];
    pkt->pos = -1;
    av_packet_rescale_ts(pkt, (AVRational) { 1, 1000 }, st->time_base);

    if (av_write_frame(o->oc, pkt) < 0) {
        sl_pipeline_log(o->p, 1, "the mp4 muxer refused a packet of "
                        "rendition \"%s\"", o->name);
        return;
    }

    o->frag_pending = 1;

    if (end_ms > o->seg_end_ms[video]) {
        o->seg_end_ms[video] = end_ms;
    }
}


static void
sl_out_flush_fragment(sl_out_t *o, int64_t end_ms)
{
    sl_part_info_t  *part;

    if (!o->frag_pending) {
        return;
    }

    av_write_frame(o->oc, NULL);
    avio_flush(o->oc->pb);
    o->frag_pending = 0;

    /* sl_out_write() cuts no more parts than these */
    part = &o->seg.parts[o->seg.nparts++];
    part->duration_us = (end_ms - o->part_start_ms) * 1000;
    part->offset = o->part_offset;
    part->independent = o->part_independent;
    part->bytes = o->written - part->offset;

    o->part_start_ms = end_ms;
    o->part_offset = o->written;

    /* a lost segment's parts are not reported: the index gets a gap */
    if (!o->lost && sl_out_write_part(o) == SL_OK && o->p->conf.on_part) {
        o->p->conf.on_part(o->p->conf.data, &o->seg);
    }
}


/* the bytes of the part just flushed, as a file of its own */
static int
sl_out_write_part(sl_out_t *o)
{
    int     err;
    char    path[4200];
    size_t  len;

    snprintf(path, sizeof(path), "%s/part-%llu.%zu.m4s", o->dir,
             (unsigned long long) o->seg.msn, o->seg.nparts - 1);

    len = o->part_len;
    o->part_len = 0;

    /* not synced: a part is played within seconds or not at all */
    err = sl_file_replace(path, o->part_buf, len, 0);

    if (err) {
        sl_out_fail(o, "write", path, err);
        return SL_ERROR;
    }

    return SL_OK;
}


/*
 * A segment whose file cannot be created is still "open": the muxer gets
 * its packets as always (its timeline must not skip), its output goes
 * nowhere, and the segment is reported lost when it ends.
 */
static int
sl_out_open_segment(sl_out_t *o, uint64_t msn, int64_t start_ms,
    int64_t wallclock_ms)
{
    char  name[64];

    snprintf(name, sizeof(name), "seg-%llu.m4s", (unsigned long long) msn);

    o->lost = 0;

    if (sl_names_use(o->p, msn, o->init_id) != SL_OK) {
        sl_out_fail(o, "keep the names in", o->p->conf.names, errno);
        o->written = 0;

    } else {
        (void) sl_out_open_file(o, name);
    }

    memset(&o->seg, 0, sizeof(sl_segment_info_t));
    o->seg.rendition = o->name;
    o->seg.msn = msn;
    o->seg.pdt_ms = wallclock_ms;
    o->seg.init_id = o->init_id;
    o->seg.codecs = o->codecs;
    o->seg.width = o->width;
    o->seg.height = o->height;
    o->seg.fps = o->p->vhdr.c;
    o->seg.discontinuity = o->discontinuity;
    o->discontinuity = 0;

    o->part_len = 0;
    o->seg_open = 1;
    o->seg_start_ms = start_ms;
    o->seg_end_ms[0] = start_ms;
    o->seg_end_ms[1] = start_ms;
    o->part_start_ms = start_ms;
    o->part_offset = 0;
    o->part_independent = o->vindex < 0;
    o->part_video = 0;

    return o->lost ? SL_ERROR : SL_OK;
}


/* end_ms: where the next segment starts, or the end of the last sample */
static void
sl_out_close_segment(sl_out_t *o, int64_t end_ms)
{
    sl_pipeline_t  *p = o->p;

    o->seg_open = 0;
    o->seg.duration_us = (end_ms - o->seg_start_ms) * 1000;
    o->seg.bytes = o->written;

    if (sl_out_close_file(o) == SL_OK) {
        if (o->failing) {
            sl_pipeline_log(p, 0, "rendition \"%s\": writing works again, "
                            "%llu segment(s) lost", o->name,
                            (unsigned long long) o->nlost);
            o->failing = 0;
            o->nlost = 0;
        }

        pthread_mutex_lock(&p->stats_lock);
        o->stats->segments++;
        o->stats->bytes += o->seg.bytes;
        p->stats.segments++;
        p->stats.bytes += o->seg.bytes;
        pthread_mutex_unlock(&p->stats_lock);

    } else {
        o->lost = 0;
        o->nlost++;
        o->seg.lost = 1;
        o->seg.bytes = 0;

        pthread_mutex_lock(&p->stats_lock);
        o->stats->segments_lost++;
        pthread_mutex_unlock(&p->stats_lock);
    }

    if (p->conf.on_segment) {
        p->conf.on_segment(p->conf.data, &o->seg);
    }
}


static int
sl_out_open_file(sl_out_t *o, const char *name)
{
    snprintf(o->path, sizeof(o->path), "%s/%s", o->dir, name);
    snprintf(o->tmp_path, sizeof(o->tmp_path), "%s/%s.tmp", o->dir, name);

    o->written = 0;
    o->fd = open(o->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (o->fd < 0) {
        sl_out_fail(o, "create", o->tmp_path, errno);
        return SL_ERROR;
    }

    return SL_OK;
}


/* readers only ever see complete files: write, then rename */
static int
sl_out_close_file(sl_out_t *o)
{
    int  fd = o->fd;

    o->fd = -1;

    if (fd < 0) {
        return SL_ERROR;
    }

    if (o->lost) {
        close(fd);
        unlink(o->tmp_path);
        return SL_ERROR;
    }

    if (close(fd) != 0 || rename(o->tmp_path, o->path) != 0) {
        sl_out_fail(o, "write", o->path, errno);
        unlink(o->tmp_path);
        return SL_ERROR;
    }

    return SL_OK;
}


/*
 * The muxer never sees a write error: avio would keep it for good.  The
 * file being written is lost instead (the bytes go nowhere until it
 * ends), and the next file is tried afresh.
 */
static int
sl_out_io_write(void *opaque, uint8_t *buf, int size)
{
    sl_out_t  *o = opaque;
    ssize_t    n;
    int        left;
    size_t     nsize;
    uint8_t   *nbuf;

    if (o->fd < 0 || o->lost) {
        /* no file (lost, or muxer output outside any file): dropped */
        return size;
    }

    if (o->seg_open) {
        if (o->part_len + size > o->part_size) {
            nsize = (o->part_len + size) * 2;
            nbuf = realloc(o->part_buf, nsize);

            if (nbuf == NULL) {
                sl_out_fail(o, "buffer a part of", o->tmp_path, ENOMEM);
                return size;
            }

            o->part_buf = nbuf;
            o->part_size = nsize;
        }

        memcpy(o->part_buf + o->part_len, buf, size);
        o->part_len += size;
    }

    for (left = size; left > 0; left -= n, buf += n) {
        n = write(o->fd, buf, left);

        if (n < 0) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }

            sl_out_fail(o, "write", o->tmp_path, errno);
            return size;
        }
    }

    o->written += size;

    return size;
}


/*
 * The file being written is lost.  One log line when failures begin (the
 * rendition was writing), none while they go on: a full disk would
 * otherwise log every packet.
 */
static void
sl_out_fail(sl_out_t *o, const char *what, const char *path, int err)
{
    o->lost = 1;

    if (o->failing) {
        return;
    }

    o->failing = 1;

    pthread_mutex_lock(&o->p->stats_lock);
    o->stats->write_errors++;
    pthread_mutex_unlock(&o->p->stats_lock);

    sl_pipeline_log(o->p, 1, "rendition \"%s\": cannot %s \"%s\": %s; "
                    "segments are lost (gaps) until writing works again",
                    o->name, what, path ? path : "", strerror(err));
}


/*
 * Names never repeat: before a file takes a segment or init number, the
 * names file says that the next stream starts beyond it.  Written ahead,
 * a block at a time, from the pipeline threads.
 */
static int
sl_names_use(sl_pipeline_t *p, uint64_t msn, unsigned init_id)
{
    int  rc;

    rc = SL_OK;

    pthread_mutex_lock(&p->names_lock);

    if (msn != SL_NO_CUT && msn >= p->next_msn) {
        p->next_msn = msn + 1;
    }

    if (init_id >= p->next_init) {
        p->next_init = init_id + 1;
    }

    if (p->conf.names
        && (p->next_msn > p->names_msn || p->next_init > p->names_init))
    {
        if (sl_pipeline_names_store(p->conf.names,
                                    p->next_msn + SL_PIPELINE_NAMES_BLOCK,
                                    p->next_init + SL_PIPELINE_NAMES_BLOCK)
            == SL_OK)
        {
            p->names_msn = p->next_msn + SL_PIPELINE_NAMES_BLOCK;
            p->names_init = p->next_init + SL_PIPELINE_NAMES_BLOCK;

        } else {
            rc = SL_ERROR;
        }
    }

    pthread_mutex_unlock(&p->names_lock);

    return rc;
}


/* the stream ended: the next one starts right after what it used */
static void
sl_names_end(sl_pipeline_t *p)
{
    if (p->conf.names == NULL || p->names_msn == 0) {
        return;
    }

    if (sl_pipeline_names_store(p->conf.names, sl_max(p->next_msn, p->msn),
                                p->next_init)
        != SL_OK)
    {
        sl_pipeline_log(p, 1, "cannot write \"%s\": %s", p->conf.names,
                        strerror(errno));
    }
}


int
sl_pipeline_names_load(const char *path, uint64_t *msn, unsigned *init_id)
{
    int                 fd;
    char                buf[64];
    ssize_t             n;
    unsigned long long  a, b;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return SL_DECLINED;
    }

    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);

    if (n <= 0) {
        return SL_DECLINED;
    }

    buf[n] = '\0';

    if (sscanf(buf, "%llu %llu", &a, &b) != 2 || a > UINT64_MAX / 2
        || b > UINT32_MAX)
    {
        return SL_DECLINED;
    }

    *msn = a;
    *init_id = (unsigned) b;

    return SL_OK;
}


/* synced: after a crash the file holds the old numbers or the new */
int
sl_pipeline_names_store(const char *path, uint64_t msn, unsigned init_id)
{
    int   err, len;
    char  buf[64];

    len = snprintf(buf, sizeof(buf), "%llu %u\n", (unsigned long long) msn,
                   init_id);

    err = sl_file_replace(path, buf, len, 1);

    if (err) {
        errno = err;
        return SL_ERROR;
    }

    return SL_OK;
}


/*
 * The file at path becomes data whole, or stays as it was: written under
 * a temporary name, synced first if durable, renamed over it.  Returns 0
 * or the errno of the step that failed.
 */
static int
sl_file_replace(const char *path, const void *data, size_t len, int durable)
{
    int      fd, err;
    char     tmp[4300];
    size_t   off;
    ssize_t  n;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int) sizeof(tmp)) {
        return ENAMETOOLONG;
    }

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno;
    }

    err = 0;

    for (off = 0; off < len; off += n) {
        n = write(fd, (const uint8_t *) data + off, len - off);

        if (n < 0) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }

            err = errno;
            break;
        }
    }

    if (err == 0 && durable && fsync(fd) != 0) {
        err = errno;
    }

    if (close(fd) != 0 && err == 0) {
        err = errno;
    }

    if (err == 0 && rename(tmp, path) != 0) {
        err = errno;
    }

    if (err) {
        unlink(tmp);
    }

    return err;
}


/* codec parameters from sequence headers */

static int
sl_par_extradata(AVCodecParameters *par, const sl_header_t *h)
{
    par->extradata = av_mallocz(h->len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (par->extradata == NULL) {
        return SL_ERROR;
    }

    memcpy(par->extradata, h->data, h->len);
    par->extradata_size = (int) h->len;

    return SL_OK;
}


static int
sl_par_video(AVCodecParameters *par, const sl_header_t *h)
{
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = AV_CODEC_ID_H264;
    par->width = h->a;
    par->height = h->b;

    return sl_par_extradata(par, h);
}


static int
sl_par_audio(AVCodecParameters *par, const sl_header_t *h)
{
    par->codec_type = AVMEDIA_TYPE_AUDIO;
    par->codec_id = AV_CODEC_ID_AAC;
    par->sample_rate = h->a;
    par->frame_size = 1024;
    av_channel_layout_default(&par->ch_layout, h->b);

    return sl_par_extradata(par, h);
}


static int
sl_header_set(sl_header_t *h, const uint8_t *data, size_t len, int a, int b)
{
    uint8_t  *d;

    if (h->data && h->len == len && memcmp(h->data, data, len) == 0
        && h->a == a && h->b == b)
    {
        return 0;
    }

    d = malloc(len ? len : 1);
    if (d == NULL) {
        return -1;
    }

    memcpy(d, data, len);
    free(h->data);
    h->data = d;
    h->len = len;
    h->a = a;
    h->b = b;

    return 1;
}


/*
 * RFC 6381 codec names: "avc1.PPCCLL" from the SPS (in an avcC record or
 * in Annex B form, as libx264 gives it) and "mp4a.40.<object type>".
 */
static void
sl_codecs(char *buf, size_t size, const AVCodecParameters *vpar,
    const AVCodecParameters *apar)
{
    int             n, aot;
    size_t          i;
    const uint8_t  *sps, *d;

    buf[0] = '\0';
    n = 0;
    sps = NULL;

    if (vpar && vpar->extradata_size >= 4) {
        d = vpar->extradata;

        if (d[0] == 1) {
            sps = d + 1;                    /* avcC: profile, compat, level */

        } else {
            for (i = 0; i + 7 < (size_t) vpar->extradata_size; i++) {
                if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1
                    && (d[i + 3] & 0x1f) == 7)
                {
                    sps = d + i + 4;
                    break;
                }
            }
        }
    }

    if (sps) {
        n = snprintf(buf, size, "avc1.%02x%02x%02x", sps[0], sps[1], sps[2]);
    }

    if (apar && n >= 0 && (size_t) n < size) {
        aot = 2;

        if (apar->extradata_size >= 1) {
            aot = apar->extradata[0] >> 3;
            if (aot == 0 || aot == 31) {
                aot = 2;
            }
        }

        snprintf(buf + n, size - n, "%smp4a.40.%d", n ? "," : "", aot);
    }
}


/* messages and queues */

static sl_msg_t *
sl_msg_new(int type, const uint8_t *data, size_t len)
{
    sl_msg_t  *m;

    m = malloc(sizeof(sl_msg_t) + len);
    if (m == NULL) {
        return NULL;
    }

    memset(m, 0, sizeof(sl_msg_t));
    m->type = type;
    m->len = len;
    m->cut = SL_NO_CUT;

    if (len && data) {
        memcpy(m->data, data, len);
    }

    return m;
}


static int
sl_mq_init(sl_mq_t *q)
{
    memset(q, 0, sizeof(sl_mq_t));
    q->tail = &q->head;

    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        return SL_ERROR;
    }

    if (pthread_cond_init(&q->cond, NULL) != 0) {
        pthread_mutex_destroy(&q->lock);
        return SL_ERROR;
    }

    return SL_OK;
}


static void
sl_mq_destroy(sl_mq_t *q)
{
    sl_msg_t  *m, *next;

    for (m = q->head; m; m = next) {
        next = m->next;
        free(m);
    }

    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
}


static void
sl_mq_put(sl_mq_t *q, sl_msg_t *m)
{
    pthread_mutex_lock(&q->lock);
    m->next = NULL;
    *q->tail = m;
    q->tail = &m->next;
    q->len++;
    q->bytes += m->len;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}


/* NULL once the queue is stopped and empty */
static sl_msg_t *
sl_mq_get(sl_mq_t *q)
{
    sl_msg_t  *m;

    pthread_mutex_lock(&q->lock);

    while (q->head == NULL && !q->stopping) {
        pthread_cond_wait(&q->cond, &q->lock);
    }

    m = q->head;

    if (m) {
        q->head = m->next;
        if (q->head == NULL) {
            q->tail = &q->head;
        }

        q->len--;
        q->bytes -= m->len;
    }

    pthread_mutex_unlock(&q->lock);

    return m;
}


static void
sl_mq_stop(sl_mq_t *q)
{
    pthread_mutex_lock(&q->lock);
    q->stopping = 1;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}


/* more than max messages, or than bytes of data, are waiting */
static int
sl_mq_full(sl_mq_t *q, size_t max, size_t bytes)
{
    int  full;

    pthread_mutex_lock(&q->lock);
    full = q->len >= max || q->bytes >= bytes;
    pthread_mutex_unlock(&q->lock);

    return full;
}


static void
sl_pipeline_log(sl_pipeline_t *p, int error, const char *fmt, ...)
{
    char     msg[512];
    va_list  args;

    if (p->conf.on_log == NULL) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    p->conf.on_log(p->conf.data, error, msg);
}
