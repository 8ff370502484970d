
/*
 * Streamline's edge side: each channel's requests to the origin that holds
 * it (streamline_route, $streamline_origin).
 *
 * Several origins share one Redis; the origin that accepts a channel's
 * publisher writes its streamline_origin_address into the channel's live
 * state.  At an edge, "streamline_route <channel>;" looks the channel's
 * state up in the per-worker cache that Redis pub/sub keeps current (a
 * takeover reaches every edge worker at once), or reads it from Redis
 * without blocking, in the preaccess phase:
 *
 *   live, with an origin:  $streamline_origin is that address, and the
 *                          request goes on (to "proxy_pass
 *                          http://$streamline_origin");
 *   idle, unknown:         404, cacheable for a second, no origin asked;
 *   live, no origin:       502 (the origin lacks streamline_origin_address);
 *   Redis cannot tell:     the last state this worker knew, or 503.
 *
 * A module of its own, for its request context: streamline_collapse, in the
 * same locations, keeps its own in ngx_http_streamline_module's slot.  Its
 * handler is registered after collapse's, so it runs before it: a 404 never
 * leads or waits in a collapse.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_streamline.h"


typedef struct {
    ngx_http_complex_value_t  *channel;        /* NULL: no routing here */
} ngx_http_streamline_route_conf_t;


typedef struct {
    ngx_http_request_t        *request;
    ngx_streamline_read_t     *read;           /* in flight, or NULL */
    ngx_event_t                timer;
    ngx_int_t                  rc;             /* NGX_DECLINED: go on;
                                                  an HTTP status: answer */
    u_char                     channel[SL_CHANNEL_MAX + 1];
    size_t                     channel_len;
    u_char                     origin[SL_ORIGIN_MAX + 1];
    size_t                     origin_len;
    unsigned                   waiting:1;
    unsigned                   done:1;
} ngx_http_streamline_route_ctx_t;


static ngx_int_t ngx_http_streamline_route_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_streamline_route_start(ngx_http_request_t *r,
    ngx_http_streamline_route_ctx_t *ctx);
static void ngx_http_streamline_route_decide(ngx_http_request_t *r,
    ngx_http_streamline_route_ctx_t *ctx, const sl_state_t *st);
static void ngx_http_streamline_route_known(ngx_http_request_t *r,
    ngx_http_streamline_route_ctx_t *ctx);
static void ngx_http_streamline_route_read_done(ngx_streamline_read_t *rd);
static void ngx_http_streamline_route_timeout(ngx_event_t *ev);
static void ngx_http_streamline_route_resume(
    ngx_http_streamline_route_ctx_t *ctx);
