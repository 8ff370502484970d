
/*
 * Streamline's edge side: identical requests collapsed (streamline_collapse).
 *
 * In front of an origin, many viewers ask for the same new playlist or part
 * at the same moment, and the origin holds the first of them until the part
 * is written (LL-HLS blocking reloads and preload hints).  nginx's
 * proxy_cache_lock collapses them, but it looks at a waiting request only
 * every 500 ms: twice a part of the shipped defaults, added to the latency
 * of every viewer but the first.  Here the first request for a URI in a
 * location (the leader) goes on to proxy_cache and the origin; the same URI
 * asked for in this worker meanwhile (a follower) waits in the preaccess
 * phase and is resumed the moment the leader's response is complete (its
 * last buffer passes this module's body filter; proxy_cache has stored it
 * by then), to be answered from the cache.  A follower that waits longer
 * than streamline_collapse_timeout goes on by itself.
 *
 * Per worker and without locks: with N workers, up to N requests for a URI
 * reach the origin at once (proxy_cache_lock stays off where this is on).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_streamline.h"


/* a URI in flight in this worker: its leader, and who waits for it */
typedef struct ngx_http_streamline_collapse_ctx_s
    ngx_http_streamline_collapse_ctx_t;

typedef struct {
    ngx_str_node_t                      sn;       /* "<location>:<m>:<uri>" */
    ngx_queue_t                         waiting;  /* followers' contexts */
    ngx_http_streamline_collapse_ctx_t *leader;
} ngx_http_streamline_flight_t;

struct ngx_http_streamline_collapse_ctx_s {
    ngx_http_request_t           *r;
    ngx_http_streamline_flight_t *flight;     /* NULL: nothing to wait for
                                                 or to wake any more */
    ngx_queue_t                   queue;      /* a follower's link */
    unsigned                      leader:1;
    unsigned                      waiting:1;
};


static ngx_int_t ngx_http_streamline_collapse_handler(ngx_http_request_t *r);
static void ngx_http_streamline_collapse_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_streamline_collapse_body_filter(
    ngx_http_request_t *r, ngx_chain_t *in);
static void ngx_http_streamline_collapse_cleanup(void *data);
static void ngx_http_streamline_collapse_land(
    ngx_http_streamline_flight_t *flight);


static ngx_http_output_body_filter_pt  ngx_http_next_body_filter;

/* per worker: the URIs in flight */
static ngx_rbtree_t       ngx_http_streamline_flights;
static ngx_rbtree_node_t  ngx_http_streamline_flights_sentinel;


ngx_int_t
ngx_http_streamline_collapse_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_streamline_collapse_handler;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_streamline_collapse_body_filter;

    ngx_rbtree_init(&ngx_http_streamline_flights,
                    &ngx_http_streamline_flights_sentinel,
                    ngx_str_rbtree_insert_value);

    return NGX_OK;
}


