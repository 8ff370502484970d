/*
 * The store (see ngx_streamline_store.h): the shared zone, its channel
 * records, the workers that use it, and the change notification.
 *
 * A packager thread that changed an index signals an eventfd made before
 * the workers are, which every worker watches: blocking playlist requests
 * in every worker are checked at once (the HLS glue's waker).  Without
 * eventfd, they are checked by their timer only.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <pthread.h>
#if (NGX_HAVE_SYS_EVENTFD_H)
#include <sys/eventfd.h>
#endif

#include "ngx_streamline_store.h"


static ngx_int_t ngx_streamline_store_init_zone(ngx_shm_zone_t *zone,
    void *data);
static void ngx_streamline_store_accepting(ngx_uint_t on);
static void ngx_streamline_store_notified(ngx_event_t *ev);
static void ngx_streamline_store_notify_close(void *data);
static void *ngx_streamline_store_delete_thread(void *arg);


static ngx_shm_zone_t                *ngx_streamline_store_zone;
static ngx_fd_t                       ngx_streamline_store_notify_fd = -1;
static ngx_connection_t              *ngx_streamline_store_notify_conn;
static ngx_streamline_store_wake_pt   ngx_streamline_store_waker;


/* configuration */

ngx_int_t
ngx_streamline_store_zone_add(ngx_conf_t *cf, ngx_str_t *path)
{
    ngx_str_t                   name, *p;
    ngx_streamline_main_conf_t  *smcf;
#if (NGX_HAVE_EVENTFD)
    ngx_pool_cleanup_t          *cln;
#endif

    smcf = (ngx_streamline_main_conf_t *)
               ngx_get_conf(cf->cycle->conf_ctx, ngx_streamline_module);

    if (smcf->media_zone == NULL) {
        ngx_str_set(&name, "streamline_media");

        /* the size is set by streamline_media_zone, or its default, once
         * the main context is complete (ngx_streamline_init_conf) */
        smcf->media_zone = ngx_shared_memory_add(cf, &name,
                                                 64 * 1024 * 1024,
                                                 &ngx_streamline_module);
        if (smcf->media_zone == NULL) {
            return NGX_ERROR;
        }

        smcf->media_zone->init = ngx_streamline_store_init_zone;
        smcf->media_zone->data = smcf;

        /*
         * Made before the workers are: every worker watches it, the
         * packager threads signal it when an index changes, so blocking
         * requests in every worker are checked at once.  Without it, they
         * are by their timer only.
         */
        smcf->media_notify = -1;

#if (NGX_HAVE_EVENTFD)
        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        smcf->media_notify = eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC);

        if (smcf->media_notify == -1) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, ngx_errno,
                               "streamline: eventfd() failed, blocking "
                               "playlist requests are checked by timer");
        } else {
            cln->handler = ngx_streamline_store_notify_close;
            cln->data = &smcf->media_notify;
        }
#endif

        smcf->media_paths = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
        if (smcf->media_paths == NULL) {
            return NGX_ERROR;
        }
    }

    p = ngx_array_push(smcf->media_paths);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p = *path;

    return NGX_OK;
}


/*
 * nginx calls this in every process that reads the configuration with
 * shared memory: the master at start and on each reload, a config test
 * (nginx -t), the new binary of an upgrade (USR2).  Only the first two
 * own the media paths; the leftovers of a crashed nginx go only when no
 * running nginx owns them (see ngx_streamline_store_own), never in a
 * config test.
 */
