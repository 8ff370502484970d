
/*
 * Streamline core: the LL-HLS request rules (RFC 8216bis 6.2.5.2) on a
 * rendition's DVR index.  A playlist request with _HLS_msn (and
 * _HLS_part) blocks until the playlist holds what it asks for, and is
 * refused (400) when that is more than two segments ahead; a request for
 * a part that is not there yet waits when it is the next one (the preload
 * hint), and is not found otherwise.  The HLS glue maps the answers to
 * HTTP; it parks what waits.
 */


#include "sl_media.h"


sl_hls_ready_e
sl_hls_playlist_ready(const sl_dvr_t *dvr, int64_t msn, int64_t part)
{
    uint64_t  next;

    if (msn < 0 || dvr->ended) {
        return SL_HLS_READY;
    }

    next = dvr->next_msn;           /* the open segment, or the next */

    /* more than two segments after the last one listed: 400 */
    if ((uint64_t) msn + (dvr->open ? 0 : 1) > next + 2) {
        return SL_HLS_TOO_FAR;
    }

    if ((uint64_t) msn < next) {
        return SL_HLS_READY;
    }

    if (part >= 0 && dvr->open && (uint64_t) msn == dvr->cur.msn
        && (uint64_t) part < dvr->cur.nparts)
    {
        return SL_HLS_READY;
    }

    return SL_HLS_WAIT;
}


sl_hls_ready_e
sl_hls_part_ready(const sl_dvr_t *dvr, uint64_t msn, uint64_t part)
{
    if (msn < dvr->next_msn
        || (dvr->open && msn == dvr->cur.msn && part < dvr->cur.nparts))
    {
        return SL_HLS_READY;
    }

    if (!dvr->ended
        && ((dvr->open && msn == dvr->cur.msn && part == dvr->cur.nparts)
            || (msn == dvr->next_msn + (dvr->open ? 1 : 0) && part == 0)))
    {
        return SL_HLS_WAIT;
    }

    return SL_HLS_NONE;
}
