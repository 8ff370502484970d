/*
 * ngx_rtmp_streamline_module's own declarations, shared by its files and by
 * nothing else: ngx_rtmp_streamline_module.c (the module, publish
 * authorisation), ngx_rtmp_streamline_conf.c (its configuration) and
 * ngx_rtmp_streamline_feed.c (a live channel's media pipeline, fed with
 * the publisher's audio and video).
 */

#ifndef NGX_RTMP_STREAMLINE_H
#define NGX_RTMP_STREAMLINE_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_rtmp.h"
#include "ngx_rtmp_cmd_module.h"

#include "ngx_streamline.h"
#include "ngx_streamline_packager.h"
#include "ngx_streamline_store.h"


typedef struct {
    ngx_flag_t                 enable;
    ngx_flag_t                 keys_redis;
    ngx_str_t                  keys_file;
    sl_key_entry_t            *keys;
    size_t                     nkeys;

    ngx_str_t                  media_path;
    ngx_msec_t                 segment;
    ngx_msec_t                 part;
    ngx_uint_t                 part_hold_back;    /* in parts */
    ngx_msec_t                 max_lag;    /* the ladder's */
    ngx_msec_t                 previews;   /* interval, 0: off */
    ngx_uint_t                 preview_width;
    ngx_uint_t                 preview_height;
    ngx_msec_t                 window;
    ngx_msec_t                 grace;
    ngx_flag_t                 keep;
    off_t                      max_size;   /* 0: no budget */
    off_t                      min_free;   /* 0: no floor */
    ngx_uint_t                 max_channels;   /* live here, 0: any */
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
    unsigned                   refused:1;  /* counted in the metrics */
    unsigned                   warned_video:1;
    unsigned                   warned_audio:1;
    unsigned                   warned_drop:1;

    sl_metrics_channel_t       *metrics;   /* its slot, while live */
    ngx_streamline_packager_t  *media;
    ngx_streamline_packager_conf_t  mc;        /* to start it (again) */
    ngx_event_t                media_retry;
    ngx_uint_t                 media_tries;
    ngx_rtmp_session_t        *session;
    u_char                    *buf;        /* a message, copied whole */
    size_t                     buf_size;
} ngx_rtmp_streamline_ctx_t;


extern ngx_module_t  ngx_rtmp_streamline_module;


/* ngx_rtmp_streamline_conf.c */
void *ngx_rtmp_streamline_create_app_conf(ngx_conf_t *cf);
char *ngx_rtmp_streamline_merge_app_conf(ngx_conf_t *cf, void *parent,
    void *child);
char *ngx_rtmp_streamline_keys_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_rtmp_streamline_media_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_rtmp_streamline_previews(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_rtmp_streamline_preview_size(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_rtmp_streamline_rendition(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_rtmp_streamline_feed.c */
void ngx_rtmp_streamline_media_start(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx);
void ngx_rtmp_streamline_media_stop(ngx_rtmp_session_t *s,
    ngx_rtmp_streamline_ctx_t *ctx);
/* the handler of audio and video messages */
ngx_int_t ngx_rtmp_streamline_av(ngx_rtmp_session_t *s, ngx_rtmp_header_t *h,
    ngx_chain_t *in);

#endif /* NGX_RTMP_STREAMLINE_H */
