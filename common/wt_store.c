/* wt_store - Redis layout and its atomic scripts.
 *
 * Why Lua: intake must create the hash, the index entries and the queued
 * event together or not at all (the broker answers SPAWNED only after it);
 * the append script is the lease's fence - a worker that was paused or cut
 * off carries an old epoch, and its writes are refused inside Redis, where
 * no race with the new holder is possible. */
#include "wt_store.h"

#include "wt_alloc.h"
#include "wt_clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x)  STR_(x)

/* The lease fence shared by the scripts that write for a worker: cur is
 * HMGET of the session hash starting with epoch, status. Returns the STALE
 * error to send back, or nil when the writer holds the current lease. */
#define FENCE_LUA                                                                                  \
    "local function fence(sid, epoch, cur)\n"                                                      \
    "  if cur[2] == false then\n"                                                                  \
    "    return redis.error_reply('STALE session '..sid..' does not exist')\n"                     \
    "  end\n"                                                                                      \
    "  if epoch ~= '' and cur[1] ~= epoch then\n"                                                  \
    "    return redis.error_reply('STALE epoch '..epoch..' of '..sid..' is not current '..\n"      \
    "      tostring(cur[1]))\n"                                                                    \
    "  end\n"                                                                                      \
    "end\n"

/* The broker leader fence (DESIGN 13) shared by the scripts that assign or
 * requeue work: e is the caller's leader epoch ('' = unfenced, for tools
 * and tests). The lease <p>broker:leader holds "EPOCH ID"; a caller whose
 * epoch is not the one in it (lease taken over, or expired) is refused, so
 * a broker that still believes it leads cannot dispatch. */
#define LEADER_LUA                                                                                 \
    "local function fenced(p, e)\n"                                                                \
    "  if e == nil or e == '' then return nil end\n"                                               \
    "  local v = redis.call('GET', p..'broker:leader')\n"                                          \
    "  local cur = v and string.match(v, '^(%d+) ') or 'none'\n"                                   \
    "  if cur ~= e then\n"                                                                         \
    "    return redis.error_reply('FENCED leader epoch '..e..' is not the current one "            \
    "('..cur..')')\n"                                                                              \
    "  end\n"                                                                                      \
    "end\n"

/* Lua shared by the scripts that can write a session_completed (append
 * batch, and assign when it dead-letters): the inbox entry for a completion
 * or a reported issue, written in the same script as the event itself, and
 * the end of the session's tell list. Summaries are cut at 200 bytes on a
 * UTF-8 character boundary. The session hash remembers its inbox entry ids
 * (inbox_ids, bounded) so the retention sweep can delete exactly those.
 * m is {workflow, run, inbox_ids, tell_waiting} as the caller read them
 * with its own HMGET (one read per script instead of one per need);
 * inbox() returns the new inbox_ids (kept in m[3], so a second entry of the
 * same script appends to it) for the caller to store with its own HSET, or
 * nil. The tell list is deleted unless tell_waiting says it is empty (then
 * m.cleared: the caller stores tell_waiting 0). tell_waiting is the tell
 * list's length, kept by every script that changes the list (tell, take,
 * this), so the append reads it with the fence instead of an LLEN; a
 * session stored without it (older intake) falls back to LLEN.
 * retire() is the end of a session in the indexes: out of the queue
 * indexes or <p>running (a session is in one or the other: every script
 * that moves it takes it out of one as it puts it in the other), into
 * <p>expiry scored by the time its keys go: the session_completed's stream
 * id (Redis's clock, as TIME would give) + keep, the session's retain_ms as
 * the caller read it. */
/* clang-format off */
#define INBOX_LUA \
    "local function str(v)\n" \
    "  if type(v) == 'string' then return v elseif type(v) == 'number' then return tostring(v) end\n" \
    "  return ''\n" \
    "end\n" \
    "local function cut(s, n)\n" \
    "  if #s <= n then return s end\n" \
    "  local i = n\n" \
    "  while i > 0 and string.byte(s, i + 1) >= 128 and string.byte(s, i + 1) < 192 do i = i - 1 end\n" \
    "  return string.sub(s, 1, i)..'...'\n" \
    "end\n" \
    "local function inbox(p, hk, sid, typ, data, id, m)\n" \
    "  if typ ~= 'session_completed' and typ ~= 'issue_reported' then return nil end\n" \
    "  local ok, d = pcall(cjson.decode, data)\n" \
    "  if not ok or type(d) ~= 'table' then d = {} end\n" \
    "  local e\n" \
    "  if typ == 'session_completed' then\n" \
    "    local summary = str(d.detail)\n" \
    "    if summary == '' and type(d.output) == 'table' then summary = str(d.output.notes) end\n" \
    "    e = {'kind', 'completion', 'outcome', str(d.outcome), 'summary', cut(summary, 200)}\n" \
    "    if m[4] ~= '0' then redis.call('DEL', hk..':tell') m.cleared = true end\n" \
    "  else\n" \
    "    e = {'kind', 'issue', 'severity', str(d.severity), 'issue_kind', str(d.kind),\n" \
    "      'summary', cut(str(d.summary), 200)}\n" \
    "  end\n" \
    "  for _, v in ipairs({'session', sid, 'workflow', str(m[1]), 'ts_ms', string.match(id, '^%d+')}) do\n" \
    "    table.insert(e, v)\n" \
    "  end\n" \
    "  if str(m[2]) ~= '' then table.insert(e, 'run') table.insert(e, m[2]) end\n" \
    "  local iid = redis.call('XADD', p..'inbox', 'MAXLEN', '~', '" STR(WT_STORE_INBOX_CAP) "', '*', unpack(e))\n" \
    "  local ids = str(m[3])\n" \
    "  if #ids >= " STR(WT_STORE_INBOX_IDS_MAX) " then return nil end\n" \
    "  m[3] = ids..iid..' '\n" \
    "  return m[3]\n" \
    "end\n" \
    "local function retire(p, sid, id, keep)\n" \
    "  keep = tonumber(keep or '') or " STR(WT_STORE_RETAIN_DEFAULT_MS) "\n" \
    "  redis.call('ZADD', p..'expiry', tonumber(string.match(id, '^%d+')) + keep, sid)\n" \
    "  if redis.call('HDEL', p..'running', sid) == 0 then\n" \
    "    redis.call('ZREM', p..'queue', sid)\n" \
    "    redis.call('ZREM', p..'queued', sid)\n" \
    "  end\n" \
    "end\n"
/* clang-format on */

/* Intake of one or more sessions (the broker's batch: one script call per
 * up to WT_STORE_INTAKE_BATCH spawns, one leader fence check). ARGV:
 * prefix, leader epoch, fleet cap, then per session the 19 values of
 * intake_args. A session with a worker (nothing waits ahead of it) also
 * takes its first lease (epoch 1, attempt 1, <p>running) instead of being
 * queued, what assign would do right after. A seen key stores and assigns
 * nothing. Returns one {sid, existing, epoch} per session. */
