/* wt_http_mux - many threads' requests on one curl multi handle (see the
 * header for why).
 *
 * Hand-off: a caller builds its easy handle on its own thread (options,
 * headers, trust), puts its job on the add list and wakes the I/O thread
 * (curl_multi_wakeup); the I/O thread adds it to the multi handle, runs
 * every transfer, and when one ends removes it and writes the job's
 * eventfd. The job lives in the caller's frame: the caller returns only
 * once the job is DONE, and the I/O thread touches a job only while it is
 * not. A cancel is a request to the I/O thread (the caller never touches
 * the multi handle), answered like a completion. The lists and states are
 * under one lock, held only to move jobs, never during a transfer. */
#include "wt_http_mux.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_http_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define IO_IDLE_WAKE_MS 10000 /* curl's own timers wake the I/O thread sooner */
#define WAKE_FIRST_MS   1000  /* the caller asks abort_fn at about 1, 2, 4... s */
#define WAKE_MAX_MS     32000

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE } job_state_t;

typedef struct job {
    CURL *easy;        /* the caller's; in the multi handle while RUNNING */
    wt_http_xfer_t x;  /* the callbacks' state (written by the I/O thread) */
    CURLcode rc;       /* the outcome, once DONE */
    job_state_t state; /* under the lock */
    int cancel;        /* its caller abandons it (under the lock) */
    int done_fd;       /* eventfd, written once DONE */
    struct job *next;  /* on the add list, or the cancel list when RUNNING */
} job_t;

struct wt_http_mux {
    pthread_t thread;
    CURLM *multi;         /* the I/O thread's (curl_multi_wakeup from any) */
    pthread_mutex_t lock; /* guards what follows and every job's state */
    job_t *adds;          /* submitted, not yet in the multi handle */
    job_t *cancels;       /* RUNNING jobs to take out of it */
    int stopping;
    long connects; /* connections opened, summed over finished requests */
};

/* Lock held. The caller may free j as soon as the lock is released. */
static void
job_done(job_t *j, CURLcode rc)
{
    j->rc = rc;
    j->state = JOB_DONE;
    uint64_t one = 1;
    /* an eventfd write fails only past 2^64-2 unread: never here */
    (void)!write(j->done_fd, &one, sizeof one);
}

/* Lock held: the adds go into the multi handle (or end, when their caller
 * has already given up or the multi refuses them), the cancels leave it. */
static void
take_lists(wt_http_mux_t *self)
{
    for (job_t *j = self->adds, *next; j != NULL; j = next) {
        next = j->next;
        j->next = NULL;
        if (j->cancel)
            job_done(j, CURLE_ABORTED_BY_CALLBACK);
        else if (curl_multi_add_handle(self->multi, j->easy) != CURLM_OK)
            job_done(j, CURLE_FAILED_INIT);
        else
            j->state = JOB_RUNNING;
    }
    self->adds = NULL;
    for (job_t *j = self->cancels, *next; j != NULL; j = next) {
        next = j->next;
        j->next = NULL;
        curl_multi_remove_handle(self->multi, j->easy);
        job_done(j, CURLE_ABORTED_BY_CALLBACK);
    }
    self->cancels = NULL;
}

/* The transfers that ended: out of the multi handle, to their callers. */
static void
take_results(wt_http_mux_t *self)
{
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(self->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode rc = m->data.result; /* m is gone once e is removed */
        void *priv = NULL;
        long opened = 0;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &opened);
        curl_multi_remove_handle(self->multi, e);
        job_t *j = priv;
        pthread_mutex_lock(&self->lock);
        self->connects += opened;
        if (j->cancel) /* ended before its cancel was taken: off that list */
            for (job_t **p = &self->cancels; *p != NULL; p = &(*p)->next)
                if (*p == j) {
                    *p = j->next;
                    break;
                }
        job_done(j, rc);
        pthread_mutex_unlock(&self->lock);
    }
}

static void *
io_loop(void *ud)
{
    wt_http_mux_t *self = ud;
    sigset_t all; /* signals are the main thread's to take */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        pthread_mutex_lock(&self->lock);
        int stop = self->stopping;
        if (!stop)
            take_lists(self);
        pthread_mutex_unlock(&self->lock);
        if (stop)
            return NULL;
        int running = 0;
        curl_multi_perform(self->multi, &running);
        take_results(self);
        if (curl_multi_poll(self->multi, NULL, 0, IO_IDLE_WAKE_MS, NULL) != CURLM_OK)
            usleep(10000); /* never spin on a failing poll */
    }
}

