/*
 * The media pipeline thread: a bounded queue in, fMP4 files out.
 * See sl_pipeline.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>

#include "sl_core.h"
#include "sl_pipeline.h"


#define SL_MSG_VIDEO_HEADER  1
#define SL_MSG_AUDIO_HEADER  2
#define SL_MSG_PACKET        3

#define SL_IO_BUFFER         65536


typedef struct sl_msg_s  sl_msg_t;

struct sl_msg_s {
    sl_msg_t   *next;
    int         type;
    int         video;
    int         key;
    int64_t     dts_ms;
    int32_t     cts_ms;
    int64_t     wallclock_ms;
    int         a, b;          /* width/height or rate/channels */
    size_t      len;
    uint8_t     data[];
};


typedef struct {
    uint8_t    *data;
    size_t      len;
    int         a, b;
} sl_header_t;


struct sl_pipeline_s {
    sl_pipeline_conf_t    conf;
    char                 *dir;
    char                 *rendition;

    pthread_t             thread;
    pthread_mutex_t       lock;
    pthread_cond_t        cond;
    sl_msg_t             *head;
    sl_msg_t            **tail;
    size_t                queued;
    int                   stopping;
    sl_pipeline_stats_t   stats;

    /* the thread's own state from here on */
    sl_header_t           vhdr;
    sl_header_t           ahdr;
    int                   vhdr_changed;
    int                   ahdr_changed;

    AVFormatContext      *oc;
    uint8_t              *iobuf;
    int                   vindex;      /* -1: no such stream */
    int                   aindex;
    AVPacket             *held[2];     /* [0] audio, [1] video */
    int64_t               last_dts[2];
    int                   have_dts[2];
    int64_t               base_ms;     /* first dts of this init segment */
    int                   have_base;

    int                   fd;          /* where muxer output goes */
    uint64_t              written;     /* bytes into fd */
    char                  tmp_path[4096];
    char                  path[4096];

    unsigned              init_id;
    uint64_t              msn;
    int                   seg_open;
    int                   discontinuity;
    int64_t               seg_start_ms;
    int64_t               seg_end_ms;
    int64_t               part_start_ms;
    uint64_t              part_offset;
    int                   part_independent;
    int                   frag_pending;   /* samples since the last flush */
    sl_segment_info_t     seg;
};


static void *sl_pipeline_thread(void *arg);
static int sl_pipeline_enqueue(sl_pipeline_t *p, sl_msg_t *m, int force);
static void sl_pipeline_handle(sl_pipeline_t *p, sl_msg_t *m);
static int sl_pipeline_open_muxer(sl_pipeline_t *p);
static void sl_pipeline_close_muxer(sl_pipeline_t *p);
static void sl_pipeline_write(sl_pipeline_t *p, AVPacket *pkt, int video);
static void sl_pipeline_flush_fragment(sl_pipeline_t *p, int64_t end_ms);
static int sl_pipeline_open_segment(sl_pipeline_t *p, int64_t start_ms,
    int64_t wallclock_ms);
static void sl_pipeline_close_segment(sl_pipeline_t *p, int64_t end_ms);
static int sl_pipeline_open_file(sl_pipeline_t *p, const char *name);
static int sl_pipeline_close_file(sl_pipeline_t *p);
static int sl_pipeline_io_write(void *opaque, uint8_t *buf, int size);
static void sl_pipeline_log(sl_pipeline_t *p, int error, const char *fmt,
    ...);
static int sl_header_set(sl_header_t *h, const uint8_t *data, size_t len,
    int a, int b);


sl_pipeline_t *
sl_pipeline_start(const sl_pipeline_conf_t *conf)
{
    sl_pipeline_t  *p;

    p = calloc(1, sizeof(sl_pipeline_t));
    if (p == NULL) {
        return NULL;
    }

    p->conf = *conf;
    p->dir = strdup(conf->dir);
    p->rendition = strdup(conf->rendition);
    p->conf.dir = p->dir;
    p->conf.rendition = p->rendition;
    p->head = NULL;
    p->tail = &p->head;
    p->fd = -1;
    p->vindex = -1;
    p->aindex = -1;
    p->msn = conf->first_msn;
    p->init_id = conf->first_init_id;

    if (p->dir == NULL || p->rendition == NULL) {
        goto failed;
    }

    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        goto failed;
    }

    if (pthread_cond_init(&p->cond, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        goto failed;
    }

    if (pthread_create(&p->thread, NULL, sl_pipeline_thread, p) != 0) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        goto failed;
    }

    return p;

