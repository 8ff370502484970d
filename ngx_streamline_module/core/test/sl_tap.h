/*
 * A tiny TAP producer shared by the core's unit tests: sl_ok() prints
 * "ok N - ..." or "not ok N - ..." with the file and line of the failing
 * sl_ok() (the caller's: the macro passes them), sl_tap_diag() prints
 * bytes as a TAP comment, sl_tap_done() prints the plan and gives the
 * exit status.
 */

#ifndef SL_TAP_H
#define SL_TAP_H

#include <stdarg.h>
#include <stdio.h>


typedef struct {
    unsigned  n;
    unsigned  failed;
} sl_tap_t;


#define sl_ok(t, cond, ...)                                                   \
    sl_tap_ok(t, (cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)


static int sl_tap_ok(sl_tap_t *t, int ok, const char *file, int line,
    const char *fmt, ...) __attribute__ ((format (printf, 5, 6), unused));
static void sl_tap_diag(const char *name, const unsigned char *p, size_t len)
    __attribute__ ((unused));
static int sl_tap_done(sl_tap_t *t) __attribute__ ((unused));


static int
sl_tap_ok(sl_tap_t *t, int ok, const char *file, int line, const char *fmt,
    ...)
{
    va_list  args;

    t->n++;

    printf("%sok %u - ", ok ? "" : "not ", t->n);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");

    if (!ok) {
        t->failed++;
        printf("#   failed at %s line %d\n", file, line);
    }

    fflush(stdout);

    return ok;
}


/* prints bytes as a TAP comment, escaping what is not printable */

static void
sl_tap_diag(const char *name, const unsigned char *p, size_t len)
{
    size_t  i;

    printf("#   %s: \"", name);

    for (i = 0; i < len; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
            putchar(p[i]);

        } else {
            printf("\\x%02x", p[i]);
        }
    }

    printf("\"\n");
}


/* the plan, at the end; the exit status of the test program */

static int
sl_tap_done(sl_tap_t *t)
{
    printf("1..%u\n", t->n);

    if (t->failed) {
        printf("# %u of %u tests failed\n", t->failed, t->n);
        return 1;
    }

    return 0;
}

#endif /* SL_TAP_H */
