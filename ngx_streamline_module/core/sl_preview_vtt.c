
/*
 * Streamline core: the WebVTT track of a channel's scrubber previews
 * (previews.vtt), rendered from a DVR index whose segments carry the tile
 * that shows them (sl_dvr_preview(): the tile taken at the start of that
 * segment or of an earlier one).  One cue a run of segments with the same
 * tile: from the start of the run's first segment in the index to the
 * start of the next run, in seconds since the index began (the DVR's hour
 * zero), so the cues cover the window exactly, however it was trimmed.  A
 * cue's identifier is the media sequence number of its first segment
 * (what a player knows of a fragment); its text is the sheet and the
 * tile: "previews/<sheet>-<tiles>.jpg#xywh=x,y,w,h".  Each sheet is named
 * as its newest version in the index: the writer keeps that one and the
 * one before it (sl_preview.c).
 */


#include <string.h>

#include "sl_core.h"
#include "sl_media.h"
#include "sl_naming.h"


typedef struct {
    unsigned char  *p;
    size_t          room;
    size_t          len;
} sl_vtt_out_t;


static void sl_vtt_out(sl_vtt_out_t *o, const char *s, size_t n);
static void sl_vtt_uint(sl_vtt_out_t *o, uint64_t v);
static void sl_vtt_time(sl_vtt_out_t *o, uint64_t us);
static uint64_t sl_vtt_end(const sl_dvr_t *dvr, const sl_dvr_seg_t *first,
    uint64_t *next);
static unsigned sl_vtt_version(const sl_dvr_t *dvr, uint64_t msn,
    uint64_t sheet);


#define sl_vtt_lit(o, s)  sl_vtt_out(o, s, sizeof(s) - 1)


size_t
sl_preview_vtt(const sl_dvr_t *dvr, const sl_preview_geom_t *g,
    unsigned char *buf, size_t size)
{
    char           name[SL_NAME_MAX];
    unsigned       tile, version;
    uint64_t       msn, last, next, end_us, sheet, cur_sheet;
    sl_dvr_seg_t   seg;
    sl_vtt_out_t   o;

    o.p = buf;
    o.room = size;
    o.len = 0;

    if (g->width == 0 || g->height == 0 || g->columns == 0) {
        return 0;
    }

    sl_vtt_lit(&o, "WEBVTT\n\nNOTE Streamline scrubber previews: cue times "
               "in seconds since the DVR began, cue identifiers the media "
               "sequence numbers of their first segments\n");

    last = dvr->next_msn + (dvr->open ? 1 : 0);
    cur_sheet = UINT64_MAX;
    version = 0;

    for (msn = dvr->first_msn; msn < last; msn = next) {
        next = msn + 1;

        if (sl_dvr_segment(dvr, msn, &seg) != SL_OK
            || seg.preview_tile == 0)
        {
            continue;
        }

        end_us = sl_vtt_end(dvr, &seg, &next);

        if (end_us <= seg.start_us) {
            /* the live edge, no media in it yet */
            continue;
        }

        tile = seg.preview_tile - 1;
        sheet = msn - seg.preview_back;

        if (sheet != cur_sheet) {
            cur_sheet = sheet;
            version = sl_vtt_version(dvr, msn, sheet);
        }

        (void) sl_name_preview(name, sizeof(name), sheet, version);

        sl_vtt_lit(&o, "\n");
        sl_vtt_uint(&o, msn);
        sl_vtt_lit(&o, "\n");
        sl_vtt_time(&o, seg.start_us);
        sl_vtt_lit(&o, " --> ");
        sl_vtt_time(&o, end_us);
        sl_vtt_lit(&o, "\n" SL_NAME_PREVIEW_DIR "/");
        sl_vtt_out(&o, name, strlen(name));
        sl_vtt_lit(&o, "#xywh=");
        sl_vtt_uint(&o, (uint64_t) (tile % g->columns) * g->width);
        sl_vtt_lit(&o, ",");
        sl_vtt_uint(&o, (uint64_t) (tile / g->columns) * g->height);
        sl_vtt_lit(&o, ",");
        sl_vtt_uint(&o, g->width);
        sl_vtt_lit(&o, ",");
        sl_vtt_uint(&o, g->height);
        sl_vtt_lit(&o, "\n");
    }

    return o.len;
}


