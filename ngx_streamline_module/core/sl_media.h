/*
 * Streamline core: the DVR index of a rendition and its HLS playlists.
 *
 * The index lives in a block the caller provides (an nginx shared memory
 * zone): it holds no pointers, only fixed arrays and numbers, so any
 * process that maps the block, at any address, reads it.  The packager
 * appends, any worker renders; the caller serialises the calls (a mutex
 * around each), these functions do not lock.
 *
 * Files named by the playlists, relative to the rendition's playlist:
 *
 *     init-<init_id>.mp4       init segment
 *     seg-<msn>.m4s            media segment
 *     part-<msn>.<i>.m4s       i-th part of segment msn (LL-HLS)
 */

#ifndef SL_MEDIA_H
#define SL_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "sl_core.h"


/* segment flags */
#define SL_SEG_DISCONTINUITY  0x01   /* EXT-X-DISCONTINUITY before it */
#define SL_SEG_INDEPENDENT    0x02   /* starts with an IDR frame */
#define SL_SEG_GAP            0x04   /* no media: EXT-X-GAP */

/* part flags */
#define SL_PART_INDEPENDENT   0x01

/*
 * Full part detail is kept for this many closed segments (the newest)
 * besides the one in progress; older segments keep their totals only.
 * LL-HLS lists parts for about the last 3 target durations: 16 segments
 * cover that as long as segments average more than 3/16 of the target.
 */
#define SL_DVR_PART_SEGMENTS  16

#define SL_DVR_MAGIC          0x534c4456     /* "SLDV" */
#define SL_DVR_MAX_SEGMENTS   (1u << 24)
#define SL_DVR_MAX_PARTS      1024
#define SL_DVR_MAX_DURATION   3600000000u    /* us, of a segment or part */


typedef struct {
    uint32_t  duration_us;
    uint32_t  bytes;
    uint32_t  flags;                 /* SL_PART_* */
} sl_dvr_part_t;

typedef struct {
    uint64_t  msn;
    uint64_t  start_us;              /* media time since the index began */
    int64_t   pdt_ms;                /* ms since the epoch, -1: unknown */
    uint64_t  bytes;
    uint32_t  duration_us;
    uint32_t  init_id;               /* init-<init_id>.mp4 */
    uint32_t  dseq;                  /* its discontinuity sequence number */
    uint16_t  flags;                 /* SL_SEG_* */
    uint16_t  nparts;
    /* its scrubber preview: tile preview_tile - 1 (0: none) of the sprite
     * sheet whose first tile is of segment msn - preview_back; taken at
     * the start of this segment or of an earlier one */
    uint32_t  preview_back;
    uint32_t  preview_tile;
} sl_dvr_seg_t;

typedef struct {
    uint32_t  max_segments;          /* held at once (after a trim) */
    uint32_t  max_parts;             /* per segment */
    uint64_t  window_us;             /* DVR window */
    uint32_t  target_duration;       /* s, EXT-X-TARGETDURATION at least */
    uint32_t  part_target_us;        /* PART-TARGET at least; 0: no parts */
    uint32_t  part_hold_back;        /* PART-HOLD-BACK in PART-TARGETs,
                                        2 to 20; 0: 3 */
    uint64_t  first_msn;             /* of the first segment */
    uint32_t  first_dseq;            /* discontinuity sequence to start at */
} sl_dvr_params_t;

/*
 * The header at the start of the block; the segment ring and the part
 * detail follow it.  Read only outside sl_dvr.c.
 */
