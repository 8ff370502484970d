
/*
 * libFuzzer target: sl_owner_parse(), sl_owner_format() and
 * sl_proc_stat_parse().  A token that parses formats back to a token that
 * parses to the same owner; nothing is read outside the input.
 */


#include <stdlib.h>
#include <string.h>

#include "sl_core.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char           state;
    size_t         n;
    uint64_t       start;
    sl_owner_t     o, back;
    unsigned char  buf[SL_OWNER_MAX];

    if (sl_owner_parse(data, size, &o) == SL_OK) {
        if (o.host != data || o.host_len == 0
            || o.host_len > SL_OWNER_HOST_MAX
            || memchr(o.host, ':', o.host_len) != NULL)
        {
            abort();
        }

        n = sl_owner_format(buf, &o, 1, 2);

        if (n == 0 || n >= SL_OWNER_MAX || buf[n] != '\0'
            || sl_owner_parse(buf, n, &back) != SL_OK
            || back.host_len != o.host_len
            || memcmp(back.host, o.host, o.host_len) != 0
            || back.pid != o.pid || back.start != o.start)
        {
            abort();
        }
    }

    (void) sl_proc_stat_parse(data, size, &state, &start);

    return 0;
}
