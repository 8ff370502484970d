/*
 * Streamline core: the metrics' slots and their Prometheus text
 * rendering.  See sl_metrics.h.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sl_metrics.h"
#include "sl_naming.h"


/* wake latency: 100 µs (at once) to 1 s (a tick missed many times) */
const uint64_t  sl_wake_bounds_us[SL_WAKE_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000
};


/* the metrics' buckets: 5 ms (a part written at once) to 5 s (behind) */
const uint64_t  sl_delay_bounds_ms[SL_DELAY_BUCKETS] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000
};


void
sl_delay_add(sl_delay_t *d, uint64_t ms)
{
    size_t  i;

    for (i = 0; i < SL_DELAY_BUCKETS && ms > sl_delay_bounds_ms[i]; i++) {
        /* void */
    }

    d->bucket[i]++;
    d->count++;
    d->sum_ms += ms;
    d->last_ms = ms;

    if (ms > d->max_ms) {
        d->max_ms = ms;
    }
}


typedef struct {
    char    *buf;
    size_t   size;
    size_t   len;
} sl_out_t;


static void sl_out(sl_out_t *o, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static void sl_out_head(sl_out_t *o, const char *name, const char *type,
    const char *help);
static void sl_out_one(sl_out_t *o, const char *name, const char *type,
    const char *help, uint64_t value);
static void sl_out_labels(sl_out_t *o, const char *channel,
    const char *rendition);
static void sl_out_histogram(sl_out_t *o, const char *name,
    const char *channel, const char *rendition, const uint64_t *bucket,
    const uint64_t *bounds, size_t n, double unit, uint64_t count,
    uint64_t sum);


static const char  *sl_refused_names[SL_REFUSED_N] = {
    "bad_key", "busy", "unavailable", "on_publish", "no_room", "limit"
};

static const char  *sl_kind_names[SL_FILE_N] = {
    "playlist", "part", "segment", "init", "other"
};

static const char  *sl_code_names[SL_CODE_N] = {
    "2xx", "3xx", "4xx", "5xx"
};


size_t
sl_metrics_code(unsigned status)
{
    if (status >= 200 && status < 600) {
        return status / 100 - 2;
    }

    return SL_CODE_N - 1;
}


sl_file_kind_e
sl_metrics_file_kind(const unsigned char *name, size_t len)
{
    size_t  i;

#define sl_ends(s)  (len >= sizeof(s) - 1                                    \
                     && memcmp(name + len - (sizeof(s) - 1), s,              \
                               sizeof(s) - 1) == 0)
#define sl_starts(s)  (len >= sizeof(s) - 1                                  \
                       && memcmp(name, s, sizeof(s) - 1) == 0)

    /* the last component only */
    for (i = len; i > 0; i--) {
        if (name[i - 1] == '/') {
            name += i;
            len -= i;
            break;
        }
    }

    if (sl_ends(".m3u8")) {
        return SL_FILE_PLAYLIST;
    }

    if (sl_ends(SL_NAME_MEDIA_SUFFIX)) {
        if (sl_starts(SL_NAME_PART_PREFIX)) {
            return SL_FILE_PART;
        }

        if (sl_starts(SL_NAME_SEGMENT_PREFIX)) {
            return SL_FILE_SEGMENT;
        }
    }

    if (sl_starts(SL_NAME_INIT_PREFIX) && sl_ends(SL_NAME_INIT_SUFFIX)) {
        return SL_FILE_INIT;
    }

#undef sl_ends
#undef sl_starts

    return SL_FILE_OTHER;
}


void
sl_metrics_wake(sl_wake_hist_t *h, uint64_t us)
{
    size_t  i;

    for (i = 0; i < SL_WAKE_BUCKETS && us > sl_wake_bounds_us[i]; i++) {
        /* void */
    }

    sl_metric_add(&h->bucket[i], 1);
    sl_metric_add(&h->sum_us, us);
    sl_metric_add(&h->count, 1);
}


sl_metrics_channel_t *
sl_metrics_channel(sl_metrics_t *m, const unsigned char *name, size_t len)
{
    size_t                 i;
    sl_metrics_channel_t  *c, *free, *idle;

    if (len == 0 || len > SL_CHANNEL_MAX) {
        return NULL;
    }

    free = NULL;
    idle = NULL;

    for (i = 0; i < SL_METRICS_CHANNELS; i++) {
        c = &m->ch[i];

        if (c->name[0] == '\0') {
            if (free == NULL) {
                free = c;
            }
            continue;
        }

        if (strlen(c->name) == len && memcmp(c->name, name, len) == 0) {
            return c;
        }

        if (!sl_metric_get(&c->live)
            && (idle == NULL || c->idle_ms < idle->idle_ms))
        {
            idle = c;
        }
    }

    c = free ? free : idle;

    if (c == NULL) {
        return NULL;
    }

    memset(c, 0, sizeof(sl_metrics_channel_t));
    memcpy(c->name, name, len);

    return c;
}