typedef struct {
    uint32_t      magic;
    uint32_t      max_segments;
    uint32_t      max_parts;
    uint32_t      slots;             /* segment ring: max_segments + 1 */
    uint64_t      seg_off;           /* offsets from the header */
    uint64_t      part_off;
    uint64_t      window_us;
    uint32_t      target_duration;   /* only ever raised */
    uint32_t      part_target_us;    /* only ever raised */
    uint64_t      first_msn;         /* oldest segment held */
    uint64_t      next_msn;          /* the segment in progress or next */
    uint64_t      end_us;            /* end of the last closed segment */
    uint64_t      gen;               /* bumped by every change */
    uint32_t      dseq;              /* of the last segment started */
    uint32_t      init_id;           /* of the last segment started */
    uint32_t      dependent;         /* held segments not independent */
    uint32_t      pending;           /* flags for the next segment */
    uint32_t      started;           /* a segment was ever started */
    uint32_t      open;              /* cur is in progress */
    uint32_t      ended;             /* EXT-X-ENDLIST */
    uint32_t      part_hold_back;    /* in PART-TARGETs; 0: 3 (a
                                        snapshot from before it) */
    uint64_t      bytes;             /* of the closed segments held */
    sl_dvr_seg_t  cur;               /* in progress */
} sl_dvr_t;

typedef struct {
    uint64_t  msn;                   /* seg-<msn>.m4s can go */
    uint64_t  bytes;                 /* its size */
    uint32_t  nparts;                /* and part-<msn>.<i>.m4s, i < nparts */
    uint32_t  init_id;
    uint32_t  init_unused;           /* no later segment needs init_id */
    uint32_t  preview_tile;          /* and its preview, see sl_dvr_seg_t */
    uint32_t  preview_unused;        /* no later segment needs the sheet */
    uint64_t  preview_sheet;         /* (the sheet's msn) */
} sl_dvr_drop_t;


/*
 * Bytes needed for an index; 0 if the numbers are out of range.  Each
 * segment costs sizeof(sl_dvr_seg_t) = 56 bytes; parts cost 12 bytes each
 * for SL_DVR_PART_SEGMENTS + 1 segments only.  A 4-hour window of 2 s
 * segments with up to 64 parts each: 7201 * 56 + 17 * 64 * 12 + header,
 * about 417 KB.
 */
size_t sl_dvr_size(uint32_t max_segments, uint32_t max_parts);

/* the block must be 8-byte aligned; NULL if too small or bad params */
sl_dvr_t *sl_dvr_init(void *block, size_t size, const sl_dvr_params_t *p);

/*
 * Opens the next segment.  flags: SL_SEG_*; a discontinuity marked with
 * sl_dvr_discontinuity() is added, and so is one whenever init_id differs
 * from the previous segment's.  init_id never decreases (a new init gets a
 * new, greater id), so a dropped segment tells when its init is unused.
 * SL_ERROR if a segment is open, the stream ended or init_id went back.
 */
int sl_dvr_segment_start(sl_dvr_t *dvr, int64_t pdt_ms, uint32_t init_id,
    unsigned flags);

/* a part of the open segment; SL_ERROR when none is open, it is a gap,
 * it has max_parts parts already, or duration_us is 0 or too long */
int sl_dvr_part_add(sl_dvr_t *dvr, uint32_t duration_us, uint32_t bytes,
    unsigned flags);

/*
 * Closes the open segment; *msn gets its number.  With parts, its duration
 * and bytes are their sums and the arguments are ignored; without, the
 * arguments are used and duration_us must not be 0.  SL_DECLINED when the
 * ring is full (call sl_dvr_trim() after each close and this never
 * happens): nothing changed.
 */
int sl_dvr_segment_close(sl_dvr_t *dvr, uint32_t duration_us,
    uint64_t bytes, uint64_t *msn);

/*
 * Closes the open segment as a gap (EXT-X-GAP) of duration_us: its media
 * could not be written.  Parts it had leave the index (their files may
 * stay).  As sl_dvr_segment_close() otherwise.
 */
int sl_dvr_segment_lost(sl_dvr_t *dvr, uint32_t duration_us, uint64_t *msn);

/*
 * The open segment's scrubber preview: tile (from 0) of the sprite sheet
 * named by the msn of its first tile's segment (sheet <= the segment's
 * msn, tile < 255).  SL_ERROR if no segment is open or the numbers do not
 * fit.
 */
