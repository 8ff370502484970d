
/*
 * libFuzzer target: the interpretation of Redis's replies (sl_redis.c).
 * The bytes are RESP, what a Redis (or anything listening on its port)
 * sends; hiredis's reader, the one the module uses, turns them into reply
 * trees, and every reply is given to the reading of each command's reply,
 * whatever command it answers; and to the reading of what sentinels and
 * ROLE answer (sl_sentinel.c).  A string reply's bytes are also read as a
 * +switch-master payload and as a sentinel:// value of streamline_redis.
 */


#include <stdlib.h>
#include <string.h>

#include "sl_redis.h"
#include "sl_sentinel.h"


/*
 * hiredis 0.14 allocates an array's element vector for the count the
 * header declares, before any element arrives: a "*4000000000" is an
 * allocation of 32 GB that the fuzzer reports as a leak of memory.  The
 * module's replies have at most 3 elements; a Redis is trusted that far.
 * Such a header is looked for anywhere, not only at a line's start: the
 * reader skips the two bytes after a bulk string's payload without
 * checking that they are CRLF, so a type byte may follow any byte.
 */
#define FUZZ_ARRAY_MAX  1024


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_large_array(const uint8_t *data, size_t size);
static void fuzz_reply(const redisReply *r);
static void fuzz_sentinel(const redisReply *r);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void         *reply;
    redisReader  *rd;

    if (fuzz_large_array(data, size)) {
        return 0;
    }

    rd = redisReaderCreate();
    if (rd == NULL) {
        return 0;
    }

    if (redisReaderFeed(rd, (const char *) data, size) == REDIS_OK) {

        for ( ;; ) {
            reply = NULL;

            if (redisReaderGetReply(rd, &reply) != REDIS_OK
                || reply == NULL)
            {
                break;
            }

            fuzz_reply(reply);
            fuzz_sentinel(reply);
            freeReplyObject(reply);
        }
    }

    redisReaderFree(rd);

    return 0;
}


/* what the owner bytes add up to: read them all, keep the reads */
static volatile unsigned  sum;


static void
fuzz_reply(const redisReply *r)
{
    int            rc;
    size_t         i, len, owner_len, origin_len;
    sl_state_t     st;
    const char    *owner;
    unsigned char  ch[SL_CHANNEL_MAX + 1], origin[SL_ORIGIN_MAX + 1];

    rc = sl_redis_pong(r);
    if (rc != SL_OK && rc != SL_AGAIN) {
        abort();
    }

    rc = sl_redis_transition_result(r);
    if (rc != SL_OK && rc != SL_AGAIN && rc != SL_ERROR && rc != SL_DECLINED)
    {
        abort();
    }

    if (r->type == REDIS_REPLY_ERROR
        && (sl_redis_error_code(r->str, r->len) > SL_REDIS_CODE_MAX
            || (rc == SL_AGAIN) != sl_redis_error_transient(r->str, r->len)))
    {
        abort();
    }

    rc = sl_redis_claim_result(r, ch, &len, &owner, &owner_len);

    if (owner != NULL && rc != SL_REDIS_CLAIM_BUSY) {
        abort();
    }

    if (owner != NULL) {
        /* it points into the reply: reading it all must be fine */
        for (i = 0; i <= owner_len; i++) {
            sum += (unsigned char) owner[i];       /* NUL ended too */
        }
    }

    if (sl_redis_claim_origin(r, origin, &origin_len) == SL_OK) {
        if (!sl_origin_valid(origin, origin_len)
            || origin[origin_len] != '\0')
        {
            abort();
        }

    } else if (origin_len != 0 || origin[0] != '\0') {
        abort();
    }

    if (rc == SL_REDIS_CLAIM_CLAIMED || rc == SL_REDIS_CLAIM_BUSY) {
        if (!sl_channel_valid(ch, len) || ch[len] != '\0') {
            abort();
        }

    } else if (len != 0 || rc < SL_REDIS_CLAIM_UNAVAILABLE
               || rc > SL_REDIS_CLAIM_BAD_CHANNEL)
    {
        abort();
    }

    rc = sl_redis_state_result(r, &st);
    if (rc == SL_OK) {
        if (st.status != SL_STATUS_IDLE && st.status != SL_STATUS_LIVE) {
            abort();
        }

    } else if (rc != SL_AGAIN && rc != SL_DECLINED) {
        abort();
    }

    rc = sl_redis_read_result(r, &st, &owner, &owner_len);
    if (rc == SL_OK) {
        if (st.status != SL_STATUS_IDLE && st.status != SL_STATUS_LIVE) {
            abort();
        }

    } else if (rc != SL_AGAIN && rc != SL_DECLINED) {
        abort();
    }

    if (owner != NULL) {
        for (i = 0; i <= owner_len; i++) {
            sum += (unsigned char) owner[i];       /* NUL ended too */
        }
    }

    rc = sl_redis_message(r, &st, ch, &len);
    if (rc == SL_REDIS_MSG_STATE) {
        if (!sl_channel_valid(ch, len) || ch[len] != '\0'
            || (st.status != SL_STATUS_IDLE && st.status != SL_STATUS_LIVE))
        {
            abort();
        }

    } else if (rc != SL_REDIS_MSG_OTHER && rc != SL_REDIS_MSG_SUBSCRIBED
               && rc != SL_REDIS_MSG_MALFORMED)
    {
        abort();
    }
}


