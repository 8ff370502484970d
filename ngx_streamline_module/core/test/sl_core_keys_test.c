/*
 * Unit tests of the core, continued (see sl_core_test.c): stream keys,
 * their digests, the constant-time compare, the keys file.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_core_test.h"


static sl_key_entry_t *sl_keyfile_entry(sl_key_entry_t *e, size_t n,
    const char *digest);


void
test_key_valid(sl_tap_t *t)
{
    size_t         i;
    unsigned char  key[SL_KEY_MAX + 1];

    static const char  bad[] = " /?&#%\x7f\x80\xff\t\r\n";

    memset(key, 'k', sizeof(key));

    sl_ok(t, sl_key_valid(key, SL_KEY_MIN), "key: 8 bytes");
    sl_ok(t, !sl_key_valid(key, SL_KEY_MIN - 1), "key: 7 bytes rejected");
    sl_ok(t, sl_key_valid(key, SL_KEY_MAX), "key: 256 bytes");
    sl_ok(t, !sl_key_valid(key, SL_KEY_MAX + 1), "key: 257 bytes rejected");
    sl_ok(t, !sl_key_valid(key, 0), "key: empty rejected");
    sl_ok(t, sl_key_valid(sl_str("!\"$'()*+,-.:;<=>@[\\]^_`{|}~09azAZ")),
          "key: punctuation allowed");

    for (i = 0; i < sizeof(bad) - 1; i++) {
        key[3] = bad[i];
        sl_ok(t, !sl_key_valid(key, 16), "key: byte 0x%02x rejected",
              (unsigned char) bad[i]);
    }

    key[3] = '\0';
    sl_ok(t, !sl_key_valid(key, 16), "key: NUL rejected");
}


void
test_key_digest(sl_tap_t *t)
{
    unsigned char  hex[SL_DIGEST_HEX + 1];

    hex[SL_DIGEST_HEX] = '#';

    sl_ok(t, sl_key_digest_hex(sl_str("abc"), hex) == SL_OK
          && memcmp(hex, "ba7816bf8f01cfea414140de5dae2223"
                         "b00361a396177a9cb410ff61f20015ad",
                    SL_DIGEST_HEX) == 0,
          "digest: sha256(\"abc\")");

    sl_ok(t, hex[SL_DIGEST_HEX] == '#', "digest: writes 64 bytes only");

    sl_ok(t, sl_key_digest_hex((const unsigned char *) "", 0, hex) == SL_OK
          && memcmp(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                         "27ae41e4649b934ca495991b7852b855",
                    SL_DIGEST_HEX) == 0,
          "digest: sha256(\"\")");
}


void
test_secret_equal(sl_tap_t *t)
{
    sl_ok(t, sl_secret_equal(sl_str("secret"), sl_str("secret")) == 1,
          "secret: equal");
    sl_ok(t, sl_secret_equal(sl_str("secret"), sl_str("secreT")) == 0,
          "secret: last byte differs");
    sl_ok(t, sl_secret_equal(sl_str("Secret"), sl_str("secret")) == 0,
          "secret: first byte differs");
    sl_ok(t, sl_secret_equal(sl_str("secret"), sl_str("secret2")) == 0,
          "secret: longer b is unequal");
    sl_ok(t, sl_secret_equal(sl_str("secret2"), sl_str("secret")) == 0,
          "secret: shorter b is unequal");
    sl_ok(t, sl_secret_equal(sl_str(""), sl_str("x")) == 0,
          "secret: empty vs one byte");
    sl_ok(t, sl_secret_equal(sl_str(""), sl_str("")) == 1,
          "secret: both empty");
}


#define D1  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define D1U "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
#define D2  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define D3  "b5e56216416cf14fc8e23f2f932734f3ce6fd6ea6dcc6feec2752344b3b0e74e"


void
test_keyfile(sl_tap_t *t)
{
    int             rc;
    size_t          n, line;
    const char     *err;
    sl_key_entry_t  e[4], *k1, *k2, *k3;

    static const char  good[] =
        "# streamline keys\n"
        "\n"
        D1 " main\n"
        "   # indented comment\n"
        D2 "\tbackup-2\n"
        " \t\n"
        D3 "   studio_B   \n";

    static const char  crlf[] =
        "# windows\r\n"
        D1U " main\r\n"
        "\r\n"
        D2 " other\r\n";

    static const char  no_eol[] = D1 " main";

    rc = sl_keyfile_parse(sl_str(good), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_OK && n == 3, "keyfile: good file, 3 entries");
    k1 = sl_keyfile_entry(e, n, D1);
    k2 = sl_keyfile_entry(e, n, D2);
    k3 = sl_keyfile_entry(e, n, D3);
    sl_ok(t, n == 3 && k1 && k2 && k3
          && k1->channel_len == 4 && strcmp((char *) k1->channel, "main") == 0
          && k1->line == 3
          && strcmp((char *) k2->channel, "backup-2") == 0 && k2->line == 5
          && k3->channel_len == 8
          && strcmp((char *) k3->channel, "studio_B") == 0 && k3->line == 7,
          "keyfile: entries, tab separator, trailing blanks");
    sl_ok(t, n == 3 && memcmp(e[0].digest, D3, 64) == 0
          && memcmp(e[1].digest, D1, 64) == 0
          && memcmp(e[2].digest, D2, 64) == 0,
          "keyfile: entries sorted by digest");

    rc = sl_keyfile_parse(sl_str(crlf), e, 4, &n, &line, &err);
    k1 = sl_keyfile_entry(e, n, D1);
    k2 = sl_keyfile_entry(e, n, D2);
    sl_ok(t, rc == SL_OK && n == 2 && k1 && k2
          && strcmp((char *) k1->channel, "main") == 0
          && k2->channel_len == 5,
          "keyfile: CRLF, uppercase hex stored lowercase");

    rc = sl_keyfile_parse(sl_str(no_eol), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_OK && n == 1 && e[0].channel_len == 4,
          "keyfile: last line without newline");

    rc = sl_keyfile_parse(sl_str(""), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_OK && n == 0, "keyfile: empty file has no keys");

    rc = sl_keyfile_parse(sl_str("# none\n\n"), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_OK && n == 0, "keyfile: comments only");

    rc = sl_keyfile_parse(sl_str(D1 " main\n" D2 " b\n"), e, 2, &n, &line,
                          &err);
    sl_ok(t, rc == SL_OK && n == 2, "keyfile: exactly max entries");
}


void
test_keyfile_errors(sl_tap_t *t)
{
    int             rc;
    size_t          i, n, line;
    const char     *err;
    sl_key_entry_t  e[2];

    static const struct {
        const char  *name;
        const char  *text;
        size_t       len;
        size_t       line;
    } cases[] = {
        { "bad hex",
          "# x\n" "g" D1 " main\n", 0, 2 },
        { "bad hex at the end",
          D1 " a\n"
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015az"
          " main\n", 0, 2 },
        { "short hex",
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"
          " main\n", 0, 1 },
        { "long hex",
          D1 "0 main\n", 0, 1 },
        { "missing channel",
          D1 "\n", 0, 1 },
        { "missing channel after blanks",
          D1 "  \t \r\n", 0, 1 },
        { "invalid channel",
          D1 " ma.in\n", 0, 1 },
        { "channel of 65 bytes",
          D1 " " A32 A32 "a\n", 0, 1 },
        { "trailing junk",
          "\n\n" D1 " main junk\n", 0, 3 },
        { "trailing comment",
          D1 " main # note\n", 0, 1 },
        { "too many entries",
          D1 " a\n" D2 " b\n" D3 " c\n", 0, 3 },
        { "duplicate key",
          D1 " a\n" D1U " b\n", 0, 2 },
        { "duplicate key before a bad line",
          D1 " a\n" D1 " b\nxyz\n", 0, 2 },
        { "bad line before a duplicate key",
          D1 " a\nxyz\n" D1 " b\n", 0, 2 },
        { "NUL inside",
          D1 " ma\0in\n", sizeof(D1 " ma\0in\n") - 1, 1 },
        { "NUL line",
          D1 " a\n\0\n", sizeof(D1 " a\n\0\n") - 1, 2 },
        { "CR inside",
          D1 " ma\rin\n", 0, 1 },
        { "only a digest prefix",
          "ba78\n", 0, 1 },
        { "colon separator",
          D1 ":main\n", 0, 1 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err = NULL;
        line = 0;

        rc = sl_keyfile_parse((const unsigned char *) cases[i].text,
                              cases[i].len ? cases[i].len
                                           : strlen(cases[i].text),
                              e, 2, &n, &line, &err);

        sl_ok(t, rc == SL_ERROR && line == cases[i].line && err != NULL,
              "keyfile: %s rejected at line %zu (%s)", cases[i].name, line,
              err ? err : "no reason");
    }
}


void
test_keyfile_lookup(sl_tap_t *t)
{
    int                    rc;
    size_t                 n, line;
    const char            *err;
    unsigned char          hex[SL_DIGEST_HEX];
    sl_key_entry_t         e[4];
    const sl_key_entry_t  *found;

    static const char  keys[] = D1 " main\n" D3 " studio\n" D2 " empty\n";

    rc = sl_keyfile_parse(sl_str(keys), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_OK && n == 3, "lookup: keys parsed");

    (void) sl_key_digest_hex(sl_str("obs-secret-key-1"), hex);
    found = sl_keyfile_lookup(e, n, hex);
    sl_ok(t, found && strcmp((char *) found->channel, "studio") == 0,
          "lookup: key maps to its channel");

    (void) sl_key_digest_hex(sl_str("abc"), hex);
    found = sl_keyfile_lookup(e, n, hex);
    sl_ok(t, found && strcmp((char *) found->channel, "main") == 0,
          "lookup: another key, another channel");

    (void) sl_key_digest_hex(sl_str("obs-secret-key-2"), hex);
    sl_ok(t, sl_keyfile_lookup(e, n, hex) == NULL, "lookup: unknown key");

    sl_ok(t, sl_keyfile_lookup(e, 0, hex) == NULL, "lookup: no entries");

    memcpy(hex, D1U, SL_DIGEST_HEX);
    sl_ok(t, sl_keyfile_lookup(e, n, hex) == NULL,
          "lookup: uppercase digest is not a stored digest");
}


void
test_keyfile_count(sl_tap_t *t)
{
    int             rc;
    size_t          n, line;
    const char     *err;
    sl_key_entry_t  e[4];

    static const char  keys[] =
        "# comment\n"
        "  \t# indented comment\n"
        "\n"
        " \t\r\n"
        D1 " main\n"
        D2 " main\r\n"
        D3 " other";

    static const char  dups[] =
        D2 " a\n" D1 " a\n" D1 " b\n" D2 " b\n";

    sl_ok(t, sl_keyfile_count(sl_str(keys)) == 3,
          "keyfile count: 3 keys among comments and blank lines");
    sl_ok(t, sl_keyfile_count(sl_str("")) == 0, "keyfile count: empty");
    sl_ok(t, sl_keyfile_count(sl_str("junk\n# c\nmore junk")) == 2,
          "keyfile count: lines that will not parse count too");

    rc = sl_keyfile_parse(sl_str(dups), e, 4, &n, &line, &err);
    sl_ok(t, rc == SL_ERROR && line == 3 && err
          && strcmp(err, "duplicate key") == 0,
          "keyfile: the first line that repeats a key is reported");
}


/*
 * 65536 keys (the most the module reads) that share all but their last
 * digits: comparing each with every earlier one took about 2^31 long
 * comparisons.  The bound is CPU time and far above what sorting takes.
 */

