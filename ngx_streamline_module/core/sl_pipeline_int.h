/*
 * Streamline core, private to the media pipeline: the types its files
 * share.  The public side is sl_pipeline.h.
 *
 *   sl_pipeline.c   the public API (called from nginx's event loop), the
 *                   pipeline's life, its log, the names file
 *   sl_msgq.c       the bounded message queue between the threads
 *   sl_packager.c   the packager thread: timeline, segment starts, the
 *                   source rendition, forwarding to the ladder
 *   sl_ladder.c     the ladder thread: decode once, scale and encode per
 *                   rung
 *   sl_fmp4.c       a rendition's fMP4 output: muxer, parts, segments
 *   sl_fmp4_io.c    its files: written under .tmp names and renamed, the
 *                   part files, write errors
 *   sl_codecs.c     sequence headers, codec parameters, RFC 6381 strings
 *
 * Two threads a channel: the packager thread owns p->packager, the
 * ladder thread p->ladder; what both touch (stats, names) has a lock.
 */

#ifndef SL_PIPELINE_INT_H
#define SL_PIPELINE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "sl_core.h"
#include "sl_msgq.h"
#include "sl_pipeline.h"


/* what waits for the packager, at most, unless configured */
#define SL_QUEUE_BYTES       (64 * 1024 * 1024)
/* the ladder's lag bound, unless configured, and how long an overload
 * episode lasts after its last dropped frame */
#define SL_MAX_LAG_MS        1000
#define SL_OVERLOAD_QUIET_MS 10000
/* sequence headers get through a queue this many past its bounds */
#define SL_HEADER_SLACK      16

#define sl_max(x, y)         ((x) > (y) ? (x) : (y))


/* a sequence header as it was last received */
typedef struct {
    uint8_t              *data;
    size_t                len;
    sl_stream_params_t    params;
} sl_seq_header_t;


/* a packet held until the next one of its stream tells its duration */
typedef struct {
    AVPacket             *pkt;
    uint64_t              cut;           /* see sl_msg_t */
    int64_t               wallclock_ms;
} sl_fmp4_held_t;

/* one rendition's fMP4 output: mp4 muxer, segment and part files */
typedef struct {
    char                  name[64];      /* of the rendition */
    char                  dir[4096];     /* <channel dir>/<name> */
    sl_pipeline_t        *p;
    sl_rendition_stats_t *stats;
    int                   fps;           /* as segments report it */

    AVFormatContext      *muxer;
    int                   video_index;   /* -1: no such stream */
    int                   audio_index;
    sl_fmp4_held_t        held[2];       /* [0] audio, [1] video */
    int64_t               last_dts_ms[2];
    int                   have_dts[2];

    /* the file being written: the init segment or a segment */
    int                   fd;
    uint64_t              written;
    uint8_t              *part_buf;      /* the part being written */
    size_t                part_len;
    size_t                part_size;
    char                  tmp_path[4200];
    char                  path[4200];

    unsigned              init_id;
    char                  codecs[64];
    int                   width;
    int                   height;

    /* the segment being written */
    int                   seg_open;
    int                   discontinuity;  /* the next segment follows one */
    int64_t               seg_start_ms;
    int64_t               seg_end_ms[2];  /* of each stream's samples */
    int64_t               last_duration_ms[2];
    int64_t               part_start_ms;
    uint64_t              part_offset;
    int                   part_independent;
    int                   part_has_video;
    int                   fragment_pending;
    int64_t               part_last_in_ms; /* wallclock_ms of the part's
                                              last frame, -1: unknown */
    uint64_t              preview_msn;    /* the segment that gets */
    uint64_t              preview_sheet;  /* this preview tile, */
    unsigned              preview_tile;   /* + 1; 0: none */
    uint64_t              shown_sheet;    /* and the tile of the segments */
    unsigned              shown_tile;     /* since (0: none) */
    int                   lost;           /* the file being written is */
    int                   failing;        /* since the last good segment */
    uint64_t              nlost;          /* segments lost meanwhile */
    sl_segment_info_t     seg;
} sl_fmp4_t;


