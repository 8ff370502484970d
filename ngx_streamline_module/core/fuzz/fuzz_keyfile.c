
/*
 * libFuzzer target: sl_keyfile_parse() and sl_keyfile_lookup().
 */


#include <stdlib.h>
#include <string.h>

#include "sl_core.h"


#define FUZZ_KEYS_MAX  16


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc;
    size_t          i, j, n, line, lines;
    const char     *err;
    sl_key_entry_t  e[FUZZ_KEYS_MAX];

    rc = sl_keyfile_parse(data, size, e, FUZZ_KEYS_MAX, &n, &line, &err);

    if (rc == SL_ERROR) {
        lines = 1;

        for (i = 0; i < size; i++) {
            lines += (data[i] == '\n');
        }

        if (err == NULL || line == 0 || line > lines || n > FUZZ_KEYS_MAX) {
            abort();
        }

        return 0;
    }

    if (rc != SL_OK || n > FUZZ_KEYS_MAX) {
        abort();
    }

    for (i = 0; i < n; i++) {
        for (j = 0; j < SL_DIGEST_HEX; j++) {
            if (strchr("0123456789abcdef", e[i].digest[j]) == NULL
                || e[i].digest[j] == '\0')
            {
                abort();
            }
        }

        if (!sl_channel_valid(e[i].channel, e[i].channel_len)
            || e[i].channel[e[i].channel_len] != '\0'
            || sl_keyfile_lookup(e, n, e[i].digest) != &e[i])
        {
            abort();
        }
    }

    return 0;
}
