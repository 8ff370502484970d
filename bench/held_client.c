/*
 * bench/held_client.c: the client side of bench/held.pl.
 *
 *   held_client PORT URI_DIR MEDIA_DIR N ROUNDS MSN
 *
 * Opens N keep-alive connections to 127.0.0.1:PORT and, in each of ROUNDS
 * rounds, sends on every one of them
 *
 *   GET URI_DIR/index.m3u8?_HLS_msn=M&_HLS_part=0 HTTP/1.1
 *
 * for the first part of a segment that does not exist yet (M starts at
 * MSN, then the segment after the last one waited for).  The moment the
 * part appears is when inotify reports part-M.0.m4s renamed into
 * MEDIA_DIR (the packager writes a part to a temporary file, renames it,
 * then indexes it).  Each answer's time is when its last byte was read.
 * One thread, epoll, non-blocking sockets; CLOCK_MONOTONIC throughout.
 *
 * Prints a line a round, then the median over the rounds of each figure.
 * Exit status 0 when every round had every request answered with 200 and
 * a playlist listing the part.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "held_util.h"


#define ROUND_TIMEOUT_MS  10000
#define MAX_ROUNDS        100


typedef struct {
    int        fd;
    int        connected;
    int        sent;            /* this round's request is out */
    int        done;            /* this round's answer is in */
    int        ok;              /* 200, and the part is listed */
    double     t_done;
    char      *buf;
    size_t     len;
    size_t     size;
} conn_t;


typedef struct {
    int        held;
    int        answered;
    int        late;            /* requests sent after the part appeared */
    double     ahead_ms;        /* all sent this long before the part */
    double     first, median, p99, last;
} round_t;


/* nearest rank */
static double
pct(const double *v, int n, double p)
{
    int  i;

    if (n == 0) {
        return 0;
    }

    i = (int) (p * n + 0.999999) - 1;

    return v[i < 0 ? 0 : (i >= n ? n - 1 : i)];
}


/* a whole answer in c->buf: 1, with c->ok set; 0: not yet */
static int
parse(conn_t *c, const char *part)
{
    char    *end, *h, *body;
    size_t   hlen;
    long     clen;

    end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (end == NULL) {
        return 0;
    }

    body = end + 4;
    hlen = body - c->buf;
    clen = -1;

    for (h = memchr(c->buf, '\n', hlen); h && h < end;
         h = memchr(h + 1, '\n', end - h))
    {
        if (strncasecmp(h + 1, "Content-Length:", 15) == 0) {
            clen = strtol(h + 16, NULL, 10);
        }
    }

    if (clen < 0) {
        /* every answer here has a length: treat it as a failure */
        c->ok = 0;
        return 1;
    }

    if (c->len < hlen + (size_t) clen) {
        return 0;
    }

    c->ok = strncmp(c->buf, "HTTP/1.1 200 ", 13) == 0
            && memmem(body, clen, part, strlen(part)) != NULL;

    return 1;
}