failed:

    free(p->dir);
    free(p->rendition);
    free(p);
    return NULL;
}


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

    if (len) {
        memcpy(m->data, data, len);
    }

    return m;
}


int
sl_pipeline_video_header(sl_pipeline_t *p, const uint8_t *avcc, size_t len,
    int width, int height)
{
    sl_msg_t  *m;

    m = sl_msg_new(SL_MSG_VIDEO_HEADER, avcc, len);
    if (m == NULL) {
        return SL_ERROR;
    }

    m->a = width;
    m->b = height;

    return sl_pipeline_enqueue(p, m, 1);
}


int
sl_pipeline_audio_header(sl_pipeline_t *p, const uint8_t *asc, size_t len,
    int sample_rate, int channels)
{
    sl_msg_t  *m;

    m = sl_msg_new(SL_MSG_AUDIO_HEADER, asc, len);
    if (m == NULL) {
        return SL_ERROR;
    }

    m->a = sample_rate;
    m->b = channels;

    return sl_pipeline_enqueue(p, m, 1);
}


int
sl_pipeline_push(sl_pipeline_t *p, int video, int64_t dts_ms, int32_t cts_ms,
    int key, int64_t wallclock_ms, const uint8_t *data, size_t len)
{
    sl_msg_t  *m;

    pthread_mutex_lock(&p->lock);
    p->stats.packets_in++;

    if (p->queued >= p->conf.queue_max) {
        p->stats.packets_dropped++;
        pthread_mutex_unlock(&p->lock);
        return SL_DECLINED;
    }

    pthread_mutex_unlock(&p->lock);

    m = sl_msg_new(SL_MSG_PACKET, data, len);
    if (m == NULL) {
        return SL_ERROR;
    }

    m->video = video;
    m->dts_ms = dts_ms;
    m->cts_ms = cts_ms;
    m->key = key;
    m->wallclock_ms = wallclock_ms;

    return sl_pipeline_enqueue(p, m, 0);
}


/* headers are always queued (force): they are few and must not be lost */
static int
sl_pipeline_enqueue(sl_pipeline_t *p, sl_msg_t *m, int force)
{
    pthread_mutex_lock(&p->lock);

    if (!force && p->queued >= p->conf.queue_max) {
        p->stats.packets_dropped++;
        pthread_mutex_unlock(&p->lock);
        free(m);
        return SL_DECLINED;
    }

    m->next = NULL;
    *p->tail = m;
    p->tail = &m->next;
    p->queued++;

    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);

    return SL_OK;
}


void
sl_pipeline_stats(sl_pipeline_t *p, sl_pipeline_stats_t *st)
{
    pthread_mutex_lock(&p->lock);
    *st = p->stats;
    pthread_mutex_unlock(&p->lock);
}


void
sl_pipeline_stop(sl_pipeline_t *p)
{
    sl_msg_t  *m, *next;

    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);

    pthread_join(p->thread, NULL);

    for (m = p->head; m; m = next) {
        next = m->next;
        free(m);
    }

    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);

    free(p->vhdr.data);
    free(p->ahdr.data);
    free(p->dir);
    free(p->rendition);
    free(p);
}


