// The dashboard in a real browser: headless Chromium (the system's, driven by playwright-core)
// against the gateway binary on the demo backend, on free 127.0.0.1 ports. Checks the numbers
// against /debug/stats, switches the backend and smart routing through the UI, opens a request's
// details, and saves screenshots under test-output/. Run by tests/browser/run.sh (`make test`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'test-output');
const BIN = process.env.GATEWAY_BIN || path.join(ROOT, 'target/debug/llm-gateway');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CLIENT_KEY = 'dashboard-test-client-key';
const ADMIN = 'dashboard-test-admin-token';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 360, height: 740 };

let gateway;
let base;
let tmp;
let context;
let page;
const pageErrors = [];
const consoleErrors = [];
const external = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy, or fails after `ms` with what it last saw. */
async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; last saw: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function api(p, body, key = ADMIN) {
  const init = { headers: { Authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(10000) };
  if (body !== undefined) {
    init.method = 'POST';
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(base + p, init);
  return { status: res.status, json: await res.json().catch(() => null) };
}

/** A mix of dialects, streams, a pinned backend and one failure (the backend that is down). */
async function traffic(rounds = 1) {
  const chat = (content, extra = {}) => ({ model: 'demo', messages: [{ role: 'user', content }], ...extra });
  const calls = [
    ['/v1/chat/completions', chat('hello there')],
    ['/v1/chat/completions', chat('count to three', { stream: true })],
    ['/v1/messages', { ...chat('write a haiku about routers'), max_tokens: 64 }],
    ['/v1/messages', { ...chat('stream please'), max_tokens: 64, stream: true }],
    ['/v1/responses', { model: 'demo', input: 'what is a gateway?' }],
    ['/v1/responses', { model: 'demo', input: 'stream it', stream: true }],
    ['/spare/v1/chat/completions', chat('pinned to the spare backend')],
    ['/offline/v1/chat/completions', chat('this one fails')],
  ];
  for (let i = 0; i < rounds; i++) {
    for (const [p, body] of calls) {
      const res = await fetch(base + p, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${CLIENT_KEY}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10000),
      });
      await res.arrayBuffer();
    }
  }
}

async function texts(ids) {
  return page.evaluate((ids) => Object.fromEntries(ids.map((id) => {
    const e = document.getElementById(id);
    return [id, { text: e.textContent, value: e.dataset.value }];
  })), ids);
}

/** "93.6 ms" or "1.23 s" in milliseconds. */
function parseMs(text) {
  const m = /^([\d.]+)\s(ms|s)$/.exec(text);
  assert.ok(m, `a latency, got ${JSON.stringify(text)}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

async function shot(name, fullPage = true) {
  await page.screenshot({ path: path.join(OUT, name), fullPage });
}

before(async () => {
  assert.ok(fs.existsSync(BIN), `gateway binary missing: ${BIN} (cargo build first)`);
  assert.ok(fs.existsSync(CHROMIUM), `chromium missing: ${CHROMIUM} (apt-get install chromium)`);
  fs.mkdirSync(OUT, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-gateway-dashboard-'));
  const [port, metricsPort, deadPort] = [await freePort(), await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  const config = {
    backends: { demo: 'demo://', spare: 'demo://', offline: `http://127.0.0.1:${deadPort}` },
    defaultBackend: 'demo',
    logging: { includeBody: true },
    auth: { apiKeys: [CLIENT_KEY], adminToken: ADMIN },
  };
  fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(config));
  const log = fs.openSync(path.join(OUT, 'browser-gateway.log'), 'w');
  gateway = spawn(BIN, ['--config', path.join(tmp, 'config.json'), '--bind', '127.0.0.1', '--port', String(port),
    '--metrics-port', String(metricsPort), '--log-level', 'warn'], { stdio: ['ignore', log, log] });
  await until('the gateway to answer /debug/health', async () => (await fetch(`${base}/debug/health`)).status < 600, 15000);
  await until('the health probe to see the offline backend down', async () =>
    (await api('/debug/health')).json.backends.offline.status === 'down', 15000);
  await traffic(2);

  context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: DESKTOP,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
  // The dashboard must work offline: anything not on this gateway is refused and counted.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.origin === base) return route.continue();
    external.push(url.href);
    return route.abort();
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  // Refusals the test provokes (401, 403, and 400 from the router) show up as failed loads.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[013] /.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('response', (r) => { if (r.status() === 404 || r.status() >= 500) consoleErrors.push(`${r.status()} ${r.url()}`); });
});

