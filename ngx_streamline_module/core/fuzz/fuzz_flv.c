
/*
 * libFuzzer target: sl_flv_parse(), the RTMP tap's reading of audio and
 * video message bodies.  The first byte picks audio or video; what comes
 * out must lie inside the input and agree with the tag's header bytes.
 */


#include <stdlib.h>
#include <string.h>

#include "sl_pipeline.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            video, kind;
    uint8_t       *copy;
    sl_flv_tag_t   tag;

    if (size < 1) {
        return 0;
    }

    video = data[0] & 1;

    /* a copy of its own size: ASan sees any read past the body */
    copy = malloc(size - 1 ? size - 1 : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data + 1, size - 1);

    kind = sl_flv_parse(video, copy, size - 1, &tag);

    if (kind != tag.kind || tag.video != video) {
        abort();
    }

    switch (kind) {

    case SL_FLV_HEADER:
    case SL_FLV_PACKET:
        if (tag.data == NULL || tag.len == 0
            || tag.data < copy || tag.data + tag.len != copy + size - 1
            || tag.cts_ms < -0x800000 || tag.cts_ms > 0x7fffff
            || (!video && (tag.cts_ms != 0 || !tag.key)))
        {
            abort();
        }

        /* every byte handed over is readable */
        if (tag.data[0] == 0x5a && tag.data[tag.len - 1] == 0xa5) {
            tag.key ^= 1;
        }

        break;

    case SL_FLV_UNSUPPORTED:
        if (tag.data != NULL || tag.len != 0
            || tag.codec != (video ? (copy[0] & 0x0f) : (copy[0] >> 4)))
        {
            abort();
        }

        break;

    case SL_FLV_SKIP:
        if (tag.data != NULL || tag.len != 0) {
            abort();
        }

        break;

    default:
        abort();
    }

    free(copy);

    return 0;
}
