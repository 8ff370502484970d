/*
 * The RTMP side: the stream name a publisher sends is a secret key.  The
 * publish hook of ngx_rtmp_streamline_module runs before every nginx-rtmp
 * module (see config): it maps the key to its channel (keys file or Redis),
 * takes the channel's owner lock in Redis, and renames the stream to the
 * channel, so that no other module sees the key.  The hook of
 * ngx_rtmp_streamline_late_module runs after all of them (notify's
 * on_publish and access included): only there does the channel go live.
 * close_stream (which may fire more than once a session) sets it idle.
 *
 * The application's settings are read by ngx_rtmp_streamline_conf.c; a
 * live channel's media are fed by ngx_rtmp_streamline_feed.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_rtmp.h"
#include "ngx_rtmp_cmd_module.h"
#include "ngx_rtmp_live_module.h"

#include "ngx_rtmp_streamline.h"


static ngx_int_t ngx_rtmp_streamline_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_rtmp_streamline_late_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_rtmp_streamline_publish_cmd(ngx_rtmp_session_t *s,
    ngx_rtmp_header_t *h, ngx_chain_t *in);
static void ngx_rtmp_streamline_loud(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx);
static ngx_rtmp_streamline_ctx_t *ngx_rtmp_streamline_get_ctx(
    ngx_rtmp_session_t *s);
static ngx_int_t ngx_rtmp_streamline_publish(ngx_rtmp_session_t *s,
    ngx_rtmp_publish_t *v);
static ngx_int_t ngx_rtmp_streamline_late_publish(ngx_rtmp_session_t *s,
    ngx_rtmp_publish_t *v);
static ngx_int_t ngx_rtmp_streamline_close_stream(ngx_rtmp_session_t *s,
    ngx_rtmp_close_stream_t *v);
static void ngx_rtmp_streamline_claimed(ngx_streamline_claim_t *cl);
static ngx_int_t ngx_rtmp_streamline_accept(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx);
static ngx_int_t ngx_rtmp_streamline_refuse(ngx_rtmp_session_t *s,
    sl_refused_e reason,
    const char *why, const char *desc);


static ngx_rtmp_handler_pt         next_publish_cmd;
static ngx_rtmp_publish_pt         next_publish;
static ngx_rtmp_publish_pt         next_late_publish;
static ngx_rtmp_close_stream_pt    next_close_stream;


static ngx_command_t  ngx_rtmp_streamline_commands[] = {

    { ngx_string("streamline"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, enable),
      NULL },

    { ngx_string("streamline_keys_redis"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, keys_redis),
      NULL },

    { ngx_string("streamline_keys_file"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_rtmp_streamline_keys_file,
      NGX_RTMP_APP_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("streamline_media_path"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_rtmp_streamline_media_path,
      NGX_RTMP_APP_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("streamline_segment"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, segment),
      NULL },

    { ngx_string("streamline_part"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, part),
      NULL },

    { ngx_string("streamline_part_hold_back"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, part_hold_back),
      NULL },

    { ngx_string("streamline_ladder_max_lag"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, max_lag),
      NULL },

    { ngx_string("streamline_previews"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_rtmp_streamline_previews,
      NGX_RTMP_APP_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("streamline_preview_size"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_rtmp_streamline_preview_size,
      NGX_RTMP_APP_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("streamline_dvr_window"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, window),
      NULL },

    { ngx_string("streamline_dvr_grace"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, grace),
      NULL },

    { ngx_string("streamline_dvr_keep"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, keep),
      NULL },

    { ngx_string("streamline_media_max_size"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, max_size),
      NULL },

    { ngx_string("streamline_media_min_free"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, min_free),
      NULL },

    { ngx_string("streamline_max_channels"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_streamline_app_conf_t, max_channels),
      NULL },

    { ngx_string("streamline_rendition"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_2MORE,
      ngx_rtmp_streamline_rendition,
      NGX_RTMP_APP_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_rtmp_module_t  ngx_rtmp_streamline_module_ctx = {
    NULL,                                   /* preconfiguration */
    ngx_rtmp_streamline_postconfiguration,  /* postconfiguration */
    NULL,                                   /* create main configuration */
    NULL,                                   /* init main configuration */
    NULL,                                   /* create server configuration */
    NULL,                                   /* merge server configuration */
    ngx_rtmp_streamline_create_app_conf,    /* create app configuration */
    ngx_rtmp_streamline_merge_app_conf      /* merge app configuration */
};