static ngx_int_t
ngx_streamline_store_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_uint_t                   i, own;
    ngx_str_t                   *path;
    ngx_slab_pool_t             *shpool;
    ngx_streamline_main_conf_t  *smcf;
    ngx_streamline_store_shm_t  *shm;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;
    smcf = zone->data;

    path = smcf->media_paths->elts;
    for (i = 0; !ngx_test_config && i < smcf->media_paths->nelts; i++) {
        own = ngx_streamline_store_own(zone->shm.log, path[i].data);

        if (own && data == NULL) {
            /* in the master, before any worker: nothing here is live */
            ngx_streamline_store_remove_dir(path[i].data);
        }
    }

    if (data) {
        /* a reload: the index (and the live channels) carry on */
        zone->data = data;
        return NGX_OK;
    }

    if (zone->shm.exists) {
        zone->data = shpool->data;
        return NGX_OK;
    }

    shm = ngx_slab_calloc(shpool, sizeof(ngx_streamline_store_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    shpool->data = shm;
    zone->data = shm;

    ngx_sprintf(shpool->log_ctx, " in streamline_media_zone%Z");

    return NGX_OK;
}


/* the worker's side */


void
ngx_streamline_store_init_process(ngx_cycle_t *cycle)
{
    ngx_connection_t            *c;
    ngx_streamline_main_conf_t  *smcf;

    smcf = (ngx_streamline_main_conf_t *)
               ngx_get_conf(cycle->conf_ctx, ngx_streamline_module);

    ngx_streamline_store_zone = smcf->media_zone;

    if (ngx_streamline_store_zone == NULL) {
        return;
    }

    ngx_streamline_store_accepting(1);

    ngx_streamline_store_notify_conn = NULL;
    ngx_streamline_store_notify_fd = -1;

    if (smcf->media_notify == -1) {
        return;
    }

    c = ngx_get_connection(smcf->media_notify, cycle->log);
    if (c == NULL) {
        return;
    }

    c->read->handler = ngx_streamline_store_notified;
    c->read->log = cycle->log;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        /* the descriptor is the cycle's: its pool cleanup closes it */
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        return;
    }

    ngx_streamline_store_notify_conn = c;
    ngx_streamline_store_notify_fd = smcf->media_notify;
}


/*
 * A worker that exits leaves the zone's workers first: an old worker of
 * a reload that stops learns from them whether newer workers carry its
 * channels on (ngx_streamline_store_successor).
 */
void
ngx_streamline_store_leave(void)
{
    if (ngx_streamline_store_zone) {
        ngx_streamline_store_accepting(0);
    }
}


/* after the packager: its threads may signal until they end */
void
ngx_streamline_store_exit_process(ngx_cycle_t *cycle)
{
    ngx_connection_t            *c;
    ngx_streamline_main_conf_t  *smcf;

    /* this worker's copy of the eventfd: not for the pool cleanup now */
    if (ngx_streamline_store_notify_conn) {
        smcf = (ngx_streamline_main_conf_t *)
                   ngx_get_conf(cycle->conf_ctx, ngx_streamline_module);

        c = ngx_streamline_store_notify_conn;
        ngx_streamline_store_notify_conn = NULL;
        ngx_streamline_store_notify_fd = -1;
        smcf->media_notify = -1;

        /* other processes hold the same file: closing would not unwatch */
        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
        }

        ngx_close_connection(c);
    }
}


void
ngx_streamline_store_set_waker(ngx_streamline_store_wake_pt wake)
{
    ngx_streamline_store_waker = wake;
}


ngx_streamline_store_shm_t *
ngx_streamline_store_shm(void)
{
    return ngx_streamline_store_zone ? ngx_streamline_store_zone->data
                                     : NULL;
}


/*
 * A worker's slot in the zone, while it accepts connections: an old
 * worker that shuts down learns from them whether newer workers (of a
 * reload) carry its channels on.
 */
static void
ngx_streamline_store_accepting(ngx_uint_t on)
{
    ngx_uint_t                   i;
    ngx_slab_pool_t             *shpool;
    ngx_streamline_store_shm_t  *shm;

    shpool = ngx_streamline_store_pool();
    shm = ngx_streamline_store_zone->data;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < NGX_STREAMLINE_STORE_WORKERS; i++) {
        if (!on && shm->workers[i] == ngx_pid) {
            shm->workers[i] = 0;
            break;
        }

        /* a free slot, or a worker that died without saying so */
        if (on && (shm->workers[i] == 0
                   || (kill(shm->workers[i], 0) == -1 && errno == ESRCH)))
        {
            shm->workers[i] = ngx_pid;
            break;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


/* another worker accepts connections with this zone */
ngx_uint_t
ngx_streamline_store_successor(void)
{
    ngx_uint_t                   i, found;
    ngx_pid_t                    pid;
    ngx_slab_pool_t             *shpool;
    ngx_streamline_store_shm_t  *shm;

    shpool = ngx_streamline_store_pool();
    shm = ngx_streamline_store_zone->data;
    found = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; !found && i < NGX_STREAMLINE_STORE_WORKERS; i++) {
        pid = shm->workers[i];
        found = pid != 0 && pid != ngx_pid
                && (kill(pid, 0) == 0 || errno != ESRCH);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return found;
}


static void
ngx_streamline_store_notify_close(void *data)
{
    ngx_fd_t  *fd = data;

    if (*fd != -1 && close(*fd) == -1) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                      "streamline: close() eventfd failed");
    }
}


