/*
 * Playlists from the store, for any worker: a rendition's index is copied
 * under the zone's lock (a few microseconds for a 4-hour window) and
 * rendered after (core/sl_playlist.c); a delta update, short, is rendered
 * under the lock.  The LL-HLS request rules are the core's
 * (core/sl_hls_request.c); this file maps them to what the HLS glue
 * does: answer, wait (NGX_AGAIN), 400 (NGX_ABORT), 404 (NGX_DECLINED).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/file.h>

#include "ngx_http_streamline.h"
#include "ngx_http_streamline_metadata.h"
#include "ngx_streamline_store.h"


/* what renders a playlist into buf: its length, more than size if cut */
typedef size_t (*ngx_http_streamline_render_pt)(void *data, u_char *buf,
    size_t size);

typedef struct {
    const sl_dvr_t           *dvr;
    const sl_hls_opts_t      *opts;
} ngx_http_streamline_media_t;

typedef struct {
    const sl_hls_variant_t   *v;
    size_t                    n;
} ngx_http_streamline_master_t;

typedef struct {
    const sl_dvr_t           *dvr;
    sl_preview_geom_t         geom;
} ngx_http_streamline_track_t;


static ngx_int_t ngx_http_streamline_copy_grow(size_t need);
static size_t ngx_http_streamline_vtt(void *data, u_char *buf, size_t size);
static ngx_int_t ngx_http_streamline_master(ngx_pool_t *pool,
    ngx_streamline_channel_t *ch, ngx_streamline_hls_req_t *req,
    ngx_str_t *out);
static ngx_int_t ngx_http_streamline_render(ngx_pool_t *pool, size_t size,
    ngx_http_streamline_render_pt render, void *data, ngx_str_t *out);
static size_t ngx_http_streamline_media(void *data, u_char *buf,
    size_t size);
static size_t ngx_http_streamline_variants(void *data, u_char *buf,
    size_t size);


/*
 * This worker's copy of the index a media playlist is rendered from: the
 * zone's lock is held to copy the window, not to render it (the packager
 * threads wait on that lock).  Kept for the worker's life, grown as needed.
 */
static u_char  *ngx_http_streamline_copy;
static size_t   ngx_http_streamline_copy_size;