sl_metrics_rendition_t *
sl_metrics_rendition(sl_metrics_channel_t *c, const char *name)
{
    size_t                   i, len;
    sl_metrics_rendition_t  *r;

    len = strlen(name);

    if (len == 0 || len >= SL_METRICS_NAME) {
        return NULL;
    }

    for (i = 0; i < c->nrenditions; i++) {
        if (strcmp(c->r[i].name, name) == 0) {
            return &c->r[i];
        }
    }

    if (c->nrenditions == SL_METRICS_RENDITIONS) {
        return NULL;
    }

    r = &c->r[c->nrenditions];
    memset(r, 0, sizeof(sl_metrics_rendition_t));
    memcpy(r->name, name, len);
    sl_metric_set(&c->nrenditions, c->nrenditions + 1);

    return r;
}


void
sl_metrics_totals(sl_metrics_totals_t *dst, const sl_metrics_totals_t *base,
    const sl_rendition_stats_t *st)
{
    size_t  i;

    sl_metric_set(&dst->frames_in, base->frames_in + st->frames_in);
    sl_metric_set(&dst->frames_out, base->frames_out + st->frames_out);
    sl_metric_set(&dst->frames_dropped,
                  base->frames_dropped + st->frames_dropped);
    sl_metric_set(&dst->segments, base->segments + st->segments);
    sl_metric_set(&dst->segments_lost,
                  base->segments_lost + st->segments_lost);
    sl_metric_set(&dst->write_errors,
                  base->write_errors + st->write_errors);
    sl_metric_set(&dst->bytes, base->bytes + st->bytes);
    sl_metric_set(&dst->parts, base->parts + st->part_delay.count);
    sl_metric_set(&dst->part_sum_ms,
                  base->part_sum_ms + st->part_delay.sum_ms);

    for (i = 0; i <= SL_DELAY_BUCKETS; i++) {
        sl_metric_set(&dst->part_bucket[i],
                      base->part_bucket[i] + st->part_delay.bucket[i]);
    }
}


/* n 8-byte words, each with an atomic load */
static void
sl_metrics_copy_words(void *dst, const void *src, size_t size)
{
    size_t           i;
    uint64_t        *d = dst;
    const uint64_t  *s = src;

    for (i = 0; i < size / sizeof(uint64_t); i++) {
        d[i] = sl_metric_get(&s[i]);
    }
}


void
sl_metrics_copy_totals(sl_metrics_totals_t *dst,
    const sl_metrics_totals_t *src)
{
    sl_metrics_copy_words(dst, src, sizeof(sl_metrics_totals_t));
}


void
sl_metrics_copy(sl_metrics_t *dst, const sl_metrics_t *src)
{
    /* every field is 8 bytes wide and aligned, names included */
    sl_metrics_copy_words(dst, src, sizeof(sl_metrics_t));
}


