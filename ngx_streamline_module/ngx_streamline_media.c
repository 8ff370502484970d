/*
 * The media side's shared state: a shared memory zone with one record a
 * channel and one DVR index a rendition, written by the pipeline threads
 * of the worker that holds the RTMP session, read by every worker that
 * renders a playlist.  Also the end of a channel's DVR: after the grace
 * period any worker's cleanup timer removes its files (on a thread of its
 * own) and frees its index.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <ftw.h>
#include <pthread.h>
#include <sys/statvfs.h>
#include <sys/file.h>
#if (NGX_HAVE_SYS_EVENTFD_H)
#include <sys/eventfd.h>
#endif

#include <libavutil/log.h>

#include "ngx_streamline.h"
#include "core/sl_media.h"


#define NGX_STREAMLINE_MEDIA_CHANNELS  64
#define NGX_STREAMLINE_MEDIA_RUNGS     (1 + SL_PIPELINE_MAX_RUNGS)
#define NGX_STREAMLINE_MEDIA_WORKERS   256

/* lines the pipeline threads leave for the event loop to log */
#define NGX_STREAMLINE_MEDIA_LOGS      64

/* the newest segments a disk budget never trims: the live edge, with
 * its hold back (3 target durations) and some slack */
#define NGX_STREAMLINE_MEDIA_KEEP      6
#define NGX_STREAMLINE_MEDIA_TRIMS     64

#define NGX_STREAMLINE_FREE      0
#define NGX_STREAMLINE_LIVE      1
#define NGX_STREAMLINE_ENDED     2
#define NGX_STREAMLINE_DELETING  3

#define NGX_STREAMLINE_MEDIA_LOCK  ".streamline.lock"
#define NGX_STREAMLINE_MEDIA_MAGIC 0x31445653     /* "SVD1" */


typedef struct {
    u_char                    name[64];
    size_t                    name_len;
    uint32_t                  width;
    uint32_t                  height;
    uint32_t                  fps;
    uint64_t                  bandwidth;      /* peak of a segment, bit/s */
    uint64_t                  bytes;          /* for the average */
    uint64_t                  duration_us;
    uint64_t                  configured;     /* bit/s, before measures */
    char                      codecs[64];
    sl_dvr_t                 *dvr;
} ngx_streamline_media_rendition_t;


typedef struct {
    u_char                    name[SL_CHANNEL_MAX + 1];
    size_t                    name_len;
    ngx_uint_t                state;
    ngx_uint_t                keep;
    ngx_uint_t                running;        /* pipelines not ended */
    ngx_uint_t                generation;
    uint32_t                  ladder;         /* what shapes the DVR */
    int64_t                   ended_ms;
    int64_t                   grace_ms;
    /*
     * The worker that runs the pipeline (live) or removes the files
     * (deleting): if it dies (SIGKILL, the OOM killer) the record is
     * taken over, see ngx_streamline_media_orphaned().
     */
    ngx_pid_t                 pid;
    uint64_t                  pid_start;
    int64_t                   live_ms;
    u_char                    owner[SL_OWNER_MAX];   /* its Redis lock */
    size_t                    owner_len;
    u_char                    dir[NGX_MAX_PATH];
    size_t                    root_len;       /* of the media path in dir */
    off_t                     max_size;       /* the path's disk budget */
    off_t                     min_free;
    ngx_uint_t                over;           /* trimmed for the budget */
    ngx_uint_t                nrenditions;
    ngx_streamline_media_rendition_t  r[NGX_STREAMLINE_MEDIA_RUNGS];
} ngx_streamline_media_channel_t;


typedef struct {
    /* workers that use this zone and accept connections, by pid */
    ngx_pid_t                         workers[NGX_STREAMLINE_MEDIA_WORKERS];
    /* changes when a channel starts, ends or begins a segment */
    uint64_t                          gen;
    ngx_streamline_media_channel_t    ch[NGX_STREAMLINE_MEDIA_CHANNELS];
} ngx_streamline_media_shm_t;


/* a channel whose worker died, for Redis once the zone is unlocked */
typedef struct {
    u_char                    channel[SL_CHANNEL_MAX + 1];
    size_t                    channel_len;
    u_char                    owner[SL_OWNER_MAX];
    size_t                    owner_len;
    ngx_pid_t                 pid;
    int64_t                   live_ms;
} ngx_streamline_media_orphan_t;


typedef struct {
    ngx_uint_t                level;
    u_char                    text[600];
    size_t                    len;
} ngx_streamline_media_line_t;


/*
 * A channel's DVR index on disk, written by a worker whose zone dies with
 * it (the old workers of a binary upgrade), read by the next nginx that
 * starts the channel: <dir>/.streamline.dvr is this header, then the
 * renditions' index blocks.  Only the binary that wrote it or one with the
 * same layout takes it (the sizes are checked); any other starts anew.
 */
typedef struct {
    uint32_t                          magic;
    uint32_t                          size;          /* of this header */
    uint32_t                          ladder;
    uint32_t                          nrenditions;
    uint64_t                          dvr_size;      /* of each block */
    int64_t                           ended_ms;
    uint64_t                          keep;
    ngx_streamline_media_rendition_t  r[NGX_STREAMLINE_MEDIA_RUNGS];
} ngx_streamline_media_snap_t;


/* a media path this master owns (fd), or knows another nginx owns (-1) */
typedef struct ngx_streamline_media_lock_s  ngx_streamline_media_lock_t;

struct ngx_streamline_media_lock_s {
    ngx_streamline_media_lock_t      *next;
    ngx_fd_t                          fd;
    u_char                            path[1];
};


/* a publishing session's pipeline; malloc'ed: it outlives the session */
struct ngx_streamline_media_s {
    ngx_streamline_media_t           *next;     /* this worker's list */
    ngx_streamline_media_t          **prev;
    sl_pipeline_t                    *pipeline;
    ngx_streamline_media_channel_t   *ch;
    ngx_uint_t                        generation;
    sl_rung_t                         rungs[SL_PIPELINE_MAX_RUNGS];
    size_t                            nrungs;
    ngx_fd_t                          live;     /* flock: the stream runs */
    u_char                            names[SL_PIPELINE_MAX_RUNGS][64];
    u_char                            names_file[NGX_MAX_PATH];
};


static ngx_int_t ngx_streamline_media_init_zone(ngx_shm_zone_t *zone,
    void *data);
static ngx_uint_t ngx_streamline_media_own(ngx_log_t *log,
    const u_char *path);
static uint32_t ngx_streamline_media_ladder(ngx_streamline_media_conf_t *mc);
static ngx_uint_t ngx_streamline_media_leftovers(const u_char *dir);
static uint32_t ngx_streamline_media_max_segments(
    ngx_streamline_media_conf_t *mc);
static ngx_fd_t ngx_streamline_media_open_live(const u_char *dir,
    ngx_uint_t create);
static ngx_streamline_media_snap_t *ngx_streamline_media_snap_read(
    ngx_streamline_media_conf_t *mc, uint32_t ladder);
static ngx_int_t ngx_streamline_media_snap_load(
    ngx_streamline_media_channel_t *ch, ngx_streamline_media_snap_t *snap);
static void ngx_streamline_media_snap_write(
    ngx_streamline_media_channel_t *ch);
static ngx_int_t ngx_streamline_media_discard(
    ngx_streamline_media_channel_t *ch);
static ngx_streamline_media_channel_t *ngx_streamline_media_channel(
    const u_char *name, size_t len, ngx_uint_t create);
static ngx_streamline_media_rendition_t *ngx_streamline_media_rendition(
    ngx_streamline_media_channel_t *ch, const char *name);
static ngx_int_t ngx_streamline_media_open(ngx_streamline_media_t *m,
    ngx_streamline_media_rendition_t *r, const sl_segment_info_t *seg);
static ngx_int_t ngx_streamline_media_add_part(
    ngx_streamline_media_rendition_t *r, const sl_part_info_t *part);
static void ngx_streamline_media_part(void *data,
    const sl_segment_info_t *seg);
static void ngx_streamline_media_segment(void *data,
    const sl_segment_info_t *seg);
static void ngx_streamline_media_unlink_parts(
    ngx_streamline_media_channel_t *ch, ngx_streamline_media_rendition_t *r,
    uint64_t msn, size_t nparts);
static void ngx_streamline_media_log(void *data, int error, const char *msg);
static void ngx_streamline_media_thread_log(ngx_uint_t level,
    const char *fmt, ...);
static void ngx_streamline_media_log_handler(ngx_event_t *ev);
static void ngx_streamline_media_log_flush(void);
static void ngx_streamline_media_end(void *data,
    const sl_pipeline_stats_t *st);
static void ngx_streamline_media_ended(ngx_streamline_media_t *m);
static void ngx_streamline_media_cleanup_handler(ngx_event_t *ev);
static void *ngx_streamline_media_delete_thread(void *arg);
static int ngx_streamline_media_rm(const char *path, const struct stat *sb,
    int type, struct FTW *ftw);
static void ngx_streamline_media_remove_dir(const u_char *dir);
static ngx_slab_pool_t *ngx_streamline_media_pool(void);
static void ngx_streamline_media_accepting(ngx_uint_t on);
static ngx_uint_t ngx_streamline_media_successor(void);
static void ngx_streamline_media_notify(void);
static void ngx_streamline_media_changed(void);
static void ngx_streamline_media_notified(ngx_event_t *ev);
static void ngx_streamline_media_notify_close(void *data);
static void ngx_streamline_media_unlink(ngx_streamline_media_channel_t *ch,
    ngx_streamline_media_rendition_t *r, const sl_dvr_drop_t *d);
static ngx_uint_t ngx_streamline_media_orphaned(
    ngx_streamline_media_channel_t *ch);
static void ngx_streamline_media_orphan_end(
    ngx_streamline_media_channel_t *ch);
static void ngx_streamline_media_budget(ngx_streamline_media_t *m);
static off_t ngx_streamline_media_used(const u_char *root, size_t len);
static off_t ngx_streamline_media_avail(const char *path);
static ngx_int_t ngx_streamline_media_master(ngx_pool_t *pool,
    ngx_streamline_media_channel_t *ch, ngx_streamline_hls_req_t *req,
    ngx_str_t *out);


static ngx_shm_zone_t          *ngx_streamline_media_zone;
static ngx_streamline_media_lock_t  *ngx_streamline_media_locks;
static ngx_streamline_media_t  *ngx_streamline_media_running;
static ngx_event_t              ngx_streamline_media_cleanup_ev;
static ngx_event_t              ngx_streamline_media_log_ev;