static const char intake_lua[] = LEADER_LUA
    "local p, cap = ARGV[1], ARGV[3]\n"
    "local f = fenced(p, ARGV[2])\n"
    "if f then return f end\n"
    "local out = {}\n"
    "for o = 3, #ARGV - 1, 19 do\n"
    "  local sid, key, created, wf, goal, ctx, parent, prio, tmo, turns, ws, depth, score, run,\n"
    "    phase, keep, req, w, now = unpack(ARGV, o + 1, o + 19)\n"
    "  if key ~= '' and not redis.call('SET', p..'idem:'..key, sid, 'NX', 'EX', 604800) then\n"
    "    table.insert(out, {redis.call('GET', p..'idem:'..key), 1, 0})\n"
    "  else\n"
    "    local hk = p..'session:'..sid\n"
    "    local h = {'id', sid, 'workflow', wf, 'goal', goal, 'context', ctx, 'parent', parent,\n"
    "      'priority', prio, 'timeout_ms', tmo, 'max_turns', turns, 'workspace', ws,\n"
    "      'depth', depth, 'idem_key', key, 'status', 'queued', 'outcome', '', 'worker', w,\n"
    "      'attempt', w == '' and '0' or '1', 'epoch', w == '' and '0' or '1',\n"
    "      'created_ms', created, 'started_ms', '', 'ended_ms', '', 'step', '', 'turns', '0',\n"
    "      'input_tokens', '0', 'output_tokens', '0', 'output', '', 'error', '',\n"
    "      'run', run, 'phase', phase, 'retain_ms', keep, 'require', req, 'tell_waiting', '0'}\n"
    "    if w ~= '' then table.insert(h, 'assigned_ms') table.insert(h, now) end\n"
    "    redis.call('HSET', hk, unpack(h))\n"
    "    redis.call('ZADD', p..'sessions', created, sid)\n"
    "    if run ~= '' then redis.call('ZADD', p..'run:'..run..':sessions', created, sid) end\n"
    "    if w == '' then\n"
    "      redis.call('ZADD', p..'queue', score, sid)\n"
    "    else\n"
    "      redis.call('HSET', p..'running', sid, w)\n"
    "    end\n"
    "    if parent ~= '' then redis.call('ZADD', p..'session:'..parent..':children', created, sid) "
    "end\n"
    "    local ev = {workflow=wf, goal=goal, parent=parent, priority=tonumber(prio)}\n"
    "    if run ~= '' then ev.run = run; ev.phase = phase end\n"
    "    if req ~= '' then ev.require = req end\n"
    "    local data = cjson.encode(ev)\n"
    "    redis.call('XADD', hk..':events', '*', 'type', 'session_queued', 'data', data, 'epoch', "
    "'0')\n"
    "    redis.call('XADD', p..'events', 'MAXLEN', '~', cap, '*', 'type', 'session_queued',\n"
    "      'session', sid, 'data', data)\n"
    "    table.insert(out, {sid, 0, w == '' and 0 or 1})\n"
    "  end\n"
    "end\n"
    "return out\n";

/* Assigns one or more sessions (the broker's dispatch batch: one script
 * call, one leader fence check). ARGV: prefix, leader epoch, now ms, max
 * attempts, fleet cap, then sid, worker per session. Returns per session
 * {epoch, attempt}, or {0, 0, 'NOTFOUND ...'} for one that is not runnable
 * (ended, or dead-lettered here). One HMGET reads all the assign needs
 * (the dead-letter path included), one HSET writes the new lease: epoch and attempt are raised
 * here, in the script, as HINCRBY would. A requeued session (requeued_ms) also leaves
 * <p>queued, the only one there. The in_tool and lost_as marks of an earlier run go (HDEL
 * only when one is there). */
/* clang-format off */
static const char assign_lua[] = LEADER_LUA INBOX_LUA
    "local p, now, maxa, cap = ARGV[1], ARGV[3], tonumber(ARGV[4]), ARGV[5]\n"
    "local f = fenced(p, ARGV[2])\n"
    "if f then return f end\n"
    "local function assign(sid, worker)\n"
    "local hk = p..'session:'..sid\n"
    "local cur = redis.call('HMGET', hk, 'status', 'spared', 'attempt', 'epoch', 'in_tool', "
    "'lost_as', 'workflow', 'run', 'inbox_ids', 'retain_ms', 'tell_waiting', 'requeued_ms')\n"
    "local st = cur[1]\n"
    "if st ~= 'queued' and st ~= 'running' then return {0, 0, 'NOTFOUND session "
    "'..sid..' is '..tostring(st)} end\n"
    "local spared = tonumber(cur[2] or '0') or 0\n"
    "local tried = (tonumber(cur[3] or '0') or 0) - spared\n"
    "if maxa > 0 and (tried >= maxa or spared >= maxa * " STR(WT_STORE_LOST_FACTOR) ") then\n"
    "  local reason = 'gave up after '..tried..' attempts: every worker that ran it was lost'\n"
    "  if tried < maxa then reason = 'gave up after its worker was lost '..spared..' times' end\n"
    "  local data = "
    "'{\"outcome\":\"error\",\"output\":{\"context\":{},\"notes\":\"\",\"artifacts\":[]},"
    "\"detail\":'..cjson.encode(reason)..',\"duration_ms\":0}'\n"
    "  local id = redis.call('XADD', hk..':events', '*', 'type', 'session_completed', 'data', "
    "data, 'epoch', cur[4] or '0')\n"
    "  local hs = {'status', 'failed', 'outcome', 'error', 'error', reason, 'ended_ms', now}\n"
    "  local m = {cur[7], cur[8], cur[9], cur[11]}\n"
    "  local ids = inbox(p, hk, sid, 'session_completed', data, id, m)\n"
    "  if ids then table.insert(hs, 'inbox_ids') table.insert(hs, ids) end\n"
    "  if m.cleared then table.insert(hs, 'tell_waiting') table.insert(hs, '0') end\n"
    "  redis.call('HSET', hk, unpack(hs))\n"
    "  retire(p, sid, id, cur[10])\n"
    "  redis.call('XADD', p..'events', 'MAXLEN', '~', cap, '*', 'type', 'session_completed', "
    "'session', sid, 'data', data)\n"
    "  redis.call('XADD', p..'deadletter', 'MAXLEN', '~', cap, '*', 'session', sid, "
    "'workflow', cur[7] or '', 'attempts', tried, 'reason', reason)\n"
    "  return {0, 0, 'NOTFOUND session '..sid..' dead-lettered: '..reason}\n"
    "end\n"
    "local epoch = (tonumber(cur[4] or '0') or 0) + 1\n"
    "local attempt = (tonumber(cur[3] or '0') or 0) + 1\n"
    "if cur[5] or cur[6] or cur[12] then redis.call('HDEL', hk, 'in_tool', 'lost_as', "
    "'requeued_ms') end\n"
    "redis.call('HSET', hk, 'epoch', string.format('%d', epoch), 'attempt', "
    "string.format('%d', attempt), 'worker', worker, 'assigned_ms', now)\n"
    "redis.call('ZREM', p..'queue', sid)\n"
    "if cur[12] then redis.call('ZREM', p..'queued', sid) end\n"
    "redis.call('HSET', p..'running', sid, worker)\n"
    "return {epoch, attempt}\n"
    "end\n"
    "local out = {}\n"
    "for o = 6, #ARGV - 1, 2 do table.insert(out, assign(ARGV[o], ARGV[o + 1])) end\n"
    "return out\n";
/* clang-format on */

