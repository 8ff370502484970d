/*
 * The RTMP side: the stream name a publisher sends is a secret key.  The
 * publish hook of ngx_rtmp_streamline_module runs before every nginx-rtmp
 * module (see config): it maps the key to its channel (keys file or Redis),
 * takes the channel's owner lock in Redis, and renames the stream to the
 * channel, so that no other module sees the key.  The hook of
 * ngx_rtmp_streamline_late_module runs after all of them (notify's
 * on_publish and access included): only there does the channel go live.
 * close_stream (which may fire more than once a session) sets it idle.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_rtmp.h"
#include "ngx_rtmp_cmd_module.h"
#include "ngx_rtmp_codec_module.h"
#include "ngx_rtmp_live_module.h"

#include "ngx_streamline.h"


#define NGX_RTMP_STREAMLINE_KEYS_MAX  65536


typedef struct {
    ngx_flag_t                 enable;
    ngx_flag_t                 keys_redis;
    ngx_str_t                  keys_file;
    sl_key_entry_t            *keys;
    size_t                     nkeys;

    ngx_str_t                  media_path;
    ngx_msec_t                 segment;
    ngx_msec_t                 part;
    ngx_msec_t                 window;
    ngx_msec_t                 grace;
    ngx_flag_t                 keep;
    off_t                      max_size;   /* 0: no budget */
    off_t                      min_free;   /* 0: no floor */
    ngx_array_t               *rungs;      /* of sl_rung_t */
} ngx_rtmp_streamline_app_conf_t;


typedef struct {
    ngx_rtmp_publish_t         v;          /* the publish, while we ask */
    ngx_streamline_claim_t    *claim;      /* in flight */
    u_char                     channel[SL_CHANNEL_MAX + 1];
    size_t                     channel_len;
    u_char                     owner[SL_OWNER_MAX];
    size_t                     owner_len;
    int64_t                    live_ms;
    ngx_uint_t                 log_level;  /* while nginx-rtmp is quiet */
    unsigned                   quiet:1;
    unsigned                   accepted:1; /* the key is good */
    unsigned                   claimed:1;  /* we hold the owner lock */
    unsigned                   live:1;
    unsigned                   warned_video:1;
    unsigned                   warned_audio:1;
    unsigned                   warned_drop:1;

    ngx_streamline_media_t    *media;
    ngx_streamline_media_conf_t  mc;       /* to start it (again) */
    ngx_event_t                media_retry;
    ngx_uint_t                 media_tries;
    ngx_rtmp_session_t        *session;
    u_char                    *buf;        /* a message, copied whole */
    size_t                     buf_size;
} ngx_rtmp_streamline_ctx_t;


static ngx_int_t ngx_rtmp_streamline_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_rtmp_streamline_late_postconfiguration(ngx_conf_t *cf);
static void *ngx_rtmp_streamline_create_app_conf(ngx_conf_t *cf);
static char *ngx_rtmp_streamline_merge_app_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_rtmp_streamline_keys_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
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
    const char *why, const char *desc);
