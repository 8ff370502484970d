
/*
 * Streamline core: the message queue between the pipeline's threads, see
 * sl_msgq.h.
 */


#include <stdlib.h>
#include <string.h>

#include "sl_core.h"
#include "sl_msgq.h"


sl_msg_t *
sl_msg_new(int type, const uint8_t *data, size_t len)
{
    sl_msg_t  *m;

    m = malloc(sizeof(sl_msg_t) + len);
    if (m == NULL) {
        return NULL;
    }

    memset(m, 0, sizeof(sl_msg_t));
    m->type = type;
    m->len = len;
    m->cut = SL_NO_CUT;

    if (len && data) {
        memcpy(m->data, data, len);
    }

    return m;
}


int
sl_msgq_init(sl_msgq_t *q)
{
    memset(q, 0, sizeof(sl_msgq_t));
    q->tail = &q->head;

    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        return SL_ERROR;
    }

    if (pthread_cond_init(&q->cond, NULL) != 0) {
        pthread_mutex_destroy(&q->lock);
        return SL_ERROR;
    }

    return SL_OK;
}


void
sl_msgq_destroy(sl_msgq_t *q)
{
    sl_msg_t  *m, *next;

    for (m = q->head; m; m = next) {
        next = m->next;
        free(m);
    }

    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
}


void
sl_msgq_put(sl_msgq_t *q, sl_msg_t *m)
{
    pthread_mutex_lock(&q->lock);
    m->next = NULL;
    *q->tail = m;
    q->tail = &m->next;
    q->len++;
    q->bytes += m->len;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}


sl_msg_t *
sl_msgq_get(sl_msgq_t *q)
{
    sl_msg_t  *m;

    pthread_mutex_lock(&q->lock);

    while (q->head == NULL && !q->stopping) {
        pthread_cond_wait(&q->cond, &q->lock);
    }

    m = q->head;

    if (m) {
        q->head = m->next;
        if (q->head == NULL) {
            q->tail = &q->head;
        }

        q->len--;
        q->bytes -= m->len;
    }

    pthread_mutex_unlock(&q->lock);

    return m;
}


void
sl_msgq_stop(sl_msgq_t *q)
{
    pthread_mutex_lock(&q->lock);
    q->stopping = 1;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}


int
sl_msgq_full(sl_msgq_t *q, size_t max, size_t bytes)
{
    int  full;

    pthread_mutex_lock(&q->lock);
    full = q->len >= max || q->bytes >= bytes;
    pthread_mutex_unlock(&q->lock);

    return full;
}
