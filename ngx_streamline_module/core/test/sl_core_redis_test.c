/*
 * Unit tests of the core, continued (see sl_core_test.c): owner tokens and
 * a process's start time (sl_owner.c), Redis replies (sl_redis.c) read
 * from RESP bytes by hiredis.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_core_test.h"
#include "sl_redis.h"




void
test_owner(sl_tap_t *t)
{
    size_t          len, i;
    sl_owner_t      o, p;
    unsigned char   host[300], buf[SL_OWNER_MAX];

    static const char  *bad[] = {
        "", "host", "host:1:2:3", ":1:2:3:4", "a:b:1:2:3:4", "h:1:2:3:x",
        "h:1:2:3:", "h:1:2::4", "h:-1:2:3:4", "h:1:2:3:4 ",
        "h:1:2:3:123456789012345678901", "h:18446744073709551616:2:3:4",
        "h h:1:2:3:4", "h\x7f:1:2:3:4"
    };

    o.host = (const unsigned char *) "origin-1";
    o.host_len = 8;
    o.pid = 4242;
    o.start = 987654321;

    len = sl_owner_format(buf, &o, 17, 1234567);
    sl_ok(t, len == 34 && strcmp((char *) buf,
                                 "origin-1:4242:987654321:17:1234567") == 0,
          "owner: format");
    sl_ok(t, sl_owner_parse(buf, len, &p) == SL_OK && p.host_len == 8
             && memcmp(p.host, "origin-1", 8) == 0 && p.pid == 4242
             && p.start == 987654321, "owner: parse");

    /* a 63-byte host (the Linux limit) and the largest numbers */
    memset(host, 'h', sizeof(host));
    o.host = host;
    o.host_len = 63;
    o.pid = UINT64_MAX;
    o.start = UINT64_MAX;
    len = sl_owner_format(buf, &o, UINT64_MAX, UINT64_MAX);
    sl_ok(t, len == 63 + 4 * 21 && sl_owner_parse(buf, len, &p) == SL_OK
             && p.host_len == 63 && p.pid == UINT64_MAX,
          "owner: a 63-byte host and 20-digit numbers");

    /* a host beyond any system's limit is cut, the buffer holds it */
    o.host_len = sizeof(host);
    len = sl_owner_format(buf, &o, 1, 2);
    sl_ok(t, len < SL_OWNER_MAX && buf[len] == '\0'
             && sl_owner_parse(buf, len, &p) == SL_OK
             && p.host_len == SL_OWNER_HOST_MAX,
          "owner: a 300-byte host is cut at SL_OWNER_HOST_MAX");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sl_ok(t, sl_owner_parse((const unsigned char *) bad[i],
                                strlen(bad[i]), &p) == SL_ERROR,
              "owner: \"%s\" refused", bad[i]);
    }

    sl_ok(t, sl_owner_parse((const unsigned char *) "h\0h:1:2:3:4", 11, &p)
             == SL_ERROR, "owner: a NUL in the host refused");

    /* the old form (host:pid:conn:msec) has no start: not an owner */
    sl_ok(t, sl_owner_parse(sl_str("origin-1:4242:17:1234567"), &p)
             == SL_ERROR, "owner: the old three-number form refused");
}


void
test_proc_stat(sl_tap_t *t)
{
    char      state;
    uint64_t  start;

    static const char  stat[] =
        "4242 (nginx) S 1 4242 4242 0 -1 4194624 100 0 0 0 1 2 0 0 20 0 1 0 "
        "98765 123456 789 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 "
        "1 0 0 0 0 0\n";
    static const char  odd[] =
        "77 (a) b (c) d) Z 1 77 77 0 -1 4194624 0 0 0 0 0 0 0 0 20 0 1 0 "
        "5 0 0\n";

    state = 0;
    start = 0;
    sl_ok(t, sl_proc_stat_parse(sl_str(stat), &state, &start) == SL_OK
             && state == 'S' && start == 98765, "proc stat: state, start");
    sl_ok(t, sl_proc_stat_parse(sl_str(odd), &state, &start) == SL_OK
             && state == 'Z' && start == 5,
          "proc stat: a command name with spaces and parentheses");
    sl_ok(t, sl_proc_stat_parse(sl_str("1 (x) S 1 2 3"), &state, &start)
             == SL_ERROR, "proc stat: cut short");
    sl_ok(t, sl_proc_stat_parse(sl_str("1 x S 1 2 3"), &state, &start)
             == SL_ERROR, "proc stat: no command name");
    sl_ok(t, sl_proc_stat_parse(sl_str(""), &state, &start) == SL_ERROR,
          "proc stat: empty");
}


