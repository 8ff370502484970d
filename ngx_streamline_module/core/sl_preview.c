
/*
 * Streamline core: the scrubber previews, taken on the ladder thread from
 * the frames it decodes anyway (no second decode).  At a segment start,
 * once conf.preview_us has passed since the last one, the frame that
 * starts the segment is scaled into the next tile of a sprite sheet
 * (SL_PREVIEW_COLUMNS x SL_PREVIEW_ROWS tiles, fitted, black bars) and the
 * sheet is encoded as a JPEG (libavcodec's mjpeg) and written, complete,
 * as <dir>/previews/<sheet>-<tiles>.jpg: a new name for each tile added,
 * so that every name means one content forever (cacheable as immutable,
 * like segments).  The version before stays for players whose track is
 * a little older; the one before that goes.  The first ladder rendition
 * carries the tile in its segment's report (sl_fmp4_t.preview_*), so the
 * DVR index knows it, trims it (the store unlinks the sheets of segments
 * that leave the window) and previews.vtt lists it (sl_playlist.c).
 *
 * A failure (no encoder, a write error) is logged and turns the previews
 * off until the next stream; the media goes on.
 */


#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/imgutils.h>

#include "sl_naming.h"
#include "sl_pipeline_int.h"


static int sl_preview_open(sl_pipeline_t *p, sl_preview_t *pv);
static void sl_preview_tile(sl_pipeline_t *p, sl_preview_t *pv,
    const AVFrame *frame, uint64_t msn, int64_t pts);
static void sl_preview_clear(AVFrame *f, int x, int y, int w, int h);
static int sl_preview_draw(sl_pipeline_t *p, sl_preview_t *pv,
    const AVFrame *src, unsigned tile);
static int sl_preview_write(sl_pipeline_t *p, sl_preview_t *pv);
static void sl_preview_fail(sl_pipeline_t *p, sl_preview_t *pv,
    const char *what, const char *path, int err);
static uint64_t sl_preview_cpu_ns(void);


/* the packager cut a segment at pts: its first decoded frame is a tile */
void
sl_preview_cut(sl_preview_t *pv, uint64_t msn, int64_t pts)
{
    if (!pv->on || pv->failed) {
        return;
    }

    if (pv->ncuts == SL_CUTS) {
        memmove(&pv->cuts[0], &pv->cuts[1], (SL_CUTS - 1) * sizeof(sl_cut_t));
        pv->ncuts--;
    }

    pv->cuts[pv->ncuts].msn = msn;
    pv->cuts[pv->ncuts].pts = pts;
    pv->cuts[pv->ncuts].wallclock_ms = 0;
    pv->ncuts++;
}


void
sl_preview_frame(sl_pipeline_t *p, const AVFrame *frame)
{
    size_t             n;
    int64_t            pts;
    uint64_t           msn, start_ns;
    sl_preview_t      *pv = &p->ladder.preview;

    if (!pv->on || pv->failed || pv->ncuts == 0) {
        return;
    }

    /* the segments that start at or before this frame: the last one's
     * first frame is this one (frames dropped before it pass the cut) */
    pts = frame->best_effort_timestamp;
    n = 0;

    while (n < pv->ncuts && pv->cuts[n].pts <= pts) {
        n++;
    }

    if (n == 0) {
        return;
    }

    msn = pv->cuts[n - 1].msn;
    pv->ncuts -= n;
    memmove(&pv->cuts[0], &pv->cuts[n], pv->ncuts * sizeof(sl_cut_t));

    if (pv->have_last && pts - pv->last_pts < p->conf.preview_us / 1000
        && pts >= pv->last_pts)
    {
        return;
    }

    start_ns = sl_preview_cpu_ns();

    sl_preview_tile(p, pv, frame, msn, pts);

    pv->cpu_ns += sl_preview_cpu_ns() - start_ns;
}


/* the tile of segment msn: into the sheet, the sheet onto the disk */
static void
sl_preview_tile(sl_pipeline_t *p, sl_preview_t *pv, const AVFrame *frame,
    uint64_t msn, int64_t pts)
{
    unsigned    tile;
    sl_fmp4_t  *out;

    if (pv->encoder == NULL && sl_preview_open(p, pv) != SL_OK) {
        /* logged, and off for this stream */
        return;
    }

    if (pv->ntiles == 0 || pv->ntiles == SL_PREVIEW_COLUMNS * SL_PREVIEW_ROWS) {
        /* a new sheet */
        pv->sheet_msn = msn;
        pv->ntiles = 0;

        if (av_frame_make_writable(pv->sheet) < 0) {
            sl_preview_fail(p, pv, "out of memory", NULL, 0);
            return;
        }

        sl_preview_clear(pv->sheet, 0, 0, pv->sheet->width,
                         pv->sheet->height);
    }

    tile = pv->ntiles;

    if (sl_preview_draw(p, pv, frame, tile) != SL_OK) {
        return;
    }

    pv->ntiles++;

    if (sl_preview_write(p, pv) != SL_OK) {
        pv->ntiles--;
        return;
    }

    pv->last_pts = pts;
    pv->have_last = 1;
    pv->tiles++;

    /* the first rendition's segment msn reports it to the index */
    if (p->ladder.nrungs > 0) {
        out = &p->ladder.rungs[0].out;
        out->preview_msn = msn;
        out->preview_sheet = pv->sheet_msn;
        out->preview_tile = tile + 1;
    }
}


