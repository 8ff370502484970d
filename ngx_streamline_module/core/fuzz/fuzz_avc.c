
/*
 * libFuzzer target: sl_avc_size(), on an RTMP sequence header's payload
 * (outside bytes: any publisher sends one).
 */


#include <stdlib.h>

#include "sl_core.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int  w, h;

    w = -1;
    h = -1;

    if (sl_avc_size(data, size, &w, &h) == SL_OK) {
        if (w <= 0 || h <= 0 || w > 16384 || h > 32768) {
            abort();
        }

    } else if (w != -1 || h != -1) {
        abort();
    }

    return 0;
}