ngx_module_t  ngx_rtmp_streamline_module = {
    NGX_MODULE_V1,
    &ngx_rtmp_streamline_module_ctx,       /* module context */
    ngx_rtmp_streamline_commands,          /* module directives */
    NGX_RTMP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_rtmp_module_t  ngx_rtmp_streamline_late_module_ctx = {
    NULL,                                   /* preconfiguration */
    ngx_rtmp_streamline_late_postconfiguration, /* postconfiguration */
    NULL, NULL, NULL, NULL, NULL, NULL
};


ngx_module_t  ngx_rtmp_streamline_late_module = {
    NGX_MODULE_V1,
    &ngx_rtmp_streamline_late_module_ctx,  /* module context */
    NULL,                                  /* module directives */
    NGX_RTMP_MODULE,                       /* module type */
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_rtmp_streamline_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                  i;
    ngx_rtmp_handler_pt        *hh;
    ngx_rtmp_amf_handler_t     *h;
    ngx_rtmp_core_main_conf_t  *cmcf;

    /*
     * nginx-rtmp's "publish" command handler logs the stream name, the
     * key, at info level before any publish hook runs: wrap it
     */
    cmcf = ngx_rtmp_conf_get_module_main_conf(cf, ngx_rtmp_core_module);
    h = cmcf->amf.elts;

    for (i = 0; i < cmcf->amf.nelts; i++) {
        if (h[i].name.len == sizeof("publish") - 1
            && ngx_strncmp(h[i].name.data, "publish", h[i].name.len) == 0)
        {
            next_publish_cmd = h[i].handler;
            h[i].handler = ngx_rtmp_streamline_publish_cmd;
            break;
        }
    }

    if (next_publish_cmd == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "streamline: nginx-rtmp's publish command "
                           "handler not found");
        return NGX_ERROR;
    }

    /* after the codec module's: it parses the sequence headers first */
    hh = ngx_array_push(&cmcf->events[NGX_RTMP_MSG_AUDIO]);
    if (hh == NULL) {
        return NGX_ERROR;
    }

    *hh = ngx_rtmp_streamline_av;

    hh = ngx_array_push(&cmcf->events[NGX_RTMP_MSG_VIDEO]);
    if (hh == NULL) {
        return NGX_ERROR;
    }

    *hh = ngx_rtmp_streamline_av;

    next_publish = ngx_rtmp_publish;
    ngx_rtmp_publish = ngx_rtmp_streamline_publish;

    next_close_stream = ngx_rtmp_close_stream;
    ngx_rtmp_close_stream = ngx_rtmp_streamline_close_stream;

    /* a worker that stops with nobody to take its channels ends them */
    ngx_streamline_packager_set_drop(ngx_rtmp_streamline_drop_publishers);

    return NGX_OK;
}


static ngx_int_t
ngx_rtmp_streamline_late_postconfiguration(ngx_conf_t *cf)
{
    next_late_publish = ngx_rtmp_publish;
    ngx_rtmp_publish = ngx_rtmp_streamline_late_publish;

    return NGX_OK;
}


