/*
 * Clips (streamline_clip): in a streamline_hls location,
 *
 *   GET <prefix>/<channel>/clip.mp4?start=<ISO time>&end=<ISO time>
 *
 * answers the source rendition's segments over that range as one
 * progressive MP4 (core/sl_clip.h: the query, the segments selected, the
 * remux).  The range is checked and its segments chosen under the store's
 * lock, from the DVR index; the remux runs on a thread of nginx's pool
 * (streamline_clip_thread_pool), never on the event loop, into
 * <channel dir>/clips/<first msn>-<last msn>.mp4 (written aside, then
 * renamed), which later requests for the same segments send as it is.
 * The requests of this worker that want a clip being made wait for that
 * one remux.  The file is sent as the static module would send it
 * (sendfile, ranges, ETag).
 *
 * 400: a bad query; 404: no such channel, or no DVR; 416: the range is
 * not (or no longer) inside the DVR window.  A 200 is final (the segments
 * are closed, and a range reaching past them is a 416), so it may be
 * cached for good.  Clips go with the DVR (the store removes the channel's
 * directory), and a remux first removes the channel's clips whose
 * segments left the window.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#if (NGX_THREADS)
#include <ngx_thread_pool.h>
#endif

#include <dirent.h>

#include "ngx_http_streamline.h"
#include "ngx_streamline_store.h"
#include "core/sl_clip.h"


#define NGX_HTTP_STREAMLINE_CLIP_CC  "public, max-age=31536000, immutable"


/* a request's clip */
typedef struct {
    ngx_http_request_t          *request;
    ngx_str_t                    path;          /* the clip, NUL ended */
    ngx_str_t                    disposition;
} ngx_http_streamline_clip_ctx_t;


/* a remux, and the requests of this worker that wait for it */
typedef struct {
    ngx_queue_t                  queue;         /* in the jobs */
    ngx_pool_t                  *pool;
    ngx_str_t                    path;
    ngx_array_t                  waiters;       /* their clip ctx */
    /* the thread's */
    char                       **files;
    size_t                       nfiles;
    char                        *tmp;
    char                        *dir;           /* the clips directory */
    uint64_t                     window_msn;
    ngx_log_t                   *log;
    int                          rc;
    char                         err[256];
} ngx_http_streamline_clip_job_t;


#if (NGX_THREADS)
static ngx_int_t ngx_http_streamline_clip_make(ngx_http_request_t *r,
    ngx_http_streamline_loc_conf_t *slcf, u_char *dir, sl_clip_sel_t *sel,
    ngx_http_streamline_clip_ctx_t *ctx);
static void ngx_http_streamline_clip_thread(void *data, ngx_log_t *log);
static void ngx_http_streamline_clip_done(ngx_event_t *ev);
static void ngx_http_streamline_clip_sweep(const char *dir,
    uint64_t window_msn);
#endif
static ngx_int_t ngx_http_streamline_clip_send(ngx_http_request_t *r,
    ngx_http_streamline_clip_ctx_t *ctx);
static ngx_int_t ngx_http_streamline_clip_status(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);


/* this worker's remuxes in progress */
static ngx_queue_t  ngx_http_streamline_clip_jobs;
static ngx_uint_t   ngx_http_streamline_clip_jobs_init;


