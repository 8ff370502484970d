/*
 * The media pipeline: see sl_pipeline.h, and sl_pipeline_int.h for the
 * files it is made of.  This one holds the public side, called from the
 * nginx worker's event loop, and what the threads share: the log and the
 * names file.
 *
 * Two threads a channel.  The packager thread takes what the publisher
 * sends, remuxes it into the source rendition and forwards it to the
 * ladder thread, which decodes the video once, scales and encodes it for
 * every rung and packages each rung.  The queue between the two is
 * bounded and drops video frames (up to the next keyframe) when the ladder
 * falls behind, so a slow encoder never stalls the source rendition.
 *
 * The packager thread decides where segments start (a video keyframe once
 * the segment has its target duration) and tells every rendition, so that
 * segment numbers and boundaries are the same in all renditions: encoders
 * are forced to an IDR frame at every segment start.
 *
 * A write error (ENOSPC, EMFILE, ...) loses the segment being written, not
 * the rendition: the muxer never sees the error (its output goes nowhere
 * until the segment ends), the segment is reported as lost (a gap in the
 * index, so numbers stay in step) and the next one is tried afresh.  One
 * log line when the failures begin and one when writing works again.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "sl_pipeline_int.h"


static int sl_header_admit(sl_pipeline_t *p, size_t len);


sl_pipeline_t *
sl_pipeline_start(const sl_pipeline_conf_t *conf)
{
    sl_pipeline_t  *p;

    p = sl_pipeline_create(conf);
    if (p == NULL) {
        return NULL;
    }

    if (p->has_ladder
        && pthread_create(&p->ladder_thread, NULL, sl_ladder_thread, p) != 0)
    {
        sl_pipeline_free(p);
        return NULL;
    }

    if (pthread_create(&p->packager_thread, NULL, sl_packager_thread, p)
        != 0)
    {
        if (p->has_ladder) {
            sl_msgq_stop(&p->to_ladder);
            pthread_join(p->ladder_thread, NULL);
        }

        sl_pipeline_free(p);
        return NULL;
    }

    return p;
}


sl_pipeline_t *
sl_pipeline_create(const sl_pipeline_conf_t *conf)
{
    size_t          i;
    sl_pipeline_t  *p;

    if (conf->nrungs > SL_PIPELINE_MAX_RUNGS) {
        return NULL;
    }

    p = calloc(1, sizeof(sl_pipeline_t));
    if (p == NULL) {
        return NULL;
    }

    p->conf = *conf;
    p->dir = strdup(conf->dir);
    p->rendition = strdup(conf->rendition);
    p->conf.dir = p->dir;
    p->conf.rendition = p->rendition;
    p->conf.names = NULL;
    p->has_ladder = conf->nrungs > 0;
    p->queue_bytes = conf->queue_bytes ? conf->queue_bytes : SL_QUEUE_BYTES;
    p->segment_max_ms = sl_pipeline_segment_max_us(conf->segment_us,
                                                   conf->part_us) / 1000;
    p->names.next_msn = conf->first_msn;
    p->names.next_init = conf->first_init_id;
    p->packager.next_msn = conf->first_msn;
    p->packager.ladder_cut = SL_NO_CUT;
    p->ladder.nrungs = conf->nrungs;
    sl_overload_init(&p->ladder.overload,
                     conf->max_lag_us > 0 ? conf->max_lag_us / 1000
                     : conf->max_lag_us < 0 ? INT64_MAX : SL_MAX_LAG_MS,
                     SL_OVERLOAD_QUIET_MS);

    if (p->dir == NULL || p->rendition == NULL) {
        goto failed;
    }

    if (conf->names) {
        p->conf.names = strdup(conf->names);
        if (p->conf.names == NULL) {
            goto failed;
        }
    }

    p->stats.nrenditions = 1 + conf->nrungs;
    sl_fmp4_init(&p->packager.source, p, p->rendition,
                 &p->stats.renditions[0]);

    for (i = 0; i < conf->nrungs; i++) {
        p->ladder.rungs[i].conf = conf->rungs[i];
        sl_fmp4_init(&p->ladder.rungs[i].out, p, conf->rungs[i].name,
                     &p->stats.renditions[1 + i]);
    }

    if (pthread_mutex_init(&p->stats_lock, NULL) != 0) {
        goto failed;
    }

    if (pthread_mutex_init(&p->names.lock, NULL) != 0) {
        goto failed_stats;
    }

    if (sl_msgq_init(&p->to_packager) != SL_OK) {
        goto failed_names;
    }

    if (sl_msgq_init(&p->to_ladder) != SL_OK) {
        goto failed_to_packager;
    }

    return p;

failed_to_packager:
    sl_msgq_destroy(&p->to_packager);
failed_names:
    pthread_mutex_destroy(&p->names.lock);
failed_stats:
    pthread_mutex_destroy(&p->stats_lock);
failed:
    free((char *) p->conf.names);
    free(p->dir);
    free(p->rendition);
    free(p);
    return NULL;
}


int64_t
sl_pipeline_segment_max_us(int64_t segment_us, int64_t part_us)
{
    int64_t  max;

    max = (segment_us + 999999) / 1000000 * 1000000 + 499000 - part_us;

    return sl_max(max, segment_us);
}


int
sl_pipeline_video_header(sl_pipeline_t *p, const uint8_t *avcc, size_t len,
    int width, int height, int fps)
{
    int        rc;
    sl_msg_t  *m;

    rc = sl_header_admit(p, len);
    if (rc != SL_OK) {
        return rc;
    }

    m = sl_msg_new(SL_MSG_VIDEO_HEADER, avcc, len);
    if (m == NULL) {
        return SL_ERROR;
    }

    /*
     * The size the SPS states, which the decoder and players go by; the
     * publisher's metadata (which may hold half of it, or nothing) only
     * when the SPS cannot be read.
     */
    (void) sl_avc_size(avcc, len, &width, &height);

    m->params.width = width;
    m->params.height = height;
    m->params.fps = fps > 0 && fps <= 240 ? fps : 30;
    sl_msgq_put(&p->to_packager, m);

    return SL_OK;
}


