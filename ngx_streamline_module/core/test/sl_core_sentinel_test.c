/*
 * Unit tests of the core, continued (see sl_core_test.c): Redis Sentinel
 * (sl_sentinel.c): the sentinel:// value of streamline_redis, the replies
 * of get-master-addr-by-name and ROLE, the +switch-master messages, read
 * from RESP bytes by hiredis.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_core_test.h"
#include "sl_sentinel.h"




void
test_sentinel_url(sl_tap_t *t)
{
    size_t             i;
    const char        *err;
    sl_sentinel_url_t  u;
    char               many[512];

    static const struct {
        const char  *url;
        size_t       naddrs;
        const char  *first;
        const char  *last;
        const char  *name;
    } good[] = {
        { "sentinel://127.0.0.1:26379/mymaster", 1, "127.0.0.1:26379",
          "127.0.0.1:26379", "mymaster" },
        { "sentinel://a:1,b:2,c:3/m", 3, "a:1", "c:3", "m" },
        { "sentinel://[::1]:26379,10.0.0.2/my-master.1", 2, "[::1]:26379",
          "10.0.0.2", "my-master.1" },
        { "sentinel://h/a:b_c", 1, "h", "h", "a:b_c" },
    };

    static const struct {
        const char  *url;
        const char  *why;
    } bad[] = {
        { "sentinel://", "no master name" },
        { "sentinel:///m", "no sentinel address" },
        { "sentinel://a:1,b:2", "no master name" },
        { "sentinel://a:1,b:2/", "no master name" },
        { "sentinel://a:1,,b:2/m", "empty sentinel address" },
        { "sentinel://a:1,/m", "empty sentinel address" },
        { "sentinel://,a:1/m", "empty sentinel address" },
        { "sentinel://a b/m", "space" },
        { "sentinel://a:1/m m", "bad master name" },
        { "sentinel://a:1/m/n", "bad master name" },
        { "sentinel://a:1/" A32 A32 "x", "bad master name" },
        { "redis://a:1/m", "does not start" },
        { "Sentinel://a:1/m", "does not start" },
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        err = NULL;
        sl_ok(t, sl_sentinel_url_parse((const unsigned char *) good[i].url,
                                       strlen(good[i].url), &u, &err)
                 == SL_OK
              && u.naddrs == good[i].naddrs
              && u.addrs[0].len == strlen(good[i].first)
              && memcmp(u.addrs[0].data, good[i].first, u.addrs[0].len) == 0
              && u.addrs[u.naddrs - 1].len == strlen(good[i].last)
              && memcmp(u.addrs[u.naddrs - 1].data, good[i].last,
                        u.addrs[u.naddrs - 1].len) == 0
              && u.name.len == strlen(good[i].name)
              && memcmp(u.name.data, good[i].name, u.name.len) == 0,
              "sentinel url: \"%s\"", good[i].url);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        sl_ok(t, sl_sentinel_url_parse((const unsigned char *) bad[i].url,
                                       strlen(bad[i].url), &u, &err)
                 == SL_ERROR
              && err != NULL && strstr(err, bad[i].why) != NULL,
              "sentinel url: \"%.40s\" refused (%s)", bad[i].url,
              err ? err : "no reason");
    }

    /* 16 addresses pass, 17 do not */
    strcpy(many, "sentinel://");
    for (i = 0; i < SL_SENTINEL_MAX; i++) {
        sprintf(many + strlen(many), "%s10.0.0.%zu:26379", i ? "," : "",
                i + 1);
    }

    strcat(many, "/m");
    sl_ok(t, sl_sentinel_url_parse((unsigned char *) many, strlen(many), &u,
                                   &err) == SL_OK
             && u.naddrs == SL_SENTINEL_MAX,
          "sentinel url: 16 addresses");

    many[strlen(many) - 2] = '\0';
    strcat(many, ",10.0.0.17/m");
    sl_ok(t, sl_sentinel_url_parse((unsigned char *) many, strlen(many), &u,
                                   &err) == SL_ERROR
             && strstr(err, "more than 16") != NULL,
          "sentinel url: 17 addresses refused");

    sl_ok(t, sl_sentinel_url_is(sl_str("sentinel://x/y"))
             && !sl_sentinel_url_is(sl_str("127.0.0.1:6379"))
             && !sl_sentinel_url_is(sl_str("unix:/run/redis.sock"))
             && !sl_sentinel_url_is(sl_str("sentinel:/")),
          "sentinel url: told from the other forms");
}


