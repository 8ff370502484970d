
/*
 * Streamline core: the DVR index of a rendition, in a block of shared
 * memory.  Segments sit in a ring indexed by msn % slots; the part detail
 * of the newest SL_DVR_PART_SEGMENTS closed segments and of the open one
 * sits in a second ring indexed by msn % (SL_DVR_PART_SEGMENTS + 1), so no
 * operation ever walks the window.
 */


#include <string.h>

#include "sl_media.h"


#define SL_DVR_PART_SLOTS   (SL_DVR_PART_SEGMENTS + 1)

#define sl_dvr_align(n)     (((n) + 7) & ~((size_t) 7))

#define sl_dvr_ring(dvr)                                                      \
    ((sl_dvr_seg_t *) ((unsigned char *) (dvr) + (dvr)->seg_off))
#define sl_dvr_part_ring(dvr)                                                 \
    ((sl_dvr_part_t *) ((unsigned char *) (dvr) + (dvr)->part_off))


static uint32_t sl_dvr_round_s(uint32_t us);
static void sl_dvr_drop_first(sl_dvr_t *dvr, sl_dvr_drop_t *out);


size_t
sl_dvr_size(uint32_t max_segments, uint32_t max_parts)
{
    if (max_segments == 0 || max_segments > SL_DVR_MAX_SEGMENTS
        || max_parts > SL_DVR_MAX_PARTS)
    {
        return 0;
    }

    /* both maximums keep this far below SIZE_MAX */

    return sl_dvr_align(sizeof(sl_dvr_t))
           + ((size_t) max_segments + 1) * sizeof(sl_dvr_seg_t)
           + sl_dvr_align((size_t) SL_DVR_PART_SLOTS * max_parts
                          * sizeof(sl_dvr_part_t));
}


sl_dvr_t *
sl_dvr_init(void *block, size_t size, const sl_dvr_params_t *p)
{
    size_t     need;
    sl_dvr_t  *dvr;

    need = sl_dvr_size(p->max_segments, p->max_parts);

    if (need == 0 || size < need || ((uintptr_t) block & 7) != 0
        || p->window_us == 0
        || p->target_duration == 0
        || p->target_duration > SL_DVR_MAX_DURATION / 1000000
        || p->part_target_us > SL_DVR_MAX_DURATION
        || p->part_hold_back == 1 || p->part_hold_back > 20
        || p->first_msn > UINT64_MAX / 2)
    {
        return NULL;
    }

    dvr = block;

    memset(dvr, 0, sizeof(sl_dvr_t));

    dvr->magic = SL_DVR_MAGIC;
    dvr->max_segments = p->max_segments;
    dvr->max_parts = p->max_parts;
    dvr->slots = p->max_segments + 1;
    dvr->seg_off = sl_dvr_align(sizeof(sl_dvr_t));
    dvr->part_off = dvr->seg_off + (uint64_t) dvr->slots * sizeof(sl_dvr_seg_t);
    dvr->window_us = p->window_us;
    dvr->target_duration = p->target_duration;
    dvr->part_target_us = p->part_target_us;
    dvr->part_hold_back = p->part_hold_back;
    dvr->first_msn = p->first_msn;
    dvr->next_msn = p->first_msn;
    dvr->dseq = p->first_dseq;

    return dvr;
}


