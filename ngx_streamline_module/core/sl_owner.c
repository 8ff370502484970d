
/*
 * Streamline core: owner tokens of publish locks, and what /proc says of
 * a process, so that a lock whose owner died can be taken over at once.
 */


#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sl_core.h"


static int sl_owner_number(const unsigned char *s, size_t len, uint64_t *n);


size_t
sl_owner_format(unsigned char *buf, const sl_owner_t *o, uint64_t conn,
    uint64_t ms)
{
    int     n;
    size_t  host_len;

    host_len = o->host_len < SL_OWNER_HOST_MAX ? o->host_len
                                               : SL_OWNER_HOST_MAX;

    memcpy(buf, o->host, host_len);

    n = snprintf((char *) buf + host_len, SL_OWNER_MAX - host_len,
                 ":%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%" PRIu64,
                 o->pid, o->start, conn, ms);

    /* cannot be cut: the size holds the longest host and four numbers */
    return n < 0 ? 0 : host_len + (size_t) n;
}


int
sl_owner_parse(const unsigned char *s, size_t len, sl_owner_t *o)
{
    size_t    end, i, k;
    uint64_t  v[4];

    /* the four numbers from the right: a host name has no ':' */
    end = len;

    for (k = 4; k > 0; k--) {
        for (i = end; i > 0 && s[i - 1] != ':'; i--) {
            /* void */
        }

        if (i == 0 || sl_owner_number(s + i, end - i, &v[k - 1]) != SL_OK) {
            return SL_ERROR;
        }

        end = i - 1;
    }

    if (end == 0 || end > SL_OWNER_HOST_MAX) {
        return SL_ERROR;
    }

    /* printable, no ':' (what a host name may hold, and more) */
    for (i = 0; i < end; i++) {
        if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':') {
            return SL_ERROR;
        }
    }

    o->host = s;
    o->host_len = end;
    o->pid = v[0];
    o->start = v[1];

    return SL_OK;
}


static int
sl_owner_number(const unsigned char *s, size_t len, uint64_t *n)
{
    size_t    i;
    uint64_t  v;

    if (len == 0 || len > 20) {
        return SL_ERROR;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9'
            || v > (UINT64_MAX - (uint64_t) (s[i] - '0')) / 10)
        {
            return SL_ERROR;
        }

        v = v * 10 + (uint64_t) (s[i] - '0');
    }

    *n = v;

    return SL_OK;
}


/*
 * "pid (comm) S ppid ... starttime ...": comm may hold spaces and
 * parentheses, so fields are counted after the last ')'; the state is
 * field 3, the start time field 22.
 */
int
sl_proc_stat_parse(const unsigned char *buf, size_t len, char *state,
    uint64_t *start)
{
    size_t  i, b, field;

    for (i = len; i > 0 && buf[i - 1] != ')'; i--) {
        /* void */
    }

    if (i == 0) {
        return SL_ERROR;
    }

    field = 2;

    while (i < len) {
        while (i < len && buf[i] == ' ') {
            i++;
        }

        b = i;

        while (i < len && buf[i] != ' ' && buf[i] != '\n') {
            i++;
        }

        if (i == b) {
            break;
        }

        field++;

        if (field == 3) {
            if (i - b != 1) {
                return SL_ERROR;
            }

            *state = (char) buf[b];

        } else if (field == 22) {
            return sl_owner_number(buf + b, i - b, start);
        }
    }

    return SL_ERROR;
}
