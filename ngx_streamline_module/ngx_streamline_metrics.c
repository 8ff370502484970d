/*
 * The metrics' shared memory zone and the streamline_metrics content
 * handler (Prometheus text exposition format).  The zone
 * ("streamline_metrics", core/sl_metrics.h's layout) is added by the
 * first streamline_metrics location: without one nothing is counted.  It
 * survives reloads (the same name and size), so counters go on across
 * them; a binary upgrade or a restart starts them from zero, which
 * Prometheus's rate() takes as a counter reset.
 *
 * Every worker counts into it with atomic adds; each worker also has a
 * slot of its own (by pid) for its gauges (Redis connection, queue,
 * held requests).  A channel's media totals are stored once a second by
 * the worker that runs its pipeline (ngx_streamline_packager.c).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_streamline.h"
#include "ngx_http_streamline.h"


/* the zone: a slab pool holding one sl_metrics_t */
typedef struct {
    sl_metrics_t     m;
} ngx_streamline_metrics_shm_t;


static ngx_int_t ngx_streamline_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_streamline_metrics_handler(ngx_http_request_t *r);
static int ngx_streamline_metrics_gone(int64_t pid);


static ngx_slab_pool_t       *ngx_streamline_metrics_pool;
static sl_metrics_t          *ngx_streamline_metrics_m;
static sl_metrics_worker_t   *ngx_streamline_metrics_w;


char *
ngx_http_streamline_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t                    name = ngx_string("streamline_metrics");
    ngx_shm_zone_t              *zone;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_streamline_main_conf_t  *smcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_streamline_metrics_handler) {
        return "is duplicate";
    }

    clcf->handler = ngx_http_streamline_metrics_handler;

    /* the same zone for every streamline_metrics location; room for
     * the slab pool's own pages too.  Kept in this configuration's main
     * conf: a worker started later (respawned) finds its own cycle's. */
    zone = ngx_shared_memory_add(cf, &name,
                                 ngx_align(sizeof(ngx_streamline_metrics_shm_t),
                                           ngx_pagesize)
                                 + 8 * ngx_pagesize,
                                 &ngx_streamline_module);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->init = ngx_streamline_metrics_init_zone;

    smcf = (ngx_streamline_main_conf_t *)
               ngx_get_conf(cf->cycle->conf_ctx, ngx_streamline_module);
    smcf->metrics_zone = zone;

    return NGX_CONF_OK;
}


/* in the master: a new zone gets its figures; an old one goes on */
static ngx_int_t
ngx_streamline_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t               *shpool;
    ngx_streamline_metrics_shm_t  *shm;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shm = ngx_slab_calloc(shpool, sizeof(ngx_streamline_metrics_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    shpool->data = shm;
    shm_zone->data = shm;

    return NGX_OK;
}


/* a worker: its slot, by pid (a free one, or a dead worker's) */
void
ngx_streamline_metrics_init_process(ngx_cycle_t *cycle)
{
    int64_t                        pid, none;
    ngx_uint_t                     i;
    ngx_shm_zone_t                *zone;
    ngx_streamline_main_conf_t    *smcf;
    ngx_streamline_metrics_shm_t  *shm;

    ngx_streamline_metrics_m = NULL;
    ngx_streamline_metrics_w = NULL;

    smcf = (ngx_streamline_main_conf_t *)
               ngx_get_conf(cycle->conf_ctx, ngx_streamline_module);
    zone = smcf->metrics_zone;

    if (zone == NULL || zone->data == NULL || zone->shm.addr == NULL) {
        return;
    }

    shm = zone->data;
    ngx_streamline_metrics_pool = (ngx_slab_pool_t *) zone->shm.addr;
    ngx_streamline_metrics_m = &shm->m;

    for (i = 0; i < SL_METRICS_WORKERS; i++) {
        pid = sl_metric_get(&shm->m.workers[i].pid);

        if (pid != 0 && !ngx_streamline_metrics_gone(pid)) {
            continue;
        }

        none = pid;

        if (__atomic_compare_exchange_n(&shm->m.workers[i].pid, &none,
                                        (int64_t) ngx_pid, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        {
            ngx_streamline_metrics_w = &shm->m.workers[i];
            sl_metric_set(&ngx_streamline_metrics_w->redis_used, 0);
            sl_metric_set(&ngx_streamline_metrics_w->redis_connected, 0);
            sl_metric_set(&ngx_streamline_metrics_w->redis_queue, 0);
            sl_metric_set(&ngx_streamline_metrics_w->redis_oldest_ms, 0);
            sl_metric_set(&ngx_streamline_metrics_w->held, 0);
            return;
        }
    }

    ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                  "streamline: no metrics slot for this worker (%d in "
                  "use): its gauges are not exported", SL_METRICS_WORKERS);
}


void
ngx_streamline_metrics_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_streamline_metrics_w) {
        sl_metric_set(&ngx_streamline_metrics_w->pid, 0);
        ngx_streamline_metrics_w = NULL;
    }

    ngx_streamline_metrics_m = NULL;
}