int
sl_dvr_segment_start(sl_dvr_t *dvr, int64_t pdt_ms, uint32_t init_id,
    unsigned flags)
{
    int64_t        implied;
    sl_dvr_seg_t  *cur, *prev;

    if (dvr->open || dvr->ended
        || (dvr->started && init_id < dvr->init_id))
    {
        return SL_ERROR;
    }

    flags &= SL_SEG_DISCONTINUITY | SL_SEG_INDEPENDENT | SL_SEG_GAP;
    flags |= dvr->pending;

    /* a new init means new codec parameters: the spec wants a
     * discontinuity there */

    if (dvr->started && init_id != dvr->init_id) {
        flags |= SL_SEG_DISCONTINUITY;
    }

    /*
     * A wall clock within the slack of what the previous segment implies
     * is stored as implied: a playlist whose first segment it becomes
     * states exactly the date that earlier playlists implied for it.
     */
    if (pdt_ms >= 0 && dvr->next_msn > dvr->first_msn
        && !(flags & SL_SEG_DISCONTINUITY))
    {
        prev = &sl_dvr_ring(dvr)[(dvr->next_msn - 1) % dvr->slots];

        if (prev->pdt_ms >= 0) {
            /* as a client adds it up: the EXTINF, in ms */
            implied = prev->pdt_ms
                      + (int64_t) ((prev->duration_us + 500) / 1000);

            if (pdt_ms - implied <= SL_HLS_PDT_SLACK_MS
                && implied - pdt_ms <= SL_HLS_PDT_SLACK_MS)
            {
                pdt_ms = implied;
            }
        }
    }

    cur = &dvr->cur;

    cur->msn = dvr->next_msn;
    cur->start_us = dvr->end_us;
    cur->pdt_ms = (pdt_ms < 0) ? -1 : pdt_ms;
    cur->bytes = 0;
    cur->duration_us = 0;
    cur->init_id = init_id;
    cur->dseq = dvr->dseq + ((flags & SL_SEG_DISCONTINUITY) ? 1 : 0);
    cur->flags = (uint16_t) flags;
    cur->nparts = 0;
    cur->preview_back = 0;
    cur->preview_tile = 0;

    dvr->dseq = cur->dseq;
    dvr->init_id = init_id;
    dvr->pending = 0;
    dvr->started = 1;
    dvr->open = 1;
    dvr->gen++;

    return SL_OK;
}


int
sl_dvr_preview(sl_dvr_t *dvr, uint64_t sheet, unsigned tile)
{
    if (!dvr->open || sheet > dvr->cur.msn
        || dvr->cur.msn - sheet > UINT32_MAX || tile >= 255)
    {
        return SL_ERROR;
    }

    dvr->cur.preview_back = (uint32_t) (dvr->cur.msn - sheet);
    dvr->cur.preview_tile = tile + 1;

    return SL_OK;
}


int
sl_dvr_part_add(sl_dvr_t *dvr, uint32_t duration_us, uint32_t bytes,
    unsigned flags)
{
    sl_dvr_seg_t   *cur;
    sl_dvr_part_t  *part;

    cur = &dvr->cur;

    if (!dvr->open || cur->nparts >= dvr->max_parts
        || (cur->flags & SL_SEG_GAP) || duration_us == 0
        || duration_us > SL_DVR_MAX_DURATION - cur->duration_us)
    {
        return SL_ERROR;
    }

    part = sl_dvr_part_ring(dvr)
           + (cur->msn % SL_DVR_PART_SLOTS) * dvr->max_parts + cur->nparts;

    part->duration_us = duration_us;
    part->bytes = bytes;
    part->flags = flags & SL_PART_INDEPENDENT;

    cur->nparts++;
    cur->duration_us += duration_us;
    cur->bytes += bytes;

    /* PART-TARGET must bound every part: a longer one raises it for good
     * rather than break the playlist */

    if (duration_us > dvr->part_target_us) {
        dvr->part_target_us = duration_us;
    }

    dvr->gen++;

    return SL_OK;
}


int
sl_dvr_segment_close(sl_dvr_t *dvr, uint32_t duration_us, uint64_t bytes,
    uint64_t *msn)
{
    uint32_t       s;
    sl_dvr_seg_t  *cur;

    cur = &dvr->cur;

    if (!dvr->open
        || (cur->nparts == 0
            && (duration_us == 0 || duration_us > SL_DVR_MAX_DURATION)))
    {
        return SL_ERROR;
    }

    if (dvr->next_msn - dvr->first_msn >= dvr->slots) {
        return SL_DECLINED;
    }

    if (cur->nparts == 0) {
        cur->duration_us = duration_us;
        cur->bytes = bytes;
    }

    /* the same for EXT-X-TARGETDURATION, which must not be below any
     * EXTINF rounded to the nearest second */

    s = sl_dvr_round_s(cur->duration_us);

    if (s > dvr->target_duration) {
        dvr->target_duration = s;
    }

    sl_dvr_ring(dvr)[cur->msn % dvr->slots] = *cur;

    if (!(cur->flags & SL_SEG_INDEPENDENT)) {
        dvr->dependent++;
    }

    dvr->end_us += cur->duration_us;
    dvr->bytes += cur->bytes;
    dvr->next_msn++;
    dvr->open = 0;
    dvr->gen++;

    if (msn != NULL) {
        *msn = cur->msn;
    }

    return SL_OK;
}


