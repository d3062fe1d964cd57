/* wt_session_spawn - the spawn_agent tool: a child session through the
 * broker, like any other session (durable, dispatched to any worker, parent
 * recorded in <prefix>session:<parent>:children). The idempotency key is
 * derived from the parent and its turn, so a parent resumed after a crash
 * re-attaches to the same child instead of starting a second one. The wait
 * is an XREAD BLOCK on the child's event stream, one second at a time so a
 * cancel or the parent's deadline is noticed: no busy loop.
 * --clients may list several brokers (DESIGN 13): the DEALER connects to all
 * of them and a try that meets a standby (NOT_ACTIVE), a broker that cannot
 * store yet (UNAVAILABLE, e.g. a Redis failover) or silence (a dead or frozen
 * broker) is sent again, same request id and key, to the next connection,
 * until SPAWN_PATIENCE_MS. */
#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_endpoints.h"
#include "wt_log.h"
#include "wt_proto.h"
#include "wt_session_int.h"
#include "wt_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_DEPTH         3
#define SPAWN_PATIENCE_MS 60000 /* a broker takeover plus a Redis failover */
#define SPAWN_RESEND_MS   3000  /* silence this long: try the next broker */

/* Connects sock to every endpoint of the list; -1 naming the bad one. */
static int
connect_all(void *sock, const char *list, char *why, size_t wcap)
{
    int n = wt_endpoints_nth(list, 0, NULL, 0);
    for (int i = 0; i < n; i++) {
        char ep[256];
        wt_endpoints_nth(list, i, ep, sizeof ep);
        if (zmq_connect(sock, ep) != 0)
            return snprintf(why, wcap, "spawn_agent: cannot connect to the broker at %s: %s", ep,
                            zmq_strerror(zmq_errno())),
                   -1;
    }
    return n > 0 ? 0 : (snprintf(why, wcap, "spawn_agent: no broker endpoint (--clients)"), -1);
}

/* Sends m until an answer other than a retryable refusal; returns the reply
 * (caller destroys) or NULL with why filled. */
static wt_msg_t *
spawn_request(wt_session_t *self, void *sock, wt_msg_t *m, char *why, size_t wcap)
{
    int64_t deadline = wt_clock_mono_ms() + SPAWN_PATIENCE_MS;
    int tries = 0;
    const char *last = "no answer";
    while (!self->cancel && wt_clock_mono_ms() < deadline) {
        wt_err_t err = {0};
        if (wt_wire_send(sock, NULL, 0, m, 0, &err) != 0) {
            snprintf(why, wcap, "spawn_agent: cannot send to the broker at %s: %s",
                     self->env->clients_ep, err.msg);
            return NULL;
        }
        tries++;
        int64_t resend_at = wt_clock_mono_ms() + SPAWN_RESEND_MS;
        for (;;) {
            int64_t left = resend_at - wt_clock_mono_ms();
            zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
            if (left <= 0 || zmq_poll(&it, 1, (long)left) <= 0)
                break; /* silence: the next try goes to the next connection */
            wt_msg_t *rep = NULL;
            int code = 0;
            if (wt_wire_recv(sock, 0, WT_CHAN_CLIENT, NULL, NULL, &rep, &code, 1, &err) != 1)
                continue;
            if (rep->req != m->req) {
                wt_msg_destroy(&rep); /* a late answer to an earlier try */
                continue;
            }
            if (rep->cmd == WT_CMD_ERROR &&
                (rep->code == WT_PROTO_E_NOT_ACTIVE || rep->code == WT_PROTO_E_UNAVAILABLE)) {
                last = rep->code == WT_PROTO_E_NOT_ACTIVE ? "only standbys answered"
                                                          : "the broker could not store it";
                wt_msg_destroy(&rep);
                wt_clock_sleep_ms(100);
                break;
            }
            return rep;
        }
    }
    snprintf(why, wcap,
             "spawn_agent: no active broker at %s took the spawn within %d s "
             "(%d tries; %s)",
             self->env->clients_ep, SPAWN_PATIENCE_MS / 1000, tries, last);
    return NULL;
}

static int send_spawn(wt_session_t *self, wt_msg_t **m_p, char *child, size_t cap, char *why,
                      size_t wcap);

static int
request_child(wt_session_t *self, json_t *input, char *child, size_t cap, char *why, size_t wcap)
{
    const char *wf = json_string_value(json_object_get(input, "workflowId"));
    const char *goal = json_string_value(json_object_get(input, "goal"));
    json_t *ctx = json_object_get(input, "context");
    if (wf == NULL || goal == NULL)
        return snprintf(why, wcap, "spawn_agent: workflowId and goal (strings) are required"), -1;
    if (ctx && !json_is_object(ctx))
        return snprintf(why, wcap, "spawn_agent: context must be an object"), -1;
    if (self->depth + 1 > MAX_DEPTH)
        return snprintf(why, wcap, "spawn_agent: depth limit %d reached", MAX_DEPTH), -1;
    wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
    wt_msg_set(&m->workflow, wf);
    wt_msg_set(&m->goal, goal);
    wt_msg_set(&m->parent, self->sid);
    char key[96];
    snprintf(key, sizeof key, "%s:child:%d", self->sid, self->turn);
    wt_msg_set(&m->key, key);
    if (ctx) {
        char *s = json_dumps(ctx, JSON_COMPACT);
        wt_msg_set(&m->context_json, s);
        free(s);
    }
    m->req = (uint64_t)self->turn + 1;
    return send_spawn(self, &m, child, cap, why, wcap);
}

/* Sends the SPAWN *m_p (taken) to the broker's client socket(s) and waits
 * (up to SPAWN_PATIENCE_MS, see spawn_request) for SPAWNED; 0 with the
 * session id in child, or -1 with why. */