/* Group commit (issue 18): several events of one session in one script,
 * one fence check. ARGV: prefix, sid, epoch, fleet cap, unless-told ('1':
 * the last event is written only if no operator message waits), then per
 * event seq, type, data, fleet ('1'/'0'), nfields, fields... Each event keeps its
 * own idempotency number: one at or below the stored seq of this lease is
 * skipped (an earlier try of the batch was stored but its reply lost), the
 * others are written in order. A stale epoch refuses the whole batch before
 * anything is written; so does an ended session when anything new remains.
 * The events are parsed first, so one HMGET reads everything the script
 * needs: the fence (epoch, status), the stored seq, what the inbox and the
 * retirement need when the batch has a completion or an issue, and the
 * values the '+name' fields add to. Hash updates of the batch are applied
 * together at the end, in one HSET with the new seq and inbox ids (sets:
 * last wins; '+name': summed onto the value read). An unless-told last
 * event not stored yet is left out when messages wait (told = 1: the
 * caller takes them and sends it again, renumbered), so an LLM call's
 * llm_turn_started can go with the events before it in one round trip.
 * Returns {stored, tells, told}. Per event the script does little besides
 * its XADDs (measured with bench/bench_events): the events are held as
 * argument offsets and numbers, not a table each; the stream key is built
 * once; ARGV, redis.call and the string functions are locals (no global
 * lookup per use); '+name' is told by its first byte, not a substring; the
 * inbox and retirement code runs only in a batch that has a completion or
 * an issue. */
/* clang-format off */
static const char append_batch_lua[] = FENCE_LUA INBOX_LUA
    "local A, call, num, byte, sub = ARGV, redis.call, tonumber, string.byte, string.sub\n"
    "local p, sid, epoch, cap = A[1], A[2], A[3], A[4]\n"
    "local hk = p..'session:'..sid\n"
    "local offs, seqs, n, i, ends, iorder, iseen = {}, {}, 0, 6, false, {}, {}\n"
    "local nargv = #A\n"
    "while i <= nargv do\n"
    "  n = n + 1\n"
    "  offs[n] = i\n"
    "  seqs[n] = num(A[i]) or false\n"
    "  local typ = A[i + 1]\n"
    "  if typ == 'session_completed' or typ == 'issue_reported' then ends = true end\n"
    "  local nf = num(A[i + 4])\n"
    "  for j = i + 5, i + 3 + nf, 2 do\n"
    "    local f = A[j]\n"
    "    if byte(f) == 43 and not iseen[f] then\n"
    "      iseen[f] = true; iorder[#iorder + 1] = sub(f, 2)\n"
    "    end\n"
    "  end\n"
    "  i = i + 5 + nf\n"
    "end\n"
    "local q\n"
    "if ends then\n"
    "  q = {'epoch', 'status', 'seq_epoch', 'seq', 'tell_waiting', 'workflow', 'run', 'inbox_ids',\n"
    "    'retain_ms'}\n"
    "else\n"
    "  q = {'epoch', 'status', 'seq_epoch', 'seq', 'tell_waiting'}\n"
    "end\n"
    "local base = #q\n"
    "for k = 1, #iorder do q[base + k] = iorder[k] end\n"
    "local cur = call('HMGET', hk, unpack(q))\n"
    "local stale = fence(sid, epoch, cur)\n"
    "if stale then return stale end\n"
    "local last = 0\n"
    "if cur[3] == epoch then last = num(cur[4]) or 0 end\n"
    "local fresh, lastnew = 0, false\n"
    "for k = 1, n do\n"
    "  local s = seqs[k]\n"
    "  if not s or s > last then fresh = fresh + 1; lastnew = k == n end\n"
    "end\n"
    "local tells, told = num(cur[5] or ''), 0\n"
    "if tells == nil then tells = call('LLEN', hk..':tell') end\n"
    "local upto = n\n"
    "if A[5] == '1' and tells > 0 and lastnew then upto = n - 1; fresh = fresh - 1; told = 1 end\n"
    "if fresh == 0 then return {0, tells, told} end\n"
    "if cur[2] == 'completed' or cur[2] == 'failed' or cur[2] == 'cancelled' then\n"
    "  return redis.error_reply('STALE session '..sid..' already ended')\n"
    "end\n"
    "local ek, fk = hk..':events', p..'events'\n"
    "local meta = {cur[6], cur[7], cur[8], cur[5]}\n"
    "local sets, order, incr, top, ids = {}, {}, {}, last, nil\n"
    "for k = 1, upto do\n"
    "  local s = seqs[k]\n"
    "  if not s or s > last then\n"
    "    local o = offs[k]\n"
    "    local typ, data = A[o + 1], A[o + 2]\n"
    "    local id = call('XADD', ek, '*', 'type', typ, 'data', data, 'epoch', epoch)\n"
    "    for j = o + 5, o + 3 + num(A[o + 4]), 2 do\n"
    "      local f = A[j]\n"
    "      if byte(f) == 43 then\n"
    "        f = sub(f, 2)\n"
    "        incr[f] = (incr[f] or 0) + num(A[j + 1])\n"
    "      else\n"
    "        if sets[f] == nil then order[#order + 1] = f end\n"
    "        sets[f] = A[j + 1]\n"
    "      end\n"
    "    end\n"
    "    if A[o + 3] == '1' then\n"
    "      call('XADD', fk, 'MAXLEN', '~', cap, '*', 'type', typ, 'session', sid, 'data', data)\n"
    "    end\n"
    "    if ends then\n"
    "      ids = inbox(p, hk, sid, typ, data, id, meta) or ids\n"
    "      if typ == 'session_completed' then retire(p, sid, id, cur[9]) tells = 0 end\n"
    "    end\n"
    "    if s and s > top then top = s end\n"
    "  end\n"
    "end\n"
    "local hs = {}\n"
    "for _, f in ipairs(order) do hs[#hs + 1] = f; hs[#hs + 1] = sets[f] end\n"
    "if top > last then\n"
    "  hs[#hs + 1] = 'seq_epoch'; hs[#hs + 1] = epoch\n"
    "  hs[#hs + 1] = 'seq'; hs[#hs + 1] = tostring(top)\n"
    "end\n"
    "if ids then hs[#hs + 1] = 'inbox_ids'; hs[#hs + 1] = ids end\n"
    "if meta.cleared then hs[#hs + 1] = 'tell_waiting'; hs[#hs + 1] = '0' end\n"
    "for k, f in ipairs(iorder) do\n"
    "  if incr[f] ~= nil then\n"
    "    local was = num(sets[f] or cur[base + k]) or 0\n"
    "    hs[#hs + 1] = f; hs[#hs + 1] = string.format('%d', was + incr[f])\n"
    "  end\n"
    "end\n"
    "if #hs > 0 then call('HSET', hk, unpack(hs)) end\n"
    "return {fresh, tells, told}\n";
/* clang-format on */

