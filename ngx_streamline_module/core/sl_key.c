
/*
 * Streamline core: stream keys, their digests and the keys file.
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sl_core.h"


static int sl_hex_value(unsigned char c);
static int sl_keyfile_line(const unsigned char *p, const unsigned char *end,
    sl_key_entry_t *entry, const char **err);
static const unsigned char *sl_keyfile_skip_blanks(const unsigned char *p,
    const unsigned char *end);
static size_t sl_keyfile_duplicate(sl_key_entry_t *entries, size_t n);
static int sl_keyfile_cmp(const void *one, const void *two);


static const char  sl_hex_digits[] = "0123456789abcdef";


int
sl_key_valid(const unsigned char *key, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len < SL_KEY_MIN || len > SL_KEY_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = key[i];

        /* printable ASCII without space, and nothing that would split
         * or escape an RTMP URL */

        if (c <= ' ' || c >= 0x7f
            || c == '/' || c == '?' || c == '&' || c == '#' || c == '%')
        {
            return 0;
        }
    }

    return 1;
}


int
sl_key_digest_hex(const unsigned char *key, size_t len, unsigned char *hex)
{
    size_t         i;
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    if (EVP_Digest(key, len, md, &n, EVP_sha256(), NULL) != 1
        || n * 2 != SL_DIGEST_HEX)
    {
        return SL_ERROR;
    }

    for (i = 0; i < n; i++) {
        hex[2 * i] = sl_hex_digits[md[i] >> 4];
        hex[2 * i + 1] = sl_hex_digits[md[i] & 0x0f];
    }

    OPENSSL_cleanse(md, sizeof(md));

    return SL_OK;
}


int
sl_secret_equal(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen)
{
    if (alen != blen) {
        /* spend the same time as an equal-length comparison would */
        (void) CRYPTO_memcmp(a, a, alen);
        return 0;
    }

    return CRYPTO_memcmp(a, b, alen) == 0;
}


size_t
sl_keyfile_count(const unsigned char *buf, size_t len)
{
    size_t                n;
    const unsigned char  *p, *end, *eol;

    n = 0;
    p = buf;
    end = buf + len;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        p = sl_keyfile_skip_blanks(p, eol);

        if (p < eol && *p != '#' && !(*p == '\r' && p + 1 == eol)) {
            n++;
        }

        p = (eol == end) ? end : eol + 1;
    }

    return n;
}


int
sl_keyfile_parse(const unsigned char *buf, size_t len,
    sl_key_entry_t *entries, size_t max, size_t *n,
    size_t *err_line, const char **err)
{
    int                   rc;
    size_t                line, dup;
    const unsigned char  *p, *end, *eol;
    sl_key_entry_t        entry;

    *n = 0;
    *err_line = 0;
    *err = NULL;

    p = buf;
    end = buf + len;
    rc = SL_OK;

    for (line = 1; p < end; line++) {

        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        rc = sl_keyfile_line(p, eol, &entry, err);

        if (rc == SL_OK) {
            if (*n == max) {
                *err = "too many keys";
                rc = SL_ERROR;
                break;
            }

            entry.line = line;
            entries[(*n)++] = entry;

        } else if (rc != SL_DECLINED) {
            break;
        }

        rc = SL_OK;
        p = (eol == end) ? end : eol + 1;
    }

    OPENSSL_cleanse(&entry, sizeof(entry));

    /*
     * Duplicates are found by sorting, not by comparing each key with all
     * before it, so that a file of many keys loads in n log n.  A duplicate
     * is reported when it comes before the line that failed otherwise, as
     * a reader going down the file would find it.
     */

    dup = sl_keyfile_duplicate(entries, *n);

    if (dup) {
        *err = "duplicate key";
        *err_line = dup;
        return SL_ERROR;
    }

    if (rc != SL_OK) {
        *err_line = line;
        return SL_ERROR;
    }

    return SL_OK;
}


/*
 * Sorts the entries by digest (and line) and returns the first line that
 * repeats a key of an earlier line, 0 if none does.
 */

static size_t
sl_keyfile_duplicate(sl_key_entry_t *entries, size_t n)
{
    size_t  i, first;

    if (n < 2) {
        return 0;
    }

    qsort(entries, n, sizeof(sl_key_entry_t), sl_keyfile_cmp);

    first = 0;

    for (i = 1; i < n; i++) {
        if (memcmp(entries[i - 1].digest, entries[i].digest, SL_DIGEST_HEX)
            == 0
            && (i < 2 || memcmp(entries[i - 2].digest, entries[i].digest,
                                SL_DIGEST_HEX) != 0)
            && (first == 0 || entries[i].line < first))
        {
            /* the second occurrence of a run: sorted by line within it */
            first = entries[i].line;
        }
    }

    return first;
}


static int
sl_keyfile_cmp(const void *one, const void *two)
{
    int                    rc;
    const sl_key_entry_t  *a = one, *b = two;

    rc = memcmp(a->digest, b->digest, SL_DIGEST_HEX);

    if (rc != 0) {
        return rc;
    }

    return (a->line > b->line) - (a->line < b->line);
}


static const unsigned char *
sl_keyfile_skip_blanks(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    return p;
}


/*
 * One line without its '\n': SL_OK fills entry, SL_DECLINED for a blank or
 * comment line, SL_ERROR sets err.
 */

static int
sl_keyfile_line(const unsigned char *p, const unsigned char *end,
    sl_key_entry_t *entry, const char **err)
{
    int                   v;
    size_t                i;
    const unsigned char  *name;

    if (p < end && end[-1] == '\r') {
        end--;
    }

    p = sl_keyfile_skip_blanks(p, end);

    if (p == end || *p == '#') {
        return SL_DECLINED;
    }

    for (i = 0; i < SL_DIGEST_HEX; i++) {
        if (p == end || *p == ' ' || *p == '\t') {
            *err = "key digest is shorter than 64 hex digits";
            return SL_ERROR;
        }

        v = sl_hex_value(*p++);
        if (v < 0) {
            *err = "key digest is not hexadecimal";
            return SL_ERROR;
        }

        entry->digest[i] = sl_hex_digits[v];
    }

    if (p < end && *p != ' ' && *p != '\t') {
        *err = (sl_hex_value(*p) >= 0)
               ? "key digest is longer than 64 hex digits"
               : "key digest is not hexadecimal";
        return SL_ERROR;
    }

    p = sl_keyfile_skip_blanks(p, end);

    if (p == end) {
        *err = "channel name is missing";
        return SL_ERROR;
    }

    name = p;

    while (p < end && *p != ' ' && *p != '\t') {
        p++;
    }

    if (!sl_channel_valid(name, p - name)) {
        *err = "invalid channel name";
        return SL_ERROR;
    }

    memcpy(entry->channel, name, p - name);
    entry->channel[p - name] = '\0';
    entry->channel_len = p - name;

    p = sl_keyfile_skip_blanks(p, end);

    if (p != end) {
        *err = "unexpected text after the channel name";
        return SL_ERROR;
    }

    return SL_OK;
}


static int
sl_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


const sl_key_entry_t *
sl_keyfile_lookup(const sl_key_entry_t *entries, size_t n,
    const unsigned char *hex)
{
    size_t                 i;
    const sl_key_entry_t  *found;

    /* no early exit: the time does not tell which entry matched */

    found = NULL;

    for (i = 0; i < n; i++) {
        if (CRYPTO_memcmp(entries[i].digest, hex, SL_DIGEST_HEX) == 0) {
            found = &entries[i];
        }
    }

    return found;
}
