/*
 * Streamline core: Redis Sentinel, read as the module needs it.
 */


#include <string.h>
#include <arpa/inet.h>

#include "sl_sentinel.h"


static int sl_sentinel_hostname(const char *s, size_t len);
static int sl_sentinel_str(const redisReply *r, const char *s);


int
sl_sentinel_url_is(const unsigned char *s, size_t len)
{
    return len >= sizeof(SL_SENTINEL_PREFIX) - 1
           && memcmp(s, SL_SENTINEL_PREFIX, sizeof(SL_SENTINEL_PREFIX) - 1)
              == 0;
}


int
sl_sentinel_url_parse(const unsigned char *s, size_t len,
    sl_sentinel_url_t *u, const char **err)
{
    size_t                n;
    const unsigned char  *p, *end, *slash, *comma;

    u->naddrs = 0;
    u->name.data = NULL;
    u->name.len = 0;

    if (!sl_sentinel_url_is(s, len)) {
        *err = "does not start with \"sentinel://\"";
        return SL_ERROR;
    }

    p = s + sizeof(SL_SENTINEL_PREFIX) - 1;
    end = s + len;

    /* addresses hold no '/' (IPv6 literals are bracketed, no prefix) */
    slash = memchr(p, '/', end - p);

    if (slash == NULL || slash + 1 == end) {
        *err = "has no master name (sentinel://host:port,.../name)";
        return SL_ERROR;
    }

    if (!sl_sentinel_name_valid(slash + 1, end - slash - 1)) {
        *err = "has a bad master name (1 to 64 bytes of A-Z a-z 0-9 . _ "
               ": -)";
        return SL_ERROR;
    }

    u->name.data = slash + 1;
    u->name.len = end - slash - 1;

    if (p == slash) {
        *err = "has no sentinel address";
        return SL_ERROR;
    }

    while (p <= slash) {
        comma = memchr(p, ',', slash - p);
        if (comma == NULL) {
            comma = slash;
        }

        if (comma == p) {
            *err = "has an empty sentinel address";
            return SL_ERROR;
        }

        for (n = 0; n < (size_t) (comma - p); n++) {
            if (p[n] <= ' ' || p[n] >= 0x7f) {
                *err = "has a sentinel address with a space or a control "
                       "byte";
                return SL_ERROR;
            }
        }

        if (u->naddrs == SL_SENTINEL_MAX) {
            *err = "has more than 16 sentinel addresses";
            return SL_ERROR;
        }

        u->addrs[u->naddrs].data = p;
        u->addrs[u->naddrs].len = comma - p;
        u->naddrs++;

        p = comma + 1;
    }

    return SL_OK;
}