/* on a pipeline thread, after an index changed: every worker looks */
void
ngx_streamline_store_notify(void)
{
#if (NGX_HAVE_EVENTFD)
    uint64_t  one = 1;
#endif

    /* for the held requests' wake latency */
    if (ngx_streamline_metrics()) {
        sl_metric_set(&ngx_streamline_metrics()->changed_us,
                      ngx_streamline_metrics_now_us());
    }

#if (NGX_HAVE_EVENTFD)
    if (ngx_streamline_store_notify_fd != -1
        && write(ngx_streamline_store_notify_fd, &one, sizeof(uint64_t))
           != sizeof(uint64_t))
    {
        /* cannot be full (2^64 - 2); if it failed, the tick is there */
    }
#endif
}


/*
 * With the zone locked: requests that wait for a channel this zone did
 * not know (ngx_http_streamline_coming) look again.  Not every part:
 * they wait for a channel to start, end, or begin a segment.
 */
void
ngx_streamline_store_changed(void)
{
    ngx_streamline_store_shm_t  *shm = ngx_streamline_store_zone->data;

    shm->gen++;
}


static void
ngx_streamline_store_notified(ngx_event_t *ev)
{
    uint64_t           n;
    ngx_connection_t  *c = ev->data;

    /* whichever worker reads first resets it; the others find it empty */
    if (read(c->fd, &n, sizeof(uint64_t)) != sizeof(uint64_t)) {
        ev->ready = 0;
    }

    if (ngx_streamline_store_waker) {
        ngx_streamline_store_waker();
    }
}


ngx_slab_pool_t *
ngx_streamline_store_pool(void)
{
    return (ngx_slab_pool_t *) ngx_streamline_store_zone->shm.addr;
}


/* the records */


/* called with the zone locked */
ngx_streamline_channel_t *
ngx_streamline_store_channel(const u_char *name, size_t len,
    ngx_uint_t create)
{
    ngx_uint_t                   i;
    ngx_streamline_store_shm_t  *shm;
    ngx_streamline_channel_t    *ch, *free;

    shm = ngx_streamline_store_zone->data;
    free = NULL;

    for (i = 0; i < NGX_STREAMLINE_STORE_CHANNELS; i++) {
        ch = &shm->ch[i];

        if (ch->state == NGX_STREAMLINE_FREE) {
            if (free == NULL) {
                free = ch;
            }

            continue;
        }

        if (ch->name_len == len && ngx_memcmp(ch->name, name, len) == 0) {
            return ch;
        }
    }

    if (!create || free == NULL) {
        return NULL;
    }

    ngx_memzero(free, sizeof(ngx_streamline_channel_t));
    ngx_memcpy(free->name, name, len);
    free->name_len = len;

    return free;
}


ngx_streamline_rendition_t *
ngx_streamline_store_rendition(ngx_streamline_channel_t *ch,
    const char *name)
{
    size_t      len;
    ngx_uint_t  i;

    len = ngx_strlen(name);

    for (i = 0; i < ch->nrenditions; i++) {
        if (ch->r[i].name_len == len
            && ngx_memcmp(ch->r[i].name, name, len) == 0)
        {
            return &ch->r[i];
        }
    }

    return NULL;
}


/* with the zone locked */
ngx_streamline_channel_t *
ngx_streamline_store_playable(const u_char *channel, size_t len)
{
    ngx_streamline_channel_t  *ch;

    ch = ngx_streamline_store_channel(channel, len, 0);

    if (ch == NULL || ch->state == NGX_STREAMLINE_DELETING
        || ch->state == NGX_STREAMLINE_FREE || ch->r[0].dvr == NULL
        || !ch->r[0].dvr->started)
    {
        /* nothing to play (yet, or any more) */
        return NULL;
    }

    return ch;
}


ngx_streamline_rendition_t *
ngx_streamline_store_find(ngx_streamline_channel_t *ch,
    const u_char *name, size_t len)
{
    ngx_uint_t  i;

    for (i = 0; i < ch->nrenditions; i++) {
        if (ch->r[i].name_len == len
            && ngx_memcmp(ch->r[i].name, name, len) == 0
            && ch->r[i].dvr && ch->r[i].dvr->started)
        {
            return &ch->r[i];
        }
    }

    return NULL;
}


