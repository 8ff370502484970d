
/*
 * Streamline core: HLS media playlists rendered from a DVR index, and the
 * master playlist of a channel's renditions (draft-pantos-hls-rfc8216bis).
 * File names are sl_naming.h's; the numbered ones are written here from
 * its prefixes and suffixes, straight into the output (a 4-hour playlist
 * names 7,200 segments on every request: a name written elsewhere first
 * and copied made rendering 60 % slower).
 */


#include <string.h>

#include "sl_media.h"


#define SL_HLS_CODECS_MAX   256

#define sl_out_lit(o, s)    sl_out(o, (const unsigned char *) s, sizeof(s) - 1)
#define sl_out_str(o, s, n) sl_out(o, (const unsigned char *) s, n)


/*
 * Output into the caller's buffer; len counts everything, so once the
 * buffer is full the rest is only counted.
 */
typedef struct {
    unsigned char  *p;
    size_t          room;
    size_t          len;
} sl_out_t;

/* what the segment tags need to know about the segments before */
typedef struct {
    unsigned   first:1;
    unsigned   pdt:1;                /* expect_us is known */
    uint32_t   init_id;
    int64_t    expect_us;            /* wall clock a client derives */
} sl_hls_run_t;


static void sl_out(sl_out_t *o, const unsigned char *s, size_t n);
static void sl_out_uint(sl_out_t *o, uint64_t v);
static void sl_out_ms(sl_out_t *o, uint64_t us);
static void sl_hls_segment_tags(sl_out_t *o, const sl_dvr_seg_t *s,
    sl_hls_run_t *run);
static void sl_hls_parts(sl_out_t *o, uint64_t msn,
    const sl_dvr_part_t *parts, size_t n);
static void sl_hls_part_uri(sl_out_t *o, uint64_t msn, uint64_t i);
static void sl_hls_server_control(sl_out_t *o, const sl_dvr_t *dvr,
    const sl_hls_opts_t *opts, int parts, uint64_t skip_until);
static uint64_t sl_vtt_end(const sl_dvr_t *dvr, const sl_dvr_seg_t *first,
    uint64_t *next);
static unsigned sl_vtt_version(const sl_dvr_t *dvr, uint64_t msn,
    uint64_t sheet);
static void sl_vtt_time(sl_out_t *o, uint64_t us);
static uint64_t sl_hls_skippable(const sl_dvr_t *dvr, uint64_t boundary);
static uint64_t sl_hls_part_from(const sl_dvr_t *dvr, uint64_t boundary);
static int sl_hls_quotable(const unsigned char *s, size_t len);