int
sl_pipeline_audio_header(sl_pipeline_t *p, const uint8_t *asc, size_t len,
    int sample_rate, int channels)
{
    int        rc;
    sl_msg_t  *m;

    rc = sl_header_admit(p, len);
    if (rc != SL_OK) {
        return rc;
    }

    m = sl_msg_new(SL_MSG_AUDIO_HEADER, asc, len);
    if (m == NULL) {
        return SL_ERROR;
    }

    m->params.sample_rate = sample_rate;
    m->params.channels = channels;
    sl_msgq_put(&p->to_packager, m);

    return SL_OK;
}


/*
 * A publisher may send headers as often as packets: they count in the
 * queue's bounds like packets (with a little slack, so that one that
 * follows a burst still gets through), and are small.
 */
static int
sl_header_admit(sl_pipeline_t *p, size_t len)
{
    int  rc;

    rc = SL_OK;

    if (len > SL_PIPELINE_MAX_HEADER) {
        rc = SL_ERROR;

    } else if (sl_msgq_full(&p->to_packager,
                            p->conf.queue_max + SL_HEADER_SLACK,
                            p->queue_bytes + SL_HEADER_SLACK
                                             * SL_PIPELINE_MAX_HEADER))
    {
        rc = SL_DECLINED;
    }

    if (rc != SL_OK) {
        pthread_mutex_lock(&p->stats_lock);
        p->stats.headers_dropped++;
        pthread_mutex_unlock(&p->stats_lock);
    }

    return rc;
}


int
sl_pipeline_push(sl_pipeline_t *p, int video, int64_t dts_ms, int32_t cts_ms,
    int key, int64_t wallclock_ms, const uint8_t *data, size_t len)
{
    sl_msg_t  *m;

    pthread_mutex_lock(&p->stats_lock);
    p->stats.packets_in++;
    pthread_mutex_unlock(&p->stats_lock);

    if (sl_msgq_full(&p->to_packager, p->conf.queue_max, p->queue_bytes)) {
        pthread_mutex_lock(&p->stats_lock);
        p->stats.packets_dropped++;
        pthread_mutex_unlock(&p->stats_lock);
        return SL_DECLINED;
    }

    m = sl_msg_new(SL_MSG_PACKET, data, len);
    if (m == NULL) {
        return SL_ERROR;
    }

    m->video = video ? 1 : 0;
    m->dts_ms = dts_ms;
    m->cts_ms = cts_ms;
    m->key = key;
    m->wallclock_ms = wallclock_ms;
    sl_msgq_put(&p->to_packager, m);

    return SL_OK;
}


void
sl_pipeline_stats(sl_pipeline_t *p, sl_pipeline_stats_t *st)
{
    pthread_mutex_lock(&p->stats_lock);
    *st = p->stats;
    pthread_mutex_unlock(&p->stats_lock);
}


void
sl_pipeline_stop(sl_pipeline_t *p)
{
    sl_msgq_stop(&p->to_packager);
    pthread_join(p->packager_thread, NULL);
    sl_pipeline_free(p);
}