static const char tell_lua[] =
    "local p, sid, msg = ARGV[1], ARGV[2], ARGV[3]\n"
    "local hk = p..'session:'..sid\n"
    "local st = redis.call('HGET', hk, 'status')\n"
    "if not st then return redis.error_reply('NOTFOUND no session '..sid) end\n"
    "if st == 'completed' or st == 'failed' or st == 'cancelled' then\n"
    "  return redis.error_reply('ENDED session '..sid..' has already ended ('..st..')')\n"
    "end\n"
    "local n = redis.call('LLEN', hk..':tell')\n"
    "if n >= tonumber(ARGV[4]) then\n"
    "  return redis.error_reply('LIMIT '..n..' messages already wait for session '..sid)\n"
    "end\n"
    "local n2 = redis.call('RPUSH', hk..':tell', msg)\n"
    "redis.call('HSET', hk, 'tell_waiting', n2)\n"
    "if ARGV[5] and ARGV[5] ~= '' then\n"
    "  redis.call('XADD', hk..':events', '*', 'type', ARGV[5], 'data', ARGV[6], 'epoch',\n"
    "    redis.call('HGET', hk, 'epoch') or '0')\n"
    "  redis.call('XADD', p..'events', 'MAXLEN', '~', ARGV[7], '*', 'type', ARGV[5], "
    "'session', sid, 'data', ARGV[6])\n"
    "end\n"
    "return n2\n";

/* The take is the only consumer of a tell list. Messages leave the list
 * and enter the event stream in one step, so each is either waiting or
 * recorded, never both and never neither. tell_* fields of the hash keep
 * the last take for an idempotent retry. */
static const char take_lua[] = FENCE_LUA
    "local p, sid, epoch, tseq = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local hk = p..'session:'..sid\n"
    "local tk = hk..':tell'\n"
    "local cur = redis.call('HMGET', hk, 'epoch', 'status', 'tell_epoch', 'tell_seq', "
    "'tell_last')\n"
    "local stale = fence(sid, epoch, cur)\n"
    "if stale then return stale end\n"
    "if tseq ~= '' and cur[3] == epoch and cur[4] == tseq then\n"
    "  return {cur[5], redis.call('LLEN', tk)}\n"
    "end\n"
    "if cur[2] == 'completed' or cur[2] == 'failed' or cur[2] == 'cancelled' then\n"
    "  return redis.error_reply('STALE session '..sid..' already ended')\n"
    "end\n"
    "local msgs = redis.call('LRANGE', tk, 0, tonumber(ARGV[5]) - 1)\n"
    "if #msgs == 0 then redis.call('HSET', hk, 'tell_waiting', '0') return {'[]', 0} "
    "end\n"
    "redis.call('LTRIM', tk, #msgs, -1)\n"
    "for _, m in ipairs(msgs) do\n"
    "  redis.call('XADD', hk..':events', '*', 'type', 'message_received', 'data',\n"
    "    cjson.encode({message = m, from = 'tell'}), 'epoch', epoch)\n"
    "end\n"
    "local out = cjson.encode(msgs)\n"
    "local left = redis.call('LLEN', tk)\n"
    "local hs = {'tell_waiting', left}\n"
    "if tseq ~= '' then\n"
    "  hs = {'tell_waiting', left, 'tell_epoch', epoch, 'tell_seq', tseq, 'tell_last', out}\n"
    "end\n"
    "redis.call('HSET', hk, unpack(hs))\n"
    "return {out, left}\n";

/* ARGV[4]: '1' refund (handback: attempt goes back down), '2' lost with its
 * worker: the run counts against max attempts only when the session was
 * running a tool then (the in_tool mark its worker keeps); else 'spared'
 * rises (attempt minus spared is what max attempts limits); lost_as
 * remembers which, so a reattach can undo it. Returns 0 when the session
 * has ended, 1 when requeued and charged, 2 when not charged. */
static const char requeue_lua[] =
    LEADER_LUA "local p, sid = ARGV[1], ARGV[2]\n"
               "local f = fenced(p, ARGV[6])\n"
               "if f then return f end\n"
               "local hk = p..'session:'..sid\n"
               "local st = redis.call('HGET', hk, 'status')\n"
               "if st ~= 'queued' and st ~= 'running' then return 0 end\n"
               "redis.call('HSET', hk, 'status', 'queued', 'worker', '', 'requeued_ms', ARGV[5])\n"
               "local rc = 1\n"
               "if ARGV[4] == '1' then redis.call('HINCRBY', hk, 'attempt', -1) rc = 2 end\n"
               "if ARGV[4] == '2' then\n"
               "  local t = redis.call('HGET', hk, 'in_tool')\n"
               "  if st == 'running' and t and t ~= '' then\n"
               "    redis.call('HSET', hk, 'lost_as', 'charged')\n"
               "  else\n"
               "    redis.call('HINCRBY', hk, 'spared', 1)\n"
               "    redis.call('HSET', hk, 'lost_as', 'spared')\n"
               "    rc = 2\n"
               "  end\n"
               "end\n"
               "redis.call('HDEL', p..'running', sid)\n"
               "redis.call('ZADD', p..'queue', ARGV[3], sid)\n"
               "redis.call('ZADD', p..'queued', ARGV[5], sid)\n"
               "return rc\n";

/* Gives a requeued session back to the worker that still runs it under its
 * old lease (the broker had judged that worker dead and requeued it). The
 * caller took it from its run queue, so no ASSIGN raised the epoch since;
 * the old holder's writes were accepted meanwhile (its session_started may
 * have set status running again). Not once it has ended. Undoes the
 * requeue's accounting: the run goes on, so it was neither charged nor
 * lost. */
static const char reattach_lua[] = LEADER_LUA
    "local p, sid, worker = ARGV[1], ARGV[2], ARGV[3]\n"
    "local f = fenced(p, ARGV[4])\n"
    "if f then return f end\n"
    "local hk = p..'session:'..sid\n"
    "local cur = redis.call('HMGET', hk, 'status', 'lost_as', 'epoch', 'started_ms')\n"
    "if (cur[1] ~= 'queued' and cur[1] ~= 'running') or cur[3] == '0' then return 0 end\n"
    "if cur[2] == 'spared' then redis.call('HINCRBY', hk, 'spared', -1) end\n"
    "redis.call('HDEL', hk, 'lost_as', 'requeued_ms')\n"
    "local st = cur[1]\n"
    "if cur[4] and cur[4] ~= '' then st = 'running' end\n"
    "redis.call('HSET', hk, 'status', st, 'worker', worker)\n"
    "redis.call('ZREM', p..'queue', sid)\n"
    "redis.call('ZREM', p..'queued', sid)\n"
    "redis.call('HSET', p..'running', sid, worker)\n"
    "return 1\n";

/* The oldest waiter's entry into the queue (ms), '' when none waits. A
 * session entered the queue at its created_ms (intake) unless it was
 * requeued: then <p>queued holds it by the ms it re-entered. <p>queue is
 * scored (100 - priority) * 1e13 + created_ms, one band of 1e13 per
 * priority, so the first member of each band that was not requeued is
 * that band's oldest fresh waiter: one look per priority present, however
 * long the queue. A <p>queued member no longer in <p>queue is a stale entry
 * (left by a version that indexed every queued session there): skipped.
 * ARGV: prefix. */
