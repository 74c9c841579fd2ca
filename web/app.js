// llm-gateway dashboard: polls the /debug endpoints and draws what they say. No framework, no
// build step; every update changes the existing DOM in place (keyed rows and chart elements), and
// the only history kept is a bounded ring of polled snapshots.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const params = new URLSearchParams(location.search);
  // `?refresh=N` polls every N seconds (1..60); 3 by default.
  const REFRESH = Math.min(60, Math.max(1, Number(params.get('refresh')) || 3)) * 1000;
  const HISTORY = 120; // points kept for the charts: 6 minutes at the default refresh
  const TOKEN_KEY = 'llm-gateway.token';
  const SAMPLE = 100; // log entries fetched per poll to see the latency of new requests

  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let paused = false;
  let timer = 0;
  let busy = false;
  let again = false;
  let needAuth = false;
  let offlineSince = 0;
  let data = { stats: null, health: null, models: null, logs: [] };
  let names = []; // backend names in config order; a backend's colour is its index here
  const history = [];
  let prev = null;
  let seen = null;
  const entries = new Map();

  // ---------- formatting ----------
  const pad = (n) => String(n).padStart(2, '0');
  const clock = (ms) => { const d = new Date(ms); return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`; };
  const int = (n) => (n == null ? '–' : Number(n).toLocaleString('en-US'));
  const compact = (n) => (n == null ? '–' : n < 10000 ? int(n) : n < 1e6 ? `${(n / 1e3).toFixed(1)}k` : `${(n / 1e6).toFixed(2)}M`);
  const pct = (r) => (r == null ? '–' : `${(r * 100).toFixed(1)}%`);
  // Numbers and their units stay on one line (no-break space).
  const ms = (v) => (v == null ? '–' : v < 10 ? `${v.toFixed(1)}\u00a0ms` : v < 1000 ? `${Math.round(v)}\u00a0ms` : `${(v / 1000).toFixed(2)}\u00a0s`);
  const axis = (v) => (v >= 1e6 ? `${+(v / 1e6).toPrecision(3)}M` : v >= 1e3 ? `${+(v / 1e3).toPrecision(3)}k` : `${+v.toPrecision(3)}`);
  const rate = (v) => (v == null ? '–' : v >= 100 ? String(Math.round(v)) : String(+v.toFixed(2)));
  const duration = (s) => (s < 120 ? `${s}\u00a0s` : s < 7200 ? `${Math.floor(s / 60)}\u00a0min` : s < 172800 ? `${Math.floor(s / 3600)}\u00a0h` : `${Math.floor(s / 86400)}\u00a0d`);
  const fullTime = (ms) => { const d = new Date(ms); return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(ms)}.${String(d.getMilliseconds()).padStart(3, '0')}`; };

  function setText(id, text, value) {
    const e = $(id);
    if (e.textContent !== text) e.textContent = text;
    if (value !== undefined) e.dataset.value = String(value);
  }

  // ---------- the API ----------
  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, body, allow = []) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { headers, cache: 'no-store' };
    if (body !== undefined) {
      init.method = 'POST';
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), 8000);
    init.signal = ctl.signal;
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new HttpError(0, 'gateway unreachable');
    } finally {
      clearTimeout(t);
    }
    let json = null;
    try { json = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok && !allow.includes(res.status)) {
      throw new HttpError(res.status, (json && json.error && json.error.message) || `HTTP ${res.status}`);
    }
    return json;
  }

  // ---------- polling ----------
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, REFRESH);
  }

  function refreshNow() {
    if (busy) { again = true; return; }
    clearTimeout(timer);
    poll();
  }

  function logQuery() {
    const q = new URLSearchParams({ limit: $('f-limit').value });
    if ($('f-backend').value) q.set('backend', $('f-backend').value);
    if ($('f-status').value) q.set('status', $('f-status').value);
    return q;
  }

  async function poll() {
    if (paused || needAuth || document.hidden) { schedule(); return; }
    busy = true;
    try {
      const q = logQuery();
      const filtered = q.has('backend') || q.has('status');
      const sample = filtered ? SAMPLE : Math.max(SAMPLE, Number(q.get('limit')));
      const [stats, health, models, recent, shown] = await Promise.all([
        api('/debug/stats'),
        api('/debug/health', undefined, [503]),
        api('/debug/models'),
        api(`/debug/logs?limit=${sample}`),
        filtered ? api(`/debug/logs?${q}`) : null,
      ]);
      online();
      data = { stats, health, models, logs: shown ? shown.logs : recent.logs.slice(0, Number(q.get('limit'))) };
      record(stats, recent.logs);
      render();
    } catch (e) {
      if (e.status === 401 || e.status === 403) askToken(token ? 'That token was not accepted.' : 'This gateway needs a token to show its data.', true);
      else if (e.status === 0) offline();
      else showBanner(`The gateway answered with an error: ${e.message}`);
    } finally {
      busy = false;
      if (again) { again = false; refreshNow(); } else schedule();
    }
  }

  /** Adds one point to the bounded history: rates since the previous poll, and the latency of
   * the requests that finished in between (those log entries not seen at the previous poll). */
  function record(stats, logs) {
    const now = Date.now();
    const o = stats.overview;
    const tok = {};
    for (const [name, t] of Object.entries(stats.tokens.byBackend)) tok[name] = t.total;
    const ids = new Set(logs.map((e) => e.id));
    if (prev && o.totalRequests >= prev.total) {
      const dt = (now - prev.t) / 1000;
      const fresh = seen ? logs.filter((e) => !seen.has(e.id)).map((e) => e.durationMs).sort((a, b) => a - b) : [];
      const rank = (p) => (fresh.length ? fresh[Math.min(fresh.length, Math.max(1, Math.ceil(p * fresh.length))) - 1] : null);
      const point = { t: now, rps: (o.totalRequests - prev.total) / dt, eps: Math.max(0, o.totalErrors - prev.errors) / dt, p50: rank(0.5), p95: rank(0.95), tok: {} };
      for (const name of Object.keys(tok)) point.tok[name] = Math.max(0, tok[name] - (prev.tok[name] || 0)) / dt;
      history.push(point);
      if (history.length > HISTORY) history.splice(0, history.length - HISTORY);
    }
    prev = { t: now, total: o.totalRequests, errors: o.totalErrors, tok };
    seen = ids;
  }

  // ---------- connection states ----------
  function showBanner(text) {
    const b = $('offline');
    b.textContent = text;
    b.hidden = false;
  }

  function offline() {
    if (!offlineSince) offlineSince = Date.now();
    showBanner(`Gateway unreachable since ${clock(offlineSince)}. Showing the last data received; retrying every ${REFRESH / 1000} s.`);
    $('main').classList.add('stale');
    const h = $('health');
    h.dataset.state = 'unreachable';
    h.textContent = 'unreachable';
    prev = null; // a gap, not a dip, in the rate charts
  }

  function online() {
    offlineSince = 0;
    $('offline').hidden = true;
    $('main').classList.remove('stale');
  }

  function askToken(why, blocking) {
    needAuth = needAuth || blocking;
    $('auth-why').textContent = why;
    $('auth').hidden = false;
    $('auth-token').focus();
  }

  $('auth').addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = $('auth-token').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $('auth-token').value = '';
    $('auth').hidden = true;
    needAuth = false;
    $('forget').hidden = !token;
    refreshNow();
  });

  $('forget').hidden = !token;
  $('forget').addEventListener('click', () => {
    token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    $('forget').hidden = true;
    refreshNow();
  });

  $('pause').addEventListener('click', () => {
    paused = !paused;
    $('pause').setAttribute('aria-pressed', String(paused));
    $('pause').textContent = paused ? 'Resume' : 'Pause';
    if (!paused) refreshNow();
  });

  document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshNow(); });

  // ---------- rendering ----------
  function render() {
    const { stats, health, models } = data;
    names = models.backends.map((b) => b.name);
    const o = stats.overview;
    const w = o.window;
    const h = o.lastHour;
    setText('version', `v${health.version}`);
    const pill = $('health');
    pill.dataset.state = health.status;
    pill.textContent = health.status;
    setText('updated', `Updated ${clock(Date.now())}`);

    setText('ov-total', int(o.totalRequests), o.totalRequests);
    setText('ov-inflight', `${o.inFlight} in flight · up ${duration(health.uptimeSeconds)}`);
    setText('ov-success', pct(o.successRate), o.successRate);
    setText('ov-errors', `${int(o.totalErrors)} error${o.totalErrors === 1 ? '' : 's'}`, o.totalErrors);
    setText('ov-avg', ms(o.avgLatencyMs), o.avgLatencyMs);
    setText('ov-p95', ms(w.p95LatencyMs), w.p95LatencyMs);
    setText('ov-p50', `p50 ${ms(w.p50LatencyMs)} · last ${int(w.requests)} requests`, w.p50LatencyMs);
    setText('ov-hour', int(h.requests), h.requests);
    setText('ov-hour-sub', h.requests ? `requests · ${pct(h.successRate)} ok · p95 ${ms(h.p95LatencyMs)}` : 'no requests');
    const tin = stats.tokens.input;
    const tout = stats.tokens.output;
    setText('ov-tokens', compact(tin + tout), tin + tout);
    setText('ov-tokens-sub', `in ${int(tin)} · out ${int(tout)}`);

    renderControls(health);
    renderBackends(health, models, stats);
    renderPerf(stats);
    renderLog();
    renderRouting(stats);
    drawCharts();
  }

  function syncOptions(select, values, leading) {
    const want = leading.concat(values);
    const have = [...select.options].map((o) => o.value);
    if (have.join('\n') === want.join('\n')) return;
    const keep = select.value;
    select.replaceChildren(...want.map((v) => {
      const opt = document.createElement('option');
      opt.value = v;
      opt.textContent = v || 'all';
      return opt;
    }));
    if (want.includes(keep)) select.value = keep;
  }

  let switchDirty = false;
  function renderControls(health) {
    const sel = $('sw-backend');
    syncOptions(sel, names, []);
    if (!switchDirty && document.activeElement !== sel) sel.value = health.defaultBackend;
    syncOptions($('f-backend'), names, ['']);
    const sr = $('sr-toggle');
    if (!sr.disabled) sr.setAttribute('aria-checked', String(!!health.smartRouting));
    setText('sr-state', health.smartRouting ? 'on: requests are classified and routed by category' : 'off: requests go to the default backend');
  }

  function keyed(parent, key, make) {
    let e = parent.querySelector(`:scope > [data-k="${CSS.escape(key)}"]`);
    if (!e) { e = make(); e.dataset.k = key; }
    return e;
  }

  /** Makes `parent`'s children exactly `items` in order, moving only what moved. */
  function place(parent, items) {
    items.forEach((item, i) => {
      if (parent.children[i] !== item) parent.insertBefore(item, parent.children[i] || null);
    });
    while (parent.children.length > items.length) parent.lastElementChild.remove();
  }

  function cell(tr, i, text, cls) {
    while (tr.cells.length <= i) tr.insertCell();
    const td = tr.cells[i];
    if (text !== undefined && td.textContent !== text) td.textContent = text;
    if (cls !== undefined && td.className !== cls) td.className = cls;
    return td;
  }

  function span(parent, cls, text) {
    const s = document.createElement('span');
    s.className = cls;
    if (text) s.textContent = text;
    parent.append(s);
    return s;
  }

  function renderBackends(health, models, stats) {
    const list = $('backends');
    place(list, models.backends.map((b) => {
      const li = keyed(list, b.name, () => {
        const li = document.createElement('li');
        const name = span(li, 'name');
        name.append(document.createTextNode(b.name));
        span(li, 'pill');
        span(li, 'meta');
        return li;
      });
      const hb = health.backends[b.name] || {};
      const isDefault = b.name === health.defaultBackend;
      const name = li.children[0];
      let badge = name.querySelector('.badge');
      if (isDefault && !badge) { badge = span(name, 'badge', 'default'); }
      if (!isDefault && badge) badge.remove();
      li.dataset.default = String(isDefault);
      const status = hb.status || b.status || 'unknown';
      const pill = li.children[1];
      pill.dataset.state = status;
      pill.textContent = status;
      const st = stats.backends[b.name];
      const parts = [b.api, b.models && b.models.length ? `models: ${b.models.join(', ')}` : 'models: –'];
      if (hb.latencyMs != null) parts.push(`probe ${ms(hb.latencyMs)}`);
      if (st) parts.push(`avg ${ms(st.avgLatencyMs)} over ${int(st.requests)} req`);
      if (hb.error) parts.push(`error: ${hb.error}`);
      const meta = parts.join(' · ');
      if (li.children[2].textContent !== meta) li.children[2].textContent = meta;
      return li;
    }));
  }

  function renderPerf(stats) {
    const body = $('perf-rows');
    const rows = Object.entries(stats.backends).map(([name, s]) => {
      const tr = keyed(body, name, () => document.createElement('tr'));
      cell(tr, 0, name);
      cell(tr, 1, int(s.requests), 'num');
      cell(tr, 2, int(s.errors), s.errors ? 'num st-err' : 'num');
      cell(tr, 3, s.requests ? axis(s.avgLatencyMs) : '–', 'num wide');
      cell(tr, 4, s.requests ? axis(s.p50LatencyMs) : '–', 'num');
      cell(tr, 5, s.requests ? axis(s.p95LatencyMs) : '–', 'num');
      return tr;
    });
    if (!rows.length) {
      const tr = keyed(body, '-', () => document.createElement('tr'));
      cell(tr, 0, 'No requests yet', 'muted');
      rows.push(tr);
    }
    place(body, rows);
  }

  function renderRouting(stats) {
    const body = $('routing-rows');
    const rows = stats.recentRouting.slice(0, 8).map((r) => {
      const tr = keyed(body, r.id, () => document.createElement('tr'));
      cell(tr, 0, clock(r.timestampMs));
      cell(tr, 1, r.backend || '–');
      cell(tr, 2, r.reason || '–');
      cell(tr, 3, r.category || '–');
      return tr;
    });
    place(body, rows);
  }

  // ---------- request log and detail ----------
  function renderLog() {
    const body = $('log-rows');
    entries.clear();
    const rows = data.logs.map((e) => {
      entries.set(e.id, e);
      const tr = keyed(body, e.id, () => {
        const tr = document.createElement('tr');
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'link';
        b.setAttribute('aria-label', `Details of request ${e.id}`);
        b.textContent = clock(e.timestampMs);
        tr.insertCell().append(b);
        return tr;
      });
      const req = cell(tr, 1, undefined, 'path');
      if (!req.firstChild) {
        span(req, 'method', `${e.method} `);
        req.append(`${e.path}${e.stream ? ' · stream' : ''}`);
        req.title = `${e.method} ${e.path}`;
      }
      cell(tr, 2, [e.routeReason, e.category].filter(Boolean).join(' · ') || '–', 'wide');
      cell(tr, 3, e.backend || '–');
      const bad = e.status >= 400 || e.error;
      cell(tr, 4, String(e.status), bad ? 'num st-err' : 'num st-ok').title = e.error || '';
      cell(tr, 5, ms(e.durationMs), 'num');
      cell(tr, 6, `${int(e.inputTokens)} / ${int(e.outputTokens)}`, 'num wide');
      return tr;
    });
    place(body, rows);
    $('log-empty').hidden = rows.length > 0;
    setText('log-count', `${rows.length} shown, newest first`);
  }

  $('log-rows').addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr');
    if (tr && entries.has(tr.dataset.k)) openDetail(entries.get(tr.dataset.k));
  });
  for (const id of ['f-backend', 'f-status', 'f-limit']) $(id).addEventListener('change', refreshNow);

  function dl(pairs) {
    const d = document.createElement('dl');
    for (const [k, v, cls] of pairs) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v == null || v === '' ? '–' : String(v);
      if (cls) dd.className = cls;
      d.append(dt, dd);
    }
    return d;
  }

  function section(parent, title, content) {
    const h = document.createElement('h3');
    h.textContent = title;
    parent.append(h, content);
  }

  function pre(text) {
    const p = document.createElement('pre');
    p.textContent = text;
    return p;
  }

  function openDetail(e) {
    const dlg = $('detail');
    $('d-title').textContent = `${e.method} ${e.path}`;
    const body = $('d-body');
    body.replaceChildren();
    section(body, 'Request', dl([
      ['ID', e.id], ['Time', fullTime(e.timestampMs)], ['Client dialect', e.clientDialect], ['Model', e.model],
      ['Streaming', e.stream ? 'yes' : 'no'],
    ]));
    let text = 'Not logged. Set logging.includeBody to true in the config to keep request bodies.';
    if (e.requestBody != null) {
      text = e.requestBody;
      try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (err) { /* truncated or not JSON: as is */ }
    }
    section(body, 'Request body', pre(text));
    section(body, 'Routing', dl([
      ['Backend', e.backend], ['Reason', e.routeReason], ['Category', e.category], ['Conversion', e.conversion],
    ]));
    section(body, 'Timing', dl([
      ['Duration', ms(e.durationMs)], ['First token', e.firstTokenMs == null ? null : ms(e.firstTokenMs)],
    ]));
    section(body, 'Tokens', dl([
      ['Input', int(e.inputTokens)], ['Output', int(e.outputTokens)], ['Total', int(e.inputTokens + e.outputTokens)],
    ]));
    section(body, 'Response', dl([
      ['Status', e.status, e.status >= 400 ? 'err' : ''], ['Error', e.error, 'err'],
      ['Body', 'not kept by the gateway (status, tokens and error are what it records)'],
    ]));
    if (!dlg.open) dlg.showModal();
    $('d-close').focus();
  }

  $('d-close').addEventListener('click', () => $('detail').close());
  $('detail').addEventListener('click', (ev) => { if (ev.target === ev.currentTarget) ev.currentTarget.close(); });

  // ---------- controls ----------
  function feedback(text, ok) {
    const f = $('ctl-feedback');
    f.textContent = text;
    f.className = `feedback ${ok ? 'ok' : 'err'}`;
  }

  function needsAdmin(e, what) {
    if (e.status === 401 || e.status === 403) askToken(`${what} needs the admin token.`, false);
  }

  $('sw-backend').addEventListener('change', () => { switchDirty = true; });
  $('sw-apply').addEventListener('click', async () => {
    const btn = $('sw-apply');
    const name = $('sw-backend').value;
    if (data.health && name === data.health.defaultBackend) {
      feedback(`${name} is already the default backend.`, true);
      return;
    }
    btn.disabled = true;
    btn.textContent = 'Switching…';
    try {
      const r = await api('/debug/switch', { backend: name });
      feedback(`Default backend is now ${r.current} (was ${r.previous}).`, true);
      switchDirty = false;
      if (data.health) { data.health.defaultBackend = r.current; render(); }
      refreshNow();
    } catch (e) {
      feedback(`Could not switch to ${name}: ${e.message}`, false);
      needsAdmin(e, 'Switching the backend');
    } finally {
      btn.disabled = false;
      btn.textContent = 'Switch';
    }
  });

  $('sr-toggle').addEventListener('click', async () => {
    const btn = $('sr-toggle');
    const want = btn.getAttribute('aria-checked') !== 'true';
    btn.disabled = true;
    try {
      await api('/debug/router', { action: want ? 'enable' : 'disable' });
      btn.setAttribute('aria-checked', String(want));
      if (data.health) data.health.smartRouting = want;
      feedback(`Smart routing ${want ? 'enabled' : 'disabled'}.`, true);
      refreshNow();
    } catch (e) {
      feedback(`Could not ${want ? 'enable' : 'disable'} smart routing: ${e.message}`, false);
      needsAdmin(e, 'Changing smart routing');
    } finally {
      btn.disabled = false;
    }
  });

  // ---------- charts ----------
  /** Draws into `svg` through keyed children, created once and then only updated. */
  function painter(svg) {
    const used = new Set();
    svg._k = svg._k || new Map();
    return {
      el(tag, key, attrs, text) {
        let e = svg._k.get(key);
        if (!e) { e = document.createElementNS(SVG, tag); svg._k.set(key, e); svg.append(e); }
        for (const [k, v] of Object.entries(attrs)) if (e.getAttribute(k) !== String(v)) e.setAttribute(k, v);
        if (text !== undefined && e.textContent !== text) e.textContent = text;
        used.add(key);
        return e;
      },
      done() {
        for (const [k, e] of svg._k) if (!used.has(k)) { e.remove(); svg._k.delete(k); }
      },
    };
  }

  function niceStep(x) {
    const p = 10 ** Math.floor(Math.log10(x));
    const m = x / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  /** A time-series line chart over the history window. `series`: {name, cls, get(point)}. */
  function lineChart(svg, series, unit, label) {
    const W = svg.getBoundingClientRect().width || 320;
    const H = 170;
    const L = 58, R = 10, T = 8, B = 44;
    const pw = W - L - R, ph = H - T - B;
    const p = painter(svg);
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    // The window grows with the history up to HISTORY points, and is never under a minute.
    const tmax = history.length ? history[history.length - 1].t : Date.now();
    const span = history.length ? tmax - history[0].t : 0;
    const tmin = tmax - Math.min(HISTORY * REFRESH, Math.max(60000, span));
    let vmax = 0;
    for (const pt of history) for (const s of series) { const v = s.get(pt); if (v != null && v > vmax) vmax = v; }
    const step = niceStep(vmax > 0 ? vmax / 4 : 0.25);
    const top = Math.max(step, Math.ceil(vmax / step) * step);
    const x = (t) => L + ((t - tmin) / (tmax - tmin)) * pw;
    const y = (v) => T + ph - (v / top) * ph;
    for (let v = 0, i = 0; v <= top + step / 2; v += step, i++) {
      p.el('line', `g${i}`, { class: 'grid', x1: L, x2: L + pw, y1: y(v), y2: y(v) });
      p.el('text', `gy${i}`, { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, `${axis(v)} ${unit}`);
    }
    const ticks = Math.max(2, Math.min(6, Math.floor(pw / 90)));
    for (let i = 0; i <= ticks; i++) {
      const t = tmin + ((tmax - tmin) * i) / ticks;
      p.el('text', `gx${i}`, { x: x(t), y: T + ph + 16, 'text-anchor': i === 0 ? 'start' : i === ticks ? 'end' : 'middle' }, clock(t));
    }
    p.el('line', 'ax', { class: 'axis', x1: L, x2: L + pw, y1: T + ph, y2: T + ph });
    let lx = L;
    const latest = [];
    series.forEach((s, si) => {
      let d = '';
      let last = null;
      let lastT = 0;
      for (const pt of history) {
        const v = s.get(pt);
        if (pt.t < tmin || v == null) { last = null; continue; }
        d += `${last && pt.t - lastT < REFRESH * 2.5 ? 'L' : 'M'}${x(pt.t).toFixed(1)},${y(v).toFixed(1)}`;
        last = pt;
        lastT = pt.t;
      }
      p.el('path', `p${si}`, { class: `line ${s.cls}`, d: d || 'M0,0' , visibility: d ? 'visible' : 'hidden' });
      const end = history.length ? history[history.length - 1] : null;
      const v = end ? s.get(end) : null;
      if (v != null) p.el('circle', `c${si}`, { class: s.cls, cx: x(end.t), cy: y(v), r: 3 });
      const text = `${s.name} ${v == null ? '–' : `${rate(v)} ${unit}`}`;
      latest.push(text);
      p.el('rect', `lr${si}`, { class: s.cls, x: lx, y: H - 12, width: 14, height: 3 });
      const lt = p.el('text', `lt${si}`, { x: lx + 18, y: H - 7 }, text);
      lx += 18 + (lt.getComputedTextLength ? lt.getComputedTextLength() : text.length * 6) + 16;
    });
    if (!history.length) p.el('text', 'empty', { class: 'empty', x: L + pw / 2, y: T + ph / 2, 'text-anchor': 'middle' }, 'Collecting data…');
    svg.setAttribute('aria-label', `${label}, last ${HISTORY * REFRESH / 60000} minutes. Latest: ${latest.join(', ')}`);
    p.done();
  }

  /** Horizontal bars: rows of {label, parts: [{value, cls}], text}. */
  function barChart(svg, rows, legend, label, emptyText) {
    const W = svg.getBoundingClientRect().width || 320;
    const rowH = 26;
    const top = legend.length ? 20 : 4;
    const H = top + Math.max(1, rows.length) * rowH + 4;
    const LW = Math.min(120, W * 0.26);
    const p = painter(svg);
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.style.height = `${H}px`;
    let lx = 0;
    legend.forEach(([name, cls], i) => {
      p.el('rect', `lg${i}`, { class: `bar ${cls}`, x: lx, y: 4, width: 10, height: 10 });
      const t = p.el('text', `lt${i}`, { x: lx + 14, y: 13 }, name);
      lx += 14 + (t.getComputedTextLength ? t.getComputedTextLength() : name.length * 6) + 14;
    });
    const max = Math.max(1, ...rows.map((r) => r.parts.reduce((a, b) => a + b.value, 0)));
    // The value labels go right of the bars: the longest one decides how long a bar may be.
    const values = rows.map((r, i) => p.el('text', `v${i}`, { class: 'v', y: top + i * rowH + 17 }, r.text));
    const vw = Math.max(0, ...values.map((t) => (t.getComputedTextLength ? t.getComputedTextLength() : t.textContent.length * 6)));
    const bw = Math.max(20, W - LW - vw - 10);
    rows.forEach((r, i) => {
      const y0 = top + i * rowH;
      const name = r.label.length > 16 ? `${r.label.slice(0, 15)}…` : r.label;
      p.el('text', `n${i}`, { x: 0, y: y0 + 17 }, name);
      let bx = LW;
      r.parts.forEach((part, j) => {
        const w = (part.value / max) * bw;
        p.el('rect', `b${i}.${j}`, { class: `bar ${part.cls}`, x: bx, y: y0 + 5, width: Math.max(0, w), height: rowH - 10, rx: 2 });
        bx += w;
      });
      values[i].setAttribute('x', bx + 6);
    });
    if (!rows.length) p.el('text', 'empty', { class: 'empty', x: 0, y: top + 17 }, emptyText);
    svg.setAttribute('aria-label', `${label}: ${rows.length ? rows.map((r) => `${r.label} ${r.text}`).join('; ') : emptyText}`);
    p.done();
  }

  const colour = (name) => `s${Math.max(0, names.indexOf(name)) % 6}`;

  function drawCharts() {
    if (!data.stats) return;
    const stats = data.stats;
    lineChart($('ch-latency'), [
      { name: 'p50', cls: 's0', get: (pt) => pt.p50 },
      { name: 'p95', cls: 's1', get: (pt) => pt.p95 },
    ], 'ms', 'Latency of the requests finished in each interval');
    lineChart($('ch-rate'), [
      { name: 'requests', cls: 's2', get: (pt) => pt.rps },
      { name: 'errors', cls: 's4', get: (pt) => pt.eps },
    ], '/s', 'Requests and errors per second');
    const tokNames = Object.keys(stats.tokens.byBackend);
    lineChart($('ch-tokens'), tokNames.map((n) => ({ name: n, cls: colour(n), get: (pt) => (pt.tok[n] == null ? 0 : pt.tok[n]) })),
      'tok/s', 'Tokens per second by backend');
    barChart($('ch-tokbar'), Object.entries(stats.tokens.byBackend).map(([n, t]) => ({
      label: n, parts: [{ value: t.input, cls: 's0' }, { value: t.output, cls: 's1' }],
      text: `${compact(t.total)} tok (${compact(t.input)} in · ${compact(t.output)} out)`,
    })), [['input', 's0'], ['output', 's1']], 'Tokens by backend since start', 'No tokens yet.');
    const cats = Object.entries(stats.categories).sort((a, b) => b[1] - a[1]);
    const n = cats.reduce((a, c) => a + c[1], 0);
    barChart($('ch-cats'), cats.map(([c, v], i) => ({
      label: c, parts: [{ value: v, cls: `s${i % 6}` }], text: `${int(v)} req (${pct(v / n)})`,
    })), [], 'Requests by category, over the log',
    data.health.smartRouting ? 'No classified requests yet.' : 'No classified requests: smart routing is off.');
  }

  // Charts are drawn at their real pixel width: redraw when the width changes (not the height,
  // which changes with every new log row).
  let resizeFrame = 0;
  let lastWidth = 0;
  new ResizeObserver((list) => {
    const width = Math.round(list[0].contentRect.width);
    if (width === lastWidth) return;
    lastWidth = width;
    cancelAnimationFrame(resizeFrame);
    resizeFrame = requestAnimationFrame(drawCharts);
  }).observe($('main'));

  poll();
})();
