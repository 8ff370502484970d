/*
 * Streamline media pipeline: takes a channel's published H.264/AAC packets
 * (as RTMP carries them: AVCC NAL units with millisecond timestamps, raw
 * AAC frames) and packages them, on a thread of its own, as fMP4/CMAF: an
 * init segment and media segments built from fragments (parts), written
 * through libavformat's mp4 muxer into a directory.  Pure C: no nginx.
 *
 * Files appear complete: each is written under a ".tmp" name and renamed.
 * Each part is also written as a file of its own (part-<msn>.<i>.m4s, for
 * LL-HLS), as soon as it is complete.  The caller learns about every part
 * through on_part and every finished segment through on_segment, called
 * from the pipeline threads.
 */

#ifndef SL_PIPELINE_H
#define SL_PIPELINE_H

#include <stddef.h>
#include <stdint.h>


#define SL_PIPELINE_MAX_PARTS  64


typedef struct {
    int64_t   duration_us;
    uint64_t  offset;            /* in the segment file */
    uint64_t  bytes;
    unsigned  independent:1;     /* its first video frame is an IDR
                                    frame (no video stream: always) */
} sl_part_info_t;

typedef struct {
    const char      *rendition;
    uint64_t         msn;        /* media sequence number */
    int64_t          duration_us;
    int64_t          pdt_ms;     /* wall clock of the first sample */
    uint64_t         bytes;
    unsigned         init_id;    /* init-<init_id>.mp4 */
    unsigned         discontinuity:1;
    unsigned         lost:1;     /* could not be written: no file; index
                                    it as a gap of duration_us */
    unsigned         preview_tile;   /* a scrubber preview of its start:
                                        tile preview_tile - 1 (0: none) */
    uint64_t         preview_sheet;  /* of the sheet <sheet>-<n>.jpg */
    const char      *codecs;     /* RFC 6381, e.g. "avc1.64001f,mp4a.40.2" */
    int              width;
    int              height;
    int              fps;
    size_t           nparts;
    sl_part_info_t   parts[SL_PIPELINE_MAX_PARTS];
} sl_segment_info_t;

#define SL_PIPELINE_MAX_RUNGS  8

/*
 * A delay, in ms: how many, their sum, the largest and the latest, and a
 * histogram over SL_DELAY_BUCKETS upper bounds (sl_delay_bounds_ms, the
 * Prometheus buckets of the metrics; bucket[i] counts delays <= bound i
 * and > bound i - 1, the last one those above every bound).
 */
#define SL_DELAY_BUCKETS  10

extern const uint64_t  sl_delay_bounds_ms[SL_DELAY_BUCKETS];

typedef struct {
    uint64_t  count;
    uint64_t  sum_ms;
    uint64_t  max_ms;
    uint64_t  last_ms;
    uint64_t  bucket[SL_DELAY_BUCKETS + 1];
} sl_delay_t;

/* records one delay */
void sl_delay_add(sl_delay_t *d, uint64_t ms);

typedef struct {
    uint64_t  frames_in;
    uint64_t  frames_out;
    uint64_t  frames_dropped;    /* fell behind */
    uint64_t  segments;
    uint64_t  bytes;
    uint64_t  segments_lost;     /* write errors: no file, a gap */
    uint64_t  write_errors;      /* episodes: failures after a success */
    /* latency: a part written, after its last frame came in (the
     * wallclock_ms of sl_pipeline_push()); for the ladder also an encoded
     * frame out, after its frame came in: its lag behind real time */
    sl_delay_t  part_delay;
    sl_delay_t  encode_delay;
} sl_rendition_stats_t;

typedef struct {
    uint64_t              packets_in;
    uint64_t              packets_out;
    uint64_t              packets_dropped;   /* queue full */
    uint64_t              headers_dropped;   /* queue full, or too big */
    uint64_t              segments;
    uint64_t              bytes;
    uint64_t              overloads;         /* the ladder's episodes */
    int                   overloaded;        /* in one now */
    size_t                nrenditions;       /* [0] is the source */
    sl_rendition_stats_t  renditions[1 + SL_PIPELINE_MAX_RUNGS];
} sl_pipeline_stats_t;