static const char oldest_lua[] =
    "local q, rq = ARGV[1]..'queue', ARGV[1]..'queued'\n"
    "local best\n"
    "for i = 0, 63 do\n"
    "  local r = redis.call('ZRANGE', rq, i, i, 'WITHSCORES')\n"
    "  if not r[1] then break end\n"
    "  if redis.call('ZSCORE', q, r[1]) then best = tonumber(r[2]) break end\n"
    "end\n"
    "local rank, total = 0, redis.call('ZCARD', q)\n"
    "while rank < total do\n"
    "  local got = redis.call('ZRANGE', q, rank, rank + 15, 'WITHSCORES')\n"
    "  if #got == 0 then break end\n"
    "  local found\n"
    "  for i = 1, #got, 2 do\n"
    "    if not redis.call('ZSCORE', rq, got[i]) then found = tonumber(got[i + 1]) break end\n"
    "  end\n"
    "  if found then\n"
    "    local band = math.floor(found / 1e13)\n"
    "    local created = found - band * 1e13\n"
    "    if best == nil or created < best then best = created end\n"
    "    rank = redis.call('ZCOUNT', q, '-inf', '('..string.format('%.0f', (band + 1) * 1e13))\n"
    "  else\n"
    "    rank = rank + #got / 2\n"
    "  end\n"
    "end\n"
    "if best == nil then return '' end\n"
    "return string.format('%.0f', best)\n";

/* The broker leader lease (DESIGN 13). ARGV: prefix, id, the caller's
 * epoch (0 = it does not hold it), ttl ms. The holder renews; anyone takes
 * a lease that is gone, with a new epoch (INCR <p>broker:epoch), or held
 * by ARGV[5] (a holder the caller knows to be dead). Returns
 * {epoch the caller now holds or 0, holder id}. */
static const char lease_lua[] =
    "local k, id, mine, ttl = ARGV[1]..'broker:leader', ARGV[2], ARGV[3], ARGV[4]\n"
    "local v = redis.call('GET', k)\n"
    "if v then\n"
    "  local e, who = string.match(v, '^(%d+) (.*)$')\n"
    "  if who == id and e == mine then redis.call('PEXPIRE', k, ttl) return {tonumber(e), id} end\n"
    "  if ARGV[5] == '' or who ~= ARGV[5] then return {0, tostring(who)} end\n"
    "end\n"
    "local e = redis.call('INCR', ARGV[1]..'broker:epoch')\n"
    "redis.call('SET', k, e..' '..id, 'PX', ttl)\n"
    "return {e, id}\n";

/* Gives the lease up (clean shutdown) if the caller still holds it. */
static const char unlease_lua[] =
    "local k = ARGV[1]..'broker:leader'\n"
    "if redis.call('GET', k) == ARGV[3]..' '..ARGV[2] then return redis.call('DEL', k) end\n"
    "return 0\n";

void
wt_store_init(wt_store_t *self, wt_redis_t *redis, const char *prefix)
{
    memset(self, 0, sizeof *self);
    self->redis = redis;
    if (prefix == NULL)
        prefix = getenv("WORKTRAIN_PREFIX");
    snprintf(self->prefix, sizeof self->prefix, "%s", prefix && *prefix ? prefix : "wt:");
    wt_redis_script_init(&self->intake, intake_lua);
    wt_redis_script_init(&self->assign, assign_lua);
    wt_redis_script_init(&self->append_batch, append_batch_lua);
    wt_redis_script_init(&self->requeue, requeue_lua);
    wt_redis_script_init(&self->reattach, reattach_lua);
    wt_redis_script_init(&self->tell, tell_lua);
    wt_redis_script_init(&self->take, take_lua);
    wt_redis_script_init(&self->lease, lease_lua);
    wt_redis_script_init(&self->unlease, unlease_lua);
    wt_redis_script_init(&self->oldest, oldest_lua);
}

char *
wt_store_key(const wt_store_t *self, char *out, size_t cap, const char *fmt, ...)
{
    int n = snprintf(out, cap, "%s", self->prefix);
    if (n < 0 || (size_t)n >= cap)
        return out;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
    return out;
}

int
wt_store_load_scripts(wt_store_t *self, wt_err_t *err)
{
    if (wt_redis_script_load(self->redis, &self->intake, err) != 0 ||
        wt_redis_script_load(self->redis, &self->assign, err) != 0 ||
        wt_redis_script_load(self->redis, &self->append_batch, err) != 0 ||
        wt_redis_script_load(self->redis, &self->requeue, err) != 0 ||
        wt_redis_script_load(self->redis, &self->reattach, err) != 0 ||
        wt_redis_script_load(self->redis, &self->tell, err) != 0 ||
        wt_redis_script_load(self->redis, &self->take, err) != 0 ||
        wt_redis_script_load(self->redis, &self->lease, err) != 0 ||
        wt_redis_script_load(self->redis, &self->unlease, err) != 0 ||
        wt_redis_script_load(self->redis, &self->oldest, err) != 0)
        return -1;
    return 0;
}

/* The leader epoch argument of the fenced scripts: "" when unfenced. */
static void
leader_arg(const wt_store_t *self, char *out, size_t cap)
{
    out[0] = '\0';
    if (self->leader_epoch > 0)
        snprintf(out, cap, "%lld", (long long)self->leader_epoch);
}

int
wt_store_fenced(const wt_err_t *err)
{
    return err != NULL && strstr(err->msg, "FENCED") != NULL;
}

int64_t
wt_store_lease(wt_store_t *self, const char *id, int64_t mine, int ttl_ms, const char *dead,
               char *holder, size_t cap, wt_err_t *err)
{
    char ep[24], ttl[16];
    snprintf(ep, sizeof ep, "%lld", (long long)mine);
    snprintf(ttl, sizeof ttl, "%d", ttl_ms);
    const char *argv[] = {self->prefix, id, ep, ttl, dead ? dead : ""};
    redisReply *r = wt_redis_eval(self->redis, &self->lease, 0, 5, argv, NULL, err);
    if (r == NULL)
        return -1;
    int64_t rc = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_STRING) {
        rc = r->element[0]->integer;
        if (holder)
            snprintf(holder, cap, "%s", r->element[1]->str);
    } else
        wt_err_set(err, WT_EPROTO, "lease script returned an unexpected reply (type %d%s%.200s)",
                   r->type, r->type == REDIS_REPLY_ERROR ? ": " : "",
                   r->type == REDIS_REPLY_ERROR && r->str ? r->str : "");
    freeReplyObject(r);
    return rc;
}

