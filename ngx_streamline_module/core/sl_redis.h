/*
 * Streamline core: what Redis's replies to the module's commands mean.
 * Pure C on hiredis's reply trees (redisReply), no nginx: the glue in
 * ngx_streamline_redis*.c acts on the results, the unit tests and the
 * fuzzer build the trees from RESP bytes with hiredis's reader.
 *
 * A NULL reply is what hiredis passes when the connection went away
 * before the answer: like a transient error, it says "try again later".
 */

#ifndef SL_REDIS_H
#define SL_REDIS_H

#include <hiredis/hiredis.h>

#include "sl_core.h"



/* an error code is the first word of an error reply ("LOADING") */
#define SL_REDIS_CODE_MAX  32

/*
 * Whether an error reply is one a Redis gives for a while and then stops
 * giving by itself or by an operator's hand, the command being right:
 * LOADING (a restart loading its dataset), BUSY (a long script), OOM
 * (maxmemory with noeviction), READONLY (a replica, during a failover),
 * MISCONF (a failing save), MASTERDOWN, TRYAGAIN, CLUSTERDOWN,
 * NOREPLICAS, NOAUTH and NOPERM (credentials being changed).  Anything
 * else (ERR, WRONGTYPE ...) would fail again the same way.
 */
int sl_redis_error_transient(const char *str, size_t len);

/* the length of the error code at the start of str, at most
 * SL_REDIS_CODE_MAX */
size_t sl_redis_error_code(const char *str, size_t len);

/* PING: SL_OK for PONG; SL_AGAIN for anything else (nothing is lost by
 * asking again) */
int sl_redis_pong(const redisReply *r);

/*
 * The transition script (an integer: 1 written, 0 older than the state
 * already there, 2 another publisher holds the channel's lock): SL_OK,
 * the transition is done; SL_DECLINED, done without being written, the
 * channel is another publisher's now; SL_AGAIN, to be sent again (NULL
 * or a transient error); SL_ERROR, Redis refuses it for good.
 */
int sl_redis_transition_result(const redisReply *r);

/*
 * The claim script: {0, ""} unknown key, {1, channel} claimed, {2,
 * channel, owner[, origin]} owned by another publisher.  The channel is copied (NUL
 * terminated, room for SL_CHANNEL_MAX + 1) for CLAIMED and BUSY; *owner
 * points into the reply at the owner's token for BUSY (NULL if the reply
 * has none).
 */
#define SL_REDIS_CLAIM_UNAVAILABLE   0
#define SL_REDIS_CLAIM_UNKNOWN_KEY   1
#define SL_REDIS_CLAIM_BAD_CHANNEL   2    /* a key maps to an invalid name */
#define SL_REDIS_CLAIM_CLAIMED       3
#define SL_REDIS_CLAIM_BUSY          4

int sl_redis_claim_result(const redisReply *r, unsigned char *channel,
    size_t *channel_len, const char **owner, size_t *owner_len);

/*
 * A BUSY claim's fourth element: the origin address in the holder's
 * state ("" when it has none), copied into origin (room for SL_ORIGIN_MAX
 * + 1).  SL_OK with one, SL_DECLINED without a valid one.
 */
int sl_redis_claim_origin(const redisReply *r, unsigned char *origin,
    size_t *origin_len);

/*
 * GET of a state key: SL_OK with the state (nil: idle, never updated);
 * SL_AGAIN when Redis did not answer with one (NULL, an error); SL_DECLINED
 * when the key holds something that is not a state.
 */
int sl_redis_state_result(const redisReply *r, sl_state_t *st);

/*
 * The read script: {state or nil, owner or nil}, the state as
 * sl_redis_state_result reads it; *owner points into the reply at the
 * lock's token, NULL if there is none.  A bare reply (an error) reads as
 * sl_redis_state_result does.
 */
int sl_redis_read_result(const redisReply *r, sl_state_t *st,
    const char **owner, size_t *owner_len);

/*
 * A reply on the subscriber connection.  STATE fills st and the channel
 * (as sl_state_parse); MALFORMED is a message whose payload is not a
 * state event; OTHER is anything else, to be ignored.
 */
#define SL_REDIS_MSG_OTHER       0
#define SL_REDIS_MSG_SUBSCRIBED  1
#define SL_REDIS_MSG_STATE       2
#define SL_REDIS_MSG_MALFORMED   3

int sl_redis_message(const redisReply *r, sl_state_t *st,
    unsigned char *channel, size_t *channel_len);

#endif /* SL_REDIS_H */
