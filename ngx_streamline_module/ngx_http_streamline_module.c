/*
 * The HTTP side's module: its directives (streamline_api, streamline_hls,
 * ...), and the origin lock: requests without the CDN's secret header are
 * refused.  The API is ngx_http_streamline_api.c, the LL-HLS requests
 * ngx_http_streamline_hls*.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_streamline.h"
#include "ngx_http_streamline_metadata.h"
#include "ngx_streamline_store.h"


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

static ngx_int_t ngx_http_streamline_access_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_streamline_log_handler(ngx_http_request_t *r);


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

    { ngx_string("streamline_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_streamline_metrics,
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

    { ngx_string("streamline_collapse"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_streamline_loc_conf_t, collapse),
      NULL },

    { ngx_string("streamline_collapse_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_streamline_loc_conf_t, collapse_timeout),
      NULL },

    { ngx_string("streamline_viewers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_streamline_viewers,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("streamline_metadata"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_streamline_metadata,
      0,
      0,
      NULL },

    { ngx_string("streamline_clip"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_streamline_loc_conf_t, clip),
      NULL },

    { ngx_string("streamline_clip_max_length"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_streamline_loc_conf_t, clip_max_length),
      NULL },

    { ngx_string("streamline_clip_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_streamline_loc_conf_t, clip_pool_name),
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
    slcf->collapse = NGX_CONF_UNSET;
    slcf->collapse_timeout = NGX_CONF_UNSET_MSEC;
    slcf->viewers = NGX_CONF_UNSET;
    slcf->clip = NGX_CONF_UNSET;
    slcf->clip_max_length = NGX_CONF_UNSET_MSEC;

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
    ngx_conf_merge_value(conf->collapse, prev->collapse, 0);

    if (conf->viewers == NGX_CONF_UNSET) {
        conf->viewers = prev->viewers == NGX_CONF_UNSET ? 0 : prev->viewers;
        conf->viewers_channel = prev->viewers_channel;
    }
    ngx_conf_merge_msec_value(conf->collapse_timeout, prev->collapse_timeout,
                              30000);

    if (conf->collapse_timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_collapse_timeout\" must be more "
                           "than 0");
        return NGX_CONF_ERROR;
    }

    if (conf->secret_set == NGX_CONF_UNSET_UINT) {
        conf->secret_set = prev->secret_set == NGX_CONF_UNSET_UINT
                           ? 0 : prev->secret_set;
        conf->secret_header = prev->secret_header;
        conf->secret_value = prev->secret_value;
    }

    if (conf->cors.len == 3 && ngx_strncmp(conf->cors.data, "off", 3) == 0) {
        conf->cors.len = 0;
    }

    return ngx_http_streamline_clip_merge(cf, prev, conf);
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
    ngx_streamline_needs_redis(cf);

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    /* the state API, and timed metadata POSTs when streamline_metadata */
    clcf->handler = ngx_http_streamline_metadata_handler;

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

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_streamline_log_handler;

    if (ngx_http_streamline_collapse_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the store's changes wake the playlist requests that wait */
    ngx_streamline_store_set_waker(ngx_http_streamline_hls_wake);

    return NGX_OK;
}


/* the log phase: the viewers (a playlist answered), the metrics (API and
 * HLS requests by status class) */
static ngx_int_t
ngx_http_streamline_log_handler(ngx_http_request_t *r)
{
    ngx_http_streamline_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_streamline_module);

    ngx_http_streamline_viewers_log(r, slcf);

    if (ngx_streamline_metrics() == NULL) {
        return NGX_OK;
    }

    if (slcf->hls == 1 || slcf->api == 1) {
        ngx_streamline_metrics_http(r, slcf->api == 1);
    }

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