void
test_keyfile_large(sl_tap_t *t)
{
    int              rc;
    char            *p;
    size_t           i, n, max, line, len;
    clock_t          start;
    double           cpu;
    const char      *err;
    unsigned char   *buf;
    sl_key_entry_t  *e;

    max = 65536;
    len = max * (SL_DIGEST_HEX + sizeof(" ch-00000\n") - 1);

    buf = malloc(len + 1);
    e = malloc(max * sizeof(sl_key_entry_t));

    if (buf == NULL || e == NULL) {
        sl_ok(t, 0, "keyfile large: memory");
        free(buf);
        free(e);
        return;
    }

    p = (char *) buf;

    for (i = 0; i < max; i++) {
        /* from the last key to the first: the sort has work to do */
        p += sprintf(p, "%.59s%05zx ch-%05zu\n", D1, max - 1 - i, i);
    }

    sl_ok(t, (size_t) (p - (char *) buf) == len
          && sl_keyfile_count(buf, len) == max,
          "keyfile large: %zu keys counted", max);

    start = clock();
    rc = sl_keyfile_parse(buf, len, e, max, &n, &line, &err);
    cpu = (double) (clock() - start) / CLOCKS_PER_SEC;

    sl_ok(t, rc == SL_OK && n == max, "keyfile large: %zu keys parsed", n);
    sl_ok(t, cpu < 1.0, "keyfile large: parsed in %.3f s of CPU", cpu);
    sl_ok(t, n == max && strcmp((char *) e[0].channel, "ch-65535") == 0
          && e[0].line == max,
          "keyfile large: sorted by digest");

    /* one duplicate at the very end */
    memcpy(buf + len - (SL_DIGEST_HEX + 10), buf, SL_DIGEST_HEX);

    start = clock();
    rc = sl_keyfile_parse(buf, len, e, max, &n, &line, &err);
    cpu = (double) (clock() - start) / CLOCKS_PER_SEC;

    sl_ok(t, rc == SL_ERROR && line == max && err
          && strcmp(err, "duplicate key") == 0,
          "keyfile large: duplicate on the last line found (%.3f s)", cpu);

    free(buf);
    free(e);
}


static sl_key_entry_t *
sl_keyfile_entry(sl_key_entry_t *e, size_t n, const char *digest)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (memcmp(e[i].digest, digest, SL_DIGEST_HEX) == 0) {
            return &e[i];
        }
    }

    return NULL;
}
