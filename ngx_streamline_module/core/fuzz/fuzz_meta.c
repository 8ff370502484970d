
/*
 * libFuzzer target: what the timed metadata API parses of a request,
 * sl_meta_path() (the path after the location) and sl_meta_bearer() (the
 * Authorization header).  The first byte says which.
 */


#include <stdlib.h>
#include <string.h>

#include "sl_core.h"
#include "sl_meta.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc;
    size_t                len;
    const unsigned char  *p, *out;

    if (size == 0) {
        return 0;
    }

    p = data + 1;
    len = size - 1;
    out = NULL;

    if (data[0] & 1) {
        size_t  ch_len = 0;

        rc = sl_meta_path(p, len, &out, &ch_len);

        if (rc == SL_OK
            && (out == NULL || out < p || out + ch_len > p + len
                || !sl_channel_valid(out, ch_len)
                || len < ch_len + sizeof("/metadata") - 1))
        {
            abort();
        }

        if (rc != SL_OK && rc != SL_DECLINED && rc != SL_ERROR) {
            abort();
        }

        return 0;
    }

    {
        size_t  tok_len = 0;

        rc = sl_meta_bearer(p, len, &out, &tok_len);

        if (rc == SL_OK
            && (out == NULL || tok_len == 0 || out < p
                || out + tok_len > p + len
                || memchr(out, ' ', tok_len) != NULL))
        {
            abort();
        }
    }

    return 0;
}
