/*
 * Timed metadata: POST /api/stream/<channel>/metadata with a body of up to
 * 1 KB and "Authorization: Bearer <token>" adds an EXT-X-DATERANGE tag
 * (core/sl_meta.c) to every rendition's media playlist of the channel,
 * dated within the part being written.
 *
 * The token's SHA-256 is looked up in Redis (hash <prefix>metadata_tokens,
 * field: hex digest, value: channel) without blocking.  Each channel's tags
 * and rate limit live in a zone of their own (streamline_metadata), so
 * every worker renders them; its lock is never held with the store's.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_streamline.h"
#include "ngx_http_streamline_metadata.h"
#include "ngx_streamline_redis.h"
#include "ngx_streamline_store.h"
#include "core/sl_meta.h"


#define NGX_STREAMLINE_META_RINGS    1024
/* a channel's ring unused this long is taken when the zone is full */
#define NGX_STREAMLINE_META_IDLE_MS  (24 * 3600 * 1000LL)


typedef struct {
    ngx_uint_t                 nrings;
    sl_meta_ring_t            *rings[NGX_STREAMLINE_META_RINGS];
} ngx_streamline_meta_shm_t;


typedef struct ngx_http_streamline_meta_ctx_s  ngx_http_streamline_meta_ctx_t;

/* a token lookup in flight: freed by its callback, like a state read */
typedef struct {
    ngx_http_streamline_meta_ctx_t  *ctx;     /* NULL: nobody waits */
} ngx_http_streamline_meta_lookup_t;

struct ngx_http_streamline_meta_ctx_s {
    ngx_http_request_t                 *request;
    ngx_http_streamline_meta_lookup_t  *lookup;
    ngx_event_t                         timer;
    u_char                              channel[SL_CHANNEL_MAX + 1];
    size_t                              channel_len;
    u_char                              digest[65];
    u_char                              body[SL_META_BODY_MAX];
    size_t                              body_len;
};


static void ngx_http_streamline_meta_body(ngx_http_request_t *r);
static void ngx_http_streamline_meta_reply(redisAsyncContext *ac, void *r,
    void *pd);
static void ngx_http_streamline_meta_timeout(ngx_event_t *ev);
static void ngx_http_streamline_meta_cleanup(void *data);
static ngx_int_t ngx_http_streamline_meta_add(ngx_http_request_t *r,
    ngx_http_streamline_meta_ctx_t *ctx);
static ngx_int_t ngx_http_streamline_meta_edge(const u_char *channel,
    size_t len, int64_t *edge_ms, uint32_t *part_ms);
static sl_meta_ring_t *ngx_http_streamline_meta_ring(
    ngx_streamline_meta_shm_t *shm, ngx_slab_pool_t *shpool,
    const u_char *channel, size_t len, ngx_uint_t create, int64_t now);
static ngx_int_t ngx_http_streamline_meta_init_zone(ngx_shm_zone_t *zone,
    void *data);
static ngx_int_t ngx_http_streamline_meta_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);
static ngx_shm_zone_t *ngx_http_streamline_meta_zone(void);


/* this worker's copy of a channel's tags, for the playlist it renders */
static sl_meta_entry_t     *ngx_http_streamline_meta_copy;
static sl_hls_daterange_t   ngx_http_streamline_meta_ranges[SL_META_ENTRIES];


