/*
 * GET /api/stream[/<channel>] answers the channel's state from a
 * per-worker cache that Redis pub/sub keeps current (a state change
 * replaces the cached state at once in every worker); a cache miss or an
 * expired entry is read from Redis without blocking.  Also what every
 * answer of the HTTP side uses: a body from memory, a header.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_streamline.h"


typedef struct {
    ngx_http_request_t        *request;
    ngx_streamline_read_t     *read;
    ngx_event_t                timer;
    u_char                     channel[SL_CHANNEL_MAX + 1];
    size_t                     channel_len;
} ngx_http_streamline_ctx_t;


static void ngx_http_streamline_read_done(ngx_streamline_read_t *rd);
static void ngx_http_streamline_timeout(ngx_event_t *ev);
static void ngx_http_streamline_cleanup(void *data);
static ngx_int_t ngx_http_streamline_state(ngx_http_request_t *r,
    const u_char *channel, size_t len, const sl_state_t *st,
    ngx_uint_t stale);
static ngx_int_t ngx_http_streamline_known(ngx_http_request_t *r,
    const u_char *channel, size_t len);


ngx_int_t
ngx_http_streamline_api_handler(ngx_http_request_t *r)
{
    int64_t                          now;
    size_t                           len, tail_len;
    u_char                          *tail;
    ngx_int_t                        rc;
    const char                      *err;
    const u_char                    *channel;
    sl_cache_entry_t                *ce;
    ngx_pool_cleanup_t              *cln;
    ngx_streamline_read_t           *rd;
    ngx_http_streamline_ctx_t       *ctx;
    ngx_http_streamline_loc_conf_t  *slcf;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_streamline_error(r, NGX_HTTP_NOT_ALLOWED,
                                         "method not allowed");
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_streamline_module);

    (void) ngx_http_streamline_location_tail(r, &tail, &tail_len);

    if (sl_api_path_channel(tail, tail_len, &channel, &len, &err) != SL_OK) {
        return ngx_http_streamline_error(r, NGX_HTTP_BAD_REQUEST, err);
    }

    if (len == 0) {
        channel = slcf->channel.data;
        len = slcf->channel.len;
    }

    now = ngx_streamline_now_ms();
    ce = sl_cache_get(ngx_streamline_cache(), channel, len, now);

    /* pub/sub replaces cached states at once, while Redis is healthy */
    if (ce && ngx_streamline_redis_healthy()
        && ngx_streamline_redis_subscribed()
        && now - ce->fetched_ms < (int64_t) slcf->cache)
    {
        if (ngx_streamline_metrics()) {
            sl_metric_add(&ngx_streamline_metrics()->api_cache_hits, 1);
        }

        return ngx_http_streamline_state(r, channel, len, &ce->state, 0);
    }

    if (!ngx_streamline_redis_connected()) {
        return ngx_http_streamline_known(r, channel, len);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_streamline_ctx_t));
    rd = ngx_alloc(sizeof(ngx_streamline_read_t), r->connection->log);
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (ctx == NULL || rd == NULL || cln == NULL) {
        if (rd) {
            ngx_free(rd);
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(rd, sizeof(ngx_streamline_read_t));
    rd->handler = ngx_http_streamline_read_done;
    rd->data = ctx;

    if (ngx_streamline_redis_read(rd, channel, len) != NGX_OK) {
        ngx_free(rd);
        return ngx_http_streamline_known(r, channel, len);
    }

    if (ngx_streamline_metrics()) {
        sl_metric_add(&ngx_streamline_metrics()->api_cache_refreshes, 1);
    }

    ctx->request = r;
    ctx->read = rd;
    ngx_memcpy(ctx->channel, channel, len);
    ctx->channel_len = len;

    ctx->timer.handler = ngx_http_streamline_timeout;
    ctx->timer.data = ctx;
    ctx->timer.log = r->connection->log;
    ngx_add_timer(&ctx->timer,
                  ((ngx_streamline_main_conf_t *)
                       ngx_get_conf(ngx_cycle->conf_ctx,
                                    ngx_streamline_module))->redis_timeout);

    cln->handler = ngx_http_streamline_cleanup;
    cln->data = ctx;

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_streamline_read_done(ngx_streamline_read_t *rd)
{
    ngx_http_streamline_ctx_t  *ctx = rd->data;
    ngx_http_request_t         *r = ctx->request;
    ngx_connection_t           *c = r->connection;
    ngx_int_t                   rc;

    ctx->read = NULL;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    if (rd->rc == NGX_OK) {
        sl_cache_put(ngx_streamline_cache(), ctx->channel, ctx->channel_len,
                     &rd->state, ngx_streamline_now_ms());
        rc = ngx_http_streamline_state(r, ctx->channel, ctx->channel_len,
                                       &rd->state, 0);

    } else {
        rc = ngx_http_streamline_known(r, ctx->channel, ctx->channel_len);
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_streamline_timeout(ngx_event_t *ev)
{
    ngx_http_streamline_ctx_t  *ctx = ev->data;
    ngx_http_request_t         *r = ctx->request;
    ngx_connection_t           *c = r->connection;

    if (ctx->read) {
        /* the reply, if it comes, is dropped */
        ctx->read->data = NULL;
        ctx->read = NULL;
    }

    ngx_log_error(NGX_LOG_WARN, c->log, 0,
                  "streamline: redis did not answer in time");

    ngx_http_finalize_request(r,
        ngx_http_streamline_known(r, ctx->channel, ctx->channel_len));
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_streamline_cleanup(void *data)
{
    ngx_http_streamline_ctx_t  *ctx = data;

    if (ctx->read) {
        ctx->read->data = NULL;
        ctx->read = NULL;
    }

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }
}


/* Redis cannot tell: the last known state, marked stale, or 503 */
static ngx_int_t
ngx_http_streamline_known(ngx_http_request_t *r, const u_char *channel,
    size_t len)
{
    sl_cache_entry_t  *ce;

    ce = sl_cache_get(ngx_streamline_cache(), channel, len,
                      ngx_streamline_now_ms());
    if (ce) {
        return ngx_http_streamline_state(r, channel, len, &ce->state, 1);
    }

    return ngx_http_streamline_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "stream state unavailable");
}


/*
 * A live state carries the channel's viewer count when it is known and not
 * 0: no node counts the channel's viewers (streamline_viewers), or none
 * loaded a playlist in the last 30-40 s.  A page that plays is counted.
 */
static ngx_int_t
ngx_http_streamline_state(ngx_http_request_t *r, const u_char *channel,
    size_t len, const sl_state_t *st, ngx_uint_t stale)
{
    int          n;
    u_char      *buf;
    unsigned     flags;
    sl_state_t   out;

    buf = ngx_pnalloc(r->pool, SL_STATE_JSON_MAX);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    flags = stale ? SL_STATE_JSON_STALE : 0;

    if (st->status == SL_STATUS_LIVE) {
        out = *st;
        out.viewers = ngx_http_streamline_viewers_count(channel, len);
        st = &out;

        if (out.viewers > 0) {
            flags |= SL_STATE_JSON_VIEWERS;
        }
    }

    n = sl_state_json(st, NULL, 0, flags, buf, SL_STATE_JSON_MAX);
    if (n < 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_streamline_send_json(r, NGX_HTTP_OK, buf, n);
}


ngx_int_t
ngx_http_streamline_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    u_char     *buf, *p;
    size_t      len;
    ngx_str_t   allow = ngx_string("GET, HEAD");

    len = ngx_strlen(msg);

    /* messages are ours: plain ASCII without quotes or backslashes */
    buf = ngx_pnalloc(r->pool, len + sizeof("{\"error\":\"\"}"));
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(buf, "{\"error\":\"%s\"}", msg);

    if (status == NGX_HTTP_NOT_ALLOWED
        && ngx_http_streamline_add_header(r, "Allow", &allow) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_streamline_send_json(r, status, buf, p - buf);
}


/* a JSON answer of the API: no-cache, and the location's CORS origin */
ngx_int_t
ngx_http_streamline_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    ngx_str_t                        no_cache = ngx_string("no-cache");
    ngx_http_streamline_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_streamline_module);

    r->headers_out.status = status;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (ngx_http_streamline_add_header(r, "Cache-Control", &no_cache)
        != NGX_OK
        || (slcf->cors.len
            && ngx_http_streamline_add_header(r,
                                              "Access-Control-Allow-Origin",
                                              &slcf->cors)
               != NGX_OK))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_streamline_send_body(r, body, len);
}


/*
 * The response's body from memory that outlives the request's output (its
 * pool, or a pool the request holds): status, type and other headers are
 * the caller's; HEAD gets the headers only.
 */
ngx_int_t
ngx_http_streamline_send_body(ngx_http_request_t *r, u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.content_length_n = len;

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

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* key: a literal */
ngx_int_t
ngx_http_streamline_add_header(ngx_http_request_t *r, const char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    return NGX_OK;
}
