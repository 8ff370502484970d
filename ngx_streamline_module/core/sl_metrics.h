/*
 * Streamline core: the metrics, as they lie in the shared memory zone
 * that every worker (and every packager thread) counts into, and their
 * rendering in the Prometheus text exposition format (version 0.0.4).
 *
 * Counters are only ever added to, with relaxed atomic adds (no lock on
 * any hot path); a channel's media counters are written by the one
 * worker that runs its pipeline, as stored totals.  A scrape copies the
 * zone (sl_metrics_copy) and renders the copy.  Label values come from
 * bounded sets: channel slots (SL_METRICS_CHANNELS, the oldest idle one
 * is reused), the renditions a channel's ladder has, fixed reasons and
 * status classes; nothing per client.
 */

#ifndef SL_METRICS_H
#define SL_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sl_core.h"
#include "sl_pipeline.h"


#define SL_METRICS_CHANNELS    64
#define SL_METRICS_RENDITIONS  (1 + SL_PIPELINE_MAX_RUNGS)
#define SL_METRICS_WORKERS     256
#define SL_METRICS_NAME        64

/* why a publish was refused */
typedef enum {
    SL_REFUSED_BAD_KEY = 0,     /* malformed or unknown stream key */
    SL_REFUSED_BUSY,            /* the channel is live elsewhere */
    SL_REFUSED_UNAVAILABLE,     /* keys in Redis, Redis away */
    SL_REFUSED_ON_PUBLISH,      /* the rest of the chain: on_publish,
                                   access rules */
    SL_REFUSED_NO_ROOM,         /* the media path's disk budget */
    SL_REFUSED_LIMIT,           /* no room for another channel */
    SL_REFUSED_N
} sl_refused_e;

/* what an HLS request asked for */
typedef enum {
    SL_FILE_PLAYLIST = 0,
    SL_FILE_PART,
    SL_FILE_SEGMENT,
    SL_FILE_INIT,
    SL_FILE_OTHER,
    SL_FILE_N
} sl_file_kind_e;

/* status classes: 2xx, 3xx, 4xx, 5xx (1xx and others count as 5xx) */
#define SL_CODE_N  4

/* the histogram of held requests' wake latency, µs bounds */
#define SL_WAKE_BUCKETS  10

extern const uint64_t  sl_wake_bounds_us[SL_WAKE_BUCKETS];

typedef struct {
    uint64_t  bucket[SL_WAKE_BUCKETS + 1];
    uint64_t  count;
    uint64_t  sum_us;
} sl_wake_hist_t;

/* a rendition's totals: every field a uint64_t (sl_metrics_add) */
typedef struct {
    uint64_t  frames_in;
    uint64_t  frames_out;
    uint64_t  frames_dropped;
    uint64_t  segments;
    uint64_t  segments_lost;
    uint64_t  write_errors;
    uint64_t  bytes;
    uint64_t  parts;
    uint64_t  part_sum_ms;
    uint64_t  part_bucket[SL_DELAY_BUCKETS + 1];
} sl_metrics_totals_t;

typedef struct {
    char                 name[SL_METRICS_NAME];
    sl_metrics_totals_t  t;
    uint64_t             encode_lag_ms;     /* gauge: the latest frame's */
    uint64_t             part_lag_ms;       /* gauge: the latest part's */
    uint64_t             dvr_ms;            /* gauge: the DVR window */
    uint64_t             dvr_bytes;         /* gauge: on disk */
    int64_t              segment_ms;        /* gauge: when a segment was
                                               last written (wall clock) */
} sl_metrics_rendition_t;

typedef struct {
    char                    name[SL_CHANNEL_MAX + 1];   /* "": free */
    uint32_t                live;
    uint32_t                nrenditions;
    int64_t                 pid;            /* the worker it is live in */
    uint64_t                target_ms;      /* its target duration */
    uint64_t                budget_bytes;   /* its media path's budget */
    int64_t                 idle_ms;        /* when it stopped being live */
    uint64_t                rtmp_bytes;
    uint64_t                packets_in;
    uint64_t                packets_out;
    uint64_t                packets_dropped;
    uint64_t                overloads;      /* the ladder's episodes */
    uint64_t                overloaded;     /* gauge: in one now */
    sl_metrics_rendition_t  r[SL_METRICS_RENDITIONS];
} sl_metrics_channel_t;