static ngx_rtmp_streamline_ctx_t *
ngx_rtmp_streamline_get_ctx(ngx_rtmp_session_t *s)
{
    ngx_rtmp_streamline_ctx_t  *ctx;

    ctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_streamline_module);
    if (ctx == NULL) {
        ctx = ngx_pcalloc(s->connection->pool,
                          sizeof(ngx_rtmp_streamline_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_rtmp_set_ctx(s, ctx, ngx_rtmp_streamline_module);
    }

    return ctx;
}


/*
 * Runs nginx-rtmp's "publish" command with this connection's log lowered
 * to notice, so that its info line with the stream name is not written;
 * our publish hook, first in the chain, restores the level.  (A debug
 * log still shows everything: do not run one with real keys.)
 */
static ngx_int_t
ngx_rtmp_streamline_publish_cmd(ngx_rtmp_session_t *s, ngx_rtmp_header_t *h,
    ngx_chain_t *in)
{
    ngx_int_t                        rc;
    ngx_log_t                       *log;
    ngx_rtmp_streamline_ctx_t       *ctx;
    ngx_rtmp_streamline_app_conf_t  *sacf;

    sacf = ngx_rtmp_get_module_app_conf(s, ngx_rtmp_streamline_module);
    if (sacf == NULL || !sacf->enable) {
        return next_publish_cmd(s, h, in);
    }

    ctx = ngx_rtmp_streamline_get_ctx(s);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    log = s->connection->log;

    if (log->log_level > NGX_LOG_NOTICE && !ctx->quiet) {
        ctx->quiet = 1;
        ctx->log_level = log->log_level;
        log->log_level = NGX_LOG_NOTICE;
    }

    rc = next_publish_cmd(s, h, in);

    ngx_rtmp_streamline_loud(s, ctx);

    return rc;
}


static void
ngx_rtmp_streamline_loud(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx)
{
    if (ctx->quiet) {
        ctx->quiet = 0;
        s->connection->log->log_level = ctx->log_level;
    }
}


static ngx_int_t
ngx_rtmp_streamline_publish(ngx_rtmp_session_t *s, ngx_rtmp_publish_t *v)
{
    size_t                           len;
    ngx_int_t                        rc;
    ngx_uint_t                       lookup;
    const sl_key_entry_t            *entry;
    ngx_streamline_claim_t          *cl;
    ngx_rtmp_streamline_ctx_t       *ctx;
    ngx_rtmp_streamline_app_conf_t  *sacf;
    u_char                           digest[SL_DIGEST_HEX];

    sacf = ngx_rtmp_get_module_app_conf(s, ngx_rtmp_streamline_module);
    if (sacf == NULL || !sacf->enable) {
        return next_publish(s, v);
    }

    ctx = ngx_rtmp_streamline_get_ctx(s);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_rtmp_streamline_loud(s, ctx);

    if (ctx->claim || ctx->accepted) {
        return ngx_rtmp_streamline_refuse(s, SL_REFUSED_BUSY,
                                          "second publish in a session",
                                          "Already publishing");
    }

    len = ngx_strlen(v->name);

    if (!sl_key_valid(v->name, len)) {
        return ngx_rtmp_streamline_refuse(s, SL_REFUSED_BAD_KEY,
                                          "malformed stream key",
                                          "Bad stream key");
    }

    if (sl_key_digest_hex(v->name, len, digest) != SL_OK) {
        return NGX_ERROR;
    }

    /* from here on the key is not needed: forget it */
    ngx_memcpy(&ctx->v, v, sizeof(ngx_rtmp_publish_t));
    ngx_explicit_memzero(v->name, len);
    ngx_explicit_memzero(ctx->v.name, len);

    entry = sl_keyfile_lookup(sacf->keys, sacf->nkeys, digest);

    if (entry == NULL && !sacf->keys_redis) {
        return ngx_rtmp_streamline_refuse(s, SL_REFUSED_BAD_KEY,
                                          "unknown stream key",
                                          "Bad stream key");
    }

    ctx->owner_len = ngx_streamline_owner(ctx->owner, s->connection->number);

    if (entry) {
        ngx_memcpy(ctx->channel, entry->channel, entry->channel_len + 1);
        ctx->channel_len = entry->channel_len;

        if (ngx_streamline_live_has(ctx->channel, ctx->channel_len)) {
            return ngx_rtmp_streamline_refuse(s, SL_REFUSED_BUSY,
                                              "channel is already live",
                                              "Already publishing");
        }
    }

    cl = ngx_alloc(sizeof(ngx_streamline_claim_t), s->connection->log);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(cl, sizeof(ngx_streamline_claim_t));
    cl->handler = ngx_rtmp_streamline_claimed;
    cl->data = s;
    cl->log = s->connection->log;
    ngx_memcpy(cl->owner, ctx->owner, ctx->owner_len);
    cl->owner_len = ctx->owner_len;

    lookup = (entry == NULL);
    if (entry) {
        ngx_memcpy(cl->channel, entry->channel, entry->channel_len + 1);
        cl->channel_len = entry->channel_len;
    }

    rc = ngx_streamline_redis_claim(cl, digest, lookup);

    if (rc == NGX_OK) {
        ctx->claim = cl;
        return NGX_OK;
    }

    ngx_free(cl);

    if (entry == NULL) {
        return ngx_rtmp_streamline_refuse(s, SL_REFUSED_UNAVAILABLE,
                                  "keys in redis are unavailable",
                                  "Stream keys unavailable, retry later");
    }

    /*
     * Redis is away but the keys file knows the key: publish without the
     * cross-worker owner lock; this worker still refuses a second
     * publisher, and the live state is written when Redis returns.
     */
    ngx_log_error(NGX_LOG_WARN, s->connection->log, 0,
                  "streamline: redis unavailable, channel \"%s\" published "
                  "without its owner lock", ctx->channel);

    return ngx_rtmp_streamline_accept(s, ctx);
}


static void
ngx_rtmp_streamline_claimed(ngx_streamline_claim_t *cl)
{
    ngx_rtmp_session_t         *s = cl->data;
    ngx_rtmp_streamline_ctx_t  *ctx;

    ctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_streamline_module);
    ctx->claim = NULL;

    switch (cl->result) {

    case NGX_STREAMLINE_CLAIM_OK:
        ngx_memcpy(ctx->channel, cl->channel, cl->channel_len + 1);
        ctx->channel_len = cl->channel_len;
        ctx->claimed = 1;
        break;

    case NGX_STREAMLINE_CLAIM_UNKNOWN_KEY:
        (void) ngx_rtmp_streamline_refuse(s, SL_REFUSED_BAD_KEY,
                                          "unknown stream key",
                                          "Bad stream key");
        ngx_rtmp_finalize_session(s);
        return;

    case NGX_STREAMLINE_CLAIM_BUSY:
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "streamline: channel \"%s\" is already live%s%*s%s, "
                      "held by \"%*s\"", cl->channel,
                      cl->holder_origin_len ? " on origin \"" : "",
                      cl->holder_origin_len, cl->holder_origin,
                      cl->holder_origin_len ? "\"" : "",
                      cl->holder_len, cl->holder);
        (void) ngx_rtmp_streamline_refuse(s, SL_REFUSED_BUSY,
                                          "channel is already live",
                                          "Already publishing");
        ngx_rtmp_finalize_session(s);
        return;

    default: /* NGX_STREAMLINE_CLAIM_UNAVAILABLE */
        if (ctx->channel_len == 0) {
            (void) ngx_rtmp_streamline_refuse(s, SL_REFUSED_UNAVAILABLE,
                                  "keys in redis are unavailable",
                                  "Stream keys unavailable, retry later");
            ngx_rtmp_finalize_session(s);
            return;
        }

        ngx_log_error(NGX_LOG_WARN, s->connection->log, 0,
                      "streamline: redis unavailable, channel \"%s\" "
                      "published without its owner lock", ctx->channel);
    }

    if (ngx_rtmp_streamline_accept(s, ctx) != NGX_OK) {
        ngx_rtmp_finalize_session(s);
    }
}


