/*
 * Streamline core: clips, a range of a channel's DVR as one progressive
 * MP4 (GET <prefix>/<channel>/clip.mp4?start=<time>&end=<time>).
 *
 * sl_clip.c (pure): the URI, the query, its ISO-8601 times, and which
 * segments of the source rendition's DVR index a range selects.
 * sl_clip_mux.c (libavformat): the remux of those segments into a file.
 *
 * A clip is cut at segment boundaries (every source segment starts on a
 * keyframe), at the boundary nearest to each end of the range asked, so
 * its duration is the asked one to within one segment.  Its segments are
 * closed, hence immutable: the same range always selects the same
 * segments, or is refused once they left the window, and the clip's file
 * is named after them: <channel dir>/clips/<first msn>-<last msn>.mp4.
 */

#ifndef SL_CLIP_H
#define SL_CLIP_H

#include <stddef.h>
#include <stdint.h>

#include "sl_media.h"


#define SL_CLIP_URI_NAME   "clip.mp4"
#define SL_CLIP_DIR        "clips"
#define SL_CLIP_SUFFIX     ".mp4"

/* a time value in a query, after percent-decoding: at most this long */
#define SL_CLIP_TIME_MAX   48

/* room for "<first>-<last>.mp4" and a ".<pid>.tmp" suffix, NUL */
#define SL_CLIP_NAME_MAX   72

/* "20261126T015426Z": the asked start in a download's file name */
#define SL_CLIP_STAMP_LEN  16


typedef struct {
    int64_t   start_ms;              /* ms since the epoch, UTC */
    int64_t   end_ms;
} sl_clip_range_t;

typedef struct {
    uint64_t  first_msn;             /* the clip's first segment */
    uint64_t  last_msn;              /* and last, included */
    uint32_t  init_id;               /* their init segment */
    int64_t   start_ms;              /* the first segment's start */
    uint64_t  duration_us;           /* of the segments, summed */
    uint64_t  window_msn;            /* the window's first segment */
} sl_clip_sel_t;


/*
 * The part of a URI after the location: SL_OK when it is
 * "/<channel>/clip.mp4" with a valid channel name (*channel points into
 * tail), SL_DECLINED otherwise.
 */
int sl_clip_path(const unsigned char *tail, size_t len,
    const unsigned char **channel, size_t *channel_len);

/*
 * An ISO-8601 date and time: YYYY-MM-DDTHH:MM:SS, optional fraction
 * (1 to 9 digits, cut to ms), then 'Z', an offset (+HH:MM, +HHMM, +HH,
 * or '-') or nothing (UTC).  Years 1970 to 9999, real dates only, no leap
 * second.  *ms: since the epoch, UTC.  SL_ERROR otherwise.
 */
int sl_clip_time(const unsigned char *s, size_t len, int64_t *ms);

/*
 * The query string (after the '?'): start and end, percent-decoded ('+'
 * stays '+': a time has no space), the first of each name counts, other
 * arguments are ignored.  Both are needed, start < end, end - start <=
 * max_ms.  SL_ERROR with *err (static, for the 400's body) otherwise.
 */
int sl_clip_query(const unsigned char *args, size_t len, uint64_t max_ms,
    sl_clip_range_t *range, const char **err);

/*
 * The closed segments of an index (the source rendition's) that a range
 * selects: from the boundary nearest to start to the boundary nearest to
 * end, one segment at least.  The range must lie within the window: from
 * the start of its first segment to the end of its last closed one.
 * SL_DECLINED with *err (static, for the 416's body) when it does not
 * (expired, or not yet there), or when the selection would cross a gap
 * or a discontinuity (a new init, a new run).  A segment's start is its
 * PROGRAM-DATE-TIME, or the previous one's end when it has none.  Reads
 * dvr only: call it with the store's lock held or on a copy.
 */
int sl_clip_select(const sl_dvr_t *dvr, const sl_clip_range_t *range,
    sl_clip_sel_t *sel, const char **err);

/* "<first>-<last>.mp4", like snprintf() (see sl_naming.h) */
size_t sl_clip_name(char *buf, size_t size, uint64_t first, uint64_t last);

/*
 * A file name in a channel's clips directory: SL_OK with the clip's first
 * segment number when it is "<first>-<last>.mp4" or a file being written
 * for it ("<first>-<last>.mp4.<anything>.tmp"), SL_DECLINED otherwise.
 */
int sl_clip_name_first(const char *name, uint64_t *first);

/* "YYYYMMDDTHHMMSSZ" (SL_CLIP_STAMP_LEN bytes, no NUL); SL_ERROR if out
 * of range */
int sl_clip_stamp(int64_t ms, unsigned char *buf);


/*
 * The remux (sl_clip_mux.c, libavformat; blocking: a thread's work).
 * files[0] is the init segment, files[1..n-1] the media segments, read
 * as one fragmented MP4; the video and audio streams are copied (no
 * transcode) into a progressive MP4 with its moov first, timestamps from
 * 0, written to tmp and renamed to path.  SL_DECLINED when a file is
 * missing (its segment left the window), SL_ERROR otherwise, with a
 * message in err.
 */
int sl_clip_remux(const char *const *files, size_t n, const char *tmp,
    const char *path, char *err, size_t err_size);

#endif /* SL_CLIP_H */