/*
 * ngx_log_error() is for the event loop only (syslog and memory logs keep
 * state without locks): the threads queue their lines here.
 */
static pthread_mutex_t          ngx_streamline_media_log_lock =
                                    PTHREAD_MUTEX_INITIALIZER;
static ngx_streamline_media_line_t
                    ngx_streamline_media_lines[NGX_STREAMLINE_MEDIA_LOGS];
static ngx_uint_t               ngx_streamline_media_nlines;
static ngx_uint_t               ngx_streamline_media_dropped_lines;
static ngx_atomic_t             ngx_streamline_media_finishing;
static ngx_fd_t                 ngx_streamline_media_notify_fd = -1;
static ngx_connection_t        *ngx_streamline_media_notify_conn;

/*
 * This worker's copy of the index a media playlist is rendered from: the
 * zone's lock is held to copy the window, not to render it (the packager
 * threads wait on that lock).  Kept for the worker's life, grown as needed.
 */
static u_char                  *ngx_streamline_media_snap;
static size_t                   ngx_streamline_media_snap_size;


/* configuration: the zone is added by the first streamline_media_path */

ngx_int_t
ngx_streamline_media_zone_add(ngx_conf_t *cf, ngx_str_t *path)
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

        smcf->media_zone->init = ngx_streamline_media_init_zone;
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
            cln->handler = ngx_streamline_media_notify_close;
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
 * running nginx owns them (see ngx_streamline_media_own), never in a
 * config test.
 */
static ngx_int_t
ngx_streamline_media_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_uint_t                   i, own;
    ngx_str_t                   *path;
    ngx_slab_pool_t             *shpool;
    ngx_streamline_main_conf_t  *smcf;
    ngx_streamline_media_shm_t  *shm;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;
    smcf = zone->data;

    path = smcf->media_paths->elts;
    for (i = 0; !ngx_test_config && i < smcf->media_paths->nelts; i++) {
        own = ngx_streamline_media_own(zone->shm.log, path[i].data);

        if (own && data == NULL) {
            /* in the master, before any worker: nothing here is live */
            ngx_streamline_media_remove_dir(path[i].data);
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

    shm = ngx_slab_calloc(shpool, sizeof(ngx_streamline_media_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    shpool->data = shm;
    zone->data = shm;

    ngx_sprintf(shpool->log_ctx, " in streamline_media_zone%Z");

    return NGX_OK;
}


/*
 * Whether this master has just become the owner of a media path, the
 * first time it sees the path: only then are its files leftovers.  The
 * owner holds flock(2) on <path>/.streamline.lock for its whole life.
 * flock, not fcntl: the workers inherit the same open file, so the lock
 * lasts while any process of that nginx lives (a master killed alone
 * included), and a second open in the same master conflicts like any
 * other.  So a new binary (USR2), a second nginx on the same path, and
 * this master after a reload that changed the zone all find the path
 * owned and remove nothing.  A path owned by someone else when first
 * seen is asked for again at each reload (after an upgrade the new
 * master gets it once the old one is gone), but never cleaned then: its
 * files may be this nginx's live streams by that time.
 */
static ngx_uint_t
ngx_streamline_media_own(ngx_log_t *log, const u_char *path)
{
    size_t                        len;
    ngx_fd_t                      fd;
    ngx_uint_t                    first;
    ngx_streamline_media_lock_t  *l;
    u_char                        name[NGX_MAX_PATH];

    len = ngx_strlen(path);

    for (l = ngx_streamline_media_locks; l; l = l->next) {
        if (ngx_strcmp(l->path, path) == 0) {
            break;
        }
    }

    if (l && l->fd != -1) {
        return 0;
    }

    first = (l == NULL);

    if (l == NULL) {
        /* the master's, for its life: reloads reuse it */
        l = ngx_alloc(sizeof(ngx_streamline_media_lock_t) + len, log);
        if (l == NULL) {
            return 0;
        }

        ngx_memcpy(l->path, path, len + 1);
        l->fd = -1;
        l->next = ngx_streamline_media_locks;
        ngx_streamline_media_locks = l;
    }

    if (len + sizeof("/" NGX_STREAMLINE_MEDIA_LOCK) > NGX_MAX_PATH) {
        return 0;
    }

    ngx_sprintf(name, "%s/" NGX_STREAMLINE_MEDIA_LOCK "%Z", path);

    fd = open((char *) name, O_RDWR|O_CREAT|O_CLOEXEC, 0600);

    if (fd == -1) {
        if (first) {
            ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                          "streamline: open() \"%s\" failed: files under "
                          "\"%s\" are never removed at start", name, path);
        }

        return 0;
    }

    if (flock(fd, LOCK_EX|LOCK_NB) == -1) {
        if (first) {
            ngx_log_error(NGX_LOG_NOTICE, log, ngx_errno,
                          "streamline: \"%s\" belongs to another nginx "
                          "(a binary upgrade?): its files are kept", path);
        }

        (void) close(fd);
        return 0;
    }

    l->fd = fd;

    return first;
}


/* removes what is inside dir, not dir itself */
static void
ngx_streamline_media_remove_dir(const u_char *dir)
{
    (void) nftw((const char *) dir, ngx_streamline_media_rm, 16,
                FTW_DEPTH | FTW_PHYS);
}


static int
ngx_streamline_media_rm(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
    size_t  len;

    if (ftw->level == 0
        || (ftw->level == 1
            && ngx_strcmp(path + ftw->base, NGX_STREAMLINE_MEDIA_LOCK) == 0))
    {
        return 0;
    }

    /* a channel's names file outlives its streams (no name repeats) */
    len = ngx_strlen(path);

    if (ftw->level == 1 && type == FTW_F
        && len > sizeof(SL_NAME_NAMES_SUFFIX) - 1
        && ngx_strcmp(path + len - (sizeof(SL_NAME_NAMES_SUFFIX) - 1),
                      SL_NAME_NAMES_SUFFIX) == 0)
    {
        return 0;
    }

    (void) remove(path);

    return 0;
}


/* the worker's side */

void
ngx_streamline_media_init_process(ngx_cycle_t *cycle)
{
    ngx_connection_t            *c;
    ngx_streamline_main_conf_t  *smcf;

    smcf = (ngx_streamline_main_conf_t *)
               ngx_get_conf(cycle->conf_ctx, ngx_streamline_module);

    ngx_streamline_media_zone = smcf->media_zone;
    ngx_streamline_media_running = NULL;

    if (ngx_streamline_media_zone == NULL) {
        return;
    }

    ngx_streamline_media_accepting(1);

    /* libav* messages (to stderr) only when something is wrong */
    av_log_set_level(AV_LOG_ERROR);

    ngx_memzero(&ngx_streamline_media_cleanup_ev, sizeof(ngx_event_t));
    ngx_streamline_media_cleanup_ev.handler =
                                        ngx_streamline_media_cleanup_handler;
    ngx_streamline_media_cleanup_ev.log = cycle->log;
    ngx_streamline_media_cleanup_ev.cancelable = 1;
    ngx_add_timer(&ngx_streamline_media_cleanup_ev, 1000);

    ngx_memzero(&ngx_streamline_media_log_ev, sizeof(ngx_event_t));
    ngx_streamline_media_log_ev.handler = ngx_streamline_media_log_handler;
    ngx_streamline_media_log_ev.log = cycle->log;
    ngx_streamline_media_log_ev.cancelable = 1;
    ngx_add_timer(&ngx_streamline_media_log_ev, 200);

    ngx_streamline_media_notify_conn = NULL;
    ngx_streamline_media_notify_fd = -1;

    if (smcf->media_notify == -1) {
        return;
    }

    c = ngx_get_connection(smcf->media_notify, cycle->log);
    if (c == NULL) {
        return;
    }

    c->read->handler = ngx_streamline_media_notified;
    c->read->log = cycle->log;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        /* the descriptor is the cycle's: its pool cleanup closes it */
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        return;
    }

    ngx_streamline_media_notify_conn = c;
    ngx_streamline_media_notify_fd = smcf->media_notify;
}


/* a worker that exits stops its pipelines: the last segments are written */
void
ngx_streamline_media_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_connection_t            *c;
    ngx_streamline_media_t      *m;
    ngx_streamline_main_conf_t  *smcf;

    if (ngx_streamline_media_zone) {
        ngx_streamline_media_accepting(0);
    }

    while ((m = ngx_streamline_media_running) != NULL) {
        sl_pipeline_stop(m->pipeline);
        m->pipeline = NULL;
        ngx_streamline_media_ended(m);
    }

    /* and lets the finishing ones write their last segment (5 s at most) */
    for (i = 0; i < 500 && ngx_streamline_media_finishing; i++) {
        ngx_msleep(10);
    }

    ngx_streamline_media_log_flush();

    /* this worker's copy of the eventfd: not for the pool cleanup now */
    if (ngx_streamline_media_notify_conn) {
        smcf = (ngx_streamline_main_conf_t *)
                   ngx_get_conf(cycle->conf_ctx, ngx_streamline_module);

        c = ngx_streamline_media_notify_conn;
        ngx_streamline_media_notify_conn = NULL;
        ngx_streamline_media_notify_fd = -1;
        smcf->media_notify = -1;

        /* other processes hold the same file: closing would not unwatch */
        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
        }

        ngx_close_connection(c);
    }
}


/*
 * A worker's slot in the zone, while it accepts connections: an old
 * worker that shuts down learns from them whether newer workers (of a
 * reload) carry its channels on.
 */
static void
ngx_streamline_media_accepting(ngx_uint_t on)
{
    ngx_uint_t                   i;
    ngx_slab_pool_t             *shpool;
    ngx_streamline_media_shm_t  *shm;

    shpool = ngx_streamline_media_pool();
    shm = ngx_streamline_media_zone->data;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < NGX_STREAMLINE_MEDIA_WORKERS; i++) {
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
static ngx_uint_t
ngx_streamline_media_successor(void)
{
    ngx_uint_t                   i, found;
    ngx_pid_t                    pid;
    ngx_slab_pool_t             *shpool;
    ngx_streamline_media_shm_t  *shm;

    shpool = ngx_streamline_media_pool();
    shm = ngx_streamline_media_zone->data;
    found = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; !found && i < NGX_STREAMLINE_MEDIA_WORKERS; i++) {
        pid = shm->workers[i];
        found = pid != 0 && pid != ngx_pid
                && (kill(pid, 0) == 0 || errno != ESRCH);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return found;
}


static void
ngx_streamline_media_notify_close(void *data)
{
    ngx_fd_t  *fd = data;

    if (*fd != -1 && close(*fd) == -1) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                      "streamline: close() eventfd failed");
    }
}


