
/*
 * Streamline core, the media pipeline: one rendition's fMP4 output.
 * libavformat's mp4 muxer writes an init segment, then a fragment (moof
 * and mdat) per part; the parts of a segment make its file, and each part
 * is also a file of its own for LL-HLS (sl_fmp4_io.c writes the files).
 * Packets are held until the next one of their stream gives their
 * duration, so that parts and segments end where the next sample starts;
 * a part ends as soon as the frame after it would overshoot its target.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sl_pipeline_int.h"


#define SL_IO_BUFFER  65536


static void sl_fmp4_write(sl_fmp4_t *out, sl_fmp4_held_t *held, int video);
static void sl_fmp4_flush_part(sl_fmp4_t *out, int64_t end_ms);
static int sl_fmp4_open_segment(sl_fmp4_t *out, uint64_t msn,
    int64_t start_ms, int64_t wallclock_ms);
static void sl_fmp4_close_segment(sl_fmp4_t *out, int64_t end_ms);
static int sl_fmp4_add_stream(sl_fmp4_t *out, const AVCodecParameters *par);


void
sl_fmp4_init(sl_fmp4_t *out, sl_pipeline_t *p, const char *name,
    sl_rendition_stats_t *stats)
{
    memset(out, 0, sizeof(sl_fmp4_t));
    out->p = p;
    out->stats = stats;
    snprintf(out->name, sizeof(out->name), "%s", name);
    (void) sl_name_path(out->dir, sizeof(out->dir), p->dir, name);
    out->fd = -1;
    out->video_index = -1;
    out->audio_index = -1;
    out->part_last_in_ms = -1;
    out->init_id = p->conf.first_init_id;
    out->discontinuity = p->conf.resume;
}


int
sl_fmp4_open(sl_fmp4_t *out, const AVCodecParameters *video,
    const AVCodecParameters *audio)
{
    int               rc;
    char              name[SL_NAME_MAX];
    uint8_t          *iobuf;
    AVDictionary     *opts;
    AVFormatContext  *muxer;

    if (mkdir(out->dir, 0755) != 0 && errno != EEXIST) {
        sl_pipeline_log(out->p, 1, "cannot create \"%s\": %s", out->dir,
                        strerror(errno));
        return SL_ERROR;
    }

    if (avformat_alloc_output_context2(&muxer, NULL, "mp4", NULL) < 0) {
        sl_pipeline_log(out->p, 1, "cannot create the mp4 muxer");
        return SL_ERROR;
    }

    out->muxer = muxer;
    /* our timestamps start at 0 already; B-frames must not shift them */
    muxer->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
    out->video_index = -1;
    out->audio_index = -1;
    out->have_dts[0] = out->have_dts[1] = 0;

    if (video) {
        out->video_index = sl_fmp4_add_stream(out, video);
        if (out->video_index < 0) {
            return SL_ERROR;
        }
    }

    if (audio) {
        out->audio_index = sl_fmp4_add_stream(out, audio);
        if (out->audio_index < 0) {
            return SL_ERROR;
        }
    }

    iobuf = av_malloc(SL_IO_BUFFER);
    if (iobuf == NULL) {
        return SL_ERROR;
    }

    muxer->pb = avio_alloc_context(iobuf, SL_IO_BUFFER, 1, out, NULL,
                                   sl_fmp4_io_write, NULL);
    if (muxer->pb == NULL) {
        av_free(iobuf);
        return SL_ERROR;
    }

    sl_codecs_string(out->codecs, sizeof(out->codecs), video, audio);
    out->width = video ? video->width : 0;
    out->height = video ? video->height : 0;

    (void) sl_name_init(name, sizeof(name), out->init_id);

    out->lost = 0;

    if (sl_names_use(out->p, SL_NO_CUT, out->init_id) != SL_OK) {
        sl_fmp4_fail(out, "keep the names in", out->p->conf.names, errno);
        return SL_ERROR;
    }

    if (sl_fmp4_open_file(out, name) != SL_OK) {
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

    rc = avformat_write_header(muxer, &opts);
    av_dict_free(&opts);

    if (rc < 0) {
        sl_pipeline_log(out->p, 1, "the mp4 muxer refused the stream "
                        "parameters of rendition \"%s\"", out->name);
        return SL_ERROR;
    }

    avio_flush(muxer->pb);

    return sl_fmp4_close_file(out);
}


/* the index of the new stream, -1 on failure */
static int
sl_fmp4_add_stream(sl_fmp4_t *out, const AVCodecParameters *par)
{
    AVStream  *st;

    st = avformat_new_stream(out->muxer, NULL);
    if (st == NULL || avcodec_parameters_copy(st->codecpar, par) < 0) {
        return -1;
    }

    st->time_base = (AVRational) { 1, 1000 };
    st->codecpar->codec_tag = 0;

    return st->index;
}