/* the ladder restarts (new sequence headers): segment starts are gone */
void
sl_preview_reset(sl_preview_t *pv)
{
    pv->ncuts = 0;
}


/* the stream ended: what the previews cost, for the log */
void
sl_preview_end(sl_pipeline_t *p)
{
    uint64_t       total;
    sl_preview_t  *pv = &p->ladder.preview;

    /* on the ladder thread, at its end: its whole CPU time */
    total = sl_preview_cpu_ns();

    if (pv->tiles && total) {
        sl_pipeline_log(p, 0, "scrubber previews: %llu tiles taken in "
                        "%.1f ms of CPU time, %.2f%% of the ladder's %.0f ms",
                        (unsigned long long) pv->tiles,
                        (double) pv->cpu_ns / 1e6,
                        100.0 * (double) pv->cpu_ns / (double) total,
                        (double) total / 1e6);
    }
}


void
sl_preview_free(sl_preview_t *pv)
{
    avcodec_free_context(&pv->encoder);
    av_frame_free(&pv->sheet);
    av_packet_free(&pv->pkt);
    sws_freeContext(pv->scaler);
    pv->scaler = NULL;
}


static int
sl_preview_open(sl_pipeline_t *p, sl_preview_t *pv)
{
    int              w, h;
    const AVCodec   *codec;
    AVCodecContext  *enc;

    w = p->conf.preview_width * SL_PREVIEW_COLUMNS;
    h = p->conf.preview_height * SL_PREVIEW_ROWS;

    if (sl_name_path(pv->dir, sizeof(pv->dir), p->conf.dir,
                     SL_NAME_PREVIEW_DIR)
        >= sizeof(pv->dir))
    {
        sl_preview_fail(p, pv, "path too long", p->conf.dir, 0);
        return SL_ERROR;
    }

    if (mkdir(pv->dir, 0755) != 0 && errno != EEXIST) {
        sl_preview_fail(p, pv, "cannot create", pv->dir, errno);
        return SL_ERROR;
    }

    codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (codec == NULL) {
        sl_preview_fail(p, pv, "no JPEG encoder (mjpeg) in libavcodec",
                        NULL, 0);
        return SL_ERROR;
    }

    enc = avcodec_alloc_context3(codec);
    pv->sheet = av_frame_alloc();
    pv->pkt = av_packet_alloc();

    if (enc == NULL || pv->sheet == NULL || pv->pkt == NULL) {
        avcodec_free_context(&enc);
        sl_preview_fail(p, pv, "out of memory", NULL, 0);
        return SL_ERROR;
    }

    enc->width = w;
    enc->height = h;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->color_range = AVCOL_RANGE_JPEG;
    enc->time_base = (AVRational) { 1, 1000 };
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 6;
    enc->thread_count = 1;

    if (avcodec_open2(enc, codec, NULL) < 0) {
        avcodec_free_context(&enc);
        sl_preview_fail(p, pv, "cannot open the JPEG encoder", NULL, 0);
        return SL_ERROR;
    }

    pv->encoder = enc;

    pv->sheet->format = AV_PIX_FMT_YUV420P;
    pv->sheet->width = w;
    pv->sheet->height = h;
    pv->sheet->color_range = AVCOL_RANGE_JPEG;

    if (av_frame_get_buffer(pv->sheet, 0) < 0) {
        sl_preview_fail(p, pv, "out of memory", NULL, 0);
        return SL_ERROR;
    }

    return SL_OK;
}


/* black, full range */
static void
sl_preview_clear(AVFrame *f, int x, int y, int w, int h)
{
    int  i;

    for (i = 0; i < h; i++) {
        memset(f->data[0] + (size_t) (y + i) * f->linesize[0] + x, 0, w);
    }

    for (i = 0; i < h / 2; i++) {
        memset(f->data[1] + (size_t) (y / 2 + i) * f->linesize[1] + x / 2,
               128, w / 2);
        memset(f->data[2] + (size_t) (y / 2 + i) * f->linesize[2] + x / 2,
               128, w / 2);
    }
}