/* on a pipeline thread, after an index changed: every worker looks */
static void
ngx_streamline_media_notify(void)
{
#if (NGX_HAVE_EVENTFD)
    uint64_t  one = 1;

    if (ngx_streamline_media_notify_fd != -1
        && write(ngx_streamline_media_notify_fd, &one, sizeof(uint64_t))
           != sizeof(uint64_t))
    {
        /* cannot be full (2^64 - 2); if it failed, the tick is there */
    }
#endif
}


/*
 * With the zone locked: requests that wait for a channel this zone did
 * not know (ngx_streamline_media_coming) look again.  Not every part:
 * they wait for a channel to start, end, or begin a segment.
 */
static void
ngx_streamline_media_changed(void)
{
    ngx_streamline_media_shm_t  *shm = ngx_streamline_media_zone->data;

    shm->gen++;
}


static void
ngx_streamline_media_notified(ngx_event_t *ev)
{
    uint64_t           n;
    ngx_connection_t  *c = ev->data;

    /* whichever worker reads first resets it; the others find it empty */
    if (read(c->fd, &n, sizeof(uint64_t)) != sizeof(uint64_t)) {
        ev->ready = 0;
    }

    ngx_http_streamline_hls_wake();
}


static ngx_slab_pool_t *
ngx_streamline_media_pool(void)
{
    return (ngx_slab_pool_t *) ngx_streamline_media_zone->shm.addr;
}


/* called with the zone locked */
static ngx_streamline_media_channel_t *
ngx_streamline_media_channel(const u_char *name, size_t len,
    ngx_uint_t create)
{
    ngx_uint_t                       i;
    ngx_streamline_media_shm_t      *shm;
    ngx_streamline_media_channel_t  *ch, *free;

    shm = ngx_streamline_media_zone->data;
    free = NULL;

    for (i = 0; i < NGX_STREAMLINE_MEDIA_CHANNELS; i++) {
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

    ngx_memzero(free, sizeof(ngx_streamline_media_channel_t));
    ngx_memcpy(free->name, name, len);
    free->name_len = len;

    return free;
}


static ngx_streamline_media_rendition_t *
ngx_streamline_media_rendition(ngx_streamline_media_channel_t *ch,
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


ngx_streamline_media_t *
ngx_streamline_media_start(ngx_streamline_media_conf_t *mc, ngx_int_t *rc)
{
    u_char                            *p;
    size_t                             size;
    ngx_fd_t                           fd;
    uint64_t                           first_msn, names_msn;
    const char                        *why;
    uint32_t                           first_init, max_segments, ladder;
    unsigned                           names_init;
    ngx_uint_t                         i, resume, leftovers, busy;
    u_char                             snap_path[NGX_MAX_PATH];
    ngx_streamline_media_snap_t       *snap;
    sl_dvr_params_t                    dp;
    ngx_slab_pool_t                   *shpool;
    sl_pipeline_conf_t                 pc;
    ngx_streamline_media_t            *m;
    ngx_streamline_media_channel_t    *ch;
    ngx_streamline_media_rendition_t  *r;

    *rc = NGX_ERROR;

    if (ngx_streamline_media_zone == NULL) {
        return NULL;
    }

    m = ngx_calloc(sizeof(ngx_streamline_media_t), mc->log);
    if (m == NULL) {
        return NULL;
    }

    m->nrungs = mc->nrungs;
    m->live = NGX_INVALID_FILE;

    /* a small read on the loop, once a publish, before the zone lock */
    (void) sl_name_names_file((char *) m->names_file, NGX_MAX_PATH,
                              (char *) mc->dir);

    if (sl_pipeline_names_load((char *) m->names_file, &names_msn,
                               &names_init)
        != SL_OK)
    {
        names_msn = 0;
        names_init = 0;
    }

    for (i = 0; i < mc->nrungs; i++) {
        m->rungs[i] = mc->rungs[i];
    }

    ladder = ngx_streamline_media_ladder(mc);
    leftovers = ngx_streamline_media_leftovers(mc->dir);
    busy = 0;
    snap = NULL;

    if (leftovers) {
        /*
         * Someone's files: a stream of another nginx (the old binary of
         * an upgrade) may still be ending there, and may leave its DVR
         * index to carry on (a small file, read once a publish)
         */
        fd = ngx_streamline_media_open_live(mc->dir, 0);

        if (fd != NGX_INVALID_FILE) {
            busy = flock(fd, LOCK_SH|LOCK_NB) == -1;
            (void) close(fd);
        }

        if (!busy) {
            snap = ngx_streamline_media_snap_read(mc, ladder);
        }
    }

    shpool = ngx_streamline_media_pool();
    ngx_shmtx_lock(&shpool->mutex);

    ch = ngx_streamline_media_channel(mc->channel, mc->channel_len, 1);

    if (ch == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, mc->log, 0,
                      "streamline: no media for channel \"%*s\": too many "
                      "channels", mc->channel_len, mc->channel);
        ngx_free(snap);
        ngx_free(m);
        return NULL;
    }

    if (ngx_streamline_media_orphaned(ch)) {
        ngx_log_error(NGX_LOG_WARN, mc->log, 0,
                      "streamline: channel \"%*s\": its worker %P died, "
                      "the media record is taken over", mc->channel_len,
                      mc->channel, ch->pid);

        if (ch->state == NGX_STREAMLINE_LIVE) {
            /* its DVR goes on after a discontinuity, as on a republish */
            ngx_streamline_media_orphan_end(ch);

        } else {
            (void) ngx_streamline_media_discard(ch);
        }
    }

    if (ch->state == NGX_STREAMLINE_FREE && snap) {
        /* the DVR of the previous nginx goes on, as within the grace */
        if (ngx_streamline_media_snap_load(ch, snap) == NGX_OK) {
            ngx_cpystrn(ch->dir, (u_char *) mc->dir, NGX_MAX_PATH);
            ch->grace_ms = mc->grace;
            ngx_log_error(NGX_LOG_NOTICE, mc->log, 0,
                          "streamline: channel \"%*s\": the DVR of the "
                          "previous nginx goes on",
                          mc->channel_len, mc->channel);
        }
    }

    ngx_free(snap);

    if (ch->state == NGX_STREAMLINE_LIVE
        || ch->state == NGX_STREAMLINE_DELETING
        || (ch->state == NGX_STREAMLINE_FREE && busy))
    {
        /*
         * The previous stream's pipeline still writes its last segment
         * (a publisher that reconnects at once, here or to the new binary
         * of an upgrade), or its DVR is being removed: the caller tries
         * again a moment later.
         */
        ngx_shmtx_unlock(&shpool->mutex);
        ngx_free(m);
        *rc = NGX_AGAIN;
        return NULL;
    }

    /* published again within the grace: the DVR goes on */
    resume = ch->state == NGX_STREAMLINE_ENDED && ch->ladder == ladder;

    if (!resume && (ch->state == NGX_STREAMLINE_ENDED || leftovers)) {
        /*
         * A reload changed the ladder (or the segment, part or window)
         * since the DVR began: its renditions cannot go on, a new DVR
         * begins.  Or files that no stream of this nginx owns (an earlier
         * nginx's, e.g. before a binary upgrade) are in the channel's
         * directory.  They go first, on a thread; the caller retries.
         */
        ngx_cpystrn(ch->dir, (u_char *) mc->dir, NGX_MAX_PATH);
        why = ch->state == NGX_STREAMLINE_ENDED
              ? "the ladder changed, a new DVR begins"
              : "removing files that no stream owns";

        if (ngx_streamline_media_discard(ch) != NGX_OK) {
            ngx_shmtx_unlock(&shpool->mutex);
            ngx_log_error(NGX_LOG_ERR, mc->log, 0,
                          "streamline: no media for channel \"%*s\": "
                          "cannot remove its old files",
                          mc->channel_len, mc->channel);
            ngx_free(m);
            return NULL;
        }

        ngx_shmtx_unlock(&shpool->mutex);
        ngx_log_error(NGX_LOG_NOTICE, mc->log, 0,
                      "streamline: channel \"%*s\": %s",
                      mc->channel_len, mc->channel, why);
        ngx_free(m);
        *rc = NGX_AGAIN;
        return NULL;
    }

    first_msn = 0;
    first_init = 0;

    if (resume) {
        for (i = 0; i < ch->nrenditions; i++) {
            first_msn = ngx_max(first_msn, ch->r[i].dvr->next_msn);
            first_init = ngx_max(first_init, ch->r[i].dvr->init_id + 1);
            sl_dvr_resume(ch->r[i].dvr);
        }

    } else {
        /*
         * Segment and init names never repeat, so that CDNs may cache
         * them as immutable: numbers go on from where the channel's last
         * stream left them (its names file, kept beside its directory and
         * reserved ahead by the pipeline), or from the time when there is
         * none (segments last a second at least).
         */
        first_msn = (uint64_t) (ngx_streamline_now_ms() / 1000);
        first_init = (uint32_t) first_msn;
        first_msn = ngx_max(first_msn, names_msn);
        first_init = ngx_max(first_init, names_init);

        ngx_cpystrn(ch->dir, (u_char *) mc->dir, NGX_MAX_PATH);
        ch->nrenditions = 1 + mc->nrungs;
        ch->ladder = ladder;

        max_segments = ngx_streamline_media_max_segments(mc);

        ngx_memzero(&dp, sizeof(sl_dvr_params_t));
        dp.max_segments = max_segments;
        dp.max_parts = SL_PIPELINE_MAX_PARTS;
        dp.window_us = (uint64_t) mc->window * 1000;
        dp.target_duration = (uint32_t) (mc->segment + 999) / 1000;
        dp.part_target_us = (uint32_t) mc->part * 1000;
        dp.first_msn = first_msn;

        size = sl_dvr_size(dp.max_segments, dp.max_parts);

        for (i = 0; i < ch->nrenditions; i++) {
            r = &ch->r[i];
            ngx_memzero(r, sizeof(ngx_streamline_media_rendition_t));

            if (i == 0) {
                r->name_len = ngx_cpystrn(r->name, (u_char *) SL_NAME_SOURCE,
                                          64)
                              - r->name;

            } else {
                r->name_len = ngx_cpystrn(r->name,
                                          (u_char *) mc->rungs[i - 1].name,
                                          64)
                              - r->name;
                r->width = mc->rungs[i - 1].width;
                r->height = mc->rungs[i - 1].height;
                r->configured = (uint64_t) mc->rungs[i - 1].bitrate_kbps
                                * 1000 + 128000;
            }

            r->dvr = ngx_slab_alloc_locked(shpool, size);
            if (r->dvr == NULL || sl_dvr_init(r->dvr, size, &dp) == NULL) {
                ngx_log_error(NGX_LOG_ERR, mc->log, 0,
                              "streamline: streamline_media_zone is too "
                              "small for the DVR of channel \"%*s\"",
                              mc->channel_len, mc->channel);

                for ( /* void */ ; i != (ngx_uint_t) -1; i--) {
                    if (ch->r[i].dvr) {
                        ngx_slab_free_locked(shpool, ch->r[i].dvr);
                    }
                }

                ch->state = NGX_STREAMLINE_FREE;
                ngx_shmtx_unlock(&shpool->mutex);
                ngx_free(m);
                return NULL;
            }
        }
    }

    ch->state = NGX_STREAMLINE_LIVE;
    ngx_streamline_media_changed();
    ch->keep = mc->keep;
    ch->grace_ms = mc->grace;
    ch->max_size = mc->max_size;
    ch->min_free = mc->min_free;
    ch->root_len = ngx_strlen(ch->dir) - ch->name_len - 1;
    ch->over = 0;
    ch->generation++;
    ch->running = 1;
    ch->pid = ngx_pid;
    ch->pid_start = ngx_streamline_process_start();
    ch->live_ms = mc->live_ms;
    ch->owner_len = ngx_min(mc->owner_len, SL_OWNER_MAX - 1);
    ngx_memcpy(ch->owner, mc->owner, ch->owner_len);

    m->ch = ch;
    m->generation = ch->generation;

    ngx_shmtx_unlock(&shpool->mutex);

    /* the removal of old files took the directory too */
    if (!resume && ngx_create_dir(mc->dir, 0755) == NGX_FILE_ERROR
        && ngx_errno != NGX_EEXIST)
    {
        ngx_log_error(NGX_LOG_ERR, mc->log, ngx_errno,
                      "streamline: cannot create \"%s\"", mc->dir);
    }

    if (resume) {
        /* taken (or left by this nginx's earlier stream): not for later */
        p = ngx_snprintf(snap_path, sizeof(snap_path) - 1,
                         "%s/" SL_NAME_DVR_SNAPSHOT, mc->dir);
        *p = '\0';
        (void) unlink((char *) snap_path);
    }

    /* held while the stream runs: another nginx leaves the files alone */
    m->live = ngx_streamline_media_open_live(mc->dir, 1);

    if (m->live != NGX_INVALID_FILE && flock(m->live, LOCK_EX|LOCK_NB) == -1) {
        (void) close(m->live);
        m->live = NGX_INVALID_FILE;
    }

    ngx_memzero(&pc, sizeof(sl_pipeline_conf_t));
    pc.dir = (char *) mc->dir;
    pc.rendition = SL_NAME_SOURCE;
    pc.rungs = m->rungs;
    pc.nrungs = m->nrungs;
    pc.threads = 0;
    pc.segment_us = (int64_t) mc->segment * 1000;
    pc.part_us = (int64_t) mc->part * 1000;
    pc.queue_max = 1024;
    pc.queue_bytes = 64 * 1024 * 1024;
    pc.names = (char *) m->names_file;
    pc.first_msn = first_msn;
    pc.first_init_id = first_init;
    pc.resume = resume;
    pc.on_part = ngx_streamline_media_part;
    pc.on_segment = ngx_streamline_media_segment;
    pc.on_log = ngx_streamline_media_log;
    pc.on_end = ngx_streamline_media_end;
    pc.data = m;

    m->pipeline = sl_pipeline_start(&pc);

    if (m->pipeline == NULL) {
        ngx_log_error(NGX_LOG_ERR, mc->log, 0,
                      "streamline: cannot start the media pipeline");
        ngx_streamline_media_ended(m);
        return NULL;
    }

    m->next = ngx_streamline_media_running;
    if (m->next) {
        m->next->prev = &m->next;
    }

    m->prev = &ngx_streamline_media_running;
    ngx_streamline_media_running = m;

    *rc = NGX_OK;

    return m;
}


/* what a DVR's renditions and index are made of, as one number */
static uint32_t
ngx_streamline_media_ladder(ngx_streamline_media_conf_t *mc)
{
    size_t            i, j;
    uint32_t          crc;
    uint64_t          shape[3];
    const char       *text[3];
    const sl_rung_t  *rung;

    shape[0] = mc->segment;
    shape[1] = mc->part;
    shape[2] = mc->window;

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, (u_char *) shape, sizeof(shape));

    for (i = 0; i < mc->nrungs; i++) {
        rung = &mc->rungs[i];

        shape[0] = rung->width;
        shape[1] = rung->height;
        shape[2] = rung->bitrate_kbps;

        ngx_crc32_update(&crc, (u_char *) shape, sizeof(shape));

        text[0] = rung->name;
        text[1] = rung->preset ? rung->preset : "";
        text[2] = rung->profile ? rung->profile : "";

        /* with their NULs: "ab" + "c" is not "a" + "bc" */
        for (j = 0; j < 3; j++) {
            ngx_crc32_update(&crc, (u_char *) text[j],
                             ngx_strlen(text[j]) + 1);
        }
    }

    ngx_crc32_final(crc);

    return crc;
}


