/* WorkTrain console - the Benchmarks tab (bench.html): runs of `worktrain
 * bench` from /api/bench, a small inline SVG chart per suite (one line per
 * variant: pass_rate over runs, oldest left), and a run's case table from
 * /api/bench/<run> with each session linked to its tree. Plain JS, no
 * external script; text from runs enters the DOM only as text nodes. */
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const COLORS = ['#2a6fdb', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285'];

  async function api(path) {
    const r = await fetch(path, {credentials: 'same-origin', headers: {Accept: 'application/json'}});
    const body = await r.json().catch(() => null);
    if (!r.ok) throw new Error(path + ': ' + ((body && body.error) || r.status));
    return body;
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) e.setAttribute(k, String(v));
    for (const k of kids) if (k != null) e.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  }

  function showError(e) {
    $('error').textContent = e ? String(e.message || e) : '';
    $('error').hidden = !e;
  }

  // One chart per suite: x = the suite's runs in time order, y = pass_rate 0..1.
  function chart(suite, runs) {
    const W = 360, H = 120, P = 20;
    const box = svg('svg', {width: W, height: H + 20, viewBox: '0 0 ' + W + ' ' + (H + 20),
      role: 'img', 'data-testid': 'chart-' + suite});
    box.appendChild(svg('rect', {x: P, y: 0, width: W - 2 * P, height: H, fill: 'none', stroke: '#ccc'}));
    const names = [...new Set(runs.flatMap((r) => (r.variants || []).map((v) => v.name)))];
    const x = (i) => P + (runs.length < 2 ? (W - 2 * P) / 2 : i * (W - 2 * P) / (runs.length - 1));
    const y = (v) => H - v * H;
    names.forEach((name, k) => {
      const pts = [];
      runs.forEach((r, i) => {
        const v = (r.variants || []).find((q) => q.name === name);
        const m = v && v.metrics && v.metrics.pass_rate;
        if (typeof m === 'number') pts.push(x(i).toFixed(1) + ',' + y(m).toFixed(1));
      });
      const color = COLORS[k % COLORS.length];
      box.appendChild(svg('polyline', {points: pts.join(' '), fill: 'none', stroke: color, 'stroke-width': 2}));
      for (const p of pts) {
        const [cx, cy] = p.split(',');
        box.appendChild(svg('circle', {cx, cy, r: 3, fill: color}));
      }
      const label = svg('text', {x: P + k * 90, y: H + 15, fill: color, 'font-size': 11});
      label.textContent = name;
      box.appendChild(label);
    });
    return el('figure', {}, el('figcaption', {}, suite + ' · pass_rate'), box);
  }

  async function showRun(id) {
    const d = await api('/api/bench/' + encodeURIComponent(id));
    d.cases.sort((a, b) => a.variant.localeCompare(b.variant) || a.id.localeCompare(b.id) || a.repeat - b.repeat);
    const names = [...new Set(d.cases.flatMap((c) => Object.keys(c.scores || {})))];
    const head = el('tr', {}, el('th', {}, 'variant'), el('th', {}, 'case'), el('th', {}, '#'),
      el('th', {}, 'outcome'), ...names.map((n) => el('th', {}, n)), el('th', {}, 'session'), el('th', {}, 'note'));
    const rows = d.cases.map((c) => el('tr', {'data-testid': 'case-' + c.variant + '-' + c.id + '-' + c.repeat,
      'data-outcome': c.outcome},
      el('td', {}, c.variant), el('td', {}, c.id), el('td', {}, c.repeat), el('td', {}, c.outcome),
      ...names.map((n) => el('td', {}, typeof c.scores[n] === 'number' ? c.scores[n].toFixed(2) : '-')),
      el('td', {}, c.session ? el('a', {href: '/api/sessions/' + encodeURIComponent(c.session) + '/tree'},
        c.session.slice(-8)) : '-'),
      el('td', {}, c.reason || '')));
    $('detail').replaceChildren(el('h2', {}, 'Run ' + d.run.run + ' · ' + d.run.suite),
      el('table', {'data-testid': 'bench-cases'}, el('thead', {}, head), el('tbody', {}, ...rows)));
  }

  async function load() {
    const d = await api('/api/bench');
    const bySuite = new Map();
    for (const r of d.runs) {
      if (!bySuite.has(r.suite)) bySuite.set(r.suite, []);
      bySuite.get(r.suite).push(r);
    }
    $('charts').replaceChildren(...[...bySuite].map(([s, runs]) => chart(s, runs)));
    $('runs').tBodies[0].replaceChildren(...d.runs.slice().reverse().map((r) => {
      const a = el('a', {href: '#' + r.run, 'data-testid': 'run-' + r.run}, r.run);
      a.addEventListener('click', () => showRun(r.run).catch(showError));
      return el('tr', {}, el('td', {}, a), el('td', {}, r.suite), el('td', {}, r.status),
        el('td', {}, r.pass === true ? 'pass' : r.pass === false ? 'FAIL' : '-'),
        el('td', {}, r.started_ms ? new Date(r.started_ms).toISOString() : '-'));
    }));
  }

  load().then(() => {
    if (location.hash.length > 1) return showRun(location.hash.slice(1));
    return null;
  }).then(() => { showError(null); document.body.dataset.ready = '1'; }, showError);
})();