/* the frame fitted into the tile, centred, its aspect kept */
static int
sl_preview_draw(sl_pipeline_t *p, sl_preview_t *pv, const AVFrame *src,
    unsigned tile)
{
    int           tw, th, dw, dh, x, y;
    uint8_t      *dst[4];
    int           dst_stride[4];
    AVFrame      *f = pv->sheet;
    const int    *in, *out;

    tw = p->conf.preview_width;
    th = p->conf.preview_height;

    if (src->width <= 0 || src->height <= 0) {
        return SL_ERROR;
    }

    if ((int64_t) src->width * th >= (int64_t) src->height * tw) {
        dw = tw;
        dh = (int) ((int64_t) src->height * tw / src->width) & ~1;

    } else {
        dh = th;
        dw = (int) ((int64_t) src->width * th / src->height) & ~1;
    }

    if (dw < 2 || dh < 2) {
        return SL_ERROR;
    }

    pv->scaler = sws_getCachedContext(pv->scaler, src->width, src->height,
                                      src->format, dw, dh, AV_PIX_FMT_YUV420P,
                                      SWS_BILINEAR, NULL, NULL, NULL);
    if (pv->scaler == NULL) {
        return SL_ERROR;
    }

    /* limited (video) range in, full (JPEG) range out, BT.601 out */
    in = sws_getCoefficients(src->colorspace == AVCOL_SPC_BT709
                             ? SWS_CS_ITU709 : SWS_CS_ITU601);
    out = sws_getCoefficients(SWS_CS_ITU601);
    (void) sws_setColorspaceDetails(pv->scaler, in,
                                    src->color_range == AVCOL_RANGE_JPEG,
                                    out, 1, 0, 1 << 16, 1 << 16);

    if (av_frame_make_writable(f) < 0) {
        return SL_ERROR;
    }

    x = (int) (tile % SL_PREVIEW_COLUMNS) * tw;
    y = (int) (tile / SL_PREVIEW_COLUMNS) * th;

    sl_preview_clear(f, x, y, tw, th);

    x += ((tw - dw) / 2) & ~1;
    y += ((th - dh) / 2) & ~1;

    dst[0] = f->data[0] + (size_t) y * f->linesize[0] + x;
    dst[1] = f->data[1] + (size_t) (y / 2) * f->linesize[1] + x / 2;
    dst[2] = f->data[2] + (size_t) (y / 2) * f->linesize[2] + x / 2;
    dst[3] = NULL;
    dst_stride[0] = f->linesize[0];
    dst_stride[1] = f->linesize[1];
    dst_stride[2] = f->linesize[2];
    dst_stride[3] = 0;

    if (sws_scale(pv->scaler, (const uint8_t * const *) src->data,
                  src->linesize, 0, src->height, dst, dst_stride)
        <= 0)
    {
        return SL_ERROR;
    }

    return SL_OK;
}


/* the sheet as <sheet>-<ntiles>.jpg; <sheet>-<ntiles - 2>.jpg goes */
static int
sl_preview_write(sl_pipeline_t *p, sl_preview_t *pv)
{
    int    err;
    char   name[SL_NAME_MAX], path[4300];

    /* the encoder wants its frames' pts to grow, sheet after sheet */
    pv->sheet->pts = pv->encoded++;

    if (avcodec_send_frame(pv->encoder, pv->sheet) < 0
        || avcodec_receive_packet(pv->encoder, pv->pkt) < 0)
    {
        sl_preview_fail(p, pv, "cannot encode a sheet", NULL, 0);
        return SL_ERROR;
    }

    (void) sl_name_preview(name, sizeof(name), pv->sheet_msn, pv->ntiles);

    if (sl_name_path(path, sizeof(path), pv->dir, name) >= sizeof(path)) {
        av_packet_unref(pv->pkt);
        sl_preview_fail(p, pv, "path too long", pv->dir, 0);
        return SL_ERROR;
    }

    err = sl_file_replace(path, pv->pkt->data, pv->pkt->size, 0);
    av_packet_unref(pv->pkt);

    if (err) {
        /* a full disk, say: this tile is lost, the next one tries again */
        if (!pv->write_failing) {
            pv->write_failing = 1;
            sl_pipeline_log(p, 1, "cannot write scrubber preview \"%s\": "
                            "%s", path, strerror(err));
        }

        return SL_ERROR;
    }

    if (pv->write_failing) {
        pv->write_failing = 0;
        sl_pipeline_log(p, 0, "scrubber previews written again in \"%s\"",
                        pv->dir);
    }

    if (pv->ntiles > 2) {
        (void) sl_name_preview(name, sizeof(name), pv->sheet_msn,
                               pv->ntiles - 2);
        if (sl_name_path(path, sizeof(path), pv->dir, name) < sizeof(path)) {
            (void) unlink(path);
        }
    }

    return SL_OK;
}


static void
sl_preview_fail(sl_pipeline_t *p, sl_preview_t *pv, const char *what,
    const char *path, int err)
{
    if (err) {
        sl_pipeline_log(p, 1, "scrubber previews off for this stream: %s "
                        "\"%s\": %s", what, path, strerror(err));

    } else if (path) {
        sl_pipeline_log(p, 1, "scrubber previews off for this stream: %s "
                        "\"%s\"", what, path);

    } else {
        sl_pipeline_log(p, 1, "scrubber previews off for this stream: %s",
                        what);
    }

    pv->failed = 1;

    /* no stale tile for the segments to come */
    if (p->ladder.nrungs > 0) {
        p->ladder.rungs[0].out.preview_tile = 0;
        p->ladder.rungs[0].out.shown_tile = 0;
    }
}


/* this thread's CPU time */
static uint64_t
sl_preview_cpu_ns(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
        return 0;
    }

    return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}