static int
send_spawn(wt_session_t *self, wt_msg_t **m_p, char *child, size_t cap, char *why, size_t wcap)
{
    wt_msg_t *m = *m_p;
    *m_p = NULL;
    if (self->env->curve_without_client_key) {
        wt_msg_destroy(&m);
        return snprintf(why, wcap,
                        "spawn_agent: the broker uses CURVE and this worker has no "
                        "--client-key (a worker key is not accepted on the client "
                        "socket)"),
               -1;
    }
    void *zctx = zmq_ctx_new();
    void *sock = zmq_socket(zctx, ZMQ_DEALER);
    int zero = 0, rc = -1;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    wt_err_t err = {0};
    if (wt_cert_peer_apply(self->env->spawn_curve, sock, &err) != 0) {
        snprintf(why, wcap, "spawn_agent: cannot reach the broker at %s: %s", self->env->clients_ep,
                 err.msg);
    } else if (connect_all(sock, self->env->clients_ep, why, wcap) == 0) {
        wt_msg_t *rep = spawn_request(self, sock, m, why, wcap);
        if (rep && rep->cmd == WT_CMD_SPAWNED) {
            snprintf(child, cap, "%s", rep->session);
            rc = 0;
        } else if (rep) {
            snprintf(why, wcap, "spawn_agent: broker refused: %s",
                     rep->message ? rep->message : "no reason given");
        }
        wt_msg_destroy(&rep);
    }
    wt_msg_destroy(&m);
    zmq_close(sock);
    zmq_ctx_term(zctx);
    return rc;
}

/* The project memory's "every N completions" (DESIGN.md 17, worker
 * --memory-every N): the fleet-wide count <prefix>memory:completions goes
 * up by one per session of another workflow; the session that makes it a
 * multiple of N spawns a `memory` session, keyed by the count so a retried
 * kick cannot start a second one. */
void
wt_session_kick_memory(wt_session_t *self)
{
    int every = self->env->memory_every;
    if (every <= 0 || self->workflow_id == NULL || strcmp(self->workflow_id, "memory") == 0 ||
        strcmp(self->workflow_id, "talk") == 0 || strcmp(self->workflow_id, "watchdog") == 0)
        return;
    char key[96];
    wt_store_key(&self->store, key, sizeof key, "memory:completions");
    redisReply *r = wt_redis_command(self->redis, NULL, "INCR %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    if (r)
        freeReplyObject(r);
    if (n <= 0 || n % every != 0)
        return;
    wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
    wt_msg_set(&m->workflow, "memory");
    char goal[160], idem[64], sid[64], why[512];
    snprintf(goal, sizeof goal,
             "Update the project memory: %d more sessions have completed since the last update",
             every);
    wt_msg_set(&m->goal, goal);
    snprintf(idem, sizeof idem, "memory:every:%lld", n);
    wt_msg_set(&m->key, idem);
    if (send_spawn(self, &m, sid, sizeof sid, why, sizeof why) == 0)
        wt_log_info("session %s: completion %lld: memory session %s", self->sid, n, sid);
    else
        wt_log_warn("session %s: completion %lld: no memory session: %s", self->sid, n, why);
}

/* Blocks until the child's session_completed; 0, or -1 on cancel/deadline. */
static int
await_child(wt_session_t *self, const char *child, json_t **result, char *why, size_t wcap)
{
    char key[128], last[64] = "0-0";
    wt_store_key(&self->store, key, sizeof key, "session:%s:events", child);
    while (!self->cancel) {
        if (wt_clock_mono_ms() > self->deadline_mono)
            return snprintf(why, wcap, "spawn_agent: parent deadline reached"), -1;
        wt_err_t err = {0};
        redisReply *r = wt_redis_command(self->redis, &err,
                                         "XREAD COUNT 100 BLOCK 1000 STREAMS %s %s", key, last);
        if (r == NULL) {
            wt_clock_sleep_ms(200); /* Redis down: wait for it like every other write */
            continue;
        }
        int ended = 0;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
            redisReply *entries = r->element[0]->element[1];
            for (size_t i = 0; i < entries->elements; i++) {
                redisReply *e = entries->element[i];
                snprintf(last, sizeof last, "%s", e->element[0]->str);
                redisReply *f = e->element[1];
                const char *type = wt_redis_field(f, "type");
                if (type && strcmp(type, "session_completed") == 0)
                    ended = 1;
            }
        }
        freeReplyObject(r);
        if (ended) {
            *result = wt_store_result(&self->store, child, &err);
            return *result ? 0 : (snprintf(why, wcap, "spawn_agent: %s", err.msg), -1);
        }
    }
    return snprintf(why, wcap, "spawn_agent: cancelled"), -1;
}

int
wt_session_spawn_agent(wt_session_t *self, json_t *input, wt_tool_result_t *res)
{
    char child[64], why[512];
    if (request_child(self, input, child, sizeof child, why, sizeof why) != 0) {
        res->text = wt_xstrdup(why);
        res->is_error = 1;
        return 0;
    }
    if (wt_session_emit(self, "child_spawned",
                        json_pack("{s:s,s:s}", "child", child, "workflow",
                                  json_string_value(json_object_get(input, "workflowId"))),
                        0, 0, NULL) != 0)
        return -1;
    json_t *result = NULL;
    if (await_child(self, child, &result, why, sizeof why) != 0) {
        res->text = wt_xstrdup(why);
        res->is_error = 1;
        return 0;
    }
    const char *outcome = json_string_value(json_object_get(result, "outcome"));
    res->text = json_dumps(result, JSON_COMPACT);
    res->is_error = outcome == NULL || strcmp(outcome, "success") != 0;
    json_decref(result);
    return 0;
}