int
sl_dvr_segment_lost(sl_dvr_t *dvr, uint32_t duration_us, uint64_t *msn)
{
    sl_dvr_seg_t  *cur;

    cur = &dvr->cur;

    if (!dvr->open || duration_us == 0 || duration_us > SL_DVR_MAX_DURATION) {
        return SL_ERROR;
    }

    if (dvr->next_msn - dvr->first_msn >= dvr->slots) {
        return SL_DECLINED;
    }

    /* no media: nothing in it can be independent */
    cur->flags = (cur->flags | SL_SEG_GAP) & ~SL_SEG_INDEPENDENT;
    cur->nparts = 0;
    cur->duration_us = 0;
    cur->bytes = 0;
    dvr->gen++;

    return sl_dvr_segment_close(dvr, duration_us, 0, msn);
}


void
sl_dvr_discontinuity(sl_dvr_t *dvr)
{
    dvr->pending |= SL_SEG_DISCONTINUITY;
}


int
sl_dvr_end(sl_dvr_t *dvr)
{
    if (dvr->ended) {
        return SL_OK;
    }

    if (dvr->open) {
        if (dvr->cur.nparts == 0) {
            dvr->open = 0;

        } else if (sl_dvr_segment_close(dvr, 0, 0, NULL) != SL_OK) {
            return SL_DECLINED;
        }
    }

    dvr->ended = 1;
    dvr->gen++;

    return SL_OK;
}


void
sl_dvr_resume(sl_dvr_t *dvr)
{
    if (!dvr->ended) {
        return;
    }

    dvr->ended = 0;
    dvr->pending |= SL_SEG_DISCONTINUITY;
    dvr->gen++;
}


void
sl_dvr_set_part_hold_back(sl_dvr_t *dvr, uint32_t parts)
{
    if (parts < 2 || parts > 20 || dvr->part_hold_back == parts) {
        return;
    }

    dvr->part_hold_back = parts;
    dvr->gen++;
}


size_t
sl_dvr_trim(sl_dvr_t *dvr, sl_dvr_drop_t *out, size_t max)
{
    size_t         n;
    uint64_t       count;
    sl_dvr_seg_t  *s;

    for (n = 0; n < max; n++) {
        count = dvr->next_msn - dvr->first_msn;

        if (count == 0) {
            break;
        }

        s = &sl_dvr_ring(dvr)[dvr->first_msn % dvr->slots];

        if (count <= dvr->max_segments
            && s->start_us + s->duration_us + dvr->window_us >= dvr->end_us)
        {
            break;
        }

        sl_dvr_drop_first(dvr, &out[n]);
    }

    if (n > 0) {
        dvr->gen++;
    }

    return n;
}


size_t
sl_dvr_trim_before(sl_dvr_t *dvr, uint64_t msn, uint64_t keep,
    sl_dvr_drop_t *out, size_t max)
{
    size_t  n;

    for (n = 0; n < max; n++) {
        if (dvr->first_msn >= msn
            || dvr->next_msn - dvr->first_msn <= keep)
        {
            break;
        }

        sl_dvr_drop_first(dvr, &out[n]);
    }

    if (n > 0) {
        dvr->gen++;
    }

    return n;
}


/* the oldest segment held leaves the index; there is one */

static void
sl_dvr_drop_first(sl_dvr_t *dvr, sl_dvr_drop_t *out)
{
    uint32_t       next_init;
    sl_dvr_seg_t  *ring, *s, *next;

    ring = sl_dvr_ring(dvr);
    s = &ring[dvr->first_msn % dvr->slots];

    out->msn = s->msn;
    out->bytes = s->bytes;
    out->nparts = s->nparts;
    out->init_id = s->init_id;
    out->preview_tile = s->preview_tile;
    out->preview_sheet = s->msn - s->preview_back;
    out->preview_unused = 0;

    /* init ids only grow: the init is unused once the segment after this
     * one has another */

    if (dvr->next_msn - dvr->first_msn > 1) {
        next = &ring[(dvr->first_msn + 1) % dvr->slots];
        next_init = next->init_id;
        out->init_unused = (next_init != s->init_id);

    } else {
        next = dvr->open ? &dvr->cur : NULL;
        out->init_unused = dvr->open && dvr->cur.init_id != s->init_id;
    }

    if (s->preview_tile) {
        out->preview_unused = next == NULL || next->preview_tile == 0
                              || next->msn - next->preview_back
                                 != out->preview_sheet;
    }

    if (!(s->flags & SL_SEG_INDEPENDENT)) {
        dvr->dependent--;
    }

    dvr->bytes -= s->bytes;
    dvr->first_msn++;
}