size_t
sl_hls_media_playlist(const sl_dvr_t *dvr, const sl_hls_opts_t *opts,
    unsigned char *buf, size_t size)
{
    int                   parts, cur, independent;
    size_t                i;
    uint64_t              count, skipped, skip_until, td_us, end, msn;
    uint64_t              part_from, slot, hint_msn, hint_part, dseq;
    sl_out_t              o;
    sl_hls_run_t          run;
    const sl_dvr_seg_t   *ring, *s, *first;
    const sl_dvr_part_t  *detail;

    static const sl_hls_opts_t  plain;

    if (dvr->magic != SL_DVR_MAGIC) {
        return 0;
    }

    if (opts == NULL) {
        opts = &plain;
    }

    for (i = 0; i < opts->nreports; i++) {
        if (!sl_hls_quotable(opts->reports[i].uri, opts->reports[i].uri_len)
            || opts->reports[i].uri_len == 0)
        {
            return 0;
        }
    }

    o.p = buf;
    o.room = (buf == NULL) ? 0 : size;
    o.len = 0;

    ring = (const sl_dvr_seg_t *) ((const unsigned char *) dvr + dvr->seg_off);
    count = dvr->next_msn - dvr->first_msn;
    td_us = (uint64_t) dvr->target_duration * 1000000;

    parts = opts->parts && dvr->part_target_us > 0 && dvr->max_parts > 0;
    cur = parts && dvr->open && dvr->cur.nparts > 0;

    skip_until = opts->can_skip_until_us;

    if (skip_until != 0 && skip_until < 6 * td_us) {
        skip_until = 6 * td_us;
    }

    skipped = 0;

    if (opts->skip && skip_until != 0 && dvr->end_us > skip_until) {
        skipped = sl_hls_skippable(dvr, dvr->end_us - skip_until);
    }

    first = (count > 0) ? &ring[dvr->first_msn % dvr->slots]
            : dvr->open ? &dvr->cur : NULL;

    if (first != NULL) {
        dseq = first->dseq - ((first->flags & SL_SEG_DISCONTINUITY) ? 1 : 0);

    } else {
        dseq = dvr->dseq;
    }

    independent = (dvr->dependent == 0
                   && (!cur || (dvr->cur.flags & SL_SEG_INDEPENDENT)));

    sl_out_lit(&o, "#EXTM3U\n#EXT-X-VERSION:");
    sl_out_uint(&o, skipped ? SL_HLS_VERSION_SKIP : SL_HLS_VERSION);
    sl_out_lit(&o, "\n#EXT-X-TARGETDURATION:");
    sl_out_uint(&o, dvr->target_duration);
    sl_out_lit(&o, "\n");

    if (opts->block || skip_until != 0 || parts) {
        sl_hls_server_control(&o, dvr, opts, parts, skip_until);
    }

    if (parts) {
        sl_out_lit(&o, "#EXT-X-PART-INF:PART-TARGET=");
        sl_out_ms(&o, dvr->part_target_us);
        sl_out_lit(&o, "\n");
    }

    sl_out_lit(&o, "#EXT-X-MEDIA-SEQUENCE:");
    sl_out_uint(&o, dvr->first_msn);
    sl_out_lit(&o, "\n");

    if (dseq != 0) {
        sl_out_lit(&o, "#EXT-X-DISCONTINUITY-SEQUENCE:");
        sl_out_uint(&o, dseq);
        sl_out_lit(&o, "\n");
    }

    if (independent) {
        sl_out_lit(&o, "#EXT-X-INDEPENDENT-SEGMENTS\n");
    }

    if (skipped) {
        sl_out_lit(&o, "#EXT-X-SKIP:SKIPPED-SEGMENTS=");
        sl_out_uint(&o, skipped);
        sl_out_lit(&o, "\n");
    }

    /* timed metadata, before the first segment listed (a client places
     * it by its START-DATE), while its date is in the window */

    for (i = 0; i < opts->ndateranges; i++) {
        /* RFC 8216bis: only with an EXT-X-PROGRAM-DATE-TIME */
        if (first != NULL && first->pdt_ms >= 0
            && opts->dateranges[i].start_ms >= first->pdt_ms)
        {
            sl_out(&o, opts->dateranges[i].tag, opts->dateranges[i].len);
        }
    }

    /* parts for the segments that end within 3 target durations of the
     * end of the playlist, as long as their detail is kept */

    part_from = UINT64_MAX;

    if (parts) {
        end = dvr->end_us + (cur ? dvr->cur.duration_us : 0);
        part_from = sl_hls_part_from(dvr, (end > 3 * td_us) ? end - 3 * td_us
                                                            : 0);
    }

    run.first = 1;
    run.pdt = 0;
    run.init_id = 0;
    run.expect_us = 0;

    slot = (dvr->first_msn + skipped) % dvr->slots;

    for (msn = dvr->first_msn + skipped; msn < dvr->next_msn; msn++) {
        s = &ring[slot];

        if (++slot == dvr->slots) {
            slot = 0;
        }

        sl_hls_segment_tags(&o, s, &run);

        if (msn >= part_from && s->nparts > 0) {
            detail = sl_dvr_parts(dvr, msn);

            if (detail != NULL) {
                sl_hls_parts(&o, msn, detail, s->nparts);
            }
        }

        if (s->flags & SL_SEG_GAP) {
            sl_out_lit(&o, "#EXT-X-GAP\n");
        }

        sl_out_lit(&o, "#EXTINF:");
        sl_out_ms(&o, s->duration_us);
        sl_out_lit(&o, ",\n" SL_NAME_SEGMENT_PREFIX);
        sl_out_uint(&o, msn);
        sl_out_lit(&o, SL_NAME_MEDIA_SUFFIX "\n");
    }

    if (cur) {
        sl_hls_segment_tags(&o, &dvr->cur, &run);
        sl_hls_parts(&o, dvr->next_msn, sl_dvr_parts(dvr, dvr->next_msn),
                     dvr->cur.nparts);
    }

    if (dvr->ended) {
        sl_out_lit(&o, "#EXT-X-ENDLIST\n");

    } else if (parts && !(dvr->open && (dvr->cur.flags & SL_SEG_GAP))) {
        /* a gap has no parts: no hint until the segment after it */

        hint_msn = dvr->next_msn;
        hint_part = 0;

        if (dvr->open) {
            if (dvr->cur.nparts < dvr->max_parts) {
                hint_part = dvr->cur.nparts;

            } else {
                hint_msn++;
            }
        }

        sl_out_lit(&o, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"");
        sl_hls_part_uri(&o, hint_msn, hint_part);
        sl_out_lit(&o, "\"\n");
    }

    for (i = 0; i < opts->nreports; i++) {
        sl_out_lit(&o, "#EXT-X-RENDITION-REPORT:URI=\"");
        sl_out(&o, opts->reports[i].uri, opts->reports[i].uri_len);
        sl_out_lit(&o, "\",LAST-MSN=");
        sl_out_uint(&o, opts->reports[i].last_msn);

        if (opts->reports[i].last_part >= 0) {
            sl_out_lit(&o, ",LAST-PART=");
            sl_out_uint(&o, (uint64_t) opts->reports[i].last_part);
        }

        sl_out_lit(&o, "\n");
    }

    return o.len;
}


