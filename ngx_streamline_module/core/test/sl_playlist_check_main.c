
/*
 * sl_playlist_check: the playlist checker on the command line, for the
 * integration tests in t/ (t/lib/Streamline/Media.pm).
 *
 *   sl_playlist_check [-m] [-p previous] [file]
 *
 * Checks file (standard input without one, or "-") as a media playlist
 * the module rendered: the rules of RFC 8216 and those of the module's
 * own form (sl_playlist_opts_t.rendered).  -m: as a master playlist
 * instead.  -p: also as a later version of the media playlist in
 * previous, fetched before it: the reload rules, each segment in both
 * kept as it was, dates included.
 *
 * Prints one line a problem, the first word telling which:
 *
 *   playlist line <n>: <rule>      file breaks a rule
 *   previous line <n>: <rule>      previous breaks a rule
 *   reload <rule> (<values>)       the two versions break a reload rule
 *   segment <msn> <rule> (<was> -> <is>)
 *   date segment <msn>: PROGRAM-DATE-TIME <was> (stated|implied) -> ...
 *
 * Versions are only compared when both follow the rules.  Exits 0 when
 * there is no problem, 1 when there is one, 2 on a usage or I/O error.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_playlist_check.h"


/* far beyond a 4-hour playlist (about 300 KB) */
#define SL_CLI_MAX_BYTES  (64 * 1024 * 1024)


typedef struct {
    const char          *name;       /* for messages */
    unsigned char       *text;
    size_t               len;
    sl_playlist_seg_t   *segs;
    sl_playlist_info_t   info;
} sl_cli_playlist_t;


static int sl_cli_read(const char *path, sl_cli_playlist_t *pl);
static int sl_cli_media(sl_cli_playlist_t *pl, const char *kind);
static unsigned sl_cli_compare(sl_cli_playlist_t *prev,
    sl_cli_playlist_t *next);
static void sl_cli_print_duration(uint64_t us);
static void sl_cli_print_segment(const sl_playlist_seg_t *s);
static void sl_cli_print_date(const sl_playlist_seg_t *s);
static void sl_cli_usage(void);


int
main(int argc, char **argv)
{
    int                 rc, opt, master, problems;
    size_t              line;
    const char         *prev_path, *path, *err;
    sl_cli_playlist_t   prev, next;

    master = 0;
    prev_path = NULL;

    while ((opt = getopt(argc, argv, "mp:h")) != -1) {
        switch (opt) {

        case 'm':
            master = 1;
            break;

        case 'p':
            prev_path = optarg;
            break;

        default:
            sl_cli_usage();
            return 2;
        }
    }

    if (argc - optind > 1 || (master && prev_path != NULL)) {
        sl_cli_usage();
        return 2;
    }

    path = (optind < argc) ? argv[optind] : "-";

    memset(&prev, 0, sizeof(sl_cli_playlist_t));
    memset(&next, 0, sizeof(sl_cli_playlist_t));

    if (sl_cli_read(path, &next) != 0
        || (prev_path != NULL && sl_cli_read(prev_path, &prev) != 0))
    {
        free(next.text);
        return 2;
    }

    if (master) {
        problems = (sl_playlist_check_master(next.text, next.len, &line,
                                             &err)
                    != SL_OK);

        if (problems) {
            printf("playlist line %zu: %s\n", line, err);
        }

        free(next.text);
        return problems;
    }

    problems = 0;
    rc = 0;

    if (prev_path != NULL) {
        rc = sl_cli_media(&prev, "previous");
        problems += (rc == 1);
    }

    if (rc != -1) {
        rc = sl_cli_media(&next, "playlist");
        problems += (rc == 1);
    }

    if (rc != -1 && prev_path != NULL && problems == 0) {
        problems += sl_cli_compare(&prev, &next);
    }

    free(prev.text);
    free(prev.segs);
    free(next.text);
    free(next.segs);

    if (rc == -1 || fflush(stdout) != 0) {
        return 2;
    }

    return problems ? 1 : 0;
}


/* the whole file, or standard input for "-" */

static int
sl_cli_read(const char *path, sl_cli_playlist_t *pl)
{
    FILE           *f;
    size_t          n, size;
    unsigned char  *p;

    pl->name = path;

    f = (strcmp(path, "-") == 0) ? stdin : fopen(path, "rb");

    if (f == NULL) {
        fprintf(stderr, "sl_playlist_check: %s: %s\n", path, strerror(errno));
        return -1;
    }

    size = 0;

    for ( ;; ) {
        if (pl->len == size) {
            size = size ? 2 * size : 65536;

            if (size > SL_CLI_MAX_BYTES) {
                fprintf(stderr, "sl_playlist_check: %s: over %d bytes\n",
                        path, SL_CLI_MAX_BYTES);
                goto failed;
            }

            p = realloc(pl->text, size);
            if (p == NULL) {
                fprintf(stderr, "sl_playlist_check: out of memory\n");
                goto failed;
            }

            pl->text = p;
        }

        n = fread(pl->text + pl->len, 1, size - pl->len, f);
        pl->len += n;

        if (n == 0) {
            break;
        }
    }

    if (ferror(f)) {
        fprintf(stderr, "sl_playlist_check: %s: read error\n", path);
        goto failed;
    }

    if (f != stdin) {
        fclose(f);
    }

    return 0;

failed:

    if (f != stdin) {
        fclose(f);
    }

    free(pl->text);
    pl->text = NULL;

    return -1;
}


