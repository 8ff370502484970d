
/*
 * Streamline core, the media pipeline: sequence headers as the threads
 * keep them, the codec parameters the muxer and the decoder take from
 * them, and the RFC 6381 codec strings that playlists give.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/channel_layout.h>

#include "sl_pipeline_int.h"


static int sl_codecpar_extradata(AVCodecParameters *par,
    const sl_seq_header_t *h);


/*
 * The frame rate alone is not a new header: it comes from the publisher's
 * metadata, and only the ladder's rate control needs it.
 */
int
sl_seq_header_set(sl_seq_header_t *h, const sl_msg_t *m)
{
    uint8_t                   *data;
    const sl_stream_params_t  *a, *b;

    h->params.fps = m->params.fps;

    a = &h->params;
    b = &m->params;

    if (h->data && h->len == m->len && memcmp(h->data, m->data, m->len) == 0
        && a->width == b->width && a->height == b->height
        && a->sample_rate == b->sample_rate && a->channels == b->channels)
    {
        return 0;
    }

    data = malloc(m->len ? m->len : 1);
    if (data == NULL) {
        return -1;
    }

    memcpy(data, m->data, m->len);
    free(h->data);
    h->data = data;
    h->len = m->len;
    h->params = m->params;

    return 1;
}


int
sl_codecpar_video(AVCodecParameters *par, const sl_seq_header_t *h)
{
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = AV_CODEC_ID_H264;
    par->width = h->params.width;
    par->height = h->params.height;

    return sl_codecpar_extradata(par, h);
}


int
sl_codecpar_audio(AVCodecParameters *par, const sl_seq_header_t *h)
{
    par->codec_type = AVMEDIA_TYPE_AUDIO;
    par->codec_id = AV_CODEC_ID_AAC;
    par->sample_rate = h->params.sample_rate;
    par->frame_size = 1024;
    av_channel_layout_default(&par->ch_layout, h->params.channels);

    return sl_codecpar_extradata(par, h);
}


static int
sl_codecpar_extradata(AVCodecParameters *par, const sl_seq_header_t *h)
{
    par->extradata = av_mallocz(h->len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (par->extradata == NULL) {
        return SL_ERROR;
    }

    memcpy(par->extradata, h->data, h->len);
    par->extradata_size = (int) h->len;

    return SL_OK;
}


/*
 * RFC 6381 codec names: "avc1.PPCCLL" from the SPS (in an avcC record or
 * in Annex B form, as libx264 gives it) and "mp4a.40.<object type>".
 */
void
sl_codecs_string(char *buf, size_t size, const AVCodecParameters *video,
    const AVCodecParameters *audio)
{
    int             n, aot;
    size_t          i;
    const uint8_t  *sps, *d;

    buf[0] = '\0';
    n = 0;
    sps = NULL;

    if (video && video->extradata_size >= 4) {
        d = video->extradata;

        if (d[0] == 1) {
            sps = d + 1;                    /* avcC: profile, compat, level */

        } else {
            for (i = 0; i + 7 < (size_t) video->extradata_size; i++) {
                if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1
                    && (d[i + 3] & 0x1f) == 7)
                {
                    sps = d + i + 4;
                    break;
                }
            }
        }
    }

    if (sps) {
        n = snprintf(buf, size, "avc1.%02x%02x%02x", sps[0], sps[1], sps[2]);
    }

    if (audio && n >= 0 && (size_t) n < size) {
        aot = 2;

        if (audio->extradata_size >= 1) {
            aot = audio->extradata[0] >> 3;
            if (aot == 0 || aot == 31) {
                aot = 2;
            }
        }

        snprintf(buf + n, size - n, "%smp4a.40.%d", n ? "," : "", aot);
    }
}