static ngx_int_t
ngx_http_streamline_collapse_handler(ngx_http_request_t *r)
{
    u_char                              *p;
    uint32_t                             hash;
    ngx_str_t                            key;
    ngx_event_t                         *wev;
    ngx_pool_cleanup_t                  *cln;
    ngx_http_core_loc_conf_t            *clcf;
    ngx_http_streamline_flight_t        *flight;
    ngx_http_streamline_loc_conf_t      *slcf;
    ngx_http_streamline_collapse_ctx_t  *ctx;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_streamline_module);

    if (!slcf->collapse || r != r->main
        || !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_streamline_module);

    if (ctx) {
        /* a follower resumed */
        return NGX_DECLINED;
    }

    /* the location is in the key: two of them may proxy one URI apart */
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    key.data = ngx_pnalloc(r->pool, 2 * sizeof(void *) + 3
                                    + r->unparsed_uri.len);
    if (key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(key.data, "%p:%c:%V", clcf,
                    (r->method == NGX_HTTP_HEAD) ? 'H' : 'G',
                    &r->unparsed_uri);
    key.len = p - key.data;
    hash = ngx_crc32_long(key.data, key.len);

    flight = (ngx_http_streamline_flight_t *)
             ngx_str_rbtree_lookup(&ngx_http_streamline_flights, &key, hash);

    if (flight && flight->leader->r == r) {
        /* the leader again after an internal redirect (it clears ctx) */
        ngx_http_set_ctx(r, flight->leader, ngx_http_streamline_module);
        return NGX_DECLINED;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_streamline_collapse_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->r = r;
    cln->handler = ngx_http_streamline_collapse_cleanup;
    cln->data = ctx;
    ngx_http_set_ctx(r, ctx, ngx_http_streamline_module);

    if (flight == NULL) {
        /* the leader: on to the cache and the origin */
        flight = ngx_alloc(sizeof(ngx_http_streamline_flight_t) + key.len,
                           r->connection->log);
        if (flight == NULL) {
            return NGX_DECLINED;
        }

        flight->sn.str.data = (u_char *) (flight + 1);
        flight->sn.str.len = key.len;
        ngx_memcpy(flight->sn.str.data, key.data, key.len);
        flight->sn.node.key = hash;
        ngx_queue_init(&flight->waiting);
        flight->leader = ctx;
        ngx_rbtree_insert(&ngx_http_streamline_flights, &flight->sn.node);

        ctx->flight = flight;
        ctx->leader = 1;

        return NGX_DECLINED;
    }

    /* a follower: waits for the leader's answer to land in the cache */
    ctx->flight = flight;
    ctx->waiting = 1;
    ngx_queue_insert_tail(&flight->waiting, &ctx->queue);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "streamline collapse: waits for \"%V\"", &r->unparsed_uri);

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_streamline_collapse_resume;

    wev = r->connection->write;
    ngx_add_timer(wev, slcf->collapse_timeout);

    return NGX_AGAIN;
}


/* a follower: woken by its leader (posted), or timed out */
static void
ngx_http_streamline_collapse_resume(ngx_http_request_t *r)
{
    ngx_event_t                         *wev;
    ngx_http_streamline_collapse_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_streamline_module);
    wev = r->connection->write;

    if (ctx->waiting) {
        if (!wev->timedout) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            }

            return;
        }

        /* the leader takes too long: on without it */
        wev->timedout = 0;
        ngx_queue_remove(&ctx->queue);
        ctx->waiting = 0;
        ctx->flight = NULL;

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "streamline collapse: gave up waiting for \"%V\"",
                      &r->unparsed_uri);
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_http_streamline_collapse_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in)
{
    ngx_chain_t                         *cl;
    ngx_http_streamline_flight_t        *flight;
    ngx_http_streamline_collapse_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_streamline_module);

    if (ctx && ctx->leader && ctx->flight) {
        for (cl = in; cl; cl = cl->next) {
            if (cl->buf->last_buf) {
                /* the whole response is in (and in the cache, if it may) */
                flight = ctx->flight;
                ctx->flight = NULL;
                ngx_http_streamline_collapse_land(flight);
                break;
            }
        }
    }

    return ngx_http_next_body_filter(r, in);
}


/* the request is freed: a follower stops waiting, a leader wakes its own */
static void
ngx_http_streamline_collapse_cleanup(void *data)
{
    ngx_http_streamline_collapse_ctx_t  *ctx = data;

    ngx_http_streamline_flight_t  *flight;

    if (ctx->waiting) {
        ngx_queue_remove(&ctx->queue);
        ctx->waiting = 0;
        return;
    }

    if (ctx->leader && ctx->flight) {
        flight = ctx->flight;
        ctx->flight = NULL;
        ngx_http_streamline_collapse_land(flight);
    }
}


/* the leader is done: its followers go on, to the cache */
static void
ngx_http_streamline_collapse_land(ngx_http_streamline_flight_t *flight)
{
    ngx_queue_t                         *q;
    ngx_event_t                         *wev;
    ngx_http_streamline_collapse_ctx_t  *ctx;

    ngx_rbtree_delete(&ngx_http_streamline_flights, &flight->sn.node);

    while (!ngx_queue_empty(&flight->waiting)) {
        q = ngx_queue_head(&flight->waiting);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_streamline_collapse_ctx_t, queue);
        ctx->waiting = 0;
        ctx->flight = NULL;

        wev = ctx->r->connection->write;

        if (wev->timer_set) {
            ngx_del_timer(wev);
        }

        ngx_post_event(wev, &ngx_posted_events);
    }

    ngx_free(flight);
}
