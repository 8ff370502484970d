/*
 * The unit tests of the playlist checker, one program:
 * sl_playlist_check_test.c runs them, in its order;
 * sl_playlist_check_form_test.c holds those of the module's own form.
 */

#ifndef SL_PLAYLIST_CHECK_TEST_H
#define SL_PLAYLIST_CHECK_TEST_H

#include "sl_tap.h"


/* sl_playlist_check_form_test.c */
void test_rendered(sl_tap_t *t);
void test_rendered_output(sl_tap_t *t);
void test_segments(sl_tap_t *t);


#endif /* SL_PLAYLIST_CHECK_TEST_H */