after(async () => {
  if (context) await context.close().catch(() => {});
  if (gateway && gateway.exitCode === null) gateway.kill('SIGKILL');
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('serves the dashboard from the binary with caching headers', async () => {
  let index;
  for (const p of ['/dashboard', '/dashboard/']) {
    const res = await fetch(base + p);
    assert.equal(res.status, 200, p);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(res.headers.get('etag'), /^"[0-9a-f]{16}"$/);
    index = await res.text();
  }
  const assets = [...index.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1]);
  assert.equal(assets.length, 2, `index names a script and a style sheet: ${assets}`);
  let total = Buffer.byteLength(index);
  for (const a of assets) {
    const res = await fetch(base + a);
    assert.equal(res.status, 200, a);
    assert.match(res.headers.get('content-type'), a.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
    assert.match(res.headers.get('cache-control'), /immutable/);
    total += (await res.arrayBuffer()).byteLength;
  }
  assert.ok(total < 100 * 1024, `dashboard is small: ${total} bytes`);
  assert.equal((await fetch(`${base}/dashboard/nope.js`)).status, 404);
  assert.equal((await fetch(`${base}/dashboard`, { method: 'POST' })).status, 405);
});

test('asks for a token, then shows the numbers /debug/stats has', async () => {
  await page.goto(`${base}/dashboard?refresh=1`);
  await page.getByLabel('Admin token or API key').fill(CLIENT_KEY);
  await page.getByRole('button', { name: 'Use token' }).click();
  const stats = (await api('/debug/stats')).json;
  const o = stats.overview;
  await until('the overview to show the total', async () =>
    (await texts(['ov-total']))['ov-total'].value === String(o.totalRequests));
  const shown = await texts(['ov-total', 'ov-success', 'ov-avg', 'ov-p95', 'ov-hour', 'ov-tokens', 'ov-errors']);
  assert.equal(shown['ov-total'].text, o.totalRequests.toLocaleString('en-US'));
  assert.equal(shown['ov-success'].text, `${(o.successRate * 100).toFixed(1)}%`);
  assert.equal(shown['ov-errors'].value, String(o.totalErrors));
  assert.ok(o.totalErrors >= 2, 'the offline backend failed');
  assert.ok(Math.abs(parseMs(shown['ov-avg'].text) - o.avgLatencyMs) <= 0.5, `avg ${shown['ov-avg'].text} vs ${o.avgLatencyMs}`);
  assert.ok(Math.abs(parseMs(shown['ov-p95'].text) - o.window.p95LatencyMs) <= 0.5, `p95 ${shown['ov-p95'].text} vs ${o.window.p95LatencyMs}`);
  assert.equal(shown['ov-hour'].text, o.lastHour.requests.toLocaleString('en-US'));
  assert.equal(shown['ov-tokens'].value, String(stats.tokens.input + stats.tokens.output));
  assert.equal(shown['ov-tokens'].text, (stats.tokens.input + stats.tokens.output).toLocaleString('en-US'));

  // Performance: one row per backend with its request and error counts.
  const perf = await page.$$eval('#perf-rows tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.deepEqual(perf.map((r) => r[0]).sort(), Object.keys(stats.backends).sort());
  for (const [name, requests, errors] of perf) {
    assert.equal(requests, String(stats.backends[name].requests), `${name} requests`);
    assert.equal(errors, String(stats.backends[name].errors), `${name} errors`);
  }
  // Backend status: every backend, the default marked, the offline one down.
  const backends = await page.$$eval('#backends li', (lis) => lis.map((li) => ({
    name: li.dataset.k, isDefault: li.dataset.default, status: li.querySelector('.pill').textContent,
  })));
  assert.deepEqual(backends.map((b) => b.name).sort(), ['demo', 'offline', 'spare']);
  assert.deepEqual(backends.filter((b) => b.isDefault === 'true').map((b) => b.name), ['demo']);
  assert.equal(backends.find((b) => b.name === 'offline').status, 'down');
  assert.equal(await page.textContent('#health'), 'degraded');
});

test('draws the charts from the polled history', async () => {
  // Traffic across several polls (one a second), until two neighbouring points are joined.
  const joined = () => page.$eval('#ch-latency path.s1', (p) => p.getAttribute('visibility') === 'visible' && /L/.test(p.getAttribute('d')));
  for (let i = 0; i < 10 && !(await joined()); i++) await traffic(1);
  assert.ok(await joined(), 'the latency chart has a line');
  const labels = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => s.getAttribute('aria-label')));
  assert.ok(labels.every((l) => l && l.length > 10), `every chart is labelled: ${labels}`);
  assert.match(await page.getAttribute('#ch-latency', 'aria-label'), /p95 [\d.]+ ms/);
  assert.match(await page.getAttribute('#ch-tokbar', 'aria-label'), /demo [\d.,k]+ tok/);
  assert.match(await page.getAttribute('#ch-cats', 'aria-label'), /smart routing is off|req/);
});

test('switches the default backend through the UI, asking for the admin token', async () => {
  await page.getByLabel('Default backend').selectOption('spare');
  await page.getByRole('button', { name: 'Switch' }).click();
  // The client key may read but not switch: the UI says so and asks for the admin token.
  await until('the refusal', async () => /Could not switch/.test(await page.textContent('#ctl-feedback')));
  assert.equal((await api('/debug/switch')).json.current, 'demo');
  await page.getByLabel('Admin token or API key').fill(ADMIN);
  await page.getByRole('button', { name: 'Use token' }).click();
  await page.getByRole('button', { name: 'Switch' }).click();
  await until('the confirmation', async () => /now spare/.test(await page.textContent('#ctl-feedback')));
  assert.equal((await api('/debug/switch')).json.current, 'spare');
  await until('the default marker to move', () => page.$eval('#backends li[data-k="spare"]', (li) => li.dataset.default === 'true'));
  assert.equal(await page.$eval('#backends li[data-k="demo"]', (li) => li.dataset.default), 'false');
});

test('toggles smart routing through the UI', async (t) => {
  const before = (await api('/debug/router')).json.enabled;
  const toggle = page.getByRole('switch', { name: 'Smart routing' });
  assert.equal(await toggle.getAttribute('aria-checked'), String(before));
  await page.evaluate(() => { document.getElementById('ctl-feedback').textContent = ''; });
  await toggle.click();
  const said = await until('feedback', async () => (await page.textContent('#ctl-feedback')) || false);
  if (/^Could not/.test(said)) {
    // The router refuses the action: the API must refuse it too, and nothing may change.
    const direct = await api('/debug/router', { action: before ? 'disable' : 'enable' });
    assert.notEqual(direct.status, 200, `the UI reported "${said}" but the API accepted the action`);
    assert.ok(said.includes(direct.json.error.message), `the UI shows the gateway's reason: ${said}`);
    assert.equal((await api('/debug/router')).json.enabled, before);
    assert.equal(await toggle.getAttribute('aria-checked'), String(before));
    t.diagnostic(`smart routing actions refused by the gateway (${direct.status}); checked the error path`);
    return;
  }
  assert.match(said, before ? /disabled/ : /enabled/);
  assert.equal((await api('/debug/router')).json.enabled, !before);
  assert.equal(await toggle.getAttribute('aria-checked'), String(!before));
  await toggle.click();
  await until('the toggle back', async () => (await api('/debug/router')).json.enabled === before);
  await until('the switch to show it', async () => (await toggle.getAttribute('aria-checked')) === String(before));
});

test('filters the request log and opens a request', async () => {
  const rowsNow = () => page.$$eval('#log-rows tr', (rows) => rows.map((r) => ({
    id: r.dataset.k, backend: r.cells[3].textContent, status: Number(r.cells[4].textContent),
  })));
  await page.getByLabel('Backend', { exact: true }).selectOption('spare');
  const spare = (await api('/debug/logs?limit=50&backend=spare')).json.logs.map((e) => e.id);
  await until('only spare rows', async () => JSON.stringify((await rowsNow()).map((r) => r.id)) === JSON.stringify(spare));
  await page.getByLabel('Backend', { exact: true }).selectOption('');
  await page.getByLabel('Status', { exact: true }).selectOption('error');
  const errors = (await api('/debug/logs?limit=50&status=error')).json.logs;
  await until('only failed rows', async () => {
    const rows = await rowsNow();
    return rows.length === errors.length && rows.every((r) => r.status >= 400);
  });
  await page.getByLabel('Status', { exact: true }).selectOption('');
  const newest = (await api('/debug/logs?limit=50')).json.logs;
  await until('the full log, newest first', async () => (await rowsNow())[0]?.id === newest[0].id);

  const pick = newest.find((e) => e.path === '/v1/messages' && e.stream);
  await page.getByRole('button', { name: `Details of request ${pick.id}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  const text = await dialog.textContent();
  for (const want of [pick.id, pick.routeReason, pick.conversion, 'write a haiku', pick.clientDialect,
    String(pick.inputTokens), String(pick.outputTokens), 'First token'].filter(Boolean)) {
    if (want === 'write a haiku' && !pick.requestBody.includes(want)) continue;
    assert.ok(text.includes(want), `details show ${want}`);
  }
  assert.ok(text.includes(JSON.parse(pick.requestBody).messages[0].content), 'details show the request body');
  await shot('dashboard-detail-desktop.png', false);
  await page.keyboard.press('Escape');
  await until('the dialog to close', async () => !(await dialog.isVisible()));

  // A failed request shows its error.
  const failed = errors[0];
  await page.getByRole('button', { name: `Details of request ${failed.id}` }).click();
  await dialog.waitFor();
  assert.ok((await dialog.textContent()).includes(failed.error), 'details show the error');
  await page.getByRole('button', { name: 'Close details' }).click();
  await until('the dialog to close', async () => !(await dialog.isVisible()));
});

test('fits desktop and phone widths, light and dark; saves screenshots', async () => {
  await page.setViewportSize(DESKTOP);
  await sleep(300);
  await shot('dashboard-desktop.png');
  await page.emulateMedia({ colorScheme: 'dark' });
  await sleep(300);
  await shot('dashboard-desktop-dark.png');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(PHONE);
  await sleep(500);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `no sideways scrolling at 360 px (page is ${width} px wide)`);
  await shot('dashboard-phone.png');
  const first = await page.$eval('#log-rows tr', (tr) => tr.dataset.k);
  await page.getByRole('button', { name: `Details of request ${first}` }).click();
  await page.getByRole('dialog').waitFor();
  await shot('dashboard-detail-phone.png', false);
  await page.getByRole('button', { name: 'Close details' }).click();
  assert.deepEqual(pageErrors, [], 'no script errors');
  assert.deepEqual(consoleErrors, [], 'no console errors');
  assert.deepEqual(external, [], 'nothing loaded from outside the gateway');
});

test('says so when the gateway is unreachable', async () => {
  await page.setViewportSize(DESKTOP);
  gateway.kill('SIGTERM');
  await until('the gateway to stop', async () => gateway.exitCode !== null || gateway.signalCode !== null, 10000);
  const banner = page.getByRole('alert');
  await until('the unreachable banner', async () => /unreachable/.test((await banner.textContent()) || ''), 10000);
  assert.equal(await page.textContent('#health'), 'unreachable');
  assert.equal(await page.$eval('#ov-total', (e) => e.textContent !== '–'), true, 'the last numbers stay');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('dashboard-unreachable.png', false);
});