void
test_redis_errors(sl_tap_t *t)
{
    size_t       i;
    redisReply  *r;

    static const struct {
        const char  *error;
        int          transient;
    } cases[] = {
        { "LOADING Redis is loading the dataset in memory", 1 },
        { "BUSY Redis is busy running a script.", 1 },
        { "OOM command not allowed when used memory > 'maxmemory'. "
          "script: 214d, on @user_script:1.", 1 },
        { "READONLY You can't write against a read only replica.", 1 },
        { "MISCONF Redis is configured to save RDB snapshots", 1 },
        { "MASTERDOWN Link with MASTER is down", 1 },
        { "NOAUTH Authentication required.", 1 },
        { "TRYAGAIN", 1 },
        { "ERR Error running script", 0 },
        { "WRONGTYPE Operation against a key holding the wrong kind", 0 },
        { "NOSCRIPT No matching script", 0 },
        { "LOADINGX", 0 },
        { "loading lowercase", 0 },
        { "OO", 0 },
        { "", 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sl_ok(t, sl_redis_error_transient(cases[i].error,
                                          strlen(cases[i].error))
                 == cases[i].transient,
              "redis error: \"%.12s\" %s", cases[i].error,
              cases[i].transient ? "transient" : "for good");
    }

    sl_ok(t, sl_redis_error_code("OOM command", 11) == 3
          && sl_redis_error_code("LOADING", 7) == 7
          && sl_redis_error_code(A32 A32, 64) == SL_REDIS_CODE_MAX,
          "redis error: codes, bounded");

    r = sl_resp("+PONG\r\n");
    sl_ok(t, sl_redis_pong(r) == SL_OK, "redis PING: PONG");
    freeReplyObject(r);

    r = sl_resp("-LOADING Redis is loading the dataset in memory\r\n");
    sl_ok(t, sl_redis_pong(r) == SL_AGAIN, "redis PING: LOADING, again");
    freeReplyObject(r);

    r = sl_resp("$4\r\nPONG\r\n");
    sl_ok(t, sl_redis_pong(r) == SL_AGAIN, "redis PING: not a status");
    freeReplyObject(r);

    sl_ok(t, sl_redis_pong(NULL) == SL_AGAIN, "redis PING: no reply");
}


void
test_redis_transition(sl_tap_t *t)
{
    size_t       i;
    redisReply  *r;

    static const struct {
        const char  *resp;
        int          rc;
    } cases[] = {
        { ":1\r\n", SL_OK },
        { ":0\r\n", SL_OK },
        { ":2\r\n", SL_DECLINED },
        { ":3\r\n", SL_ERROR },
        { ":-1\r\n", SL_ERROR },
        { "-LOADING Redis is loading the dataset in memory\r\n", SL_AGAIN },
        { "-OOM command not allowed when used memory > 'maxmemory'. "
          "script: 21, on @user_script:1.\r\n", SL_AGAIN },
        { "-READONLY You can't write against a read only replica.\r\n",
          SL_AGAIN },
        { "-BUSY Redis is busy running a script.\r\n", SL_AGAIN },
        { "-WRONGTYPE Operation against a key holding the wrong kind of "
          "value script: 21, on @user_script:1.\r\n", SL_ERROR },
        { "-ERR unknown command 'EVAL'\r\n", SL_ERROR },
        { "+OK\r\n", SL_ERROR },
        { "$-1\r\n", SL_ERROR },
        { "$1\r\n1\r\n", SL_ERROR },
        { "*1\r\n:1\r\n", SL_ERROR },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = sl_resp(cases[i].resp);
        sl_ok(t, r && sl_redis_transition_result(r) == cases[i].rc,
              "redis transition: reply %zu gives %d", i, cases[i].rc);
        freeReplyObject(r);
    }

    sl_ok(t, sl_redis_transition_result(NULL) == SL_AGAIN,
          "redis transition: no reply (disconnected), again");
}


void
test_redis_claim(sl_tap_t *t)
{
    size_t         i, len, owner_len;
    redisReply    *r;
    const char    *owner;
    unsigned char  ch[SL_CHANNEL_MAX + 1], origin[SL_ORIGIN_MAX + 1];

    static const struct {
        const char  *resp;
        int          rc;
        const char  *channel;
    } cases[] = {
        { "*2\r\n:1\r\n$4\r\nmain\r\n", SL_REDIS_CLAIM_CLAIMED, "main" },
        { "*2\r\n:2\r\n$5\r\nstu-1\r\n", SL_REDIS_CLAIM_BUSY, "stu-1" },
        { "*2\r\n:0\r\n$0\r\n\r\n", SL_REDIS_CLAIM_UNKNOWN_KEY, "" },
        { "*2\r\n:1\r\n$4\r\nma.n\r\n", SL_REDIS_CLAIM_BAD_CHANNEL, "" },
        { "*2\r\n:1\r\n$0\r\n\r\n", SL_REDIS_CLAIM_BAD_CHANNEL, "" },
        { "*2\r\n:1\r\n$65\r\n" A32 A32 "a\r\n",
          SL_REDIS_CLAIM_BAD_CHANNEL, "" },
        { "*2\r\n:3\r\n$4\r\nmain\r\n", SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "*2\r\n:1\r\n:1\r\n", SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "*2\r\n$1\r\n1\r\n$4\r\nmain\r\n",
          SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "*3\r\n:1\r\n$4\r\nmain\r\n:1\r\n",
          SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "*-1\r\n", SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "*0\r\n", SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "-LOADING Redis is loading the dataset in memory\r\n",
          SL_REDIS_CLAIM_UNAVAILABLE, "" },
        { "-NOSCRIPT No matching script\r\n", SL_REDIS_CLAIM_UNAVAILABLE, "" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = sl_resp(cases[i].resp);
        ch[0] = 'x';
        sl_ok(t, r && sl_redis_claim_result(r, ch, &len, &owner, &owner_len)
                      == cases[i].rc
              && owner == NULL
              && len == strlen(cases[i].channel)
              && (len == 0 || strcmp((char *) ch, cases[i].channel) == 0),
              "redis claim: reply %zu gives %d \"%s\"", i, cases[i].rc,
              cases[i].channel);
        freeReplyObject(r);
    }

    sl_ok(t, sl_redis_claim_result(NULL, ch, &len, &owner, &owner_len)
             == SL_REDIS_CLAIM_UNAVAILABLE && len == 0 && owner == NULL,
          "redis claim: no reply");

    r = sl_resp("*3\r\n:2\r\n$4\r\nmain\r\n$7\r\nh:1:2:3\r\n");
    sl_ok(t, r && sl_redis_claim_result(r, ch, &len, &owner, &owner_len)
                  == SL_REDIS_CLAIM_BUSY
          && owner_len == 7 && memcmp(owner, "h:1:2:3", 7) == 0,
          "redis claim: busy, with its owner");
    freeReplyObject(r);

    r = sl_resp("*3\r\n:2\r\n$4\r\nmain\r\n$-1\r\n");
    sl_ok(t, r && sl_redis_claim_result(r, ch, &len, &owner, &owner_len)
                  == SL_REDIS_CLAIM_UNAVAILABLE && owner == NULL,
          "redis claim: busy, an owner that is no string");
    freeReplyObject(r);

    /* the holder's origin, for the refusal's log line */
    r = sl_resp("*4\r\n:2\r\n$4\r\nmain\r\n$7\r\nh:1:2:3\r\n"
                "$13\r\n10.0.0.5:8080\r\n");
    sl_ok(t, r && sl_redis_claim_result(r, ch, &len, &owner, &owner_len)
                  == SL_REDIS_CLAIM_BUSY
          && owner_len == 7
          && sl_redis_claim_origin(r, origin, &len) == SL_OK
          && len == 13 && strcmp((char *) origin, "10.0.0.5:8080") == 0,
          "redis claim: busy, with the holder's origin");
    freeReplyObject(r);

    r = sl_resp("*4\r\n:2\r\n$4\r\nmain\r\n$7\r\nh:1:2:3\r\n$0\r\n\r\n");
    sl_ok(t, r && sl_redis_claim_result(r, ch, &len, &owner, &owner_len)
                  == SL_REDIS_CLAIM_BUSY
          && sl_redis_claim_origin(r, origin, &len) == SL_DECLINED
          && len == 0 && origin[0] == '\0',
          "redis claim: busy, a holder without an origin");
    freeReplyObject(r);

    r = sl_resp("*4\r\n:2\r\n$4\r\nmain\r\n$7\r\nh:1:2:3\r\n"
                "$9\r\na b\"c:8080\r\n");
    sl_ok(t, r && sl_redis_claim_origin(r, origin, &len) == SL_DECLINED
          && len == 0,
          "redis claim: an origin that is no address is not logged");
    freeReplyObject(r);

    r = sl_resp("*4\r\n:2\r\n$4\r\nmain\r\n$7\r\nh:1:2:3\r\n:5\r\n");
    sl_ok(t, r && sl_redis_claim_result(r, ch, &len, &owner, &owner_len)
                  == SL_REDIS_CLAIM_UNAVAILABLE,
          "redis claim: an origin that is no string");
    freeReplyObject(r);

    r = sl_resp("*4\r\n:1\r\n$4\r\nmain\r\n$1\r\nh\r\n$1\r\no\r\n");
    sl_ok(t, r && sl_redis_claim_result(r, ch, &len, &owner, &owner_len)
                  == SL_REDIS_CLAIM_UNAVAILABLE,
          "redis claim: claimed with four elements");
    freeReplyObject(r);
}


void
test_redis_state(sl_tap_t *t)
{
    size_t       owner_len;
    redisReply  *r;
    sl_state_t   st;
    const char  *owner;

    static const char  live[] =
        "$56\r\n{\"status\":\"live\",\"updatedAt\":"
        "\"2026-11-26T01:54:26.123Z\"}\r\n";

    r = sl_resp("$-1\r\n");
    sl_ok(t, sl_redis_state_result(r, &st) == SL_OK
          && st.status == SL_STATUS_IDLE && st.updated_ms == -1,
          "redis state: no key, idle");
    freeReplyObject(r);

    r = sl_resp(live);
    sl_ok(t, r && sl_redis_state_result(r, &st) == SL_OK
          && st.status == SL_STATUS_LIVE && st.updated_ms == 1795658066123LL,
          "redis state: live");
    freeReplyObject(r);

    r = sl_resp("$3\r\nabc\r\n");
    sl_ok(t, sl_redis_state_result(r, &st) == SL_DECLINED,
          "redis state: not a state");
    freeReplyObject(r);

    r = sl_resp("*2\r\n$-1\r\n$-1\r\n");
    sl_ok(t, sl_redis_read_result(r, &st, &owner, &owner_len) == SL_OK
          && st.status == SL_STATUS_IDLE && owner == NULL,
          "redis read: no state, no lock");
    freeReplyObject(r);

    r = sl_resp("*2\r\n$56\r\n{\"status\":\"live\",\"updatedAt\":"
                "\"2026-11-26T01:54:26.123Z\"}\r\n$9\r\nh:1:2:3:4\r\n");
    sl_ok(t, sl_redis_read_result(r, &st, &owner, &owner_len) == SL_OK
          && st.status == SL_STATUS_LIVE && owner_len == 9
          && memcmp(owner, "h:1:2:3:4", 9) == 0,
          "redis read: live, with its lock's owner");
    freeReplyObject(r);

    r = sl_resp("*1\r\n$-1\r\n");
    sl_ok(t, sl_redis_read_result(r, &st, &owner, &owner_len) == SL_DECLINED
          && owner == NULL, "redis read: one element");
    freeReplyObject(r);

    r = sl_resp("-LOADING Redis is loading the dataset in memory\r\n");
    sl_ok(t, sl_redis_read_result(r, &st, &owner, &owner_len) == SL_AGAIN,
          "redis read: loading, again later");
    freeReplyObject(r);

    r = sl_resp(":1\r\n");
    sl_ok(t, sl_redis_state_result(r, &st) == SL_DECLINED,
          "redis state: an integer");
    freeReplyObject(r);

    r = sl_resp("-LOADING Redis is loading the dataset in memory\r\n");
    sl_ok(t, sl_redis_state_result(r, &st) == SL_AGAIN,
          "redis state: LOADING, unavailable");
    freeReplyObject(r);

    sl_ok(t, sl_redis_state_result(NULL, &st) == SL_AGAIN,
          "redis state: no reply");
}


void
test_redis_message(sl_tap_t *t)
{
    size_t         len;
    redisReply    *r;
    sl_state_t     st;
    unsigned char  ch[SL_CHANNEL_MAX + 1];

    static const char  event[] =
        "*3\r\n$7\r\nmessage\r\n$17\r\nstreamline:events\r\n"
        "$74\r\n{\"channel\":\"stu-1\",\"status\":\"idle\","
        "\"updatedAt\":\"2026-11-26T01:54:26.123Z\"}\r\n";

    r = sl_resp("*3\r\n$9\r\nsubscribe\r\n$17\r\nstreamline:events\r\n"
                ":1\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_SUBSCRIBED,
          "redis message: subscribed");
    freeReplyObject(r);

    r = sl_resp(event);
    sl_ok(t, r && sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_STATE
          && len == 5 && strcmp((char *) ch, "stu-1") == 0
          && st.status == SL_STATUS_IDLE && st.updated_ms == 1795658066123LL,
          "redis message: a state event");
    freeReplyObject(r);

    r = sl_resp("*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$2\r\n{}\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_MALFORMED,
          "redis message: not a state event");
    freeReplyObject(r);

    r = sl_resp("*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n:1\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_MALFORMED,
          "redis message: an integer payload");
    freeReplyObject(r);

    r = sl_resp("*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:0\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_OTHER,
          "redis message: unsubscribe ignored");
    freeReplyObject(r);

    r = sl_resp("*2\r\n$7\r\nmessage\r\n$1\r\nx\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_OTHER,
          "redis message: two elements ignored");
    freeReplyObject(r);

    r = sl_resp("-LOADING Redis is loading the dataset in memory\r\n");
    sl_ok(t, sl_redis_message(r, &st, ch, &len) == SL_REDIS_MSG_OTHER,
          "redis message: an error ignored");
    freeReplyObject(r);

    sl_ok(t, sl_redis_message(NULL, &st, ch, &len) == SL_REDIS_MSG_OTHER,
          "redis message: no reply");
}


/* one reply tree from RESP bytes, through hiredis's reader; NULL if none */

redisReply *
sl_resp(const char *resp)
{
    void         *reply;
    redisReader  *rd;

    rd = redisReaderCreate();
    if (rd == NULL) {
        return NULL;
    }

    reply = NULL;

    if (redisReaderFeed(rd, resp, strlen(resp)) != REDIS_OK
        || redisReaderGetReply(rd, &reply) != REDIS_OK)
    {
        reply = NULL;
    }

    redisReaderFree(rd);

    return reply;
}