/*
 * The ladder's overload policy, pure (the ladder thread keeps one).  A
 * video frame that has waited more than max_lag_ms for the ladder (its
 * lag: taken from the queue that long after it came in) is dropped, and
 * so is every video frame after it up to the next keyframe that is on
 * time: the decoder needs every reference, and a keyframe restarts it.
 * Audio always passes.  So no frame is encoded later than max_lag_ms
 * after it came in (plus its own encoding): an overloaded ladder keeps
 * real time with fewer frames, rather than falling behind without bound.
 *
 * An episode begins with its first drop and ends once no frame has been
 * dropped for quiet_ms: sl_overload_video() says so (SL_OVERLOAD_BEGAN,
 * SL_OVERLOAD_ENDED in *event), for one log line each.
 */
typedef struct {
    int64_t   max_lag_ms;
    int64_t   quiet_ms;
    int       skipping;          /* up to the next keyframe on time */
    int       episode;           /* one is going on */
    int64_t   began_ms;          /* the episode's first drop */
    int64_t   last_drop_ms;
    int64_t   worst_lag_ms;      /* the episode's */
    uint64_t  dropped;           /* the episode's frames */
} sl_overload_t;

#define SL_OVERLOAD_NONE   0
#define SL_OVERLOAD_BEGAN  1
#define SL_OVERLOAD_ENDED  2

void sl_overload_init(sl_overload_t *o, int64_t max_lag_ms,
    int64_t quiet_ms);
/*
 * A video frame taken from the queue at now_ms, lag_ms after it came in
 * (< 0: not known, taken as on time): 1 to drop it, 0 to encode it.  An
 * episode that ended is reported before the frame's own verdict, and *o
 * keeps its figures until the next episode begins.
 */
int sl_overload_video(sl_overload_t *o, int key, int64_t lag_ms,
    int64_t now_ms, int *event);
/* the stream ends: 1 if an episode was going on (now ended) */
int sl_overload_stop(sl_overload_t *o);

typedef void (*sl_segment_pt)(void *data, const sl_segment_info_t *seg);
/* seg->parts[seg->nparts - 1] is the part just written; with nparts 1 the
 * segment has just begun (its msn, pdt, init and discontinuity are set) */
typedef void (*sl_part_pt)(void *data, const sl_segment_info_t *seg);
typedef void (*sl_log_pt)(void *data, int error, const char *msg);
typedef void (*sl_end_pt)(void *data, const sl_pipeline_stats_t *st);

/* a ladder rendition: decoded once, scaled, encoded with libx264 */
typedef struct {
    const char      *name;
    int              width;
    int              height;
    int              bitrate_kbps;
    const char      *preset;     /* x264 preset, e.g. "veryfast" */
    const char      *profile;    /* x264 profile, e.g. "main" */
} sl_rung_t;

typedef struct {
    const char      *dir;        /* the channel's directory: renditions in
                                    <dir>/<rendition>/, existing */
    const char      *rendition;  /* the remuxed source, e.g. "source" */
    const sl_rung_t *rungs;      /* the ladder, may be empty */
    size_t           nrungs;
    int              threads;    /* x264 threads per rung, 0: auto */
    int64_t          segment_us; /* target segment duration */
    int64_t          part_us;    /* fragment duration */
    size_t           queue_max;  /* packets waiting, at most, for the
                                    packager and again for the ladder */
    size_t           queue_bytes;  /* and their bytes (0: 64 MB) */
    int64_t          max_lag_us; /* the ladder drops video frames that
                                    waited longer for it (0: 1 s; < 0:
                                    never, for input faster than real
                                    time), see sl_overload_t */
    const char      *names;      /* keeps the next segment and init
                                    numbers across streams (NULL: none),
                                    see sl_pipeline_names_load */
    uint64_t         first_msn;
    unsigned         first_init_id;
    int64_t          preview_us; /* a scrubber preview at a segment start
                                    this long after the last one, from the
                                    ladder's decoded frames, into
                                    <dir>/previews/ (0: none) */
    int              preview_width;   /* of a tile */
    int              preview_height;
    int              resume;     /* the first segment follows an earlier
                                    stream: EXT-X-DISCONTINUITY */
    sl_part_pt       on_part;
    sl_segment_pt    on_segment;
    sl_log_pt        on_log;
    sl_end_pt        on_end;     /* after the last segment, see finish */
    void            *data;
} sl_pipeline_conf_t;

