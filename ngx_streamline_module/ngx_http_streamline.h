/*
 * Streamline's HTTP side: the API (ngx_http_streamline_module.c), the
 * LL-HLS requests (ngx_http_streamline_hls*.c) and the playlists they
 * answer from the store (ngx_http_streamline_playlist.c).
 */

#ifndef NGX_HTTP_STREAMLINE_H
#define NGX_HTTP_STREAMLINE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_streamline.h"


extern ngx_module_t  ngx_http_streamline_module;


typedef struct {
    ngx_flag_t                 api;
    ngx_flag_t                 hls;
    ngx_uint_t                 max_held;       /* 0: worker_connections / 2 */
    ngx_str_t                  channel;
    ngx_msec_t                 cache;
    ngx_str_t                  cors;
    ngx_str_t                  secret_header;
    ngx_str_t                  secret_value;
    ngx_uint_t                 secret_set;     /* unsigned: off or set */
    ngx_flag_t                 collapse;
    ngx_msec_t                 collapse_timeout;
    ngx_int_t                  viewers;        /* streamline_viewers */
    ngx_http_complex_value_t  *viewers_channel;  /* NULL: from the path */
    ngx_flag_t                 clip;           /* streamline_clip */
    ngx_msec_t                 clip_max_length;
    ngx_str_t                  clip_pool_name;
    void                      *clip_pool;      /* ngx_thread_pool_t */
} ngx_http_streamline_loc_conf_t;


/* a playlist request's LL-HLS parameters, and what a wait needs */
typedef struct {
    int64_t                   msn;          /* _HLS_msn, -1: none */
    int64_t                   part;         /* _HLS_part, -1: none */
    ngx_uint_t                skip;         /* _HLS_skip=YES|v2 */
    ngx_msec_t                target_ms;    /* the target duration */
    const volatile uint64_t  *gen;          /* changes with the index */
    uint64_t                  seen;         /* *gen when it was checked */
    ngx_uint_t                ended;
} ngx_streamline_hls_req_t;


/*
 * A request for a channel of another nginx (the old binary of an upgrade)
 * waits this long at most for it to come here, and an index that nginx
 * left this recently means its publisher is expected back: under hls.js's
 * playlist timeout (10 s), above an encoder's usual reconnect delay.
 */
#define NGX_STREAMLINE_ELSEWHERE_MS  8000


/* the playlists (ngx_http_streamline_playlist.c) */

/*
 * NGX_OK: out holds the playlist; NGX_AGAIN: what req asks for is not
 * there yet (wait for *req->gen to change); NGX_ABORT: it is too far
 * ahead (400); NGX_DECLINED: no such channel or rendition, or nothing to
 * play yet (404).  rendition NULL: the master playlist.
 */
/* previews.vtt into out; NGX_DECLINED: none (ngx_http_streamline_playlist.c) */
ngx_int_t ngx_http_streamline_previews(ngx_pool_t *pool,
    const u_char *channel, size_t channel_len, ngx_msec_t *target_ms,
    ngx_str_t *out);
ngx_int_t ngx_http_streamline_playlist(ngx_pool_t *pool,
    const u_char *channel, size_t channel_len, const u_char *rendition,
    size_t rendition_len, ngx_streamline_hls_req_t *req, ngx_str_t *out);
/*
 * A part file asked for: NGX_OK when the index lists it (the file is on
 * disk), NGX_AGAIN when it is the next one (the preload hint: the request
 * waits for it), NGX_DECLINED otherwise.
 */
ngx_int_t ngx_http_streamline_part_ready(const u_char *channel,
    size_t channel_len, const u_char *rendition, size_t rendition_len,
    uint64_t msn, uint64_t part, ngx_streamline_hls_req_t *req);
/* NGX_AGAIN: the request waits for the channel (dir NULL: held already) */
ngx_int_t ngx_http_streamline_coming(const u_char *channel, size_t len,
    const u_char *dir, ngx_streamline_hls_req_t *req);


/* identical requests collapsed (ngx_http_streamline_collapse.c) */
ngx_int_t ngx_http_streamline_collapse_init(ngx_conf_t *cf);


/* the module (ngx_http_streamline_module.c) */
ngx_int_t ngx_http_streamline_location_tail(ngx_http_request_t *r,
    u_char **tail, size_t *len);
ngx_uint_t ngx_http_streamline_max_held(ngx_http_request_t *r);

/* the API (ngx_http_streamline_api.c) */
ngx_int_t ngx_http_streamline_api_handler(ngx_http_request_t *r);
/* a JSON error {"error": msg} with the status */
ngx_int_t ngx_http_streamline_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg);
ngx_int_t ngx_http_streamline_send_body(ngx_http_request_t *r, u_char *body,
    size_t len);
ngx_int_t ngx_http_streamline_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);
ngx_int_t ngx_http_streamline_add_header(ngx_http_request_t *r,
    const char *key, ngx_str_t *value);

/* the LL-HLS requests (ngx_http_streamline_hls.c) */
ngx_int_t ngx_http_streamline_hls_handler(ngx_http_request_t *r);
/* an index changed (a part, a segment, the end): waiters are checked */
void ngx_http_streamline_hls_wake(void);

/* clips (ngx_http_streamline_clip.c) */
ngx_int_t ngx_http_streamline_clip_handler(ngx_http_request_t *r,
    const u_char *channel, size_t channel_len);
char *ngx_http_streamline_clip_merge(ngx_conf_t *cf,
    ngx_http_streamline_loc_conf_t *prev,
    ngx_http_streamline_loc_conf_t *conf);

/* the live viewer count (ngx_http_streamline_viewers.c) */
char *ngx_http_streamline_viewers(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_streamline_viewers_log(ngx_http_request_t *r,
    ngx_http_streamline_loc_conf_t *slcf);
/* this worker's last count of a channel (-1: none yet), refreshed in the
 * background */
int64_t ngx_http_streamline_viewers_count(const u_char *channel, size_t len);

/* the metrics' location and the requests counted (ngx_streamline_metrics.c) */
char *ngx_http_streamline_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_streamline_metrics_http(ngx_http_request_t *r, ngx_uint_t api);

#endif /* NGX_HTTP_STREAMLINE_H */