size_t
sl_metrics_render(const sl_metrics_t *m, int (*gone)(int64_t pid), char *buf,
    size_t size)
{
    size_t                         i, k, j, live;
    uint64_t                       used, connected, queue, held, v;
    int64_t                        oldest;
    sl_out_t                       o;
    const sl_metrics_channel_t    *c;
    const sl_metrics_rendition_t  *r;

    o.buf = buf;
    o.size = size;
    o.len = 0;

    /* channels and publishes */

#define sl_live(c)  ((c)->live && !gone((c)->pid))

    live = 0;
    for (i = 0; i < SL_METRICS_CHANNELS; i++) {
        live += (m->ch[i].name[0] && sl_live(&m->ch[i]));
    }

    sl_out_one(&o, "streamline_channels_live", "gauge",
               "Channels live on this origin.", live);

    sl_out_one(&o, "streamline_publishes_accepted_total", "counter",
               "Publishes that went live.",
               m->publishes_accepted);

    sl_out_head(&o, "streamline_publishes_refused_total", "counter",
                "Publishes refused, by reason.");
    for (i = 0; i < SL_REFUSED_N; i++) {
        sl_out(&o, "streamline_publishes_refused_total{reason=\"%s\"} %llu\n",
               sl_refused_names[i],
               (unsigned long long) m->publishes_refused[i]);
    }

    /* HLS */

    sl_out_head(&o, "streamline_hls_requests_total", "counter",
                "HLS requests answered, by file kind and status class.");
    for (i = 0; i < SL_FILE_N; i++) {
        for (k = 0; k < SL_CODE_N; k++) {
            sl_out(&o, "streamline_hls_requests_total{kind=\"%s\","
                   "code=\"%s\"} %llu\n", sl_kind_names[i], sl_code_names[k],
                   (unsigned long long) m->hls_requests[i][k]);
        }
    }

    held = 0;
    for (i = 0; i < SL_METRICS_WORKERS; i++) {
        if (m->workers[i].pid && !gone(m->workers[i].pid)) {
            held += m->workers[i].held;
        }
    }

    sl_out_one(&o, "streamline_hls_held_requests", "gauge",
               "Blocking playlist and part requests held now.",
               held);

    sl_out_one(&o, "streamline_hls_held_total", "counter",
               "Blocking requests held until their part.",
               m->held_total);
    sl_out_one(&o, "streamline_hls_held_answered_total", "counter",
               "Held requests answered when their part came.",
               m->held_answered);
    sl_out_one(&o, "streamline_hls_held_timeouts_total", "counter",
               "Held requests answered 503: their part did not come in "
               "time.",
               m->held_timeouts);
    sl_out_one(&o, "streamline_hls_held_refused_total", "counter",
               "Blocking requests refused 503 beyond "
               "streamline_hls_max_held.",
               m->held_refused);

    sl_out_head(&o, "streamline_hls_wake_seconds", "histogram",
                "From a part written to a held request for it answered.");
    sl_out_histogram(&o, "streamline_hls_wake_seconds", NULL, NULL,
                     m->wake.bucket, sl_wake_bounds_us, SL_WAKE_BUCKETS,
                     1e-6, m->wake.count, m->wake.sum_us);

    /* the API */

    sl_out_head(&o, "streamline_api_requests_total", "counter",
                "/api/stream requests, by status class.");
    for (k = 0; k < SL_CODE_N; k++) {
        sl_out(&o, "streamline_api_requests_total{code=\"%s\"} %llu\n",
               sl_code_names[k], (unsigned long long) m->api_requests[k]);
    }

    sl_out_one(&o, "streamline_api_cache_hits_total", "counter",
               "/api/stream answers from the in-memory cache.",
               m->api_cache_hits);
    sl_out_one(&o, "streamline_api_cache_refreshes_total", "counter",
               "/api/stream answers that read Redis.",
               m->api_cache_refreshes);

    /* Redis */

    used = 0;
    connected = 0;
    queue = 0;
    oldest = 0;

    for (i = 0; i < SL_METRICS_WORKERS; i++) {
        const sl_metrics_worker_t  *w = &m->workers[i];

        if (w->pid == 0 || !w->redis_used || gone(w->pid)) {
            continue;
        }

        used++;
        connected += (w->redis_connected != 0);
        queue += w->redis_queue;

        if (w->redis_oldest_ms && (oldest == 0 || w->redis_oldest_ms < oldest))
        {
            oldest = w->redis_oldest_ms;
        }
    }

    sl_out_one(&o, "streamline_redis_workers", "gauge",
               "Workers that use Redis.",
               used);
    sl_out_one(&o, "streamline_redis_connected_workers", "gauge",
               "Workers connected to Redis (and answered).",
               connected);
    sl_out_one(&o, "streamline_redis_reconnects_total", "counter",
               "Connections to Redis lost and made again.",
               m->redis_reconnects);
    sl_out_one(&o, "streamline_redis_master_changes_total", "counter",
               "Redis masters followed to a new address (sentinels), "
               "counted by each worker.",
               m->redis_master_changes);
    sl_out_one(&o, "streamline_redis_queue_length", "gauge",
               "State transitions waiting to be written to Redis.",
               queue);
    sl_out_head(&o, "streamline_redis_queue_oldest_timestamp_seconds",
                "gauge", "When the oldest waiting transition was queued "
                "(0: none).");
    sl_out(&o, "streamline_redis_queue_oldest_timestamp_seconds %lld.%03lld\n",
           (long long) (oldest / 1000), (long long) (oldest % 1000));
    sl_out_head(&o, "streamline_redis_transitions_total", "counter",
                "State transitions, by outcome (lost must stay 0).");
    sl_out(&o, "streamline_redis_transitions_total{result=\"written\"} %llu\n",
           (unsigned long long) m->redis_written);
    sl_out(&o, "streamline_redis_transitions_total{result=\"retried\"} %llu\n",
           (unsigned long long) m->redis_retried);
    sl_out(&o, "streamline_redis_transitions_total{result=\"lost\"} %llu\n",
           (unsigned long long) m->redis_lost);

    /* per channel */

#define sl_each_channel                                                      \
    for (i = 0; i < SL_METRICS_CHANNELS; i++)                                \
        if ((c = &m->ch[i])->name[0] != '\0')

#define sl_each_rendition                                                    \
    sl_each_channel                                                          \
        for (j = 0; j < c->nrenditions && j < SL_METRICS_RENDITIONS; j++)    \
            if ((r = &c->r[j])->name[0] != '\0')

#define sl_channel_metric(metric, type, help, value)                         \
    sl_out_head(&o, metric, type, help);                                     \
    sl_each_channel {                                                        \
        sl_out(&o, metric);                                                  \
        sl_out_labels(&o, c->name, NULL);                                    \
        sl_out(&o, " %llu\n", (unsigned long long) (value));                 \
    }

    sl_channel_metric("streamline_channel_live", "gauge",
                      "1 while the channel is live here.",
                      sl_live(c) ? 1 : 0)

    sl_channel_metric("streamline_rtmp_bytes_total", "counter",
                      "Audio and video bytes received from the publisher.",
                      c->rtmp_bytes)

    sl_channel_metric("streamline_target_duration_seconds", "gauge",
                      "The channel's EXT-X-TARGETDURATION.",
                      c->target_ms / 1000)

    sl_channel_metric("streamline_media_budget_bytes", "gauge",
                      "streamline_media_max_size of the channel's media path "
                      "(0: none).",
                      c->budget_bytes)

    sl_out_head(&o, "streamline_pipeline_packets_total", "counter",
                "Packets into the pipeline, out of its queue, and dropped "
                "(queue full).");
    sl_each_channel {
        const char  *what[3] = { "in", "out", "dropped" };
        uint64_t     n[3];

        n[0] = c->packets_in;
        n[1] = c->packets_out;
        n[2] = c->packets_dropped;

        for (k = 0; k < 3; k++) {
            sl_out(&o, "streamline_pipeline_packets_total{channel=\"%s\","
                   "result=\"%s\"} %llu\n", c->name, what[k],
                   (unsigned long long) n[k]);
        }
    }

    sl_out_head(&o, "streamline_frames_total", "counter",
                "Video frames a ladder rendition took in, encoded, and "
                "dropped (late: the overload policy).");
    sl_each_rendition {
        const char  *what[3] = { "in", "out", "dropped" };
        uint64_t     n[3];

        if (j == 0) {
            continue;       /* the source is remuxed: no frames */
        }

        n[0] = r->t.frames_in;
        n[1] = r->t.frames_out;
        n[2] = r->t.frames_dropped;

        for (k = 0; k < 3; k++) {
            sl_out(&o, "streamline_frames_total{channel=\"%s\","
                   "rendition=\"%s\",result=\"%s\"} %llu\n", c->name,
                   r->name, what[k], (unsigned long long) n[k]);
        }
    }

    sl_channel_metric("streamline_ladder_overloaded", "gauge",
                      "1 while the channel's ladder drops late video frames "
                      "(an overload episode, streamline_ladder_max_lag).",
                      c->overloaded && sl_live(c) ? 1 : 0)

    sl_channel_metric("streamline_ladder_overloads_total", "counter",
                      "Overload episodes of the channel's ladder.",
                      c->overloads)

#define sl_rendition_counter(metric, field, type, help)                      \
    sl_out_head(&o, metric, type, help);                                     \
    sl_each_rendition {                                                      \
        v = r->field;                                                        \
        sl_out(&o, metric);                                                  \
        sl_out_labels(&o, c->name, r->name);                                 \
        sl_out(&o, " %llu\n", (unsigned long long) v);                       \
    }

    sl_rendition_counter("streamline_segments_total", t.segments, "counter",
                         "Media segments written.")
    sl_rendition_counter("streamline_parts_total", t.parts, "counter",
                         "LL-HLS parts written.")
    sl_rendition_counter("streamline_media_bytes_total", t.bytes, "counter",
                         "Bytes of media segments written.")
    sl_rendition_counter("streamline_write_errors_total", t.write_errors,
                         "counter", "Write failures (episodes: the first "
                         "failure after a success).")
    sl_rendition_counter("streamline_segments_lost_total", t.segments_lost,
                         "counter", "Segments that could not be written "
                         "(gaps in the playlist).")
    sl_rendition_counter("streamline_dvr_bytes", dvr_bytes, "gauge",
                         "Bytes of the DVR window on disk.")

    sl_out_head(&o, "streamline_dvr_seconds", "gauge",
                "The DVR window's length.");
    sl_each_rendition {
        sl_out(&o, "streamline_dvr_seconds");
        sl_out_labels(&o, c->name, r->name);
        sl_out(&o, " %llu.%03llu\n", (unsigned long long) (r->dvr_ms / 1000),
               (unsigned long long) (r->dvr_ms % 1000));
    }

    sl_out_head(&o, "streamline_last_segment_timestamp_seconds", "gauge",
                "When the rendition's latest segment was written (within "
                "a second; 0: none yet).");
    sl_each_rendition {
        sl_out(&o, "streamline_last_segment_timestamp_seconds");
        sl_out_labels(&o, c->name, r->name);
        sl_out(&o, " %lld\n", (long long) (r->segment_ms / 1000));
    }

    sl_out_head(&o, "streamline_encoder_lag_seconds", "gauge",
                "How long after its frame came in the latest frame was "
                "encoded (a ladder rendition's lag behind real time).");
    sl_each_rendition {
        if (j == 0) {
            continue;
        }

        sl_out(&o, "streamline_encoder_lag_seconds");
        sl_out_labels(&o, c->name, r->name);
        sl_out(&o, " %llu.%03llu\n",
               (unsigned long long) (r->encode_lag_ms / 1000),
               (unsigned long long) (r->encode_lag_ms % 1000));
    }

    sl_out_head(&o, "streamline_part_write_seconds", "histogram",
                "From a part's last frame in to the part written.");
    sl_each_rendition {
        sl_out_histogram(&o, "streamline_part_write_seconds", c->name,
                         r->name, r->t.part_bucket, sl_delay_bounds_ms,
                         SL_DELAY_BUCKETS, 1e-3, r->t.parts,
                         r->t.part_sum_ms);
    }

#undef sl_rendition_counter
#undef sl_channel_metric
#undef sl_each_rendition
#undef sl_each_channel
#undef sl_live

    return o.len;
}