/* the tags before a segment (or before its first part) */

static void
sl_hls_segment_tags(sl_out_t *o, const sl_dvr_seg_t *s, sl_hls_run_t *run)
{
    int64_t        pdt_us, d;
    unsigned char  iso[SL_ISO8601_LEN];

    if (s->flags & SL_SEG_DISCONTINUITY) {
        sl_out_lit(o, "#EXT-X-DISCONTINUITY\n");
    }

    if (run->first || s->init_id != run->init_id) {
        sl_out_lit(o, "#EXT-X-MAP:URI=\"" SL_NAME_INIT_PREFIX);
        sl_out_uint(o, s->init_id);
        sl_out_lit(o, SL_NAME_INIT_SUFFIX "\"\n");
        run->init_id = s->init_id;
    }

    if (s->pdt_ms < 0 || sl_iso8601_ms(s->pdt_ms, iso) != SL_OK) {
        run->pdt = 0;

    } else {
        pdt_us = s->pdt_ms * 1000;
        d = pdt_us - run->expect_us;

        if (run->first || !run->pdt || (s->flags & SL_SEG_DISCONTINUITY)
            || d > SL_HLS_PDT_SLACK_MS * 1000
            || d < -SL_HLS_PDT_SLACK_MS * 1000)
        {
            sl_out_lit(o, "#EXT-X-PROGRAM-DATE-TIME:");
            sl_out(o, iso, SL_ISO8601_LEN);
            sl_out_lit(o, "\n");

            run->expect_us = pdt_us;
            run->pdt = 1;
        }

        /* as a client adds it up: the EXTINF, in ms */

        run->expect_us += (int64_t) ((s->duration_us + 500) / 1000 * 1000);
    }

    run->first = 0;
}


static void
sl_hls_parts(sl_out_t *o, uint64_t msn, const sl_dvr_part_t *parts, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        sl_out_lit(o, "#EXT-X-PART:DURATION=");
        sl_out_ms(o, parts[i].duration_us);
        sl_out_lit(o, ",URI=\"");
        sl_hls_part_uri(o, msn, i);

        if (parts[i].flags & SL_PART_INDEPENDENT) {
            sl_out_lit(o, "\",INDEPENDENT=YES\n");

        } else {
            sl_out_lit(o, "\"\n");
        }
    }
}


static void
sl_hls_part_uri(sl_out_t *o, uint64_t msn, uint64_t i)
{
    sl_out_lit(o, SL_NAME_PART_PREFIX);
    sl_out_uint(o, msn);
    sl_out_lit(o, ".");
    sl_out_uint(o, i);
    sl_out_lit(o, SL_NAME_MEDIA_SUFFIX);
}