int
wt_store_unlease(wt_store_t *self, const char *id, int64_t mine, wt_err_t *err)
{
    char ep[24];
    snprintf(ep, sizeof ep, "%lld", (long long)mine);
    const char *argv[] = {self->prefix, id, ep};
    redisReply *r = wt_redis_eval(self->redis, &self->unlease, 0, 3, argv, NULL, err);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* Queue score: higher priority first, then FIFO by creation time. */
static double
queue_score(int priority, int64_t created_ms)
{
    return (double)(100 - priority) * 1e13 + (double)created_ms;
}

/* v in decimal at out (cap >= 21); what snprintf("%lld") writes, without
 * its format parsing (8 numbers per session on the intake path). */
static void
fmt_i64(char *out, int64_t v)
{
    char d[24];
    int k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        d[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *out++ = '-';
    while (k)
        *out++ = d[--k];
    *out = '\0';
}

/* The per-session values of the intake script, as text. */
typedef struct intake_nums {
    char created[24], prio[24], tmo[24], turns[24], depth[24], score[40], keep[24], now[24];
} intake_nums_t;

int
wt_store_intake_append_n(wt_store_t *self, const wt_store_spawn_t *s, int n, wt_err_t *err)
{
    if (n < 1 || n > WT_STORE_INTAKE_BATCH)
        return wt_err_set(err, WT_EINVAL, "intake of %d sessions in one script (1..%d)", n,
                          WT_STORE_INTAKE_BATCH);
    char cap[16], leader[24];
    snprintf(cap, sizeof cap, "%d", WT_STORE_EVENTS_CAP);
    leader_arg(self, leader, sizeof leader);
    intake_nums_t *v = wt_xcalloc((size_t)n, sizeof *v);
    int argc = 3 + 19 * n, a = 0;
    const char **argv = wt_xcalloc((size_t)argc, sizeof *argv);
    argv[a++] = self->prefix;
    argv[a++] = leader;
    argv[a++] = cap;
    for (int i = 0; i < n; i++) {
        const wt_store_spawn_t *x = &s[i];
        fmt_i64(v[i].created, x->created_ms);
        fmt_i64(v[i].prio, x->priority);
        fmt_i64(v[i].tmo, x->timeout_ms);
        fmt_i64(v[i].turns, x->max_turns);
        fmt_i64(v[i].depth, x->depth);
        /* queue_score as "%.0f" wrote it: an integer below 2^53, so exact */
        fmt_i64(v[i].score, (int64_t)(100 - x->priority) * 10000000000000LL + x->created_ms);
        fmt_i64(v[i].keep, x->retain_ms > 0 ? x->retain_ms : WT_STORE_RETAIN_DEFAULT_MS);
        memcpy(v[i].now, v[i].created, sizeof v[i].now);
        argv[a++] = x->sid;
        argv[a++] = x->idem_key ? x->idem_key : "";
        argv[a++] = v[i].created;
        argv[a++] = x->workflow;
        argv[a++] = x->goal;
        argv[a++] = x->context_json && *x->context_json ? x->context_json : "{}";
        argv[a++] = x->parent ? x->parent : "";
        argv[a++] = v[i].prio;
        argv[a++] = v[i].tmo;
        argv[a++] = v[i].turns;
        argv[a++] = x->workspace ? x->workspace : "";
        argv[a++] = v[i].depth;
        argv[a++] = v[i].score;
        argv[a++] = x->run ? x->run : "";
        argv[a++] = x->phase ? x->phase : "";
        argv[a++] = v[i].keep;
        argv[a++] = x->require ? x->require : "";
        argv[a++] = x->worker ? x->worker : "";
        argv[a++] = v[i].now;
    }
    int rc = wt_redis_append_eval(self->redis, &self->intake, 0, argc, argv, NULL, err);
    free(argv);
    free(v);
    return rc;
}

int
wt_store_intake_reply_n(wt_store_t *self, wt_store_intake_t *out, int n, wt_err_t *err)
{
    redisReply *r = wt_redis_get_reply(self->redis, err);
    if (r == NULL)
        return -1;
    int ok = r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)n;
    for (int i = 0; ok && i < n; i++) {
        const redisReply *e = r->element[i];
        ok = e->type == REDIS_REPLY_ARRAY && e->elements == 3 &&
             e->element[0]->type == REDIS_REPLY_STRING &&
             e->element[1]->type == REDIS_REPLY_INTEGER &&
             e->element[2]->type == REDIS_REPLY_INTEGER;
        if (ok) {
            snprintf(out[i].sid, sizeof out[i].sid, "%s", e->element[0]->str);
            out[i].existing = (int)e->element[1]->integer;
            out[i].epoch = e->element[2]->integer;
        }
    }
    freeReplyObject(r);
    return ok ? 0 : wt_err_set(err, WT_EPROTO, "intake script returned an unexpected reply");
}

int
wt_store_intake_append(wt_store_t *self, const wt_store_spawn_t *s, wt_err_t *err)
{
    return wt_store_intake_append_n(self, s, 1, err);
}

int
wt_store_intake_reply(wt_store_t *self, char *sid_out, size_t cap, int *existing, int64_t *epoch,
                      wt_err_t *err)
{
    wt_store_intake_t one;
    if (wt_store_intake_reply_n(self, &one, 1, err) != 0)
        return -1;
    snprintf(sid_out, cap, "%s", one.sid);
    *existing = one.existing;
    if (epoch != NULL)
        *epoch = one.epoch;
    return 0;
}

int
wt_store_assign_append_n(wt_store_t *self, const char *const *sids, const char *const *workers,
                         int n, int64_t now_ms, int max_attempts, wt_err_t *err)
{
    if (n < 1 || n > WT_STORE_ASSIGN_BATCH)
        return wt_err_set(err, WT_EINVAL, "assign of %d sessions in one script (1..%d)", n,
                          WT_STORE_ASSIGN_BATCH);
    char now[24], maxa[16], cap[16], leader[24];
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(maxa, sizeof maxa, "%d", max_attempts);
    snprintf(cap, sizeof cap, "%d", WT_STORE_EVENTS_CAP);
    leader_arg(self, leader, sizeof leader);
    int argc = 5 + 2 * n, a = 0;
    const char **argv = wt_xcalloc((size_t)argc, sizeof *argv);
    argv[a++] = self->prefix;
    argv[a++] = leader;
    argv[a++] = now;
    argv[a++] = maxa;
    argv[a++] = cap;
    for (int i = 0; i < n; i++) {
        argv[a++] = sids[i];
        argv[a++] = workers[i];
    }
    int rc = wt_redis_append_eval(self->redis, &self->assign, 0, argc, argv, NULL, err);
    free(argv);
    return rc;
}

int
wt_store_assign_reply_n(wt_store_t *self, wt_store_assigned_t *out, int n, wt_err_t *err)
{
    wt_err_t e = {0};
    redisReply *r = wt_redis_get_reply(self->redis, &e);
    if (r == NULL) {
        if (wt_store_fenced(&e))
            e.code = WT_ESTALE;
        if (err)
            *err = e;
        return -1;
    }
    int ok = r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)n;
    for (int i = 0; ok && i < n; i++) {
        const redisReply *x = r->element[i];
        ok = x->type == REDIS_REPLY_ARRAY && x->elements >= 2 &&
             x->element[0]->type == REDIS_REPLY_INTEGER &&
             x->element[1]->type == REDIS_REPLY_INTEGER;
        if (!ok)
            break;
        out[i] = (wt_store_assigned_t){.epoch = x->element[0]->integer,
                                       .attempt = (int)x->element[1]->integer};
        if (x->elements == 3 && x->element[2]->type == REDIS_REPLY_STRING) {
            const char *m = x->element[2]->str;
            const char *t = strncmp(m, "NOTFOUND ", 9) == 0 ? m + 9 : m;
            wt_err_set(&out[i].err, WT_ENOTFOUND, "%s", t);
        }
    }
    freeReplyObject(r);
    return ok ? 0 : wt_err_set(err, WT_EPROTO, "assign script returned an unexpected reply");
}

int
wt_store_assign_append(wt_store_t *self, const char *sid, const char *worker, int64_t now_ms,
                       int max_attempts, wt_err_t *err)
{
    return wt_store_assign_append_n(self, &sid, &worker, 1, now_ms, max_attempts, err);
}

