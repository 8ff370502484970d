/*
 * The packager glue (see ngx_streamline_packager.h): a publish's pipeline
 * started (a DVR begun, resumed within the grace, or taken on from the
 * previous nginx) and finished, and the end of a channel's DVR: after the
 * grace any worker's cleanup timer discards it (the store removes its
 * files on a thread of its own), and a channel whose worker died is ended
 * for it.  The threads' reports of parts and segments go into the store
 * in ngx_streamline_packager_index.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <sys/file.h>

#include <libavutil/log.h>

#include "ngx_streamline_packager_int.h"


/* a channel whose worker died, for Redis once the zone is unlocked */
typedef struct {
    u_char                    channel[SL_CHANNEL_MAX + 1];
    size_t                    channel_len;
    u_char                    owner[SL_OWNER_MAX];
    size_t                    owner_len;
    ngx_pid_t                 pid;
    int64_t                   live_ms;
} ngx_streamline_orphan_t;


static uint32_t ngx_streamline_packager_ladder(
    ngx_streamline_packager_conf_t *mc);
static uint32_t ngx_streamline_packager_max_segments(
    ngx_streamline_packager_conf_t *mc);
static void ngx_streamline_packager_log(void *data, int error,
    const char *msg);
static void ngx_streamline_packager_end(void *data,
    const sl_pipeline_stats_t *st);
static void ngx_streamline_packager_ended(ngx_streamline_packager_t *m);
static void ngx_streamline_packager_cleanup_handler(ngx_event_t *ev);
static void ngx_streamline_packager_metrics_start(
    ngx_streamline_packager_t *m);
static void ngx_streamline_packager_metrics(ngx_streamline_packager_t *m,
    const sl_pipeline_stats_t *st);
static void ngx_streamline_packager_metrics_dvr(ngx_streamline_packager_t *m);


static ngx_streamline_packager_t        *ngx_streamline_packager_running;
static ngx_event_t                       ngx_streamline_packager_cleanup_ev;
static ngx_atomic_t                      ngx_streamline_packager_finishing;
static ngx_streamline_packager_drop_pt   ngx_streamline_packager_drop;


void
ngx_streamline_packager_set_drop(ngx_streamline_packager_drop_pt drop)
{
    ngx_streamline_packager_drop = drop;
}


void
ngx_streamline_packager_init_process(ngx_cycle_t *cycle)
{
    ngx_streamline_packager_running = NULL;

    if (ngx_streamline_store_shm() == NULL) {
        return;
    }

    /* libav* messages (to stderr) only when something is wrong */
    av_log_set_level(AV_LOG_ERROR);

    ngx_memzero(&ngx_streamline_packager_cleanup_ev, sizeof(ngx_event_t));
    ngx_streamline_packager_cleanup_ev.handler =
                                    ngx_streamline_packager_cleanup_handler;
    ngx_streamline_packager_cleanup_ev.log = cycle->log;
    ngx_streamline_packager_cleanup_ev.cancelable = 1;
    ngx_add_timer(&ngx_streamline_packager_cleanup_ev, 1000);

    ngx_streamline_thread_log_init(cycle);
}


void
ngx_streamline_packager_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_streamline_packager_t  *m;

    while ((m = ngx_streamline_packager_running) != NULL) {
        sl_pipeline_stop(m->pipeline);
        m->pipeline = NULL;
        ngx_streamline_packager_ended(m);
    }

    /* and lets the finishing ones write their last segment (5 s at most) */
    for (i = 0; i < 500 && ngx_streamline_packager_finishing; i++) {
        ngx_msleep(10);
    }
}


