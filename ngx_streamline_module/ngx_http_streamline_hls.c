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
 * parked with a timer (3 target durations, then 503) in this worker's
 * group of the requests that wait on the same DVR index.  The packager
 * thread of whichever worker holds the stream bumps the index's
 * generation in shared memory with every part and signals an eventfd that
 * every worker watches (ngx_streamline_store.c); a short timer, armed
 * only while requests wait, compares the generations too, in case.  A
 * group whose generation changed is checked in the order its requests
 * came, a batch an event loop iteration; a playlist is rendered once for
 * the identical requests of a batch, into a pool they all reference.
 *
 * A playlist (or the next part) of a channel that this worker's zone does
 * not have, but another nginx streams (the old binary of an upgrade:
 * both accept connections until WINCH) or has just ended, leaving its
 * DVR index for the publisher's reconnect here, waits the same way (on
 * the zone's generation, NGX_STREAMLINE_ELSEWHERE_MS at most, then 503
 * with Retry-After) for the channel to come to this zone.
 */

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


static ngx_int_t ngx_http_streamline_hls_try(ngx_http_streamline_wait_t *w,
    ngx_http_streamline_memo_t *memo);
static ngx_int_t ngx_http_streamline_memo_add(ngx_http_streamline_memo_t *memo,
    ngx_http_streamline_wait_t *w, ngx_msec_t max_age,
    ngx_http_streamline_memo_entry_t **entry);
static ngx_int_t ngx_http_streamline_memo_send(ngx_http_request_t *r,
    ngx_http_streamline_memo_t *memo, ngx_http_streamline_memo_entry_t *e);
static void ngx_http_streamline_shared_unref(void *data);
static ngx_int_t ngx_http_streamline_hls_coming(
    ngx_http_streamline_wait_t *w);
static ngx_int_t ngx_http_streamline_hls_park(ngx_http_streamline_wait_t *w);
static ngx_int_t ngx_http_streamline_hls_group(ngx_http_streamline_wait_t *w);
static ngx_int_t ngx_http_streamline_hls_regroup(
    ngx_http_streamline_wait_t *w);
static void ngx_http_streamline_hls_unpark(ngx_http_streamline_wait_t *w);
static void ngx_http_streamline_hls_tick(ngx_event_t *ev);
static void ngx_http_streamline_hls_pass(ngx_event_t *ev);
static void ngx_http_streamline_hls_expired(ngx_event_t *ev);
static void ngx_http_streamline_hls_cleanup(void *data);
static ngx_int_t ngx_http_streamline_send_playlist(ngx_http_request_t *r,
    ngx_str_t *out, ngx_str_t *cache_control);
static ngx_int_t ngx_http_streamline_send_file(ngx_http_request_t *r);
static ngx_int_t ngx_http_streamline_hls_status(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);


static ngx_queue_t   ngx_http_streamline_groups;
static ngx_queue_t   ngx_http_streamline_due;      /* to check, in order */
static ngx_uint_t    ngx_http_streamline_nwaiting;
static ngx_uint_t    ngx_http_streamline_nrefused;   /* beyond the cap */
static time_t        ngx_http_streamline_refused_log;
static ngx_event_t   ngx_http_streamline_tick_ev;
static ngx_event_t   ngx_http_streamline_pass_ev;