static void ngx_http_streamline_route_cleanup(void *data);
static ngx_int_t ngx_http_streamline_route_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_streamline_route(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_streamline_route_create_conf(ngx_conf_t *cf);
static char *ngx_http_streamline_route_merge_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_streamline_route_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_streamline_route_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_streamline_route_commands[] = {

    { ngx_string("streamline_route"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_streamline_route,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_streamline_route_module_ctx = {
    ngx_http_streamline_route_add_variables,  /* preconfiguration */
    ngx_http_streamline_route_init,        /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_streamline_route_create_conf, /* create location configuration */
    ngx_http_streamline_route_merge_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_streamline_route_module = {
    NGX_MODULE_V1,
    &ngx_http_streamline_route_module_ctx, /* module context */
    ngx_http_streamline_route_commands,    /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_streamline_origin_name =
    ngx_string("streamline_origin");

/* a 404 for a channel that is not live: kept a second by caches */
static ngx_str_t  ngx_http_streamline_route_not_live =
    ngx_string("max-age=1");


static ngx_int_t
ngx_http_streamline_route_handler(ngx_http_request_t *r)
{
    ngx_str_t                          channel;
    ngx_http_streamline_route_ctx_t   *ctx;
    ngx_http_streamline_route_conf_t  *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_streamline_route_module);

    if (rlcf->channel == NULL || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_streamline_route_module);

    if (ctx == NULL) {
        if (ngx_http_complex_value(r, rlcf->channel, &channel) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (!sl_channel_valid(channel.data, channel.len)) {
            return NGX_HTTP_NOT_FOUND;
        }

        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_streamline_route_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->request = r;
        ngx_memcpy(ctx->channel, channel.data, channel.len);
        ctx->channel_len = channel.len;

        ngx_http_set_ctx(r, ctx, ngx_http_streamline_route_module);

        if (ngx_http_streamline_route_start(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (!ctx->done) {
        /* a spurious run of the phases while Redis answers */
        return NGX_AGAIN;
    }

    if (ctx->rc == NGX_HTTP_NOT_FOUND
        && ngx_http_streamline_add_header(r, "Cache-Control",
                                          &ngx_http_streamline_route_not_live)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ctx->rc;
}


/* from the cache while pub/sub keeps it current, else from Redis */
static ngx_int_t
ngx_http_streamline_route_start(ngx_http_request_t *r,
    ngx_http_streamline_route_ctx_t *ctx)
{
    int64_t                          now;
    sl_cache_entry_t                *ce;
    ngx_pool_cleanup_t              *cln;
    ngx_streamline_read_t           *rd;
    ngx_http_streamline_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_streamline_module);

    now = ngx_streamline_now_ms();
    ce = sl_cache_get(ngx_streamline_cache(), ctx->channel, ctx->channel_len,
                      now);

    if (ce && ngx_streamline_redis_healthy()
        && ngx_streamline_redis_subscribed()
        && now - ce->fetched_ms < (int64_t) slcf->cache)
    {
        ngx_http_streamline_route_decide(r, ctx, &ce->state);
        return NGX_OK;
    }

    if (!ngx_streamline_redis_connected()) {
        ngx_http_streamline_route_known(r, ctx);
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    rd = ngx_alloc(sizeof(ngx_streamline_read_t), r->connection->log);
    if (rd == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(rd, sizeof(ngx_streamline_read_t));
    rd->handler = ngx_http_streamline_route_read_done;
    rd->data = ctx;

    if (ngx_streamline_redis_read(rd, ctx->channel, ctx->channel_len)
        != NGX_OK)
    {
        ngx_free(rd);
        ngx_http_streamline_route_known(r, ctx);
        return NGX_OK;
    }

    ctx->read = rd;
    ctx->waiting = 1;

    ctx->timer.handler = ngx_http_streamline_route_timeout;
    ctx->timer.data = ctx;
    ctx->timer.log = r->connection->log;
    ngx_add_timer(&ctx->timer,
                  ((ngx_streamline_main_conf_t *)
                       ngx_get_conf(ngx_cycle->conf_ctx,
                                    ngx_streamline_module))->redis_timeout);

    cln->handler = ngx_http_streamline_route_cleanup;
    cln->data = ctx;

    /* a client that goes away meanwhile ends the request */
    r->read_event_handler = ngx_http_test_reading;

    return NGX_OK;
}


static void
ngx_http_streamline_route_decide(ngx_http_request_t *r,
    ngx_http_streamline_route_ctx_t *ctx, const sl_state_t *st)
{
    ctx->done = 1;

    if (st->status != SL_STATUS_LIVE) {
        ctx->rc = NGX_HTTP_NOT_FOUND;
        return;
    }

    if (st->origin_len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "streamline: channel \"%s\" is live on an origin "
                      "without \"streamline_origin_address\": no route",
                      ctx->channel);
        ctx->rc = NGX_HTTP_BAD_GATEWAY;
        return;
    }

    ngx_memcpy(ctx->origin, st->origin, st->origin_len);
    ctx->origin_len = st->origin_len;
    ctx->rc = NGX_DECLINED;
}


/* Redis cannot tell: the last state this worker knew, or 503 */
static void
ngx_http_streamline_route_known(ngx_http_request_t *r,
    ngx_http_streamline_route_ctx_t *ctx)
{
    sl_cache_entry_t  *ce;

    ce = sl_cache_get(ngx_streamline_cache(), ctx->channel, ctx->channel_len,
                      ngx_streamline_now_ms());
    if (ce) {
        ngx_http_streamline_route_decide(r, ctx, &ce->state);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "streamline: channel \"%s\": no route, redis is "
                  "unavailable", ctx->channel);

    ctx->done = 1;
    ctx->rc = NGX_HTTP_SERVICE_UNAVAILABLE;
}


static void
ngx_http_streamline_route_read_done(ngx_streamline_read_t *rd)
{
    ngx_http_streamline_route_ctx_t  *ctx = rd->data;
    ngx_http_request_t               *r = ctx->request;

    ctx->read = NULL;

    if (rd->rc == NGX_OK) {
        sl_cache_put(ngx_streamline_cache(), ctx->channel, ctx->channel_len,
                     &rd->state, ngx_streamline_now_ms());
        ngx_http_streamline_route_decide(r, ctx, &rd->state);

    } else {
        ngx_http_streamline_route_known(r, ctx);
    }

    ngx_http_streamline_route_resume(ctx);
}


static void
ngx_http_streamline_route_timeout(ngx_event_t *ev)
{
    ngx_http_streamline_route_ctx_t  *ctx = ev->data;

    if (ctx->read) {
        /* the reply, if it comes, is dropped */
        ctx->read->data = NULL;
        ctx->read = NULL;
    }

    ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                  "streamline: redis did not answer in time");

    ngx_http_streamline_route_known(ctx->request, ctx);
    ngx_http_streamline_route_resume(ctx);
}


static void
ngx_http_streamline_route_resume(ngx_http_streamline_route_ctx_t *ctx)
{
    ngx_http_request_t  *r = ctx->request;
    ngx_connection_t    *c = r->connection;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    ctx->waiting = 0;
    r->read_event_handler = ngx_http_block_reading;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_streamline_route_cleanup(void *data)
{
    ngx_http_streamline_route_ctx_t  *ctx = data;

    if (ctx->read) {
        ctx->read->data = NULL;
        ctx->read = NULL;
    }

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }
}


static ngx_int_t
ngx_http_streamline_route_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_streamline_route_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_streamline_route_module);

    if (ctx == NULL || ctx->origin_len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ctx->origin;
    v->len = ctx->origin_len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static char *
ngx_http_streamline_route(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_streamline_route_conf_t  *rlcf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (rlcf->channel != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    rlcf->channel = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (rlcf->channel == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = rlcf->channel;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* the states come from Redis */
    ngx_streamline_needs_redis(cf);

    return NGX_CONF_OK;
}


static void *
ngx_http_streamline_route_create_conf(ngx_conf_t *cf)
{
    ngx_http_streamline_route_conf_t  *rlcf;

    rlcf = ngx_palloc(cf->pool, sizeof(ngx_http_streamline_route_conf_t));
    if (rlcf == NULL) {
        return NULL;
    }

    rlcf->channel = NGX_CONF_UNSET_PTR;

    return rlcf;
}


static char *
ngx_http_streamline_route_merge_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_streamline_route_conf_t  *prev = parent;
    ngx_http_streamline_route_conf_t  *conf = child;

    ngx_conf_merge_ptr_value(conf->channel, prev->channel, NULL);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_streamline_route_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_streamline_origin_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_streamline_route_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_http_streamline_route_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_streamline_route_handler;

    return NGX_OK;
}
