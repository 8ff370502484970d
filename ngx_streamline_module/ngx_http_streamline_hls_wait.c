/*
 * LL-HLS requests that wait (see ngx_http_streamline_hls.c): a blocking
 * request costs no thread: it is parked with a timer (3 target
 * durations, then 503) in this worker's group of the requests that wait
 * on the same DVR index.  The store's notification (an eventfd every
 * worker watches) and a short timer, armed only while requests wait,
 * wake the groups whose index generation changed; their requests are
 * checked in the order they came, a batch an event loop iteration.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_streamline_hls.h"


static ngx_int_t ngx_http_streamline_hls_group(ngx_http_streamline_wait_t *w);
static ngx_int_t ngx_http_streamline_hls_regroup(
    ngx_http_streamline_wait_t *w);
static void ngx_http_streamline_hls_unpark(ngx_http_streamline_wait_t *w);
static void ngx_http_streamline_hls_tick(ngx_event_t *ev);
static void ngx_http_streamline_hls_pass(ngx_event_t *ev);
static void ngx_http_streamline_hls_expired(ngx_event_t *ev);
static void ngx_http_streamline_hls_cleanup(void *data);


static ngx_queue_t   ngx_http_streamline_groups;
static ngx_queue_t   ngx_http_streamline_due;      /* to check, in order */
static ngx_uint_t    ngx_http_streamline_nwaiting;
static ngx_uint_t    ngx_http_streamline_nrefused;   /* beyond the cap */
static time_t        ngx_http_streamline_refused_log;
static ngx_event_t   ngx_http_streamline_tick_ev;
static ngx_event_t   ngx_http_streamline_pass_ev;


ngx_int_t
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

        if (ngx_streamline_metrics()) {
            sl_metric_add(&ngx_streamline_metrics()->held_refused, 1);
        }

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
    ngx_streamline_metrics_held(ngx_http_streamline_nwaiting);

    if (ngx_streamline_metrics()) {
        sl_metric_add(&ngx_streamline_metrics()->held_total, 1);
    }

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
    ngx_streamline_metrics_held(ngx_http_streamline_nwaiting);

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
    uint64_t                     now, changed;
    sl_metrics_t                *m;
    ngx_http_streamline_wait_t  *w;
    ngx_http_streamline_memo_t   memo;

    m = ngx_streamline_metrics();
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

        if (m) {
            sl_metric_add(&m->held_answered, 1);

            /* from the index change that woke it (any channel's) */
            changed = sl_metric_get(&m->changed_us);
            now = ngx_streamline_metrics_now_us();
            sl_metrics_wake(&m->wake, now > changed ? now - changed : 0);
        }

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
    ngx_str_t            one = ngx_string("1");
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = w->request;
    c = r->connection;

    ngx_http_streamline_hls_unpark(w);

    if (ngx_streamline_metrics()) {
        sl_metric_add(&ngx_streamline_metrics()->held_timeouts, 1);
    }

    rc = ngx_http_streamline_hls_status(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "not available in time");

    /* the channel did not come (yet): not a 404, ask again soon */
    if (w->elsewhere
        && ngx_http_streamline_add_header(r, "Retry-After", &one) != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
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