size_t
sl_dvr_copy_size(const sl_dvr_t *dvr)
{
    uint64_t  count;

    /* at most slots segments, so count + 1 is below 2^25: no overflow */

    count = dvr->next_msn - dvr->first_msn;

    if (count == 0) {
        count = 1;
    }

    return sl_dvr_align(sizeof(sl_dvr_t))
           + (size_t) (count + 1) * sizeof(sl_dvr_seg_t)
           + sl_dvr_align((size_t) SL_DVR_PART_SLOTS * dvr->max_parts
                          * sizeof(sl_dvr_part_t));
}


sl_dvr_t *
sl_dvr_copy(const sl_dvr_t *dvr, void *block, size_t size)
{
    size_t          n;
    uint32_t        max;
    uint64_t        msn, s, d;
    sl_dvr_t       *copy;
    sl_dvr_seg_t   *from, *to;

    if (size < sl_dvr_copy_size(dvr) || ((uintptr_t) block & 7) != 0) {
        return NULL;
    }

    max = (dvr->next_msn > dvr->first_msn)
          ? (uint32_t) (dvr->next_msn - dvr->first_msn) : 1;

    copy = block;
    *copy = *dvr;

    copy->max_segments = max;
    copy->slots = max + 1;
    copy->seg_off = sl_dvr_align(sizeof(sl_dvr_t));
    copy->part_off = copy->seg_off
                     + (uint64_t) copy->slots * sizeof(sl_dvr_seg_t);

    /* the same segments in a smaller ring: runs contiguous in both */

    from = sl_dvr_ring(dvr);
    to = sl_dvr_ring(copy);

    for (msn = dvr->first_msn; msn < dvr->next_msn; msn += n) {
        s = msn % dvr->slots;
        d = msn % copy->slots;
        n = dvr->next_msn - msn;

        if (n > dvr->slots - s) {
            n = dvr->slots - s;
        }

        if (n > copy->slots - d) {
            n = copy->slots - d;
        }

        memcpy(&to[d], &from[s], n * sizeof(sl_dvr_seg_t));
    }

    /* the part ring does not depend on the number of slots */

    memcpy(sl_dvr_part_ring(copy), sl_dvr_part_ring(dvr),
           (size_t) SL_DVR_PART_SLOTS * dvr->max_parts
           * sizeof(sl_dvr_part_t));

    return copy;
}


int
sl_dvr_segment(const sl_dvr_t *dvr, uint64_t msn, sl_dvr_seg_t *seg)
{
    if (dvr->open && msn == dvr->next_msn) {
        *seg = dvr->cur;
        return SL_OK;
    }

    if (msn < dvr->first_msn || msn >= dvr->next_msn) {
        return SL_DECLINED;
    }

    *seg = sl_dvr_ring(dvr)[msn % dvr->slots];

    return SL_OK;
}


const sl_dvr_part_t *
sl_dvr_parts(const sl_dvr_t *dvr, uint64_t msn)
{
    if (dvr->max_parts == 0) {
        return NULL;
    }

    if (msn == dvr->next_msn) {
        if (!dvr->open) {
            return NULL;
        }

    } else if (msn < dvr->first_msn || msn > dvr->next_msn
               || dvr->next_msn - msn > SL_DVR_PART_SEGMENTS)
    {
        return NULL;
    }

    return sl_dvr_part_ring(dvr) + (msn % SL_DVR_PART_SLOTS) * dvr->max_parts;
}


int
sl_dvr_last(const sl_dvr_t *dvr, uint64_t *msn, int64_t *part)
{
    uint64_t             last;
    const sl_dvr_seg_t  *s;

    if (dvr->open && dvr->cur.nparts > 0) {
        *msn = dvr->next_msn;
        *part = dvr->cur.nparts - 1;
        return SL_OK;
    }

    if (dvr->next_msn == dvr->first_msn) {
        return SL_DECLINED;
    }

    last = dvr->next_msn - 1;
    s = &sl_dvr_ring(dvr)[last % dvr->slots];

    *msn = last;
    *part = (s->nparts > 0 && sl_dvr_parts(dvr, last) != NULL)
            ? s->nparts - 1 : -1;

    return SL_OK;
}


/* a duration as EXTINF prints it (ms), rounded to the nearest second */

static uint32_t
sl_dvr_round_s(uint32_t us)
{
    return ((us + 500) / 1000 + 500) / 1000;
}