ngx_int_t
ngx_http_streamline_hls_handler(ngx_http_request_t *r)
{
    u_char                      *tail;
    size_t                       len;
    ngx_int_t                    rc;
    const char                  *err;
    sl_hls_path_t                path;
    sl_hls_query_t               query;
    ngx_http_streamline_wait_t  *w;

    if (ngx_http_streamline_location_tail(r, &tail, &len) != NGX_OK) {
        return NGX_DECLINED;
    }

    sl_hls_path(tail, len, &path);

    if (path.kind == SL_HLS_OTHER) {
        /* init and media segments, parts that exist, or a 404 */
        return NGX_DECLINED;
    }

    w = ngx_pcalloc(r->pool, sizeof(ngx_http_streamline_wait_t));
    if (w == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->request = r;
    w->req.msn = -1;
    w->req.part = -1;
    w->channel_len = path.channel_len;
    ngx_memcpy(w->channel, path.channel, path.channel_len);
    w->rendition_len = path.rendition_len;
    w->after_channel = tail + len - (path.channel + path.channel_len);

    if (path.rendition_len) {
        ngx_memcpy(w->rendition, path.rendition, path.rendition_len);
    }

    if (path.kind == SL_HLS_PART) {
        /* may be the preload hint, not there yet */

        w->is_part = 1;
        w->part_msn = path.msn;
        w->part_index = path.part;

        rc = ngx_http_streamline_part_ready(w->channel, w->channel_len,
                                             w->rendition, w->rendition_len,
                                             path.msn, path.part, &w->req);

        if (rc == NGX_DECLINED) {
            rc = ngx_http_streamline_hls_coming(w);
        }

        if (rc != NGX_AGAIN) {
            /* there (or never to be): the static module answers */
            return NGX_DECLINED;
        }
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (path.kind == SL_HLS_PART) {
        return ngx_http_streamline_hls_park(w);
    }

    if (path.kind == SL_HLS_MEDIA) {
        if (sl_hls_query(r->args.data, r->args.len, &query, &err) != SL_OK) {
            return ngx_http_streamline_hls_status(r, NGX_HTTP_BAD_REQUEST,
                                                  err);
        }

        w->req.msn = query.msn;
        w->req.part = query.part;
        w->req.skip = query.skip;
    }

    rc = ngx_http_streamline_hls_try(w, NULL);

    if (rc == NGX_AGAIN) {
        return ngx_http_streamline_hls_park(w);
    }

    return rc;
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
 * batch of waiting requests), a playlist the batch rendered for an
 * identical request is sent again, and one rendered now is kept for the
 * next ones.
 */
static ngx_int_t
ngx_http_streamline_hls_try(ngx_http_streamline_wait_t *w,
    ngx_http_streamline_memo_t *memo)
{
    u_char                            *p;
    ngx_int_t                          rc;
    ngx_str_t                          out, cc;
    ngx_uint_t                         i;
    ngx_msec_t                         max_age;
    ngx_pool_t                        *pool;
    ngx_http_request_t                *r = w->request;
    ngx_http_streamline_memo_entry_t  *e;

    if (w->is_part) {
        rc = ngx_http_streamline_part_ready(w->channel, w->channel_len,
                                             w->rendition, w->rendition_len,
                                             w->part_msn, w->part_index,
                                             &w->req);
        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc == NGX_DECLINED && w->elsewhere) {
            rc = ngx_http_streamline_hls_coming(w);
        }

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc != NGX_OK) {
            return ngx_http_streamline_hls_status(r, NGX_HTTP_NOT_FOUND,
                                                  "no such part");
        }

        return ngx_http_streamline_send_file(r);
    }

    if (memo) {
        for (i = 0; i < memo->n; i++) {
            if (ngx_http_streamline_same(memo->e[i].key, w)) {
                return ngx_http_streamline_memo_send(r, memo, &memo->e[i]);
            }
        }

        if (memo->shared == NULL) {
            pool = ngx_create_pool(4096, ngx_cycle->log);
            if (pool == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            memo->shared = ngx_palloc(pool,
                                      sizeof(ngx_http_streamline_shared_t));
            if (memo->shared == NULL) {
                ngx_destroy_pool(pool);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            memo->shared->pool = pool;
            memo->shared->refs = 1;
        }

        pool = memo->shared->pool;

    } else {
        pool = r->pool;
    }

    rc = ngx_http_streamline_playlist(pool, w->channel, w->channel_len,
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

        if (memo) {
            if (ngx_http_streamline_memo_add(memo, w, max_age, &e)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            e->out = out;

            return ngx_http_streamline_memo_send(r, memo, e);
        }

        p = ngx_pnalloc(r->pool, sizeof("max-age=") + NGX_TIME_T_LEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cc.data = p;
        cc.len = ngx_sprintf(p, "max-age=%M", ngx_max(max_age / 1000, 1)) - p;

        return ngx_http_streamline_send_playlist(r, &out, &cc);

    case NGX_AGAIN:
        return NGX_AGAIN;

    case NGX_ABORT:
        return ngx_http_streamline_hls_status(r, NGX_HTTP_BAD_REQUEST,
                                              "_HLS_msn too far ahead");

    case NGX_DECLINED:
        rc = ngx_http_streamline_hls_coming(w);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_streamline_hls_status(r, NGX_HTTP_NOT_FOUND,
                                                  "no such playlist");
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/*
 * Nothing of the channel in this zone: NGX_AGAIN when the request is to
 * wait for it (see ngx_http_streamline_coming); its directory is where
 * the location maps the URI, up to the channel's name.  A part that is
 * on disk is the static module's, whoever wrote it.
 */
static ngx_int_t
ngx_http_streamline_hls_coming(ngx_http_streamline_wait_t *w)
{
    size_t               root;
    ngx_int_t            rc;
    ngx_str_t            path;
    ngx_file_info_t      fi;
    ngx_http_request_t  *r = w->request;

    if (w->elsewhere) {
        return ngx_http_streamline_coming(w->channel, w->channel_len, NULL,
                                           &w->req);
    }

    if (ngx_http_map_uri_to_path(r, &path, &root, 0) == NULL) {
        return NGX_ERROR;
    }

    path.len--;     /* without the NUL */

    if (path.len < w->after_channel
        || (w->is_part && ngx_file_info(path.data, &fi) != NGX_FILE_ERROR))
    {
        return NGX_DECLINED;
    }

    path.data[path.len - w->after_channel] = '\0';

    rc = ngx_http_streamline_coming(w->channel, w->channel_len, path.data,
                                     &w->req);

    if (rc == NGX_AGAIN) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "streamline: hls: channel \"%*s\" is another "
                      "nginx's: the request waits for it here",
                      w->channel_len, w->channel);
        w->elsewhere = 1;
    }

    return rc;
}


/* a playlist just rendered into the shared pool: the batch keeps it */
static ngx_int_t
ngx_http_streamline_memo_add(ngx_http_streamline_memo_t *memo,
    ngx_http_streamline_wait_t *w, ngx_msec_t max_age,
    ngx_http_streamline_memo_entry_t **entry)
{
    u_char                            *p;
    ngx_pool_t                        *pool = memo->shared->pool;
    ngx_http_streamline_wait_t        *key;
    ngx_http_streamline_memo_entry_t  *e;

    p = ngx_pnalloc(pool, sizeof("max-age=") + NGX_TIME_T_LEN);
    key = ngx_palloc(pool, sizeof(ngx_http_streamline_wait_t));

    if (p == NULL || key == NULL) {
        return NGX_ERROR;
    }

    *key = *w;

    if (memo->n < NGX_HTTP_STREAMLINE_MEMO) {
        e = &memo->e[memo->n++];

    } else {
        /* more kinds than that in one batch: the oldest goes */
        e = &memo->e[memo->next];
        memo->next = (memo->next + 1) % NGX_HTTP_STREAMLINE_MEMO;
    }

    e->key = key;
    e->cache_control.data = p;
    e->cache_control.len = ngx_sprintf(p, "max-age=%M",
                                       ngx_max(max_age / 1000, 1))
                           - p;
    *entry = e;

    return NGX_OK;
}


/* the shared bytes go out as they are; the request holds the pool */
static ngx_int_t
ngx_http_streamline_memo_send(ngx_http_request_t *r,
    ngx_http_streamline_memo_t *memo, ngx_http_streamline_memo_entry_t *e)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_streamline_shared_unref;
    cln->data = memo->shared;
    memo->shared->refs++;

    return ngx_http_streamline_send_playlist(r, &e->out, &e->cache_control);
}


static void
ngx_http_streamline_shared_unref(void *data)
{
    ngx_http_streamline_shared_t  *sh = data;

    if (--sh->refs == 0) {
        ngx_destroy_pool(sh->pool);
    }
}


static ngx_int_t
ngx_http_streamline_hls_park(ngx_http_streamline_wait_t *w)
{
    ngx_uint_t           max;
    ngx_pool_cleanup_t  *cln;
    ngx_http_request_t  *r = w->request;

    /*
     * Each held request keeps a connection, taken from the same
     * worker_connections as RTMP ingest: beyond the cap, a flood of
     * blocking requests is refused rather than let it lock publishers out.
     */
    max = ngx_http_streamline_max_held(r);

    if (ngx_http_streamline_nwaiting >= max) {
        ngx_http_streamline_nrefused++;

        if (ngx_time() >= ngx_http_streamline_refused_log + 10) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "streamline: hls: %ui requests held in this "
                          "worker, the streamline_hls_max_held limit: "
                          "%ui refused with 503 since the last report",
                          ngx_http_streamline_nwaiting,
                          ngx_http_streamline_nrefused);

            ngx_http_streamline_refused_log = ngx_time();
            ngx_http_streamline_nrefused = 0;
        }

        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_streamline_groups.next == NULL) {
        ngx_queue_init(&ngx_http_streamline_groups);
        ngx_queue_init(&ngx_http_streamline_due);
    }

    if (ngx_http_streamline_hls_group(w) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_streamline_hls_cleanup;
    cln->data = w;

    w->waiting = 1;
    ngx_http_streamline_nwaiting++;

    /* 3 target durations, then 503 (RFC 8216bis 6.2.5.2) */
    w->timer.handler = ngx_http_streamline_hls_expired;
    w->timer.data = w;
    w->timer.log = r->connection->log;
    ngx_add_timer(&w->timer, w->elsewhere
                             ? NGX_STREAMLINE_ELSEWHERE_MS
                             : 3 * ngx_max(w->req.target_ms, 1000));

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


/*
 * Puts a waiter at the end of the group of its index, made if there is
 * none with the generation the waiter was checked at.  A group's own
 * generation is never newer than its members' (both are read in this
 * thread, the group's in an earlier event), so a part indexed between a
 * request's check and its parking is seen by the next wake.
 */
static ngx_int_t
ngx_http_streamline_hls_group(ngx_http_streamline_wait_t *w)
{
    ngx_queue_t                  *q;
    ngx_http_streamline_group_t  *g;

    for (q = ngx_queue_head(&ngx_http_streamline_groups);
         q != ngx_queue_sentinel(&ngx_http_streamline_groups);
         q = ngx_queue_next(q))
    {
        g = ngx_queue_data(q, ngx_http_streamline_group_t, queue);

        if (g->gen == w->req.gen) {
            goto found;
        }
    }

    g = ngx_alloc(sizeof(ngx_http_streamline_group_t), ngx_cycle->log);
    if (g == NULL) {
        return NGX_ERROR;
    }

    g->gen = w->req.gen;
    g->seen = w->req.seen;
    g->refs = 0;
    ngx_queue_init(&g->waiters);
    ngx_queue_insert_tail(&ngx_http_streamline_groups, &g->queue);

found:

    w->group = g;
    g->refs++;
    ngx_queue_insert_tail(&g->waiters, &w->queue);

    return NGX_OK;
}


/* from one group to another; NGX_ERROR: in none, no longer waiting */
static ngx_int_t
ngx_http_streamline_hls_regroup(ngx_http_streamline_wait_t *w)
{
    ngx_http_streamline_group_t  *g = w->group;

    ngx_queue_remove(&w->queue);

    if (--g->refs == 0) {
        ngx_queue_remove(&g->queue);
        ngx_free(g);
    }

    if (ngx_http_streamline_hls_group(w) == NGX_OK) {
        return NGX_OK;
    }

    w->waiting = 0;
    ngx_http_streamline_nwaiting--;

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    return NGX_ERROR;
}


static void
ngx_http_streamline_hls_unpark(ngx_http_streamline_wait_t *w)
{
    ngx_http_streamline_group_t  *g;

    if (!w->waiting) {
        return;
    }

    g = w->group;
    w->waiting = 0;
    ngx_queue_remove(&w->queue);
    ngx_http_streamline_nwaiting--;

    if (--g->refs == 0) {
        ngx_queue_remove(&g->queue);
        ngx_free(g);
    }

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }
}


/*
 * The groups whose index changed join the due queue, and a batch of it
 * is checked now unless one is already posted.  Called by the tick and
 * by the media side's notification (ngx_streamline_store.c).
 */
void
ngx_http_streamline_hls_wake(void)
{
    ngx_queue_t                  *q;
    ngx_http_streamline_group_t  *g;

    if (ngx_http_streamline_nwaiting == 0) {
        return;
    }

    for (q = ngx_queue_head(&ngx_http_streamline_groups);
         q != ngx_queue_sentinel(&ngx_http_streamline_groups);
         q = ngx_queue_next(q))
    {
        g = ngx_queue_data(q, ngx_http_streamline_group_t, queue);

        if (ngx_queue_empty(&g->waiters)
            || (g->gen && *g->gen == g->seen))
        {
            continue;
        }

        g->seen = g->gen ? *g->gen : 0;
        ngx_queue_add(&ngx_http_streamline_due, &g->waiters);
        ngx_queue_init(&g->waiters);
    }

    if (!ngx_queue_empty(&ngx_http_streamline_due)
        && !ngx_http_streamline_pass_ev.posted)
    {
        ngx_http_streamline_pass_ev.handler = ngx_http_streamline_hls_pass;
        ngx_http_streamline_pass_ev.log = ngx_cycle->log;
        ngx_http_streamline_hls_pass(&ngx_http_streamline_pass_ev);
    }
}


/* while requests wait: did the index of any of them change? */
static void
ngx_http_streamline_hls_tick(ngx_event_t *ev)
{
    ngx_http_streamline_hls_wake();

    if (ngx_http_streamline_nwaiting) {
        ngx_add_timer(ev, NGX_HTTP_STREAMLINE_TICK);
    }
}


/*
 * A batch of the due queue, first come first: each is answered or goes
 * back to wait.  The rest, if any, after the next look at the sockets,
 * so that the event loop goes on even with thousands due.
 */
static void
ngx_http_streamline_hls_pass(ngx_event_t *ev)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_queue_t                 *q;
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_streamline_wait_t  *w;
    ngx_http_streamline_memo_t   memo;

    memo.shared = NULL;
    memo.n = 0;
    memo.next = 0;

    for (i = 0;
         i < NGX_HTTP_STREAMLINE_BATCH
         && !ngx_queue_empty(&ngx_http_streamline_due);
         i++)
    {
        q = ngx_queue_head(&ngx_http_streamline_due);
        w = ngx_queue_data(q, ngx_http_streamline_wait_t, queue);

        rc = ngx_http_streamline_hls_try(w, &memo);

        if (rc == NGX_AGAIN) {
            if (w->req.gen == w->group->gen) {
                ngx_queue_remove(q);
                ngx_queue_insert_tail(&w->group->waiters, q);
                continue;
            }

            /* another index now (the stream was set up again) */
            if (ngx_http_streamline_hls_regroup(w) == NGX_OK) {
                continue;
            }

            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        r = w->request;
        c = r->connection;

        ngx_http_streamline_hls_unpark(w);
        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
    }

    if (memo.shared) {
        ngx_http_streamline_shared_unref(memo.shared);
    }

    if (!ngx_queue_empty(&ngx_http_streamline_due)) {
        ngx_post_event(ev, &ngx_posted_next_events);
    }
}


static void
ngx_http_streamline_hls_expired(ngx_event_t *ev)
{
    ngx_http_streamline_wait_t  *w = ev->data;

    ngx_int_t            rc;
    ngx_table_elt_t     *h;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = w->request;
    c = r->connection;

    ngx_http_streamline_hls_unpark(w);

    rc = ngx_http_streamline_hls_status(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "not available in time");

    if (w->elsewhere) {
        /* the channel did not come (yet): not a 404, ask again soon */
        h = ngx_list_push(&r->headers_out.headers);

        if (h == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            h->hash = 1;
            ngx_str_set(&h->key, "Retry-After");
            ngx_str_set(&h->value, "1");
        }
    }

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
    ngx_str_t *cache_control)
{
    ngx_table_elt_t  *h;

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type,
                "application/vnd.apple.mpegurl");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    h->value = *cache_control;

    return ngx_http_streamline_send_body(r, out->data, out->len);
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