int sl_dvr_preview(sl_dvr_t *dvr, uint64_t sheet, unsigned tile);

/* the next segment started gets an EXT-X-DISCONTINUITY */
void sl_dvr_discontinuity(sl_dvr_t *dvr);

/*
 * The stream ended: the open segment is closed if it has parts (dropped
 * otherwise) and playlists end with EXT-X-ENDLIST.  SL_DECLINED if the
 * open segment could not be closed for want of room (trim, then call
 * again).
 */
int sl_dvr_end(sl_dvr_t *dvr);

/*
 * The stream is back (a publisher returned within the grace): no
 * EXT-X-ENDLIST any more, and the next segment starts after a
 * discontinuity.  Clients that saw the end may have stopped reloading.
 */
void sl_dvr_resume(sl_dvr_t *dvr);

/* PART-HOLD-BACK from now on, in PART-TARGETs (2 to 20; else ignored) */
void sl_dvr_set_part_hold_back(sl_dvr_t *dvr, uint32_t parts);

/*
 * Drops the oldest segments whose end is more than the window before the
 * end of the newest, and any beyond max_segments.  Writes up to max of
 * them to out, oldest first, and returns how many; when that is max, call
 * again.  Each dropped segment costs O(1).
 */
size_t sl_dvr_trim(sl_dvr_t *dvr, sl_dvr_drop_t *out, size_t max);

/*
 * Drops the oldest segments numbered below msn, whatever the window, but
 * keeps the newest keep closed segments: a disk budget shortens the DVR
 * of a channel, never its live edge.  As sl_dvr_trim() otherwise.
 */
size_t sl_dvr_trim_before(sl_dvr_t *dvr, uint64_t msn, uint64_t keep,
    sl_dvr_drop_t *out, size_t max);

/*
 * What the playlists read (the header, the segments held, the part
 * detail) copied into block, a compact index of sl_dvr_copy_size() bytes
 * that renders the same playlists: a reader copies under the lock and
 * renders outside it, so the lock is held for a copy of the segments
 * (about 50 bytes each), not for the rendering of the whole window.  The
 * block must be 8-byte aligned; NULL if it is too small.  The copy is for
 * reading only.
 */
size_t sl_dvr_copy_size(const sl_dvr_t *dvr);
sl_dvr_t *sl_dvr_copy(const sl_dvr_t *dvr, void *block, size_t size);

/* a closed segment held, or the open one; SL_DECLINED if neither */
int sl_dvr_segment(const sl_dvr_t *dvr, uint64_t msn, sl_dvr_seg_t *seg);

/* the parts of a segment while their detail is kept, else NULL */
const sl_dvr_part_t *sl_dvr_parts(const sl_dvr_t *dvr, uint64_t msn);

/*
 * The last segment and part a playlist shows, for RENDITION-REPORT and
 * blocking reload: the open segment when it has parts, else the last
 * closed one (*part -1 when its parts are not known).  SL_DECLINED when
 * there is nothing yet.
 */
int sl_dvr_last(const sl_dvr_t *dvr, uint64_t *msn, int64_t *part);


/* HLS playlists */

#define SL_HLS_VERSION        6
#define SL_HLS_VERSION_SKIP   9

/* a wall clock further than this from the running media time gets a new
 * EXT-X-PROGRAM-DATE-TIME */
#define SL_HLS_PDT_SLACK_MS   50

typedef struct {
    const unsigned char  *uri;       /* of the other rendition's playlist */
    size_t                uri_len;
    uint64_t              last_msn;
    int64_t               last_part; /* -1: no LAST-PART */
} sl_hls_report_t;

/*
 * A tag of timed metadata (sl_meta.h): a whole EXT-X-DATERANGE line, with
 * its newline, listed while START-DATE is in the window (not before the
 * first segment's EXT-X-PROGRAM-DATE-TIME).
 */