static char *ngx_rtmp_streamline_media_path(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_rtmp_streamline_rendition(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_rtmp_streamline_media_start(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx);
static void ngx_rtmp_streamline_media_stop(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx);
static ngx_int_t ngx_rtmp_streamline_av(ngx_rtmp_session_t *s,
    ngx_rtmp_header_t *h, ngx_chain_t *in);
static void ngx_rtmp_streamline_media_try(ngx_rtmp_streamline_ctx_t *ctx);
static void ngx_rtmp_streamline_media_retry(ngx_event_t *ev);
static void ngx_rtmp_streamline_feed(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx, ngx_uint_t video, uint32_t timestamp,
    ngx_chain_t *in);


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


static void *
ngx_rtmp_streamline_create_app_conf(ngx_conf_t *cf)
{
    ngx_rtmp_streamline_app_conf_t  *sacf;

    sacf = ngx_pcalloc(cf->pool, sizeof(ngx_rtmp_streamline_app_conf_t));
    if (sacf == NULL) {
        return NULL;
    }

    sacf->enable = NGX_CONF_UNSET;
    sacf->keys_redis = NGX_CONF_UNSET;
    sacf->segment = NGX_CONF_UNSET_MSEC;
    sacf->part = NGX_CONF_UNSET_MSEC;
    sacf->window = NGX_CONF_UNSET_MSEC;
    sacf->grace = NGX_CONF_UNSET_MSEC;
    sacf->keep = NGX_CONF_UNSET;
    sacf->max_size = NGX_CONF_UNSET;
    sacf->min_free = NGX_CONF_UNSET;

    return sacf;
}


static char *
ngx_rtmp_streamline_merge_app_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_rtmp_streamline_app_conf_t  *prev = parent;
    ngx_rtmp_streamline_app_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->keys_redis, prev->keys_redis, 1);

    if (conf->keys == NULL) {
        conf->keys_file = prev->keys_file;
        conf->keys = prev->keys;
        conf->nkeys = prev->nkeys;
    }

    ngx_conf_merge_str_value(conf->media_path, prev->media_path, "");
    ngx_conf_merge_msec_value(conf->segment, prev->segment, 2000);
    ngx_conf_merge_msec_value(conf->part, prev->part, 250);
    ngx_conf_merge_msec_value(conf->window, prev->window, 4 * 3600 * 1000);
    ngx_conf_merge_msec_value(conf->grace, prev->grace, 60000);
    ngx_conf_merge_value(conf->keep, prev->keep, 0);
    ngx_conf_merge_off_value(conf->max_size, prev->max_size, 0);
    ngx_conf_merge_off_value(conf->min_free, prev->min_free, 0);

    if (conf->rungs == NULL) {
        conf->rungs = prev->rungs;
    }

    if (conf->segment < 1000 || conf->segment > 60000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_segment\" must be 1s to 60s");
        return NGX_CONF_ERROR;
    }

    if (conf->part < 100 || conf->part > conf->segment) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_part\" must be 100ms to the "
                           "segment duration");
        return NGX_CONF_ERROR;
    }

    if (conf->window < 2 * conf->segment || conf->window > 24 * 3600000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_dvr_window\" must be two segments "
                           "to 24h");
        return NGX_CONF_ERROR;
    }

    if (conf->enable && !conf->keys_redis && conf->keys == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline\" is on with neither "
                           "\"streamline_keys_file\" nor "
                           "\"streamline_keys_redis\": no key can publish");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* read at (re)load: edit the file, then "nginx -s reload" */
static char *
ngx_rtmp_streamline_keys_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_rtmp_streamline_app_conf_t  *sacf = conf;

    u_char           *buf;
    size_t            n, max, line;
    ssize_t           rd;
    ngx_str_t        *value;
    ngx_file_t        file;
    const char       *err;
    ngx_file_info_t   fi;

    if (sacf->keys) {
        return "is duplicate";
    }

    value = cf->args->elts;
    sacf->keys_file = value[1];

    if (ngx_conf_full_name(cf->cycle, &sacf->keys_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = sacf->keys_file;
    file.log = cf->log;

    file.fd = ngx_open_file(sacf->keys_file.data, NGX_FILE_RDONLY,
                            NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"streamline_keys_file\": cannot open \"%V\"",
                           &sacf->keys_file);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 16 * 1024 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_keys_file\": \"%V\" is unreadable "
                           "or over 16 MB", &sacf->keys_file);
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    buf = ngx_pnalloc(cf->temp_pool, ngx_file_size(&fi) + 1);
    if (buf == NULL) {
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    rd = ngx_read_file(&file, buf, ngx_file_size(&fi), 0);
    ngx_close_file(file.fd);

    if (rd != (ssize_t) ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_keys_file\": cannot read \"%V\"",
                           &sacf->keys_file);
        return NGX_CONF_ERROR;
    }

    /* room for the keys the file has, not for the most it may have */
    max = ngx_min(sl_keyfile_count(buf, rd), NGX_RTMP_STREAMLINE_KEYS_MAX);

    sacf->keys = ngx_palloc(cf->pool,
                            ngx_max(max, 1) * sizeof(sl_key_entry_t));
    if (sacf->keys == NULL) {
        return NGX_CONF_ERROR;
    }

    if (sl_keyfile_parse(buf, rd, sacf->keys, max, &n, &line, &err)
        != SL_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_keys_file\": %s in \"%V\" line %uz",
                           err, &sacf->keys_file, line);
        return NGX_CONF_ERROR;
    }

    sacf->nkeys = n;

    return NGX_CONF_OK;
}


