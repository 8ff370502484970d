/*
 * Streamline core tests: a checker of HLS playlists, for the unit tests,
 * the fuzzers and (through sl_playlist_check_main.c, a command-line
 * wrapper) the integration tests in t/.  Not part of the module.
 *
 * It parses outside bytes: every number is bounded, nothing is read past
 * the length given.  Each check stops at the first rule broken and says
 * which, and on what line.
 */

#ifndef SL_PLAYLIST_CHECK_H
#define SL_PLAYLIST_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "sl_media.h"



typedef struct {
    unsigned   version;
    uint64_t   target_duration;      /* s */
    uint64_t   part_target_us;       /* 0: no EXT-X-PART-INF */
    uint64_t   media_sequence;
    uint64_t   discontinuity_sequence;
    uint64_t   skipped;
    uint64_t   segments;             /* listed */
    uint64_t   parts;                /* EXT-X-PART tags */
    uint64_t   discontinuities;      /* EXT-X-DISCONTINUITY tags */
    uint64_t   maps;                 /* EXT-X-MAP tags */
    uint64_t   pdts;                 /* EXT-X-PROGRAM-DATE-TIME tags */
    uint64_t   dateranges;           /* EXT-X-DATERANGE tags */
    uint64_t   duration_us;          /* sum of EXTINF */
    uint64_t   last_msn;             /* last segment or its parts */
    int64_t    last_part;            /* -1: no parts of last_msn */
    unsigned   ended:1;
    unsigned   preload_hint:1;
    unsigned   server_control:1;
    size_t     line;                 /* 1-based line of the error */
} sl_playlist_info_t;

/* a segment listed, as a later version of the playlist must keep it */
typedef struct {
    uint64_t              msn;
    uint64_t              duration_us;      /* EXTINF */
    uint64_t              dseq;             /* discontinuity sequence */
    int64_t               pdt_us;           /* stated, or implied by the
                                               last one stated plus the
                                               EXTINFs since; -1: none */
    const unsigned char  *map;              /* EXT-X-MAP URI in force, in
                                               the playlist's bytes */
    size_t                map_len;
    unsigned              discontinuity:1;  /* EXT-X-DISCONTINUITY */
    unsigned              pdt_stated:1;
} sl_playlist_seg_t;

typedef struct {
    /*
     * Also the rules of what the module renders, beyond RFC 8216: a final
     * newline; no empty line, unknown tag or line after EXT-X-ENDLIST;
     * EXT-X-MEDIA-SEQUENCE before the first segment; EXTINF as
     * <s>.<3 decimals>,; segments named seg-<msn>.m4s and maps
     * init-<id>.mp4, without a path.
     */
    unsigned              rendered:1;

    sl_playlist_seg_t    *segs;             /* NULL, or filled with the
                                               segments listed */
    size_t                max_segs;         /* room in segs: more segments
                                               break a rule */
} sl_playlist_opts_t;


/*
 * Parses a media playlist and checks: #EXTM3U first; one EXT-X-VERSION;
 * one EXT-X-TARGETDURATION not below any EXTINF rounded; the media and
 * discontinuity sequences before the first segment; segment and part URIs
 * named as in sl_media.h numbered by the media sequence; EXT-X-MAP before
 * the first segment; parts only with EXT-X-PART-INF, none longer than
 * PART-TARGET, a segment's parts adding up to its EXTINF; no preload hint
 * after EXT-X-ENDLIST, the hint naming the next part; EXT-X-SKIP only with
 * version 9 and CAN-SKIP-UNTIL, before any segment; hold backs and skip
 * boundary not below their minimums.  SL_ERROR with *err (static) and
 * info->line on the first rule broken.  info may be NULL.
 */
int sl_playlist_check(const unsigned char *buf, size_t len,
    sl_playlist_info_t *info, const char **err);

/* the same with options (opts may be NULL) */
int sl_playlist_check_opts(const unsigned char *buf, size_t len,
    const sl_playlist_opts_t *opts, sl_playlist_info_t *info,
    const char **err);

/*
 * Two playlists of one rendition fetched in that order: the sequences and
 * the last segment and part never go back, the target duration stays, an
 * ended playlist stays ended.  The first rule broken.
 */
int sl_playlist_check_reload(const sl_playlist_info_t *prev,
    const sl_playlist_info_t *next, const char **err);

/* the same, every rule broken: up to max of them into errs, in the order
 * above; returns how many rules were broken */
size_t sl_playlist_reload_problems(const sl_playlist_info_t *prev,
    const sl_playlist_info_t *next, const char **errs, size_t max);

/*
 * One segment in two versions of a playlist (the same msn): the same
 * EXTINF, EXT-X-MAP and discontinuity sequence; an EXT-X-DISCONTINUITY
 * only goes away with the segment before it, when next_first (the
 * segment is the first of the later version).
 */
int sl_playlist_check_segment(const sl_playlist_seg_t *prev,
    const sl_playlist_seg_t *next, unsigned next_first, const char **err);

/* the date of a segment (stated or implied) stays within 1 ms */
int sl_playlist_check_date(const sl_playlist_seg_t *prev,
    const sl_playlist_seg_t *next, const char **err);

/*
 * A master playlist: #EXTM3U first, a final newline, one EXT-X-VERSION,
 * each EXT-X-STREAM-INF a well-formed attribute list with a decimal
 * BANDWIDTH and followed by its URI, no URI without one.  SL_ERROR with
 * *err (static) and *line on the first rule broken.
 */
int sl_playlist_check_master(const unsigned char *buf, size_t len,
    size_t *line, const char **err);


#endif /* SL_PLAYLIST_CHECK_H */