void
sl_fmp4_close(sl_fmp4_t *out)
{
    int      i;
    int64_t  end;

    if (out->muxer == NULL) {
        return;
    }

    /* the held packets end the stream with the duration before them */
    for (i = 0; i < 2; i++) {
        if (out->held[i].pkt) {
            out->held[i].pkt->duration = out->last_duration_ms[i] > 0
                                         ? out->last_duration_ms[i]
                                         : (i ? 33 : 21);
            sl_fmp4_write(out, &out->held[i], i);
            av_packet_free(&out->held[i].pkt);
        }
    }

    if (out->seg_open) {
        /* the video's end when there is video: audio frames overhang */
        end = out->seg_end_ms[out->video_index >= 0 ? 1 : 0];
        if (end <= out->seg_start_ms) {
            end = sl_max(out->seg_end_ms[0], out->seg_end_ms[1]);
        }

        sl_fmp4_flush_part(out, end);
        sl_fmp4_close_segment(out, end);
    }

    if (out->fd >= 0) {
        /* an init segment that never completed */
        close(out->fd);
        out->fd = -1;
        unlink(out->tmp_path);
    }

    if (out->muxer->pb) {
        av_freep(&out->muxer->pb->buffer);
        avio_context_free(&out->muxer->pb);
    }

    avformat_free_context(out->muxer);
    out->muxer = NULL;
    out->video_index = -1;
    out->audio_index = -1;

    free(out->part_buf);
    out->part_buf = NULL;
    out->part_len = 0;
    out->part_size = 0;
}


/* a packet's duration is known when the next one of its stream comes */
void
sl_fmp4_packet(sl_fmp4_t *out, AVPacket *pkt, int video, uint64_t cut,
    int64_t wallclock_ms)
{
    sl_fmp4_held_t  *held;

    if (pkt == NULL) {
        return;
    }

    if (out->muxer == NULL
        || (video ? out->video_index : out->audio_index) < 0)
    {
        av_packet_free(&pkt);
        return;
    }

    pkt->stream_index = video ? out->video_index : out->audio_index;

    if (out->have_dts[video] && pkt->dts <= out->last_dts_ms[video]) {
        pkt->dts = out->last_dts_ms[video] + 1;
        if (pkt->pts < pkt->dts) {
            pkt->pts = pkt->dts;
        }
    }

    out->last_dts_ms[video] = pkt->dts;
    out->have_dts[video] = 1;

    held = &out->held[video];

    if (held->pkt) {
        held->pkt->duration = pkt->dts - held->pkt->dts;
        out->last_duration_ms[video] = held->pkt->duration;
        sl_fmp4_write(out, held, video);
        av_packet_free(&held->pkt);
    }

    held->pkt = pkt;
    held->cut = cut;
    held->wallclock_ms = wallclock_ms;
}


static void
sl_fmp4_write(sl_fmp4_t *out, sl_fmp4_held_t *held, int video)
{
    int64_t    dts_ms, end_ms;
    AVPacket  *pkt;
    AVStream  *st;

    pkt = held->pkt;
    dts_ms = pkt->dts;
    end_ms = pkt->dts + pkt->duration;

    if (held->cut != SL_NO_CUT) {
        if (out->seg_open) {
            sl_fmp4_flush_part(out, dts_ms);
            sl_fmp4_close_segment(out, dts_ms);
        }

        sl_fmp4_open_segment(out, held->cut, dts_ms, held->wallclock_ms);

    } else if (!out->seg_open) {
        /* before the first segment start of this rendition */
        return;

    } else if ((end_ms - out->part_start_ms) * 1000 > out->p->conf.part_us
               && dts_ms > out->part_start_ms
               && (video || out->video_index < 0 || !out->have_dts[1]
                   || (dts_ms - out->last_dts_ms[1]) * 1000
                      >= out->p->conf.part_us)
               && out->seg.nparts < SL_PIPELINE_MAX_PARTS - 1)
    {
        /* on a video frame, or on audio while the video pauses */
        sl_fmp4_flush_part(out, dts_ms);
        out->part_independent = out->video_index < 0;
        out->part_has_video = 0;
    }

    if (video && !out->part_has_video) {
        out->part_has_video = 1;
        out->part_independent = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    }

    st = out->muxer->streams[pkt->stream_index];
    av_packet_rescale_ts(pkt, (AVRational) { 1, 1000 }, st->time_base);

    if (av_write_frame(out->muxer, pkt) < 0) {
        sl_pipeline_log(out->p, 1, "the mp4 muxer refused a packet of "
                        "rendition \"%s\"", out->name);
        return;
    }

    out->fragment_pending = 1;

    /* what the part waits for: its video, or audio while there is none */
    if (video || !out->part_has_video) {
        out->part_last_in_ms = held->wallclock_ms;
    }

    if (end_ms > out->seg_end_ms[video]) {
        out->seg_end_ms[video] = end_ms;
    }

    /*
     * The next frame, if it lasts as long as this one, would make the
     * part longer than its target: the part ends here, now, rather than
     * when that frame comes (a frame interval sooner for the players).
     */
    if ((video || out->video_index < 0)
        && (2 * end_ms - dts_ms - out->part_start_ms) * 1000
           > out->p->conf.part_us
        && out->seg.nparts < SL_PIPELINE_MAX_PARTS - 1)
    {
        sl_fmp4_flush_part(out, end_ms);
        out->part_independent = out->video_index < 0;
        out->part_has_video = 0;
    }
}