typedef struct {
    int64_t                 start_ms;
    const unsigned char    *tag;
    size_t                  len;
} sl_hls_daterange_t;

typedef struct {
    unsigned                parts:1;     /* PART-INF, parts, preload hint */
    unsigned                block:1;     /* CAN-BLOCK-RELOAD=YES */
    unsigned                skip:1;      /* delta update (_HLS_skip) */
    uint64_t                hold_back_us;       /* 0: 3 target durations */
    uint64_t                part_hold_back_us;  /* 0: 3 part targets */
    uint64_t                can_skip_until_us;  /* 0: no delta updates;
                                                   else 6 targets at least */
    const sl_hls_report_t  *reports;
    size_t                  nreports;
    /* all of them in a delta update too: no CAN-SKIP-DATERANGES */
    const sl_hls_daterange_t  *dateranges;
    size_t                  ndateranges;
} sl_hls_opts_t;

/*
 * The media playlist of a rendition into buf.  Returns its length; when
 * that is more than size, buf holds a truncated playlist and the caller
 * retries with that many bytes (the index may grow meanwhile unless the
 * lock is held across both calls: allow some slack).  0 on bad arguments
 * (a report URI with '"' or control bytes).
 *
 * opts may be NULL (a plain playlist).  EXT-X-PROGRAM-DATE-TIME goes on
 * the first segment listed, after each discontinuity, and wherever the
 * wall clock strays more than SL_HLS_PDT_SLACK_MS from the previous one
 * plus the media durations since: a client derives the others exactly,
 * and a 4-hour playlist stays small.
 */
size_t sl_hls_media_playlist(const sl_dvr_t *dvr, const sl_hls_opts_t *opts,
    unsigned char *buf, size_t size);

typedef struct {
    const unsigned char  *name;      /* URI "<name>/index.m3u8" */
    size_t                name_len;
    uint64_t              bandwidth;
    uint64_t              average_bandwidth;   /* 0: none */
    uint32_t              width;               /* 0: no RESOLUTION */
    uint32_t              height;              /* 0: no RESOLUTION */
    const char           *codecs;              /* NULL: none */
    double                frame_rate;          /* 0: none */
} sl_hls_variant_t;

/* as sl_hls_media_playlist(); 0 on a bad name, codecs string or number */
size_t sl_hls_master_playlist(const sl_hls_variant_t *v, size_t n,
    unsigned char *buf, size_t size);


/* scrubber previews (sl_playlist.c) */

typedef struct {
    unsigned  width;                 /* of a tile */
    unsigned  height;
    unsigned  columns;               /* tiles in a row of a sheet */
} sl_preview_geom_t;

/*
 * The WebVTT thumbnails track of the tiles in dvr's segments, with
 * sl_hls_media_playlist()'s return convention; 0 on a bad geometry.
 */
size_t sl_preview_vtt(const sl_dvr_t *dvr, const sl_preview_geom_t *g,
    unsigned char *buf, size_t size);


/* the LL-HLS request rules (sl_hls_request.c) */

typedef enum {
    SL_HLS_READY = 0,       /* answer now */
    SL_HLS_WAIT,            /* not there yet: block until the index changes */
    SL_HLS_TOO_FAR,         /* more than two segments ahead: 400 */
    SL_HLS_NONE             /* no such part, nor coming next: 404 */
} sl_hls_ready_e;

/*
 * A playlist request: does the index hold segment msn complete, or with
 * part >= 0, that part of it?  msn < 0 (no _HLS_msn) and an ended index:
 * ready.  READY, WAIT or TOO_FAR.
 */
sl_hls_ready_e sl_hls_playlist_ready(const sl_dvr_t *dvr, int64_t msn,
    int64_t part);
/* a part file: listed (READY), the next one (WAIT), or NONE */
sl_hls_ready_e sl_hls_part_ready(const sl_dvr_t *dvr, uint64_t msn,
    uint64_t part);
#endif /* SL_MEDIA_H */
