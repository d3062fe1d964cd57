/* WorkTrain console - the page's only script: plain JS, no framework, no
 * build step, served by `worktrain console` next to index.html (API.md).
 *
 * How it is structured:
 *   1. helpers - api() fetches JSON (the token cookie rides along with
 *      credentials: 'same-origin'); el() builds elements. Text that came from
 *      an agent or a user (goals, notes, tool summaries, outputs, ids) only
 *      ever enters the DOM as text nodes / textContent, never as HTML.
 *   2. tree    - pipeline runs (run -> phases -> session nodes -> spawned
 *      children) and standalone sessions (roots). Every <li> is kept in a Map
 *      by id and updated in place, so expanded state and selection survive
 *      updates. Lists are paged (50 + "more"); nothing loads everything.
 *   3. live    - one EventSource on /api/events. An event marks its run or
 *      session dirty; a debounced flush refetches only those (never a full
 *      reload). Run records change without an event when a run ends, so the
 *      runs list head is also re-read with the fleet panel.
 *   4. detail  - the clicked session: summary, steps with notes, LLM turns
 *      with tokens, tool calls, issues, output; followed live over the
 *      session's own SSE stream while it runs.
 *   5. fleet   - /api/stats and /api/workers, polled every few seconds.
 * Tests find things by data-testid (node-<sid>, run-<id>, phase-<run>-<phase>,
 * detail-*) and read states from data-status. */
