/*
 * What the pipeline threads report, written into the store: a part is
 * listed at once (LL-HLS), a segment closes it, segments that leave the
 * DVR window leave the disk, and the disk budget of the media path is
 * kept after each segment (see ngx_streamline_packager_budget).  Every
 * function here runs on a pipeline thread, most with the zone locked:
 * only unlink(2)s and a statvfs(2), no allocation, ngx_log_error() not at
 * all (ngx_streamline_thread_log()).
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <sys/statvfs.h>

#include "ngx_streamline_packager_int.h"


/* the newest segments a disk budget never trims: the live edge, with
 * its hold back (3 target durations) and some slack */
#define NGX_STREAMLINE_BUDGET_KEEP   6
#define NGX_STREAMLINE_BUDGET_TRIMS  64


static ngx_int_t ngx_streamline_packager_open_segment(
    ngx_streamline_packager_t *m, ngx_streamline_rendition_t *r,
    const sl_segment_info_t *seg);
static ngx_int_t ngx_streamline_packager_add_part(
    ngx_streamline_rendition_t *r, const sl_part_info_t *part);
static void ngx_streamline_packager_budget(ngx_streamline_packager_t *m);
static off_t ngx_streamline_packager_used(const u_char *root, size_t len);
static off_t ngx_streamline_packager_avail(const char *path);
static void ngx_streamline_packager_unlink_parts(
    ngx_streamline_channel_t *ch, ngx_streamline_rendition_t *r,
    uint64_t msn, size_t nparts);
static void ngx_streamline_packager_unlink(ngx_streamline_channel_t *ch,
    ngx_streamline_rendition_t *r, const sl_dvr_drop_t *d);