static void
sl_hls_server_control(sl_out_t *o, const sl_dvr_t *dvr,
    const sl_hls_opts_t *opts, int parts, uint64_t skip_until)
{
    uint64_t  us, min;

    sl_out_lit(o, "#EXT-X-SERVER-CONTROL:");

    if (opts->block) {
        sl_out_lit(o, "CAN-BLOCK-RELOAD=YES,");
    }

    if (skip_until != 0) {
        sl_out_lit(o, "CAN-SKIP-UNTIL=");
        sl_out_ms(o, skip_until);
        sl_out_lit(o, ",");
    }

    if (parts) {
        /* at least twice PART-TARGET (RFC 8216bis 4.4.3.8) */
        min = (uint64_t) (dvr->part_hold_back >= 2 ? dvr->part_hold_back : 3)
              * dvr->part_target_us;
        us = (opts->part_hold_back_us > min) ? opts->part_hold_back_us : min;

        sl_out_lit(o, "PART-HOLD-BACK=");
        sl_out_ms(o, us);
        sl_out_lit(o, ",");
    }

    min = 3 * (uint64_t) dvr->target_duration * 1000000;
    us = (opts->hold_back_us > min) ? opts->hold_back_us : min;

    sl_out_lit(o, "HOLD-BACK=");
    sl_out_ms(o, us);
    sl_out_lit(o, "\n");
}


/* how many of the oldest segments end at or before boundary */

static uint64_t
sl_hls_skippable(const sl_dvr_t *dvr, uint64_t boundary)
{
    uint64_t             lo, hi, mid;
    const sl_dvr_seg_t  *ring, *s;

    ring = (const sl_dvr_seg_t *) ((const unsigned char *) dvr + dvr->seg_off);

    lo = 0;
    hi = dvr->next_msn - dvr->first_msn;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        s = &ring[(dvr->first_msn + mid) % dvr->slots];

        if (s->start_us + s->duration_us <= boundary) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return lo;
}


/* the first closed segment that ends after boundary and whose part detail
 * is kept; a few steps back from the newest at most */

static uint64_t
sl_hls_part_from(const sl_dvr_t *dvr, uint64_t boundary)
{
    uint64_t             msn;
    const sl_dvr_seg_t  *ring, *s;

    ring = (const sl_dvr_seg_t *) ((const unsigned char *) dvr + dvr->seg_off);

    msn = dvr->next_msn;

    while (msn > dvr->first_msn
           && dvr->next_msn - (msn - 1) <= SL_DVR_PART_SEGMENTS)
    {
        s = &ring[(msn - 1) % dvr->slots];

        if (s->start_us + s->duration_us <= boundary) {
            break;
        }

        msn--;
    }

    return msn;
}


size_t
sl_hls_master_playlist(const sl_hls_variant_t *v, size_t n,
    unsigned char *buf, size_t size)
{
    char      uri[SL_NAME_URI_MAX];
    size_t    i, len;
    uint64_t  fr;
    sl_out_t  o;

    if (n == 0) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (!sl_channel_valid(v[i].name, v[i].name_len)
            || v[i].bandwidth == 0
            || !(v[i].frame_rate >= 0 && v[i].frame_rate <= 1000))
        {
            return 0;
        }

        if (v[i].codecs != NULL) {
            len = strlen(v[i].codecs);

            if (len == 0 || len > SL_HLS_CODECS_MAX
                || !sl_hls_quotable((const unsigned char *) v[i].codecs, len))
            {
                return 0;
            }
        }
    }

    o.p = buf;
    o.room = (buf == NULL) ? 0 : size;
    o.len = 0;

    sl_out_lit(&o, "#EXTM3U\n#EXT-X-VERSION:");
    sl_out_uint(&o, SL_HLS_VERSION);
    sl_out_lit(&o, "\n#EXT-X-INDEPENDENT-SEGMENTS\n");

    for (i = 0; i < n; i++) {
        sl_out_lit(&o, "#EXT-X-STREAM-INF:BANDWIDTH=");
        sl_out_uint(&o, v[i].bandwidth);

        if (v[i].average_bandwidth != 0) {
            sl_out_lit(&o, ",AVERAGE-BANDWIDTH=");
            sl_out_uint(&o, v[i].average_bandwidth);
        }

        /* the size comes from the publisher's metadata: half of it is
         * no resolution, not a reason to fail the whole playlist */

        if (v[i].width != 0 && v[i].height != 0) {
            sl_out_lit(&o, ",RESOLUTION=");
            sl_out_uint(&o, v[i].width);
            sl_out_lit(&o, "x");
            sl_out_uint(&o, v[i].height);
        }

        if (v[i].codecs != NULL) {
            sl_out_lit(&o, ",CODECS=\"");
            sl_out(&o, (const unsigned char *) v[i].codecs,
                   strlen(v[i].codecs));
            sl_out_lit(&o, "\"");
        }

        if (v[i].frame_rate > 0) {
            /* thousandths, rounded: FRAME-RATE=29.970 */
            fr = (uint64_t) (v[i].frame_rate * 1000 + 0.5);

            sl_out_lit(&o, ",FRAME-RATE=");
            sl_out_ms(&o, fr * 1000);
        }

        sl_out_lit(&o, "\n");
        sl_out_str(&o, uri, sl_name_media_uri(uri, sizeof(uri), v[i].name,
                                              v[i].name_len));
        sl_out_lit(&o, "\n");
    }

    return o.len;
}