/* a channel directory holds something (a few syscalls: the first entry) */
static ngx_uint_t
ngx_streamline_media_leftovers(const u_char *dir)
{
    DIR            *d;
    ngx_uint_t      found;
    struct dirent  *e;

    d = opendir((const char *) dir);
    if (d == NULL) {
        return 0;
    }

    found = 0;

    while (!found && (e = readdir(d)) != NULL) {
        found = ngx_strcmp(e->d_name, ".") != 0
                && ngx_strcmp(e->d_name, "..") != 0;
    }

    (void) closedir(d);

    return found;
}


static uint32_t
ngx_streamline_media_max_segments(ngx_streamline_media_conf_t *mc)
{
    return (uint32_t) (mc->window / ngx_max(mc->segment / 2, 1)) + 4;
}


static ngx_fd_t
ngx_streamline_media_open_live(const u_char *dir, ngx_uint_t create)
{
    u_char  path[NGX_MAX_PATH], *p;

    p = ngx_snprintf(path, sizeof(path) - 1, "%s/" SL_NAME_LIVE_LOCK, dir);
    *p = '\0';

    return open((char *) path,
                create ? O_RDWR|O_CREAT|O_CLOEXEC : O_RDONLY|O_CLOEXEC, 0644);
}


/* the index the previous nginx left, if this nginx can take it on */
static ngx_streamline_media_snap_t *
ngx_streamline_media_snap_read(ngx_streamline_media_conf_t *mc,
    uint32_t ladder)
{
    u_char                       *p, *end;
    size_t                        size, n;
    ssize_t                       got;
    ngx_fd_t                      fd;
    uint64_t                      dvr_size;
    ngx_uint_t                    i;
    struct stat                   st;
    const sl_dvr_t               *dvr;
    ngx_streamline_media_snap_t  *snap;
    u_char                        path[NGX_MAX_PATH];

    p = ngx_snprintf(path, sizeof(path) - 1, "%s/" SL_NAME_DVR_SNAPSHOT,
                     mc->dir);
    *p = '\0';

    fd = open((char *) path, O_RDONLY|O_CLOEXEC);
    if (fd == -1) {
        return NULL;
    }

    n = 1 + mc->nrungs;
    dvr_size = sl_dvr_size(ngx_streamline_media_max_segments(mc),
                           SL_PIPELINE_MAX_PARTS);
    size = sizeof(ngx_streamline_media_snap_t) + n * dvr_size;

    if (fstat(fd, &st) == -1 || (size_t) st.st_size != size
        || dvr_size == 0)
    {
        (void) close(fd);
        return NULL;
    }

    snap = ngx_alloc(size, mc->log);
    if (snap == NULL) {
        (void) close(fd);
        return NULL;
    }

    p = (u_char *) snap;
    end = p + size;

    while (p < end) {
        got = read(fd, p, end - p);
        if (got <= 0) {
            break;
        }

        p += got;
    }

    (void) close(fd);

    if (p != end || snap->magic != NGX_STREAMLINE_MEDIA_MAGIC
        || snap->size != sizeof(ngx_streamline_media_snap_t)
        || snap->ladder != ladder || snap->nrenditions != n
        || snap->dvr_size != dvr_size
        || (!snap->keep
            && ngx_streamline_now_ms() > snap->ended_ms + (int64_t) mc->grace))
    {
        ngx_free(snap);
        return NULL;
    }

    for (i = 0; i < n; i++) {
        dvr = (sl_dvr_t *) ((u_char *) (snap + 1) + i * dvr_size);

        if (dvr->max_segments != ngx_streamline_media_max_segments(mc)
            || dvr->max_parts != SL_PIPELINE_MAX_PARTS || !dvr->ended
            || snap->r[i].name_len >= sizeof(snap->r[i].name))
        {
            ngx_free(snap);
            return NULL;
        }
    }

    return snap;
}


/* with the zone locked: the record of a channel becomes the snapshot's */
static ngx_int_t
ngx_streamline_media_snap_load(ngx_streamline_media_channel_t *ch,
    ngx_streamline_media_snap_t *snap)
{
    ngx_uint_t        i;
    ngx_slab_pool_t  *shpool;

    shpool = ngx_streamline_media_pool();

    for (i = 0; i < snap->nrenditions; i++) {
        ch->r[i] = snap->r[i];
        ch->r[i].codecs[sizeof(ch->r[i].codecs) - 1] = '\0';
        ch->r[i].dvr = ngx_slab_alloc_locked(shpool, snap->dvr_size);

        if (ch->r[i].dvr == NULL) {
            while (i--) {
                ngx_slab_free_locked(shpool, ch->r[i].dvr);
                ch->r[i].dvr = NULL;
            }

            return NGX_ERROR;
        }

        ngx_memcpy(ch->r[i].dvr,
                   (u_char *) (snap + 1) + i * snap->dvr_size,
                   snap->dvr_size);
    }

    ch->nrenditions = snap->nrenditions;
    ch->ladder = snap->ladder;
    ch->keep = snap->keep;
    ch->ended_ms = snap->ended_ms;
    ch->running = 0;
    ch->state = NGX_STREAMLINE_ENDED;

    return NGX_OK;
}


