/*
 * bench/held_util.h: what bench/held_client.c and bench/held_floor.c
 * share: a monotonic clock in ms, and sorted-sample statistics.
 */

#ifndef HELD_UTIL_H
#define HELD_UTIL_H

#include <time.h>


static double
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

#endif /* HELD_UTIL_H */