/* the same tile of the same sheet */
#define sl_vtt_same(a, b)                                                    \
    ((a)->preview_tile == (b)->preview_tile                                  \
     && (a)->msn - (a)->preview_back == (b)->msn - (b)->preview_back)


/*
 * Where the cue of the run of segments that starts with first ends: the
 * start of the next segment with another tile, or none (*next: that
 * segment), else the end of the media held.
 */
static uint64_t
sl_vtt_end(const sl_dvr_t *dvr, const sl_dvr_seg_t *first, uint64_t *next)
{
    uint64_t               m, end_us;
    sl_dvr_seg_t           seg;
    const sl_dvr_part_t   *parts;
    uint32_t               i;

    for (m = first->msn + 1; m < dvr->next_msn; m++) {
        if (sl_dvr_segment(dvr, m, &seg) == SL_OK && !sl_vtt_same(&seg, first))
        {
            *next = m;
            return seg.start_us;
        }
    }

    *next = dvr->next_msn + 1;

    if (!dvr->open) {
        return dvr->end_us;
    }

    if (first->msn != dvr->next_msn && !sl_vtt_same(&dvr->cur, first)) {
        *next = dvr->next_msn;
        return dvr->cur.start_us;
    }

    /* the run goes on in the open segment: as far as its parts go */
    end_us = dvr->cur.start_us;
    parts = sl_dvr_parts(dvr, dvr->next_msn);

    for (i = 0; parts != NULL && i < dvr->cur.nparts; i++) {
        end_us += parts[i].duration_us;
    }

    return end_us;
}


/* the most tiles a segment of the index from msn on gives the sheet */
static unsigned
sl_vtt_version(const sl_dvr_t *dvr, uint64_t msn, uint64_t sheet)
{
    unsigned      version;
    uint64_t      m, last;
    sl_dvr_seg_t  seg;

    version = 0;
    last = dvr->next_msn + (dvr->open ? 1 : 0);

    for (m = msn; m < last; m++) {
        if (sl_dvr_segment(dvr, m, &seg) != SL_OK || seg.preview_tile == 0) {
            continue;
        }

        if (m - seg.preview_back != sheet) {
            break;
        }

        if (seg.preview_tile > version) {
            version = seg.preview_tile;
        }
    }

    return version;
}


static void
sl_vtt_out(sl_vtt_out_t *o, const char *s, size_t n)
{
    if (n <= o->room) {
        memcpy(o->p, s, n);
        o->p += n;
        o->room -= n;

    } else {
        o->room = 0;
    }

    o->len += n;
}


static void
sl_vtt_uint(sl_vtt_out_t *o, uint64_t v)
{
    char  tmp[20], *p;

    p = tmp + sizeof(tmp);

    do {
        *--p = (char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);

    sl_vtt_out(o, p, tmp + sizeof(tmp) - p);
}


/* hh:mm:ss.ttt, hours of two digits at least (WebVTT) */
static void
sl_vtt_time(sl_vtt_out_t *o, uint64_t us)
{
    char      t[10];
    uint64_t  ms, h;

    ms = (us + 500) / 1000;
    h = ms / 3600000;

    if (h < 10) {
        sl_vtt_lit(o, "0");
    }

    sl_vtt_uint(o, h);

    t[0] = ':';
    t[1] = (char) ('0' + ms / 600000 % 6);
    t[2] = (char) ('0' + ms / 60000 % 10);
    t[3] = ':';
    t[4] = (char) ('0' + ms / 10000 % 6);
    t[5] = (char) ('0' + ms / 1000 % 10);
    t[6] = '.';
    t[7] = (char) ('0' + ms / 100 % 10);
    t[8] = (char) ('0' + ms / 10 % 10);
    t[9] = (char) ('0' + ms % 10);

    sl_vtt_out(o, t, sizeof(t));
}
