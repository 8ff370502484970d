/*
 * LL-HLS playlists and parts, for any worker (streamline_hls):
 *
 *   <prefix>/<channel>/master.m3u8
 *   <prefix>/<channel>/<rendition>/index.m3u8[?_HLS_msn=M[&_HLS_part=P]]
 *                                            [&_HLS_skip=YES|v2]
 *   <prefix>/<channel>/<rendition>/part-<msn>.<i>.m4s   (the preload hint
 *                                                         waits for it)
 *
 * Everything else under the location (init, segments, parts that exist)
 * goes to the static module.  A blocking request costs no thread: it is
 * parked in this worker's list with a timer (3 target durations, then
 * 503), and a short timer, armed only while requests wait, compares each
 * one's DVR generation in shared memory: the packager thread of whichever
 * worker holds the stream bumps it with every part, so every worker wakes
 * its requests within a tick.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_streamline.h"


#define NGX_HTTP_STREAMLINE_TICK  2      /* ms between generation checks */


typedef struct {
    ngx_queue_t                queue;
    ngx_http_request_t        *request;
    ngx_event_t                timer;
    ngx_streamline_hls_req_t   req;
    uint64_t                   seen;
    u_char                     channel[SL_CHANNEL_MAX + 1];
    size_t                     channel_len;
    u_char                     rendition[SL_CHANNEL_MAX + 1];
    size_t                     rendition_len;
    uint64_t                   part_msn;
    uint64_t                   part_index;
    unsigned                   is_part:1;
    unsigned                   waiting:1;
} ngx_http_streamline_wait_t;


static ngx_int_t ngx_http_streamline_hls_args(ngx_http_request_t *r,
    ngx_streamline_hls_req_t *req);
/* the last playlist a tick rendered: identical waiters get a copy */
typedef struct {
    ngx_http_streamline_wait_t   key;      /* a copy of what it answered */
    ngx_uint_t                   valid;
    ngx_str_t                    out;      /* in pool */
    ngx_msec_t                   max_age;
    ngx_pool_t                  *pool;     /* lives for the tick */
} ngx_http_streamline_memo_t;

static ngx_int_t ngx_http_streamline_hls_try(ngx_http_streamline_wait_t *w,
    ngx_http_streamline_memo_t *memo);
static ngx_int_t ngx_http_streamline_hls_park(ngx_http_streamline_wait_t *w);
static void ngx_http_streamline_hls_unpark(ngx_http_streamline_wait_t *w);
static void ngx_http_streamline_hls_tick(ngx_event_t *ev);
static void ngx_http_streamline_hls_expired(ngx_event_t *ev);
static void ngx_http_streamline_hls_cleanup(void *data);
static ngx_int_t ngx_http_streamline_send_playlist(ngx_http_request_t *r,
    ngx_str_t *out, ngx_msec_t max_age);
static ngx_int_t ngx_http_streamline_send_file(ngx_http_request_t *r);
static ngx_int_t ngx_http_streamline_hls_status(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);


static ngx_queue_t   ngx_http_streamline_waiting;
static ngx_uint_t    ngx_http_streamline_nwaiting;
static ngx_event_t   ngx_http_streamline_tick_ev;


