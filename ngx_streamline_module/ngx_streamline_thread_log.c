/*
 * Log lines of the pipeline threads.  ngx_log_error() is for the event
 * loop only (syslog and memory logs keep state without locks): the
 * threads queue their lines here, a timer of the event loop logs them.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <pthread.h>

#include "ngx_streamline.h"


#define NGX_STREAMLINE_THREAD_LOGS  64


typedef struct {
    ngx_uint_t                level;
    u_char                    text[600];
    size_t                    len;
} ngx_streamline_log_line_t;


static void ngx_streamline_thread_log_handler(ngx_event_t *ev);


static ngx_event_t              ngx_streamline_thread_log_ev;
static pthread_mutex_t          ngx_streamline_thread_log_lock =
                                    PTHREAD_MUTEX_INITIALIZER;
static ngx_streamline_log_line_t
                    ngx_streamline_thread_lines[NGX_STREAMLINE_THREAD_LOGS];
static ngx_uint_t               ngx_streamline_thread_nlines;
static ngx_uint_t               ngx_streamline_thread_dropped;


/* a worker with threads that log: their lines every 200 ms */
void
ngx_streamline_thread_log_init(ngx_cycle_t *cycle)
{
    ngx_memzero(&ngx_streamline_thread_log_ev, sizeof(ngx_event_t));
    ngx_streamline_thread_log_ev.handler = ngx_streamline_thread_log_handler;
    ngx_streamline_thread_log_ev.log = cycle->log;
    ngx_streamline_thread_log_ev.cancelable = 1;
    ngx_add_timer(&ngx_streamline_thread_log_ev, 200);
}


/* on a pipeline thread: the line waits for the event loop */
void
ngx_streamline_thread_log(ngx_uint_t level, const char *fmt, ...)
{
    va_list                     args;
    ngx_streamline_log_line_t  *line;

    (void) pthread_mutex_lock(&ngx_streamline_thread_log_lock);

    if (ngx_streamline_thread_nlines == NGX_STREAMLINE_THREAD_LOGS) {
        ngx_streamline_thread_dropped++;

    } else {
        line = &ngx_streamline_thread_lines[ngx_streamline_thread_nlines++];
        line->level = level;

        va_start(args, fmt);
        line->len = ngx_vslprintf(line->text, line->text + sizeof(line->text),
                                  fmt, args)
                    - line->text;
        va_end(args);
    }

    (void) pthread_mutex_unlock(&ngx_streamline_thread_log_lock);
}


static void
ngx_streamline_thread_log_handler(ngx_event_t *ev)
{
    ngx_streamline_thread_log_flush();

    if (!ngx_exiting) {
        ngx_add_timer(ev, 200);
    }
}


void
ngx_streamline_thread_log_flush(void)
{
    ngx_uint_t                  i, n, dropped;
    ngx_streamline_log_line_t  *lines;

    lines = ngx_alloc(sizeof(ngx_streamline_thread_lines), ngx_cycle->log);
    if (lines == NULL) {
        return;
    }

    (void) pthread_mutex_lock(&ngx_streamline_thread_log_lock);

    n = ngx_streamline_thread_nlines;
    dropped = ngx_streamline_thread_dropped;
    ngx_memcpy(lines, ngx_streamline_thread_lines,
               n * sizeof(ngx_streamline_log_line_t));
    ngx_streamline_thread_nlines = 0;
    ngx_streamline_thread_dropped = 0;

    (void) pthread_mutex_unlock(&ngx_streamline_thread_log_lock);

    for (i = 0; i < n; i++) {
        ngx_log_error(lines[i].level, ngx_cycle->log, 0, "%*s",
                      lines[i].len, lines[i].text);
    }

    if (dropped) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "streamline: %ui lines of the media threads were not "
                      "logged (too many at once)", dropped);
    }

    ngx_free(lines);
}
