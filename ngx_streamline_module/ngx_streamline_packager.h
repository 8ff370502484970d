/*
 * The packager glue: a publish's media pipeline (core/sl_pipeline.c)
 * started and finished for the RTMP side, and what the pipeline threads
 * report (parts, segments, the end) written into the store.  Also the
 * disk budget of a media path, checked after each segment.
 *
 *   RTMP feed -> packager glue -> store <- HLS glue
 */

#ifndef NGX_STREAMLINE_PACKAGER_H
#define NGX_STREAMLINE_PACKAGER_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_streamline.h"


/* what a publish needs to start its media pipeline */
typedef struct {
    const u_char             *channel;
    size_t                    channel_len;
    const u_char             *dir;          /* <media path>/<channel> */
    ngx_msec_t                segment;
    ngx_msec_t                part;
    ngx_uint_t                part_hold_back;   /* in parts */
    ngx_msec_t                max_lag;      /* the ladder's */
    ngx_msec_t                previews;     /* interval, 0: none */
    ngx_uint_t                preview_width;
    ngx_uint_t                preview_height;
    ngx_msec_t                window;
    ngx_msec_t                grace;
    ngx_flag_t                keep;
    const u_char             *owner;        /* the publish's owner token */
    size_t                    owner_len;
    int64_t                   live_ms;      /* when it went live */
    off_t                     max_size;     /* of the media path, 0: any */
    off_t                     min_free;     /* on its filesystem, 0: any */
    const sl_rung_t          *rungs;
    size_t                    nrungs;
    ngx_log_t                *log;
} ngx_streamline_packager_conf_t;

typedef struct ngx_streamline_packager_s  ngx_streamline_packager_t;

/*
 * What the packager calls when this worker stops for good with nobody to
 * carry its channels on: the RTMP side ends its publishing sessions.
 */
typedef void (*ngx_streamline_packager_drop_pt)(ngx_cycle_t *cycle,
    ngx_uint_t at_exit);


void ngx_streamline_packager_set_drop(ngx_streamline_packager_drop_pt drop);
void ngx_streamline_packager_init_process(ngx_cycle_t *cycle);
/* a worker that exits stops its pipelines: the last segments are written */
void ngx_streamline_packager_exit_process(ngx_cycle_t *cycle);

/* *rc NGX_AGAIN: the channel's previous stream is still ending, retry */
ngx_streamline_packager_t *ngx_streamline_packager_start(
    ngx_streamline_packager_conf_t *mc, ngx_int_t *rc);
sl_pipeline_t *ngx_streamline_packager_pipeline(ngx_streamline_packager_t *m);
/* the session ends: the pipeline writes what it has, then ENDLIST */
void ngx_streamline_packager_finish(ngx_streamline_packager_t *m);

/* NGX_DECLINED (logged): no room under the media path for a new stream */
ngx_int_t ngx_streamline_packager_room(const ngx_str_t *path,
    off_t max_size, off_t min_free, const u_char *channel, size_t len,
    ngx_log_t *log);

/*
 * NGX_DECLINED (logged): max channels (of any application, any worker)
 * are live here already, not counting this one's own earlier stream
 */
ngx_int_t ngx_streamline_packager_admit(ngx_uint_t max,
    const u_char *channel, size_t len, ngx_log_t *log);

#endif /* NGX_STREAMLINE_PACKAGER_H */