/* a quoted-string value: no '"', no control bytes, nothing beyond ASCII */

static int
sl_hls_quotable(const unsigned char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] >= 0x7f || s[i] == '"') {
            return 0;
        }
    }

    return 1;
}


static void
sl_out(sl_out_t *o, const unsigned char *s, size_t n)
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
sl_out_uint(sl_out_t *o, uint64_t v)
{
    unsigned char  tmp[20], *p;

    p = tmp + sizeof(tmp);

    do {
        *--p = (unsigned char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);

    sl_out(o, p, tmp + sizeof(tmp) - p);
}


/* microseconds as seconds with 3 decimals, rounded to the ms */

static void
sl_out_ms(sl_out_t *o, uint64_t us)
{
    uint64_t       ms;
    unsigned char  frac[4];

    ms = (us + 500) / 1000;

    frac[0] = '.';
    frac[1] = (unsigned char) ('0' + ms / 100 % 10);
    frac[2] = (unsigned char) ('0' + ms / 10 % 10);
    frac[3] = (unsigned char) ('0' + ms % 10);

    sl_out_uint(o, ms / 1000);
    sl_out(o, frac, 4);
}


/*
 * The WebVTT track of a channel's scrubber previews
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


size_t
sl_preview_vtt(const sl_dvr_t *dvr, const sl_preview_geom_t *g,
    unsigned char *buf, size_t size)
{
    char           name[SL_NAME_MAX];
    unsigned       tile, version;
    uint64_t       msn, last, next, end_us, sheet, cur_sheet;
    sl_dvr_seg_t   seg;
    sl_out_t   o;

    o.p = buf;
    o.room = size;
    o.len = 0;

    if (g->width == 0 || g->height == 0 || g->columns == 0) {
        return 0;
    }

    sl_out_lit(&o, "WEBVTT\n\nNOTE Streamline scrubber previews: cue times "
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

        sl_out_lit(&o, "\n");
        sl_out_uint(&o, msn);
        sl_out_lit(&o, "\n");
        sl_vtt_time(&o, seg.start_us);
        sl_out_lit(&o, " --> ");
        sl_vtt_time(&o, end_us);
        sl_out_lit(&o, "\n" SL_NAME_PREVIEW_DIR "/");
        sl_out(&o, (const unsigned char *) name, strlen(name));
        sl_out_lit(&o, "#xywh=");
        sl_out_uint(&o, (uint64_t) (tile % g->columns) * g->width);
        sl_out_lit(&o, ",");
        sl_out_uint(&o, (uint64_t) (tile / g->columns) * g->height);
        sl_out_lit(&o, ",");
        sl_out_uint(&o, g->width);
        sl_out_lit(&o, ",");
        sl_out_uint(&o, g->height);
        sl_out_lit(&o, "\n");
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


/* hh:mm:ss.ttt, hours of two digits at least (WebVTT) */
static void
sl_vtt_time(sl_out_t *o, uint64_t us)
{
    char      t[10];
    uint64_t  ms, h;

    ms = (us + 500) / 1000;
    h = ms / 3600000;

    if (h < 10) {
        sl_out_lit(o, "0");
    }

    sl_out_uint(o, h);

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

    sl_out(o, (const unsigned char *) t, sizeof(t));
}
