/*
 * Streamline core: Redis Sentinel, read as the module needs it.  Pure C,
 * no nginx: the "sentinel://" value of streamline_redis, and what a
 * sentinel or a Redis says about who the master is (the reply to
 * SENTINEL get-master-addr-by-name, a +switch-master message, ROLE).
 * hiredis 0.14 has no Sentinel support: the glue
 * (ngx_streamline_redis_sentinel.c) asks the sentinels itself.
 *
 * Addresses that come from a sentinel are used only when numeric: a host
 * name would be resolved by hiredis with a blocking getaddrinfo().
 */

#ifndef SL_SENTINEL_H
#define SL_SENTINEL_H

#include "sl_redis.h"


#define SL_SENTINEL_PREFIX    "sentinel://"
#define SL_SENTINEL_MAX       16
#define SL_SENTINEL_PORT      26379

/* master names: 1..64 bytes of [A-Za-z0-9._:-] */
#define SL_SENTINEL_NAME_MAX  64

/* a numeric address, NUL ended: INET6_ADDRSTRLEN */
#define SL_SENTINEL_IP_MAX    46


typedef struct {
    const unsigned char  *data;
    size_t                len;
} sl_span_t;

typedef struct {
    sl_span_t             addrs[SL_SENTINEL_MAX];   /* "host[:port]" */
    size_t                naddrs;
    sl_span_t             name;
} sl_sentinel_url_t;


/* whether a streamline_redis value names sentinels ("sentinel://...") */
int sl_sentinel_url_is(const unsigned char *s, size_t len);

/*
 * "sentinel://host1:26379,[::1]:26380,host3/mastername": the addresses
 * (not resolved: spans into s, each non-empty, without spaces) and the
 * master name.  SL_ERROR with *err saying why: no address, an empty one,
 * more than SL_SENTINEL_MAX, no master name, a bad master name.
 */
int sl_sentinel_url_parse(const unsigned char *s, size_t len,
    sl_sentinel_url_t *u, const char **err);

int sl_sentinel_name_valid(const unsigned char *s, size_t len);


/* what a sentinel says the master is */
#define SL_SENTINEL_ADDR_OK        0
#define SL_SENTINEL_ADDR_UNKNOWN   1   /* nil: the sentinel does not
                                          monitor that name */
#define SL_SENTINEL_ADDR_HOSTNAME  2   /* a host name, not used */
#define SL_SENTINEL_ADDR_BAD       3   /* an error, NULL, malformed */
#define SL_SENTINEL_ADDR_OTHER     4   /* +switch-master of another master */

/*
 * An address given as two strings (IP, port): ip is copied, NUL ended,
 * into SL_SENTINEL_IP_MAX bytes when numeric (IPv4 or IPv6).
 */
int sl_sentinel_addr(const char *host, size_t host_len, const char *port,
    size_t port_len, char *ip, int *portp);

/* SENTINEL get-master-addr-by-name: ["ip", "port"] or nil */
int sl_sentinel_master(const redisReply *r, char *ip, int *port);

/*
 * The payload of a +switch-master message: "<name> <old ip> <old port>
 * <new ip> <new port>".  OK (our master, the new address), OTHER (another
 * name), HOSTNAME or BAD.
 */
int sl_sentinel_switch(const char *p, size_t len, const unsigned char *name,
    size_t name_len, char *ip, int *port);

/*
 * A reply on the connection subscribed to +switch-master: SUBSCRIBED, a
 * MESSAGE (then *addr is what sl_sentinel_switch says of its payload), or
 * OTHER, to be ignored.
 */
#define SL_SENTINEL_MSG_OTHER       0
#define SL_SENTINEL_MSG_SUBSCRIBED  1
#define SL_SENTINEL_MSG_SWITCH      2

int sl_sentinel_message(const redisReply *r, const unsigned char *name,
    size_t name_len, char *ip, int *port, int *addr);

/*
 * ROLE: SL_OK for a master; SL_DECLINED for a replica or a sentinel, with
 * *role (into the reply) saying which; SL_AGAIN for anything else (an
 * error such as -LOADING, NULL).
 */
int sl_sentinel_role(const redisReply *r, const char **role,
    size_t *role_len);

#endif /* SL_SENTINEL_H */
