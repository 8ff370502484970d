
/*
 * libFuzzer target: sl_state_parse(), sl_state_json() and the ISO-8601
 * functions.  What parses must render, and what renders must parse back
 * to the same state.
 */


#include <stdlib.h>
#include <string.h>

#include "sl_core.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_round_trip(const sl_state_t *st, const unsigned char *ch,
    size_t len, unsigned flags);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t        ms;
    size_t         len;
    sl_state_t     st, st2;
    unsigned char  ch[SL_CHANNEL_MAX + 1], iso[SL_ISO8601_LEN];

    if (sl_state_parse(data, size, &st, NULL, NULL) == SL_OK) {
        fuzz_round_trip(&st, NULL, 0,
                        (size & 1 ? SL_STATE_JSON_STALE : 0)
                        | SL_STATE_JSON_ORIGIN);
    }

    len = SL_CHANNEL_MAX + 1;

    if (sl_state_parse(data, size, &st, ch, &len) == SL_OK) {
        if (len == 0 || len > SL_CHANNEL_MAX || ch[len] != '\0'
            || !sl_channel_valid(ch, len)
            || sl_state_parse(data, size, &st2, NULL, NULL) != SL_OK
            || st2.status != st.status || st2.updated_ms != st.updated_ms
            || st2.origin_len != st.origin_len
            || memcmp(st2.origin, st.origin, st.origin_len + 1) != 0)
        {
            abort();
        }

        fuzz_round_trip(&st, ch, len,
                        (size & 2 ? SL_STATE_JSON_STALE : 0)
                        | (size & 4 ? SL_STATE_JSON_ORIGIN : 0));
    }

    /* the ISO form is canonical: what parses renders to the same bytes */

    if (sl_iso8601_parse(data, size, &ms) == SL_OK) {
        if (ms < 0
            || sl_iso8601_ms(ms, iso) != SL_OK
            || memcmp(iso, data, SL_ISO8601_LEN) != 0)
        {
            abort();
        }
    }

    return 0;
}


static void
fuzz_round_trip(const sl_state_t *st, const unsigned char *ch, size_t len,
    unsigned flags)
{
    int            n;
    size_t         len2;
    sl_state_t     back;
    unsigned char  buf[SL_STATE_JSON_MAX], ch2[SL_CHANNEL_MAX + 1];

    n = sl_state_json(st, ch, len, flags, buf, sizeof(buf));

    if (n <= 0 || n > SL_STATE_JSON_MAX) {
        abort();
    }

    if (sl_state_parse(buf, n, &back, ch ? ch2 : NULL, &len2) != SL_OK
        || back.status != st->status
        || back.updated_ms != st->updated_ms)
    {
        abort();
    }

    /* what parsed is valid: the origin goes out and comes back as it was */
    if ((flags & SL_STATE_JSON_ORIGIN)
        && (back.origin_len != st->origin_len
            || memcmp(back.origin, st->origin, st->origin_len) != 0))
    {
        abort();
    }

    if (ch != NULL && (len2 != len || memcmp(ch2, ch, len) != 0)) {
        abort();
    }
}
