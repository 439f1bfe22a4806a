/* The worker pool: CPU-heavy work (quote verification, RSA) runs here so the event loop never
 * blocks. A job is a request with work/done callbacks; a worker runs work(), then activates the
 * request's own event, and libevent (made thread-aware by evthread_use_pthreads) runs done()
 * on the loop thread. */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

struct http_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cloak_http_req *head, *tail; /* queued, not yet taken */
    size_t queued, running;
    int quit;
    pthread_t *threads;
    unsigned nthreads;
};

static void *worker_main(void *arg)
{
    http_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->quit)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->head) break; /* quit, and nothing left to run */
        cloak_http_req *req = p->head;
        p->head = req->job_next;
        if (!p->head) p->tail = NULL;
        p->queued--;
        p->running++;
        pthread_mutex_unlock(&p->mu);

        req->work(req, req->job_arg);
        /* Post back: the loop runs http_job_finished -> done(). Thread-safe with evthread. */
        event_active(req->job_ev, 0, 0);

        pthread_mutex_lock(&p->mu);
        p->running--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int http_pool_new(cloak_http_server *s, unsigned n, http_pool **out)
{
    (void)s;
    http_pool *p = calloc(1, sizeof *p);
    if (!p) return -1;
    p->threads = calloc(n, sizeof *p->threads);
    if (!p->threads || pthread_mutex_init(&p->mu, NULL)) {
        free(p->threads);
        free(p);
        return -1;
    }
    pthread_cond_init(&p->cv, NULL);
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p)) break;
        p->nthreads++;
    }
    if (p->nthreads == 0) {
        http_pool_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int http_pool_submit(http_pool *p, cloak_http_req *req)
{
    pthread_mutex_lock(&p->mu);
    if (p->quit) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    req->job_next = NULL;
    if (p->tail)
        p->tail->job_next = req;
    else
        p->head = req;
    p->tail = req;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

size_t http_pool_pending(http_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->queued + p->running;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void http_pool_free(http_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    /* Workers drain the queue before they quit, so every job's work() has run. */
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}
