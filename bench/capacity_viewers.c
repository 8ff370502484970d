/*
 * bench/capacity_viewers.c: LL-HLS viewers for bench/capacity.sh.
 *
 *   capacity_viewers HOST:PORT HLS_URI MEDIA_DIR VIEWERS WARMUP SECONDS
 *
 *   e.g. capacity_viewers 127.0.0.1:8081 /hls/ch1 /tmp/x/media/ch1 500 5 40
 *
 * VIEWERS players of one channel, spread over its renditions in turn (the
 * master playlist's order), each the way an LL-HLS player at the live
 * edge behaves, over two keep-alive connections of its own:
 *
 *   playlists: GET <r>/index.m3u8 once, then blocking reloads
 *              GET <r>/index.m3u8?_HLS_msn=M&_HLS_part=P&_HLS_skip=YES
 *              for the part named by the last answer's EXT-X-PRELOAD-HINT
 *              (held by the origin until that part exists);
 *   parts:     GET <r>/part-M.P.m4s for that same preload hint as soon as
 *              a playlist names it (held until it is written), then the
 *              next hint once a playlist has named it.  A hinted part
 *              that a segment's end made void (the keyframe came first:
 *              the origin answers 404 once the next segment begins) is
 *              counted apart, not as an error, as players let it go.
 *
 * A part's write time is when inotify reports part-M.P.m4s renamed into
 * MEDIA_DIR/<rendition> (the packager writes a part under a temporary
 * name, renames it, then indexes it); a part's lateness is from then to
 * the last byte of its answer at the viewer.  One thread, epoll,
 * non-blocking sockets, CLOCK_MONOTONIC.
 *
 * Runs WARMUP + SECONDS seconds; counts only the last SECONDS (the
 * window).  Prints one line of NAME=VALUE figures (see the end of main),
 * and exits 0, or 1 when it could not start (no master playlist, ...).
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "held_util.h"


#define MAX_RENDITIONS   16
#define PART_RING        16384         /* part write times, per rendition */
#define REQ_TIMEOUT_MS   15000         /* the edge holds 6 s at most */
#define RETRY_MS         200           /* after an error answer */
#define MAX_SAMPLES      (8 * 1024 * 1024)


enum { PLAYLIST = 0, PART = 1 };

enum { K_PLAYLIST = 0, K_BLOCKING, K_PART, K_KINDS };


typedef struct {
    char        name[64];
    int         wd;
    uint64_t    key[PART_RING];        /* msn * 64 + part + 1; 0: empty */
    double      t[PART_RING];
    uint64_t    written;               /* parts written in the window */
} rendition_t;


typedef struct viewer_s  viewer_t;

typedef struct {
    viewer_t   *v;
    int         role;                  /* PLAYLIST or PART */
    int         fd;
    int         connected;
    int         busy;                  /* a request is out */
    int         kind;                  /* K_* of that request */
    double      t_sent;
    double      t_retry;               /* idle until then (after an error) */
    uint64_t    msn;                   /* the part asked for (PART) */
    uint32_t    part;
    char        req[512];
    size_t      req_len;
    char       *buf;
    size_t      len;
    size_t      size;
} conn_t;


struct viewer_s {
    int         r;                     /* rendition */
    int         have_hint;
    uint64_t    hint_msn;              /* the latest preload hint */
    uint32_t    hint_part;
    int         fetched_any;
    uint64_t    got_msn;               /* the last part fetched */
    uint32_t    got_part;
    uint64_t    parts;                 /* parts received in the window */
    conn_t      c[2];
};


static struct sockaddr_in   peer;
static const char          *base_uri;
static rendition_t          rends[MAX_RENDITIONS];
static int                  nrends;
static int                  ep, inotify_fd;
static double               t_window, t_end;
static double               part_target_ms;

/* the window's figures */
static uint64_t             req_ok[K_KINDS], req_err[K_KINDS];
static uint64_t             timeouts, reconnects, unknown_parts, void_hints;
static uint64_t             status_4xx, status_5xx, status_other;
static double               bytes;
static double              *late;
static size_t               nlate;
static double               inflight_sum, inflight_max;
static uint64_t             inflight_samples, inflight_now;