/* a segment start on its way through a rung's encoder */
#define SL_CUTS  16

typedef struct {
    uint64_t              msn;
    int64_t               pts;           /* of the frame that starts it */
    int64_t               wallclock_ms;
} sl_cut_t;

/* when a source frame came in, by its pts: for the latency figures */
#define SL_CLOCKS  64

typedef struct {
    int64_t               pts;
    int64_t               wallclock_ms;
} sl_clock_t;

/* one ladder rung: scaler and encoder in front of an fMP4 output */
typedef struct {
    sl_rung_t             conf;
    struct SwsContext    *scaler;
    AVCodecContext       *encoder;
    AVFrame              *scaled;
    sl_cut_t              cuts[SL_CUTS];     /* source frames to come */
    size_t                ncuts;
    sl_cut_t              forced[SL_CUTS];   /* frames forced to IDR,
                                                their packets to come */
    size_t                nforced;
    int64_t               dts_shift;
    int                   have_shift;
    int                   init_written;      /* out has an init segment */
    int                   init_failed;
    int                   scale_failed;
    sl_fmp4_t             out;
} sl_ladder_rung_t;


/* the packager thread's own state */
typedef struct {
    sl_seq_header_t       video_header;
    sl_seq_header_t       audio_header;
    int                   video_header_changed;
    int                   audio_header_changed;
    int                   started;
    int64_t               base_ms;       /* the dts that is 0 on the
                                            timeline */
    int64_t               shift_ms[2];   /* after timestamp jumps */
    int64_t               last_dts_ms[2];
    int                   have_dts[2];
    int                   headerless[2]; /* no header yet: logged once */
    uint64_t              next_msn;
    int64_t               segment_start_ms;
    int                   ladder_skip_to_key;  /* the ladder dropped a
                                                  frame */
    uint64_t              ladder_cut;    /* a cut the ladder has yet to
                                            get */
    int                   ladder_off;    /* and then got stuck */
    sl_fmp4_t             source;
} sl_packager_t;

/* the scrubber previews the ladder takes (sl_preview.c) */
typedef struct {
    int                   on;            /* conf.preview_us > 0 */
    int                   failed;        /* off until the next start */
    int                   write_failing; /* logged, until a write works */
    struct SwsContext    *scaler;
    AVCodecContext       *encoder;       /* mjpeg, the sheet's size */
    AVFrame              *sheet;         /* full-range YUV 4:2:0 */
    AVPacket             *pkt;
    uint64_t              sheet_msn;     /* its first tile's segment */
    unsigned              ntiles;        /* in the sheet; 0: none yet */
    int64_t               encoded;       /* sheets, the encoder's pts */
    uint64_t              tiles;         /* taken, this stream */
    uint64_t              cpu_ns;        /* the thread's CPU time on them */
    int64_t               last_pts;      /* of the last tile, ms */
    int                   have_last;
    sl_cut_t              cuts[SL_CUTS]; /* segment starts to come */
    size_t                ncuts;
    char                  dir[4200];     /* <channel dir>/previews */
} sl_preview_t;


/* the ladder thread's own state */
typedef struct {
    sl_seq_header_t       video_header;  /* as the source started with */
    sl_seq_header_t       audio_header;
    AVCodecContext       *decoder;
    AVFrame              *decoded;
    int                   skip_to_key;   /* decode from the next keyframe */
    sl_overload_t         overload;      /* late frames dropped */
    sl_clock_t            clocks[SL_CLOCKS];  /* the latest frames in */
    size_t                nclocks;
    size_t                nrungs;
    sl_ladder_rung_t      rungs[SL_PIPELINE_MAX_RUNGS];
    sl_preview_t          preview;
} sl_ladder_t;