/* an address read from a reply: numeric, NUL ended, a port in range */

static void
fuzz_addr(int rc, const char *ip, int port)
{
    if (rc != SL_SENTINEL_ADDR_OK) {
        return;
    }

    if (strlen(ip) == 0 || strlen(ip) >= SL_SENTINEL_IP_MAX
        || port < 1 || port > 65535)
    {
        abort();
    }
}


static void
fuzz_sentinel(const redisReply *r)
{
    int                rc, port, addr;
    size_t             i, len;
    char               ip[SL_SENTINEL_IP_MAX];
    const char        *role, *err;
    sl_sentinel_url_t  u;

    rc = sl_sentinel_master(r, ip, &port);
    if (rc < SL_SENTINEL_ADDR_OK || rc > SL_SENTINEL_ADDR_BAD) {
        abort();
    }

    fuzz_addr(rc, ip, port);

    rc = sl_sentinel_message(r, (const unsigned char *) "mymaster", 8, ip,
                             &port, &addr);
    if (rc == SL_SENTINEL_MSG_SWITCH) {
        fuzz_addr(addr, ip, port);

    } else if (rc != SL_SENTINEL_MSG_OTHER
               && rc != SL_SENTINEL_MSG_SUBSCRIBED)
    {
        abort();
    }

    rc = sl_sentinel_role(r, &role, &len);
    if (rc == SL_DECLINED) {
        for (i = 0; i < len; i++) {
            sum += (unsigned char) role[i];
        }

    } else if ((rc != SL_OK && rc != SL_AGAIN) || role != NULL) {
        abort();
    }

    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) {
        return;
    }

    fuzz_addr(sl_sentinel_switch(r->str, r->len,
                                 (const unsigned char *) "mymaster", 8, ip,
                                 &port),
              ip, port);

    if (sl_sentinel_url_parse((const unsigned char *) r->str, r->len, &u,
                              &err)
        == SL_OK)
    {
        if (u.naddrs == 0 || u.naddrs > SL_SENTINEL_MAX
            || !sl_sentinel_name_valid(u.name.data, u.name.len))
        {
            abort();
        }

        for (i = 0; i < u.naddrs; i++) {
            if (u.addrs[i].len == 0
                || u.addrs[i].data < (const unsigned char *) r->str
                || u.addrs[i].data + u.addrs[i].len
                   > (const unsigned char *) r->str + r->len)
            {
                abort();
            }
        }

    } else if (err == NULL) {
        abort();
    }
}


/* a line "*<count>" with a count over FUZZ_ARRAY_MAX, anywhere */

static int
fuzz_large_array(const uint8_t *data, size_t size)
{
    size_t    i;
    uint64_t  n;

    for (i = 0; i < size; i++) {
        if (data[i] != '*') {
            continue;
        }

        n = 0;

        for (i++; i < size && data[i] >= '0' && data[i] <= '9'; i++) {
            n = n * 10 + (data[i] - '0');

            if (n > FUZZ_ARRAY_MAX) {
                return 1;
            }
        }
    }

    return 0;
}