static int
in_window(double t)
{
    return t >= t_window && t < t_end;
}


static uint64_t
part_key(uint64_t msn, uint32_t part)
{
    return msn * 64 + part + 1;
}


static void
part_written(rendition_t *r, uint64_t msn, uint32_t part, double t)
{
    uint64_t  k = part_key(msn, part);
    size_t    i = k % PART_RING;

    r->key[i] = k;
    r->t[i] = t;

    if (in_window(t)) {
        r->written++;
    }
}


static double
part_time(rendition_t *r, uint64_t msn, uint32_t part)
{
    uint64_t  k = part_key(msn, part);
    size_t    i = k % PART_RING;

    return r->key[i] == k ? r->t[i] : -1;
}


static void
read_inotify(int in)
{
    char                   evbuf[16384] __attribute__((aligned(8)));
    ssize_t                got;
    struct inotify_event  *ie;
    unsigned long long     msn;
    unsigned               part;
    int                    i, n;
    double                 now;

    while ((got = read(in, evbuf, sizeof(evbuf))) > 0) {
        now = now_ms();

        for (ie = (struct inotify_event *) evbuf; (char *) ie < evbuf + got;
             ie = (struct inotify_event *) ((char *) ie + sizeof(*ie)
                                            + ie->len))
        {
            if (ie->len == 0
                || sscanf(ie->name, "part-%llu.%u.m4s%n", &msn, &part, &n)
                   != 2
                || ie->name[n] != '\0')
            {
                continue;
            }

            for (i = 0; i < nrends; i++) {
                if (rends[i].wd == ie->wd) {
                    part_written(&rends[i], msn, part, now);
                }
            }
        }
    }
}


/* a whole answer in c->buf: its length, the body's offset and length
 * (chunked bodies are decoded in place); 0: not yet; -1: malformed */
static ssize_t
whole(conn_t *c, int *status, char **body, size_t *blen)
{
    char     *end, *h, *p, *q, *e;
    size_t    hlen, n, out, total;
    long      clen;
    int       chunked;

    end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (end == NULL) {
        return 0;
    }

    if (c->len < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0) {
        return -1;
    }

    *status = atoi(c->buf + 9);
    hlen = end + 4 - c->buf;
    clen = -1;
    chunked = 0;

    for (h = memchr(c->buf, '\n', hlen); h && h < end;
         h = memchr(h + 1, '\n', end - h))
    {
        if (strncasecmp(h + 1, "Content-Length:", 15) == 0) {
            clen = strtol(h + 16, NULL, 10);

        } else if (strncasecmp(h + 1, "Transfer-Encoding:", 18) == 0
                   && memmem(h, end - h, "chunked", 7) != NULL)
        {
            chunked = 1;
        }
    }

    if (!chunked) {
        if (clen < 0) {
            return -1;                 /* every answer here has a length */
        }

        if (c->len < hlen + (size_t) clen) {
            return 0;
        }

        *body = c->buf + hlen;
        *blen = clen;
        return hlen + clen;
    }

    /* chunked: see that every chunk is in, then move their data
     * together in place */
    p = c->buf + hlen;
    e = c->buf + c->len;

    for ( ;; ) {
        q = memmem(p, e - p, "\r\n", 2);
        if (q == NULL) {
            return 0;
        }

        n = strtoul(p, NULL, 16);

        if (n == 0) {
            if (e - (q + 2) < 2) {
                return 0;
            }
            break;                     /* no trailers here */
        }

        if ((size_t) (e - (q + 2)) < n + 2) {
            return 0;
        }

        p = q + 2 + n + 2;
    }

    total = c->len;
    p = c->buf + hlen;
    out = 0;

    for ( ;; ) {
        q = memmem(p, e - p, "\r\n", 2);
        n = strtoul(p, NULL, 16);

        if (n == 0) {
            break;
        }

        memmove(c->buf + hlen + out, q + 2, n);
        out += n;
        p = q + 2 + n + 2;
    }

    *body = c->buf + hlen;
    *blen = out;
    return total;
}