static void
sl_fmp4_flush_part(sl_fmp4_t *out, int64_t end_ms)
{
    sl_pipeline_t   *p = out->p;
    sl_part_info_t  *part;

    if (!out->fragment_pending) {
        return;
    }

    av_write_frame(out->muxer, NULL);
    avio_flush(out->muxer->pb);
    out->fragment_pending = 0;

    /* sl_fmp4_write() cuts no more parts than these */
    part = &out->seg.parts[out->seg.nparts++];
    part->duration_us = (end_ms - out->part_start_ms) * 1000;
    part->offset = out->part_offset;
    part->independent = out->part_independent;
    part->bytes = out->written - part->offset;

    out->part_start_ms = end_ms;
    out->part_offset = out->written;

    /* a lost segment's parts are not reported: the index gets a gap */
    if (!out->lost && sl_fmp4_write_part(out) == SL_OK) {
        sl_pipeline_delay(p, out->part_last_in_ms, &out->stats->part_delay);

        if (p->conf.on_part) {
            p->conf.on_part(p->conf.data, &out->seg);
        }
    }

    out->part_last_in_ms = -1;
}


/*
 * A segment whose file cannot be created is still "open": the muxer gets
 * its packets as always (its timeline must not skip), its output goes
 * nowhere, and the segment is reported lost when it ends.
 */
static int
sl_fmp4_open_segment(sl_fmp4_t *out, uint64_t msn, int64_t start_ms,
    int64_t wallclock_ms)
{
    char  name[SL_NAME_MAX];

    (void) sl_name_segment(name, sizeof(name), msn);

    out->lost = 0;

    if (sl_names_use(out->p, msn, out->init_id) != SL_OK) {
        sl_fmp4_fail(out, "keep the names in", out->p->conf.names, errno);
        out->written = 0;

    } else {
        (void) sl_fmp4_open_file(out, name);
    }

    memset(&out->seg, 0, sizeof(sl_segment_info_t));
    out->seg.rendition = out->name;
    out->seg.msn = msn;
    out->seg.pdt_ms = wallclock_ms;
    out->seg.init_id = out->init_id;
    out->seg.codecs = out->codecs;
    out->seg.width = out->width;
    out->seg.height = out->height;
    out->seg.fps = out->fps;
    out->seg.discontinuity = out->discontinuity;
    out->discontinuity = 0;

    /* a new preview tile begins with this segment, or the last goes on */
    if (out->preview_tile && out->preview_msn <= msn) {
        out->shown_sheet = out->preview_sheet;
        out->shown_tile = out->preview_tile;
        out->preview_tile = 0;
    }

    out->seg.preview_sheet = out->shown_sheet;
    out->seg.preview_tile = out->shown_tile;

    out->part_len = 0;
    out->seg_open = 1;
    out->seg_start_ms = start_ms;
    out->seg_end_ms[0] = start_ms;
    out->seg_end_ms[1] = start_ms;
    out->part_start_ms = start_ms;
    out->part_offset = 0;
    out->part_independent = out->video_index < 0;
    out->part_has_video = 0;

    return out->lost ? SL_ERROR : SL_OK;
}


/* end_ms: where the next segment starts, or the end of the last sample */
static void
sl_fmp4_close_segment(sl_fmp4_t *out, int64_t end_ms)
{
    sl_pipeline_t  *p = out->p;

    out->seg_open = 0;
    out->seg.duration_us = (end_ms - out->seg_start_ms) * 1000;
    out->seg.bytes = out->written;

    if (sl_fmp4_close_file(out) == SL_OK) {
        if (out->failing) {
            sl_pipeline_log(p, 0, "rendition \"%s\": writing works again, "
                            "%llu segment(s) lost", out->name,
                            (unsigned long long) out->nlost);
            out->failing = 0;
            out->nlost = 0;
        }

        pthread_mutex_lock(&p->stats_lock);
        out->stats->segments++;
        out->stats->bytes += out->seg.bytes;
        p->stats.segments++;
        p->stats.bytes += out->seg.bytes;
        pthread_mutex_unlock(&p->stats_lock);

    } else {
        out->lost = 0;
        out->nlost++;
        out->seg.lost = 1;
        out->seg.bytes = 0;

        pthread_mutex_lock(&p->stats_lock);
        out->stats->segments_lost++;
        pthread_mutex_unlock(&p->stats_lock);
    }

    if (p->conf.on_segment) {
        p->conf.on_segment(p->conf.data, &out->seg);
    }
}
