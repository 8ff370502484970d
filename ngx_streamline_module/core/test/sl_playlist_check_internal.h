/*
 * Streamline core tests: what the files of the playlist checker share
 * (sl_playlist_check*.c), not its users: the lexical layer and the state
 * of a media playlist's check.
 */

#ifndef SL_PLAYLIST_CHECK_INTERNAL_H
#define SL_PLAYLIST_CHECK_INTERNAL_H

#include "sl_playlist_check.h"


/* durations above this (us) are refused: far beyond any segment */
#define SL_CHECK_DURATION_MAX  (1000000ULL * 1000000000ULL)


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
} sl_span_t;

typedef struct {
    sl_span_t   name;
    sl_span_t   value;
    unsigned    quoted:1;
} sl_attr_t;

typedef struct {
    sl_playlist_info_t        *info;
    const sl_playlist_opts_t  *opts;
    const char                *err;

    unsigned                   seen_version:1;
    unsigned                   seen_target:1;
    unsigned                   seen_sequence:1;
    unsigned                   seen_dseq:1;
    unsigned                   seen_skip:1;
    unsigned                   seen_map:1;
    unsigned                   seen_media:1;    /* a segment or a part */
    unsigned                   extinf:1;        /* waiting for its URI */
    unsigned                   discontinuity:1; /* before the next URI */

    uint64_t                   extinf_us;
    uint64_t                   max_extinf_s;
    size_t                     max_extinf_line;
    size_t                     skip_line;
    size_t                     hint_line;

    uint64_t                   can_skip_until_us;
    uint64_t                   hold_back_us;
    uint64_t                   part_hold_back_us;
    unsigned                   seen_part_hold_back:1;

    uint64_t                   cur_parts;       /* before the next URI */
    uint64_t                   cur_parts_us;

    /* for the segments recorded (opts->segs) */
    sl_span_t                  map;             /* URI of the last map */
    int64_t                    pdt_us;          /* stated before the next
                                                   URI; -1: none */
    int64_t                    pdt_run_us;      /* of the next segment,
                                                   implied; -1: none */
} sl_check_t;


/* the lexical layer (sl_playlist_check_parse.c) */

/* "#TAG:" at the start of the line: 1 and value is the rest, else 0 */
int sl_check_tag_is(const unsigned char *p, size_t n, const char *tag,
    sl_span_t *value);

/* one NAME=VALUE of an attribute list; SL_DECLINED past the last one */
int sl_check_attr_next(sl_span_t *v, sl_attr_t *a);
int sl_check_span_is(const sl_span_t *s, const char *str);
int sl_check_uint(const sl_span_t *s, uint64_t *v);
int sl_check_duration(const sl_span_t *s, uint64_t *us);
int sl_check_name(const sl_span_t *s, const char *prefix, uint64_t *a,
    uint64_t *b);


/* the LL-HLS tags (sl_playlist_check_ll.c) */

int sl_check_part(sl_check_t *c, sl_span_t *v);
int sl_check_hint(sl_check_t *c, sl_span_t *v);
int sl_check_server_control(sl_check_t *c, sl_span_t *v);


/* the rules of the module's own rendering (sl_playlist_check_rendered.c) */

int sl_check_rendered_line(sl_check_t *c, const unsigned char *p, size_t n);
int sl_check_rendered_end(sl_check_t *c, const unsigned char *buf,
    size_t len);


/* the media sequence number of the next segment */
uint64_t sl_check_msn(sl_check_t *c);

#endif /* SL_PLAYLIST_CHECK_INTERNAL_H */