typedef struct sl_pipeline_s  sl_pipeline_t;

/* NULL on failure (out of memory, no thread) */
sl_pipeline_t *sl_pipeline_start(const sl_pipeline_conf_t *conf);

/*
 * Segments start on a video keyframe once the segment has segment_us
 * (on audio when there is no video).  When no keyframe comes in time
 * (long GOP, intra refresh) or the video pauses while audio goes on, a
 * segment starts on time anyway, on another frame, and is then not
 * independent: at the first frame from sl_pipeline_segment_max_us() on
 * (the target duration, segment_us rounded up to whole seconds, plus 499
 * ms less a part: a frame or a pause of up to a part later, its EXTINF
 * still rounds to the target), never before segment_us.  Parts likewise
 * end on audio when the video pauses; a part is independent only when
 * its first video frame is a keyframe.
 */
int64_t sl_pipeline_segment_max_us(int64_t segment_us, int64_t part_us);

/* a sequence header larger than this is refused (SL_ERROR); headers
 * also count in the queue's bounds, with a little slack of their own */
#define SL_PIPELINE_MAX_HEADER  65536

/*
 * Sequence headers: the AVCDecoderConfigurationRecord with the frame size
 * and rate (0: unknown, 30 assumed; the ladder's rate control needs it),
 * and the AAC AudioSpecificConfig with rate and channels.  A new header
 * with different bytes starts a new init segment after a discontinuity.
 */
int sl_pipeline_video_header(sl_pipeline_t *p, const uint8_t *avcc,
    size_t len, int width, int height, int fps);
int sl_pipeline_audio_header(sl_pipeline_t *p, const uint8_t *asc,
    size_t len, int sample_rate, int channels);

/*
 * A media packet; the data is copied.  SL_DECLINED when the queue is full
 * (the packet is dropped and counted: the caller never waits).
 */
int sl_pipeline_push(sl_pipeline_t *p, int video, int64_t dts_ms,
    int32_t cts_ms, int key, int64_t wallclock_ms, const uint8_t *data,
    size_t len);

/* the wall clock, ms since the epoch: what wallclock_ms means */
int64_t sl_pipeline_now_ms(void);
void sl_pipeline_stats(sl_pipeline_t *p, sl_pipeline_stats_t *st);


/*
 * The body of an RTMP audio or video message (an FLV tag's data): what
 * the pipeline takes from it.  H.264 and AAC only; SL_FLV_UNSUPPORTED
 * with tag->codec set for other codecs, SL_FLV_SKIP for what carries
 * nothing to package (empty, end of sequence, unknown packet types).
 * tag->data points into p.  Pure C (sl_flv.c): no libav needed.
 */
#define SL_FLV_SKIP         0
#define SL_FLV_HEADER       1
#define SL_FLV_PACKET       2
#define SL_FLV_UNSUPPORTED  3

typedef struct {
    int             video;
    int             kind;        /* SL_FLV_* */
    int             codec;       /* FLV codec id */
    int             key;         /* a keyframe (audio: always) */
    int32_t         cts_ms;      /* composition offset (H.264) */
    const uint8_t  *data;
    size_t          len;
} sl_flv_tag_t;

int sl_flv_parse(int video, const uint8_t *p, size_t len, sl_flv_tag_t *tag);

/*
 * The numbers a channel's next stream starts at, kept in a small file
 * ("<msn> <init_id>\n", replaced atomically): the pipeline reserves
 * numbers ahead of use (SL_PIPELINE_NAMES_BLOCK at a time, written before
 * any file takes such a name) and stores the exact next ones at its end,
 * so names never repeat even after a crash.  SL_DECLINED: no such file
 * (or not readable as such).
 */
#define SL_PIPELINE_NAMES_BLOCK  1000

int sl_pipeline_names_load(const char *path, uint64_t *msn,
    unsigned *init_id);
int sl_pipeline_names_store(const char *path, uint64_t msn,
    unsigned init_id);

/* the last segment is closed and reported, the thread joined, p freed */
void sl_pipeline_stop(sl_pipeline_t *p);

/*
 * The same without waiting: the thread writes what is queued, closes the
 * last segment, calls on_end and frees p itself.  p is gone on return.
 */
void sl_pipeline_finish(sl_pipeline_t *p);

#endif /* SL_PIPELINE_H */