static int
parse_hint(const char *body, size_t blen, uint64_t *msn, uint32_t *part)
{
    const char          *h;
    unsigned long long   m;
    unsigned             p;
    static const char  hint[] = "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-";

    h = memmem(body, blen, hint, sizeof(hint) - 1);
    if (h == NULL
        || sscanf(h + sizeof(hint) - 1, "%llu.%u.m4s", &m, &p) != 2)
    {
        return 0;
    }

    *msn = m;
    *part = p;
    return 1;
}


static void
conn_close(conn_t *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }

    c->fd = -1;
    c->connected = 0;
    c->len = 0;

    if (c->busy) {
        c->busy = 0;
        inflight_now--;
    }
}


static int
conn_open(conn_t *c)
{
    struct epoll_event  ev;
    int                 one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        return -1;
    }

    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (connect(c->fd, (struct sockaddr *) &peer, sizeof(peer)) < 0
        && errno != EINPROGRESS)
    {
        close(c->fd);
        c->fd = -1;
        return -1;
    }

    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->connected = 0;

    return 0;
}


static void
conn_send(conn_t *c, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conn_send(conn_t *c, int kind, const char *fmt, ...)
{
    va_list  ap;
    char     path[400];

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);

    c->req_len = snprintf(c->req, sizeof(c->req),
                          "GET %s HTTP/1.1\r\nHost: viewers\r\n\r\n", path);
    c->kind = kind;
    c->busy = 1;
    c->len = 0;
    c->t_sent = now_ms();
    inflight_now++;

    if (c->fd < 0 && conn_open(c) < 0) {
        return;                        /* retried by the timeout */
    }

    if (c->connected
        && write(c->fd, c->req, c->req_len) != (ssize_t) c->req_len)
    {
        conn_close(c);
    }
}


static void
playlist_next(viewer_t *v)
{
    conn_t  *c = &v->c[PLAYLIST];

    if (v->have_hint) {
        conn_send(c, K_BLOCKING,
                  "%s/%s/index.m3u8?_HLS_msn=%llu&_HLS_part=%u&_HLS_skip=YES",
                  base_uri, rends[v->r].name,
                  (unsigned long long) v->hint_msn, v->hint_part);
    } else {
        conn_send(c, K_PLAYLIST, "%s/%s/index.m3u8", base_uri,
                  rends[v->r].name);
    }
}


/* the part connection asks for the latest hint, unless it has it */
static void
part_next(viewer_t *v)
{
    conn_t  *c = &v->c[PART];

    if (c->busy || !v->have_hint || now_ms() < c->t_retry) {
        return;
    }

    if (v->fetched_any && v->got_msn == v->hint_msn
        && v->got_part == v->hint_part)
    {
        return;                        /* wait for the next playlist */
    }

    c->msn = v->hint_msn;
    c->part = v->hint_part;
    conn_send(c, K_PART, "%s/%s/part-%llu.%u.m4s", base_uri,
              rends[v->r].name, (unsigned long long) c->msn, c->part);
}


static void
answered(conn_t *c, int status, char *body, size_t blen, size_t total)
{
    viewer_t  *v = c->v;
    double     now = now_ms(), tw;
    int        win = in_window(now);
    uint64_t   m;
    uint32_t   p;
    char      *t;

    if (win) {
        bytes += total;

        if (status == 404 && c->kind == K_PART) {
            /* a preload hint that the segment's end made void: the
             * segment ended (a keyframe) before the hinted part, which
             * will never exist; players let it go */
            void_hints++;

        } else if (status == 200) {
            req_ok[c->kind]++;
        } else {
            req_err[c->kind]++;
            if (status >= 400 && status < 500) {
                status_4xx++;
            } else if (status >= 500) {
                status_5xx++;
            } else {
                status_other++;
            }
        }
    }

    if (c->role == PLAYLIST) {
        if (part_target_ms == 0 && status == 200
            && (t = memmem(body, blen, "PART-TARGET=", 12)) != NULL)
        {
            part_target_ms = strtod(t + 12, NULL) * 1000;
        }

        if (status == 200 && parse_hint(body, blen, &m, &p)) {
            v->hint_msn = m;
            v->hint_part = p;
            v->have_hint = 1;
            playlist_next(v);
            part_next(v);

        } else {
            /* an error (a 503 after 3 target durations, ...): a plain
             * reload, a little later */
            v->have_hint = 0;
            c->t_retry = now + RETRY_MS;
        }

        return;
    }

    /* PART */

    if (status == 404) {
        /* a void hint (above): the next playlist names the next part */
        v->fetched_any = 1;
        v->got_msn = c->msn;
        v->got_part = c->part;
        part_next(v);
        return;
    }

    if (status != 200) {
        c->t_retry = now + RETRY_MS;
        return;
    }

    v->fetched_any = 1;
    v->got_msn = c->msn;
    v->got_part = c->part;

    if (win) {
        v->parts++;
        tw = part_time(&rends[v->r], c->msn, c->part);

        if (tw < 0) {
            read_inotify(inotify_fd);  /* its event may not be read yet */
            tw = part_time(&rends[v->r], c->msn, c->part);
        }

        if (tw < 0) {
            unknown_parts++;
        } else if (nlate < MAX_SAMPLES) {
            late[nlate++] = now - tw;
        }
    }

    part_next(v);
}


