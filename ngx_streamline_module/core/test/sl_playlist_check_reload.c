
/*
 * Streamline core tests: the rules between two versions of a media
 * playlist fetched one after the other (RFC 8216 6.2.1 and 6.3.4): the
 * server only appends, removes from the front, raises the sequence
 * numbers and adds EXT-X-ENDLIST.
 */


#include <string.h>

#include "sl_playlist_check_internal.h"


int
sl_playlist_check_reload(const sl_playlist_info_t *prev,
    const sl_playlist_info_t *next, const char **err)
{
    return (sl_playlist_reload_problems(prev, next, err, 1) == 0) ? SL_OK
                                                                  : SL_ERROR;
}


size_t
sl_playlist_reload_problems(const sl_playlist_info_t *prev,
    const sl_playlist_info_t *next, const char **errs, size_t max)
{
    int          prev_empty, next_empty;
    size_t       n, i;
    const char  *err[5];

    n = 0;

    if (next->media_sequence < prev->media_sequence) {
        err[n++] = "EXT-X-MEDIA-SEQUENCE went back";
    }

    if (next->discontinuity_sequence < prev->discontinuity_sequence) {
        err[n++] = "EXT-X-DISCONTINUITY-SEQUENCE went back";
    }

    if (next->target_duration != prev->target_duration) {
        err[n++] = "EXT-X-TARGETDURATION changed";
    }

    if (prev->ended && !next->ended) {
        err[n++] = "EXT-X-ENDLIST went away";
    }

    prev_empty = (prev->segments + prev->skipped == 0 && prev->last_part < 0);
    next_empty = (next->segments + next->skipped == 0 && next->last_part < 0);

    if (!prev_empty) {
        if (next_empty || next->last_msn < prev->last_msn) {
            err[n++] = "the last segment went back";

        } else if (next->last_msn == prev->last_msn && prev->last_part >= 0
                   && next->last_part >= 0
                   && next->last_part < prev->last_part)
        {
            err[n++] = "the last part went back";
        }
    }

    for (i = 0; i < n && i < max; i++) {
        errs[i] = err[i];
    }

    return n;
}


int
sl_playlist_check_segment(const sl_playlist_seg_t *prev,
    const sl_playlist_seg_t *next, unsigned next_first, const char **err)
{
    if (next->duration_us != prev->duration_us) {
        *err = "changed its EXTINF";
        return SL_ERROR;
    }

    if (next->map_len != prev->map_len
        || (prev->map_len > 0
            && memcmp(next->map, prev->map, prev->map_len) != 0))
    {
        *err = "changed its EXT-X-MAP";
        return SL_ERROR;
    }

    if (next->dseq != prev->dseq) {
        *err = "changed its discontinuity sequence";
        return SL_ERROR;
    }

    /* the tag may go with the segment before it, when that one goes */

    if (prev->discontinuity && !next->discontinuity && !next_first) {
        *err = "lost its EXT-X-DISCONTINUITY";
        return SL_ERROR;
    }

    return SL_OK;
}


int
sl_playlist_check_date(const sl_playlist_seg_t *prev,
    const sl_playlist_seg_t *next, const char **err)
{
    if (prev->pdt_us < 0 && next->pdt_us < 0) {
        return SL_OK;
    }

    if (prev->pdt_us < 0 || next->pdt_us < 0
        || next->pdt_us - prev->pdt_us > 1000
        || prev->pdt_us - next->pdt_us > 1000)
    {
        *err = "changed its EXT-X-PROGRAM-DATE-TIME";
        return SL_ERROR;
    }

    return SL_OK;
}
