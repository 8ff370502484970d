/*
 * Streamline core: a clip's remux (see sl_clip.h).  The init segment and
 * the media segments are read through one AVIOContext as the fragmented
 * MP4 they make together (pread() on descriptors opened first, so a
 * segment trimmed meanwhile is still read whole); libavformat's mp4
 * muxer writes them, packets copied, with movflags=+faststart: the moov
 * box before the mdat, so that a player starts before the whole file is
 * there.  Blocking: it runs on a thread (nginx's thread pool).
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <libavformat/avformat.h>
#include <libavutil/mathematics.h>

#include "sl_core.h"
#include "sl_clip.h"


#define SL_CLIP_IO_BUF  65536


typedef struct {
    int       fd;
    int64_t   size;
    int64_t   start;                 /* its offset in the whole */
} sl_clip_file_t;

typedef struct {
    sl_clip_file_t  *files;
    size_t           n;
    int64_t          size;
    int64_t          pos;
} sl_clip_in_t;


static int sl_clip_read(void *opaque, uint8_t *buf, int size);
static int64_t sl_clip_seek(void *opaque, int64_t offset, int whence);
static int sl_clip_copy(AVFormatContext *ic, const char *tmp, char *err,
    size_t err_size);


int
sl_clip_remux(const char *const *files, size_t n, const char *tmp,
    const char *path, char *err, size_t err_size)
{
    int               rc, e;
    size_t            i, opened;
    uint8_t          *buf;
    struct stat       st;
    sl_clip_in_t      in;
    AVIOContext      *pb;
    AVFormatContext  *ic;
    sl_clip_file_t   *f;

    err[0] = '\0';

    if (n < 2) {
        snprintf(err, err_size, "no segment");
        return SL_ERROR;
    }

    f = calloc(n, sizeof(sl_clip_file_t));
    if (f == NULL) {
        snprintf(err, err_size, "out of memory");
        return SL_ERROR;
    }

    in.files = f;
    in.n = n;
    in.size = 0;
    in.pos = 0;
    rc = SL_OK;

    for (opened = 0; opened < n; opened++) {
        f[opened].fd = open(files[opened], O_RDONLY | O_CLOEXEC);

        if (f[opened].fd == -1 || fstat(f[opened].fd, &st) == -1) {
            e = errno;
            snprintf(err, err_size, "%s: %s", files[opened], strerror(e));
            rc = (e == ENOENT) ? SL_DECLINED : SL_ERROR;

            if (f[opened].fd != -1) {
                opened++;
            }

            goto close;
        }

        f[opened].size = st.st_size;
        f[opened].start = in.size;
        in.size += st.st_size;
    }

    ic = NULL;
    pb = NULL;
    buf = av_malloc(SL_CLIP_IO_BUF);

    if (buf != NULL) {
        pb = avio_alloc_context(buf, SL_CLIP_IO_BUF, 0, &in, sl_clip_read,
                                NULL, sl_clip_seek);
    }

    if (pb != NULL) {
        ic = avformat_alloc_context();
    }

    if (ic == NULL) {
        if (pb != NULL) {
            av_freep(&pb->buffer);
            avio_context_free(&pb);

        } else {
            av_free(buf);
        }

        snprintf(err, err_size, "out of memory");
        rc = SL_ERROR;
        goto close;
    }

    ic->pb = pb;
    ic->flags |= AVFMT_FLAG_CUSTOM_IO;

    e = avformat_open_input(&ic, "", av_find_input_format("mp4"), NULL);

    if (e < 0) {
        /* ic was freed */
        snprintf(err, err_size, "the segments: %s", av_err2str(e));
        rc = SL_ERROR;

    } else {
        rc = sl_clip_copy(ic, tmp, err, err_size);
        avformat_close_input(&ic);
    }

    av_freep(&pb->buffer);
    avio_context_free(&pb);

    if (rc == SL_OK && rename(tmp, path) == -1) {
        /* gone: removed with clips that left the window, or the DVR */
        e = errno;
        snprintf(err, err_size, "rename %s: %s", tmp, strerror(e));
        rc = (e == ENOENT) ? SL_DECLINED : SL_ERROR;
    }

    if (rc != SL_OK) {
        (void) unlink(tmp);
    }

close:

    for (i = 0; i < opened; i++) {
        (void) close(f[i].fd);
    }

    free(f);

    return rc;
}