int
main(int argc, char **argv)
{
    int                  port, n, rounds, ep, in, i, k, r, nready, open_n;
    int                  pending, all_ok, late, shown;
    char                 req[1024], part[64], path[PATH_MAX], *eol;
    char                 evbuf[8192] __attribute__((aligned(8)));
    const char          *uri, *dir;
    long long            msn;
    double               t0, t_sent, t_start, *lat, med[6], bytes;
    double               col[MAX_ROUNDS];
    ssize_t              len, got;
    conn_t              *conns, *c;
    round_t              res[MAX_ROUNDS], *rr;
    struct stat          st;
    struct sockaddr_in   sin;
    struct epoll_event   ev, evs[1024];
    struct inotify_event *ie;

    if (argc != 7) {
        fprintf(stderr, "usage: held_client PORT URI_DIR MEDIA_DIR N ROUNDS"
                " MSN\n");
        return 2;
    }

    port = atoi(argv[1]);
    uri = argv[2];
    dir = argv[3];
    n = atoi(argv[4]);
    rounds = atoi(argv[5]);
    msn = atoll(argv[6]);

    if (n <= 0 || rounds <= 0 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "held_client: bad N or ROUNDS\n");
        return 2;
    }

    conns = calloc(n, sizeof(conn_t));
    lat = calloc(n, sizeof(double));
    ep = epoll_create1(EPOLL_CLOEXEC);
    in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

    if (conns == NULL || lat == NULL || ep < 0 || in < 0
        || inotify_add_watch(in, dir, IN_MOVED_TO) < 0)
    {
        perror("held_client: set-up");
        return 1;
    }

    ev.events = EPOLLIN;
    ev.data.ptr = NULL;                 /* NULL: the inotify descriptor */
    if (epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev) < 0) {
        perror("held_client: epoll_ctl");
        return 1;
    }

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    /* connect all; a request goes out on each once it is connected */

    open_n = 0;

    for (i = 0; i < n; i++) {
        c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       0);
        if (c->fd < 0) {
            perror("held_client: socket");
            break;
        }

        k = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &k, sizeof(k));

        if (connect(c->fd, (struct sockaddr *) &sin, sizeof(sin)) < 0
            && errno != EINPROGRESS)
        {
            perror("held_client: connect");
            close(c->fd);
            c->fd = -1;
            break;
        }

        c->size = 4096;
        c->buf = malloc(c->size);
        if (c->buf == NULL) {
            perror("held_client: malloc");
            return 1;
        }

        ev.events = EPOLLOUT | EPOLLIN;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
            perror("held_client: epoll_ctl");
            return 1;
        }

        open_n++;
    }

    for (; i < n; i++) {
        conns[i].fd = -1;
    }

    all_ok = 1;
    bytes = 0;

    for (r = 0; r < rounds; r++) {

        /* the next segment's first part that is not there yet */
        for ( ;; ) {
            snprintf(part, sizeof(part), "part-%lld.0.m4s", msn);
            snprintf(path, sizeof(path), "%s/%s", dir, part);
            if (stat(path, &st) != 0) {
                break;
            }
            msn++;
        }

        len = snprintf(req, sizeof(req),
                       "GET %s/index.m3u8?_HLS_msn=%lld&_HLS_part=0 HTTP/1.1"
                       "\r\nHost: held\r\n\r\n", uri, msn);

        rr = &res[r];
        memset(rr, 0, sizeof(round_t));
        pending = 0;

        for (i = 0; i < n; i++) {
            c = &conns[i];
            c->sent = c->done = c->ok = 0;
            c->len = 0;

            if (c->fd < 0) {
                continue;
            }

            pending++;

            if (c->connected) {
                if (write(c->fd, req, len) != len) {
                    close(c->fd);
                    c->fd = -1;
                    pending--;
                    continue;
                }

                c->sent = 1;
            }
        }

        t0 = 0;
        t_sent = 0;
        late = 0;
        t_start = now_ms();

        while (pending && now_ms() - t_start < ROUND_TIMEOUT_MS) {
            nready = epoll_wait(ep, evs, 1024, 100);

            for (k = 0; k < nready; k++) {
                c = evs[k].data.ptr;

                if (c == NULL) {
                    while ((got = read(in, evbuf, sizeof(evbuf))) > 0) {
                        for (ie = (struct inotify_event *) evbuf;
                             (char *) ie < evbuf + got;
                             ie = (struct inotify_event *)
                                  ((char *) ie + sizeof(*ie) + ie->len))
                        {
                            if (t0 == 0 && ie->len
                                && strcmp(ie->name, part) == 0)
                            {
                                t0 = now_ms();
                            }
                        }
                    }

                    continue;
                }

                if (!c->connected && (evs[k].events & EPOLLOUT)) {
                    socklen_t  sl = sizeof(i);

                    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &i, &sl) < 0
                        || i != 0)
                    {
                        goto gone;
                    }

                    c->connected = 1;
                    ev.events = EPOLLIN;
                    ev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);

                    if (write(c->fd, req, len) != len) {
                        goto gone;
                    }

                    c->sent = 1;

                    if (t0) {
                        late++;
                    }
                }

                if (!(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                    continue;
                }

                for ( ;; ) {
                    if (c->size - c->len < 2048) {
                        c->size *= 2;
                        c->buf = realloc(c->buf, c->size);
                        if (c->buf == NULL) {
                            perror("held_client: realloc");
                            return 1;
                        }
                    }

                    got = read(c->fd, c->buf + c->len, c->size - c->len);

                    if (got > 0) {
                        c->len += got;
                        continue;
                    }

                    if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
                        break;
                    }

                    goto gone;
                }

                if (!c->done && c->sent && parse(c, part)) {
                    c->t_done = now_ms();
                    c->done = 1;
                    pending--;
                }

                continue;

            gone:

                if (!c->done && c->sent && parse(c, part)) {
                    c->t_done = now_ms();
                    c->done = 1;
                    pending--;
                }

                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;

                if (!c->done) {
                    pending--;
                }
            }

            /* all sent: the first moment every live connection has it */
            if (t_sent == 0) {
                for (i = 0; i < n; i++) {
                    if (conns[i].fd >= 0 && !conns[i].sent) {
                        break;
                    }
                }

                if (i == n) {
                    t_sent = now_ms();
                }
            }
        }

        /* a last look at inotify: the part may have come with no answer */
        while (t0 == 0 && (got = read(in, evbuf, sizeof(evbuf))) > 0) {
            for (ie = (struct inotify_event *) evbuf;
                 (char *) ie < evbuf + got;
                 ie = (struct inotify_event *)
                      ((char *) ie + sizeof(*ie) + ie->len))
            {
                if (ie->len && strcmp(ie->name, part) == 0) {
                    t0 = now_ms();
                }
            }
        }

        k = 0;
        shown = 0;

        for (i = 0; i < n; i++) {
            c = &conns[i];

            if (c->sent) {
                rr->held++;
            }

            if (c->done && c->ok) {
                rr->answered++;
                bytes += c->len;
                lat[k++] = c->t_done - t0;

            } else if (c->done && !shown) {
                /* the first wrong answer of a round, for the diagnosis */
                eol = memchr(c->buf, '\r', c->len);
                fprintf(stderr, "held_client: round %d: unexpected answer:"
                        " \"%.*s\"\n", r + 1,
                        eol ? (int) (eol - c->buf) : 0, c->buf);
                shown = 1;
            }
        }

        qsort(lat, k, sizeof(double), cmp_double);

        rr->late = late;
        rr->ahead_ms = t0 && t_sent ? t0 - t_sent : 0;
        rr->first = pct(lat, k, 0);
        rr->median = pct(lat, k, 0.5);
        rr->p99 = pct(lat, k, 0.99);
        rr->last = k ? lat[k - 1] : 0;

        printf("round %d: part-%lld.0: %d held, %d answered 200 listing it,"
               " %d sent late; all sent %.0f ms before it appeared;"
               " answers after it: first %.1f, median %.1f, p99 %.1f,"
               " last %.1f ms\n",
               r + 1, msn, rr->held, rr->answered, rr->late, rr->ahead_ms,
               rr->first, rr->median, rr->p99, rr->last);
        fflush(stdout);

        if (t0 == 0 || rr->answered != open_n || rr->late) {
            all_ok = 0;
        }

        msn++;

        if (rr->held == 0) {
            fprintf(stderr, "held_client: no connection left\n");
            rounds = r + 1;
            break;
        }
    }

    /* medians over the rounds */
    for (k = 0; k < 6; k++) {
        for (r = 0; r < rounds; r++) {
            rr = &res[r];
            col[r] = k == 0 ? rr->held : k == 1 ? rr->answered
                     : k == 2 ? rr->first : k == 3 ? rr->median
                     : k == 4 ? rr->p99 : rr->last;
        }

        qsort(col, rounds, sizeof(double), cmp_double);
        med[k] = rounds % 2 ? col[rounds / 2]
                            : (col[rounds / 2 - 1] + col[rounds / 2]) / 2;
    }

    for (r = 0, k = 0; r < rounds; r++) {
        k += res[r].answered;
    }

    printf("held %d (of %d opened), answers of %.0f bytes: median over %d"
           " rounds: first %.1f ms, median %.1f ms, p99 %.1f ms, last %.1f ms"
           " (goal: last within 10 ms)\n",
           (int) med[0], open_n, k ? bytes / k : 0, rounds, med[2], med[3],
           med[4], med[5]);

    return all_ok ? 0 : 1;
}
