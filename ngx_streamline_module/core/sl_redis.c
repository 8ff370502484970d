
/*
 * Streamline core: what Redis's replies to the module's commands mean.
 */


#include <string.h>

#include "sl_redis.h"


static int sl_redis_is(const redisReply *r, int type, const char *s);


static const char  *sl_redis_transient[] = {
    "LOADING", "BUSY", "OOM", "READONLY", "MISCONF", "MASTERDOWN",
    "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "NOAUTH", "NOPERM", NULL
};


size_t
sl_redis_error_code(const char *str, size_t len)
{
    size_t  n;

    if (str == NULL) {
        return 0;
    }

    for (n = 0; n < len && n < SL_REDIS_CODE_MAX; n++) {
        if (str[n] == ' ' || str[n] == '\r' || str[n] == '\n') {
            break;
        }
    }

    return n;
}


int
sl_redis_error_transient(const char *str, size_t len)
{
    size_t        n;
    const char  **code;

    n = sl_redis_error_code(str, len);

    for (code = sl_redis_transient; *code; code++) {
        if (strlen(*code) == n && memcmp(*code, str, n) == 0) {
            return 1;
        }
    }

    return 0;
}


int
sl_redis_pong(const redisReply *r)
{
    return sl_redis_is(r, REDIS_REPLY_STATUS, "PONG") ? SL_OK : SL_AGAIN;
}


int
sl_redis_transition_result(const redisReply *r)
{
    if (r == NULL) {
        return SL_AGAIN;
    }

    if (r->type == REDIS_REPLY_INTEGER && (r->integer == 0 || r->integer == 1))
    {
        return SL_OK;
    }

    if (r->type == REDIS_REPLY_INTEGER && r->integer == 2) {
        return SL_DECLINED;
    }

    if (r->type == REDIS_REPLY_ERROR
        && sl_redis_error_transient(r->str, r->len))
    {
        return SL_AGAIN;
    }

    return SL_ERROR;
}


int
sl_redis_claim_result(const redisReply *r, unsigned char *channel,
    size_t *channel_len, const char **owner, size_t *owner_len)
{
    redisReply  *code, *ch;

    *channel_len = 0;
    *owner = NULL;
    *owner_len = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY
        || r->elements < 2 || r->elements > 4)
    {
        return SL_REDIS_CLAIM_UNAVAILABLE;
    }

    code = r->element[0];
    ch = r->element[1];

    if (code == NULL || ch == NULL
        || code->type != REDIS_REPLY_INTEGER
        || ch->type != REDIS_REPLY_STRING
        || code->integer < 0 || code->integer > 2
        || (r->elements >= 3
            && (code->integer != 2 || r->element[2] == NULL
                || r->element[2]->type != REDIS_REPLY_STRING))
        || (r->elements == 4
            && (r->element[3] == NULL
                || r->element[3]->type != REDIS_REPLY_STRING)))
    {
        return SL_REDIS_CLAIM_UNAVAILABLE;
    }

    if (code->integer == 0) {
        return SL_REDIS_CLAIM_UNKNOWN_KEY;
    }

    if (!sl_channel_valid((const unsigned char *) ch->str, ch->len)) {
        return SL_REDIS_CLAIM_BAD_CHANNEL;
    }

    memcpy(channel, ch->str, ch->len);
    channel[ch->len] = '\0';
    *channel_len = ch->len;

    if (code->integer == 1) {
        return SL_REDIS_CLAIM_CLAIMED;
    }

    if (r->elements >= 3) {
        *owner = r->element[2]->str;
        *owner_len = r->element[2]->len;
    }

    return SL_REDIS_CLAIM_BUSY;
}


int
sl_redis_claim_origin(const redisReply *r, unsigned char *origin,
    size_t *origin_len)
{
    redisReply  *o;

    *origin_len = 0;
    origin[0] = '\0';

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
        return SL_DECLINED;
    }

    o = r->element[3];

    if (o == NULL || o->type != REDIS_REPLY_STRING
        || !sl_origin_valid((const unsigned char *) o->str, o->len))
    {
        return SL_DECLINED;
    }

    memcpy(origin, o->str, o->len);
    origin[o->len] = '\0';
    *origin_len = o->len;

    return SL_OK;
}


int
sl_redis_state_result(const redisReply *r, sl_state_t *st)
{
    if (r == NULL) {
        return SL_AGAIN;
    }

    switch (r->type) {

    case REDIS_REPLY_NIL:
        st->status = SL_STATUS_IDLE;
        st->updated_ms = -1;
        st->origin_len = 0;
        st->origin[0] = '\0';
        return SL_OK;

    case REDIS_REPLY_STRING:
        if (sl_state_parse((const unsigned char *) r->str, r->len, st, NULL,
                           NULL)
            == SL_OK)
        {
            return SL_OK;
        }

        return SL_DECLINED;

    case REDIS_REPLY_ERROR:
        return SL_AGAIN;

    default:
        return SL_DECLINED;
    }
}


int
sl_redis_message(const redisReply *r, sl_state_t *st, unsigned char *channel,
    size_t *channel_len)
{
    redisReply  *payload;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || r->element[1] == NULL || r->element[2] == NULL)
    {
        return SL_REDIS_MSG_OTHER;
    }

    if (sl_redis_is(r->element[0], REDIS_REPLY_STRING, "subscribe")) {
        return SL_REDIS_MSG_SUBSCRIBED;
    }

    if (!sl_redis_is(r->element[0], REDIS_REPLY_STRING, "message")) {
        return SL_REDIS_MSG_OTHER;
    }

    payload = r->element[2];

    if (payload->type != REDIS_REPLY_STRING
        || sl_state_parse((const unsigned char *) payload->str, payload->len,
                          st, channel, channel_len)
           != SL_OK)
    {
        return SL_REDIS_MSG_MALFORMED;
    }

    return SL_REDIS_MSG_STATE;
}


static int
sl_redis_is(const redisReply *r, int type, const char *s)
{
    return r != NULL && r->type == type && r->len == strlen(s)
           && memcmp(r->str, s, r->len) == 0;
}


int
sl_redis_read_result(const redisReply *r, sl_state_t *st, const char **owner,
    size_t *owner_len)
{
    *owner = NULL;
    *owner_len = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        return sl_redis_state_result(r, st);
    }

    if (r->elements != 2 || r->element[0] == NULL || r->element[1] == NULL
        || r->element[0]->type == REDIS_REPLY_ERROR)
    {
        return SL_DECLINED;
    }

    if (r->element[1]->type == REDIS_REPLY_STRING) {
        *owner = r->element[1]->str;
        *owner_len = r->element[1]->len;
    }

    return sl_redis_state_result(r->element[0], st);
}