int
wt_store_assign_reply(wt_store_t *self, int64_t *epoch, int *attempt, wt_err_t *err)
{
    wt_store_assigned_t one;
    if (wt_store_assign_reply_n(self, &one, 1, err) != 0)
        return -1;
    if (one.err.code != WT_OK) {
        if (err)
            *err = one.err;
        return -1;
    }
    *epoch = one.epoch;
    *attempt = one.attempt;
    return 0;
}

int
wt_store_requeue(wt_store_t *self, const char *sid, int priority, int64_t created_ms,
                 wt_store_requeue_t how, wt_err_t *err)
{
    char score[40], mode[4];
    snprintf(score, sizeof score, "%.0f", queue_score(priority, created_ms));
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)wt_clock_now_ms());
    snprintf(mode, sizeof mode, "%d", (int)how);
    char leader[24];
    leader_arg(self, leader, sizeof leader);
    const char *argv[] = {self->prefix, sid, score, mode, now, leader};
    redisReply *r = wt_redis_eval(self->redis, &self->requeue, 0, 6, argv, NULL, err);
    if (r == NULL)
        return -1;
    int rc = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : 1;
    freeReplyObject(r);
    return rc;
}

int
wt_store_reattach(wt_store_t *self, const char *sid, const char *worker, wt_err_t *err)
{
    char leader[24];
    leader_arg(self, leader, sizeof leader);
    const char *argv[] = {self->prefix, sid, worker, leader};
    redisReply *r = wt_redis_eval(self->redis, &self->reattach, 0, 4, argv, NULL, err);
    if (r == NULL)
        return -1;
    int rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return rc;
}

int
wt_store_append(wt_store_t *self, const char *sid, int64_t epoch, int64_t seq, const char *type,
                const char *data, int fleet, int nfields, const char **fields, wt_err_t *err)
{
    return wt_store_append_tells(self, sid, epoch, seq, type, data, fleet, nfields, fields, NULL,
                                 err);
}

/* One event is a batch of one: the same script, fence and idempotency. */
int
wt_store_append_tells(wt_store_t *self, const char *sid, int64_t epoch, int64_t seq,
                      const char *type, const char *data, int fleet, int nfields,
                      const char **fields, int64_t *tells_waiting, wt_err_t *err)
{
    if (nfields < 0 || nfields % 2 != 0 || nfields > 48)
        return wt_err_set(err, WT_EINVAL, "append: %d hash fields (need pairs, max 48)", nfields);
    wt_store_event_t ev = {type, data, fleet, seq, nfields, fields, 0};
    int64_t tells = 0;
    if (wt_store_append_batch(self, sid, epoch, &ev, 1, &tells, NULL, NULL, err) != 0)
        return -1;
    if (tells_waiting != NULL)
        *tells_waiting = tells;
    return 0;
}

int
wt_store_append_batch(wt_store_t *self, const char *sid, int64_t epoch, const wt_store_event_t *ev,
                      int n, int64_t *tells_waiting, int *stored, int *told, wt_err_t *err)
{
    int argc = 5;
    for (int i = 0; i < n; i++) {
        if (ev[i].unless_told && i != n - 1)
            return wt_err_set(err, WT_EINVAL,
                              "append batch: event %d (%s) is unless-told but not the last", i,
                              ev[i].type);
        if (ev[i].nfields < 0 || ev[i].nfields % 2 != 0 || ev[i].nfields > 48)
            return wt_err_set(err, WT_EINVAL,
                              "append batch: event %d (%s) has %d hash fields "
                              "(need pairs, max 48)",
                              i, ev[i].type, ev[i].nfields);
        argc += 5 + ev[i].nfields;
    }
    if (n < 1 || n > WT_STORE_BATCH_MAX || argc > WT_STORE_BATCH_ARGS)
        return wt_err_set(err, WT_ELIMIT, "append batch: %d events, %d args (max %d, %d)", n, argc,
                          WT_STORE_BATCH_MAX, WT_STORE_BATCH_ARGS);
    /* On the heap: a session thread's stack stays small (its touched pages
     * stay resident for the thread's life). */
    char ep[24] = "", cap[16], (*nums)[2][24] = wt_xcalloc((size_t)n, sizeof *nums);
    if (epoch >= 0)
        snprintf(ep, sizeof ep, "%lld", (long long)epoch);
    snprintf(cap, sizeof cap, "%d", WT_STORE_EVENTS_CAP);
    const char **argv = wt_xcalloc((size_t)argc, sizeof *argv);
    int a = 0;
    argv[a++] = self->prefix;
    argv[a++] = sid;
    argv[a++] = ep;
    argv[a++] = cap;
    argv[a++] = n > 0 && ev[n - 1].unless_told ? "1" : "0";
    for (int i = 0; i < n; i++) {
        snprintf(nums[i][0], sizeof nums[i][0], "%lld", (long long)ev[i].seq);
        snprintf(nums[i][1], sizeof nums[i][1], "%d", ev[i].nfields);
        argv[a++] = ev[i].seq > 0 ? nums[i][0] : "";
        argv[a++] = ev[i].type;
        argv[a++] = ev[i].data ? ev[i].data : "{}";
        argv[a++] = ev[i].fleet ? "1" : "0";
        argv[a++] = nums[i][1];
        for (int j = 0; j < ev[i].nfields; j++)
            argv[a++] = ev[i].fields[j];
    }
    redisReply *r = wt_redis_eval(self->redis, &self->append_batch, 0, argc, argv, NULL, err);
    free(argv);
    free(nums);
    if (r == NULL)
        return -1;
    int ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
             r->element[0]->type == REDIS_REPLY_INTEGER &&
             r->element[1]->type == REDIS_REPLY_INTEGER &&
             r->element[2]->type == REDIS_REPLY_INTEGER;
    if (ok) {
        if (stored)
            *stored = (int)r->element[0]->integer;
        if (tells_waiting)
            *tells_waiting = r->element[1]->integer;
        if (told)
            *told = (int)r->element[2]->integer;
    }
    freeReplyObject(r);
    return ok ? 0 : wt_err_set(err, WT_EPROTO, "append batch script returned an unexpected reply");
}

static int
valid_kind(const char *kind)
{
    size_t n = kind ? strlen(kind) : 0;
    if (n == 0 || n > 31)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((kind[i] >= 'a' && kind[i] <= 'z') || kind[i] == '_'))
            return 0;
    return 1;
}