/*
 * With the zone locked: the channel's files and index go, on a thread of
 * their own (removing thousands of files is no work for the event loop).
 */
ngx_int_t
ngx_streamline_store_discard(ngx_streamline_channel_t *ch)
{
    pthread_t       tid;
    ngx_int_t       rc;
    ngx_uint_t      state;
    pthread_attr_t  attr;

    if (pthread_attr_init(&attr) != 0) {
        return NGX_ERROR;
    }

    /* who deletes: if it dies, another worker deletes again */
    state = ch->state;
    ch->state = NGX_STREAMLINE_DELETING;
    ch->pid = ngx_pid;
    ch->pid_start = ngx_streamline_process_start();
    rc = NGX_OK;

    if (pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0
        || pthread_create(&tid, &attr, ngx_streamline_store_delete_thread, ch)
           != 0)
    {
        ch->state = state;
        rc = NGX_ERROR;
    }

    (void) pthread_attr_destroy(&attr);

    return rc;
}


/*
 * Called with the zone locked: a live or deleting record whose worker is
 * gone.  A record is this worker's, or that of a worker alive, otherwise.
 */
ngx_uint_t
ngx_streamline_store_orphaned(ngx_streamline_channel_t *ch)
{
    if (ch->state != NGX_STREAMLINE_LIVE
        && ch->state != NGX_STREAMLINE_DELETING)
    {
        return 0;
    }

    return ch->pid != ngx_pid
           && ngx_streamline_process_gone(ch->pid, ch->pid_start);
}


/*
 * Called with the zone locked: what ngx_streamline_packager_ended would do.
 * The segment the dead worker was writing is in its temporary file, its
 * completed parts first (a segment is its parts, end to end): cut to
 * them and renamed, it is listed as the index says.  Two metadata calls
 * a rendition, once a dead worker.
 */
void
ngx_streamline_store_orphan_end(ngx_streamline_channel_t *ch)
{
    char                         name[SL_NAME_MAX];
    u_char                      *p, path[NGX_MAX_PATH + 128],
                                 tmp[NGX_MAX_PATH + 128];
    ngx_uint_t                   i;
    ngx_streamline_rendition_t  *r;

    for (i = 0; i < ch->nrenditions; i++) {
        r = &ch->r[i];

        if (r->dvr == NULL) {
            continue;
        }

        if (r->dvr->open && r->dvr->cur.nparts > 0) {
            (void) sl_name_segment(name, sizeof(name), r->dvr->cur.msn);
            p = ngx_snprintf(path, sizeof(path) - 1, "%s/%*s/%s",
                             ch->dir, r->name_len, r->name, name);
            *p = '\0';
            (void) sl_name_tmp((char *) tmp, sizeof(tmp), (char *) path);

            if (truncate((char *) tmp, (off_t) r->dvr->cur.bytes) != 0
                || rename((char *) tmp, (char *) path) != 0)
            {
                ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, ngx_errno,
                              "streamline: the last segment \"%s\" of a "
                              "dead worker is lost", path);
            }
        }

        (void) sl_dvr_end(r->dvr);
    }

    ch->state = NGX_STREAMLINE_ENDED;
    ch->running = 0;
    ch->ended_ms = ngx_streamline_now_ms();
    ch->generation++;
    ngx_streamline_store_changed();
}


static void *
ngx_streamline_store_delete_thread(void *arg)
{
    ngx_streamline_channel_t  *ch = arg;

    ngx_uint_t        i;
    ngx_slab_pool_t  *shpool;

    /* only this thread touches a channel in the deleting state */
    ngx_streamline_store_remove_dir(ch->dir);
    (void) rmdir((char *) ch->dir);

    shpool = ngx_streamline_store_pool();
    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < ch->nrenditions; i++) {
        if (ch->r[i].dvr) {
            ngx_slab_free_locked(shpool, ch->r[i].dvr);
            ch->r[i].dvr = NULL;
        }
    }

    ch->nrenditions = 0;
    ch->state = NGX_STREAMLINE_FREE;

    ngx_shmtx_unlock(&shpool->mutex);

    return NULL;
}