/* a worker's own gauges; pid 0: a free slot */
typedef struct {
    int64_t   pid;
    uint64_t  redis_used;          /* this worker talks to Redis */
    uint64_t  redis_connected;
    uint64_t  redis_queue;         /* transitions waiting */
    int64_t   redis_oldest_ms;     /* when the oldest was queued, 0 */
    uint64_t  held;                /* blocking requests held now */
} sl_metrics_worker_t;

typedef struct {
    uint64_t              publishes_accepted;
    uint64_t              publishes_refused[SL_REFUSED_N];
    uint64_t              hls_requests[SL_FILE_N][SL_CODE_N];
    uint64_t              held_total;
    uint64_t              held_answered;
    uint64_t              held_timeouts;
    uint64_t              held_refused;   /* beyond streamline_hls_max_held */
    sl_wake_hist_t        wake;
    uint64_t              changed_us;     /* an index changed (monotonic) */
    uint64_t              api_requests[SL_CODE_N];
    uint64_t              api_cache_hits;
    uint64_t              api_cache_refreshes;
    uint64_t              redis_reconnects;
    uint64_t              redis_written;
    uint64_t              redis_retried;
    uint64_t              redis_lost;
    uint64_t              redis_master_changes;   /* from sentinels, a
                                                     worker each */
    sl_metrics_worker_t   workers[SL_METRICS_WORKERS];
    sl_metrics_channel_t  ch[SL_METRICS_CHANNELS];
} sl_metrics_t;


/* relaxed atomics: counters from any thread or process, no lock */
#define sl_metric_add(p, n)  ((void) __atomic_fetch_add((p), (n),            \
                                                        __ATOMIC_RELAXED))
#define sl_metric_set(p, v)  __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define sl_metric_get(p)     __atomic_load_n((p), __ATOMIC_RELAXED)

/* the class index of an HTTP status, 0..SL_CODE_N - 1 */
size_t sl_metrics_code(unsigned status);

/* the kind of an HLS file name (the last path component) */
sl_file_kind_e sl_metrics_file_kind(const unsigned char *name, size_t len);

void sl_metrics_wake(sl_wake_hist_t *h, uint64_t us);

/*
 * The slot of a channel: its own, else a free one, else the idle one
 * that has been idle longest; NULL if every slot is live.  The caller
 * holds the zone's lock (slots are taken by publishes, never on a hot
 * path).  A slot taken anew starts from zero.
 */
sl_metrics_channel_t *sl_metrics_channel(sl_metrics_t *m,
    const unsigned char *name, size_t len);

/*
 * A rendition of a channel slot, by name: its own, else the next unused
 * index; a rendition whose name changed (a new ladder) starts from zero.
 * NULL beyond SL_METRICS_RENDITIONS.  The caller holds the zone's lock.
 */
sl_metrics_rendition_t *sl_metrics_rendition(sl_metrics_channel_t *c,
    const char *name);

/* dst = base + the pipeline's figures for a rendition */
void sl_metrics_totals(sl_metrics_totals_t *dst,
    const sl_metrics_totals_t *base, const sl_rendition_stats_t *st);

/* a copy of a rendition's totals, with atomic loads */
void sl_metrics_copy_totals(sl_metrics_totals_t *dst,
    const sl_metrics_totals_t *src);

/* a copy of the zone, field by field, with atomic loads */
void sl_metrics_copy(sl_metrics_t *dst, const sl_metrics_t *src);

/*
 * Renders a copy in the text exposition format, like snprintf(): writes
 * at most size bytes, a NUL included (size > 0), and returns the length
 * of the whole text, so that a result >= size says to call again with
 * more room.  Worker slots whose pid is not running (gone(pid) != 0) are
 * left out, and channels live in such a worker (killed) are not live.
 */
size_t sl_metrics_render(const sl_metrics_t *m, int (*gone)(int64_t pid),
    char *buf, size_t size);

#endif /* SL_METRICS_H */