int
wt_store_inbox_add(wt_store_t *self, const char *kind, int nfields, const char **fields,
                   wt_err_t *err)
{
    if (!valid_kind(kind))
        return wt_err_set(err, WT_EINVAL, "inbox entry: bad kind '%s' (want 1-31 chars of a-z _)",
                          kind ? kind : "(null)");
    if (nfields < 0 || nfields % 2 != 0 || nfields > 32)
        return wt_err_set(err, WT_EINVAL, "inbox entry: %d fields (need pairs, max 32)", nfields);
    char key[128], now[24];
    wt_store_key(self, key, sizeof key, "inbox");
    const char *argv[8 + 32 + 2] = {"XADD", key,    "MAXLEN", "~", STR(WT_STORE_INBOX_CAP),
                                    "*",    "kind", kind};
    int argc = 8, has_ts = 0;
    for (int i = 0; i < nfields; i += 2) {
        if (fields[i] == NULL || fields[i + 1] == NULL || fields[i][0] == '\0')
            return wt_err_set(err, WT_EINVAL, "inbox entry: field %d is empty", i / 2);
        if (strcmp(fields[i], "kind") == 0)
            return wt_err_set(err, WT_EINVAL, "inbox entry: 'kind' is given as its own argument");
        has_ts |= strcmp(fields[i], "ts_ms") == 0;
        argv[argc++] = fields[i];
        argv[argc++] = fields[i + 1];
    }
    if (!has_ts) {
        snprintf(now, sizeof now, "%lld", (long long)wt_clock_now_ms());
        argv[argc++] = "ts_ms";
        argv[argc++] = now;
    }
    redisReply *r = wt_redis_commandv(self->redis, argc, argv, NULL, err);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* Turns a script's "CODE text" error into err with code and just text. */
static int
script_error(const wt_err_t *e, const char *word, wt_code_t code, wt_err_t *err)
{
    const char *at = strstr(e->msg, word);
    if (at == NULL) {
        if (err)
            *err = *e;
        return -1;
    }
    return wt_err_set(err, code, "%s", at + strlen(word) + 1);
}

int
wt_store_tell(wt_store_t *self, const char *sid, const char *message, wt_err_t *err)
{
    return wt_store_tell_event(self, sid, message, NULL, NULL, err);
}

int
wt_store_tell_event(wt_store_t *self, const char *sid, const char *message, const char *ev_type,
                    const char *ev_data, wt_err_t *err)
{
    size_t n = strlen(message);
    if (n == 0)
        return wt_err_set(err, WT_ELIMIT, "message for session %s is empty", sid);
    if (n > WT_STORE_TELL_MAX_BYTES)
        return wt_err_set(err, WT_ELIMIT, "message for session %s is %zu bytes > max %d", sid, n,
                          WT_STORE_TELL_MAX_BYTES);
    json_t *utf8 = json_stringn(message, n); /* NULL when not valid UTF-8 */
    if (utf8 == NULL)
        return wt_err_set(err, WT_EINVAL, "message for session %s is not valid UTF-8", sid);
    json_decref(utf8);
    char maxw[16];
    snprintf(maxw, sizeof maxw, "%d", WT_STORE_TELL_MAX_WAITING);
    char cap[16];
    snprintf(cap, sizeof cap, "%d", WT_STORE_EVENTS_CAP);
    const char *argv[] = {
        self->prefix, sid, message, maxw, ev_type ? ev_type : "", ev_data ? ev_data : "{}", cap};
    wt_err_t e = {0};
    redisReply *r = wt_redis_eval(self->redis, &self->tell, 0, 7, argv, NULL, &e);
    if (r != NULL) {
        freeReplyObject(r);
        return 0;
    }
    if (strstr(e.msg, "NOTFOUND ") != NULL)
        return script_error(&e, "NOTFOUND", WT_ENOTFOUND, err);
    if (strstr(e.msg, "ENDED ") != NULL)
        return script_error(&e, "ENDED", WT_ESTALE, err);
    if (strstr(e.msg, "LIMIT ") != NULL)
        return script_error(&e, "LIMIT", WT_ELIMIT, err);
    if (err)
        *err = e;
    return -1;
}

json_t *
wt_store_tell_take(wt_store_t *self, const char *sid, int64_t epoch, int64_t take_seq,
                   int64_t *left, wt_err_t *err)
{
    char ep[24] = "", sq[24] = "", maxn[16];
    if (epoch >= 0)
        snprintf(ep, sizeof ep, "%lld", (long long)epoch);
    if (take_seq > 0)
        snprintf(sq, sizeof sq, "%lld", (long long)take_seq);
    snprintf(maxn, sizeof maxn, "%d", WT_STORE_TELL_TAKE_MAX);
    const char *argv[] = {self->prefix, sid, ep, sq, maxn};
    redisReply *r = wt_redis_eval(self->redis, &self->take, 0, 5, argv, NULL, err);
    if (r == NULL)
        return NULL;
    json_t *msgs = NULL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_INTEGER) {
        /* cjson encodes an empty table as {}: both mean no messages */
        msgs = strcmp(r->element[0]->str, "{}") == 0 ? json_array()
                                                     : json_loads(r->element[0]->str, 0, NULL);
        if (left != NULL)
            *left = r->element[1]->integer;
    }
    freeReplyObject(r);
    if (!json_is_array(msgs)) {
        json_decref(msgs);
        wt_err_set(err, WT_EPROTO, "tell take of session %s: unexpected script reply", sid);
        return NULL;
    }
    return msgs;
}

int
wt_store_oldest_queued(wt_store_t *self, int64_t *entered_ms, wt_err_t *err)
{
    const char *argv[] = {self->prefix};
    redisReply *r = wt_redis_eval(self->redis, &self->oldest, 0, 1, argv, NULL, err);
    if (r == NULL)
        return -1;
    int found = r->type == REDIS_REPLY_STRING && r->len > 0;
    if (found && entered_ms)
        *entered_ms = strtoll(r->str, NULL, 10);
    freeReplyObject(r);
    return found;
}

int
wt_store_status_terminal(const char *status)
{
    return status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
                      strcmp(status, "cancelled") == 0);
}

int
wt_store_expired(wt_store_t *self, const char *sid, int64_t *expired_ms, wt_err_t *err)
{
    char key[128];
    redisReply *r = wt_redis_command(self->redis, err, "ZSCORE %s %s",
                                     wt_store_key(self, key, sizeof key, "expired"), sid);
    if (r == NULL)
        return -1;
    int found = r->type == REDIS_REPLY_STRING;
    if (found && expired_ms)
        *expired_ms = strtoll(r->str, NULL, 10);
    freeReplyObject(r);
    return found;
}

static json_t *
expired_result(wt_store_t *self, const char *sid, wt_err_t *err)
{
    int64_t when = 0;
    int e = wt_store_expired(self, sid, &when, err);
    if (e <= 0) {
        if (e == 0)
            wt_err_set(err, WT_ENOTFOUND, "no session '%s'", sid);
        return NULL;
    }
    char iso[40], detail[160];
    wt_clock_format_iso(when, iso, sizeof iso);
    snprintf(detail, sizeof detail, "session expired at %s (retention): its record is deleted",
             iso);
    return json_pack("{s:s,s:s,s:s,s:s,s:{s:{},s:s,s:[]},s:s}", "session", sid, "workflow", "",
                     "status", "expired", "outcome", "expired", "output", "context", "notes", "",
                     "artifacts", "detail", detail);
}

json_t *
wt_store_result(wt_store_t *self, const char *sid, wt_err_t *err)
{
    char key[128];
    wt_store_key(self, key, sizeof key, "session:%s", sid);
    redisReply *r =
        wt_redis_command(self->redis, err, "HMGET %s workflow status outcome output error", key);
    if (r == NULL)
        return NULL;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 5 ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return expired_result(self, sid, err);
    }
#define S(i) (r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "")
    json_t *output = NULL;
    if (S(3)[0])
        output = json_loads(S(3), 0, NULL);
    if (output == NULL)
        output = json_pack("{s:{},s:s,s:[]}", "context", "notes", "", "artifacts");
    json_t *res = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "session", sid, "workflow", S(0), "status",
                            S(1), "outcome", S(2), "output", output, "detail", S(4));
#undef S
    freeReplyObject(r);
    return res;
}
