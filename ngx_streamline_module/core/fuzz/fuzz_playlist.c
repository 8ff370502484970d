
/*
 * libFuzzer target: the playlist checker (core/test/) on the input as a
 * media playlist, with and without the module's own form, and as a master
 * playlist; then the input as a program of DVR operations whose every
 * rendering must pass the checker, the module's form included, agree with
 * the index and with the rendering before it.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_media.h"
#include "sl_playlist_check.h"


typedef struct {
    const uint8_t  *p;
    const uint8_t  *end;
} fuzz_in_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(const uint8_t *data, size_t size);
static void fuzz_check_rendered(const uint8_t *data, size_t size,
    const sl_playlist_info_t *rfc);
static void fuzz_program(fuzz_in_t *in);
static void fuzz_render(sl_dvr_t *dvr, unsigned mode, unsigned arg,
    sl_playlist_info_t *prev);
static unsigned fuzz_byte(fuzz_in_t *in);
static void fuzz_fail(const char *what, const char *err,
    const unsigned char *pl, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t  in;

    fuzz_check(data, size);

    in.p = data;
    in.end = data + size;

    fuzz_program(&in);

    return 0;
}


static void
fuzz_check(const uint8_t *data, size_t size)
{
    size_t              i, lines;
    const char         *err;
    sl_playlist_info_t  info, again;

    err = NULL;

    if (sl_playlist_check(data, size, &info, &err) != SL_OK) {
        lines = 1;

        for (i = 0; i < size; i++) {
            lines += (data[i] == '\n');
        }

        if (err == NULL || *err == '\0' || info.line == 0
            || info.line > lines)
        {
            abort();
        }

        fuzz_check_rendered(data, size, NULL);
        return;
    }

    if (info.line != 0 || info.last_part < -1
        || info.parts > size || info.segments > size
        || (info.skipped > 0 && info.version < 9))
    {
        abort();
    }

    /* what passed passes again, and as its own reload */

    if (sl_playlist_check(data, size, &again, &err) != SL_OK
        || memcmp(&info, &again, sizeof(info)) != 0
        || sl_playlist_check_reload(&info, &again, &err) != SL_OK)
    {
        abort();
    }

    fuzz_check_rendered(data, size, &info);
}


/*
 * What passes the module's form passes RFC 8216 alone, the same; its
 * segments, recorded, are numbered one after the other and are their own
 * later version.  The master checker says where, whatever it is fed.
 */

static void
fuzz_check_rendered(const uint8_t *data, size_t size,
    const sl_playlist_info_t *rfc)
{
    size_t               i, line;
    const char          *err, *errs[8];
    sl_playlist_opts_t   opts;
    sl_playlist_seg_t    segs[64];
    sl_playlist_info_t   info;

    if (sl_playlist_check_master(data, size, &line, &err) != SL_OK
        && (err == NULL || line == 0 || line > size + 1))
    {
        abort();
    }

    memset(&opts, 0, sizeof(opts));
    opts.rendered = 1;
    opts.segs = segs;
    opts.max_segs = 64;

    if (sl_playlist_check_opts(data, size, &opts, &info, &err) != SL_OK) {
        if (err == NULL || info.line == 0 || info.line > size + 1) {
            abort();
        }

        return;
    }

    if (rfc == NULL || memcmp(rfc, &info, sizeof(info)) != 0
        || sl_playlist_reload_problems(&info, &info, errs, 8) != 0)
    {
        abort();
    }

    for (i = 0; i < info.segments; i++) {
        if (segs[i].msn != info.media_sequence + info.skipped + i
            || (segs[i].pdt_stated && segs[i].pdt_us < 0)
            || sl_playlist_check_segment(&segs[i], &segs[i], i == 0, &err)
               != SL_OK
            || sl_playlist_check_date(&segs[i], &segs[i], &err) != SL_OK)
        {
            abort();
        }
    }
}