static void
sl_out(sl_out_t *o, const char *fmt, ...)
{
    int      n;
    size_t   room;
    va_list  args;

    /* like snprintf(): once out of room, only the length grows */
    room = o->len < o->size ? o->size - o->len : 0;

    va_start(args, fmt);
    n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, args);
    va_end(args);

    if (n > 0) {
        o->len += (size_t) n;
    }
}


static void
sl_out_head(sl_out_t *o, const char *name, const char *type,
    const char *help)
{
    sl_out(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}


/* a metric of one sample, without labels */
static void
sl_out_one(sl_out_t *o, const char *name, const char *type, const char *help,
    uint64_t value)
{
    sl_out_head(o, name, type, help);
    sl_out(o, "%s %llu\n", name, (unsigned long long) value);
}


/* channel and rendition names are [A-Za-z0-9_-]: nothing to escape */
static void
sl_out_labels(sl_out_t *o, const char *channel, const char *rendition)
{
    if (rendition) {
        sl_out(o, "{channel=\"%s\",rendition=\"%s\"}", channel, rendition);

    } else {
        sl_out(o, "{channel=\"%s\"}", channel);
    }
}


static void
sl_out_histogram(sl_out_t *o, const char *name, const char *channel,
    const char *rendition, const uint64_t *bucket, const uint64_t *bounds,
    size_t n, double unit, uint64_t count, uint64_t sum)
{
    size_t    i;
    uint64_t  acc;
    char      labels[2 * SL_METRICS_NAME + 64];

    if (channel) {
        snprintf(labels, sizeof(labels), "channel=\"%s\",rendition=\"%s\",",
                 channel, rendition);

    } else {
        labels[0] = '\0';
    }

    acc = 0;

    for (i = 0; i < n; i++) {
        acc += bucket[i];
        sl_out(o, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels,
               (double) bounds[i] * unit, (unsigned long long) acc);
    }

    /* +Inf is the count: a scrape may see a bucket before its count */
    acc += bucket[n];
    if (count < acc) {
        count = acc;
    }

    sl_out(o, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
           (unsigned long long) count);
    sl_out(o, "%s_sum%s%.*s%s %.6f\n", name, labels[0] ? "{" : "",
           labels[0] ? (int) strlen(labels) - 1 : 0, labels,
           labels[0] ? "}" : "", (double) sum * unit);
    sl_out(o, "%s_count%s%.*s%s %llu\n", name, labels[0] ? "{" : "",
           labels[0] ? (int) strlen(labels) - 1 : 0, labels,
           labels[0] ? "}" : "", (unsigned long long) count);
}
