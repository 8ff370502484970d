/*
 * Shared by the packager glue's two files: ngx_streamline_packager.c
 * (start, finish, the end of a channel's DVR) and
 * ngx_streamline_packager_index.c (the pipeline threads' reports into the
 * store, the disk budget).
 */

#ifndef NGX_STREAMLINE_PACKAGER_INT_H
#define NGX_STREAMLINE_PACKAGER_INT_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_streamline_packager.h"
#include "ngx_streamline_store.h"


/* a publishing session's pipeline; malloc'ed: it outlives the session */
struct ngx_streamline_packager_s {
    ngx_streamline_packager_t        *next;     /* this worker's list */
    ngx_streamline_packager_t       **prev;
    sl_pipeline_t                    *pipeline;
    ngx_streamline_channel_t         *ch;
    ngx_uint_t                        generation;
    sl_rung_t                         rungs[SL_PIPELINE_MAX_RUNGS];
    size_t                            nrungs;
    ngx_fd_t                          live;     /* flock: the stream runs */
    u_char                            names[SL_PIPELINE_MAX_RUNGS][64];
    u_char                            names_file[NGX_MAX_PATH];
    /* the metrics: the channel's slot, its renditions', and what they
     * held when this stream began (the stream's figures add to them) */
    sl_metrics_channel_t             *metrics;
    sl_metrics_rendition_t           *mr[1 + SL_PIPELINE_MAX_RUNGS];
    sl_metrics_totals_t               base[1 + SL_PIPELINE_MAX_RUNGS];
    uint64_t                          base_packets[3];
    uint64_t                          base_overloads;
};


/* the pipeline's callbacks, on its threads */
void ngx_streamline_packager_part(void *data, const sl_segment_info_t *seg);
void ngx_streamline_packager_segment(void *data,
    const sl_segment_info_t *seg);

#endif /* NGX_STREAMLINE_PACKAGER_INT_H */