/*
 * Checks a media playlist and keeps its segments: 0, 1 if it breaks a
 * rule, -1 on an error of the checker's own
 */

static int
sl_cli_media(sl_cli_playlist_t *pl, const char *kind)
{
    size_t               i, lines;
    const char          *err;
    sl_playlist_opts_t   opts;

    /* a segment takes two lines at least: EXTINF and its URI */

    lines = 1;

    for (i = 0; i < pl->len; i++) {
        lines += (pl->text[i] == '\n');
    }

    memset(&opts, 0, sizeof(sl_playlist_opts_t));
    opts.rendered = 1;
    opts.max_segs = lines / 2 + 1;
    opts.segs = calloc(opts.max_segs, sizeof(sl_playlist_seg_t));

    if (opts.segs == NULL) {
        fprintf(stderr, "sl_playlist_check: out of memory\n");
        return -1;
    }

    pl->segs = opts.segs;

    if (sl_playlist_check_opts(pl->text, pl->len, &opts, &pl->info, &err)
        != SL_OK)
    {
        printf("%s line %zu: %s\n", kind, pl->info.line, err);
        return 1;
    }

    return 0;
}


/* the problems of next as a later version of prev */

static unsigned
sl_cli_compare(sl_cli_playlist_t *prev, sl_cli_playlist_t *next)
{
    size_t                     i, n, k;
    uint64_t                   first;
    unsigned                   problems;
    const char                *err, *errs[8];
    sl_playlist_info_t        *a, *b;
    const sl_playlist_seg_t   *s, *o;

    a = &prev->info;
    b = &next->info;

    n = sl_playlist_reload_problems(a, b, errs, 8);

    for (i = 0; i < n && i < 8; i++) {
        printf("reload %s (sequence %llu -> %llu, discontinuity sequence "
               "%llu -> %llu, target %llu -> %llu, last %llu.%lld -> "
               "%llu.%lld, ended %u -> %u)\n", errs[i],
               (unsigned long long) a->media_sequence,
               (unsigned long long) b->media_sequence,
               (unsigned long long) a->discontinuity_sequence,
               (unsigned long long) b->discontinuity_sequence,
               (unsigned long long) a->target_duration,
               (unsigned long long) b->target_duration,
               (unsigned long long) a->last_msn, (long long) a->last_part,
               (unsigned long long) b->last_msn, (long long) b->last_part,
               (unsigned) a->ended, (unsigned) b->ended);
    }

    problems = (unsigned) n;

    if (b->segments == 0) {
        return problems;
    }

    /* the segments listed are numbered one after the other */

    first = next->segs[0].msn;

    for (i = 0; i < a->segments; i++) {
        s = &prev->segs[i];

        if (s->msn < first || s->msn - first >= b->segments) {
            continue;
        }

        k = s->msn - first;
        o = &next->segs[k];

        if (sl_playlist_check_segment(s, o, k == 0, &err) != SL_OK) {
            printf("segment %llu %s (", (unsigned long long) s->msn, err);
            sl_cli_print_segment(s);
            printf(" -> ");
            sl_cli_print_segment(o);
            printf(")\n");
            problems++;
        }

        if (sl_playlist_check_date(s, o, &err) != SL_OK) {
            printf("date segment %llu: PROGRAM-DATE-TIME ",
                   (unsigned long long) s->msn);
            sl_cli_print_date(s);
            printf(" -> ");
            sl_cli_print_date(o);
            printf("\n");
            problems++;
        }
    }

    return problems;
}


/* seconds, with 3 decimals when they say it all */

static void
sl_cli_print_duration(uint64_t us)
{
    if (us % 1000 == 0) {
        printf("%llu.%03llu", (unsigned long long) (us / 1000000),
               (unsigned long long) (us / 1000 % 1000));

    } else {
        printf("%llu.%06llu", (unsigned long long) (us / 1000000),
               (unsigned long long) (us % 1000000));
    }
}


static void
sl_cli_print_segment(const sl_playlist_seg_t *s)
{
    printf("EXTINF ");
    sl_cli_print_duration(s->duration_us);
    printf(" map %.*s dseq %llu%s", (int) s->map_len, (const char *) s->map,
           (unsigned long long) s->dseq,
           s->discontinuity ? " DISCONTINUITY" : "");
}


/* hh:mm:ss.mmm of the day, UTC, and how it is known */

static void
sl_cli_print_date(const sl_playlist_seg_t *s)
{
    uint64_t  ms;

    if (s->pdt_us < 0) {
        printf("none");
        return;
    }

    ms = (uint64_t) s->pdt_us / 1000 % 86400000;

    printf("%02u:%02u:%02u.%03u (%s)", (unsigned) (ms / 3600000),
           (unsigned) (ms / 60000 % 60), (unsigned) (ms / 1000 % 60),
           (unsigned) (ms % 1000), s->pdt_stated ? "stated" : "implied");
}


static void
sl_cli_usage(void)
{
    fprintf(stderr,
            "usage: sl_playlist_check [-m] [-p previous] [file]\n"
            "  checks a media playlist the module rendered (file, or\n"
            "  standard input); -m: a master playlist; -p: also as a\n"
            "  later version of previous.  One line a problem; exit 0:\n"
            "  none, 1: some, 2: usage or I/O error.\n");
}
