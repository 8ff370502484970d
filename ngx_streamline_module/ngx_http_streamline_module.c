/*
 * The HTTP side: GET /api/stream[/<channel>] answers the channel's state
 * from a per-worker cache that Redis pub/sub keeps current (a state change
 * replaces the cached state at once in every worker); a cache miss or an
 * expired entry is read from Redis without blocking.  Also the origin
 * lock: requests without the CDN's secret header are refused.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_streamline.h"
#include "ngx_streamline_store.h"


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
} ngx_http_streamline_loc_conf_t;


typedef struct {
    ngx_http_request_t        *request;
    ngx_streamline_read_t     *read;
    ngx_event_t                timer;
    u_char                     channel[SL_CHANNEL_MAX + 1];
    size_t                     channel_len;
} ngx_http_streamline_ctx_t;


static ngx_int_t ngx_http_streamline_init(ngx_conf_t *cf);
static void *ngx_http_streamline_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_streamline_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_streamline_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_streamline_channel(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_streamline_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_streamline_hls(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_streamline_check_held(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_streamline_api_handler(ngx_http_request_t *r);

static ngx_int_t ngx_http_streamline_access_handler(ngx_http_request_t *r);
static void ngx_http_streamline_read_done(ngx_streamline_read_t *rd);
static void ngx_http_streamline_timeout(ngx_event_t *ev);
static void ngx_http_streamline_cleanup(void *data);
static ngx_int_t ngx_http_streamline_state(ngx_http_request_t *r,
    const sl_state_t *st, ngx_uint_t stale);
static ngx_int_t ngx_http_streamline_known(ngx_http_request_t *r,
    const u_char *channel, size_t len);
static ngx_int_t ngx_http_streamline_send(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);
static ngx_int_t ngx_http_streamline_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);


static ngx_conf_post_t  ngx_http_streamline_held_post = {
    ngx_http_streamline_check_held
};


static ngx_command_t  ngx_http_streamline_commands[] = {

    { ngx_string("streamline_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_streamline_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("streamline_hls"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_streamline_hls,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("streamline_hls_max_held"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_streamline_loc_conf_t, max_held),
      &ngx_http_streamline_held_post },

    { ngx_string("streamline_api_channel"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_streamline_channel,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_streamline_loc_conf_t, channel),
      NULL },

    { ngx_string("streamline_api_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_streamline_loc_conf_t, cache),
      NULL },

    { ngx_string("streamline_api_cors"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_streamline_loc_conf_t, cors),
      NULL },

    { ngx_string("streamline_origin_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_streamline_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_streamline_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_streamline_init,              /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_streamline_create_loc_conf,   /* create location configuration */
    ngx_http_streamline_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_streamline_module = {
    NGX_MODULE_V1,
    &ngx_http_streamline_module_ctx,       /* module context */
    ngx_http_streamline_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_streamline_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_streamline_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_streamline_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_streamline_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_streamline_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    slcf->api = NGX_CONF_UNSET;
    slcf->hls = NGX_CONF_UNSET;
    slcf->max_held = NGX_CONF_UNSET_UINT;
    slcf->cache = NGX_CONF_UNSET_MSEC;
    slcf->secret_set = NGX_CONF_UNSET_UINT;

    return slcf;
}