char *
ngx_http_streamline_metadata(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ssize_t                      size;
    ngx_str_t                   *value;
    ngx_str_t                    name = ngx_string("streamline_metadata");
    ngx_shm_zone_t              *zone;
    ngx_streamline_main_conf_t  *smcf;

    smcf = (ngx_streamline_main_conf_t *)
               ngx_get_conf(cf->cycle->conf_ctx, ngx_streamline_module);

    if (smcf->meta_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[1]);

    /* room for one channel's ring at least, and the slab's own pages */
    if (size == NGX_ERROR
        || (size_t) size < sizeof(sl_meta_ring_t)
                           + sizeof(ngx_streamline_meta_shm_t)
                           + 16 * ngx_pagesize)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_metadata\": invalid size \"%V\", "
                           "at least %uzk", &value[1],
                           (sizeof(sl_meta_ring_t)
                            + sizeof(ngx_streamline_meta_shm_t)
                            + 16 * ngx_pagesize) / 1024 + 1);
        return NGX_CONF_ERROR;
    }

    zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_streamline_module);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->init = ngx_http_streamline_meta_init_zone;
    smcf->meta_zone = zone;

    /* the token lookup */
    ngx_streamline_needs_redis(cf);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_streamline_meta_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t            *shpool;
    ngx_streamline_meta_shm_t  *shm;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (data) {
        zone->data = data;
        return NGX_OK;
    }

    if (zone->shm.exists) {
        zone->data = shpool->data;
        return NGX_OK;
    }

    shm = ngx_slab_calloc(shpool, sizeof(ngx_streamline_meta_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    shpool->data = shm;
    zone->data = shm;

    /* no "no memory" alert for a full zone: the POST says 503 */
    shpool->log_nomem = 0;

    return NGX_OK;
}


static ngx_shm_zone_t *
ngx_http_streamline_meta_zone(void)
{
    ngx_streamline_main_conf_t  *smcf;

    smcf = (ngx_streamline_main_conf_t *)
               ngx_get_conf(ngx_cycle->conf_ctx, ngx_streamline_module);

    return smcf ? smcf->meta_zone : NULL;
}


/* the API location's handler: a metadata request, else the state API */
ngx_int_t
ngx_http_streamline_metadata_handler(ngx_http_request_t *r)
{
    u_char                          *tail;
    size_t                           tail_len, len, token_len;
    ngx_int_t                        rc;
    ngx_str_t                        allow = ngx_string("POST");
    ngx_str_t                        bearer = ngx_string("Bearer");
    const u_char                    *channel, *token;
    ngx_http_streamline_meta_ctx_t  *ctx;

    if (ngx_http_streamline_meta_zone() == NULL) {
        return ngx_http_streamline_api_handler(r);
    }

    (void) ngx_http_streamline_location_tail(r, &tail, &tail_len);

    rc = sl_meta_path(tail, tail_len, &channel, &len);

    if (rc == SL_DECLINED) {
        return ngx_http_streamline_api_handler(r);
    }

    if (!(r->method & NGX_HTTP_POST)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (ngx_http_streamline_add_header(r, "Allow", &allow) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_streamline_meta_error(r, NGX_HTTP_NOT_ALLOWED,
                                              "method not allowed");
    }

    if (rc != SL_OK) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_streamline_meta_error(r, NGX_HTTP_NOT_FOUND,
                                              "no such channel");
    }

    if (r->headers_in.content_length_n > SL_META_BODY_MAX) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_streamline_meta_error(r,
                                              NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                              "body over 1024 bytes");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_streamline_meta_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->headers_in.authorization == NULL
        || sl_meta_bearer(r->headers_in.authorization->value.data,
                          r->headers_in.authorization->value.len,
                          &token, &token_len) != SL_OK
        || sl_key_digest_hex(token, token_len, ctx->digest) != SL_OK)
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (ngx_http_streamline_add_header(r, "WWW-Authenticate", &bearer)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_streamline_meta_error(r, NGX_HTTP_UNAUTHORIZED,
                                              "unauthorized");
    }

    ngx_memcpy(ctx->channel, channel, len);
    ctx->channel_len = len;
    ctx->request = r;

    ngx_http_set_ctx(r, ctx, ngx_http_streamline_module);

    rc = ngx_http_read_client_request_body(r, ngx_http_streamline_meta_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* the body is in: its size, then the token */
static void
ngx_http_streamline_meta_body(ngx_http_request_t *r)
{
    size_t                           n;
    const char                      *argv[3];
    size_t                           lens[3];
    u_char                           key[256];
    ngx_chain_t                     *cl;
    ngx_pool_cleanup_t              *cln;
    ngx_http_streamline_meta_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_streamline_module);

    if (r->request_body == NULL || r->request_body->temp_file) {
        ngx_http_finalize_request(r,
            ngx_http_streamline_meta_error(r, r->request_body
                                   ? NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
                                   : NGX_HTTP_BAD_REQUEST,
                                   r->request_body ? "body over 1024 bytes"
                                                   : "no body"));
        return;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            ngx_http_finalize_request(r,
                ngx_http_streamline_meta_error(r,
                                       NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                       "body over 1024 bytes"));
            return;
        }

        n = cl->buf->last - cl->buf->pos;

        if (n > SL_META_BODY_MAX - ctx->body_len) {
            ngx_http_finalize_request(r,
                ngx_http_streamline_meta_error(r,
                                       NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                       "body over 1024 bytes"));
            return;
        }

        if (n) {
            ngx_memcpy(ctx->body + ctx->body_len, cl->buf->pos, n);
            ctx->body_len += n;
        }
    }

    if (!sl_meta_body_valid(ctx->body_len)) {
        ngx_http_finalize_request(r,
            ngx_http_streamline_meta_error(r, NGX_HTTP_BAD_REQUEST,
                                           "empty body"));
        return;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    ctx->lookup = ngx_alloc(sizeof(ngx_http_streamline_meta_lookup_t),
                            r->connection->log);

    if (cln == NULL || ctx->lookup == NULL) {
        if (ctx->lookup) {
            ngx_free(ctx->lookup);
            ctx->lookup = NULL;
        }

        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->lookup->ctx = ctx;

    argv[0] = "HGET";
    lens[0] = 4;
    argv[1] = (char *) key;
    lens[1] = ngx_streamline_key(key, sizeof(key), "metadata_tokens", NULL, 0);
    argv[2] = (char *) ctx->digest;
    lens[2] = 64;

    if (ngx_streamline_command(ngx_http_streamline_meta_reply, ctx->lookup,
                               3, argv, lens)
        != NGX_OK)
    {
        ngx_free(ctx->lookup);
        ctx->lookup = NULL;

        ngx_http_finalize_request(r,
            ngx_http_streamline_meta_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "token check unavailable"));
        return;
    }

    cln->handler = ngx_http_streamline_meta_cleanup;
    cln->data = ctx;

    ctx->timer.handler = ngx_http_streamline_meta_timeout;
    ctx->timer.data = ctx;
    ctx->timer.log = r->connection->log;
    ngx_add_timer(&ctx->timer, ngx_streamline_conf->redis_timeout);
}


static void
ngx_http_streamline_meta_reply(redisAsyncContext *ac, void *r, void *pd)
{
    redisReply                         *reply = r;
    ngx_http_streamline_meta_lookup_t  *lk = pd;

    ngx_int_t                        rc;
    ngx_connection_t                *c;
    ngx_http_request_t              *req;
    ngx_http_streamline_meta_ctx_t  *ctx;
    ngx_str_t                        bearer =
        ngx_string("Bearer error=\"invalid_token\"");

    if (reply) {
        ngx_streamline_replied(&ngx_streamline_cmd);
    }

    ctx = lk->ctx;
    ngx_free(lk);

    if (ctx == NULL) {
        return;
    }

    ctx->lookup = NULL;

    if (ngx_streamline_exiting) {
        /* the request ends with the worker; its cleanup stops the timer */
        return;
    }

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    req = ctx->request;
    c = req->connection;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        rc = ngx_http_streamline_meta_error(req, NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "token check unavailable");

    } else if (reply->type != REDIS_REPLY_STRING
               || reply->len != ctx->channel_len
               || ngx_memcmp(reply->str, ctx->channel, ctx->channel_len) != 0)
    {
        /* no such token, or another channel's: the token is not logged */
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "streamline: channel \"%*s\": metadata with a wrong "
                      "token refused", ctx->channel_len, ctx->channel);

        rc = ngx_http_streamline_add_header(req, "WWW-Authenticate", &bearer)
             == NGX_OK
             ? ngx_http_streamline_meta_error(req, NGX_HTTP_UNAUTHORIZED,
                                              "unauthorized")
             : NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        rc = ngx_http_streamline_meta_add(req, ctx);
    }

    ngx_http_finalize_request(req, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_streamline_meta_timeout(ngx_event_t *ev)
{
    ngx_http_streamline_meta_ctx_t  *ctx = ev->data;
    ngx_http_request_t              *r = ctx->request;
    ngx_connection_t                *c = r->connection;

    if (ctx->lookup) {
        /* the reply, if it comes, is dropped */
        ctx->lookup->ctx = NULL;
        ctx->lookup = NULL;
    }

    ngx_log_error(NGX_LOG_WARN, c->log, 0,
                  "streamline: redis did not answer in time");

    ngx_http_finalize_request(r,
        ngx_http_streamline_meta_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                       "token check unavailable"));
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_streamline_meta_cleanup(void *data)
{
    ngx_http_streamline_meta_ctx_t  *ctx = data;

    if (ctx->lookup) {
        ctx->lookup->ctx = NULL;
        ctx->lookup = NULL;
    }

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }
}


