
/*
 * Unit tests of the naming unit (sl_naming.c): every name and URI of a
 * channel, the largest numbers, and what happens when a buffer is short.
 * The expected names are spelled out here, as the playlists, the HLS
 * glue and the tests of the whole (t/) know them.  Prints TAP.
 */


#include <stdint.h>
#include <string.h>

#include "sl_naming.h"
#include "sl_tap.h"


static void test_files(sl_tap_t *t);
static void test_paths(sl_tap_t *t);
static void test_uris(sl_tap_t *t);
static void test_short(sl_tap_t *t);
static int is(const char *buf, size_t len, const char *want);


int
main(void)
{
    sl_tap_t  t = { 0, 0 };

    test_files(&t);
    test_paths(&t);
    test_uris(&t);
    test_short(&t);

    return sl_tap_done(&t);
}


static void
test_files(sl_tap_t *t)
{
    char    buf[SL_NAME_MAX];
    size_t  n;

    n = sl_name_init(buf, sizeof(buf), 0);
    sl_ok(t, is(buf, n, "init-0.mp4"), "files: init segment 0");

    n = sl_name_init(buf, sizeof(buf), 4294967295u);
    sl_ok(t, is(buf, n, "init-4294967295.mp4"), "files: the largest init");

    n = sl_name_segment(buf, sizeof(buf), 1234);
    sl_ok(t, is(buf, n, "seg-1234.m4s"), "files: segment");

    n = sl_name_segment(buf, sizeof(buf), UINT64_MAX);
    sl_ok(t, is(buf, n, "seg-18446744073709551615.m4s"),
          "files: the largest segment number");

    n = sl_name_part(buf, sizeof(buf), 7, 0);
    sl_ok(t, is(buf, n, "part-7.0.m4s"), "files: part 0");

    n = sl_name_part(buf, sizeof(buf), 100, 63);
    sl_ok(t, is(buf, n, "part-100.63.m4s"), "files: part 63, no padding");

    n = sl_name_part(buf, sizeof(buf), UINT64_MAX, UINT64_MAX);
    sl_ok(t, n + sizeof(SL_NAME_TMP_SUFFIX) - 1 < SL_NAME_MAX
             && is(buf, n, "part-18446744073709551615."
                           "18446744073709551615.m4s"),
          "files: the longest name and its .tmp fit in SL_NAME_MAX (%zu)",
          n);

    sl_ok(t, strcmp(SL_NAME_SOURCE, "source") == 0
             && strcmp(SL_NAME_MASTER_PLAYLIST, "master.m3u8") == 0
             && strcmp(SL_NAME_MEDIA_PLAYLIST, "index.m3u8") == 0
             && strcmp(SL_NAME_LIVE_LOCK, ".streamline.live") == 0
             && strcmp(SL_NAME_DVR_SNAPSHOT, ".streamline.dvr") == 0,
          "files: the fixed names");
}


static void
test_paths(sl_tap_t *t)
{
    char    buf[256], dir[256], path[256];
    size_t  n;

    n = sl_name_path(dir, sizeof(dir), "/var/media/tv", SL_NAME_SOURCE);
    sl_ok(t, is(dir, n, "/var/media/tv/source"),
          "paths: a rendition's directory");

    sl_name_segment(buf, sizeof(buf), 5);
    n = sl_name_path(path, sizeof(path), dir, buf);
    sl_ok(t, is(path, n, "/var/media/tv/source/seg-5.m4s"),
          "paths: a file in it");

    n = sl_name_path(path, sizeof(path), "/var/media/tv",
                     SL_NAME_DVR_SNAPSHOT);
    sl_ok(t, is(path, n, "/var/media/tv/.streamline.dvr"),
          "paths: the channel's DVR index");

    n = sl_name_tmp(buf, sizeof(buf), path);
    sl_ok(t, is(buf, n, "/var/media/tv/.streamline.dvr.tmp"),
          "paths: its .tmp name");

    n = sl_name_names_file(buf, sizeof(buf), "/var/media/tv");
    sl_ok(t, is(buf, n, "/var/media/tv.names"),
          "paths: the names file, beside the channel's directory");
}


static void
test_uris(sl_tap_t *t)
{
    char    buf[SL_NAME_URI_MAX];
    size_t  n;

    static const unsigned char  longest[] =
        "0123456789012345678901234567890123456789012345678901234567890123";

    n = sl_name_media_uri(buf, sizeof(buf), (const unsigned char *) "low!",
                          3);
    sl_ok(t, is(buf, n, "low/index.m3u8"),
          "uris: a media playlist from the master (len counts)");

    n = sl_name_report_uri(buf, sizeof(buf),
                           (const unsigned char *) SL_NAME_SOURCE,
                           sizeof(SL_NAME_SOURCE) - 1);
    sl_ok(t, is(buf, n, "../source/index.m3u8"),
          "uris: a rendition report from another rendition");

    n = sl_name_report_uri(buf, sizeof(buf), longest, sizeof(longest) - 1);
    sl_ok(t, n < sizeof(buf) && n == 3 + 64 + sizeof("/index.m3u8") - 1,
          "uris: a 64-byte rendition name fits in SL_NAME_URI_MAX");
}


static void
test_short(sl_tap_t *t)
{
    char    buf[8];
    size_t  n;

    memset(buf, 'x', sizeof(buf));
    n = sl_name_segment(buf, sizeof(buf), 123456);
    sl_ok(t, n == strlen("seg-123456.m4s") && strcmp(buf, "seg-123") == 0,
          "short: cut to the buffer, NUL-ended, the whole length told");

    memset(buf, 'x', sizeof(buf));
    n = sl_name_part(buf, 1, 1, 2);
    sl_ok(t, n == strlen("part-1.2.m4s") && buf[0] == '\0' && buf[1] == 'x',
          "short: a 1-byte buffer gets the NUL only");

    memset(buf, 'x', sizeof(buf));
    n = sl_name_init(buf, 0, 3);
    sl_ok(t, n == strlen("init-3.mp4") && buf[0] == 'x',
          "short: nothing written with no room");

    n = sl_name_init(NULL, 0, 3);
    sl_ok(t, n == strlen("init-3.mp4"), "short: NULL, 0 measures");

    memset(buf, 'x', sizeof(buf));
    n = sl_name_init(buf, sizeof(buf), 1);
    sl_ok(t, n == 10 && n >= sizeof(buf) && strcmp(buf, "init-1.") == 0,
          "short: a result >= size says it did not fit");
}


static int
is(const char *buf, size_t len, const char *want)
{
    if (len == strlen(want) && strcmp(buf, want) == 0) {
        return 1;
    }

    sl_tap_diag("got", (const unsigned char *) buf, strlen(buf));
    sl_tap_diag("want", (const unsigned char *) want, strlen(want));

    return 0;
}
