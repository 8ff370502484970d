/*
 * bench/held_floor.c: what answering N held requests at once costs this
 * machine's loopback alone, without nginx.
 *
 *   held_floor N BYTES ROUNDS
 *
 * N connected loopback TCP pairs.  Two writer processes (as nginx's two
 * workers) wait on a pipe; at the signal each writes BYTES (header and
 * body, one writev) to its half of the server ends, as a worker answers
 * its waiting requests.  The parent reads every client end with epoll,
 * as bench/held_client.c does, and notes when the last byte arrived.
 * ROUNDS times; prints the median of the first and last arrival.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "held_util.h"


#define WRITERS     2
#define MAX_ROUNDS  100


int
main(int argc, char **argv)
{
    int                  n, bytes, rounds, ls, one, ep, i, k, r, w, go[2];
    int                 *cl, *sv;
    char                 buf[65536], *answer, c;
    long                 left;
    double               t0, first[MAX_ROUNDS], last[MAX_ROUNDS];
    pid_t                pid[WRITERS];
    ssize_t              got;
    socklen_t            alen;
    struct iovec         iov[2];
    struct sockaddr_in   sin;
    struct epoll_event   ev, evs[1024];

    if (argc != 4) {
        fprintf(stderr, "usage: held_floor N BYTES ROUNDS\n");
        return 2;
    }

    n = atoi(argv[1]);
    bytes = atoi(argv[2]);
    rounds = atoi(argv[3]);

    if (n <= 0 || bytes < 2 || rounds <= 0 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "held_floor: bad arguments\n");
        return 2;
    }

    cl = calloc(n, sizeof(int));
    sv = calloc(n, sizeof(int));
    answer = malloc(bytes);
    ls = socket(AF_INET, SOCK_STREAM, 0);
    ep = epoll_create1(0);

    if (cl == NULL || sv == NULL || answer == NULL || ls < 0 || ep < 0) {
        perror("held_floor: set-up");
        return 1;
    }

    memset(answer, 'x', bytes);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    alen = sizeof(sin);

    if (bind(ls, (struct sockaddr *) &sin, sizeof(sin)) < 0
        || listen(ls, 4096) < 0
        || getsockname(ls, (struct sockaddr *) &sin, &alen) < 0)
    {
        perror("held_floor: listen");
        return 1;
    }

    one = 1;

    for (i = 0; i < n; i++) {
        cl[i] = socket(AF_INET, SOCK_STREAM, 0);

        if (cl[i] < 0
            || connect(cl[i], (struct sockaddr *) &sin, sizeof(sin)) < 0
            || (sv[i] = accept(ls, NULL, NULL)) < 0)
        {
            perror("held_floor: connect");
            return 1;
        }

        /* as nginx sets it on a keep-alive connection */
        setsockopt(sv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        ev.events = EPOLLIN;
        ev.data.u32 = i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cl[i], &ev) < 0) {
            perror("held_floor: epoll_ctl");
            return 1;
        }
    }

    for (r = 0; r < rounds; r++) {
        if (pipe(go) < 0) {
            perror("held_floor: pipe");
            return 1;
        }

        for (w = 0; w < WRITERS; w++) {
            pid[w] = fork();

            if (pid[w] < 0) {
                perror("held_floor: fork");
                return 1;
            }

            if (pid[w] == 0) {
                close(go[1]);

                if (read(go[0], &c, 1) != 1) {
                    _exit(1);
                }

                /* a header, then the body, as nginx's writev */
                iov[0].iov_base = answer;
                iov[0].iov_len = bytes / 5;
                iov[1].iov_base = answer + bytes / 5;
                iov[1].iov_len = bytes - bytes / 5;

                for (i = w; i < n; i += WRITERS) {
                    if (writev(sv[i], iov, 2) != bytes) {
                        _exit(1);
                    }
                }

                _exit(0);
            }
        }

        close(go[0]);
        usleep(100000);

        left = (long) n * bytes;
        first[r] = 0;
        t0 = now_ms();

        if (write(go[1], "gg", WRITERS) != WRITERS) {
            perror("held_floor: write");
            return 1;
        }

        while (left > 0) {
            k = epoll_wait(ep, evs, 1024, 5000);

            if (k <= 0) {
                fprintf(stderr, "held_floor: %ld bytes missing\n", left);
                return 1;
            }

            for (i = 0; i < k; i++) {
                while ((got = recv(cl[evs[i].data.u32], buf, sizeof(buf),
                                   MSG_DONTWAIT))
                       > 0)
                {
                    left -= got;
                }
            }

            if (first[r] == 0) {
                first[r] = now_ms() - t0;
            }
        }

        last[r] = now_ms() - t0;
        close(go[1]);

        for (w = 0; w < WRITERS; w++) {
            waitpid(pid[w], NULL, 0);
        }
    }

    qsort(first, rounds, sizeof(double), cmp_double);
    qsort(last, rounds, sizeof(double), cmp_double);

    printf("floor, no nginx: %d answers of %d bytes, one writev each by %d"
           " processes, read by one epoll client: first %.1f ms, last %.1f"
           " ms (medians of %d rounds)\n",
           n, bytes, WRITERS, first[rounds / 2], last[rounds / 2], rounds);

    return 0;
}
