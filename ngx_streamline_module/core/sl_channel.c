
/*
 * Streamline core: channel names and the channel part of API paths.
 */


#include "sl_core.h"


int
sl_channel_valid(const unsigned char *name, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > SL_CHANNEL_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = name[i];

        if ((c >= 'a' && c <= 'z')
            || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '_' || c == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


int
sl_api_path_channel(const unsigned char *tail, size_t tail_len,
    const unsigned char **channel, size_t *len, const char **err)
{
    size_t  i, n;

    *channel = tail;
    *len = 0;
    *err = NULL;

    if (tail_len == 0 || (tail_len == 1 && tail[0] == '/')) {
        return SL_OK;
    }

    if (tail[0] != '/') {
        *err = "path must start with \"/\"";
        return SL_ERROR;
    }

    tail++;
    tail_len--;

    /* one trailing slash is allowed: "/main/" */

    n = tail_len;

    if (tail[n - 1] == '/') {
        n--;
    }

    if (n == 0) {
        *err = "empty channel name";
        return SL_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (tail[i] == '/') {
            *err = "more than one path level";
            return SL_ERROR;
        }
    }

    if (n > SL_CHANNEL_MAX) {
        *err = "channel name too long";
        return SL_ERROR;
    }

    if (!sl_channel_valid(tail, n)) {
        *err = "invalid channel name";
        return SL_ERROR;
    }

    *channel = tail;
    *len = n;

    return SL_OK;
}