static void *
sl_pipeline_thread(void *arg)
{
    sl_pipeline_t  *p = arg;
    sl_msg_t       *m;

    for ( ;; ) {
        pthread_mutex_lock(&p->lock);

        while (p->head == NULL && !p->stopping) {
            pthread_cond_wait(&p->cond, &p->lock);
        }

        m = p->head;

        if (m == NULL) {
            /* stopping, and everything queued was handled */
            pthread_mutex_unlock(&p->lock);
            break;
        }

        p->head = m->next;
        if (p->head == NULL) {
            p->tail = &p->head;
        }

        p->queued--;
        pthread_mutex_unlock(&p->lock);

        sl_pipeline_handle(p, m);
        free(m);
    }

    sl_pipeline_close_muxer(p);

    return NULL;
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


static void
sl_pipeline_handle(sl_pipeline_t *p, sl_msg_t *m)
{
    int        rc, video, idx;
    int64_t    dts;
    AVPacket  *pkt, *prev;

    switch (m->type) {

    case SL_MSG_VIDEO_HEADER:
        rc = sl_header_set(&p->vhdr, m->data, m->len, m->a, m->b);
        if (rc > 0 && p->oc) {
            p->vhdr_changed = 1;
        }
        return;

    case SL_MSG_AUDIO_HEADER:
        rc = sl_header_set(&p->ahdr, m->data, m->len, m->a, m->b);
        if (rc > 0 && p->oc) {
            p->ahdr_changed = 1;
        }
        return;
    }

    video = m->video ? 1 : 0;

    if (video ? p->vhdr.data == NULL : p->ahdr.data == NULL) {
        /* no sequence header yet: nothing can decode this */
        return;
    }

    if (p->oc && (p->vhdr_changed || p->ahdr_changed)
        && (!video || m->key) && (video || p->vindex < 0))
    {
        /* new codec parameters: a new init segment after a discontinuity */
        sl_pipeline_log(p, 0, "codec parameters changed, new init segment");
        sl_pipeline_close_muxer(p);
        p->init_id++;
        p->discontinuity = 1;
    }

    if (p->oc == NULL) {
        /* start on a keyframe, or on audio when there is no video */
        if (video ? !m->key : p->vhdr.data != NULL) {
            return;
        }

        p->vhdr_changed = 0;
        p->ahdr_changed = 0;

        if (sl_pipeline_open_muxer(p) != SL_OK) {
            sl_pipeline_close_muxer(p);
            return;
        }
    }

    idx = video ? p->vindex : p->aindex;
    if (idx < 0) {
        /* this stream is not in the current init segment */
        return;
    }

    /*
     * The muxer wrote its moov before any sample: timestamps start at 0
     * (an edit list could not say otherwise), and never go back within a
     * stream.
     */
    if (!p->have_base) {
        p->base_ms = m->dts_ms;
        p->have_base = 1;
    }

    dts = m->dts_ms - p->base_ms;
    if (dts < 0) {
        dts = 0;
    }

    if (p->have_dts[video] && dts <= p->last_dts[video]) {
        dts = p->last_dts[video] + 1;
    }

    pkt = av_packet_alloc();
    if (pkt == NULL || av_new_packet(pkt, (int) m->len) < 0) {
        av_packet_free(&pkt);
        sl_pipeline_log(p, 1, "out of memory");
        return;
    }

    memcpy(pkt->data, m->data, m->len);
    pkt->stream_index = idx;
    pkt->dts = dts;
    pkt->pts = dts + (m->cts_ms > 0 ? m->cts_ms : 0);

    pkt->flags = (video && m->key) || !video ? AV_PKT_FLAG_KEY : 0;
    pkt->pos = m->wallclock_ms;        /* carried to the segment's PDT */

    /* a packet's duration is known when the next one of its stream comes */
    prev = p->held[video];
    if (prev) {
        prev->duration = dts - prev->dts;
        sl_pipeline_write(p, prev, video);
        av_packet_free(&prev);
    }

    p->held[video] = pkt;
    p->last_dts[video] = dts;
    p->have_dts[video] = 1;

    pthread_mutex_lock(&p->lock);
    p->stats.packets_out++;
    pthread_mutex_unlock(&p->lock);
}


static int
sl_pipeline_open_muxer(sl_pipeline_t *p)
{
    int                 rc;
    char                name[64];
    AVStream           *st;
    AVDictionary       *opts;
    AVFormatContext    *oc;

    if (avformat_alloc_output_context2(&oc, NULL, "mp4", NULL) < 0) {
        sl_pipeline_log(p, 1, "cannot create the mp4 muxer");
        return SL_ERROR;
    }

    p->oc = oc;
    /* our timestamps start at 0 already; B-frames must not shift them */
    oc->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
    p->vindex = -1;
    p->aindex = -1;
    p->have_dts[0] = p->have_dts[1] = 0;
    p->have_base = 0;

    if (p->vhdr.data) {
        st = avformat_new_stream(oc, NULL);
        if (st == NULL) {
            return SL_ERROR;
        }

        st->time_base = (AVRational) { 1, 1000 };
        st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
        st->codecpar->codec_id = AV_CODEC_ID_H264;
        st->codecpar->width = p->vhdr.a;
        st->codecpar->height = p->vhdr.b;
        st->codecpar->extradata = av_mallocz(p->vhdr.len
                                             + AV_INPUT_BUFFER_PADDING_SIZE);
        if (st->codecpar->extradata == NULL) {
            return SL_ERROR;
        }

        memcpy(st->codecpar->extradata, p->vhdr.data, p->vhdr.len);
        st->codecpar->extradata_size = (int) p->vhdr.len;
        p->vindex = st->index;
    }

    if (p->ahdr.data) {
        st = avformat_new_stream(oc, NULL);
        if (st == NULL) {
            return SL_ERROR;
        }

        st->time_base = (AVRational) { 1, 1000 };
        st->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
        st->codecpar->codec_id = AV_CODEC_ID_AAC;
        st->codecpar->sample_rate = p->ahdr.a;
        st->codecpar->frame_size = 1024;
        av_channel_layout_default(&st->codecpar->ch_layout, p->ahdr.b);
        st->codecpar->extradata = av_mallocz(p->ahdr.len
                                             + AV_INPUT_BUFFER_PADDING_SIZE);
        if (st->codecpar->extradata == NULL) {
            return SL_ERROR;
        }

        memcpy(st->codecpar->extradata, p->ahdr.data, p->ahdr.len);
        st->codecpar->extradata_size = (int) p->ahdr.len;
        p->aindex = st->index;
    }

    p->iobuf = av_malloc(SL_IO_BUFFER);
    if (p->iobuf == NULL) {
        return SL_ERROR;
    }

    oc->pb = avio_alloc_context(p->iobuf, SL_IO_BUFFER, 1, p, NULL,
                                sl_pipeline_io_write, NULL);
    if (oc->pb == NULL) {
        av_freep(&p->iobuf);
        return SL_ERROR;
    }

    snprintf(name, sizeof(name), "init-%u.mp4", p->init_id);

    if (sl_pipeline_open_file(p, name) != SL_OK) {
        return SL_ERROR;
    }

    opts = NULL;
    av_dict_set(&opts, "movflags",
                "frag_custom+empty_moov+default_base_moof+cmaf", 0);

    rc = avformat_write_header(oc, &opts);
    av_dict_free(&opts);

    if (rc < 0) {
        sl_pipeline_log(p, 1, "mp4 muxer refused the stream parameters");
        return SL_ERROR;
    }

    avio_flush(oc->pb);

    if (sl_pipeline_close_file(p) != SL_OK) {
        return SL_ERROR;
    }

    return SL_OK;
}


static void
sl_pipeline_close_muxer(sl_pipeline_t *p)
{
    int  i;

    if (p->oc == NULL) {
        return;
    }

    /* the held packets end the stream with their last known duration */
    for (i = 0; i < 2; i++) {
        if (p->held[i]) {
            if (p->held[i]->duration <= 0) {
                p->held[i]->duration = i ? 33 : 21;
            }

            sl_pipeline_write(p, p->held[i], i);
            av_packet_free(&p->held[i]);
        }
    }

    if (p->seg_open) {
        sl_pipeline_flush_fragment(p, p->seg_end_ms);
        sl_pipeline_close_segment(p, p->seg_end_ms);
    }

    if (p->fd >= 0) {
        /* an init segment that never completed */
        close(p->fd);
        p->fd = -1;
        unlink(p->tmp_path);
    }

    if (p->oc->pb) {
        av_freep(&p->oc->pb->buffer);
        avio_context_free(&p->oc->pb);
    }

    avformat_free_context(p->oc);
    p->oc = NULL;
    p->iobuf = NULL;
    p->vindex = -1;
    p->aindex = -1;
}


static void
sl_pipeline_write(sl_pipeline_t *p, AVPacket *pkt, int video)
{
    int64_t   dts_ms, end_ms, wallclock;
    AVStream  *st;

    dts_ms = pkt->dts;
    end_ms = pkt->dts + pkt->duration;
    wallclock = pkt->pos;

    /*
     * Segments start on a video keyframe (or anywhere in audio-only
     * streams) once the segment has its target duration; fragments
     * (parts) are cut every part duration.
     */
    if (p->seg_open
        && (video ? pkt->flags & AV_PKT_FLAG_KEY : p->vindex < 0)
        && (dts_ms - p->seg_start_ms) * 1000 >= p->conf.segment_us)
    {
        sl_pipeline_flush_fragment(p, dts_ms);
        sl_pipeline_close_segment(p, dts_ms);
    }

    if (!p->seg_open) {
        if (sl_pipeline_open_segment(p, dts_ms, wallclock) != SL_OK) {
            return;
        }

        p->part_independent = video || p->vindex < 0;

    } else if ((dts_ms - p->part_start_ms) * 1000 >= p->conf.part_us
               && (video || p->vindex < 0))
    {
        sl_pipeline_flush_fragment(p, dts_ms);
        p->part_independent = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    }

    st = p->oc->streams[pkt->stream_index];
    pkt->pos = -1;
    av_packet_rescale_ts(pkt, (AVRational) { 1, 1000 }, st->time_base);

    if (av_write_frame(p->oc, pkt) < 0) {
        sl_pipeline_log(p, 1, "mp4 muxer refused a packet");
        return;
    }

    p->frag_pending = 1;

    if (end_ms > p->seg_end_ms) {
        p->seg_end_ms = end_ms;
    }
}


static void
sl_pipeline_flush_fragment(sl_pipeline_t *p, int64_t end_ms)
{
    sl_part_info_t  *part;

    if (!p->frag_pending) {
        return;
    }

    av_write_frame(p->oc, NULL);
    avio_flush(p->oc->pb);
    p->frag_pending = 0;

    if (p->seg.nparts < SL_PIPELINE_MAX_PARTS) {
        part = &p->seg.parts[p->seg.nparts++];

    } else {
        /* more parts than we track: the last one grows */
        part = &p->seg.parts[SL_PIPELINE_MAX_PARTS - 1];
        part->duration_us += (end_ms - p->part_start_ms) * 1000;
        part->bytes = p->written - part->offset;
        p->part_start_ms = end_ms;
        p->part_offset = p->written;
        return;
    }

    part->duration_us = (end_ms - p->part_start_ms) * 1000;
    part->offset = p->part_offset;
    part->bytes = p->written - p->part_offset;
    part->independent = p->part_independent;

    p->part_start_ms = end_ms;
    p->part_offset = p->written;
}


static int
sl_pipeline_open_segment(sl_pipeline_t *p, int64_t start_ms,
    int64_t wallclock_ms)
{
    char  name[64];

    snprintf(name, sizeof(name), "seg-%llu.m4s", (unsigned long long) p->msn);

    if (sl_pipeline_open_file(p, name) != SL_OK) {
        return SL_ERROR;
    }

    memset(&p->seg, 0, sizeof(sl_segment_info_t));
    p->seg.rendition = p->rendition;
    p->seg.msn = p->msn;
    p->seg.pdt_ms = wallclock_ms;
    p->seg.init_id = p->init_id;
    p->seg.discontinuity = p->discontinuity;
    p->discontinuity = 0;

    p->seg_open = 1;
    p->seg_start_ms = start_ms;
    p->seg_end_ms = start_ms;
    p->part_start_ms = start_ms;
    p->part_offset = 0;

    return SL_OK;
}


/* end_ms: where the next segment starts, or the end of the last sample */
static void
sl_pipeline_close_segment(sl_pipeline_t *p, int64_t end_ms)
{
    p->seg_open = 0;
    p->seg.duration_us = (end_ms - p->seg_start_ms) * 1000;
    p->seg.bytes = p->written;

    if (sl_pipeline_close_file(p) != SL_OK) {
        return;
    }

    pthread_mutex_lock(&p->lock);
    p->stats.segments++;
    p->stats.bytes += p->seg.bytes;
    pthread_mutex_unlock(&p->lock);

    p->msn++;

    if (p->conf.on_segment) {
        p->conf.on_segment(p->conf.data, &p->seg);
    }
}


static int
sl_pipeline_open_file(sl_pipeline_t *p, const char *name)
{
    snprintf(p->path, sizeof(p->path), "%s/%s", p->dir, name);
    snprintf(p->tmp_path, sizeof(p->tmp_path), "%s/%s.tmp", p->dir, name);

    p->fd = open(p->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (p->fd < 0) {
        sl_pipeline_log(p, 1, "cannot create \"%s\": %s", p->tmp_path,
                        strerror(errno));
        return SL_ERROR;
    }

    p->written = 0;

    return SL_OK;
}


/* readers only ever see complete files: write, then rename */
static int
sl_pipeline_close_file(sl_pipeline_t *p)
{
    int  fd = p->fd;

    p->fd = -1;

    if (fd < 0) {
        return SL_ERROR;
    }

    if (close(fd) != 0 || rename(p->tmp_path, p->path) != 0) {
        sl_pipeline_log(p, 1, "cannot write \"%s\": %s", p->path,
                        strerror(errno));
        unlink(p->tmp_path);
        return SL_ERROR;
    }

    return SL_OK;
}


static int
sl_pipeline_io_write(void *opaque, uint8_t *buf, int size)
{
    sl_pipeline_t  *p = opaque;
    ssize_t         n;
    int             left;

    if (p->fd < 0) {
        /* output between files (should not happen): dropped */
        return size;
    }

    for (left = size; left > 0; left -= n, buf += n) {
        n = write(p->fd, buf, left);

        if (n < 0) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }

            sl_pipeline_log(p, 1, "cannot write \"%s\": %s", p->tmp_path,
                            strerror(errno));
            return AVERROR(errno);
        }
    }

    p->written += size;

    return size;
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