/* the numbers kept in the names file (conf.names), used by both threads */
typedef struct {
    pthread_mutex_t       lock;
    uint64_t              reserved_msn;  /* the file says: start here */
    unsigned              reserved_init;
    uint64_t              next_msn;      /* one past the highest used */
    unsigned              next_init;
} sl_names_t;


struct sl_pipeline_s {
    sl_pipeline_conf_t    conf;
    char                 *dir;
    char                 *rendition;

    pthread_t             packager_thread;
    pthread_t             ladder_thread;
    int                   has_ladder;
    sl_msgq_t             to_packager;
    sl_msgq_t             to_ladder;
    int                   detached;      /* under to_packager.lock */
    size_t                queue_bytes;
    int64_t               segment_max_ms;

    pthread_mutex_t       stats_lock;
    sl_pipeline_stats_t   stats;

    sl_names_t            names;

    sl_packager_t         packager;
    sl_ladder_t           ladder;
};


/* sl_preview.c, on the ladder thread */
void sl_preview_cut(sl_preview_t *pv, uint64_t msn, int64_t pts);
void sl_preview_frame(sl_pipeline_t *p, const AVFrame *frame);
void sl_preview_reset(sl_preview_t *pv);
void sl_preview_end(sl_pipeline_t *p);
void sl_preview_free(sl_preview_t *pv);


/* sl_pipeline.c */

/* a pipeline without its threads (sl_pipeline_start() adds them) */
sl_pipeline_t *sl_pipeline_create(const sl_pipeline_conf_t *conf);
void sl_pipeline_free(sl_pipeline_t *p);
void sl_pipeline_log(sl_pipeline_t *p, int error, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* a latency sample (ms, from a wallclock_ms), under the stats lock */
void sl_pipeline_delay(sl_pipeline_t *p, int64_t since_ms, sl_delay_t *d);
/* msn (SL_NO_CUT: none) and init_id are about to name a file */
int sl_names_use(sl_pipeline_t *p, uint64_t msn, unsigned init_id);
void sl_names_end(sl_pipeline_t *p);

/* sl_packager.c, sl_ladder.c: the threads */
void *sl_packager_thread(void *arg);
void *sl_ladder_thread(void *arg);

/* sl_fmp4.c */
void sl_fmp4_init(sl_fmp4_t *out, sl_pipeline_t *p, const char *name,
    sl_rendition_stats_t *stats);
/* writes the init segment; the caller closes out on failure */
int sl_fmp4_open(sl_fmp4_t *out, const AVCodecParameters *video,
    const AVCodecParameters *audio);
/* ends the last segment, and the muxer */
void sl_fmp4_close(sl_fmp4_t *out);
/* pkt (ms time base) is the output's; a segment starts with it unless cut
 * is SL_NO_CUT, at wall clock wallclock_ms */
void sl_fmp4_packet(sl_fmp4_t *out, AVPacket *pkt, int video, uint64_t cut,
    int64_t wallclock_ms);

/* sl_fmp4_io.c */
int sl_fmp4_open_file(sl_fmp4_t *out, const char *name);
int sl_fmp4_close_file(sl_fmp4_t *out);
int sl_fmp4_io_write(void *opaque, uint8_t *buf, int size);
int sl_fmp4_write_part(sl_fmp4_t *out);
void sl_fmp4_fail(sl_fmp4_t *out, const char *what, const char *path,
    int err);
/* 0 or the errno of the step that failed */
int sl_file_replace(const char *path, const void *data, size_t len,
    int durable);

/* sl_codecs.c */
/* 1: new bytes or parameters, 0: the same (fps aside), -1: no memory */
int sl_seq_header_set(sl_seq_header_t *h, const sl_msg_t *m);
int sl_codecpar_video(AVCodecParameters *par, const sl_seq_header_t *h);
int sl_codecpar_audio(AVCodecParameters *par, const sl_seq_header_t *h);
void sl_codecs_string(char *buf, size_t size, const AVCodecParameters *video,
    const AVCodecParameters *audio);

#endif /* SL_PIPELINE_INT_H */