/* the packets of ic's video and audio streams into tmp, an mp4 */
static int
sl_clip_copy(AVFormatContext *ic, const char *tmp, char *err,
    size_t err_size)
{
    int               e, *map, rc;
    int64_t           offset;
    unsigned          i, k;
    AVPacket         *pkt;
    AVStream         *ist, *ost;
    AVDictionary     *opts;
    AVFormatContext  *oc;

    oc = NULL;
    pkt = NULL;
    opts = NULL;
    rc = SL_ERROR;

    e = avformat_find_stream_info(ic, NULL);
    if (e < 0) {
        snprintf(err, err_size, "stream info: %s", av_err2str(e));
        return SL_ERROR;
    }

    map = calloc(ic->nb_streams, sizeof(int));
    if (map == NULL) {
        snprintf(err, err_size, "out of memory");
        return SL_ERROR;
    }

    e = avformat_alloc_output_context2(&oc, NULL, "mp4", tmp);
    if (e < 0) {
        snprintf(err, err_size, "mp4 muxer: %s", av_err2str(e));
        goto done;
    }

    for (i = 0, k = 0; i < ic->nb_streams; i++) {
        ist = ic->streams[i];
        map[i] = -1;

        if (ist->codecpar->codec_type != AVMEDIA_TYPE_VIDEO
            && ist->codecpar->codec_type != AVMEDIA_TYPE_AUDIO)
        {
            continue;
        }

        ost = avformat_new_stream(oc, NULL);
        if (ost == NULL) {
            snprintf(err, err_size, "out of memory");
            goto done;
        }

        e = avcodec_parameters_copy(ost->codecpar, ist->codecpar);
        if (e < 0) {
            snprintf(err, err_size, "codec parameters: %s", av_err2str(e));
            goto done;
        }

        ost->codecpar->codec_tag = 0;
        ost->time_base = ist->time_base;
        map[i] = (int) k++;
    }

    if (k == 0) {
        snprintf(err, err_size, "no video or audio in the segments");
        goto done;
    }

    e = avio_open(&oc->pb, tmp, AVIO_FLAG_WRITE);
    if (e < 0) {
        snprintf(err, err_size, "%s: %s", tmp, av_err2str(e));
        goto done;
    }

    (void) av_dict_set(&opts, "movflags", "+faststart", 0);

    e = avformat_write_header(oc, &opts);
    if (e < 0) {
        snprintf(err, err_size, "mp4 header: %s", av_err2str(e));
        goto done;
    }

    pkt = av_packet_alloc();
    if (pkt == NULL) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }

    /* the clip starts at 0: every stream moves by the earliest start */
    offset = ic->start_time != AV_NOPTS_VALUE ? ic->start_time : 0;

    for ( ;; ) {
        e = av_read_frame(ic, pkt);

        if (e == AVERROR_EOF) {
            break;
        }

        if (e < 0) {
            snprintf(err, err_size, "reading the segments: %s",
                     av_err2str(e));
            goto done;
        }

        if ((unsigned) pkt->stream_index >= ic->nb_streams
            || map[pkt->stream_index] < 0)
        {
            av_packet_unref(pkt);
            continue;
        }

        ist = ic->streams[pkt->stream_index];
        ost = oc->streams[map[pkt->stream_index]];

        if (pkt->pts != AV_NOPTS_VALUE) {
            pkt->pts -= av_rescale_q(offset, AV_TIME_BASE_Q, ist->time_base);
        }

        if (pkt->dts != AV_NOPTS_VALUE) {
            pkt->dts -= av_rescale_q(offset, AV_TIME_BASE_Q, ist->time_base);
        }

        av_packet_rescale_ts(pkt, ist->time_base, ost->time_base);
        pkt->stream_index = ost->index;
        pkt->pos = -1;

        e = av_interleaved_write_frame(oc, pkt);
        if (e < 0) {
            snprintf(err, err_size, "writing the clip: %s", av_err2str(e));
            goto done;
        }
    }

    /* +faststart: the trailer moves the moov before the mdat */
    e = av_write_trailer(oc);
    if (e < 0) {
        snprintf(err, err_size, "mp4 trailer: %s", av_err2str(e));
        goto done;
    }

    rc = SL_OK;

done:

    av_packet_free(&pkt);
    av_dict_free(&opts);

    if (oc != NULL) {
        if (oc->pb != NULL) {
            e = avio_closep(&oc->pb);

            if (e < 0 && rc == SL_OK) {
                snprintf(err, err_size, "%s: %s", tmp, av_err2str(e));
                rc = SL_ERROR;
            }
        }

        avformat_free_context(oc);
    }

    free(map);

    return rc;
}


static int
sl_clip_read(void *opaque, uint8_t *buf, int size)
{
    size_t           i;
    ssize_t          n;
    int64_t          off;
    sl_clip_in_t    *in = opaque;
    sl_clip_file_t  *f;

    if (in->pos >= in->size) {
        return AVERROR_EOF;
    }

    f = NULL;

    for (i = 0; i < in->n; i++) {
        if (in->pos < in->files[i].start + in->files[i].size) {
            f = &in->files[i];
            break;
        }
    }

    if (f == NULL) {
        return AVERROR_EOF;
    }

    /* within one file: the next read takes the next one */
    off = in->pos - f->start;

    if ((int64_t) size > f->size - off) {
        size = (int) (f->size - off);
    }

    n = pread(f->fd, buf, size, off);

    if (n < 0) {
        return AVERROR(errno);
    }

    if (n == 0) {
        /* shorter than it was (it should never change) */
        return AVERROR(EIO);
    }

    in->pos += n;

    return (int) n;
}


static int64_t
sl_clip_seek(void *opaque, int64_t offset, int whence)
{
    int64_t        pos;
    sl_clip_in_t  *in = opaque;

    switch (whence & ~AVSEEK_FORCE) {

    case AVSEEK_SIZE:
        return in->size;

    case SEEK_SET:
        pos = offset;
        break;

    case SEEK_CUR:
        pos = in->pos + offset;
        break;

    case SEEK_END:
        pos = in->size + offset;
        break;

    default:
        return AVERROR(EINVAL);
    }

    if (pos < 0) {
        return AVERROR(EINVAL);
    }

    in->pos = pos;

    return pos;
}
