
/*
 * Streamline core: the names of a channel's files, see sl_naming.h.
 * Written by hand rather than with snprintf(): a 4-hour playlist names
 * thousands of segments on every request.
 */


#include <string.h>

#include "sl_naming.h"


#define sl_name_lit(n, s)  sl_name_put(n, s, sizeof(s) - 1)
#define sl_name_cpy(p, s)  ((char *) memcpy(p, s, sizeof(s) - 1)            \
                            + sizeof(s) - 1)


/* a name being written: len counts all of it, what fits is kept */
typedef struct {
    char    *p;
    size_t   room;               /* for bytes, the NUL not counted */
    size_t   len;
} sl_name_t;


static char *sl_name_digits(char *p, uint64_t v);
static size_t sl_name_fit(char *buf, size_t size, const char *name,
    size_t len);
static void sl_name_start(sl_name_t *n, char *buf, size_t size);
static void sl_name_put(sl_name_t *n, const char *s, size_t len);
static size_t sl_name_end(sl_name_t *n);


/*
 * The numbered names are the hot ones: written straight into a buffer
 * that surely holds them (SL_NAME_MAX), else into a local one first.
 */
size_t
sl_name_init(char *buf, size_t size, unsigned init_id)
{
    char  *p, *name, tmp[SL_NAME_MAX];

    name = size >= SL_NAME_MAX ? buf : tmp;

    p = sl_name_cpy(name, SL_NAME_INIT_PREFIX);
    p = sl_name_digits(p, init_id);
    p = sl_name_cpy(p, SL_NAME_INIT_SUFFIX);
    *p = '\0';

    return sl_name_fit(buf, size, name, p - name);
}


size_t
sl_name_segment(char *buf, size_t size, uint64_t msn)
{
    char  *p, *name, tmp[SL_NAME_MAX];

    name = size >= SL_NAME_MAX ? buf : tmp;

    p = sl_name_cpy(name, SL_NAME_SEGMENT_PREFIX);
    p = sl_name_digits(p, msn);
    p = sl_name_cpy(p, SL_NAME_MEDIA_SUFFIX);
    *p = '\0';

    return sl_name_fit(buf, size, name, p - name);
}


size_t
sl_name_part(char *buf, size_t size, uint64_t msn, uint64_t part)
{
    char  *p, *name, tmp[SL_NAME_MAX];

    name = size >= SL_NAME_MAX ? buf : tmp;

    p = sl_name_cpy(name, SL_NAME_PART_PREFIX);
    p = sl_name_digits(p, msn);
    *p++ = '.';
    p = sl_name_digits(p, part);
    p = sl_name_cpy(p, SL_NAME_MEDIA_SUFFIX);
    *p = '\0';

    return sl_name_fit(buf, size, name, p - name);
}


size_t
sl_name_preview(char *buf, size_t size, uint64_t sheet, unsigned tiles)
{
    char  *p, *name, tmp[SL_NAME_MAX];

    name = size >= SL_NAME_MAX ? buf : tmp;

    p = sl_name_digits(name, sheet);
    *p++ = '-';
    p = sl_name_digits(p, tiles);
    p = sl_name_cpy(p, SL_NAME_PREVIEW_SUFFIX);
    *p = '\0';

    return sl_name_fit(buf, size, name, p - name);
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


/* the decimal digits of v at p; the end of them */
static char *
sl_name_digits(char *p, uint64_t v)
{
    char      *end;
    uint64_t   rest;

    end = p;
    rest = v;

    do {
        end++;
        rest /= 10;
    } while (rest != 0);

    p = end;

    do {
        *--p = (char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);

    return end;
}


/* a name of len bytes, made in a local buffer, as much as fits in buf */
static size_t
sl_name_fit(char *buf, size_t size, const char *name, size_t len)
{
    size_t  n;

    if (name != buf && size > 0) {
        n = len < size - 1 ? len : size - 1;
        memcpy(buf, name, n);
        buf[n] = '\0';
    }

    return len;
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


static size_t
sl_name_end(sl_name_t *n)
{
    if (n->p != NULL) {
        *n->p = '\0';
    }

    return n->len;
}
