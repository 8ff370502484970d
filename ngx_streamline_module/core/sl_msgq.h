/*
 * Streamline core, private to the pipeline: the messages that go from the
 * publisher's thread to the packager thread and on to the ladder thread,
 * and the queue between two threads that carries them.  The queue itself
 * never refuses a message: the sender asks sl_msgq_full() first, with the
 * bounds it keeps (sl_pipeline.c, sl_packager.c), so that a slow reader
 * costs dropped messages, never memory or a blocked sender.
 */

#ifndef SL_MSGQ_H
#define SL_MSGQ_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>


#define SL_MSG_VIDEO_HEADER  1
#define SL_MSG_AUDIO_HEADER  2
#define SL_MSG_PACKET        3

/* a packet where no segment starts */
#define SL_NO_CUT            UINT64_MAX


/* what a sequence header says besides its bytes */
typedef struct {
    int                   width;         /* video */
    int                   height;
    int                   fps;
    int                   sample_rate;   /* audio */
    int                   channels;
} sl_stream_params_t;

typedef struct sl_msg_s  sl_msg_t;

struct sl_msg_s {
    sl_msg_t             *next;
    int                   type;          /* SL_MSG_* */

    /* a packet */
    int                   video;
    int                   key;
    int64_t               dts_ms;
    int32_t               cts_ms;
    int64_t               wallclock_ms;  /* when it was received, -1: not
                                            known */
    uint64_t              cut;           /* the msn of the segment that
                                            starts here, or SL_NO_CUT */
    int                   restart;       /* new init segments start here
                                            (after a discontinuity) */

    /* a sequence header */
    sl_stream_params_t    params;

    size_t                len;
    uint8_t               data[];
};

typedef struct {
    pthread_mutex_t       lock;
    pthread_cond_t        cond;
    sl_msg_t             *head;
    sl_msg_t            **tail;
    size_t                len;           /* messages waiting */
    size_t                bytes;         /* and their data */
    int                   stopping;
} sl_msgq_t;


/* a message with room for len bytes, holding a copy of data unless it is
 * NULL; NULL when out of memory */
sl_msg_t *sl_msg_new(int type, const uint8_t *data, size_t len);

int sl_msgq_init(sl_msgq_t *q);
/* frees the messages still waiting */
void sl_msgq_destroy(sl_msgq_t *q);
void sl_msgq_put(sl_msgq_t *q, sl_msg_t *m);
/* waits for a message; NULL once the queue is stopped and empty */
sl_msg_t *sl_msgq_get(sl_msgq_t *q);
/* the reader gets what is queued, then NULL */
void sl_msgq_stop(sl_msgq_t *q);
/* max messages, or bytes of data, or more are waiting */
int sl_msgq_full(sl_msgq_t *q, size_t max, size_t bytes);

#endif /* SL_MSGQ_H */
