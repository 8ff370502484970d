/*
 * Shared by the LL-HLS request files: ngx_http_streamline_hls.c (the
 * handler, answering a request) and ngx_http_streamline_hls_wait.c (the
 * requests that wait: parked, woken, checked in batches, timed out).
 */

#ifndef NGX_HTTP_STREAMLINE_HLS_H
#define NGX_HTTP_STREAMLINE_HLS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_streamline.h"


#define NGX_HTTP_STREAMLINE_TICK   2     /* ms between generation checks */
#define NGX_HTTP_STREAMLINE_BATCH  256   /* requests checked an iteration */
#define NGX_HTTP_STREAMLINE_MEMO   8     /* distinct playlists a batch */


/* this worker's requests that wait on one DVR index */
typedef struct {
    ngx_queue_t                queue;      /* ngx_http_streamline_groups */
    const volatile uint64_t   *gen;
    uint64_t                   seen;
    ngx_queue_t                waiters;    /* in the order they came */
    ngx_uint_t                 refs;       /* waiters, here or due */
} ngx_http_streamline_group_t;


typedef struct {
    ngx_queue_t                queue;      /* its group's, or due */
    ngx_http_streamline_group_t  *group;
    ngx_http_request_t        *request;
    ngx_event_t                timer;
    ngx_streamline_hls_req_t   req;
    u_char                     channel[SL_CHANNEL_MAX + 1];
    size_t                     channel_len;
    u_char                     rendition[SL_CHANNEL_MAX + 1];
    size_t                     rendition_len;
    uint64_t                   part_msn;
    uint64_t                   part_index;
    size_t                     after_channel;  /* the URI's, in bytes */
    unsigned                   is_part:1;
    unsigned                   waiting:1;
    unsigned                   elsewhere:1;    /* waits for the channel */
} ngx_http_streamline_wait_t;


/*
 * The playlists a batch rendered, in a pool that each request answered
 * from it references (a pool cleanup of the request drops it): identical
 * requests send the same bytes, rendered and stored once.
 */
typedef struct {
    ngx_pool_t                  *pool;
    ngx_uint_t                   refs;     /* the batch, and each request */
} ngx_http_streamline_shared_t;


typedef struct {
    ngx_http_streamline_wait_t  *key;      /* a copy of what it answered */
    ngx_str_t                    out;
    ngx_str_t                    cache_control;
} ngx_http_streamline_memo_entry_t;


typedef struct {
    ngx_http_streamline_shared_t      *shared;
    ngx_uint_t                         n;
    ngx_uint_t                         next;   /* replaced when full */
    ngx_http_streamline_memo_entry_t   e[NGX_HTTP_STREAMLINE_MEMO];
} ngx_http_streamline_memo_t;


/*
 * Answers if it can: NGX_AGAIN when the request must wait.  With memo (a
 * batch of waiting requests), a playlist the batch rendered for an
 * identical request is sent again, and one rendered now is kept for the
 * next ones.
 */
ngx_int_t ngx_http_streamline_hls_try(ngx_http_streamline_wait_t *w,
    ngx_http_streamline_memo_t *memo);
void ngx_http_streamline_shared_unref(void *data);
/* logs msg at info level: the status */
ngx_int_t ngx_http_streamline_hls_status(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);

/* NGX_DONE: parked; or a status (503 beyond streamline_hls_max_held) */
ngx_int_t ngx_http_streamline_hls_park(ngx_http_streamline_wait_t *w);

#endif /* NGX_HTTP_STREAMLINE_HLS_H */
