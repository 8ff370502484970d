
/*
 * libFuzzer target: sl_api_path_channel() and sl_channel_valid().
 */


#include <stdlib.h>

#include "sl_core.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc;
    size_t                len;
    const char           *err;
    const unsigned char  *ch;

    rc = sl_api_path_channel(data, size, &ch, &len, &err);

    if (rc == SL_ERROR) {
        if (err == NULL || size == 0) {
            abort();
        }

        return 0;
    }

    if (rc != SL_OK) {
        abort();
    }

    if (len == 0) {
        /* the default channel: "" or "/" only */
        if (size > 1 || (size == 1 && data[0] != '/')) {
            abort();
        }

        return 0;
    }

    if (ch != data + 1
        || len > SL_CHANNEL_MAX
        || !sl_channel_valid(ch, len)
        || data[0] != '/'
        || (size != len + 1 && !(size == len + 2 && data[size - 1] == '/')))
    {
        abort();
    }

    return 0;
}