/* the key is good: the rest of the chain sees the channel */
static ngx_int_t
ngx_rtmp_streamline_accept(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx)
{
    ctx->accepted = 1;

    ngx_memzero(ctx->v.name, NGX_RTMP_MAX_NAME);
    ngx_memcpy(ctx->v.name, ctx->channel, ctx->channel_len);

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "streamline: key accepted for channel \"%s\"",
                  ctx->channel);

    return next_publish(s, &ctx->v);
}


static ngx_int_t
ngx_rtmp_streamline_refuse(ngx_rtmp_session_t *s, sl_refused_e reason,
    const char *why, const char *desc)
{
    ngx_rtmp_streamline_ctx_t  *ctx;

    ctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_streamline_module);
    if (ctx) {
        ctx->refused = 1;
    }

    ngx_streamline_metrics_refused(reason);

    /* never the key: the client address is enough to find the publisher */
    ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                  "streamline: publish refused: %s", why);

    (void) ngx_rtmp_send_status(s, "NetStream.Publish.BadName", "error",
                                (char *) desc);

    return NGX_ERROR;
}


/* after notify's on_publish, access and live accepted the publisher */
static ngx_int_t
ngx_rtmp_streamline_late_publish(ngx_rtmp_session_t *s, ngx_rtmp_publish_t *v)
{
    int64_t                          now;
    ngx_rtmp_live_ctx_t             *lctx;
    ngx_rtmp_live_app_conf_t        *lacf;
    ngx_rtmp_streamline_ctx_t       *ctx;
    ngx_rtmp_streamline_app_conf_t  *sacf;

    ctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_streamline_module);
    if (ctx == NULL || !ctx->accepted || ctx->live) {
        return next_late_publish(s, v);
    }

    lacf = ngx_rtmp_get_module_app_conf(s, ngx_rtmp_live_module);
    lctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_live_module);

    if (lacf && lacf->live && (lctx == NULL || !lctx->publishing)) {
        /* live refused ("already publishing") and told the client */
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "streamline: publish refused: channel \"%s\" is "
                      "already live", ctx->channel);
        ctx->refused = 1;
        ngx_streamline_metrics_refused(SL_REFUSED_BUSY);
        return NGX_ERROR;
    }

    /* before the filesystem fills: no new stream (the log says why) */
    sacf = ngx_rtmp_get_module_app_conf(s, ngx_rtmp_streamline_module);

    if (sacf->media_path.len
        && ngx_streamline_packager_room(&sacf->media_path, sacf->max_size,
                                     sacf->min_free, ctx->channel,
                                     ctx->channel_len, s->connection->log)
           != NGX_OK)
    {
        return ngx_rtmp_streamline_refuse(s, SL_REFUSED_NO_ROOM,
                                          "no room for its media",
                                          "No room for the stream");
    }

    /* the machine's share of channels (README, Sizing) */
    if (ngx_streamline_packager_admit(sacf->max_channels, ctx->channel,
                                      ctx->channel_len, s->connection->log)
        != NGX_OK)
    {
        return ngx_rtmp_streamline_refuse(s, SL_REFUSED_LIMIT,
                                          "streamline_max_channels reached",
                                          "Too many channels live");
    }

    now = ngx_streamline_now_ms();

    if (ngx_streamline_live_add(ctx->channel, ctx->channel_len, ctx->owner,
                                ctx->owner_len, now)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->live = 1;
    ctx->live_ms = now;

    if (ngx_streamline_metrics()) {
        sl_metric_add(&ngx_streamline_metrics()->publishes_accepted, 1);
        ctx->metrics = ngx_streamline_metrics_channel(ctx->channel,
                                                      ctx->channel_len);
        ngx_streamline_metrics_live(ctx->metrics, 1);
    }
    ngx_streamline_redis_transition(ctx->channel, ctx->channel_len,
                                    SL_STATUS_LIVE, now, ctx->owner,
                                    ctx->owner_len);

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "streamline: channel \"%s\" is live", ctx->channel);

    ngx_rtmp_streamline_media_start(s, ctx);

    return next_late_publish(s, v);
}


