
/*
 * Streamline core: the names of a channel's files, see sl_naming.h.
 * Written by hand rather than with snprintf(): a 4-hour playlist names
 * thousands of segments on every request.
 */


#include <string.h>

#include "sl_naming.h"


#define sl_name_lit(n, s)  sl_name_put(n, s, sizeof(s) - 1)


/* a name being written: len counts all of it, what fits is kept */
typedef struct {
    char    *p;
    size_t   room;               /* for bytes, the NUL not counted */
    size_t   len;
} sl_name_t;


static void sl_name_start(sl_name_t *n, char *buf, size_t size);
static void sl_name_put(sl_name_t *n, const char *s, size_t len);
static void sl_name_put_uint(sl_name_t *n, uint64_t v);
static size_t sl_name_end(sl_name_t *n);


size_t
sl_name_init(char *buf, size_t size, unsigned init_id)
{
    sl_name_t  n;

    sl_name_start(&n, buf, size);
    sl_name_lit(&n, SL_NAME_INIT_PREFIX);
    sl_name_put_uint(&n, init_id);
    sl_name_lit(&n, SL_NAME_INIT_SUFFIX);

    return sl_name_end(&n);
}


size_t
sl_name_segment(char *buf, size_t size, uint64_t msn)
{
    sl_name_t  n;

    sl_name_start(&n, buf, size);
    sl_name_lit(&n, SL_NAME_SEGMENT_PREFIX);
    sl_name_put_uint(&n, msn);
    sl_name_lit(&n, SL_NAME_MEDIA_SUFFIX);

    return sl_name_end(&n);
}


size_t
sl_name_part(char *buf, size_t size, uint64_t msn, uint64_t part)
{
    sl_name_t  n;

    sl_name_start(&n, buf, size);
    sl_name_lit(&n, SL_NAME_PART_PREFIX);
    sl_name_put_uint(&n, msn);
    sl_name_lit(&n, ".");
    sl_name_put_uint(&n, part);
    sl_name_lit(&n, SL_NAME_MEDIA_SUFFIX);

    return sl_name_end(&n);
}


size_t
sl_name_path(char *buf, size_t size, const char *dir, const char *name)
{
    sl_name_t  n;

    sl_name_start(&n, buf, size);
    sl_name_put(&n, dir, strlen(dir));
    sl_name_lit(&n, "/");
    sl_name_put(&n, name, strlen(name));

    return sl_name_end(&n);
}


size_t
sl_name_tmp(char *buf, size_t size, const char *path)
{
    sl_name_t  n;

    sl_name_start(&n, buf, size);
    sl_name_put(&n, path, strlen(path));
    sl_name_lit(&n, SL_NAME_TMP_SUFFIX);

    return sl_name_end(&n);
}


size_t
sl_name_names_file(char *buf, size_t size, const char *dir)
{
    sl_name_t  n;

    sl_name_start(&n, buf, size);
    sl_name_put(&n, dir, strlen(dir));
    sl_name_lit(&n, SL_NAME_NAMES_SUFFIX);

    return sl_name_end(&n);
}


size_t
sl_name_media_uri(char *buf, size_t size, const unsigned char *rendition,
    size_t len)
{
    sl_name_t  n;

    sl_name_start(&n, buf, size);
    sl_name_put(&n, (const char *) rendition, len);
    sl_name_lit(&n, "/" SL_NAME_MEDIA_PLAYLIST);

    return sl_name_end(&n);
}


size_t
sl_name_report_uri(char *buf, size_t size, const unsigned char *rendition,
    size_t len)
{
    sl_name_t  n;

    sl_name_start(&n, buf, size);
    sl_name_lit(&n, "../");
    sl_name_put(&n, (const char *) rendition, len);
    sl_name_lit(&n, "/" SL_NAME_MEDIA_PLAYLIST);

    return sl_name_end(&n);
}


static void
sl_name_start(sl_name_t *n, char *buf, size_t size)
{
    /* no room: nothing is written, not even the NUL */
    n->p = size ? buf : NULL;
    n->room = size ? size - 1 : 0;
    n->len = 0;
}


static void
sl_name_put(sl_name_t *n, const char *s, size_t len)
{
    size_t  k;

    k = len < n->room ? len : n->room;

    if (k) {
        memcpy(n->p, s, k);
        n->p += k;
        n->room -= k;
    }

    n->len += len;
}


static void
sl_name_put_uint(sl_name_t *n, uint64_t v)
{
    char  digits[20], *d;

    d = digits + sizeof(digits);

    do {
        *--d = (char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);

    sl_name_put(n, d, digits + sizeof(digits) - d);
}


static size_t
sl_name_end(sl_name_t *n)
{
    if (n->p != NULL) {
        *n->p = '\0';
    }

    return n->len;
}