'use strict';
(function () {
  const PAGE = 50;
  const DEBOUNCE_MS = 250;
  const FLEET_MS = 3000;
  const TYPES = ['session_queued', 'session_started', 'llm_turn_started', 'llm_turn_completed',
    'tool_call_started', 'tool_call_completed', 'tool_call_failed', 'step_advanced',
    'step_skipped', 'issue_reported', 'agent_stuck', 'session_resumed', 'child_spawned', 'session_completed'];
  const $ = (id) => document.getElementById(id);

  /* ---- 1. helpers ---- */

  async function api(path) {
    const r = await fetch(path, {credentials: 'same-origin', headers: {Accept: 'application/json'}});
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) throw new Error(path + ': ' + ((body && body.error) || r.status + ' ' + r.statusText));
    return body;
  }

  // el('span', {class: 'x'}, 'text', child): strings become text nodes.
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {}))
      if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
    for (const k of kids)
      if (k !== undefined && k !== null && k !== false)
        e.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }

  function showError(e) {
    const box = $('error');
    box.textContent = e ? String(e.message || e) : '';
    box.hidden = !e;
  }

  function ago(ms) {
    if (!ms) return '';
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 60 ? s + 's' : s < 3600 ? Math.floor(s / 60) + 'm' : Math.floor(s / 3600) + 'h';
  }
  const dur = (ms) => (ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s');
  const terminal = (st) => st === 'completed' || st === 'failed' || st === 'cancelled';
  const enc = encodeURIComponent;

  // A tool result: short ones inline, long ones as their first line that
  // opens to the whole text.
  function longText(text) {
    const t = String(text || ''), first = t.split('\n', 1)[0];
    if (t.length <= 160 && first === t) return el('span', {class: 'notes'}, t);
    return el('details', {}, el('summary', {}, first.length > 160 ? first.slice(0, 159) + '…' : first),
      el('pre', {class: 'notes'}, t));
  }

  // Makes ul's children exactly `items`, in order, moving existing ones.
  function setChildren(ul, items) {
    let cur = ul.firstChild;
    for (const it of items) {
      if (it === cur) cur = cur.nextSibling;
      else ul.insertBefore(it, cur);
    }
    while (cur) {
      const next = cur.nextSibling;
      forget(cur);
      ul.removeChild(cur);
      cur = next;
    }
  }

  /* ---- 2. tree ---- */

  const sessLi = new Map(); // sid -> <li>
  const runLi = new Map(); // run id -> <li>
  const phaseLi = new Map(); // run id + '\n' + phase id -> <li>

  function forget(li) {
    if (!(li instanceof Element)) return;
    for (const n of [li, ...li.querySelectorAll('li')]) {
      if (n.dataset.sid && sessLi.get(n.dataset.sid) === n) sessLi.delete(n.dataset.sid);
      if (n.dataset.runId && runLi.get(n.dataset.runId) === n) runLi.delete(n.dataset.runId);
      if (n.dataset.phaseKey && phaseLi.get(n.dataset.phaseKey) === n) phaseLi.delete(n.dataset.phaseKey);
    }
  }

  function row(testid, onclick, ...cells) {
    const r = el('div', {class: 'row', 'data-testid': testid}, ...cells);
    r.addEventListener('click', onclick);
    return r;
  }

  // A session node; `s` is a summary or a tree node (with `nodes`).
  function sessionNode(s) {
    let li = sessLi.get(s.id);
    if (!li) {
      li = el('li', {class: 'node', 'data-testid': 'node-' + s.id, 'data-sid': s.id});
      const tog = el('button', {type: 'button', class: 'tog', hidden: true, 'aria-label': 'children'}, '▸');
      li.append(row('row-' + s.id, (ev) => (ev.target === tog ? toggleSession(li) : showDetail(s.id)),
        tog, el('span', {class: 'st'}), el('span', {class: 'wf'}), el('span', {class: 'goal'}),
        el('span', {class: 'badge stuck', hidden: true}), el('span', {class: 'badge issues', hidden: true}),
        el('span', {class: 'meta'})), el('ul', {class: 'kids'}));
      if (detail.sid === s.id) li.classList.add('sel');
      sessLi.set(s.id, li);
    }
    const [tog, st, wf, goal, stuck, issues, meta] = li.firstChild.children;
    li.dataset.status = s.status;
    li.dataset.run = s.run || '';
    st.textContent = s.status;
    wf.textContent = s.workflow;
    goal.textContent = s.goal;
    goal.title = s.goal;
    stuck.hidden = !s.stuck;
    stuck.textContent = s.stuck ? 'stuck: ' + s.stuck : '';
    issues.hidden = !s.issues;
    issues.textContent = s.issues ? s.issues + (s.issues === 1 ? ' issue' : ' issues') : '';
    meta.textContent = [s.id.slice(-8), s.step && 'step ' + s.step, s.turns ? s.turns + ' turns' : '',
      s.worker, ago(s.created_ms)].filter(Boolean).join(' · ');
    if (s.nodes) {
      // Children that arrive with the node are shown, unless the user closed it.
      if (s.nodes.length && !li.dataset.toggled) li.classList.add('open');
      const kids = s.nodes.map(sessionNode);
      if (s.more) kids.push(el('li', {class: 'note'}, 'more children not shown'));
      setChildren(li.lastChild, kids);
      li.dataset.loaded = '1';
    }
    tog.hidden = !(s.children > 0 || (s.nodes && s.nodes.length));
    tog.textContent = li.classList.contains('open') ? '▾' : '▸';
    return li;
  }

  async function toggleSession(li) {
    const open = li.classList.toggle('open');
    li.dataset.toggled = '1';
    li.firstChild.firstChild.textContent = open ? '▾' : '▸';
    if (open && !li.dataset.loaded) await refreshSession(li.dataset.sid);
  }

  async function refreshSession(sid) {
    sessionNode(await api('/api/sessions/' + enc(sid) + '/tree'));
  }

  function runNode(r) {
    let li = runLi.get(r.id);
    if (!li) {
      li = el('li', {class: 'run', 'data-testid': 'run-' + r.id, 'data-run-id': r.id});
      li.append(row('runrow-' + r.id, () => toggleRun(li), el('button', {type: 'button', class: 'tog'}, '▸'),
        el('span', {class: 'st'}), el('span', {class: 'wf'}), el('span', {class: 'meta'})),
      el('ul', {class: 'kids'}));
      runLi.set(r.id, li);
    }
    const [, st, name, meta] = li.firstChild.children;
    li.dataset.status = r.status;
    st.textContent = r.status;
    name.textContent = r.pipeline;
    meta.textContent = [r.id.slice(-8), r.phases + ' phases', r.sessions + ' sessions',
      ago(r.created_ms)].join(' · ');
    return li;
  }

  async function toggleRun(li) {
    const open = li.classList.toggle('open');
    li.firstChild.firstChild.textContent = open ? '▾' : '▸';
    if (open) await refreshRun(li.dataset.runId);
  }

  const rechecks = new Set(); // runs whose record may still change without an event
  async function refreshRun(id) {
    const t = await api('/api/runs/' + enc(id));
    const li = runNode(t.run);
    if (!li.classList.contains('open')) return; // collapsed: its summary is enough
    setChildren(li.lastChild, t.phases.map((p) => phaseNode(t.run.id, p)));
    // The coordinator writes the run's end after the last session_completed.
    const settled = t.phases.every((p) => ['done', 'skipped', 'failed'].includes(p.state));
    if (t.run.status === 'running' && settled && !rechecks.has(id)) {
      rechecks.add(id);
      setTimeout(() => { rechecks.delete(id); refreshRun(id).catch(showError); }, 1000);
    }
  }

  function phaseNode(runId, p) {
    const key = runId + '\n' + p.id;
    let li = phaseLi.get(key);
    if (!li) {
      li = el('li', {class: 'phase', 'data-testid': 'phase-' + runId + '-' + p.id, 'data-phase-key': key},
        el('div', {class: 'row'}, el('span', {class: 'st'}), el('span', {class: 'wf'}), el('span', {class: 'meta'})),
        el('ul', {class: 'kids'}));
      phaseLi.set(key, li);
    }
    const [st, name, meta] = li.firstChild.children;
    li.dataset.status = p.state;
    st.textContent = p.state;
    name.textContent = p.id;
    meta.textContent = [p.workflow || 'notify', p.attempts > 1 && 'attempt ' + p.attempts, p.outcome,
      p.reason].filter(Boolean).join(' · ');
    setChildren(li.lastChild, (p.nodes || []).map(sessionNode));
    return li;
  }

  // The two paged lists. A head refresh re-reads page one: new entries go on
  // top, known ones are updated in place, the cursor for "more" is kept. If
  // a whole page is new there may be a gap: the list starts over from it.
  const lists = {
    runs: {path: '/api/runs?', key: 'runs', ul: 'runs', more: 'runs-more', make: runNode},
    roots: {path: '/api/sessions?roots=1&', key: 'sessions', ul: 'roots', more: 'roots-more', make: sessionNode},
  };

  async function loadPage(L, head) {
    const next = L.loaded && !head; // "more": the page after the cursor
    const page = await api(L.path + 'limit=' + PAGE + (next ? '&cursor=' + enc(L.cursor) : ''));
    const ul = $(L.ul), lis = page[L.key].map(L.make);
    const gap = head && L.loaded && ul.firstChild && lis.length === PAGE && lis.every((li) => li.parentNode !== ul);
    if (gap) setChildren(ul, []);
    let anchor = next ? null : ul.firstChild;
    for (const li of lis) {
      if (li.parentNode !== ul) ul.insertBefore(li, anchor);
      else if (!next) anchor = li.nextSibling;
    }
    if (!L.loaded || next || gap || !L.cursor) L.cursor = page.next_cursor;
    L.loaded = true;
    $(L.more).hidden = !L.cursor;
  }

  /* ---- 3. live ---- */

  const dirty = {runs: new Set(), sessions: new Set(), lists: new Set()};
  let flushTimer = null;
  // Sessions that had events before they had a node: a refresh in flight may
  // be about to add them with an older state, so they are looked at again
  // after each flush (and forgotten after 10 s).
  const unseen = new Map(); // sid -> when its last event came

  function markRun(id) {
    if (runLi.has(id)) dirty.runs.add(id);
    else dirty.lists.add('runs');
  }

  function markSession(sid) {
    const li = sessLi.get(sid);
    if (li && li.dataset.run) markRun(li.dataset.run);
    else if (li) dirty.sessions.add(sid);
  }

  function onFleetEvent(msg) {
    let e;
    try { e = JSON.parse(msg.data); } catch (x) { return; }
    const d = e.data || {};
    if (d.run) markRun(d.run); // session_queued of a phase's session
    else if (sessLi.has(e.session)) markSession(e.session);
    else if (d.parent) markSession(d.parent); // a new child of a shown session
    else if (e.type === 'session_queued') dirty.lists.add('roots');
    if (!sessLi.has(e.session)) unseen.set(e.session, Date.now());
    schedule();
  }

  function schedule() {
    if (!flushTimer) flushTimer = setTimeout(flush, DEBOUNCE_MS);
  }

  let flushing = false; // one flush at a time, so an old answer never lands last
  async function flush() {
    flushTimer = null;
    if (flushing) return schedule();
    flushing = true;
    const jobs = [...dirty.runs].map(refreshRun)
      .concat([...dirty.sessions].map(refreshSession))
      .concat([...dirty.lists].map((n) => loadPage(lists[n], true)));
    dirty.runs.clear();
    dirty.sessions.clear();
    dirty.lists.clear();
    const res = await Promise.allSettled(jobs);
    flushing = false;
    const bad = res.find((r) => r.status === 'rejected');
    showError(bad ? bad.reason : null);
    for (const [sid, when] of unseen) {
      if (sessLi.has(sid)) markSession(sid);
      if (sessLi.has(sid) || Date.now() - when > 10000) unseen.delete(sid);
    }
    if (dirty.runs.size || dirty.sessions.size || dirty.lists.size) schedule();
    return undefined;
  }

  function resync() { // after a lost stream: everything shown may be stale
    for (const [id, li] of runLi) if (li.classList.contains('open')) dirty.runs.add(id);
    for (const [sid, li] of sessLi) if (!li.dataset.run && li.closest('#roots')) dirty.sessions.add(sid);
    dirty.lists.add('runs');
    dirty.lists.add('roots');
    schedule();
  }

  function connect() {
    const live = $('live');
    const es = new EventSource('/api/events', {withCredentials: true});
    let lost = false;
    for (const t of TYPES) es.addEventListener(t, onFleetEvent);
    es.onopen = () => {
      live.textContent = 'live';
      live.dataset.live = '1';
      if (lost) resync();
    };
    es.onerror = () => {
      lost = true;
      live.textContent = 'reconnecting';
      live.dataset.live = '0';
      if (es.readyState === EventSource.CLOSED) { // the server refused: start over later
        setTimeout(() => { connect(); resync(); }, 5000);
      }
    };
  }

  /* ---- 4. detail ---- */

  const detail = {sid: null, es: null, s: null, seen: new Set(), turn: 0};

  async function showDetail(sid) {
    if (detail.es) detail.es.close();
    Object.assign(detail, {sid, es: null, s: null, seen: new Set(), turn: 0});
    for (const li of document.querySelectorAll('.node.sel')) li.classList.remove('sel');
    if (sessLi.has(sid)) sessLi.get(sid).classList.add('sel');
    let t;
    try {
      t = await api('/api/sessions/' + enc(sid));
    } catch (e) {
      showError(e);
      return;
    }
    if (detail.sid !== sid) return; // another session was clicked meanwhile
    renderDetail(t);
    if (!terminal(t.session.status)) follow(sid, t.events.length ? t.events[t.events.length - 1].id : '');
  }

  function section(title, testid, tag) {
    const list = el(tag || 'ol', {'data-testid': testid});
    return [el('h3', {}, title), list];
  }

  function renderDetail(t) {
    const s = t.session, box = $('detail');
    detail.s = s;
    box.dataset.sid = s.id;
    box.dataset.status = s.status;
    const parts = [el('h2', {'data-testid': 'detail-goal'}, s.goal),
      el('dl', {'data-testid': 'detail-summary'})];
    if (t.truncated) parts.push(el('p', {class: 'note'}, 'Showing the newest 2000 events only.'));
    parts.push(...section('Steps', 'detail-steps'), ...section('LLM turns', 'detail-turns'),
      ...section('Tool calls', 'detail-tools'), ...section('Issues', 'detail-issues', 'ul'),
      el('h3', {}, 'Output'), el('pre', {'data-testid': 'detail-output'}));
    box.replaceChildren(...parts);
    for (const e of t.events) addEvent(e);
    renderSummary();
    if (sessLi.has(s.id)) sessionNode(s); // the tree may not have caught up yet
  }

  function renderSummary() {
    const s = detail.s, dl = $('detail').querySelector('dl');
    const pairs = [['session', s.id], ['workflow', s.workflow], ['status', s.status + (s.outcome ? ' (' + s.outcome + ')' : '')],
      ['run', s.run && s.run + ' / ' + s.phase], ['parent', s.parent], ['worker', s.worker && s.worker + ' attempt ' + s.attempt],
      ['step', s.step], ['turns', s.turns + ' (' + s.input_tokens + ' in / ' + s.output_tokens + ' out tokens)'],
      ['started', s.started_ms && new Date(s.started_ms).toLocaleString()],
      ['took', s.ended_ms && s.started_ms && dur(s.ended_ms - s.started_ms)], ['stuck', s.stuck], ['error', s.error]];
    dl.replaceChildren(...pairs.filter((p) => p[1]).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    $('detail').dataset.status = s.status;
    const out = s.output && Object.keys(s.output).length ? s.output : s.context || {};
    $('detail').querySelector('[data-testid=detail-output]').textContent = JSON.stringify(out, null, 2);
  }

  // Adds one event to the detail lists; false when it was already shown.
  function addEvent(e) {
    if (detail.seen.has(e.id)) return false;
    detail.seen.add(e.id);
    const d = e.data || {}, box = $('detail'), s = detail.s;
    const add = (testid, ...kids) => box.querySelector('[data-testid=' + testid + ']').appendChild(el('li', {}, ...kids));
    switch (e.type) {
      case 'step_advanced':
        add('detail-steps', el('strong', {}, d.step || ''), ' ', el('span', {class: 'notes'}, d.notes || ''));
        s.step = d.step || s.step;
        break;
      case 'step_skipped':
        add('detail-steps', el('span', {class: 'notes'}, 'skipped ' + (d.step || '') +
          ': runCondition ' + JSON.stringify(d.condition || {}) + ' saw ' + JSON.stringify(d.values || {})));
        break;
      case 'llm_turn_completed':
        detail.turn += 1;
        add('detail-turns', 'turn ' + detail.turn + ': ' + (d.input_tokens || 0) + ' in / ' +
          (d.output_tokens || 0) + ' out tokens, ' + (d.stop_reason || '') +
          (d.tools && d.tools.length ? ' → ' + [].concat(d.tools).join(', ') : ''));
        break;
      case 'tool_call_completed':
        add('detail-tools', el('strong', {}, d.tool || ''), ' ' + dur(d.duration_ms || 0) + ' ',
          longText(d.result_summary));
        break;
      case 'tool_call_failed':
        add('detail-tools', el('strong', {class: 'fail'}, (d.tool || '') + ' failed'), ' ',
          longText(d.error));
        break;
      case 'issue_reported':
        add('detail-issues', (d.severity || '') + ' ' + (d.kind || '') + ': ', el('span', {class: 'notes'}, d.summary || ''));
        break;
      case 'agent_stuck':
        add('detail-issues', el('strong', {class: 'fail'}, 'stuck: ' + (d.reason || '')), ' ' + (d.detail || ''));
        break;
      case 'child_spawned':
        add('detail-issues', 'spawned child ' + (d.child || ''));
        break;
      default:
        break;
    }
    return true;
  }

  function follow(sid, lastId) {
    const q = lastId ? '?last_event_id=' + enc(lastId) : '';
    const es = new EventSource('/api/sessions/' + enc(sid) + '/events' + q, {withCredentials: true});
    detail.es = es;
    const handle = (msg) => {
      if (detail.sid !== sid) return es.close();
      let e;
      try { e = JSON.parse(msg.data); } catch (x) { return undefined; }
      if (!addEvent(e)) return undefined;
      const d = e.data || {}, s = detail.s;
      if (e.type === 'session_started') Object.assign(s, {status: 'running', worker: d.worker, attempt: d.attempt});
      if (e.type === 'llm_turn_completed') {
        s.turns += 1;
        s.input_tokens += d.input_tokens || 0;
        s.output_tokens += d.output_tokens || 0;
      }
      if (e.type === 'session_completed') { // the server ends the stream: re-read the final state
        es.close();
        return showDetail(sid);
      }
      return renderSummary();
    };
    for (const t of TYPES) es.addEventListener(t, handle);
  }

  /* ---- 5. fleet ---- */

  async function fleet() {
    const [st, w] = await Promise.all([api('/api/stats'), api('/api/workers')]);
    $('stats').textContent = st.queued + ' queued · ' + st.running + ' running · ' + st.workers + ' workers · ' +
      st.slots_free + '/' + st.slots_total + ' slots free · ' + st.sessions_total + ' sessions' +
      (st.queued ? ' · oldest queued ' + st.oldest_queued_age_s + 's' : '');
    $('workers').tBodies[0].replaceChildren(...w.workers.map((x) => {
      const sess = [x.sessions, x.running].find(Array.isArray) || [];
      return el('tr', {'data-testid': 'worker-' + x.name},
        el('td', {}, x.name + (x.draining ? ' (draining)' : '')), el('td', {}, (x.slots - x.free) + '/' + x.slots),
        el('td', {}, ago(x.last_seen_ms) + ' ago'),
        el('td', {}, sess.map((id) => String(id).slice(-8)).join(' ')));
    }));
  }

  /* ---- 6. ideas and gaps (record_idea, the watchdog) ---- */

  function sessionLink(sid) {
    const a = el('button', {type: 'button', class: 'link', 'data-testid': 'idea-session'}, String(sid).slice(-8));
    a.addEventListener('click', () => showDetail(sid));
    return a;
  }

  async function ideas() {
    const j = await api('/api/ideas');
    const items = [];
    for (const g of j.gaps)
      items.push(el('li', {class: 'gap', 'data-testid': 'gap'}, el('b', {}, 'gap '), (g.gap_kind || '') + ': ' +
        (g.summary || '') + ' ', ...String(g.sessions || '').split(',').filter(Boolean).map(sessionLink)));
    for (const i of j.ideas)
      items.push(el('li', {class: 'idea', 'data-testid': 'idea'}, el('b', {}, 'idea '), (i.title || '') +
        (i.tags ? ' [' + i.tags + '] ' : ' '), i.session ? sessionLink(i.session) : ''));
    $('ideas').replaceChildren(...items);
  }

  function tick() {
    Promise.allSettled([fleet(), ideas(), loadPage(lists.runs, true)]).then((res) => {
      const bad = res.find((r) => r.status === 'rejected');
      showError(bad ? bad.reason : null);
    });
  }

  /* ---- start ---- */

  for (const L of Object.values(lists))
    $(L.more).addEventListener('click', () => loadPage(L, false).catch(showError));
  connect();
  Promise.allSettled([loadPage(lists.runs, false), loadPage(lists.roots, false), fleet(), ideas()]).then((res) => {
    const bad = res.find((r) => r.status === 'rejected');
    showError(bad ? bad.reason : null);
    document.body.dataset.ready = '1';
  });
  setInterval(tick, FLEET_MS);
})();
