/*
 * The store's files (see ngx_streamline_store.h): the flock that makes a
 * master the owner of a media path, what a channel's directory holds, and
 * a channel's DVR index saved for the next nginx (a binary upgrade).
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <ftw.h>
#include <sys/file.h>

#include "ngx_streamline_store.h"


/* a media path this master owns (fd), or knows another nginx owns (-1) */
typedef struct ngx_streamline_store_lock_s  ngx_streamline_store_lock_t;

struct ngx_streamline_store_lock_s {
    ngx_streamline_store_lock_t      *next;
    ngx_fd_t                          fd;
    u_char                            path[1];
};


static int ngx_streamline_store_rm(const char *path, const struct stat *sb,
    int type, struct FTW *ftw);


static ngx_streamline_store_lock_t  *ngx_streamline_store_locks;


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
ngx_uint_t
ngx_streamline_store_own(ngx_log_t *log, const u_char *path)
{
    size_t                        len;
    ngx_fd_t                      fd;
    ngx_uint_t                    first;
    ngx_streamline_store_lock_t  *l;
    u_char                        name[NGX_MAX_PATH];

    len = ngx_strlen(path);

    for (l = ngx_streamline_store_locks; l; l = l->next) {
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
        l = ngx_alloc(sizeof(ngx_streamline_store_lock_t) + len, log);
        if (l == NULL) {
            return 0;
        }

        ngx_memcpy(l->path, path, len + 1);
        l->fd = -1;
        l->next = ngx_streamline_store_locks;
        ngx_streamline_store_locks = l;
    }

    if (len + sizeof("/" NGX_STREAMLINE_STORE_LOCK) > NGX_MAX_PATH) {
        return 0;
    }

    ngx_sprintf(name, "%s/" NGX_STREAMLINE_STORE_LOCK "%Z", path);

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
void
ngx_streamline_store_remove_dir(const u_char *dir)
{
    (void) nftw((const char *) dir, ngx_streamline_store_rm, 16,
                FTW_DEPTH | FTW_PHYS);
}


static int
ngx_streamline_store_rm(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
    size_t  len;

    if (ftw->level == 0
        || (ftw->level == 1
            && ngx_strcmp(path + ftw->base, NGX_STREAMLINE_STORE_LOCK) == 0))
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


/* a channel directory holds something (a few syscalls: the first entry) */
ngx_uint_t
ngx_streamline_store_leftovers(const u_char *dir)
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


ngx_fd_t
ngx_streamline_store_open_live(const u_char *dir, ngx_uint_t create)
{
    u_char  path[NGX_MAX_PATH], *p;

    p = ngx_snprintf(path, sizeof(path) - 1, "%s/" SL_NAME_LIVE_LOCK,
                     dir);
    *p = '\0';

    return open((char *) path,
                create ? O_RDWR|O_CREAT|O_CLOEXEC : O_RDONLY|O_CLOEXEC, 0644);
}


/*
 * The index the previous nginx left in dir, if this nginx can take it on:
 * the same layout, ladder and window, and within the grace.
 */
ngx_streamline_store_snap_t *
ngx_streamline_store_snap_read(const u_char *dir, ngx_uint_t nrenditions,
    uint32_t max_segments, uint32_t ladder, ngx_msec_t grace, ngx_log_t *log)
{
    u_char                       *p, *end;
    size_t                        size, n;
    ssize_t                       got;
    ngx_fd_t                      fd;
    uint64_t                      dvr_size;
    ngx_uint_t                    i;
    struct stat                   st;
    const sl_dvr_t               *dvr;
    ngx_streamline_store_snap_t  *snap;
    u_char                        path[NGX_MAX_PATH];

    p = ngx_snprintf(path, sizeof(path) - 1, "%s/" SL_NAME_DVR_SNAPSHOT,
                     dir);
    *p = '\0';

    fd = open((char *) path, O_RDONLY|O_CLOEXEC);
    if (fd == -1) {
        return NULL;
    }

    n = nrenditions;
    dvr_size = sl_dvr_size(max_segments, SL_PIPELINE_MAX_PARTS);
    size = sizeof(ngx_streamline_store_snap_t) + n * dvr_size;

    if (fstat(fd, &st) == -1 || (size_t) st.st_size != size
        || dvr_size == 0)
    {
        (void) close(fd);
        return NULL;
    }

    snap = ngx_alloc(size, log);
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

    if (p != end || snap->magic != NGX_STREAMLINE_STORE_MAGIC
        || snap->size != sizeof(ngx_streamline_store_snap_t)
        || snap->ladder != ladder || snap->nrenditions != n
        || snap->dvr_size != dvr_size
        || (!snap->keep
            && ngx_streamline_now_ms() > snap->ended_ms + (int64_t) grace))
    {
        ngx_free(snap);
        return NULL;
    }

    for (i = 0; i < n; i++) {
        dvr = (sl_dvr_t *) ((u_char *) (snap + 1) + i * dvr_size);

        if (dvr->max_segments != max_segments
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
ngx_int_t
ngx_streamline_store_snap_load(ngx_streamline_channel_t *ch,
    ngx_streamline_store_snap_t *snap)
{
    ngx_uint_t        i;
    ngx_slab_pool_t  *shpool;

    shpool = ngx_streamline_store_pool();

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
void
ngx_streamline_store_snap_write(ngx_streamline_channel_t *ch)
{
    ngx_err_t                     err;
    u_char                       *p, *end;
    size_t                        size;
    ssize_t                       n;
    uint64_t                      dvr_size;
    ngx_fd_t                      fd;
    ngx_uint_t                    i;
    ngx_slab_pool_t              *shpool;
    ngx_streamline_store_snap_t  *snap;
    u_char                        tmp[NGX_MAX_PATH], path[NGX_MAX_PATH];

    shpool = ngx_streamline_store_pool();
    ngx_shmtx_lock(&shpool->mutex);

    if (ch->state != NGX_STREAMLINE_ENDED || ch->nrenditions == 0
        || ch->r[0].dvr == NULL)
    {
        ngx_shmtx_unlock(&shpool->mutex);
        return;
    }

    dvr_size = sl_dvr_size(ch->r[0].dvr->max_segments,
                           ch->r[0].dvr->max_parts);
    size = sizeof(ngx_streamline_store_snap_t) + ch->nrenditions * dvr_size;

    /* maybe on a pipeline thread: no ngx_alloc, whose failure logs */
    snap = malloc(size);
    if (snap == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        ngx_streamline_thread_log(NGX_LOG_ERR,
                      "streamline: no memory to save the DVR index of "
                      "channel \"%*s\", the next nginx starts it anew",
                      ch->name_len, ch->name);
        return;
    }

    ngx_memzero(snap, sizeof(ngx_streamline_store_snap_t));
    snap->magic = NGX_STREAMLINE_STORE_MAGIC;
    snap->size = sizeof(ngx_streamline_store_snap_t);
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
    ngx_streamline_thread_log(NGX_LOG_ERR,
                  "streamline: cannot write \"%s\" (%d), the next nginx "
                  "starts the channel's DVR anew", path, err);
    (void) unlink((char *) tmp);
    free(snap);
}