static void
on_event(conn_t *c, uint32_t events)
{
    struct epoll_event  ev;
    ssize_t             got, n;
    int                 err, status, eof;
    socklen_t           sl;
    char               *body;
    size_t              blen;

    if (!c->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        sl = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0
            || err != 0)
        {
            conn_close(c);
            reconnects++;
            return;
        }

        c->connected = 1;
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);

        if (c->busy
            && write(c->fd, c->req, c->req_len) != (ssize_t) c->req_len)
        {
            conn_close(c);
            return;
        }
    }

    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        return;
    }

    eof = 0;

    for ( ;; ) {
        if (c->size - c->len < 16384) {
            c->size *= 2;
            c->buf = realloc(c->buf, c->size);
            if (c->buf == NULL) {
                perror("capacity_viewers: realloc");
                exit(1);
            }
        }

        got = read(c->fd, c->buf + c->len, c->size - c->len - 1);

        if (got > 0) {
            c->len += got;
            continue;
        }

        if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
            break;
        }

        eof = 1;                       /* the server let the connection go */
        break;
    }

    n = c->busy ? whole(c, &status, &body, &blen) : 0;

    if (n > 0) {
        c->busy = 0;
        inflight_now--;
        if (eof) {
            conn_close(c);             /* the next request reconnects */
        }
        c->len = 0;
        answered(c, status, body, blen, n);
        /* one answer at a time on a connection: nothing follows it */

    } else if (n < 0 || eof) {
        conn_close(c);                 /* a busy one is asked again */
        reconnects++;

    } else if (!c->busy) {
        c->len = 0;
    }

    if (eof && c->fd >= 0 && c->connected && !c->busy) {
        conn_close(c);
    }
}


