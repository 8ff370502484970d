/*
 * ngx_rtmp_streamline_module's media side: a live channel's media pipeline
 * (ngx_streamline_packager.c) starts when the channel goes live, or once the
 * channel's previous stream has ended, is fed the publisher's audio and
 * video messages as FLV tags, and stops with the stream.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_rtmp.h"
#include "ngx_rtmp_codec_module.h"

#include "ngx_rtmp_streamline.h"


static void ngx_rtmp_streamline_media_try(ngx_rtmp_streamline_ctx_t *ctx);
static void ngx_rtmp_streamline_media_retry(ngx_event_t *ev);
static void ngx_rtmp_streamline_feed(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx, ngx_uint_t video, uint32_t timestamp,
    ngx_chain_t *in);


void
ngx_rtmp_streamline_media_start(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx)
{
    u_char                          *dir;
    ngx_rtmp_streamline_app_conf_t  *sacf;

    sacf = ngx_rtmp_get_module_app_conf(s, ngx_rtmp_streamline_module);
    if (sacf->media_path.len == 0) {
        return;
    }

    dir = ngx_pnalloc(s->connection->pool,
                      sacf->media_path.len + ctx->channel_len + 2);
    if (dir == NULL) {
        return;
    }

    ngx_sprintf(dir, "%V/%s%Z", &sacf->media_path, ctx->channel);

    if (ngx_create_dir(dir, 0755) == NGX_FILE_ERROR
        && ngx_errno != NGX_EEXIST)
    {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, ngx_errno,
                      "streamline: cannot create \"%s\"", dir);
        return;
    }

    ngx_memzero(&ctx->mc, sizeof(ngx_streamline_packager_conf_t));
    ctx->mc.channel = ctx->channel;
    ctx->mc.channel_len = ctx->channel_len;
    ctx->mc.dir = dir;
    ctx->mc.segment = sacf->segment;
    ctx->mc.part = sacf->part;
    ctx->mc.part_hold_back = sacf->part_hold_back;
    ctx->mc.max_lag = sacf->max_lag;
    ctx->mc.previews = sacf->previews;
    ctx->mc.preview_width = sacf->preview_width;
    ctx->mc.preview_height = sacf->preview_height;
    ctx->mc.window = sacf->window;
    ctx->mc.grace = sacf->grace;
    ctx->mc.keep = sacf->keep;
    ctx->mc.owner = ctx->owner;
    ctx->mc.owner_len = ctx->owner_len;
    ctx->mc.live_ms = ctx->live_ms;
    ctx->mc.max_size = sacf->max_size;
    ctx->mc.min_free = sacf->min_free;
    ctx->mc.rungs = sacf->rungs ? sacf->rungs->elts : NULL;
    ctx->mc.nrungs = sacf->rungs ? sacf->rungs->nelts : 0;
    ctx->mc.log = s->connection->log;

    ctx->session = s;
    ctx->media_tries = 0;
    ngx_rtmp_streamline_media_try(ctx);
}


static void
ngx_rtmp_streamline_media_try(ngx_rtmp_streamline_ctx_t *ctx)
{
    ngx_int_t              rc;
    ngx_rtmp_session_t    *s = ctx->session;
    ngx_rtmp_codec_ctx_t  *codec;

    ctx->media = ngx_streamline_packager_start(&ctx->mc, &rc);

    if (rc == NGX_AGAIN) {
        /* the previous stream of the channel is still ending: 5 s at most */
        if (++ctx->media_tries > 50) {
            ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                          "streamline: channel \"%s\": the previous "
                          "stream's media did not end, no media for this "
                          "one", ctx->channel);
            return;
        }

        ctx->media_retry.handler = ngx_rtmp_streamline_media_retry;
        ctx->media_retry.data = ctx;
        ctx->media_retry.log = s->connection->log;
        ngx_add_timer(&ctx->media_retry, 100);
        return;
    }

    if (ctx->media == NULL || ctx->media_tries == 0) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "streamline: channel \"%s\": media started once the "
                  "previous stream ended", ctx->channel);

    /* started late: the sequence headers went by, nginx-rtmp kept them */
    codec = ngx_rtmp_get_module_ctx(s, ngx_rtmp_codec_module);

    if (codec && codec->avc_header) {
        ngx_rtmp_streamline_feed(s, ctx, 1, 0, codec->avc_header);
    }

    if (codec && codec->aac_header) {
        ngx_rtmp_streamline_feed(s, ctx, 0, 0, codec->aac_header);
    }
}