ngx_int_t
ngx_http_streamline_clip_handler(ngx_http_request_t *r,
    const u_char *channel, size_t channel_len)
{
    u_char                           *p;
    size_t                            len;
    ngx_int_t                         rc;
    const char                       *err;
    sl_clip_sel_t                     sel;
    sl_clip_range_t                   range;
    ngx_slab_pool_t                  *shpool;
    ngx_streamline_channel_t         *ch;
    ngx_streamline_rendition_t       *src;
    ngx_http_streamline_clip_ctx_t   *ctx;
    ngx_http_streamline_loc_conf_t   *slcf;
    u_char                            dir[NGX_MAX_PATH];
    char                              name[SL_CLIP_NAME_MAX];
    unsigned char                     stamp[SL_CLIP_STAMP_LEN];

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_streamline_module);

    if (!slcf->clip) {
        return NGX_DECLINED;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (sl_clip_query(r->args.data, r->args.len, slcf->clip_max_length,
                      &range, &err)
        != SL_OK)
    {
        return ngx_http_streamline_clip_status(r, NGX_HTTP_BAD_REQUEST, err);
    }

    shpool = ngx_streamline_store_pool();
    if (ngx_streamline_store_shm() == NULL || shpool == NULL) {
        return ngx_http_streamline_clip_status(r, NGX_HTTP_NOT_FOUND,
                                               "no such channel");
    }

    /* a scan of the window's segment records, as a playlist's copy */

    ngx_shmtx_lock(&shpool->mutex);

    ch = ngx_streamline_store_playable(channel, channel_len);
    src = ch ? ngx_streamline_store_find(ch, (u_char *) SL_NAME_SOURCE,
                                         sizeof(SL_NAME_SOURCE) - 1)
             : NULL;

    if (src == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return ngx_http_streamline_clip_status(r, NGX_HTTP_NOT_FOUND,
                   ch ? "the channel has no DVR" : "no such channel");
    }

    rc = sl_clip_select(src->dvr, &range, &sel, &err);

    if (rc == SL_OK) {
        ngx_cpystrn(dir, ch->dir, NGX_MAX_PATH);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (rc != SL_OK) {
        return ngx_http_streamline_clip_status(r,
                   NGX_HTTP_RANGE_NOT_SATISFIABLE, err);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_streamline_clip_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* <dir>/clips/<first>-<last>.mp4 */

    (void) sl_clip_name(name, sizeof(name), sel.first_msn, sel.last_msn);

    len = ngx_strlen(dir) + sizeof("/" SL_CLIP_DIR "/") + ngx_strlen(name);
    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->path.data = p;
    ctx->path.len = ngx_sprintf(p, "%s/" SL_CLIP_DIR "/%s%Z", dir, name)
                    - p - 1;

    /* attachment; filename="<channel>-<start>.mp4" */

    if (sl_clip_stamp(range.start_ms, stamp) != SL_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof("attachment; filename=\"-.mp4\"") + channel_len
          + SL_CLIP_STAMP_LEN;
    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->disposition.data = p;
    ctx->disposition.len = ngx_sprintf(p, "attachment; filename=\"%*s-%*s"
                                       SL_CLIP_SUFFIX "\"",
                                       channel_len, channel,
                                       (size_t) SL_CLIP_STAMP_LEN, stamp)
                           - p;

    ctx->request = r;

    rc = ngx_http_streamline_clip_send(r, ctx);

    if (rc != NGX_DECLINED) {
        /* made before: sent, or failed */
        return rc;
    }

#if (NGX_THREADS)
    return ngx_http_streamline_clip_make(r, slcf, dir, &sel, ctx);
#else
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
#endif
}


#if (NGX_THREADS)

/*
 * A remux on the thread pool, or the one this worker runs already for
 * the same clip: the request waits (NGX_DONE) and is answered when it
 * ends.
 */
static ngx_int_t
ngx_http_streamline_clip_make(ngx_http_request_t *r,
    ngx_http_streamline_loc_conf_t *slcf, u_char *dir, sl_clip_sel_t *sel,
    ngx_http_streamline_clip_ctx_t *ctx)
{
    u_char                           *p;
    size_t                            len;
    uint64_t                          msn;
    ngx_uint_t                        i;
    ngx_pool_t                       *pool;
    ngx_queue_t                      *q;
    ngx_thread_task_t                *task;
    ngx_http_streamline_clip_ctx_t  **w;
    ngx_http_streamline_clip_job_t   *job;
    char                              name[SL_NAME_MAX];

    if (!ngx_http_streamline_clip_jobs_init) {
        ngx_queue_init(&ngx_http_streamline_clip_jobs);
        ngx_http_streamline_clip_jobs_init = 1;
    }

    for (q = ngx_queue_head(&ngx_http_streamline_clip_jobs);
         q != ngx_queue_sentinel(&ngx_http_streamline_clip_jobs);
         q = ngx_queue_next(q))
    {
        job = ngx_queue_data(q, ngx_http_streamline_clip_job_t, queue);

        if (job->path.len == ctx->path.len
            && ngx_memcmp(job->path.data, ctx->path.data, ctx->path.len) == 0)
        {
            w = ngx_array_push(&job->waiters);
            if (w == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            *w = ctx;
            r->main->count++;

            return NGX_DONE;
        }
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    task = ngx_thread_task_alloc(pool,
                                 sizeof(ngx_http_streamline_clip_job_t));
    if (task == NULL) {
        goto failed;
    }

    job = task->ctx;
    job->pool = pool;
    job->log = ngx_cycle->log;
    job->window_msn = sel->window_msn;
    job->nfiles = sel->last_msn - sel->first_msn + 2;

    job->path.len = ctx->path.len;
    job->path.data = ngx_pnalloc(pool, ctx->path.len + 1);
    job->files = ngx_palloc(pool, job->nfiles * sizeof(char *));

    /* <dir>/clips, and <clip>.<pid>.tmp: workers may make the same one */
    len = ngx_strlen(dir) + sizeof("/" SL_CLIP_DIR);
    job->dir = ngx_pnalloc(pool, len);
    job->tmp = ngx_pnalloc(pool, ctx->path.len + sizeof(".") + NGX_INT_T_LEN
                                 + sizeof(SL_NAME_TMP_SUFFIX));

    if (job->path.data == NULL || job->files == NULL || job->dir == NULL
        || job->tmp == NULL
        || ngx_array_init(&job->waiters, pool, 4,
                          sizeof(ngx_http_streamline_clip_ctx_t *))
           != NGX_OK)
    {
        goto failed;
    }

    ngx_memcpy(job->path.data, ctx->path.data, ctx->path.len + 1);
    ngx_sprintf((u_char *) job->dir, "%s/" SL_CLIP_DIR "%Z", dir);
    ngx_sprintf((u_char *) job->tmp, "%V.%P" SL_NAME_TMP_SUFFIX "%Z",
                &ctx->path, ngx_pid);

    /* <dir>/source/init-N.mp4, then <dir>/source/seg-M.m4s */

    for (i = 0; i < job->nfiles; i++) {
        if (i == 0) {
            (void) sl_name_init(name, sizeof(name), sel->init_id);

        } else {
            msn = sel->first_msn + i - 1;
            (void) sl_name_segment(name, sizeof(name), msn);
        }

        len = ngx_strlen(dir) + sizeof("/" SL_NAME_SOURCE "/")
              + ngx_strlen(name);
        p = ngx_pnalloc(pool, len);
        if (p == NULL) {
            goto failed;
        }

        ngx_sprintf(p, "%s/" SL_NAME_SOURCE "/%s%Z", dir, name);
        job->files[i] = (char *) p;
    }

    w = ngx_array_push(&job->waiters);
    if (w == NULL) {
        goto failed;
    }

    *w = ctx;

    task->handler = ngx_http_streamline_clip_thread;
    task->event.handler = ngx_http_streamline_clip_done;
    task->event.data = job;

    if (ngx_thread_task_post(slcf->clip_pool, task) != NGX_OK) {
        goto failed;
    }

    ngx_queue_insert_tail(&ngx_http_streamline_clip_jobs, &job->queue);
    r->main->count++;

    return NGX_DONE;

failed:

    ngx_destroy_pool(pool);

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* the thread: old clips go, this one is made */
static void
ngx_http_streamline_clip_thread(void *data, ngx_log_t *log)
{
    ngx_http_streamline_clip_job_t  *job = data;

    if (mkdir(job->dir, 0755) == -1 && errno != EEXIST) {
        /* no channel directory: its DVR was discarded meanwhile */
        job->rc = (errno == ENOENT) ? SL_DECLINED : SL_ERROR;
        (void) ngx_snprintf((u_char *) job->err, sizeof(job->err) - 1,
                            "mkdir %s: %s%Z", job->dir, strerror(errno));
        return;
    }

    ngx_http_streamline_clip_sweep(job->dir, job->window_msn);

    job->rc = sl_clip_remux((const char *const *) job->files, job->nfiles,
                            job->tmp, (const char *) job->path.data,
                            job->err, sizeof(job->err));
}


/* the event loop: the waiting requests are answered */
static void
ngx_http_streamline_clip_done(ngx_event_t *ev)
{
    ngx_int_t                         rc;
    ngx_uint_t                        i;
    ngx_connection_t                 *c;
    ngx_http_request_t               *r;
    ngx_http_streamline_clip_ctx_t   *ctx, **w;
    ngx_http_streamline_clip_job_t   *job = ev->data;

    ngx_queue_remove(&job->queue);

    if (job->rc == SL_ERROR) {
        ngx_log_error(NGX_LOG_ERR, job->log, 0,
                      "streamline: clip %V: %s", &job->path, job->err);

    } else if (job->rc == SL_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, job->log, 0,
                      "streamline: clip %V: %s", &job->path, job->err);

    } else {
        ngx_log_error(NGX_LOG_INFO, job->log, 0,
                      "streamline: clip %V made for %ui request(s)",
                      &job->path, job->waiters.nelts);
    }

    w = job->waiters.elts;

    for (i = 0; i < job->waiters.nelts; i++) {
        ctx = w[i];
        r = ctx->request;
        c = r->connection;

        if (job->rc == SL_OK) {
            rc = ngx_http_streamline_clip_send(r, ctx);

            if (rc == NGX_DECLINED) {
                rc = ngx_http_streamline_clip_status(r,
                         NGX_HTTP_RANGE_NOT_SATISFIABLE,
                         "the range left the DVR window");
            }

        } else if (job->rc == SL_DECLINED) {
            rc = ngx_http_streamline_clip_status(r,
                     NGX_HTTP_RANGE_NOT_SATISFIABLE,
                     "the range left the DVR window");

        } else {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
    }

    ngx_destroy_pool(job->pool);
}


/* the clips whose first segment left the window (and leftover .tmp) */
static void
ngx_http_streamline_clip_sweep(const char *dir, uint64_t window_msn)
{
    DIR            *d;
    int             fd;
    uint64_t        first;
    struct dirent  *e;

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    fd = dirfd(d);

    while ((e = readdir(d)) != NULL) {
        if (sl_clip_name_first(e->d_name, &first) == SL_OK
            && first < window_msn)
        {
            (void) unlinkat(fd, e->d_name, 0);
        }
    }

    (void) closedir(d);
}

#endif


/*
 * The clip's file, as the static module sends one; NGX_DECLINED (and
 * nothing sent) when it is not there.
 */
static ngx_int_t
ngx_http_streamline_clip_send(ngx_http_request_t *r,
    ngx_http_streamline_clip_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_buf_t                 *b;
    ngx_str_t                  cc;
    ngx_chain_t                out;
    ngx_open_file_info_t       of;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ngx_memzero(&of, sizeof(ngx_open_file_info_t));

    of.read_ahead = clcf->read_ahead;
    of.directio = clcf->directio;
    of.valid = clcf->open_file_cache_valid;
    of.min_uses = clcf->open_file_cache_min_uses;
    of.errors = clcf->open_file_cache_errors;
    of.events = clcf->open_file_cache_events;

    if (ngx_open_cached_file(clcf->open_file_cache, &ctx->path, &of, r->pool)
        != NGX_OK)
    {
        if (of.err == NGX_ENOENT || of.err == NGX_ENOTDIR) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_CRIT, r->connection->log, of.err,
                      "streamline: clip: %s \"%V\" failed", of.failed,
                      &ctx->path);

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->allow_ranges = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = of.size;
    r->headers_out.last_modified_time = of.mtime;
    ngx_str_set(&r->headers_out.content_type, "video/mp4");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    ngx_str_set(&cc, NGX_HTTP_STREAMLINE_CLIP_CC);

    if (ngx_http_set_etag(r) != NGX_OK
        || ngx_http_streamline_add_header(r, "Cache-Control", &cc) != NGX_OK
        || ngx_http_streamline_add_header(r, "Content-Disposition",
                                          &ctx->disposition)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

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

    b->file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    if (b->file == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->file_pos = 0;
    b->file_last = of.size;
    b->in_file = b->file_last ? 1 : 0;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    b->sync = b->in_file ? 0 : 1;

    b->file->fd = of.fd;
    b->file->name = ctx->path;
    b->file->log = r->connection->log;
    b->file->directio = of.is_directio;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* a text body that says why; not to be cached (a 416 may become a 200) */
static ngx_int_t
ngx_http_streamline_clip_status(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   cc;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "streamline: clip: %s", msg);

    len = ngx_strlen(msg);
    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, msg, len);
    p[len] = '\n';

    r->headers_out.status = status;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    ngx_str_set(&cc, "no-store");

    if (ngx_http_streamline_add_header(r, "Cache-Control", &cc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_streamline_send_body(r, p, len + 1);
}


/* the streamline_clip* directives, merged */
char *
ngx_http_streamline_clip_merge(ngx_conf_t *cf,
    ngx_http_streamline_loc_conf_t *prev,
    ngx_http_streamline_loc_conf_t *conf)
{
    ngx_conf_merge_value(conf->clip, prev->clip, 0);
    ngx_conf_merge_msec_value(conf->clip_max_length, prev->clip_max_length,
                              60000);
    ngx_conf_merge_str_value(conf->clip_pool_name, prev->clip_pool_name,
                             "default");

    if (conf->clip_max_length < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_clip_max_length\" must be 1s at "
                           "least");
        return NGX_CONF_ERROR;
    }

    if (!conf->clip) {
        return NGX_CONF_OK;
    }

#if (NGX_THREADS)
    conf->clip_pool = ngx_thread_pool_add(cf, &conf->clip_pool_name);
    if (conf->clip_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
#else
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"streamline_clip\" needs nginx built with "
                       "--with-threads");
    return NGX_CONF_ERROR;
#endif
}