static void
fuzz_program(fuzz_in_t *in)
{
    unsigned            op, b, n, mode, renders;
    int64_t             pdt;
    uint32_t            init;
    sl_dvr_t           *dvr;
    void               *block;
    size_t              size;
    sl_dvr_drop_t       drop[8];
    sl_dvr_params_t     p;
    sl_playlist_info_t  prev[8];

    memset(&p, 0, sizeof(p));

    p.max_segments = 1 + fuzz_byte(in) % 64;
    p.max_parts = fuzz_byte(in) % 17;
    p.window_us = (1 + fuzz_byte(in) % 60) * 1000000ULL;
    p.target_duration = 1 + fuzz_byte(in) % 4;
    b = fuzz_byte(in);
    p.part_target_us = (b % 8 == 0) ? 0 : 100000 + (b % 10) * 100000;
    p.first_msn = fuzz_byte(in) * 1000ULL;
    p.first_dseq = fuzz_byte(in) % 3;

    size = sl_dvr_size(p.max_segments, p.max_parts);

    block = malloc(size);
    if (block == NULL) {
        abort();
    }

    dvr = sl_dvr_init(block, size, &p);
    if (dvr == NULL) {
        abort();
    }

    memset(prev, 0, sizeof(prev));

    pdt = 1700000000000LL;
    init = 1;
    renders = 0;

    while (in->p < in->end) {
        b = fuzz_byte(in);
        op = b & 7;
        b >>= 3;

        switch (op) {

        case 0:
            init += b & 1;
            pdt += fuzz_byte(in) * 20;
            sl_dvr_segment_start(dvr, (b & 16) ? -1 : pdt, init,
                                 (b >> 1) & 7);
            break;

        case 1:
            sl_dvr_part_add(dvr, (fuzz_byte(in) + 1) * 4000, 100,
                            b & SL_PART_INDEPENDENT);
            break;

        case 2:
            sl_dvr_segment_close(dvr, (fuzz_byte(in) + 1) * 20000, 1000,
                                 NULL);
            break;

        case 3:
            sl_dvr_discontinuity(dvr);
            break;

        case 4:
            sl_dvr_trim(dvr, drop, (b % 8) + 1);
            break;

        case 5:
            if (b == 31) {
                sl_dvr_end(dvr);
            }

            break;

        case 6:
            /* a few: playlist text is full of this op */
            if (renders++ < 16) {
                fuzz_render(dvr, b & 7, fuzz_byte(in), &prev[b & 7]);
            }

            break;

        default:
            /* a whole segment within the targets */
            n = 1 + b % 8;

            if (sl_dvr_segment_start(dvr, pdt, init, SL_SEG_INDEPENDENT)
                == SL_OK)
            {
                while (n--) {
                    sl_dvr_part_add(dvr, dvr->part_target_us
                                         ? dvr->part_target_us : 250000,
                                    100, SL_PART_INDEPENDENT);
                }

                sl_dvr_segment_close(dvr, 1000000, 1000, NULL);
                sl_dvr_trim(dvr, drop, 8);
            }

            pdt += 1000;
            break;
        }
    }

    for (mode = 0; mode < 8; mode++) {
        fuzz_render(dvr, mode, 0, &prev[mode]);
    }

    free(block);
}


/*
 * mode bits: 1 parts and blocking reload, 2 delta update, 4 a rendition
 * report; arg: the skip boundary and the first buffer size
 */

static void
fuzz_render(sl_dvr_t *dvr, unsigned mode, unsigned arg,
    sl_playlist_info_t *prev)
{
    int64_t             part;
    size_t              n, m;
    uint64_t            msn;
    const char         *err;
    unsigned char      *buf;
    sl_hls_opts_t       opts;
    sl_hls_report_t     rep;
    sl_playlist_info_t  info;
    sl_playlist_opts_t  rendered;

    memset(&opts, 0, sizeof(opts));
    opts.parts = (mode & 1) != 0;
    opts.block = (mode & 1) != 0;
    opts.skip = (mode & 2) != 0;
    opts.can_skip_until_us = (mode & 2) ? arg * 500000ULL : 0;
    opts.hold_back_us = arg * 100000ULL;
    opts.part_hold_back_us = arg * 10000ULL;

    /* as the HTTP glue: an ended playlist reports nothing (and the
     * module's form has no line after EXT-X-ENDLIST) */

    if ((mode & 4) && !dvr->ended) {
        rep.uri = (const unsigned char *) "../r/index.m3u8";
        rep.uri_len = 15;
        rep.last_msn = arg;
        rep.last_part = (int64_t) arg - 128;
        opts.reports = &rep;
        opts.nreports = 1;
    }

    /* a small buffer first: the size it asks for must fit exactly */

    n = arg;
    buf = malloc(n + 1);
    if (buf == NULL) {
        abort();
    }

    m = sl_hls_media_playlist(dvr, &opts, buf, n);

    if (m == 0) {
        abort();
    }

    if (m > n) {
        free(buf);

        n = m;
        buf = malloc(n);
        if (buf == NULL) {
            abort();
        }

        m = sl_hls_media_playlist(dvr, &opts, buf, n);

        if (m != n) {
            abort();
        }
    }

    memset(&rendered, 0, sizeof(rendered));
    rendered.rendered = 1;

    if (sl_playlist_check_opts(buf, m, &rendered, &info, &err) != SL_OK) {
        fprintf(stderr, "line %zu\n", info.line);
        fuzz_fail("checker", err, buf, m);
    }

    if (info.media_sequence != dvr->first_msn
        || (info.ended != 0) != (dvr->ended != 0)
        || info.target_duration != dvr->target_duration)
    {
        fuzz_fail("index", "sequence, ended or target", buf, m);
    }

    if ((mode & 1) && sl_dvr_last(dvr, &msn, &part) == SL_OK
        && (info.last_msn != msn || info.last_part != part))
    {
        fuzz_fail("index", "last part", buf, m);
    }

    /* a raised target breaks a reload rule on purpose: not checked then */

    if (prev->version != 0 && prev->target_duration == info.target_duration
        && sl_playlist_check_reload(prev, &info, &err) != SL_OK)
    {
        fuzz_fail("reload", err, buf, m);
    }

    *prev = info;

    free(buf);
}


static unsigned
fuzz_byte(fuzz_in_t *in)
{
    return (in->p < in->end) ? *in->p++ : 0;
}


static void
fuzz_fail(const char *what, const char *err, const unsigned char *pl,
    size_t len)
{
    fprintf(stderr, "%s: %s\n%.*s\n", what, err, (int) len, pl);
    abort();
}