/* called with the zone locked */
static ngx_int_t
ngx_streamline_packager_open_segment(ngx_streamline_packager_t *m,
    ngx_streamline_rendition_t *r, const sl_segment_info_t *seg)
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
        ngx_streamline_thread_log(NGX_LOG_ERR,
                      "streamline: segment %uL of \"%s\" refused by the DVR "
                      "index (next %uL)", seg->msn, seg->rendition,
                      r->dvr->next_msn);
        return NGX_ERROR;
    }

    /* the scrubber preview the ladder took at this segment's start */
    if (seg->preview_tile
        && sl_dvr_preview(r->dvr, seg->preview_sheet, seg->preview_tile - 1)
           != SL_OK)
    {
        ngx_streamline_thread_log(NGX_LOG_ERR,
                      "streamline: the preview of segment %uL of \"%s\" "
                      "refused by the DVR index", seg->msn, seg->rendition);
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
ngx_streamline_packager_add_part(ngx_streamline_rendition_t *r,
    const sl_part_info_t *part)
{
    return sl_dvr_part_add(r->dvr, (uint32_t) part->duration_us,
                           (uint32_t) part->bytes,
                           part->independent ? SL_PART_INDEPENDENT : 0)
           == SL_OK ? NGX_OK : NGX_ERROR;
}


/* a part is on disk: playlists list it at once (LL-HLS) */
void
ngx_streamline_packager_part(void *data, const sl_segment_info_t *seg)
{
    ngx_streamline_packager_t  *m = data;

    ngx_slab_pool_t                   *shpool;
    ngx_streamline_rendition_t  *r;

    shpool = ngx_streamline_store_pool();
    ngx_shmtx_lock(&shpool->mutex);

    r = ngx_streamline_store_rendition(m->ch, seg->rendition);

    if (r != NULL && m->ch->generation == m->generation
        && (seg->nparts > 1 || ngx_streamline_packager_open_segment(m, r, seg) == NGX_OK)
        && r->dvr->open && r->dvr->cur.msn == seg->msn)
    {
        (void) ngx_streamline_packager_add_part(r, &seg->parts[seg->nparts - 1]);

        if (seg->nparts == 1) {
            /* a segment begins: the first makes a channel playable */
            ngx_streamline_store_changed();
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_streamline_store_notify();
}


void
ngx_streamline_packager_segment(void *data, const sl_segment_info_t *seg)
{
    ngx_streamline_packager_t *m = data;

    size_t                             i, n;
    uint64_t                           msn, bps;
    sl_dvr_drop_t                      drops[16];
    ngx_slab_pool_t                   *shpool;
    ngx_streamline_rendition_t  *r;

    msn = 0;
    shpool = ngx_streamline_store_pool();
    ngx_shmtx_lock(&shpool->mutex);

    r = ngx_streamline_store_rendition(m->ch, seg->rendition);

    if (r == NULL || m->ch->generation != m->generation
        || (seg->nparts == 0 && !seg->lost))
    {
        ngx_shmtx_unlock(&shpool->mutex);
        return;
    }

    if (seg->lost) {
        /* a write error: a gap keeps the numbers, trims go on */
        if ((r->dvr->open && r->dvr->cur.msn == seg->msn)
            || ngx_streamline_packager_open_segment(m, r, seg) == NGX_OK)
        {
            (void) sl_dvr_segment_lost(r->dvr,
                                       (uint32_t) ngx_max(seg->duration_us,
                                                          1000),
                                       &msn);
        }

    } else if (!r->dvr->open || r->dvr->cur.msn != seg->msn) {
        /* its parts were not indexed as they came: all of them now */
        if (ngx_streamline_packager_open_segment(m, r, seg) != NGX_OK) {
            ngx_shmtx_unlock(&shpool->mutex);
            return;
        }

        for (i = 0; i < seg->nparts; i++) {
            (void) ngx_streamline_packager_add_part(r, &seg->parts[i]);
        }
    }

    if (!seg->lost
        && (sl_dvr_segment_close(r->dvr, (uint32_t) seg->duration_us,
                                 seg->bytes, &msn)
            != SL_OK
            || msn != seg->msn))
    {
        ngx_streamline_thread_log(NGX_LOG_ERR,
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
        ngx_streamline_packager_unlink_parts(m->ch, r,
                                          seg->msn - SL_DVR_PART_SEGMENTS - 1,
                                          SL_PIPELINE_MAX_PARTS);
    }

    /* segments that left the window leave the disk too */
    do {
        n = sl_dvr_trim(r->dvr, drops, 16);

        for (i = 0; i < n; i++) {
            ngx_streamline_packager_unlink(m->ch, r, &drops[i]);
        }

    } while (n == 16);

    ngx_streamline_packager_budget(m);

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_streamline_store_notify();
}


/*
 * The disk budget of the media path, after each segment: while the DVRs
 * under the path hold more than streamline_media_max_size, or its
 * filesystem has less free than streamline_media_min_free, the oldest
 * segment under the path goes, from every rendition of its channel (live
 * edges excepted).  Called with the zone locked, on a pipeline thread: at
 * most NGX_STREAMLINE_BUDGET_TRIMS segments a call, the next segment goes
 * on (the lock is not held for a whole window's unlinks).
 */
static void
ngx_streamline_packager_budget(ngx_streamline_packager_t *m)
{
    off_t                        need, used, avail, freed;
    size_t                       i, n;
    int64_t                      pdt;
    uint64_t                     msn;
    ngx_uint_t                   c, k, trims;
    sl_dvr_seg_t                 seg;
    sl_dvr_drop_t                drops[16];
    ngx_streamline_store_shm_t  *shm;
    ngx_streamline_channel_t    *ch, *o, *oldest;
    ngx_streamline_rendition_t  *r;

    ch = m->ch;

    if (ch->max_size == 0 && ch->min_free == 0) {
        return;
    }

    need = 0;

    if (ch->max_size) {
        used = ngx_streamline_packager_used(ch->dir, ch->root_len);
        need = used - ch->max_size;
    }

    if (ch->min_free) {
        avail = ngx_streamline_packager_avail((char *) ch->dir);

        if (avail >= 0 && ch->min_free - avail > need) {
            need = ch->min_free - avail;
        }
    }

    if (need <= 0) {
        ch->over = 0;
        return;
    }

    shm = ngx_streamline_store_shm();

    for (trims = 0; need > 0 && trims < NGX_STREAMLINE_BUDGET_TRIMS; trims++)
    {
        /* the channel under the path whose oldest segment is oldest */

        oldest = NULL;
        pdt = 0;

        for (c = 0; c < NGX_STREAMLINE_STORE_CHANNELS; c++) {
            o = &shm->ch[c];

            if ((o->state != NGX_STREAMLINE_LIVE
                 && o->state != NGX_STREAMLINE_ENDED)
                || o->root_len != ch->root_len
                || ngx_memcmp(o->dir, ch->dir, ch->root_len + 1) != 0
                || o->r[0].dvr == NULL
                || o->r[0].dvr->next_msn - o->r[0].dvr->first_msn
                   <= NGX_STREAMLINE_BUDGET_KEEP
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
                ngx_streamline_thread_log(NGX_LOG_ERR,
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
                                   NGX_STREAMLINE_BUDGET_KEEP, drops, 16);

            for (i = 0; i < n; i++) {
                ngx_streamline_packager_unlink(oldest, r, &drops[i]);
                freed += drops[i].bytes;
            }
        }

        if (ch->over == 0) {
            ch->over = 1;
            ngx_streamline_thread_log(NGX_LOG_WARN,
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
ngx_streamline_packager_used(const u_char *root, size_t len)
{
    off_t                        used;
    ngx_uint_t                   c, k;
    ngx_streamline_store_shm_t  *shm;
    ngx_streamline_channel_t    *o;

    shm = ngx_streamline_store_shm();
    used = 0;

    for (c = 0; c < NGX_STREAMLINE_STORE_CHANNELS; c++) {
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
ngx_streamline_packager_avail(const char *path)
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
ngx_streamline_packager_room(const ngx_str_t *path, off_t max_size,
    off_t min_free, const u_char *channel, size_t len, ngx_log_t *log)
{
    off_t             used, avail;
    u_char            dir[NGX_MAX_PATH];
    ngx_slab_pool_t  *shpool;

    if (ngx_streamline_store_shm() == NULL || path->len >= NGX_MAX_PATH) {
        return NGX_OK;
    }

    if (min_free) {
        (void) ngx_cpystrn(dir, path->data, path->len + 1);
        avail = ngx_streamline_packager_avail((char *) dir);

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
        shpool = ngx_streamline_store_pool();
        ngx_shmtx_lock(&shpool->mutex);
        used = ngx_streamline_packager_used(path->data, path->len);
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


ngx_int_t
ngx_streamline_packager_admit(ngx_uint_t max, const u_char *channel,
    size_t len, ngx_log_t *log)
{
    ngx_uint_t                   c, live;
    ngx_slab_pool_t             *shpool;
    ngx_streamline_channel_t    *o;
    ngx_streamline_store_shm_t  *shm;

    shm = ngx_streamline_store_shm();

    if (max == 0 || shm == NULL) {
        return NGX_OK;
    }

    shpool = ngx_streamline_store_pool();
    live = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (c = 0; c < NGX_STREAMLINE_STORE_CHANNELS; c++) {
        o = &shm->ch[c];

        live += o->state == NGX_STREAMLINE_LIVE
                && !(o->name_len == len
                     && ngx_memcmp(o->name, channel, len) == 0);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (live >= max) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "streamline: channel \"%*s\" refused: %ui channels "
                      "are live, streamline_max_channels %ui", len, channel,
                      live, max);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* called with the zone locked: unlink(2)s, on the pipeline thread */
static void
ngx_streamline_packager_unlink_parts(ngx_streamline_channel_t *ch,
    ngx_streamline_rendition_t *r, uint64_t msn, size_t nparts)
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
ngx_streamline_packager_unlink(ngx_streamline_channel_t *ch,
    ngx_streamline_rendition_t *r, const sl_dvr_drop_t *d)
{
    char    name[SL_NAME_MAX];
    u_char  path[NGX_MAX_PATH + 128], *p;

    (void) sl_name_segment(name, sizeof(name), d->msn);
    p = ngx_snprintf(path, sizeof(path) - 1, "%s/%*s/%s",
                     ch->dir, r->name_len, r->name, name);
    *p = '\0';
    (void) unlink((char *) path);

    ngx_streamline_packager_unlink_parts(ch, r, d->msn, d->nparts);

    if (d->init_unused) {
        (void) sl_name_init(name, sizeof(name), d->init_id);
        p = ngx_snprintf(path, sizeof(path) - 1, "%s/%*s/%s",
                         ch->dir, r->name_len, r->name, name);
        *p = '\0';
        (void) unlink((char *) path);
    }

    /*
     * The sheet version written with this segment's tile: once its tile
     * leaves the window, previews.vtt names a later version or none (the
     * writer removed the others already, see core/sl_preview.c).
     */
    if (d->preview_tile) {
        (void) sl_name_preview(name, sizeof(name), d->preview_sheet,
                               d->preview_tile);
        p = ngx_snprintf(path, sizeof(path) - 1, "%s/" SL_NAME_PREVIEW_DIR
                         "/%s", ch->dir, name);
        *p = '\0';
        (void) unlink((char *) path);
    }
}