static void
ngx_rtmp_streamline_media_retry(ngx_event_t *ev)
{
    ngx_rtmp_streamline_media_try(ev->data);
}


void
ngx_rtmp_streamline_media_stop(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx)
{
    if (ctx->media_retry.timer_set) {
        ngx_del_timer(&ctx->media_retry);
    }

    if (ctx->media) {
        ngx_streamline_packager_finish(ctx->media);
        ctx->media = NULL;
    }

    if (ctx->buf) {
        ngx_free(ctx->buf);
        ctx->buf = NULL;
        ctx->buf_size = 0;
    }
}


/*
 * Audio and video messages of a live channel, as FLV tags: the first byte
 * names the codec (and the frame type); for H.264 and AAC the second says
 * whether this is the sequence header; H.264 carries its composition
 * offset in the next three.
 */
ngx_int_t
ngx_rtmp_streamline_av(ngx_rtmp_session_t *s, ngx_rtmp_header_t *h,
    ngx_chain_t *in)
{
    ngx_rtmp_streamline_ctx_t  *ctx;

    ctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_streamline_module);
    if (ctx == NULL) {
        return NGX_OK;
    }

    if (ctx->metrics) {
        sl_metric_add(&ctx->metrics->rtmp_bytes, (uint64_t) h->mlen);
    }

    if (ctx->media == NULL) {
        return NGX_OK;
    }

    ngx_rtmp_streamline_feed(s, ctx, h->type == NGX_RTMP_MSG_VIDEO,
                             h->timestamp, in);

    return NGX_OK;
}


static void
ngx_rtmp_streamline_feed(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx, ngx_uint_t video, uint32_t timestamp,
    ngx_chain_t *in)
{
    u_char                *p;
    size_t                 len;
    int64_t                now;
    ngx_int_t              rc;
    ngx_chain_t           *cl;
    sl_flv_tag_t           tag;
    sl_pipeline_t         *pl;
    ngx_rtmp_codec_ctx_t  *codec;

    pl = ngx_streamline_packager_pipeline(ctx->media);

    len = 0;
    for (cl = in; cl; cl = cl->next) {
        len += cl->buf->last - cl->buf->pos;
    }

    if (len < 2 || len > 64 * 1024 * 1024) {
        return;
    }

    if (len > ctx->buf_size) {
        if (ctx->buf) {
            ngx_free(ctx->buf);
        }

        ctx->buf_size = ngx_max(len, 65536);
        ctx->buf = ngx_alloc(ctx->buf_size, s->connection->log);
        if (ctx->buf == NULL) {
            ctx->buf_size = 0;
            return;
        }
    }

    p = ctx->buf;
    for (cl = in; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    codec = ngx_rtmp_get_module_ctx(s, ngx_rtmp_codec_module);
    now = ngx_streamline_now_ms();

    switch (sl_flv_parse(video, ctx->buf, len, &tag)) {

    case SL_FLV_UNSUPPORTED:
        if (video ? !ctx->warned_video : !ctx->warned_audio) {
            if (video) {
                ctx->warned_video = 1;

            } else {
                ctx->warned_audio = 1;
            }

            ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                          "streamline: channel \"%s\": %s codec %d is not "
                          "supported (%s only), %s ignored", ctx->channel,
                          video ? "video" : "audio", tag.codec,
                          video ? "H.264" : "AAC", video ? "video" : "audio");
        }

        return;

    case SL_FLV_HEADER:
        if (video) {
            rc = sl_pipeline_video_header(pl, tag.data, tag.len,
                                          codec ? (int) codec->width : 0,
                                          codec ? (int) codec->height : 0,
                                          codec ? (int) codec->frame_rate
                                                : 0);
        } else {
            rc = sl_pipeline_audio_header(pl, tag.data, tag.len,
                                          codec ? (int) codec->sample_rate
                                                : 44100,
                                          codec && codec->audio_channels
                                          ? (int) codec->audio_channels : 2);
        }

        break;

    case SL_FLV_PACKET:
        rc = sl_pipeline_push(pl, tag.video, timestamp, tag.cts_ms, tag.key,
                              now, tag.data, tag.len);
        break;

    default:
        return;
    }

    if (rc == SL_DECLINED && !ctx->warned_drop) {
        ctx->warned_drop = 1;
        ngx_log_error(NGX_LOG_WARN, s->connection->log, 0,
                      "streamline: channel \"%s\": the packager falls "
                      "behind, packets dropped", ctx->channel);
    }
}