static ngx_int_t
ngx_rtmp_streamline_close_stream(ngx_rtmp_session_t *s,
    ngx_rtmp_close_stream_t *v)
{
    ngx_uint_t                  held;
    ngx_rtmp_streamline_ctx_t  *ctx;

    ctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_streamline_module);
    if (ctx == NULL) {
        goto next;
    }

    if (ctx->claim) {
        /* the claim's reply, if it comes, frees the lock */
        ctx->claim->data = NULL;
        ctx->claim = NULL;
    }

    ngx_rtmp_streamline_media_stop(s, ctx);

    /*
     * A channel published without its lock (Redis was away) got it from
     * the heartbeat once Redis returned: it is released all the same (the
     * release deletes the lock only while it holds this owner token).
     */
    held = ctx->claimed || ctx->live;

    if (ctx->accepted && !ctx->live && !ctx->refused) {
        /* the rest of the chain refused it (on_publish, access rules),
         * or the publisher left before it said yes */
        ctx->refused = 1;
        ngx_streamline_metrics_refused(SL_REFUSED_ON_PUBLISH);
    }

    if (ctx->live) {
        ctx->live = 0;
        ngx_streamline_metrics_live(ctx->metrics, 0);
        ctx->metrics = NULL;
        ngx_streamline_live_remove(ctx->channel, ctx->channel_len);
        ngx_streamline_redis_transition(ctx->channel, ctx->channel_len,
                                        SL_STATUS_IDLE,
                                        ngx_streamline_now_ms(),
                                        ctx->owner, ctx->owner_len);

        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "streamline: channel \"%s\" is idle", ctx->channel);
    }

    if (held) {
        ctx->claimed = 0;
        ngx_streamline_redis_release(ctx->channel, ctx->channel_len,
                                     ctx->owner, ctx->owner_len);
    }

    ctx->accepted = 0;

