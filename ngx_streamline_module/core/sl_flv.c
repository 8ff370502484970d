
/*
 * Streamline core: the FLV audio and video tag bodies that RTMP carries
 * (see sl_pipeline.h).  Outside bytes: every length is checked here, the
 * RTMP glue only copies the message and calls this.
 */


#include "sl_pipeline.h"


#define SL_FLV_VIDEO_H264  7
#define SL_FLV_AUDIO_AAC   10


int
sl_flv_parse(int video, const uint8_t *p, size_t len, sl_flv_tag_t *tag)
{
    int32_t  cts;

    tag->video = video ? 1 : 0;
    tag->kind = SL_FLV_SKIP;
    tag->codec = 0;
    tag->key = 0;
    tag->cts_ms = 0;
    tag->data = NULL;
    tag->len = 0;

    if (p == NULL || len < 1) {
        return SL_FLV_SKIP;
    }

    if (video) {
        /* frame type (4 bits), codec id (4 bits); H.264: AVC packet type,
         * composition time (24 bits, signed), then the data */
        tag->codec = p[0] & 0x0f;

        if (tag->codec != SL_FLV_VIDEO_H264) {
            tag->kind = SL_FLV_UNSUPPORTED;
            return tag->kind;
        }

        if (len <= 5 || p[1] > 1) {
            /* no data, or the end of sequence (2), or unknown */
            return SL_FLV_SKIP;
        }

        cts = (int32_t) (((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 8)
                         | p[4]);
        if (cts & 0x800000) {
            cts -= 0x1000000;
        }

        tag->key = (p[0] >> 4) == 1;
        tag->cts_ms = cts;
        tag->data = p + 5;
        tag->len = len - 5;
        tag->kind = p[1] == 0 ? SL_FLV_HEADER : SL_FLV_PACKET;

        return tag->kind;
    }

    /* format (4 bits), rate, size, type; AAC: AAC packet type, the data */
    tag->codec = p[0] >> 4;

    if (tag->codec != SL_FLV_AUDIO_AAC) {
        tag->kind = SL_FLV_UNSUPPORTED;
        return tag->kind;
    }

    if (len <= 2 || p[1] > 1) {
        return SL_FLV_SKIP;
    }

    tag->key = 1;
    tag->data = p + 2;
    tag->len = len - 2;
    tag->kind = p[1] == 0 ? SL_FLV_HEADER : SL_FLV_PACKET;

    return tag->kind;
}