static char *
ngx_rtmp_streamline_media_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_rtmp_streamline_app_conf_t  *sacf = conf;

    ngx_str_t   *value;
    ngx_path_t  *path;

    if (sacf->media_path.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    sacf->media_path = value[1];

    if (sacf->media_path.len && sacf->media_path.data[sacf->media_path.len - 1]
                                == '/')
    {
        sacf->media_path.len--;
    }

    if (ngx_conf_full_name(cf->cycle, &sacf->media_path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* nginx creates it at start, owned by the workers' user */
    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    path->name = sacf->media_path;
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    if (ngx_add_path(cf, &path) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_streamline_media_zone_add(cf, &sacf->media_path) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* streamline_rendition name WxH bitrate [preset=P] [profile=P] */
static char *
ngx_rtmp_streamline_rendition(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_rtmp_streamline_app_conf_t  *sacf = conf;

    u_char      *x, *name;
    ssize_t      rate;
    ngx_int_t    w, h;
    ngx_str_t   *value, v;
    sl_rung_t   *rung;
    ngx_uint_t   i;

    value = cf->args->elts;

    if (cf->args->nelts < 4) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\" takes a name, a size "
                           "(WxH) and a video bitrate");
        return NGX_CONF_ERROR;
    }

    if (sacf->rungs == NULL) {
        sacf->rungs = ngx_array_create(cf->pool, 4, sizeof(sl_rung_t));
        if (sacf->rungs == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (sacf->rungs->nelts == SL_PIPELINE_MAX_RUNGS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\": at most %d renditions",
                           SL_PIPELINE_MAX_RUNGS);
        return NGX_CONF_ERROR;
    }

    if (!sl_channel_valid(value[1].data, value[1].len)
        || value[1].len > 32
        || (value[1].len == sizeof(SL_NAME_SOURCE) - 1
            && ngx_strncmp(value[1].data, SL_NAME_SOURCE,
                           sizeof(SL_NAME_SOURCE) - 1) == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\": invalid name \"%V\" "
                           "(1 to 32 of A-Z a-z 0-9 _ -, not \""
                           SL_NAME_SOURCE "\")",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    rung = sacf->rungs->elts;
    for (i = 0; i < sacf->rungs->nelts; i++) {
        if (ngx_strlen(rung[i].name) == value[1].len
            && ngx_strncmp(rung[i].name, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"streamline_rendition\": duplicate name "
                               "\"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    x = ngx_strlchr(value[2].data, value[2].data + value[2].len, 'x');
    w = x ? ngx_atoi(value[2].data, x - value[2].data) : NGX_ERROR;
    h = x ? ngx_atoi(x + 1, value[2].data + value[2].len - x - 1)
          : NGX_ERROR;

    if (w < 16 || h < 16 || w > 7680 || h > 4320 || (w & 1) || (h & 1)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\": invalid size \"%V\" "
                           "(even WxH, 16x16 to 7680x4320)", &value[2]);
        return NGX_CONF_ERROR;
    }

    rate = ngx_parse_size(&value[3]);
    if (rate == NGX_ERROR || rate < 50 * 1000 || rate > 100 * 1000 * 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\": invalid bitrate \"%V\" "
                           "(bits per second: 800k, 2m, 50k to 100m)",
                           &value[3]);
        return NGX_CONF_ERROR;
    }

    rung = ngx_array_push(sacf->rungs);
    name = ngx_pnalloc(cf->pool, value[1].len + 1);
    if (rung == NULL || name == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(name, value[1].data, value[1].len + 1);
    ngx_memzero(rung, sizeof(sl_rung_t));
    rung->name = (char *) name;
    rung->width = (int) w;
    rung->height = (int) h;
    rung->bitrate_kbps = (int) (rate / 1000);
    rung->preset = "veryfast";
    rung->profile = "main";

    for (i = 4; i < cf->args->nelts; i++) {
        v = value[i];

        if (v.len > 7 && ngx_strncmp(v.data, "preset=", 7) == 0) {
            rung->preset = (char *) v.data + 7;
            continue;
        }

        if (v.len > 8 && ngx_strncmp(v.data, "profile=", 8) == 0) {
            rung->profile = (char *) v.data + 8;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_rendition\": unknown option \"%V\" "
                           "(preset=, profile=)", &v);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


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
        return ngx_rtmp_streamline_refuse(s, "second publish in a session",
                                          "Already publishing");
    }

    len = ngx_strlen(v->name);

    if (!sl_key_valid(v->name, len)) {
        return ngx_rtmp_streamline_refuse(s, "malformed stream key",
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
        return ngx_rtmp_streamline_refuse(s, "unknown stream key",
                                          "Bad stream key");
    }

    ctx->owner_len = ngx_streamline_owner(ctx->owner, s->connection->number);

    if (entry) {
        ngx_memcpy(ctx->channel, entry->channel, entry->channel_len + 1);
        ctx->channel_len = entry->channel_len;

        if (ngx_streamline_live_has(ctx->channel, ctx->channel_len)) {
            return ngx_rtmp_streamline_refuse(s, "channel is already live",
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
        return ngx_rtmp_streamline_refuse(s,
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
        (void) ngx_rtmp_streamline_refuse(s, "unknown stream key",
                                          "Bad stream key");
        ngx_rtmp_finalize_session(s);
        return;

    case NGX_STREAMLINE_CLAIM_BUSY:
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "streamline: channel \"%s\" is already live",
                      cl->channel);
        (void) ngx_rtmp_streamline_refuse(s, "channel is already live",
                                          "Already publishing");
        ngx_rtmp_finalize_session(s);
        return;

    default: /* NGX_STREAMLINE_CLAIM_UNAVAILABLE */
        if (ctx->channel_len == 0) {
            (void) ngx_rtmp_streamline_refuse(s,
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
ngx_rtmp_streamline_refuse(ngx_rtmp_session_t *s, const char *why,
    const char *desc)
{
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
    int64_t                           now;
    ngx_rtmp_live_ctx_t              *lctx;
    ngx_rtmp_live_app_conf_t         *lacf;
    ngx_rtmp_streamline_ctx_t        *ctx;
    ngx_rtmp_streamline_app_conf_t   *sacf;

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
        return NGX_ERROR;
    }

    /* before the filesystem fills: no new stream (the log says why) */
    sacf = ngx_rtmp_get_module_app_conf(s, ngx_rtmp_streamline_module);

    if (sacf->media_path.len
        && ngx_streamline_media_room(&sacf->media_path, sacf->max_size,
                                     sacf->min_free, ctx->channel,
                                     ctx->channel_len, s->connection->log)
           != NGX_OK)
    {
        return ngx_rtmp_streamline_refuse(s, "no room for its media",
                                          "No room for the stream");
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
    ngx_streamline_redis_transition(ctx->channel, ctx->channel_len,
                                    SL_STATUS_LIVE, now);

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

    if (ctx->live) {
        ctx->live = 0;
        ngx_streamline_live_remove(ctx->channel, ctx->channel_len);
        ngx_streamline_redis_transition(ctx->channel, ctx->channel_len,
                                        SL_STATUS_IDLE,
                                        ngx_streamline_now_ms());

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
    ngx_rtmp_session_t         *s;
    ngx_rtmp_streamline_ctx_t  *ctx;

    c = cycle->connections;

    for (i = 0; i < cycle->connection_n; i++) {
        if (c[i].fd == (ngx_socket_t) -1 || c[i].listening == NULL
            || c[i].listening->handler != ngx_rtmp_init_connection
            || c[i].destroyed || c[i].data == NULL)
        {
            continue;
        }

        s = c[i].data;
        ctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_streamline_module);

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
            ngx_rtmp_finalize_session(s);
        }
    }
}


/* the media pipeline of a live channel */

static void
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

    ngx_memzero(&ctx->mc, sizeof(ngx_streamline_media_conf_t));
    ctx->mc.channel = ctx->channel;
    ctx->mc.channel_len = ctx->channel_len;
    ctx->mc.dir = dir;
    ctx->mc.segment = sacf->segment;
    ctx->mc.part = sacf->part;
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

    ctx->media = ngx_streamline_media_start(&ctx->mc, &rc);

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


static void
ngx_rtmp_streamline_media_stop(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx)
{
    if (ctx->media_retry.timer_set) {
        ngx_del_timer(&ctx->media_retry);
    }

    if (ctx->media) {
        ngx_streamline_media_finish(ctx->media);
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
static ngx_int_t
ngx_rtmp_streamline_av(ngx_rtmp_session_t *s, ngx_rtmp_header_t *h,
    ngx_chain_t *in)
{
    ngx_rtmp_streamline_ctx_t  *ctx;

    ctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_streamline_module);
    if (ctx == NULL || ctx->media == NULL) {
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
    u_char                 *p;
    size_t                  len;
    int64_t                 now;
    ngx_int_t               rc;
    ngx_chain_t            *cl;
    sl_flv_tag_t            tag;
    sl_pipeline_t          *pl;
    ngx_rtmp_codec_ctx_t   *codec;

    pl = ngx_streamline_media_pipeline(ctx->media);

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
