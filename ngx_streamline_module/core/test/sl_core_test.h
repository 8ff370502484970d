/*
 * The core's unit tests, one program: sl_core_test.c runs them, in this
 * order, and the sl_core_*_test.c files hold them by concern.
 */

#ifndef SL_CORE_TEST_H
#define SL_CORE_TEST_H

#include "sl_core.h"
#include "sl_tap.h"


#define sl_str(s)  (const unsigned char *) (s), sizeof(s) - 1

#define A32  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* sl_core_viewers_test.c */
void test_viewers(sl_tap_t *t);

/* sl_core_redis_test.c: one reply tree from RESP bytes, through hiredis's
 * reader (freeReplyObject it); NULL if none */
struct redisReply *sl_resp(const char *resp);


/* sl_core_avc_test.c */
void test_avc_size(sl_tap_t *t);

/* sl_core_keys_test.c */
void test_key_valid(sl_tap_t *t);
void test_key_digest(sl_tap_t *t);
void test_secret_equal(sl_tap_t *t);
void test_keyfile(sl_tap_t *t);
void test_keyfile_errors(sl_tap_t *t);
void test_keyfile_lookup(sl_tap_t *t);
void test_keyfile_count(sl_tap_t *t);
void test_keyfile_large(sl_tap_t *t);

/* sl_core_state_test.c */
void test_iso8601(sl_tap_t *t);
void test_iso8601_gmtime(sl_tap_t *t);
void test_iso8601_errors(sl_tap_t *t);
void test_iso8601_edges(sl_tap_t *t);
void test_state_json(sl_tap_t *t);
void test_state_origin(sl_tap_t *t);
void test_state_parse(sl_tap_t *t);
void test_state_parse_errors(sl_tap_t *t);

/* sl_core_queue_test.c */
void test_queue(sl_tap_t *t);
void test_queue_full(sl_tap_t *t);
void test_queue_random(sl_tap_t *t);
void test_backoff(sl_tap_t *t);
void test_cache(sl_tap_t *t);

/* sl_core_redis_test.c */
void test_owner(sl_tap_t *t);
void test_proc_stat(sl_tap_t *t);
void test_redis_errors(sl_tap_t *t);
void test_redis_transition(sl_tap_t *t);
void test_redis_claim(sl_tap_t *t);
void test_redis_state(sl_tap_t *t);
void test_redis_message(sl_tap_t *t);

/* sl_core_sentinel_test.c */
void test_sentinel_url(sl_tap_t *t);
void test_sentinel_master(sl_tap_t *t);
void test_sentinel_switch(sl_tap_t *t);
void test_sentinel_role(sl_tap_t *t);

/* sl_core_overload_test.c */
void test_overload(sl_tap_t *t);
void test_overload_streams(sl_tap_t *t);


#endif /* SL_CORE_TEST_H */