/* blocking, once: the master playlist's renditions */
static int
master(const char *host_port)
{
    int      fd, n;
    char     buf[65536], *p, *q, *end;
    size_t   len = 0;
    ssize_t  got;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) &peer, sizeof(peer)) < 0) {
        fprintf(stderr, "capacity_viewers: cannot connect to %s\n",
                host_port);
        return -1;
    }

    n = snprintf(buf, sizeof(buf), "GET %s/master.m3u8 HTTP/1.0\r\n"
                 "Host: viewers\r\n\r\n", base_uri);
    if (write(fd, buf, n) != n) {
        close(fd);
        return -1;
    }

    while (len < sizeof(buf) - 1
           && (got = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
    {
        len += got;
    }

    close(fd);
    buf[len] = '\0';

    if (strncmp(buf, "HTTP/1.1 200", 12) != 0
        && strncmp(buf, "HTTP/1.0 200", 12) != 0)
    {
        fprintf(stderr, "capacity_viewers: master playlist: %.40s\n", buf);
        return -1;
    }

    /* the variants' URIs: "<rendition>/index.m3u8" */
    for (p = strstr(buf, "\r\n\r\n"); p && *p; p = end) {
        end = strchr(p, '\n');
        end = end ? end + 1 : p + strlen(p);

        if (*p == '#' || *p == '\r' || *p == '\n') {
            continue;
        }

        q = strstr(p, "/index.m3u8");
        if (q == NULL || q > end || nrends == MAX_RENDITIONS
            || q - p >= (ptrdiff_t) sizeof(rends[0].name))
        {
            continue;
        }

        memcpy(rends[nrends].name, p, q - p);
        rends[nrends].name[q - p] = '\0';
        nrends++;
    }

    return nrends ? 0 : -1;
}


int
main(int argc, char **argv)
{
    int                  i, k, nv, in, nready, ru_taken;
    char                 path[PATH_MAX], host[64], *colon;
    double               warmup, secs, now, next_sample, t_first;
    viewer_t            *vs, *v;
    conn_t              *c;
    struct epoll_event   ev, evs[1024];
    struct rusage        ru0, ru1;
    uint64_t             min_parts, written, req_total, errors;
    double               cpu, ratio, min_ratio;
    size_t               within;

    if (argc != 7) {
        fprintf(stderr, "usage: capacity_viewers HOST:PORT HLS_URI MEDIA_DIR"
                " VIEWERS WARMUP SECONDS\n");
        return 2;
    }

    snprintf(host, sizeof(host), "%s", argv[1]);
    colon = strrchr(host, ':');
    if (colon == NULL) {
        fprintf(stderr, "capacity_viewers: HOST:PORT\n");
        return 2;
    }
    *colon = '\0';

    memset(&peer, 0, sizeof(peer));
    peer.sin_family = AF_INET;
    peer.sin_port = htons(atoi(colon + 1));
    if (inet_pton(AF_INET, host, &peer.sin_addr) != 1) {
        fprintf(stderr, "capacity_viewers: bad address %s\n", host);
        return 2;
    }

    base_uri = argv[2];
    nv = atoi(argv[4]);
    warmup = atof(argv[5]) * 1000;
    secs = atof(argv[6]) * 1000;

    if (nv <= 0 || secs <= 0) {
        fprintf(stderr, "capacity_viewers: bad VIEWERS or SECONDS\n");
        return 2;
    }

    if (master(argv[1]) < 0) {
        fprintf(stderr, "capacity_viewers: no renditions in the master"
                " playlist\n");
        return 1;
    }

    ep = epoll_create1(EPOLL_CLOEXEC);
    in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    inotify_fd = in;
    late = malloc(MAX_SAMPLES * sizeof(double));
    vs = calloc(nv, sizeof(viewer_t));

    if (ep < 0 || in < 0 || late == NULL || vs == NULL) {
        perror("capacity_viewers: set-up");
        return 1;
    }

    for (i = 0; i < nrends; i++) {
        snprintf(path, sizeof(path), "%s/%.63s", argv[3], rends[i].name);
        rends[i].wd = inotify_add_watch(in, path, IN_MOVED_TO);
        if (rends[i].wd < 0) {
            fprintf(stderr, "capacity_viewers: inotify %s: %s\n", path,
                    strerror(errno));
            return 1;
        }
    }

    ev.events = EPOLLIN;
    ev.data.ptr = NULL;                /* NULL: inotify */
    epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev);

    t_first = now_ms();
    t_window = t_first + warmup;
    t_end = t_window + secs;

    /* every viewer starts with a plain playlist request, spread over the
     * first part target or so, as players arrive at different times */
    for (i = 0; i < nv; i++) {
        v = &vs[i];
        v->r = i % nrends;

        for (k = 0; k < 2; k++) {
            c = &v->c[k];
            c->v = v;
            c->role = k;
            c->fd = -1;
            c->size = 16384;
            c->buf = malloc(c->size);
            if (c->buf == NULL) {
                perror("capacity_viewers: malloc");
                return 1;
            }
        }

        playlist_next(v);
    }

    ru_taken = 0;
    next_sample = t_first;

    while ((now = now_ms()) < t_end) {
        nready = epoll_wait(ep, evs, 1024, 20);

        for (k = 0; k < nready; k++) {
            if (evs[k].data.ptr == NULL) {
                read_inotify(in);
            } else {
                on_event(evs[k].data.ptr, evs[k].events);
            }
        }

        now = now_ms();

        if (now >= next_sample) {
            if (now >= t_window) {
                inflight_sum += inflight_now;
                inflight_samples++;
                if (inflight_now > inflight_max) {
                    inflight_max = inflight_now;
                }
            }

            next_sample += 100;

            if (!ru_taken && now >= t_window) {
                getrusage(RUSAGE_SELF, &ru0);   /* CPU from the window on */
                ru_taken = 1;
            }

            /* timeouts, retries after errors */
            for (i = 0; i < nv; i++) {
                for (k = 0; k < 2; k++) {
                    c = &vs[i].c[k];

                    if (c->busy && now - c->t_sent > REQ_TIMEOUT_MS) {
                        if (in_window(now)) {
                            timeouts++;
                        }
                        conn_close(c);
                    }

                    if (!c->busy && now >= c->t_retry) {
                        if (k == PLAYLIST) {
                            playlist_next(&vs[i]);
                        } else {
                            part_next(&vs[i]);
                        }
                    }
                }
            }
        }
    }

    getrusage(RUSAGE_SELF, &ru1);
    cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec)
          + (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6
          + (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec)
          + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;

    qsort(late, nlate, sizeof(double), cmp_double);

    within = 0;
    while (within < nlate && part_target_ms > 0
           && late[within] <= part_target_ms)
    {
        within++;
    }

    /* how completely the viewers followed: the least of each viewer's
     * parts received over the parts its rendition wrote in the window */
    min_ratio = 1;
    min_parts = UINT64_MAX;
    for (i = 0; i < nv; i++) {
        written = rends[vs[i].r].written;
        ratio = written ? (double) vs[i].parts / written : 0;
        if (ratio < min_ratio) {
            min_ratio = ratio;
        }
        if (vs[i].parts < min_parts) {
            min_parts = vs[i].parts;
        }
    }

    written = 0;
    for (i = 0; i < nrends; i++) {
        written += rends[i].written;
    }

    req_total = 0;
    errors = 0;
    for (k = 0; k < K_KINDS; k++) {
        req_total += req_ok[k] + req_err[k];
        errors += req_err[k];
    }

#define PCT(p) (nlate ? late[(size_t) ((p) * (nlate - 1))] : -1)

    printf("viewers=%d renditions=%d window_s=%.0f"
           " requests=%llu req_per_s=%.0f"
           " playlist_ok=%llu blocking_ok=%llu part_ok=%llu"
           " errors=%llu err_4xx=%llu err_5xx=%llu timeouts=%llu"
           " reconnects=%llu void_hints=%llu"
           " mbit_per_s=%.1f"
           " parts_written=%llu parts_received=%zu unknown_parts=%llu"
           " min_follow=%.3f min_parts=%llu"
           " part_target_ms=%.0f late_p50_ms=%.1f late_p90_ms=%.1f"
           " late_p99_ms=%.1f late_max_ms=%.1f within_part=%.4f"
           " inflight_mean=%.0f inflight_max=%.0f client_cpu_pct=%.1f\n",
           nv, nrends, secs / 1000,
           (unsigned long long) req_total, req_total / (secs / 1000),
           (unsigned long long) req_ok[K_PLAYLIST],
           (unsigned long long) req_ok[K_BLOCKING],
           (unsigned long long) req_ok[K_PART],
           (unsigned long long) errors, (unsigned long long) status_4xx,
           (unsigned long long) status_5xx, (unsigned long long) timeouts,
           (unsigned long long) reconnects,
           (unsigned long long) void_hints,
           bytes * 8 / 1e6 / (secs / 1000),
           (unsigned long long) written, nlate,
           (unsigned long long) unknown_parts,
           min_ratio, (unsigned long long) (nv ? min_parts : 0),
           part_target_ms, PCT(0.5), PCT(0.9), PCT(0.99),
           nlate ? late[nlate - 1] : -1,
           nlate ? (double) within / nlate : 0,
           inflight_samples ? inflight_sum / inflight_samples : 0,
           inflight_max, cpu * 100 / (secs / 1000));

    return 0;
}
