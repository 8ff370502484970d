/*
 * Helpers of the pipeline's unit tests (sl_pipeline_test.c,
 * sl_fmp4_test.c): temporary channel directories, and what a rendition's
 * files hold, read back with libavformat.
 */

#ifndef SL_TEST_FILES_H
#define SL_TEST_FILES_H

#include <stdint.h>


/* a new directory /tmp/<name>.XXXXXX, removed by sl_test_rm_dirs(); the
 * program exits when none can be made */
char *sl_test_tmp_dir(const char *name);

/* removes the directories made, and their names files beside them */
void sl_test_rm_dirs(void);

/*
 * The video frames of <dir>/<rendition>/init-<init_id>.mp4 followed by
 * seg-<msn>.m4s, as one file: <dir>/<rendition>/check-<msn>.mp4 (left
 * there for a closer look).  -1 if either cannot be read.
 */
int sl_test_video_frames(const char *dir, const char *rendition,
    unsigned init_id, uint64_t msn);

#endif /* SL_TEST_FILES_H */