int
sl_sentinel_name_valid(const unsigned char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > SL_SENTINEL_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_'
              || s[i] == ':' || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


int
sl_sentinel_addr(const char *host, size_t host_len, const char *port,
    size_t port_len, char *ip, int *portp)
{
    size_t          i;
    int             n;
    unsigned char   buf[sizeof(struct in6_addr)];

    if (port_len == 0 || port_len > 5) {
        return SL_SENTINEL_ADDR_BAD;
    }

    n = 0;

    for (i = 0; i < port_len; i++) {
        if (port[i] < '0' || port[i] > '9') {
            return SL_SENTINEL_ADDR_BAD;
        }

        n = n * 10 + (port[i] - '0');
    }

    if (n == 0 || n > 65535) {
        return SL_SENTINEL_ADDR_BAD;
    }

    if (host_len == 0 || host_len >= SL_SENTINEL_IP_MAX) {
        return sl_sentinel_hostname(host, host_len)
               ? SL_SENTINEL_ADDR_HOSTNAME : SL_SENTINEL_ADDR_BAD;
    }

    /* inet_pton reads a NUL ended string: host may hold a NUL */
    memcpy(ip, host, host_len);
    ip[host_len] = '\0';

    if (strlen(ip) != host_len
        || (inet_pton(AF_INET, ip, buf) != 1
            && inet_pton(AF_INET6, ip, buf) != 1))
    {
        ip[0] = '\0';

        return sl_sentinel_hostname(host, host_len)
               ? SL_SENTINEL_ADDR_HOSTNAME : SL_SENTINEL_ADDR_BAD;
    }

    *portp = n;

    return SL_SENTINEL_ADDR_OK;
}


int
sl_sentinel_master(const redisReply *r, char *ip, int *port)
{
    const redisReply  *h, *p;

    if (r == NULL) {
        return SL_SENTINEL_ADDR_BAD;
    }

    if (r->type == REDIS_REPLY_NIL) {
        return SL_SENTINEL_ADDR_UNKNOWN;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        return SL_SENTINEL_ADDR_BAD;
    }

    h = r->element[0];
    p = r->element[1];

    if (h == NULL || p == NULL || h->type != REDIS_REPLY_STRING
        || p->type != REDIS_REPLY_STRING)
    {
        return SL_SENTINEL_ADDR_BAD;
    }

    return sl_sentinel_addr(h->str, h->len, p->str, p->len, ip, port);
}


int
sl_sentinel_switch(const char *p, size_t len, const unsigned char *name,
    size_t name_len, char *ip, int *port)
{
    size_t       i, n, flen[5];
    const char  *f[5], *end, *sp;

    end = p + len;

    for (n = 0; n < 5; n++) {
        if (p >= end) {
            return SL_SENTINEL_ADDR_BAD;
        }

        sp = (n < 4) ? memchr(p, ' ', end - p) : end;
        if (sp == NULL || sp == p) {
            return SL_SENTINEL_ADDR_BAD;
        }

        f[n] = p;
        flen[n] = sp - p;
        p = sp + 1;
    }

    /* the last field runs to the end: it may not hold another space */
    for (i = 0; i < flen[4]; i++) {
        if (f[4][i] == ' ') {
            return SL_SENTINEL_ADDR_BAD;
        }
    }

    if (flen[0] != name_len || memcmp(f[0], name, name_len) != 0) {
        return SL_SENTINEL_ADDR_OTHER;
    }

    return sl_sentinel_addr(f[3], flen[3], f[4], flen[4], ip, port);
}


int
sl_sentinel_message(const redisReply *r, const unsigned char *name,
    size_t name_len, char *ip, int *port, int *addr)
{
    const redisReply  *payload;

    *addr = SL_SENTINEL_ADDR_BAD;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || !sl_sentinel_str(r->element[1], "+switch-master"))
    {
        return SL_SENTINEL_MSG_OTHER;
    }

    if (sl_sentinel_str(r->element[0], "subscribe")) {
        return SL_SENTINEL_MSG_SUBSCRIBED;
    }

    if (!sl_sentinel_str(r->element[0], "message")) {
        return SL_SENTINEL_MSG_OTHER;
    }

    payload = r->element[2];

    if (payload != NULL && payload->type == REDIS_REPLY_STRING) {
        *addr = sl_sentinel_switch(payload->str, payload->len, name,
                                   name_len, ip, port);
    }

    return SL_SENTINEL_MSG_SWITCH;
}


int
sl_sentinel_role(const redisReply *r, const char **role, size_t *role_len)
{
    const redisReply  *e;

    *role = NULL;
    *role_len = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        return SL_AGAIN;
    }

    e = r->element[0];

    if (e == NULL || e->type != REDIS_REPLY_STRING) {
        return SL_AGAIN;
    }

    if (sl_sentinel_str(e, "master")) {
        return SL_OK;
    }

    *role = e->str;
    *role_len = e->len;

    return SL_DECLINED;
}


/* what a host name may hold (RFC 1123), to tell one from garbage */

static int
sl_sentinel_hostname(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > 253) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


static int
sl_sentinel_str(const redisReply *r, const char *s)
{
    return r != NULL && r->type == REDIS_REPLY_STRING && r->len == strlen(s)
           && memcmp(r->str, s, r->len) == 0;
}