/*
 * The channel's index to disk, for the nginx that comes next: on the
 * thread that ended the stream (or at exit), not with the zone locked.
 */
static void
ngx_streamline_media_snap_write(ngx_streamline_media_channel_t *ch)
{
    ngx_err_t                     err;
    u_char                       *p, *end;
    size_t                        size;
    ssize_t                       n;
    uint64_t                      dvr_size;
    ngx_fd_t                      fd;
    ngx_uint_t                    i;
    ngx_slab_pool_t              *shpool;
    ngx_streamline_media_snap_t  *snap;
    u_char                        tmp[NGX_MAX_PATH], path[NGX_MAX_PATH];

    shpool = ngx_streamline_media_pool();
    ngx_shmtx_lock(&shpool->mutex);

    if (ch->state != NGX_STREAMLINE_ENDED || ch->nrenditions == 0
        || ch->r[0].dvr == NULL)
    {
        ngx_shmtx_unlock(&shpool->mutex);
        return;
    }

    dvr_size = sl_dvr_size(ch->r[0].dvr->max_segments,
                           ch->r[0].dvr->max_parts);
    size = sizeof(ngx_streamline_media_snap_t) + ch->nrenditions * dvr_size;

    /* maybe on a pipeline thread: no ngx_alloc, whose failure logs */
    snap = malloc(size);
    if (snap == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        ngx_streamline_media_thread_log(NGX_LOG_ERR,
                      "streamline: no memory to save the DVR index of "
                      "channel \"%*s\", the next nginx starts it anew",
                      ch->name_len, ch->name);
        return;
    }

    ngx_memzero(snap, sizeof(ngx_streamline_media_snap_t));
    snap->magic = NGX_STREAMLINE_MEDIA_MAGIC;
    snap->size = sizeof(ngx_streamline_media_snap_t);
    snap->ladder = ch->ladder;
    snap->nrenditions = ch->nrenditions;
    snap->dvr_size = dvr_size;
    snap->ended_ms = ch->ended_ms;
    snap->keep = ch->keep;

    for (i = 0; i < ch->nrenditions; i++) {
        snap->r[i] = ch->r[i];
        snap->r[i].dvr = NULL;
        ngx_memcpy((u_char *) (snap + 1) + i * dvr_size, ch->r[i].dvr,
                   dvr_size);
    }

    p = ngx_snprintf(path, sizeof(path) - 1, "%s/" SL_NAME_DVR_SNAPSHOT,
                     ch->dir);
    *p = '\0';
    (void) sl_name_tmp((char *) tmp, sizeof(tmp), (char *) path);

    ngx_shmtx_unlock(&shpool->mutex);

    fd = open((char *) tmp, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644);

    if (fd != -1) {
        p = (u_char *) snap;
        end = p + size;

        while (p < end && (n = write(fd, p, end - p)) > 0) {
            p += n;
        }

        if (close(fd) == 0 && p == end
            && rename((char *) tmp, (char *) path) == 0)
        {
            free(snap);
            return;
        }
    }

    err = ngx_errno;
    ngx_streamline_media_thread_log(NGX_LOG_ERR,
                  "streamline: cannot write \"%s\" (%d), the next nginx "
                  "starts the channel's DVR anew", path, err);
    (void) unlink((char *) tmp);
    free(snap);
}


sl_pipeline_t *
ngx_streamline_media_pipeline(ngx_streamline_media_t *m)
{
    return m->pipeline;
}


/* the session ends: the pipeline writes what it has, then ENDLIST */
void
ngx_streamline_media_finish(ngx_streamline_media_t *m)
{
    sl_pipeline_t  *p;

    /* from here on the pipeline thread owns m, until on_end */
    *m->prev = m->next;
    if (m->next) {
        m->next->prev = m->prev;
    }

    m->next = NULL;
    m->prev = &m->next;

    p = m->pipeline;
    (void) ngx_atomic_fetch_add(&ngx_streamline_media_finishing, 1);
    sl_pipeline_finish(p);
}


/* the pipeline threads */