ngx_streamline_packager_t *
ngx_streamline_packager_start(ngx_streamline_packager_conf_t *mc, ngx_int_t *rc)
{
    u_char                       *p;
    size_t                        size;
    ngx_fd_t                      fd;
    uint64_t                      first_msn, names_msn;
    const char                   *why;
    uint32_t                      first_init, max_segments, ladder;
    unsigned                      names_init;
    ngx_uint_t                    i, resume, leftovers, busy;
    u_char                        snap_path[NGX_MAX_PATH];
    ngx_streamline_store_snap_t  *snap;
    sl_dvr_params_t               dp;
    ngx_slab_pool_t              *shpool;
    sl_pipeline_conf_t            pc;
    ngx_streamline_packager_t    *m;
    ngx_streamline_channel_t     *ch;
    ngx_streamline_rendition_t   *r;

    *rc = NGX_ERROR;

    if (ngx_streamline_store_shm() == NULL) {
        return NULL;
    }

    m = ngx_calloc(sizeof(ngx_streamline_packager_t), mc->log);
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

    ladder = ngx_streamline_packager_ladder(mc);
    leftovers = ngx_streamline_store_leftovers(mc->dir);
    busy = 0;
    snap = NULL;

    if (leftovers) {
        /*
         * Someone's files: a stream of another nginx (the old binary of
         * an upgrade) may still be ending there, and may leave its DVR
         * index to carry on (a small file, read once a publish)
         */
        fd = ngx_streamline_store_open_live(mc->dir, 0);

        if (fd != NGX_INVALID_FILE) {
            busy = flock(fd, LOCK_SH|LOCK_NB) == -1;
            (void) close(fd);
        }

        if (!busy) {
            snap = ngx_streamline_store_snap_read(mc->dir, 1 + mc->nrungs,
                                     ngx_streamline_packager_max_segments(mc),
                                     ladder, mc->grace, mc->log);
        }
    }

    shpool = ngx_streamline_store_pool();
    ngx_shmtx_lock(&shpool->mutex);

    ch = ngx_streamline_store_channel(mc->channel, mc->channel_len, 1);

    if (ch == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, mc->log, 0,
                      "streamline: no media for channel \"%*s\": too many "
                      "channels", mc->channel_len, mc->channel);
        ngx_free(snap);
        ngx_free(m);
        return NULL;
    }

    if (ngx_streamline_store_orphaned(ch)) {
        ngx_log_error(NGX_LOG_WARN, mc->log, 0,
                      "streamline: channel \"%*s\": its worker %P died, "
                      "the media record is taken over", mc->channel_len,
                      mc->channel, ch->pid);

        if (ch->state == NGX_STREAMLINE_LIVE) {
            /* its DVR goes on after a discontinuity, as on a republish */
            ngx_streamline_store_orphan_end(ch);

        } else {
            (void) ngx_streamline_store_discard(ch);
        }
    }

    if (ch->state == NGX_STREAMLINE_FREE && snap) {
        /* the DVR of the previous nginx goes on, as within the grace */
        if (ngx_streamline_store_snap_load(ch, snap) == NGX_OK) {
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

        if (ngx_streamline_store_discard(ch) != NGX_OK) {
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

    /* previews.vtt's tiles (the ladder's first rendition takes them) */
    ch->preview_width = (mc->previews && mc->nrungs) ? mc->preview_width : 0;
    ch->preview_height = (uint32_t) mc->preview_height;

    if (resume) {
        for (i = 0; i < ch->nrenditions; i++) {
            first_msn = ngx_max(first_msn, ch->r[i].dvr->next_msn);
            first_init = ngx_max(first_init, ch->r[i].dvr->init_id + 1);
            sl_dvr_resume(ch->r[i].dvr);
            /* not part of the DVR's shape: a reload may change it */
            sl_dvr_set_part_hold_back(ch->r[i].dvr,
                                      (uint32_t) mc->part_hold_back);
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

        max_segments = ngx_streamline_packager_max_segments(mc);

        ngx_memzero(&dp, sizeof(sl_dvr_params_t));
        dp.max_segments = max_segments;
        dp.max_parts = SL_PIPELINE_MAX_PARTS;
        dp.window_us = (uint64_t) mc->window * 1000;
        dp.target_duration = (uint32_t) (mc->segment + 999) / 1000;
        dp.part_target_us = (uint32_t) mc->part * 1000;
        dp.part_hold_back = (uint32_t) mc->part_hold_back;
        dp.first_msn = first_msn;

        size = sl_dvr_size(dp.max_segments, dp.max_parts);

        for (i = 0; i < ch->nrenditions; i++) {
            r = &ch->r[i];
            ngx_memzero(r, sizeof(ngx_streamline_rendition_t));

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
    ngx_streamline_store_changed();
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
    m->live = ngx_streamline_store_open_live(mc->dir, 1);

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
    pc.max_lag_us = (int64_t) mc->max_lag * 1000;
    pc.preview_us = (int64_t) mc->previews * 1000;
    pc.preview_width = (int) mc->preview_width;
    pc.preview_height = (int) mc->preview_height;
    pc.names = (char *) m->names_file;
    pc.first_msn = first_msn;
    pc.first_init_id = first_init;
    pc.resume = resume;
    pc.on_part = ngx_streamline_packager_part;
    pc.on_segment = ngx_streamline_packager_segment;
    pc.on_log = ngx_streamline_packager_log;
    pc.on_end = ngx_streamline_packager_end;
    pc.data = m;

    m->pipeline = sl_pipeline_start(&pc);

    if (m->pipeline == NULL) {
        ngx_log_error(NGX_LOG_ERR, mc->log, 0,
                      "streamline: cannot start the media pipeline");
        ngx_streamline_packager_ended(m);
        return NULL;
    }

    ngx_streamline_packager_metrics_start(m);

    m->next = ngx_streamline_packager_running;
    if (m->next) {
        m->next->prev = &m->next;
    }

    m->prev = &ngx_streamline_packager_running;
    ngx_streamline_packager_running = m;

    *rc = NGX_OK;

    return m;
}


/* what a DVR's renditions and index are made of, as one number */
static uint32_t
ngx_streamline_packager_ladder(ngx_streamline_packager_conf_t *mc)
{
    size_t            i, j;
    uint32_t          crc;
    uint64_t          shape[4];
    const char       *text[3];
    const sl_rung_t  *rung;

    shape[0] = mc->segment;
    shape[1] = mc->part;
    shape[2] = mc->window;
    /* the previews' tiles, as the DVR's sheets have them */
    shape[3] = (uint64_t) mc->preview_width << 16 | mc->preview_height;

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


static uint32_t
ngx_streamline_packager_max_segments(ngx_streamline_packager_conf_t *mc)
{
    return (uint32_t) (mc->window / ngx_max(mc->segment / 2, 1)) + 4;
}


sl_pipeline_t *
ngx_streamline_packager_pipeline(ngx_streamline_packager_t *m)
{
    return m->pipeline;
}


/* the session ends: the pipeline writes what it has, then ENDLIST */
void
ngx_streamline_packager_finish(ngx_streamline_packager_t *m)
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
    (void) ngx_atomic_fetch_add(&ngx_streamline_packager_finishing, 1);
    sl_pipeline_finish(p);
}


/* the pipeline threads */


static void
ngx_streamline_packager_log(void *data, int error, const char *msg)
{
    ngx_streamline_packager_t  *m = data;

    ngx_streamline_thread_log(error ? NGX_LOG_ERR : NGX_LOG_NOTICE,
                                    "streamline: channel \"%*s\": %s",
                                    m->ch->name_len, m->ch->name, msg);
}


static void
ngx_streamline_packager_end(void *data, const sl_pipeline_stats_t *st)
{
    ngx_uint_t                   i;
    const char                  *name;
    const sl_rendition_stats_t  *r;
    ngx_streamline_packager_t   *m = data;

    /* the stream's latency figures, per rendition (bench/player.sh) */
    for (i = 0; i < st->nrenditions; i++) {
        r = &st->renditions[i];
        name = i ? m->rungs[i - 1].name : SL_NAME_SOURCE;

        if (r->part_delay.count == 0) {
            continue;
        }

        if (r->encode_delay.count) {
            ngx_streamline_thread_log(NGX_LOG_NOTICE,
                "streamline: channel \"%*s\": rendition \"%s\": %uL parts "
                "written %uL ms (max %uL ms) after their last frame came "
                "in; frames encoded %uL ms (max %uL ms) after they came in",
                m->ch->name_len, m->ch->name, name, r->part_delay.count,
                r->part_delay.sum_ms / r->part_delay.count,
                r->part_delay.max_ms,
                r->encode_delay.sum_ms / r->encode_delay.count,
                r->encode_delay.max_ms);
        } else {
            ngx_streamline_thread_log(NGX_LOG_NOTICE,
                "streamline: channel \"%*s\": rendition \"%s\": %uL parts "
                "written %uL ms (max %uL ms) after their last frame came in",
                m->ch->name_len, m->ch->name, name, r->part_delay.count,
                r->part_delay.sum_ms / r->part_delay.count,
                r->part_delay.max_ms);
        }
    }

    m->pipeline = NULL;
    ngx_streamline_packager_metrics(m, st);
    ngx_streamline_packager_ended(m);
    (void) ngx_atomic_fetch_add(&ngx_streamline_packager_finishing, -1);
}


/* the last segment is indexed: ENDLIST, and the grace begins */
static void
ngx_streamline_packager_ended(ngx_streamline_packager_t *m)
{
    ngx_uint_t        i, ended;
    ngx_slab_pool_t  *shpool;
    ngx_streamline_channel_t  *ch = m->ch;

    if (m->prev && *m->prev == m) {
        *m->prev = m->next;
        if (m->next) {
            m->next->prev = m->prev;
        }
    }

    shpool = ngx_streamline_store_pool();
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
        ngx_streamline_store_changed();
        ended = 1;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_streamline_store_notify();

    /*
     * A worker that stops with nobody to carry its zone on (the old
     * workers of a binary upgrade, a stop): the index goes to disk, and a
     * publish of the channel within the grace on the next nginx (the new
     * binary) continues the DVR.  A fresh start removes it with the rest.
     */
    if (ended && ngx_exiting && !ngx_streamline_store_successor()) {
        ngx_streamline_store_snap_write(ch);
    }

    if (m->live != NGX_INVALID_FILE) {
        (void) close(m->live);
    }

    ngx_free(m);
}


/* the channel's metrics slots, and where this stream's figures start */
static void
ngx_streamline_packager_metrics_start(ngx_streamline_packager_t *m)
{
    size_t                   i;
    const char              *name;
    sl_metrics_channel_t    *c;
    sl_metrics_rendition_t  *r;

    c = ngx_streamline_metrics_channel(m->ch->name, m->ch->name_len);
    if (c == NULL) {
        return;
    }

    m->metrics = c;
    m->base_packets[0] = sl_metric_get(&c->packets_in);
    m->base_packets[1] = sl_metric_get(&c->packets_out);
    m->base_packets[2] = sl_metric_get(&c->packets_dropped);
    m->base_overloads = sl_metric_get(&c->overloads);

    for (i = 0; i <= m->nrungs; i++) {
        name = i ? m->rungs[i - 1].name : SL_NAME_SOURCE;
        r = ngx_streamline_metrics_rendition(c, name);
        m->mr[i] = r;

        if (r) {
            sl_metrics_copy_totals(&m->base[i], &r->t);
            /* no segment for 3 target durations counts from here */
            sl_metric_set(&r->segment_ms, ngx_streamline_now_ms());
        }
    }
}


/*
 * The stream's figures into its channel's slot: every second from the
 * event loop (st NULL: read from the pipeline), and once more at its end
 * from the pipeline's thread (st: the last figures).
 */
static void
ngx_streamline_packager_metrics(ngx_streamline_packager_t *m,
    const sl_pipeline_stats_t *st)
{
    size_t                   i;
    sl_pipeline_stats_t      now;
    sl_metrics_channel_t    *c = m->metrics;
    sl_metrics_rendition_t  *r;

    if (c == NULL) {
        return;
    }

    if (st == NULL) {
        if (m->pipeline == NULL) {
            return;
        }

        sl_pipeline_stats(m->pipeline, &now);
        st = &now;
    }

    sl_metric_set(&c->packets_in, m->base_packets[0] + st->packets_in);
    sl_metric_set(&c->packets_out, m->base_packets[1] + st->packets_out);
    sl_metric_set(&c->packets_dropped,
                  m->base_packets[2] + st->packets_dropped);
    sl_metric_set(&c->overloads, m->base_overloads + st->overloads);
    sl_metric_set(&c->overloaded,
                  (uint64_t) (m->pipeline && st->overloaded));

    for (i = 0; i < st->nrenditions && i <= m->nrungs; i++) {
        r = m->mr[i];
        if (r == NULL) {
            continue;
        }

        if (m->base[i].segments + st->renditions[i].segments
            > sl_metric_get(&r->t.segments))
        {
            /* also on the pipeline's thread: not nginx's cached time */
            sl_metric_set(&r->segment_ms, sl_pipeline_now_ms());
        }

        sl_metrics_totals(&r->t, &m->base[i], &st->renditions[i]);

        /* the lag of a stream that ended is none */
        sl_metric_set(&r->encode_lag_ms, m->pipeline
                      ? st->renditions[i].encode_delay.last_ms : 0);
        sl_metric_set(&r->part_lag_ms, m->pipeline
                      ? st->renditions[i].part_delay.last_ms : 0);
    }
}


/* locked: the DVR window of each of the stream's renditions */
static void
ngx_streamline_packager_metrics_dvr(ngx_streamline_packager_t *m)
{
    size_t                       i, k;
    uint64_t                     ms;
    sl_dvr_seg_t                 seg;
    const sl_dvr_t              *dvr;
    sl_metrics_rendition_t      *r;
    ngx_streamline_channel_t    *ch = m->ch;
    ngx_streamline_rendition_t  *sr;

    if (m->metrics == NULL || ch->generation != m->generation) {
        return;
    }

    sl_metric_set(&m->metrics->budget_bytes, (uint64_t) ch->max_size);

    for (i = 0; i < ch->nrenditions; i++) {
        sr = &ch->r[i];
        dvr = sr->dvr;

        if (dvr == NULL) {
            continue;
        }

        r = NULL;
        for (k = 0; k <= m->nrungs; k++) {
            if (m->mr[k] && ngx_strlen(m->mr[k]->name) == sr->name_len
                && ngx_memcmp(m->mr[k]->name, sr->name, sr->name_len) == 0)
            {
                r = m->mr[k];
                break;
            }
        }

        if (r == NULL) {
            continue;
        }

        ms = 0;

        if (dvr->next_msn > dvr->first_msn
            && sl_dvr_segment(dvr, dvr->first_msn, &seg) == SL_OK
            && dvr->end_us > seg.start_us)
        {
            ms = (dvr->end_us - seg.start_us) / 1000;
        }

        sl_metric_set(&r->dvr_ms, ms);
        sl_metric_set(&r->dvr_bytes, dvr->bytes);

        if (i == 0) {
            sl_metric_set(&m->metrics->target_ms,
                          (uint64_t) dvr->target_duration * 1000);
        }
    }
}


/* every worker, every second: DVRs whose grace is over are removed */
static void
ngx_streamline_packager_cleanup_handler(ngx_event_t *ev)
{
    int64_t                      now;
    ngx_uint_t                   i, n, k;
    ngx_slab_pool_t             *shpool;
    ngx_streamline_store_shm_t  *shm;
    ngx_streamline_channel_t    *ch;
    ngx_streamline_packager_t   *m;
    ngx_streamline_orphan_t      orphans[4];

    shpool = ngx_streamline_store_pool();
    shm = ngx_streamline_store_shm();
    now = ngx_streamline_now_ms();
    n = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < NGX_STREAMLINE_STORE_CHANNELS; i++) {
        ch = &shm->ch[i];

        if (ngx_streamline_store_orphaned(ch)) {
            if (ch->state == NGX_STREAMLINE_DELETING) {
                (void) ngx_streamline_store_discard(ch);
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

            ngx_streamline_store_orphan_end(ch);
            continue;
        }

        if (ch->state != NGX_STREAMLINE_ENDED || ch->keep
            || now < ch->ended_ms + ch->grace_ms)
        {
            continue;
        }

        (void) ngx_streamline_store_discard(ch);
    }

    /* this worker's streams: their DVR windows and their figures */
    for (m = ngx_streamline_packager_running; m; m = m->next) {
        ngx_streamline_packager_metrics_dvr(m);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    for (m = ngx_streamline_packager_running; m; m = m->next) {
        ngx_streamline_packager_metrics(m, NULL);
    }

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
                                        orphans[k].live_ms + 1,
                                        orphans[k].owner,
                                        orphans[k].owner_len);

        if (orphans[k].owner_len) {
            ngx_streamline_redis_release(orphans[k].channel,
                                         orphans[k].channel_len,
                                         orphans[k].owner,
                                         orphans[k].owner_len);
        }
    }

    if (n) {
        ngx_streamline_store_notify();
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
    ngx_streamline_store_leave();

    if (!ngx_streamline_store_successor() && ngx_streamline_packager_drop) {
        ngx_streamline_packager_drop((ngx_cycle_t *) ngx_cycle, 0);
    }
}