static char *
ngx_http_streamline_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_streamline_loc_conf_t  *prev = parent;
    ngx_http_streamline_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->api, prev->api, 0);
    ngx_conf_merge_uint_value(conf->max_held, prev->max_held, 0);
    ngx_conf_merge_str_value(conf->channel, prev->channel, "main");
    ngx_conf_merge_msec_value(conf->cache, prev->cache, 10000);
    ngx_conf_merge_str_value(conf->cors, prev->cors, "*");

    if (conf->secret_set == NGX_CONF_UNSET_UINT) {
        conf->secret_set = prev->secret_set == NGX_CONF_UNSET_UINT
                           ? 0 : prev->secret_set;
        conf->secret_header = prev->secret_header;
        conf->secret_value = prev->secret_value;
    }

    if (conf->cors.len == 3 && ngx_strncmp(conf->cors.data, "off", 3) == 0) {
        conf->cors.len = 0;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_streamline_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_streamline_loc_conf_t  *slcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (slcf->api != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    slcf->api = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_streamline_api_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_streamline_hls(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_streamline_loc_conf_t  *slcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (slcf->hls != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    slcf->hls = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_streamline_hls_handler;

    return NGX_CONF_OK;
}


/*
 * Held requests take connections from the same worker_connections as RTMP
 * ingest: a cap that leaves none for a publisher is refused (when the
 * events block came first, as it does in every example).
 */
static char *
ngx_http_streamline_check_held(ngx_conf_t *cf, void *post, void *data)
{
    ngx_uint_t  *np = data;

    ngx_event_conf_t  *ecf;

    if (*np == 0) {
        return "must be at least 1";
    }

    if (cf->cycle->conf_ctx[ngx_events_module.index] == NULL) {
        return NGX_CONF_OK;
    }

    ecf = ngx_event_get_conf(cf->cycle->conf_ctx, ngx_event_core_module);

    if (ecf->connections != NGX_CONF_UNSET_UINT
        && *np >= ecf->connections)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_hls_max_held\" %ui leaves no "
                           "connection for RTMP ingest: it must be below "
                           "worker_connections (%ui)",
                           *np, ecf->connections);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the cap on requests held in this worker (blocking reloads, hints) */
ngx_uint_t
ngx_http_streamline_max_held(ngx_http_request_t *r)
{
    ngx_http_streamline_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_streamline_module);

    if (slcf->max_held) {
        return slcf->max_held;
    }

    /* the other half stays for ingest, the API and plain requests */
    return ngx_max(ngx_cycle->connection_n / 2, 1);
}


static char *
ngx_http_streamline_channel(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t  *value;
    char       *rv;

    rv = ngx_conf_set_str_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    value = cf->args->elts;

    if (!sl_channel_valid(value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_api_channel\": invalid channel name "
                           "\"%V\" (1 to %d of A-Z a-z 0-9 _ -)",
                           &value[1], SL_CHANNEL_MAX);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_streamline_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_streamline_loc_conf_t  *slcf = conf;

    u_char       c;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (slcf->secret_set != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (ngx_strcmp(value[1].data, "off") == 0) {
            slcf->secret_set = 0;
            return NGX_CONF_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_origin_secret\" takes a header name "
                           "and a secret value, or \"off\"");
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < value[1].len; i++) {
        c = value[1].data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_'))
        {
            break;
        }
    }

    if (value[1].len == 0 || i != value[1].len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_origin_secret\": invalid header "
                           "name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (value[2].len < 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_origin_secret\": the secret must be "
                           "at least 16 bytes long");
        return NGX_CONF_ERROR;
    }

    slcf->secret_set = 1;
    slcf->secret_header = value[1];
    slcf->secret_value = value[2];

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_streamline_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_streamline_access_handler;

    /* the store's changes wake the playlist requests that wait */
    ngx_streamline_store_set_waker(ngx_http_streamline_hls_wake);

    return NGX_OK;
}


/* the origin lock: only the CDN knows the secret */
static ngx_int_t
ngx_http_streamline_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_uint_t                       i;
    ngx_list_part_t                 *part;
    ngx_table_elt_t                 *h;
    ngx_http_streamline_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_streamline_module);

    if (!slcf->secret_set || r != r->main) {
        return NGX_DECLINED;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == slcf->secret_header.len
            && ngx_strncasecmp(h[i].key.data, slcf->secret_header.data,
                               h[i].key.len) == 0)
        {
            if (sl_secret_equal(h[i].value.data, h[i].value.len,
                                slcf->secret_value.data,
                                slcf->secret_value.len))
            {
                return NGX_DECLINED;
            }

            break;
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "streamline: request without the origin secret refused");

    /* a JSON body, like every other answer of ours */
    rc = ngx_http_discard_request_body(r);
    if (rc == NGX_OK) {
        rc = ngx_http_streamline_error(r, NGX_HTTP_FORBIDDEN, "forbidden");
    }

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static ngx_int_t
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
        return ngx_http_streamline_state(r, &ce->state, 0);
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


/*
 * The part of the URI after the location's prefix, from its last "/":
 * "location /api/stream" and "location /api/stream/" both leave "/main"
 * of "/api/stream/main".  NGX_DECLINED (and an empty tail) for regex
 * locations and URIs outside the prefix.
 */
ngx_int_t
ngx_http_streamline_location_tail(ngx_http_request_t *r, u_char **tail,
    size_t *len)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    *tail = r->uri.data;
    *len = 0;

    if (clcf->regex || r->uri.len < clcf->name.len
        || ngx_strncmp(r->uri.data, clcf->name.data, clcf->name.len) != 0)
    {
        return NGX_DECLINED;
    }

    *tail = r->uri.data + clcf->name.len;
    *len = r->uri.len - clcf->name.len;

    if (clcf->name.len && clcf->name.data[clcf->name.len - 1] == '/') {
        (*tail)--;
        (*len)++;
    }

    return NGX_OK;
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
        rc = ngx_http_streamline_state(r, &rd->state, 0);

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
        return ngx_http_streamline_state(r, &ce->state, 1);
    }

    return ngx_http_streamline_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "stream state unavailable");
}


static ngx_int_t
ngx_http_streamline_state(ngx_http_request_t *r, const sl_state_t *st,
    ngx_uint_t stale)
{
    int     n;
    u_char  *buf;

    buf = ngx_pnalloc(r->pool, SL_STATE_JSON_MAX);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = sl_state_json(st, NULL, 0, stale, buf, SL_STATE_JSON_MAX);
    if (n < 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_streamline_send(r, NGX_HTTP_OK, buf, n);
}


static ngx_int_t
ngx_http_streamline_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    u_char  *buf, *p;
    size_t   len;

    len = ngx_strlen(msg);

    /* messages are ours: plain ASCII without quotes or backslashes */
    buf = ngx_pnalloc(r->pool, len + sizeof("{\"error\":\"\"}"));
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(buf, "{\"error\":\"%s\"}", msg);

    if (status == NGX_HTTP_NOT_ALLOWED) {
        ngx_table_elt_t  *h;

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET, HEAD");
    }

    return ngx_http_streamline_send(r, status, buf, p - buf);
}


static ngx_int_t
ngx_http_streamline_send(ngx_http_request_t *r, ngx_uint_t status,
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