ngx_int_t
ngx_http_streamline_hls_handler(ngx_http_request_t *r)
{
    u_char                      *tail, *end, *ch, *rend, *name;
    size_t                       len;
    ngx_int_t                    rc, msn, part;
    ngx_http_streamline_wait_t  *w;

    if (ngx_http_streamline_location_tail(r, &tail, &len) != NGX_OK
        || len < sizeof("/x/master.m3u8") - 1)
    {
        return NGX_DECLINED;
    }

    end = tail + len;
    ch = tail + 1;
    tail = ngx_strlchr(ch, end, '/');
    if (tail == NULL) {
        return NGX_DECLINED;
    }

    w = ngx_pcalloc(r->pool, sizeof(ngx_http_streamline_wait_t));
    if (w == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->request = r;
    w->req.msn = -1;
    w->req.part = -1;
    w->channel_len = tail - ch;

    if (!sl_channel_valid(ch, w->channel_len)) {
        return NGX_DECLINED;
    }

    ngx_memcpy(w->channel, ch, w->channel_len);

    if ((size_t) (end - tail) == sizeof("/master.m3u8") - 1
        && ngx_strncmp(tail, "/master.m3u8", end - tail) == 0)
    {
        goto playlist;
    }

    rend = tail + 1;
    tail = ngx_strlchr(rend, end, '/');

    if (tail == NULL || !sl_channel_valid(rend, tail - rend)) {
        return NGX_DECLINED;
    }

    w->rendition_len = tail - rend;
    ngx_memcpy(w->rendition, rend, w->rendition_len);
    name = tail + 1;
    len = end - name;

    if (len == sizeof("index.m3u8") - 1
        && ngx_strncmp(name, "index.m3u8", len) == 0)
    {
        goto playlist;
    }

    /* part-<msn>.<i>.m4s: may be the preload hint, not there yet */

    if (len > sizeof("part-.m4s") && ngx_strncmp(name, "part-", 5) == 0
        && ngx_strncmp(end - 4, ".m4s", 4) == 0)
    {
        name += 5;
        tail = ngx_strlchr(name, end - 4, '.');

        if (tail == NULL) {
            return NGX_DECLINED;
        }

        msn = ngx_atoi(name, tail - name);
        part = ngx_atoi(tail + 1, end - 4 - tail - 1);

        if (msn == NGX_ERROR || part == NGX_ERROR) {
            return NGX_DECLINED;
        }

        w->is_part = 1;
        w->part_msn = msn;
        w->part_index = part;

        rc = ngx_streamline_media_part_ready(w->channel, w->channel_len,
                                             w->rendition, w->rendition_len,
                                             msn, part, &w->req);
        if (rc != NGX_AGAIN) {
            /* there (or never to be): the static module answers */
            return NGX_DECLINED;
        }

        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_streamline_hls_park(w);
    }

    return NGX_DECLINED;

playlist:

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (w->rendition_len) {
        rc = ngx_http_streamline_hls_args(r, &w->req);
        if (rc != NGX_OK) {
            return ngx_http_streamline_hls_status(r, NGX_HTTP_BAD_REQUEST,
                                                  "bad _HLS_ parameters");
        }
    }

    rc = ngx_http_streamline_hls_try(w, NULL);

    if (rc == NGX_AGAIN) {
        return ngx_http_streamline_hls_park(w);
    }

    return rc;
}


/*
 * _HLS_msn and _HLS_part: decimal numbers; _HLS_part needs _HLS_msn;
 * _HLS_skip: YES or v2.  Anything else is a 400.
 */
static ngx_int_t
ngx_http_streamline_hls_args(ngx_http_request_t *r,
    ngx_streamline_hls_req_t *req)
{
    ngx_str_t  v;

    if (ngx_http_arg(r, (u_char *) "_HLS_msn", 8, &v) == NGX_OK) {
        if (v.len == 0 || v.len > 18) {
            return NGX_ERROR;
        }

        req->msn = ngx_atoof(v.data, v.len);
        if (req->msn == NGX_ERROR) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_arg(r, (u_char *) "_HLS_part", 9, &v) == NGX_OK) {
        if (req->msn < 0 || v.len == 0 || v.len > 9) {
            return NGX_ERROR;
        }

        req->part = ngx_atoi(v.data, v.len);
        if (req->part == NGX_ERROR) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_arg(r, (u_char *) "_HLS_skip", 9, &v) == NGX_OK) {
        if ((v.len == 3 && ngx_strncmp(v.data, "YES", 3) == 0)
            || (v.len == 2 && ngx_strncmp(v.data, "v2", 2) == 0))
        {
            req->skip = 1;

        } else {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_streamline_same(ngx_http_streamline_wait_t *a,
    ngx_http_streamline_wait_t *b)
{
    return a->req.msn == b->req.msn && a->req.part == b->req.part
           && a->req.skip == b->req.skip && a->req.gen == b->req.gen
           && a->channel_len == b->channel_len
           && a->rendition_len == b->rendition_len
           && ngx_memcmp(a->channel, b->channel, a->channel_len) == 0
           && ngx_memcmp(a->rendition, b->rendition, a->rendition_len) == 0;
}


/*
 * Answers if it can: NGX_AGAIN when the request must wait.  With memo (a
 * tick waking many requests for the same part), a playlist rendered for
 * an identical request in this tick is copied instead of rendered again.
 */
static ngx_int_t
ngx_http_streamline_hls_try(ngx_http_streamline_wait_t *w,
    ngx_http_streamline_memo_t *memo)
{
    ngx_int_t            rc;
    ngx_str_t            out;
    ngx_msec_t           max_age;
    ngx_http_request_t  *r = w->request;

    if (memo && memo->valid && !w->is_part
        && ngx_http_streamline_same(&memo->key, w))
    {
        out.len = memo->out.len;
        out.data = ngx_pnalloc(r->pool, out.len);
        if (out.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(out.data, memo->out.data, out.len);

        return ngx_http_streamline_send_playlist(r, &out, memo->max_age);
    }

    if (w->is_part) {
        rc = ngx_streamline_media_part_ready(w->channel, w->channel_len,
                                             w->rendition, w->rendition_len,
                                             w->part_msn, w->part_index,
                                             &w->req);
        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc != NGX_OK) {
            return ngx_http_streamline_hls_status(r, NGX_HTTP_NOT_FOUND,
                                                  "no such part");
        }

        return ngx_http_streamline_send_file(r);
    }

    rc = ngx_streamline_media_playlist(r->pool, w->channel, w->channel_len,
                                       w->rendition_len ? w->rendition : NULL,
                                       w->rendition_len, &w->req, &out);
    switch (rc) {

    case NGX_OK:
        /*
         * RFC 8216bis Appendix B: a blocking response may be cached 6
         * target durations (it never changes), others half of one.
         */
        max_age = w->req.msn >= 0 ? 6 * w->req.target_ms
                                  : w->req.target_ms / 2;

        if (memo && memo->pool) {
            memo->out.data = ngx_pnalloc(memo->pool, out.len);

            if (memo->out.data) {
                ngx_memcpy(memo->out.data, out.data, out.len);
                memo->out.len = out.len;
                memo->key = *w;
                memo->max_age = max_age;
                memo->valid = 1;
            }
        }

        return ngx_http_streamline_send_playlist(r, &out, max_age);

    case NGX_AGAIN:
        return NGX_AGAIN;

    case NGX_ABORT:
        return ngx_http_streamline_hls_status(r, NGX_HTTP_BAD_REQUEST,
                                              "_HLS_msn too far ahead");

    case NGX_DECLINED:
        return ngx_http_streamline_hls_status(r, NGX_HTTP_NOT_FOUND,
                                              "no such playlist");

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


static ngx_int_t
ngx_http_streamline_hls_park(ngx_http_streamline_wait_t *w)
{
    ngx_pool_cleanup_t  *cln;
    ngx_http_request_t  *r = w->request;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_streamline_hls_cleanup;
    cln->data = w;

    if (ngx_http_streamline_nwaiting == 0
        && ngx_http_streamline_waiting.next == NULL)
    {
        ngx_queue_init(&ngx_http_streamline_waiting);
    }

    w->seen = w->req.gen ? *w->req.gen : 0;
    w->waiting = 1;
    ngx_queue_insert_tail(&ngx_http_streamline_waiting, &w->queue);
    ngx_http_streamline_nwaiting++;

    /* 3 target durations, then 503 (RFC 8216bis 6.2.5.2) */
    w->timer.handler = ngx_http_streamline_hls_expired;
    w->timer.data = w;
    w->timer.log = r->connection->log;
    ngx_add_timer(&w->timer, 3 * ngx_max(w->req.target_ms, 1000));

    if (!ngx_http_streamline_tick_ev.timer_set) {
        ngx_http_streamline_tick_ev.handler = ngx_http_streamline_hls_tick;
        ngx_http_streamline_tick_ev.log = ngx_cycle->log;
        ngx_http_streamline_tick_ev.cancelable = 1;
        ngx_add_timer(&ngx_http_streamline_tick_ev,
                      NGX_HTTP_STREAMLINE_TICK);
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_streamline_hls_unpark(ngx_http_streamline_wait_t *w)
{
    if (!w->waiting) {
        return;
    }

    w->waiting = 0;
    ngx_queue_remove(&w->queue);
    ngx_http_streamline_nwaiting--;

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }
}


/* while requests wait: did the index of any of them change? */
static void
ngx_http_streamline_hls_tick(ngx_event_t *ev)
{
    ngx_int_t                    rc;
    ngx_queue_t                 *q, *next;
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_streamline_wait_t  *w;
    ngx_http_streamline_memo_t   memo;

    ngx_memzero(&memo, sizeof(ngx_http_streamline_memo_t));

    for (q = ngx_queue_head(&ngx_http_streamline_waiting);
         q != ngx_queue_sentinel(&ngx_http_streamline_waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_streamline_wait_t, queue);

        if (w->req.gen && *w->req.gen == w->seen) {
            continue;
        }

        /* something changed: identical waiters share one rendering */
        if (memo.pool == NULL) {
            memo.pool = ngx_create_pool(4096, ngx_cycle->log);
        }

        rc = ngx_http_streamline_hls_try(w, &memo);

        if (rc == NGX_AGAIN) {
            w->seen = w->req.gen ? *w->req.gen : 0;
            continue;
        }

        r = w->request;
        c = r->connection;

        ngx_http_streamline_hls_unpark(w);
        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
    }

    if (memo.pool) {
        ngx_destroy_pool(memo.pool);
    }

    if (ngx_http_streamline_nwaiting) {
        ngx_add_timer(ev, NGX_HTTP_STREAMLINE_TICK);
    }
}


static void
ngx_http_streamline_hls_expired(ngx_event_t *ev)
{
    ngx_http_streamline_wait_t  *w = ev->data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = w->request;
    c = r->connection;

    ngx_http_streamline_hls_unpark(w);

    rc = ngx_http_streamline_hls_status(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "not available in time");
    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* the client went away, or the request ended otherwise */
static void
ngx_http_streamline_hls_cleanup(void *data)
{
    ngx_http_streamline_hls_unpark(data);
}


static ngx_int_t
ngx_http_streamline_send_playlist(ngx_http_request_t *r, ngx_str_t *out,
    ngx_msec_t max_age)
{
    u_char           *p;
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       cl;
    ngx_table_elt_t  *h;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = out->len;
    ngx_str_set(&r->headers_out.content_type,
                "application/vnd.apple.mpegurl");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    h = ngx_list_push(&r->headers_out.headers);
    p = ngx_pnalloc(r->pool, sizeof("max-age=") + NGX_TIME_T_LEN);
    if (h == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "max-age=%M", ngx_max(max_age / 1000, 1))
                   - p;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = out->data;
    b->last = out->data + out->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    cl.buf = b;
    cl.next = NULL;

    return ngx_http_output_filter(r, &cl);
}


/* a part that appeared while its request waited: sent whole */
static ngx_int_t
ngx_http_streamline_send_file(ngx_http_request_t *r)
{
    size_t                     root;
    ngx_int_t                  rc;
    ngx_str_t                  path;
    ngx_buf_t                 *b;
    ngx_chain_t                out;
    ngx_open_file_info_t       of;
    ngx_http_core_loc_conf_t  *clcf;

    if (ngx_http_map_uri_to_path(r, &path, &root, 0) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    path.len--;     /* without the NUL */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ngx_memzero(&of, sizeof(ngx_open_file_info_t));
    of.directio = NGX_OPEN_FILE_DIRECTIO_OFF;
    of.valid = clcf->open_file_cache_valid;
    of.min_uses = clcf->open_file_cache_min_uses;
    of.errors = clcf->open_file_cache_errors;
    of.events = clcf->open_file_cache_events;

    if (ngx_open_cached_file(clcf->open_file_cache, &path, &of, r->pool)
        != NGX_OK)
    {
        return NGX_HTTP_NOT_FOUND;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = of.size;
    r->headers_out.last_modified_time = of.mtime;

    if (ngx_http_set_content_type(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || of.size == 0) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    if (b->file == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->file_pos = 0;
    b->file_last = of.size;
    b->in_file = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    b->file->fd = of.fd;
    b->file->name = path;
    b->file->log = r->connection->log;
    b->file->directio = of.is_directio;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_streamline_hls_status(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "streamline: hls: %s", msg);

    return status;
}