/* called with the zone locked */
static ngx_int_t
ngx_streamline_media_open(ngx_streamline_media_t *m,
    ngx_streamline_media_rendition_t *r, const sl_segment_info_t *seg)
{
    unsigned      flags;
    sl_dvr_seg_t  src;

    /*
     * A rung that could not start a segment (its frames were lost) has a
     * gap there: EXT-X-GAP with the source's timing keeps the numbers of
     * all renditions in step.
     */
    while (r != &m->ch->r[0] && r->dvr->next_msn < seg->msn
           && sl_dvr_segment(m->ch->r[0].dvr, r->dvr->next_msn, &src)
              == SL_OK
           && src.duration_us > 0)
    {
        if (sl_dvr_segment_start(r->dvr, src.pdt_ms,
                                 r->dvr->started ? r->dvr->init_id
                                                 : seg->init_id,
                                 SL_SEG_GAP)
            != SL_OK
            || sl_dvr_segment_close(r->dvr, src.duration_us, 0, NULL)
               != SL_OK)
        {
            break;
        }
    }

    if (seg->discontinuity) {
        sl_dvr_discontinuity(r->dvr);
    }

    if (seg->lost) {
        flags = SL_SEG_GAP;

    } else {
        flags = seg->parts[0].independent ? SL_SEG_INDEPENDENT : 0;
    }

    if (r->dvr->next_msn != seg->msn
        || sl_dvr_segment_start(r->dvr, seg->pdt_ms, seg->init_id, flags)
           != SL_OK)
    {
        ngx_streamline_media_thread_log(NGX_LOG_ERR,
                      "streamline: segment %uL of \"%s\" refused by the DVR "
                      "index (next %uL)", seg->msn, seg->rendition,
                      r->dvr->next_msn);
        return NGX_ERROR;
    }

    if (seg->codecs[0]) {
        ngx_cpystrn((u_char *) r->codecs, (u_char *) seg->codecs,
                    sizeof(r->codecs));
        r->width = seg->width;
        r->height = seg->height;
        r->fps = seg->fps;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_streamline_media_add_part(ngx_streamline_media_rendition_t *r,
    const sl_part_info_t *part)
{
    return sl_dvr_part_add(r->dvr, (uint32_t) part->duration_us,
                           (uint32_t) part->bytes,
                           part->independent ? SL_PART_INDEPENDENT : 0)
           == SL_OK ? NGX_OK : NGX_ERROR;
}


/* a part is on disk: playlists list it at once (LL-HLS) */
static void
ngx_streamline_media_part(void *data, const sl_segment_info_t *seg)
{
    ngx_streamline_media_t  *m = data;

    ngx_slab_pool_t                   *shpool;
    ngx_streamline_media_rendition_t  *r;

    shpool = ngx_streamline_media_pool();
    ngx_shmtx_lock(&shpool->mutex);

    r = ngx_streamline_media_rendition(m->ch, seg->rendition);

    if (r != NULL && m->ch->generation == m->generation
        && (seg->nparts > 1 || ngx_streamline_media_open(m, r, seg) == NGX_OK)
        && r->dvr->open && r->dvr->cur.msn == seg->msn)
    {
        (void) ngx_streamline_media_add_part(r, &seg->parts[seg->nparts - 1]);

        if (seg->nparts == 1) {
            /* a segment begins: the first makes a channel playable */
            ngx_streamline_media_changed();
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_streamline_media_notify();
}


static void
ngx_streamline_media_segment(void *data, const sl_segment_info_t *seg)
{
    ngx_streamline_media_t *m = data;

    size_t                             i, n;
    uint64_t                           msn, bps;
    sl_dvr_drop_t                      drops[16];
    ngx_slab_pool_t                   *shpool;
    ngx_streamline_media_rendition_t  *r;

    msn = 0;
    shpool = ngx_streamline_media_pool();
    ngx_shmtx_lock(&shpool->mutex);

    r = ngx_streamline_media_rendition(m->ch, seg->rendition);

    if (r == NULL || m->ch->generation != m->generation
        || (seg->nparts == 0 && !seg->lost))
    {
        ngx_shmtx_unlock(&shpool->mutex);
        return;
    }

    if (seg->lost) {
        /* a write error: a gap keeps the numbers, trims go on */
        if ((r->dvr->open && r->dvr->cur.msn == seg->msn)
            || ngx_streamline_media_open(m, r, seg) == NGX_OK)
        {
            (void) sl_dvr_segment_lost(r->dvr,
                                       (uint32_t) ngx_max(seg->duration_us,
                                                          1000),
                                       &msn);
        }

    } else if (!r->dvr->open || r->dvr->cur.msn != seg->msn) {
        /* its parts were not indexed as they came: all of them now */
        if (ngx_streamline_media_open(m, r, seg) != NGX_OK) {
            ngx_shmtx_unlock(&shpool->mutex);
            return;
        }

        for (i = 0; i < seg->nparts; i++) {
            (void) ngx_streamline_media_add_part(r, &seg->parts[i]);
        }
    }

    if (!seg->lost
        && (sl_dvr_segment_close(r->dvr, (uint32_t) seg->duration_us,
                                 seg->bytes, &msn)
            != SL_OK
            || msn != seg->msn))
    {
        ngx_streamline_media_thread_log(NGX_LOG_ERR,
                      "streamline: segment %uL of \"%s\" indexed as %uL",
                      seg->msn, seg->rendition, msn);
    }

    if (seg->duration_us > 0 && !seg->lost) {
        bps = seg->bytes * 8 * 1000000 / seg->duration_us;
        r->bandwidth = ngx_max(r->bandwidth, bps);
        r->bytes += seg->bytes;
        r->duration_us += seg->duration_us;
    }

    /* part files live as long as playlists may list the parts */
    if (seg->msn > SL_DVR_PART_SEGMENTS) {
        ngx_streamline_media_unlink_parts(m->ch, r,
                                          seg->msn - SL_DVR_PART_SEGMENTS - 1,
                                          SL_PIPELINE_MAX_PARTS);
    }

    /* segments that left the window leave the disk too */
    do {
        n = sl_dvr_trim(r->dvr, drops, 16);

        for (i = 0; i < n; i++) {
            ngx_streamline_media_unlink(m->ch, r, &drops[i]);
        }

    } while (n == 16);

    ngx_streamline_media_budget(m);

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_streamline_media_notify();
}


/*
 * The disk budget of the media path, after each segment: while the DVRs
 * under the path hold more than streamline_media_max_size, or its
 * filesystem has less free than streamline_media_min_free, the oldest
 * segment under the path goes, from every rendition of its channel (live
 * edges excepted).  Called with the zone locked, on a pipeline thread: at
 * most NGX_STREAMLINE_MEDIA_TRIMS segments a call, the next segment goes
 * on (the lock is not held for a whole window's unlinks).
 */
static void
ngx_streamline_media_budget(ngx_streamline_media_t *m)
{
    off_t                              need, used, avail, freed;
    size_t                             i, n;
    int64_t                            pdt;
    uint64_t                           msn;
    ngx_uint_t                         c, k, trims;
    sl_dvr_seg_t                       seg;
    sl_dvr_drop_t                      drops[16];
    ngx_streamline_media_shm_t        *shm;
    ngx_streamline_media_channel_t    *ch, *o, *oldest;
    ngx_streamline_media_rendition_t  *r;

    ch = m->ch;

    if (ch->max_size == 0 && ch->min_free == 0) {
        return;
    }

    need = 0;

    if (ch->max_size) {
        used = ngx_streamline_media_used(ch->dir, ch->root_len);
        need = used - ch->max_size;
    }

    if (ch->min_free) {
        avail = ngx_streamline_media_avail((char *) ch->dir);

        if (avail >= 0 && ch->min_free - avail > need) {
            need = ch->min_free - avail;
        }
    }

    if (need <= 0) {
        ch->over = 0;
        return;
    }

    shm = ngx_streamline_media_zone->data;

    for (trims = 0; need > 0 && trims < NGX_STREAMLINE_MEDIA_TRIMS; trims++)
    {
        /* the channel under the path whose oldest segment is oldest */

        oldest = NULL;
        pdt = 0;

        for (c = 0; c < NGX_STREAMLINE_MEDIA_CHANNELS; c++) {
            o = &shm->ch[c];

            if ((o->state != NGX_STREAMLINE_LIVE
                 && o->state != NGX_STREAMLINE_ENDED)
                || o->root_len != ch->root_len
                || ngx_memcmp(o->dir, ch->dir, ch->root_len + 1) != 0
                || o->r[0].dvr == NULL
                || o->r[0].dvr->next_msn - o->r[0].dvr->first_msn
                   <= NGX_STREAMLINE_MEDIA_KEEP
                || sl_dvr_segment(o->r[0].dvr, o->r[0].dvr->first_msn, &seg)
                   != SL_OK)
            {
                continue;
            }

            if (oldest == NULL || seg.pdt_ms < pdt) {
                oldest = o;
                pdt = seg.pdt_ms;
            }
        }

        if (oldest == NULL) {
            if (ch->over != 2) {
                ch->over = 2;
                ngx_streamline_media_thread_log(NGX_LOG_ERR,
                              "streamline: media path \"%*s\" is over "
                              "its budget (streamline_media_max_size, "
                              "streamline_media_min_free) with only the "
                              "live edges of its channels left",
                              ch->root_len, ch->dir);
            }

            return;
        }

        /* its oldest segment, in every rendition (they go in step) */

        msn = oldest->r[0].dvr->first_msn;
        freed = 0;

        for (k = 0; k < oldest->nrenditions; k++) {
            r = &oldest->r[k];

            if (r->dvr == NULL) {
                continue;
            }

            n = sl_dvr_trim_before(r->dvr, msn + 1,
                                   NGX_STREAMLINE_MEDIA_KEEP, drops, 16);

            for (i = 0; i < n; i++) {
                ngx_streamline_media_unlink(oldest, r, &drops[i]);
                freed += drops[i].bytes;
            }
        }

        if (ch->over == 0) {
            ch->over = 1;
            ngx_streamline_media_thread_log(NGX_LOG_WARN,
                          "streamline: media path \"%*s\" is over its "
                          "budget: the oldest DVR segments go, channel "
                          "\"%*s\" first", ch->root_len, ch->dir,
                          oldest->name_len, oldest->name);
        }

        need -= ngx_max(freed, 1);
    }
}


/* with the zone locked: the bytes of the DVRs under a media path */
static off_t
ngx_streamline_media_used(const u_char *root, size_t len)
{
    off_t                            used;
    ngx_uint_t                       c, k;
    ngx_streamline_media_shm_t      *shm;
    ngx_streamline_media_channel_t  *o;

    shm = ngx_streamline_media_zone->data;
    used = 0;

    for (c = 0; c < NGX_STREAMLINE_MEDIA_CHANNELS; c++) {
        o = &shm->ch[c];

        if ((o->state != NGX_STREAMLINE_LIVE
             && o->state != NGX_STREAMLINE_ENDED)
            || o->root_len != len
            || ngx_memcmp(o->dir, root, len) != 0
            || o->dir[len] != '/')
        {
            continue;
        }

        for (k = 0; k < o->nrenditions; k++) {
            if (o->r[k].dvr) {
                used += (off_t) o->r[k].dvr->bytes;
            }
        }
    }

    return used;
}


/* free bytes for an unprivileged writer; -1 if unknown */
static off_t
ngx_streamline_media_avail(const char *path)
{
    struct statvfs  fs;

    if (statvfs(path, &fs) != 0) {
        return -1;
    }

    return (off_t) fs.f_bavail * (off_t) fs.f_frsize;
}


/*
 * Before a publish is accepted: room for one more stream under the media
 * path?  Not if its filesystem is below the floor, nor if its DVRs are
 * over the budget that trimming could not meet (only live edges left).
 */
ngx_int_t
ngx_streamline_media_room(const ngx_str_t *path, off_t max_size,
    off_t min_free, const u_char *channel, size_t len, ngx_log_t *log)
{
    off_t             used, avail;
    u_char            dir[NGX_MAX_PATH];
    ngx_slab_pool_t  *shpool;

    if (ngx_streamline_media_zone == NULL || path->len >= NGX_MAX_PATH) {
        return NGX_OK;
    }

    if (min_free) {
        (void) ngx_cpystrn(dir, path->data, path->len + 1);
        avail = ngx_streamline_media_avail((char *) dir);

        if (avail >= 0 && avail < min_free) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "streamline: channel \"%*s\" refused: %O MB "
                          "free under \"%V\", below "
                          "streamline_media_min_free (%O MB)",
                          len, channel, avail >> 20, path, min_free >> 20);
            return NGX_DECLINED;
        }
    }

    if (max_size) {
        shpool = ngx_streamline_media_pool();
        ngx_shmtx_lock(&shpool->mutex);
        used = ngx_streamline_media_used(path->data, path->len);
        ngx_shmtx_unlock(&shpool->mutex);

        if (used > max_size) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "streamline: channel \"%*s\" refused: the DVRs "
                          "under \"%V\" hold %O MB, over "
                          "streamline_media_max_size (%O MB)",
                          len, channel, path, used >> 20, max_size >> 20);
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/* called with the zone locked: unlink(2)s, on the pipeline thread */
static void
ngx_streamline_media_unlink_parts(ngx_streamline_media_channel_t *ch,
    ngx_streamline_media_rendition_t *r, uint64_t msn, size_t nparts)
{
    char    name[SL_NAME_MAX];
    u_char  path[NGX_MAX_PATH + 128], *p;
    size_t  i;

    for (i = 0; i < nparts; i++) {
        (void) sl_name_part(name, sizeof(name), msn, i);
        p = ngx_snprintf(path, sizeof(path) - 1, "%s/%*s/%s",
                         ch->dir, r->name_len, r->name, name);
        *p = '\0';

        if (unlink((char *) path) != 0 && ngx_errno == NGX_ENOENT) {
            break;
        }
    }
}


/* called with the zone locked: only unlink(2)s, on the pipeline thread */
static void
ngx_streamline_media_unlink(ngx_streamline_media_channel_t *ch,
    ngx_streamline_media_rendition_t *r, const sl_dvr_drop_t *d)
{
    char    name[SL_NAME_MAX];
    u_char  path[NGX_MAX_PATH + 128], *p;

    (void) sl_name_segment(name, sizeof(name), d->msn);
    p = ngx_snprintf(path, sizeof(path) - 1, "%s/%*s/%s",
                     ch->dir, r->name_len, r->name, name);
    *p = '\0';
    (void) unlink((char *) path);

    ngx_streamline_media_unlink_parts(ch, r, d->msn, d->nparts);

    if (d->init_unused) {
        (void) sl_name_init(name, sizeof(name), d->init_id);
        p = ngx_snprintf(path, sizeof(path) - 1, "%s/%*s/%s",
                         ch->dir, r->name_len, r->name, name);
        *p = '\0';
        (void) unlink((char *) path);
    }
}


static void
ngx_streamline_media_log(void *data, int error, const char *msg)
{
    ngx_streamline_media_t  *m = data;

    ngx_streamline_media_thread_log(error ? NGX_LOG_ERR : NGX_LOG_NOTICE,
                                    "streamline: channel \"%*s\": %s",
                                    m->ch->name_len, m->ch->name, msg);
}


/* on a pipeline thread: the line waits for the event loop */
static void
ngx_streamline_media_thread_log(ngx_uint_t level, const char *fmt, ...)
{
    va_list                       args;
    ngx_streamline_media_line_t  *line;

    (void) pthread_mutex_lock(&ngx_streamline_media_log_lock);

    if (ngx_streamline_media_nlines == NGX_STREAMLINE_MEDIA_LOGS) {
        ngx_streamline_media_dropped_lines++;

    } else {
        line = &ngx_streamline_media_lines[ngx_streamline_media_nlines++];
        line->level = level;

        va_start(args, fmt);
        line->len = ngx_vslprintf(line->text, line->text + sizeof(line->text),
                                  fmt, args)
                    - line->text;
        va_end(args);
    }

    (void) pthread_mutex_unlock(&ngx_streamline_media_log_lock);
}


static void
ngx_streamline_media_log_handler(ngx_event_t *ev)
{
    ngx_streamline_media_log_flush();

    if (!ngx_exiting) {
        ngx_add_timer(ev, 200);
    }
}


static void
ngx_streamline_media_log_flush(void)
{
    ngx_uint_t                    i, n, dropped;
    ngx_streamline_media_line_t  *lines;

    lines = ngx_alloc(sizeof(ngx_streamline_media_lines), ngx_cycle->log);
    if (lines == NULL) {
        return;
    }

    (void) pthread_mutex_lock(&ngx_streamline_media_log_lock);

    n = ngx_streamline_media_nlines;
    dropped = ngx_streamline_media_dropped_lines;
    ngx_memcpy(lines, ngx_streamline_media_lines,
               n * sizeof(ngx_streamline_media_line_t));
    ngx_streamline_media_nlines = 0;
    ngx_streamline_media_dropped_lines = 0;

    (void) pthread_mutex_unlock(&ngx_streamline_media_log_lock);

    for (i = 0; i < n; i++) {
        ngx_log_error(lines[i].level, ngx_cycle->log, 0, "%*s",
                      lines[i].len, lines[i].text);
    }

    if (dropped) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "streamline: %ui lines of the media threads were not "
                      "logged (too many at once)", dropped);
    }

    ngx_free(lines);
}


static void
ngx_streamline_media_end(void *data, const sl_pipeline_stats_t *st)
{
    ngx_streamline_media_t  *m = data;

    m->pipeline = NULL;
    ngx_streamline_media_ended(m);
    (void) ngx_atomic_fetch_add(&ngx_streamline_media_finishing, -1);
}


/* the last segment is indexed: ENDLIST, and the grace begins */
static void
ngx_streamline_media_ended(ngx_streamline_media_t *m)
{
    ngx_uint_t                       i, ended;
    ngx_slab_pool_t                 *shpool;
    ngx_streamline_media_channel_t  *ch = m->ch;

    if (m->prev && *m->prev == m) {
        *m->prev = m->next;
        if (m->next) {
            m->next->prev = m->prev;
        }
    }

    shpool = ngx_streamline_media_pool();
    ngx_shmtx_lock(&shpool->mutex);

    ended = 0;

    if (ch->generation == m->generation && ch->state == NGX_STREAMLINE_LIVE)
    {
        for (i = 0; i < ch->nrenditions; i++) {
            (void) sl_dvr_end(ch->r[i].dvr);
        }

        ch->state = NGX_STREAMLINE_ENDED;
        ch->running = 0;
        ch->ended_ms = ngx_streamline_now_ms();
        ngx_streamline_media_changed();
        ended = 1;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_streamline_media_notify();

    /*
     * A worker that stops with nobody to carry its zone on (the old
     * workers of a binary upgrade, a stop): the index goes to disk, and a
     * publish of the channel within the grace on the next nginx (the new
     * binary) continues the DVR.  A fresh start removes it with the rest.
     */
    if (ended && ngx_exiting && !ngx_streamline_media_successor()) {
        ngx_streamline_media_snap_write(ch);
    }

    if (m->live != NGX_INVALID_FILE) {
        (void) close(m->live);
    }

    ngx_free(m);
}


/* every worker, every second: DVRs whose grace is over are removed */
static void
ngx_streamline_media_cleanup_handler(ngx_event_t *ev)
{
    int64_t                          now;
    ngx_uint_t                       i, n, k;
    ngx_slab_pool_t                 *shpool;
    ngx_streamline_media_shm_t      *shm;
    ngx_streamline_media_channel_t  *ch;
    ngx_streamline_media_orphan_t    orphans[4];

    shpool = ngx_streamline_media_pool();
    shm = ngx_streamline_media_zone->data;
    now = ngx_streamline_now_ms();
    n = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < NGX_STREAMLINE_MEDIA_CHANNELS; i++) {
        ch = &shm->ch[i];

        if (ngx_streamline_media_orphaned(ch)) {
            if (ch->state == NGX_STREAMLINE_DELETING) {
                (void) ngx_streamline_media_discard(ch);
                continue;
            }

            /* the rest waits a second: Redis is told after the unlock */
            if (n == sizeof(orphans) / sizeof(orphans[0])) {
                continue;
            }

            ngx_memcpy(orphans[n].channel, ch->name, ch->name_len);
            orphans[n].channel_len = ch->name_len;
            ngx_memcpy(orphans[n].owner, ch->owner, ch->owner_len);
            orphans[n].owner_len = ch->owner_len;
            orphans[n].pid = ch->pid;
            orphans[n].live_ms = ch->live_ms;
            n++;

            ngx_streamline_media_orphan_end(ch);
            continue;
        }

        if (ch->state != NGX_STREAMLINE_ENDED || ch->keep
            || now < ch->ended_ms + ch->grace_ms)
        {
            continue;
        }

        (void) ngx_streamline_media_discard(ch);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    for (k = 0; k < n; k++) {
        ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                      "streamline: channel \"%*s\": its worker %P died, "
                      "the stream ended", orphans[k].channel_len,
                      orphans[k].channel, orphans[k].pid);

        /*
         * Idle as of just after the dead stream went live: older than any
         * publish that takes the channel over meanwhile, which stays live.
         */
        ngx_streamline_redis_transition(orphans[k].channel,
                                        orphans[k].channel_len,
                                        SL_STATUS_IDLE,
                                        orphans[k].live_ms + 1);

        if (orphans[k].owner_len) {
            ngx_streamline_redis_release(orphans[k].channel,
                                         orphans[k].channel_len,
                                         orphans[k].owner,
                                         orphans[k].owner_len);
        }
    }

    if (n) {
        ngx_streamline_media_notify();
    }

    /* cancelable: it never keeps an exiting worker */
    ngx_add_timer(ev, 1000);

    if (!ngx_exiting) {
        return;
    }

    /*
     * This worker shuts down gracefully (seen within a second).  After a
     * reload, newer workers share this zone: the publishers stay here
     * until they leave, viewers see no change.  Once none does (nginx -s
     * quit, the old workers of a binary upgrade, a reload that replaced
     * the zone, or the newer workers stopping in their turn), nobody
     * else can serve these channels, and a publisher like OBS never
     * leaves by itself: its session ends now, cleanly (ENDLIST, idle),
     * and an encoder that reconnects finds the new nginx, if any.
     */
    ngx_streamline_media_accepting(0);

    if (!ngx_streamline_media_successor()) {
        ngx_rtmp_streamline_drop_publishers((ngx_cycle_t *) ngx_cycle, 0);
    }
}


/*
 * With the zone locked: the channel's files and index go, on a thread of
 * their own (removing thousands of files is no work for the event loop).
 */
static ngx_int_t
ngx_streamline_media_discard(ngx_streamline_media_channel_t *ch)
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
        || pthread_create(&tid, &attr, ngx_streamline_media_delete_thread, ch)
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
static ngx_uint_t
ngx_streamline_media_orphaned(ngx_streamline_media_channel_t *ch)
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
 * Called with the zone locked: what ngx_streamline_media_ended would do.
 * The segment the dead worker was writing is in its temporary file, its
 * completed parts first (a segment is its parts, end to end): cut to
 * them and renamed, it is listed as the index says.  Two metadata calls
 * a rendition, once a dead worker.
 */
static void
ngx_streamline_media_orphan_end(ngx_streamline_media_channel_t *ch)
{
    char                               name[SL_NAME_MAX];
    u_char                            *p, path[NGX_MAX_PATH + 128],
                                       tmp[NGX_MAX_PATH + 128];
    ngx_uint_t                         i;
    ngx_streamline_media_rendition_t  *r;

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
    ngx_streamline_media_changed();
}



static void *
ngx_streamline_media_delete_thread(void *arg)
{
    ngx_streamline_media_channel_t  *ch = arg;

    ngx_uint_t        i;
    ngx_slab_pool_t  *shpool;

    /* only this thread touches a channel in the deleting state */
    ngx_streamline_media_remove_dir(ch->dir);
    (void) rmdir((char *) ch->dir);

    shpool = ngx_streamline_media_pool();
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


/* playlists, for any worker */

/* with the zone locked */
static ngx_streamline_media_channel_t *
ngx_streamline_media_playable(const u_char *channel, size_t len)
{
    ngx_streamline_media_channel_t  *ch;

    ch = ngx_streamline_media_channel(channel, len, 0);

    if (ch == NULL || ch->state == NGX_STREAMLINE_DELETING
        || ch->state == NGX_STREAMLINE_FREE || ch->r[0].dvr == NULL
        || !ch->r[0].dvr->started)
    {
        /* nothing to play (yet, or any more) */
        return NULL;
    }

    return ch;
}


static ngx_streamline_media_rendition_t *
ngx_streamline_media_find(ngx_streamline_media_channel_t *ch,
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
 * Does the playlist hold what a blocking request asks for (RFC 8216bis
 * 6.2.5.2): segment msn complete, or with part, that part of it?
 */
static ngx_int_t
ngx_streamline_media_has(const sl_dvr_t *dvr, int64_t msn, int64_t part)
{
    uint64_t  next;

    if (dvr->ended) {
        return NGX_OK;
    }

    next = dvr->next_msn;           /* the open segment, or the next */

    /* more than two segments after the last one listed: 400 */
    if ((uint64_t) msn + (dvr->open ? 0 : 1) > next + 2) {
        return NGX_ABORT;
    }

    if ((uint64_t) msn < next) {
        return NGX_OK;
    }

    if (part >= 0 && dvr->open && (uint64_t) msn == dvr->cur.msn
        && (uint64_t) part < dvr->cur.nparts)
    {
        return NGX_OK;
    }

    return NGX_AGAIN;
}


ngx_int_t
ngx_streamline_media_playlist(ngx_pool_t *pool, const u_char *channel,
    size_t channel_len, const u_char *rendition, size_t rendition_len,
    ngx_streamline_hls_req_t *req, ngx_str_t *out)
{
    size_t                             size, len, need, nrep;
    u_char                            *buf;
    int64_t                            last_part;
    uint64_t                           last_msn;
    ngx_int_t                          rc;
    ngx_uint_t                         i;
    sl_dvr_t                          *copy;
    sl_hls_opts_t                      opts;
    sl_hls_report_t                    rep[NGX_STREAMLINE_MEDIA_RUNGS];
    ngx_slab_pool_t                   *shpool;
    ngx_streamline_media_channel_t    *ch;
    ngx_streamline_media_rendition_t  *r, *o;
    u_char                             uris[NGX_STREAMLINE_MEDIA_RUNGS][80];

    if (ngx_streamline_media_zone == NULL) {
        return NGX_DECLINED;
    }

    shpool = ngx_streamline_media_pool();
    need = 0;

    for ( ;; ) {

        /* no allocation (nor its page faults) with the lock held */

        if (need > ngx_streamline_media_snap_size) {
            if (ngx_streamline_media_snap) {
                ngx_free(ngx_streamline_media_snap);
                ngx_streamline_media_snap_size = 0;
            }

            need += need / 4;

            ngx_streamline_media_snap = ngx_alloc(need, ngx_cycle->log);
            if (ngx_streamline_media_snap == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(ngx_streamline_media_snap, need);
            ngx_streamline_media_snap_size = need;
        }

        ngx_shmtx_lock(&shpool->mutex);

        ch = ngx_streamline_media_playable(channel, channel_len);
        if (ch == NULL) {
            ngx_shmtx_unlock(&shpool->mutex);
            return NGX_DECLINED;
        }

        if (rendition == NULL) {
            rc = ngx_streamline_media_master(pool, ch, req, out);
            ngx_shmtx_unlock(&shpool->mutex);
            return rc;
        }

        r = ngx_streamline_media_find(ch, rendition, rendition_len);
        if (r == NULL) {
            ngx_shmtx_unlock(&shpool->mutex);
            return NGX_DECLINED;
        }

        req->target_ms = (ngx_msec_t) r->dvr->target_duration * 1000;
        req->gen = &r->dvr->gen;
        req->seen = r->dvr->gen;
        req->ended = r->dvr->ended;

        if (req->msn >= 0) {
            rc = ngx_streamline_media_has(r->dvr, req->msn, req->part);
            if (rc != NGX_OK) {
                ngx_shmtx_unlock(&shpool->mutex);
                return rc;
            }
        }

        /* LL-HLS: parts, preload hint, blocking reload, delta updates */
        ngx_memzero(&opts, sizeof(sl_hls_opts_t));
        opts.parts = r->dvr->part_target_us > 0;
        opts.block = 1;
        opts.skip = req->skip;
        opts.can_skip_until_us = (uint64_t) 6 * r->dvr->target_duration
                                 * 1000000;

        /* an ended playlist reports nothing: nothing will change */
        nrep = 0;

        for (i = 0; !r->dvr->ended && i < ch->nrenditions; i++) {
            o = &ch->r[i];

            if (o == r || o->dvr == NULL || !o->dvr->started
                || sl_dvr_last(o->dvr, &last_msn, &last_part) != SL_OK)
            {
                continue;
            }

            len = sl_name_report_uri((char *) uris[nrep], sizeof(uris[0]),
                                     o->name, o->name_len);
            rep[nrep].uri = uris[nrep];
            rep[nrep].uri_len = ngx_min(len, sizeof(uris[0]) - 1);
            rep[nrep].last_msn = last_msn;
            rep[nrep].last_part = last_part;
            nrep++;
        }

        opts.reports = rep;
        opts.nreports = nrep;

        if (req->skip) {
            /*
             * A delta update lists the last 6 target durations only (or
             * a window shorter than that): rendered here, into this
             * worker's buffer, it holds the lock less than a copy would.
             */
            copy = NULL;
            len = sl_hls_media_playlist(r->dvr, &opts,
                                        ngx_streamline_media_snap,
                                        ngx_streamline_media_snap_size);
            need = ngx_max(len, 16384);

        } else {
            copy = sl_dvr_copy(r->dvr, ngx_streamline_media_snap,
                               ngx_streamline_media_snap_size);
            len = 0;
            need = sl_dvr_copy_size(r->dvr);
        }

        ngx_shmtx_unlock(&shpool->mutex);

        if (need <= ngx_streamline_media_snap_size) {
            break;
        }
    }

    if (copy == NULL) {
        if (len == 0) {
            return NGX_ERROR;
        }

        buf = ngx_pnalloc(pool, len);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        out->data = buf;
        out->len = len;
        ngx_memcpy(buf, ngx_streamline_media_snap, len);

        return NGX_OK;
    }

    /* about 40 bytes a segment, more for the last ones' parts */
    size = 16384 + (size_t) (copy->next_msn - copy->first_msn) * 48;

    for ( ;; ) {
        buf = ngx_pnalloc(pool, size);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        len = sl_hls_media_playlist(copy, &opts, buf, size);

        if (len <= size) {
            break;
        }

        size = len;
    }

    if (len == 0) {
        return NGX_ERROR;
    }

    out->data = buf;
    out->len = len;

    return NGX_OK;
}


/* called with the zone locked: a few lines a rendition */
static ngx_int_t
ngx_streamline_media_master(ngx_pool_t *pool,
    ngx_streamline_media_channel_t *ch, ngx_streamline_hls_req_t *req,
    ngx_str_t *out)
{
    size_t                             size, len, n;
    u_char                            *buf;
    ngx_uint_t                         i;
    sl_hls_variant_t                   v[NGX_STREAMLINE_MEDIA_RUNGS];
    ngx_streamline_media_rendition_t  *r;

    n = 0;

    for (i = 0; i < ch->nrenditions; i++) {
        r = &ch->r[i];

        if (r->codecs[0] == '\0') {
            /* no segment yet (a rung starts a moment later) */
            continue;
        }

        ngx_memzero(&v[n], sizeof(sl_hls_variant_t));
        v[n].name = r->name;
        v[n].name_len = r->name_len;
        v[n].bandwidth = r->bandwidth ? r->bandwidth : r->configured;

        /* before the first segment is complete: its parts so far */
        if (v[n].bandwidth == 0 && r->dvr->open
            && r->dvr->cur.duration_us > 0)
        {
            v[n].bandwidth = r->dvr->cur.bytes * 8 * 1000000
                             / r->dvr->cur.duration_us;
        }

        if (v[n].bandwidth == 0) {
            continue;
        }

        v[n].average_bandwidth = r->duration_us
                                 ? r->bytes * 8 * 1000000 / r->duration_us
                                 : 0;
        v[n].width = r->width;
        v[n].height = r->height;
        v[n].codecs = r->codecs;
        v[n].frame_rate = r->fps;
        n++;
    }

    req->target_ms = (ngx_msec_t) ch->r[0].dvr->target_duration * 1000;

    if (n == 0) {
        return NGX_DECLINED;
    }

    size = 4096;

    for ( ;; ) {
        buf = ngx_pnalloc(pool, size);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        len = sl_hls_master_playlist(v, n, buf, size);

        if (len <= size) {
            break;
        }

        size = len;
    }

    if (len == 0) {
        return NGX_ERROR;
    }

    out->data = buf;
    out->len = len;

    return NGX_OK;
}


/*
 * A part file asked for: NGX_OK when the index lists it (the file is on
 * disk), NGX_AGAIN when it is the next one (the preload hint: the request
 * waits for it), NGX_DECLINED otherwise.
 */
ngx_int_t
ngx_streamline_media_part_ready(const u_char *channel, size_t channel_len,
    const u_char *rendition, size_t rendition_len, uint64_t msn,
    uint64_t part, ngx_streamline_hls_req_t *req)
{
    ngx_int_t                          rc;
    const sl_dvr_t                    *dvr;
    ngx_slab_pool_t                   *shpool;
    ngx_streamline_media_channel_t    *ch;
    ngx_streamline_media_rendition_t  *r;

    if (ngx_streamline_media_zone == NULL) {
        return NGX_DECLINED;
    }

    shpool = ngx_streamline_media_pool();
    ngx_shmtx_lock(&shpool->mutex);

    ch = ngx_streamline_media_playable(channel, channel_len);
    r = ch ? ngx_streamline_media_find(ch, rendition, rendition_len) : NULL;

    rc = NGX_DECLINED;

    if (r) {
        dvr = r->dvr;
        req->target_ms = (ngx_msec_t) dvr->target_duration * 1000;
        req->gen = &dvr->gen;
        req->seen = dvr->gen;

        if (msn < dvr->next_msn
            || (dvr->open && msn == dvr->cur.msn && part < dvr->cur.nparts))
        {
            rc = NGX_OK;

        } else if (!dvr->ended
                   && ((dvr->open && msn == dvr->cur.msn
                        && part == dvr->cur.nparts)
                       || (msn == dvr->next_msn + (dvr->open ? 1 : 0)
                           && part == 0)))
        {
            rc = NGX_AGAIN;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


/*
 * What a request for a channel that this zone has nothing to play of
 * may wait for (NGX_AGAIN) rather than get a 404 (NGX_DECLINED).  With
 * dir (the channel's directory; a request not held yet): the channel is
 * not in this zone, and another nginx streams it (it holds the flock on
 * its .streamline.live: the old binary of an upgrade, until WINCH) or
 * has just ended it leaving its index (the old binary after WINCH: the
 * publisher is expected to reconnect here).  One open and flock, maybe a
 * stat, on the event loop, for a channel this zone does not know: a
 * local disk answers at once.  Without dir (a request held already): the
 * channel is still not here, or is starting here (no segment yet, its
 * old files being removed).  req->gen is then the zone's generation.
 */
ngx_int_t
ngx_streamline_media_coming(const u_char *channel, size_t len,
    const u_char *dir, ngx_streamline_hls_req_t *req)
{
    u_char                          *p, path[NGX_MAX_PATH];
    ngx_fd_t                         fd;
    ngx_int_t                        rc;
    ngx_uint_t                       busy;
    struct stat                      st;
    ngx_slab_pool_t                 *shpool;
    ngx_streamline_media_shm_t      *shm;
    ngx_streamline_media_channel_t  *ch;

    if (ngx_streamline_media_zone == NULL) {
        return NGX_DECLINED;
    }

    shpool = ngx_streamline_media_pool();
    shm = ngx_streamline_media_zone->data;

    ngx_shmtx_lock(&shpool->mutex);

    ch = ngx_streamline_media_channel(channel, len, 0);

    if (ch == NULL) {
        rc = NGX_AGAIN;         /* not here */

    } else if (ch->state == NGX_STREAMLINE_DELETING
               || (ch->state == NGX_STREAMLINE_LIVE
                   && (ch->r[0].dvr == NULL || !ch->r[0].dvr->started)))
    {
        rc = NGX_BUSY;          /* starting here */

    } else {
        rc = NGX_DECLINED;
    }

    req->gen = &shm->gen;
    req->seen = shm->gen;

    ngx_shmtx_unlock(&shpool->mutex);

    if (dir == NULL) {
        return rc == NGX_DECLINED ? NGX_DECLINED : NGX_AGAIN;
    }

    if (rc != NGX_AGAIN) {
        return NGX_DECLINED;
    }

    fd = ngx_streamline_media_open_live(dir, 0);

    if (fd != NGX_INVALID_FILE) {
        busy = flock(fd, LOCK_SH|LOCK_NB) == -1 && ngx_errno == EWOULDBLOCK;
        (void) close(fd);

        if (busy) {
            return NGX_AGAIN;
        }
    }

    p = ngx_snprintf(path, sizeof(path) - 1, "%s/" SL_NAME_DVR_SNAPSHOT,
                     dir);
    *p = '\0';

    if (stat((char *) path, &st) == 0
        && (int64_t) st.st_mtime * 1000 + NGX_STREAMLINE_ELSEWHERE_MS
           > ngx_streamline_now_ms())
    {
        return NGX_AGAIN;
    }

    return NGX_DECLINED;
}