next:

    return next_close_stream(s, v);
}


/* the Streamline context of connection c, if c is an RTMP session */
static ngx_rtmp_streamline_ctx_t *
ngx_rtmp_streamline_session_ctx(ngx_connection_t *c)
{
    if (c->fd == (ngx_socket_t) -1 || c->listening == NULL
        || c->listening->handler != ngx_rtmp_init_connection
        || c->destroyed || c->data == NULL)
    {
        return NULL;
    }

    return ngx_rtmp_get_module_ctx((ngx_rtmp_session_t *) c->data,
                                   ngx_rtmp_streamline_module);
}


/*
 * Ends this worker's publishing sessions: as if the publishers left, or,
 * at exit (the event loop is gone), by closing their connections only:
 * the exit writes their idle states and releases their owner locks.
 */
void
ngx_rtmp_streamline_drop_publishers(ngx_cycle_t *cycle, ngx_uint_t at_exit)
{
    ngx_uint_t                  i;
    ngx_connection_t           *c;
    ngx_rtmp_streamline_ctx_t  *ctx;

    c = cycle->connections;

    for (i = 0; i < cycle->connection_n; i++) {
        ctx = ngx_rtmp_streamline_session_ctx(&c[i]);

        if (ctx == NULL || !(ctx->live || ctx->accepted || ctx->claim)) {
            continue;
        }

        ngx_log_error(NGX_LOG_NOTICE, c[i].log, 0,
                      "streamline: channel \"%s\": nginx stops and no "
                      "newer worker takes over, the publisher is "
                      "disconnected", ctx->channel);

        if (at_exit) {
            ngx_close_connection(&c[i]);

        } else {
            ngx_rtmp_finalize_session(c[i].data);
        }
    }
}


/* the session that publishes the channel with that owner token, if any */
void
ngx_rtmp_streamline_drop_channel(const u_char *channel, size_t len,
    const u_char *owner, size_t owner_len)
{
    ngx_uint_t                  i;
    ngx_connection_t           *c;
    ngx_rtmp_streamline_ctx_t  *ctx;

    c = ngx_cycle->connections;

    for (i = 0; i < ngx_cycle->connection_n; i++) {
        ctx = ngx_rtmp_streamline_session_ctx(&c[i]);

        if (ctx != NULL && ctx->live
            && ctx->channel_len == len
            && ngx_memcmp(ctx->channel, channel, len) == 0
            && ctx->owner_len == owner_len
            && ngx_memcmp(ctx->owner, owner, owner_len) == 0)
        {
            ngx_rtmp_finalize_session(c[i].data);
            return;
        }
    }
}
