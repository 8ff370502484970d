
/*
 * libFuzzer target: what the RTMP publish name goes through before it is
 * forgotten: sl_key_valid(), sl_key_digest_hex() and the lookup of the
 * digest among the keys file's entries.
 */


#include <stdlib.h>
#include <string.h>

#include "sl_core.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                 i;
    unsigned char          hex[SL_DIGEST_HEX], again[SL_DIGEST_HEX],
                           other[SL_KEY_MAX];
    sl_key_entry_t         e;
    const sl_key_entry_t  *found;

    if (!sl_key_valid(data, size)) {
        if (size >= SL_KEY_MIN && size <= SL_KEY_MAX) {
            /* refused for a byte: there must be one that is not allowed */
            for (i = 0; i < size; i++) {
                if (data[i] <= ' ' || data[i] >= 0x7f
                    || memchr("/?&#%", data[i], 5) != NULL)
                {
                    return 0;
                }
            }

            abort();
        }

        return 0;
    }

    if (size < SL_KEY_MIN || size > SL_KEY_MAX) {
        abort();
    }

    for (i = 0; i < size; i++) {
        if (data[i] <= ' ' || data[i] >= 0x7f
            || memchr("/?&#%", data[i], 5) != NULL)
        {
            abort();
        }
    }

    if (sl_key_digest_hex(data, size, hex) != SL_OK
        || sl_key_digest_hex(data, size, again) != SL_OK
        || memcmp(hex, again, SL_DIGEST_HEX) != 0)
    {
        abort();
    }

    for (i = 0; i < SL_DIGEST_HEX; i++) {
        if (memchr("0123456789abcdef", hex[i], 16) == NULL) {
            abort();
        }
    }

    memcpy(e.digest, hex, SL_DIGEST_HEX);
    memcpy(e.channel, "main", sizeof("main"));
    e.channel_len = 4;
    e.line = 1;

    found = sl_keyfile_lookup(&e, 1, hex);

    /* the digest of the key with one bit changed is another digest */
    memcpy(other, data, size);
    other[0] ^= 1;

    if (sl_key_digest_hex(other, size, hex) != SL_OK) {
        abort();
    }

    if (found != &e || sl_keyfile_lookup(&e, 1, hex) != NULL) {
        abort();
    }

    return 0;
}