sl_metrics_t *
ngx_streamline_metrics(void)
{
    return ngx_streamline_metrics_m;
}


sl_metrics_worker_t *
ngx_streamline_metrics_worker(void)
{
    return ngx_streamline_metrics_w;
}


sl_metrics_channel_t *
ngx_streamline_metrics_channel(const u_char *name, size_t len)
{
    sl_metrics_channel_t  *c;

    if (ngx_streamline_metrics_m == NULL) {
        return NULL;
    }

    ngx_shmtx_lock(&ngx_streamline_metrics_pool->mutex);
    c = sl_metrics_channel(ngx_streamline_metrics_m, name, len);
    ngx_shmtx_unlock(&ngx_streamline_metrics_pool->mutex);

    return c;
}


sl_metrics_rendition_t *
ngx_streamline_metrics_rendition(sl_metrics_channel_t *c, const char *name)
{
    sl_metrics_rendition_t  *r;

    ngx_shmtx_lock(&ngx_streamline_metrics_pool->mutex);
    r = sl_metrics_rendition(c, name);
    ngx_shmtx_unlock(&ngx_streamline_metrics_pool->mutex);

    return r;
}


void
ngx_streamline_metrics_live(sl_metrics_channel_t *c, ngx_uint_t live)
{
    if (c == NULL) {
        return;
    }

    if (live) {
        sl_metric_set(&c->pid, (int64_t) ngx_pid);

    } else {
        sl_metric_set(&c->idle_ms, ngx_streamline_now_ms());
    }

    sl_metric_set(&c->live, live ? 1 : 0);
}


void
ngx_streamline_metrics_refused(sl_refused_e reason)
{
    if (ngx_streamline_metrics_m) {
        sl_metric_add(&ngx_streamline_metrics_m->publishes_refused[reason], 1);
    }
}


uint64_t
ngx_streamline_metrics_now_us(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


void
ngx_streamline_metrics_held(ngx_uint_t n)
{
    if (ngx_streamline_metrics_w) {
        sl_metric_set(&ngx_streamline_metrics_w->held, (uint64_t) n);
    }
}


/* an HTTP request done: counted by what it asked for and its status */
void
ngx_streamline_metrics_http(ngx_http_request_t *r, ngx_uint_t api)
{
    size_t           code;
    ngx_uint_t       status;
    sl_file_kind_e   kind;

    if (ngx_streamline_metrics_m == NULL || r != r->main) {
        return;
    }

    status = r->headers_out.status;

    if (status == 0 && r->connection->error) {
        /* the client went away first: nginx logs 499 */
        status = 499;
    }

    code = sl_metrics_code(status ? status : 500);

    if (api) {
        sl_metric_add(&ngx_streamline_metrics_m->api_requests[code], 1);
        return;
    }

    kind = sl_metrics_file_kind(r->uri.data, r->uri.len);
    sl_metric_add(&ngx_streamline_metrics_m->hls_requests[kind][code], 1);
}


static int
ngx_streamline_metrics_gone(int64_t pid)
{
    if (pid <= 0) {
        return 1;
    }

    return kill((ngx_pid_t) pid, 0) == -1 && ngx_errno == NGX_ESRCH;
}


static ngx_int_t
ngx_http_streamline_metrics_handler(ngx_http_request_t *r)
{
    size_t         n, len;
    ngx_str_t      no_store = ngx_string("no-store");
    ngx_buf_t     *b;
    ngx_int_t      rc;
    ngx_chain_t    out;
    sl_metrics_t  *copy;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_streamline_metrics_m == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "streamline: no metrics zone in this worker");
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    /* a copy, so that both passes render the same figures */
    copy = ngx_palloc(r->pool, sizeof(sl_metrics_t));
    if (copy == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sl_metrics_copy(copy, ngx_streamline_metrics_m);

    n = 64 * 1024;

    for ( ;; ) {
        b = ngx_create_temp_buf(r->pool, n);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        len = sl_metrics_render(copy, ngx_streamline_metrics_gone, (char *) b->pos,
                                n);
        if (len < n) {
            break;
        }

        n = len + 1;
    }

    b->last = b->pos + len;
    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (ngx_http_streamline_add_header(r, "Cache-Control", &no_store)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