void
sl_pipeline_finish(sl_pipeline_t *p)
{
    pthread_mutex_lock(&p->to_packager.lock);
    p->detached = 1;
    pthread_mutex_unlock(&p->to_packager.lock);

    pthread_detach(p->packager_thread);
    sl_msgq_stop(&p->to_packager);
}


void
sl_pipeline_free(sl_pipeline_t *p)
{
    sl_msgq_destroy(&p->to_packager);
    sl_msgq_destroy(&p->to_ladder);
    pthread_mutex_destroy(&p->stats_lock);
    pthread_mutex_destroy(&p->names.lock);

    free((char *) p->conf.names);
    free(p->packager.video_header.data);
    free(p->packager.audio_header.data);
    free(p->ladder.video_header.data);
    free(p->ladder.audio_header.data);
    free(p->dir);
    free(p->rendition);
    free(p);
}


int64_t
sl_pipeline_now_ms(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


void
sl_pipeline_delay(sl_pipeline_t *p, int64_t since_ms, sl_delay_t *d)
{
    int64_t  ms;

    if (since_ms < 0) {
        return;
    }

    ms = sl_pipeline_now_ms() - since_ms;
    if (ms < 0) {
        ms = 0;
    }

    pthread_mutex_lock(&p->stats_lock);
    sl_delay_add(d, (uint64_t) ms);
    pthread_mutex_unlock(&p->stats_lock);
}


void
sl_pipeline_log(sl_pipeline_t *p, int error, const char *fmt, ...)
{
    char     msg[512];
    va_list  args;

    if (p->conf.on_log == NULL) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    p->conf.on_log(p->conf.data, error, msg);
}


/*
 * Names never repeat: before a file takes a segment or init number, the
 * names file says that the next stream starts beyond it.  Written ahead,
 * a block at a time, from the pipeline threads.
 */
int
sl_names_use(sl_pipeline_t *p, uint64_t msn, unsigned init_id)
{
    int          rc;
    sl_names_t  *n = &p->names;

    rc = SL_OK;

    pthread_mutex_lock(&n->lock);

    if (msn != SL_NO_CUT && msn >= n->next_msn) {
        n->next_msn = msn + 1;
    }

    if (init_id >= n->next_init) {
        n->next_init = init_id + 1;
    }

    if (p->conf.names
        && (n->next_msn > n->reserved_msn || n->next_init > n->reserved_init))
    {
        if (sl_pipeline_names_store(p->conf.names,
                                    n->next_msn + SL_PIPELINE_NAMES_BLOCK,
                                    n->next_init + SL_PIPELINE_NAMES_BLOCK)
            == SL_OK)
        {
            n->reserved_msn = n->next_msn + SL_PIPELINE_NAMES_BLOCK;
            n->reserved_init = n->next_init + SL_PIPELINE_NAMES_BLOCK;

        } else {
            rc = SL_ERROR;
        }
    }

    pthread_mutex_unlock(&n->lock);

    return rc;
}


/* the stream ended: the next one starts right after what it used */
void
sl_names_end(sl_pipeline_t *p)
{
    uint64_t  msn;

    if (p->conf.names == NULL || p->names.reserved_msn == 0) {
        return;
    }

    msn = sl_max(p->names.next_msn, p->packager.next_msn);

    if (sl_pipeline_names_store(p->conf.names, msn, p->names.next_init)
        != SL_OK)
    {
        sl_pipeline_log(p, 1, "cannot write \"%s\": %s", p->conf.names,
                        strerror(errno));
    }
}


int
sl_pipeline_names_load(const char *path, uint64_t *msn, unsigned *init_id)
{
    int                 fd;
    char                buf[64];
    ssize_t             n;
    unsigned long long  next_msn, next_init;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return SL_DECLINED;
    }

    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);

    if (n <= 0) {
        return SL_DECLINED;
    }

    buf[n] = '\0';

    if (sscanf(buf, "%llu %llu", &next_msn, &next_init) != 2
        || next_msn > UINT64_MAX / 2 || next_init > UINT32_MAX)
    {
        return SL_DECLINED;
    }

    *msn = next_msn;
    *init_id = (unsigned) next_init;

    return SL_OK;
}


/* synced: after a crash the file holds the old numbers or the new */
int
sl_pipeline_names_store(const char *path, uint64_t msn, unsigned init_id)
{
    int   err, len;
    char  buf[64];

    len = snprintf(buf, sizeof(buf), "%llu %u\n", (unsigned long long) msn,
                   init_id);

    err = sl_file_replace(path, buf, len, 1);

    if (err) {
        errno = err;
        return SL_ERROR;
    }

    return SL_OK;
}