/* authorised: the channel must be live here, and under its rate */
static ngx_int_t
ngx_http_streamline_meta_add(ngx_http_request_t *r,
    ngx_http_streamline_meta_ctx_t *ctx)
{
    int                         rate;
    u_char                     *buf, *p;
    int64_t                     now, edge, start;
    uint32_t                    part_ms;
    ngx_int_t                   rc;
    ngx_str_t                   one = ngx_string("1");
    sl_meta_ring_t             *m;
    ngx_shm_zone_t             *zone;
    ngx_slab_pool_t            *shpool;
    ngx_streamline_meta_shm_t  *shm;
    char                        id[SL_META_ID_MAX];
    u_char                      iso[SL_ISO8601_LEN];

    rc = ngx_http_streamline_meta_edge(ctx->channel, ctx->channel_len, &edge,
                                       &part_ms);

    if (rc == NGX_DECLINED) {
        return ngx_http_streamline_meta_error(r, NGX_HTTP_NOT_FOUND,
                                              "no such channel");
    }

    if (rc == NGX_BUSY) {
        return ngx_http_streamline_meta_error(r, NGX_HTTP_CONFLICT,
                                              "channel not live here");
    }

    now = ngx_streamline_now_ms();
    start = sl_meta_start(now, edge, part_ms);

    zone = ngx_http_streamline_meta_zone();
    shpool = (ngx_slab_pool_t *) zone->shm.addr;
    shm = zone->data;

    ngx_shmtx_lock(&shpool->mutex);

    m = ngx_http_streamline_meta_ring(shm, shpool, ctx->channel,
                                      ctx->channel_len, 1, now);

    if (m == NULL) {
        rate = SL_ERROR;

    } else {
        rate = sl_meta_rate(m, now);

        if (rate == SL_OK
            && sl_meta_add(m, start, now, ctx->body, ctx->body_len, id)
               != SL_OK)
        {
            rate = SL_AGAIN;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    switch (rate) {

    case SL_OK:
        break;

    case SL_DECLINED:
        if (ngx_http_streamline_add_header(r, "Retry-After", &one) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_streamline_meta_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                              "too many requests");

    case SL_ERROR:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "streamline: channel \"%*s\": metadata refused, "
                      "streamline_metadata zone full",
                      ctx->channel_len, ctx->channel);

        return ngx_http_streamline_meta_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                              "metadata zone full");

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (sl_iso8601_ms(start, iso) != SL_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    buf = ngx_pnalloc(r->pool, SL_META_ID_MAX + SL_ISO8601_LEN + 64);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(buf, "{\"id\":\"%s\",\"startDate\":\"%*s\"}", id,
                    (size_t) SL_ISO8601_LEN, iso);

    return ngx_http_streamline_send_json(r, NGX_HTTP_CREATED, buf, p - buf);
}


/*
 * Under the store's lock (and no other): NGX_DECLINED for a channel this
 * origin has no record of, NGX_BUSY for one not live here, else NGX_OK and
 * the wall clock at the end of the source's last part (-1: unknown) with
 * the part target.
 */
static ngx_int_t
ngx_http_streamline_meta_edge(const u_char *channel, size_t len,
    int64_t *edge_ms, uint32_t *part_ms)
{
    uint64_t                   msn;
    ngx_int_t                  rc;
    sl_dvr_t                  *dvr;
    sl_dvr_seg_t               seg;
    ngx_slab_pool_t           *shpool;
    ngx_streamline_channel_t  *ch;

    *edge_ms = -1;
    *part_ms = 0;

    if (ngx_streamline_store_shm() == NULL) {
        return NGX_DECLINED;
    }

    shpool = ngx_streamline_store_pool();

    ngx_shmtx_lock(&shpool->mutex);

    ch = ngx_streamline_store_channel(channel, len, 0);

    if (ch == NULL || ch->state == NGX_STREAMLINE_FREE
        || ch->state == NGX_STREAMLINE_DELETING)
    {
        rc = NGX_DECLINED;

    } else if (ch->state != NGX_STREAMLINE_LIVE) {
        rc = NGX_BUSY;

    } else {
        rc = NGX_OK;
        dvr = ch->r[0].dvr;

        if (dvr != NULL && dvr->started) {
            *part_ms = dvr->part_target_us / 1000;

            if (dvr->open && dvr->cur.pdt_ms >= 0) {
                *edge_ms = dvr->cur.pdt_ms + dvr->cur.duration_us / 1000;

            } else if (dvr->next_msn > dvr->first_msn) {
                msn = dvr->next_msn - 1;

                if (sl_dvr_segment(dvr, msn, &seg) == SL_OK
                    && seg.pdt_ms >= 0)
                {
                    *edge_ms = seg.pdt_ms + seg.duration_us / 1000;
                }
            }
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


/* under the zone's lock; no allocation but a new channel's ring */
static sl_meta_ring_t *
ngx_http_streamline_meta_ring(ngx_streamline_meta_shm_t *shm,
    ngx_slab_pool_t *shpool, const u_char *channel, size_t len,
    ngx_uint_t create, int64_t now)
{
    ngx_uint_t       i;
    sl_meta_ring_t  *m, *idle;

    idle = NULL;

    for (i = 0; i < shm->nrings; i++) {
        m = shm->rings[i];

        if (m->channel_len == len && ngx_memcmp(m->channel, channel, len) == 0)
        {
            return m;
        }

        if (now - m->last_ms > NGX_STREAMLINE_META_IDLE_MS
            && (idle == NULL || m->last_ms < idle->last_ms))
        {
            idle = m;
        }
    }

    if (!create) {
        return NULL;
    }

    m = NULL;

    if (shm->nrings < NGX_STREAMLINE_META_RINGS) {
        m = ngx_slab_alloc_locked(shpool, sizeof(sl_meta_ring_t));

        if (m != NULL) {
            shm->rings[shm->nrings++] = m;
        }
    }

    if (m == NULL) {
        /* full: the ring of a channel without metadata for a day */
        m = idle;
    }

    if (m != NULL) {
        sl_meta_ring_init(m, channel, len);
    }

    return m;
}


/*
 * The tags of a channel for its media playlists, valid until the next
 * call in this worker: copied under the zone's lock, before the caller
 * takes the store's.
 */
ngx_int_t
ngx_http_streamline_metadata_ranges(const u_char *channel, size_t len,
    const sl_hls_daterange_t **ranges, size_t *n)
{
    size_t                      count;
    sl_meta_ring_t             *m;
    ngx_shm_zone_t             *zone;
    ngx_slab_pool_t            *shpool;

    *ranges = NULL;
    *n = 0;

    zone = ngx_http_streamline_meta_zone();
    if (zone == NULL) {
        return NGX_OK;
    }

    if (ngx_http_streamline_meta_copy == NULL) {
        ngx_http_streamline_meta_copy =
            ngx_alloc(SL_META_ENTRIES * sizeof(sl_meta_entry_t),
                      ngx_cycle->log);
        if (ngx_http_streamline_meta_copy == NULL) {
            return NGX_ERROR;
        }
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    m = ngx_http_streamline_meta_ring(zone->data, shpool, channel, len, 0, 0);
    count = m ? sl_meta_copy(m, ngx_http_streamline_meta_copy) : 0;

    ngx_shmtx_unlock(&shpool->mutex);

    *n = sl_meta_dateranges(ngx_http_streamline_meta_copy, count,
                            ngx_http_streamline_meta_ranges);
    *ranges = ngx_http_streamline_meta_ranges;

    return NGX_OK;
}


static ngx_int_t
ngx_http_streamline_meta_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    u_char  *buf, *p;

    /* messages are ours: plain ASCII without quotes or backslashes */
    buf = ngx_pnalloc(r->pool, ngx_strlen(msg) + sizeof("{\"error\":\"\"}"));
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(buf, "{\"error\":\"%s\"}", msg);

    return ngx_http_streamline_send_json(r, status, buf, p - buf);
}