void
test_sentinel_master(sl_tap_t *t)
{
    int          port;
    size_t       i;
    char         ip[SL_SENTINEL_IP_MAX];
    redisReply  *r;

    static const struct {
        const char  *resp;
        int          rc;
        const char  *ip;
        int          port;
    } cases[] = {
        { "*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n", SL_SENTINEL_ADDR_OK,
          "127.0.0.1", 6380 },
        { "*2\r\n$3\r\n::1\r\n$5\r\n65535\r\n", SL_SENTINEL_ADDR_OK,
          "::1", 65535 },
        { "*2\r\n$21\r\nfe80::1:2:3:4:ffff:a1\r\n$1\r\n1\r\n",
          SL_SENTINEL_ADDR_OK, "fe80::1:2:3:4:ffff:a1", 1 },
        { "*-1\r\n", SL_SENTINEL_ADDR_UNKNOWN, "", 0 },
        { "$-1\r\n", SL_SENTINEL_ADDR_UNKNOWN, "", 0 },
        { "*2\r\n$15\r\nredis-1.example\r\n$4\r\n6379\r\n",
          SL_SENTINEL_ADDR_HOSTNAME, "", 0 },
        { "*2\r\n$9\r\nlocalhost\r\n$4\r\n6379\r\n",
          SL_SENTINEL_ADDR_HOSTNAME, "", 0 },
        { "*2\r\n$9\r\n127.0.0.1\r\n$5\r\n65536\r\n", SL_SENTINEL_ADDR_BAD,
          "", 0 },
        { "*2\r\n$9\r\n127.0.0.1\r\n$1\r\n0\r\n", SL_SENTINEL_ADDR_BAD,
          "", 0 },
        { "*2\r\n$9\r\n127.0.0.1\r\n$3\r\n-80\r\n", SL_SENTINEL_ADDR_BAD,
          "", 0 },
        { "*2\r\n$9\r\n127.0.0.1\r\n$0\r\n\r\n", SL_SENTINEL_ADDR_BAD,
          "", 0 },
        { "*2\r\n$9\r\n127.0.0.1\r\n:6379\r\n", SL_SENTINEL_ADDR_BAD,
          "", 0 },
        { "*2\r\n$0\r\n\r\n$4\r\n6379\r\n", SL_SENTINEL_ADDR_BAD, "", 0 },
        { "*2\r\n$10\r\n127.0.0.1 \r\n$4\r\n6379\r\n", SL_SENTINEL_ADDR_BAD,
          "", 0 },
        { "*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n$1\r\nx\r\n",
          SL_SENTINEL_ADDR_BAD, "", 0 },
        { "*1\r\n$9\r\n127.0.0.1\r\n", SL_SENTINEL_ADDR_BAD, "", 0 },
        { "-ERR unknown command\r\n", SL_SENTINEL_ADDR_BAD, "", 0 },
        { "+OK\r\n", SL_SENTINEL_ADDR_BAD, "", 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = sl_resp(cases[i].resp);
        port = 0;
        ip[0] = '\0';
        sl_ok(t, r && sl_sentinel_master(r, ip, &port) == cases[i].rc
              && (cases[i].rc != SL_SENTINEL_ADDR_OK
                  || (strcmp(ip, cases[i].ip) == 0
                      && port == cases[i].port)),
              "sentinel master: reply %zu gives %d %s", i, cases[i].rc,
              cases[i].ip);
        freeReplyObject(r);
    }

    sl_ok(t, sl_sentinel_master(NULL, ip, &port) == SL_SENTINEL_ADDR_BAD,
          "sentinel master: no reply");

    sl_ok(t, sl_sentinel_addr("127.0\0.1", 8, "6379", 4, ip, &port)
             == SL_SENTINEL_ADDR_BAD,
          "sentinel master: a NUL in the address");
}


void
test_sentinel_switch(sl_tap_t *t)
{
    int          port, addr;
    size_t       i;
    char         ip[SL_SENTINEL_IP_MAX];
    redisReply  *r;

    static const struct {
        const char  *payload;
        int          rc;
        const char  *ip;
        int          port;
    } cases[] = {
        { "mymaster 127.0.0.1 6379 127.0.0.1 6380", SL_SENTINEL_ADDR_OK,
          "127.0.0.1", 6380 },
        { "mymaster ::1 6379 ::1 7000", SL_SENTINEL_ADDR_OK, "::1", 7000 },
        { "mymaster2 127.0.0.1 6379 127.0.0.1 6380", SL_SENTINEL_ADDR_OTHER,
          "", 0 },
        { "mymaste 127.0.0.1 6379 127.0.0.1 6380", SL_SENTINEL_ADDR_OTHER,
          "", 0 },
        { "mymaster a 1 redis-2 6380", SL_SENTINEL_ADDR_HOSTNAME, "", 0 },
        { "mymaster 127.0.0.1 6379 127.0.0.1", SL_SENTINEL_ADDR_BAD, "", 0 },
        { "mymaster 127.0.0.1 6379 127.0.0.1 ", SL_SENTINEL_ADDR_BAD, "", 0 },
        { "mymaster 127.0.0.1 6379 127.0.0.1 6380 x", SL_SENTINEL_ADDR_BAD,
          "", 0 },
        { "mymaster  127.0.0.1 6379 127.0.0.1 6380", SL_SENTINEL_ADDR_BAD,
          "", 0 },
        { "mymaster 127.0.0.1 6379 127.0.0.1 99999", SL_SENTINEL_ADDR_BAD,
          "", 0 },
        { "", SL_SENTINEL_ADDR_BAD, "", 0 },
        { "mymaster", SL_SENTINEL_ADDR_BAD, "", 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        port = 0;
        ip[0] = '\0';
        sl_ok(t, sl_sentinel_switch(cases[i].payload,
                                    strlen(cases[i].payload),
                                    sl_str("mymaster"), ip, &port)
                 == cases[i].rc
              && (cases[i].rc != SL_SENTINEL_ADDR_OK
                  || (strcmp(ip, cases[i].ip) == 0
                      && port == cases[i].port)),
              "sentinel switch: \"%s\" gives %d", cases[i].payload,
              cases[i].rc);
    }

    r = sl_resp("*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n");
    sl_ok(t, r && sl_sentinel_message(r, sl_str("mymaster"), ip, &port,
                                      &addr)
                  == SL_SENTINEL_MSG_SUBSCRIBED,
          "sentinel message: subscribed");
    freeReplyObject(r);

    r = sl_resp("*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n"
                "$38\r\nmymaster 127.0.0.1 6379 127.0.0.1 6380\r\n");
    sl_ok(t, r && sl_sentinel_message(r, sl_str("mymaster"), ip, &port,
                                      &addr)
                  == SL_SENTINEL_MSG_SWITCH
          && addr == SL_SENTINEL_ADDR_OK && strcmp(ip, "127.0.0.1") == 0
          && port == 6380,
          "sentinel message: our master switched");
    freeReplyObject(r);

    r = sl_resp("*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n:1\r\n");
    sl_ok(t, r && sl_sentinel_message(r, sl_str("mymaster"), ip, &port,
                                      &addr)
                  == SL_SENTINEL_MSG_SWITCH
          && addr == SL_SENTINEL_ADDR_BAD,
          "sentinel message: an integer payload is malformed");
    freeReplyObject(r);

    r = sl_resp("*3\r\n$7\r\nmessage\r\n$9\r\n+sdown-xy\r\n$1\r\nx\r\n");
    sl_ok(t, r && sl_sentinel_message(r, sl_str("mymaster"), ip, &port,
                                      &addr)
                  == SL_SENTINEL_MSG_OTHER,
          "sentinel message: another channel ignored");
    freeReplyObject(r);

    r = sl_resp("-LOADING x\r\n");
    sl_ok(t, sl_sentinel_message(r, sl_str("m"), ip, &port, &addr)
             == SL_SENTINEL_MSG_OTHER
          && sl_sentinel_message(NULL, sl_str("m"), ip, &port, &addr)
             == SL_SENTINEL_MSG_OTHER,
          "sentinel message: an error, no reply: ignored");
    freeReplyObject(r);
}


void
test_sentinel_role(sl_tap_t *t)
{
    size_t       len;
    redisReply  *r;
    const char  *role;

    r = sl_resp("*3\r\n$6\r\nmaster\r\n:3129659\r\n*0\r\n");
    sl_ok(t, r && sl_sentinel_role(r, &role, &len) == SL_OK,
          "role: master");
    freeReplyObject(r);

    r = sl_resp("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:9999\r\n"
                "$9\r\nconnected\r\n:3167038\r\n");
    sl_ok(t, r && sl_sentinel_role(r, &role, &len) == SL_DECLINED
          && len == 5 && memcmp(role, "slave", 5) == 0,
          "role: a replica");
    freeReplyObject(r);

    r = sl_resp("*2\r\n$8\r\nsentinel\r\n*0\r\n");
    sl_ok(t, r && sl_sentinel_role(r, &role, &len) == SL_DECLINED
          && len == 8, "role: a sentinel");
    freeReplyObject(r);

    r = sl_resp("-LOADING Redis is loading the dataset in memory\r\n");
    sl_ok(t, r && sl_sentinel_role(r, &role, &len) == SL_AGAIN
          && role == NULL, "role: an error, again");
    freeReplyObject(r);

    r = sl_resp("*0\r\n");
    sl_ok(t, r && sl_sentinel_role(r, &role, &len) == SL_AGAIN,
          "role: an empty array, again");
    freeReplyObject(r);

    r = sl_resp("*1\r\n:1\r\n");
    sl_ok(t, r && sl_sentinel_role(r, &role, &len) == SL_AGAIN,
          "role: not a string, again");
    freeReplyObject(r);

    sl_ok(t, sl_sentinel_role(NULL, &role, &len) == SL_AGAIN,
          "role: no reply, again");
}