ngx_int_t
ngx_http_streamline_playlist(ngx_pool_t *pool, const u_char *channel,
    size_t channel_len, const u_char *rendition, size_t rendition_len,
    ngx_streamline_hls_req_t *req, ngx_str_t *out)
{
    size_t                       size, len, need, nrep, ndr;
    u_char                      *buf;
    int64_t                      last_part;
    uint64_t                     last_msn;
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    sl_dvr_t                    *copy;
    sl_hls_ready_e               ready;
    sl_hls_opts_t                opts;
    const sl_hls_daterange_t    *dr;
    sl_hls_report_t              rep[NGX_STREAMLINE_STORE_RUNGS];
    ngx_slab_pool_t             *shpool;
    ngx_streamline_channel_t    *ch;
    ngx_streamline_rendition_t  *r, *o;
    ngx_http_streamline_media_t  media;
    u_char                       uris[NGX_STREAMLINE_STORE_RUNGS][80];

    if (ngx_streamline_store_shm() == NULL) {
        return NGX_DECLINED;
    }

    /* timed metadata: taken before the store's lock, never within it */
    ndr = 0;
    dr = NULL;

    if (rendition != NULL
        && ngx_http_streamline_metadata_ranges(channel, channel_len, &dr,
                                               &ndr)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    shpool = ngx_streamline_store_pool();
    need = 0;

    for ( ;; ) {

        /* no allocation (nor its page faults) with the lock held */

        if (ngx_http_streamline_copy_grow(need) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_shmtx_lock(&shpool->mutex);

        ch = ngx_streamline_store_playable(channel, channel_len);
        if (ch == NULL) {
            ngx_shmtx_unlock(&shpool->mutex);
            return NGX_DECLINED;
        }

        if (rendition == NULL) {
            rc = ngx_http_streamline_master(pool, ch, req, out);
            ngx_shmtx_unlock(&shpool->mutex);
            return rc;
        }

        r = ngx_streamline_store_find(ch, rendition, rendition_len);
        if (r == NULL) {
            ngx_shmtx_unlock(&shpool->mutex);
            return NGX_DECLINED;
        }

        req->target_ms = (ngx_msec_t) r->dvr->target_duration * 1000;
        req->gen = &r->dvr->gen;
        req->seen = r->dvr->gen;
        req->ended = r->dvr->ended;

        ready = sl_hls_playlist_ready(r->dvr, req->msn, req->part);

        if (ready != SL_HLS_READY) {
            ngx_shmtx_unlock(&shpool->mutex);
            return ready == SL_HLS_WAIT ? NGX_AGAIN : NGX_ABORT;
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
        opts.dateranges = dr;
        opts.ndateranges = ndr;

        if (req->skip) {
            /*
             * A delta update lists the last 6 target durations only (or
             * a window shorter than that): rendered here, into this
             * worker's buffer, it holds the lock less than a copy would.
             */
            copy = NULL;
            len = sl_hls_media_playlist(r->dvr, &opts,
                                        ngx_http_streamline_copy,
                                        ngx_http_streamline_copy_size);
            need = ngx_max(len, 16384);

        } else {
            copy = sl_dvr_copy(r->dvr, ngx_http_streamline_copy,
                               ngx_http_streamline_copy_size);
            len = 0;
            need = sl_dvr_copy_size(r->dvr);
        }

        ngx_shmtx_unlock(&shpool->mutex);

        if (need <= ngx_http_streamline_copy_size) {
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
        ngx_memcpy(buf, ngx_http_streamline_copy, len);

        return NGX_OK;
    }

    /* about 40 bytes a segment, more for the last ones' parts */
    size = 16384 + (size_t) (copy->next_msn - copy->first_msn) * 48;

    media.dvr = copy;
    media.opts = &opts;

    return ngx_http_streamline_render(pool, size, ngx_http_streamline_media,
                                      &media, out);
}


/*
 * previews.vtt: the first ladder rendition's index (its segments carry
 * the tiles, core/sl_preview.c) copied into this worker's buffer under
 * the lock, as a media playlist's is, and rendered after.  NGX_DECLINED:
 * no such channel, or no previews.
 */
ngx_int_t
ngx_http_streamline_previews(ngx_pool_t *pool, const u_char *channel,
    size_t channel_len, ngx_msec_t *target_ms, ngx_str_t *out)
{
    size_t                        need;
    sl_dvr_t                     *copy;
    ngx_slab_pool_t              *shpool;
    ngx_streamline_channel_t     *ch;
    ngx_streamline_rendition_t   *r;
    ngx_http_streamline_track_t   track;

    if (ngx_streamline_store_shm() == NULL) {
        return NGX_DECLINED;
    }

    shpool = ngx_streamline_store_pool();
    need = 0;

    for ( ;; ) {
        if (ngx_http_streamline_copy_grow(need) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_shmtx_lock(&shpool->mutex);

        ch = ngx_streamline_store_playable(channel, channel_len);
        r = (ch != NULL && ch->nrenditions > 1) ? &ch->r[1] : NULL;

        if (r == NULL || r->dvr == NULL || ch->preview_width == 0) {
            ngx_shmtx_unlock(&shpool->mutex);
            return NGX_DECLINED;
        }

        track.geom.width = ch->preview_width;
        track.geom.height = ch->preview_height;
        track.geom.columns = SL_PREVIEW_COLUMNS;

        copy = sl_dvr_copy(r->dvr, ngx_http_streamline_copy,
                           ngx_http_streamline_copy_size);
        need = sl_dvr_copy_size(r->dvr);

        ngx_shmtx_unlock(&shpool->mutex);

        if (copy != NULL) {
            break;
        }
    }

    *target_ms = (ngx_msec_t) copy->target_duration * 1000;
    track.dvr = copy;

    /* about 100 bytes a cue, a segment has one at most */
    return ngx_http_streamline_render(pool,
               256 + (size_t) (copy->next_msn - copy->first_msn + 1) * 100,
               ngx_http_streamline_vtt, &track, out);
}


/* this worker's copy buffer, need bytes at least (with room to grow) */
static ngx_int_t
ngx_http_streamline_copy_grow(size_t need)
{
    if (need <= ngx_http_streamline_copy_size) {
        return NGX_OK;
    }

    if (ngx_http_streamline_copy) {
        ngx_free(ngx_http_streamline_copy);
        ngx_http_streamline_copy_size = 0;
    }

    need += need / 4;

    ngx_http_streamline_copy = ngx_alloc(need, ngx_cycle->log);
    if (ngx_http_streamline_copy == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(ngx_http_streamline_copy, need);
    ngx_http_streamline_copy_size = need;

    return NGX_OK;
}


/* called with the zone locked: a few lines a rendition */
static ngx_int_t
ngx_http_streamline_master(ngx_pool_t *pool,
    ngx_streamline_channel_t *ch, ngx_streamline_hls_req_t *req,
    ngx_str_t *out)
{
    size_t                        n;
    ngx_uint_t                    i;
    sl_hls_variant_t              v[NGX_STREAMLINE_STORE_RUNGS];
    ngx_streamline_rendition_t   *r;
    ngx_http_streamline_master_t  master;

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

    master.v = v;
    master.n = n;

    return ngx_http_streamline_render(pool, 4096, ngx_http_streamline_variants,
                                      &master, out);
}


/*
 * Renders into the pool: into size bytes first, again into as many as
 * the renderer says it needs when that was not enough.
 */
static ngx_int_t
ngx_http_streamline_render(ngx_pool_t *pool, size_t size,
    ngx_http_streamline_render_pt render, void *data, ngx_str_t *out)
{
    size_t   len;
    u_char  *buf;

    for ( ;; ) {
        buf = ngx_pnalloc(pool, size);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        len = render(data, buf, size);

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


static size_t
ngx_http_streamline_media(void *data, u_char *buf, size_t size)
{
    ngx_http_streamline_media_t  *media = data;

    return sl_hls_media_playlist(media->dvr, media->opts, buf, size);
}


static size_t
ngx_http_streamline_variants(void *data, u_char *buf, size_t size)
{
    ngx_http_streamline_master_t  *master = data;

    return sl_hls_master_playlist(master->v, master->n, buf, size);
}


/*
 * A part file asked for: NGX_OK when the index lists it (the file is on
 * disk), NGX_AGAIN when it is the next one (the preload hint: the request
 * waits for it), NGX_DECLINED otherwise.
 */
ngx_int_t
ngx_http_streamline_part_ready(const u_char *channel, size_t channel_len,
    const u_char *rendition, size_t rendition_len, uint64_t msn,
    uint64_t part, ngx_streamline_hls_req_t *req)
{
    ngx_int_t                    rc;
    const sl_dvr_t              *dvr;
    ngx_slab_pool_t             *shpool;
    ngx_streamline_channel_t    *ch;
    ngx_streamline_rendition_t  *r;

    if (ngx_streamline_store_shm() == NULL) {
        return NGX_DECLINED;
    }

    shpool = ngx_streamline_store_pool();
    ngx_shmtx_lock(&shpool->mutex);

    ch = ngx_streamline_store_playable(channel, channel_len);
    r = ch ? ngx_streamline_store_find(ch, rendition, rendition_len) : NULL;

    rc = NGX_DECLINED;

    if (r) {
        dvr = r->dvr;
        req->target_ms = (ngx_msec_t) dvr->target_duration * 1000;
        req->gen = &dvr->gen;
        req->seen = dvr->gen;

        switch (sl_hls_part_ready(dvr, msn, part)) {

        case SL_HLS_READY:
            rc = NGX_OK;
            break;

        case SL_HLS_WAIT:
            rc = NGX_AGAIN;
            break;

        default:
            break;
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
ngx_http_streamline_coming(const u_char *channel, size_t len,
    const u_char *dir, ngx_streamline_hls_req_t *req)
{
    u_char                      *p, path[NGX_MAX_PATH];
    ngx_fd_t                     fd;
    ngx_int_t                    rc;
    ngx_uint_t                   busy;
    struct stat                  st;
    ngx_slab_pool_t             *shpool;
    ngx_streamline_store_shm_t  *shm;
    ngx_streamline_channel_t    *ch;

    if (ngx_streamline_store_shm() == NULL) {
        return NGX_DECLINED;
    }

    shpool = ngx_streamline_store_pool();
    shm = ngx_streamline_store_shm();

    ngx_shmtx_lock(&shpool->mutex);

    ch = ngx_streamline_store_channel(channel, len, 0);

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

    fd = ngx_streamline_store_open_live(dir, 0);

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


static size_t
ngx_http_streamline_vtt(void *data, u_char *buf, size_t size)
{
    ngx_http_streamline_track_t  *track = data;

    return sl_preview_vtt(track->dvr, &track->geom, buf, size);
}