wt_http_mux_t *
wt_http_mux_new(wt_err_t *err)
{
    wt_http_mux_t *self = wt_xcalloc(1, sizeof *self);
    if ((self->multi = curl_multi_init()) == NULL) {
        free(self);
        wt_err_set(err, WT_EIO, "cannot create a curl multi handle");
        return NULL;
    }
    /* Idle connections kept: curl's default is 4 per handle in the multi at
     * the time, and here handles come and go with each call, so a lull
     * closed the connections the next burst then opened again. */
    curl_multi_setopt(self->multi, CURLMOPT_MAXCONNECTS, (long)WT_HTTP_MUX_KEEP);
    pthread_mutex_init(&self->lock, NULL);
    int rc = pthread_create(&self->thread, NULL, io_loop, self);
    if (rc != 0) {
        pthread_mutex_destroy(&self->lock);
        curl_multi_cleanup(self->multi);
        free(self);
        wt_err_set(err, WT_EIO, "cannot start the HTTP thread: %s", strerror(rc));
        return NULL;
    }
    return self;
}

void
wt_http_mux_destroy(wt_http_mux_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_http_mux_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stopping = 1;
    pthread_mutex_unlock(&self->lock);
    curl_multi_wakeup(self->multi);
    pthread_join(self->thread, NULL);
    curl_multi_cleanup(self->multi); /* closes the kept connections */
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

long
wt_http_mux_connects(wt_http_mux_t *self)
{
    pthread_mutex_lock(&self->lock);
    long n = self->connects;
    pthread_mutex_unlock(&self->lock);
    return n;
}

/* Asks the I/O thread to abandon j (its answer comes as a completion). */
static void
cancel_job(wt_http_mux_t *self, job_t *j)
{
    pthread_mutex_lock(&self->lock);
    if (j->state != JOB_DONE && !j->cancel) {
        j->cancel = 1; /* QUEUED: dropped instead of added */
        if (j->state == JOB_RUNNING) {
            j->next = self->cancels;
            self->cancels = j;
        }
    }
    pthread_mutex_unlock(&self->lock);
    curl_multi_wakeup(self->multi);
}

/* Sleeps until j is DONE; asks req->abort_fn when req->abort_fd is readable
 * and at growing intervals, and cancels j once it says so. */
static void
wait_job(wt_http_mux_t *self, job_t *j, const wt_http_req_t *req)
{
    int use_fd = req->abort_fd > 0, asked = 0;
    int64_t t0 = wt_clock_mono_ms();
    for (;;) {
        long backstop = (long)(wt_clock_mono_ms() - t0);
        backstop = backstop < WAKE_FIRST_MS ? WAKE_FIRST_MS
                   : backstop > WAKE_MAX_MS ? WAKE_MAX_MS
                                            : backstop;
        struct pollfd p[2] = {{j->done_fd, POLLIN, 0}, {use_fd ? req->abort_fd : -1, POLLIN, 0}};
        int n = poll(p, 2, (int)backstop);
        if (n < 0 && errno != EINTR)
            n = 0; /* cannot happen with valid fds; go on as on a timeout */
        if (p[0].revents != 0) {
            pthread_mutex_lock(&self->lock);
            int done = j->state == JOB_DONE;
            pthread_mutex_unlock(&self->lock);
            if (done)
                return;
        }
        if (asked || req->abort_fn == NULL)
            continue;
        int fd_woke = use_fd && p[1].revents != 0;
        if ((n == 0 || fd_woke) && req->abort_fn(req->abort_ud)) {
            cancel_job(self, j);
            asked = 1;
        } else if (fd_woke) {
            use_fd = 0; /* readable without an abort: never spin on it */
        }
    }
}

int
wt_http_mux_perform(wt_http_mux_t *self, const wt_http_req_t *req, wt_http_resp_t *resp,
                    wt_err_t *err)
{
    wt_http_resp_start(resp);
    job_t j = {.state = JOB_QUEUED};
    if ((j.done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        return wt_err_set(err, WT_EIO, "eventfd: %s", strerror(errno));
    if ((j.easy = curl_easy_init()) == NULL) {
        close(j.done_fd);
        return wt_err_set(err, WT_EIO, "cannot create a curl handle");
    }
    struct curl_slist *hdrs = wt_http_headers(req);
    j.x = (wt_http_xfer_t){req, resp, 0};
    wt_http_set_options(j.easy, req, hdrs, &j.x, 0);
    curl_easy_setopt(j.easy, CURLOPT_PRIVATE, (void *)&j);
    /* Over TLS a burst of calls to one host waits for the first connection's
     * handshake to show whether it multiplexes (HTTP/2, by ALPN) instead of
     * each opening its own. Not over plain HTTP: there only the first
     * answer would show it, and every other call would wait for that. */
    if (strncasecmp(req->url, "https://", 8) == 0)
        curl_easy_setopt(j.easy, CURLOPT_PIPEWAIT, 1L);
    pthread_mutex_lock(&self->lock);
    j.next = self->adds;
    self->adds = &j;
    pthread_mutex_unlock(&self->lock);
    curl_multi_wakeup(self->multi);
    wait_job(self, &j, req);
    int rc = wt_http_finish(j.easy, j.rc, &j.x, err);
    curl_slist_free_all(hdrs); /* may hold a token: gone now */
    curl_easy_cleanup(j.easy);
    close(j.done_fd);
    return rc;
}
