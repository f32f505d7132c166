// The dashboard's page and assets as strings (no build step): the HTML shell, its stylesheet, the script
// that polls `data.json` and draws uPlot charts, and uPlot itself, read from node_modules on first use.

import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'

/** One file the dashboard serves. */
export interface DashboardAsset {
  contentType: string
  body: string
}

/**
 * The page loads nothing but its own files and fetches only its own JSON: no inline script or style, no
 * framing, no form posts, no base-URL tricks.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** The file names the page refers to, relative to where the dashboard is mounted. */
export const DASHBOARD_FILES = {
  data: 'data.json',
  script: 'dashboard.js',
  styles: 'dashboard.css',
  uplotScript: 'uplot.iife.min.js',
  uplotStyles: 'uplot.min.css',
} as const

/** The HTML shell; everything inside `main` is drawn by the script. */
export const dashboardHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>redkit dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${DASHBOARD_FILES.uplotStyles}">
<link rel="stylesheet" href="${DASHBOARD_FILES.styles}">
<script src="${DASHBOARD_FILES.uplotScript}" defer></script>
<script src="${DASHBOARD_FILES.script}" defer></script>
</head>
<body data-state="loading">
<header>
  <h1>redkit</h1>
  <span class="pill" id="status" data-status="">…</span>
  <span class="pill" id="breaker" data-breaker="">breaker …</span>
  <span class="meta" id="target"></span>
  <span class="meta" id="updated"></span>
</header>
<p id="error" class="error" hidden></p>
<main>
  <section>
    <h2>Connections</h2>
    <table id="roles"><thead><tr><th>role</th><th>status</th><th>ping</th><th>note</th></tr></thead><tbody></tbody></table>
    <p class="meta" id="server"></p>
  </section>
  <section>
    <h2>Caches</h2>
    <p class="meta" id="keyspace-note"></p>
    <div id="caches" class="grid"><p class="meta empty">No cache namespace yet.</p></div>
  </section>
  <section>
    <h2>Rate limits</h2>
    <div id="limiters" class="grid"><p class="meta empty">No limiter yet.</p></div>
  </section>
  <section>
    <h2>Recent invalidations</h2>
    <table id="invalidations"><thead><tr><th>time</th><th>kind</th><th>namespace</th><th>key / tags</th><th>result</th></tr></thead><tbody></tbody></table>
  </section>
</main>
</body>
</html>
`

/** The page's stylesheet (served as a file: the CSP allows no inline style). */
export const dashboardStyles = `
:root { color-scheme: light; --fg: #1d232a; --muted: #66707a; --line: #dfe3e8; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #f6f8fa; }
header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 15px; margin: 20px 0 8px; }
h3 { font-size: 14px; margin: 0 0 6px; font-family: ui-monospace, monospace; }
main { padding: 0 20px 24px; }
.meta { color: var(--muted); font-size: 12px; }
.pill { padding: 2px 10px; border-radius: 999px; background: var(--line); font-weight: 600; font-size: 12px; }
.pill[data-status="healthy"], .pill[data-breaker="closed"] { background: #dafbe1; color: var(--ok); }
.pill[data-status="degraded"], .pill[data-breaker="half-open"] { background: #fff8c5; color: var(--warn); }
.pill[data-status="down"], .pill[data-breaker="open"] { background: #ffebe9; color: var(--bad); }
.error { margin: 12px 20px 0; padding: 8px 12px; background: #ffebe9; color: var(--bad); border-radius: 6px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; min-width: 0; }
.numbers { display: grid; grid-template-columns: repeat(3, 1fr); gap: 4px 12px; margin: 0 0 8px; }
.numbers div { min-width: 0; }
.numbers dt { color: var(--muted); font-size: 11px; }
.numbers dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
.chart { margin-top: 6px; min-height: 150px; }
.chart-title { color: var(--muted); font-size: 11px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); font-size: 12px; }
td { font-family: ui-monospace, monospace; word-break: break-all; }
.uplot { font-family: inherit; }
`

/**
 * The page's script. Plain browser JavaScript: it polls `data.json` every interval and redraws. Data is
 * only ever written with textContent, so a key or tag that looks like HTML stays text.
 */
export const dashboardScript = `'use strict';
(function () {
  var MINUTE = 60000;
  var cacheCards = {};
  var limiterCards = {};
  var pollMs = 2000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function percent(value) { return value === null || value === undefined ? '–' : (value * 100).toFixed(1) + ' %'; }
  function millis(value) { return value === null || value === undefined ? '–' : (value < 1 ? value.toFixed(3) : value.toFixed(1)) + ' ms'; }
  function count(value) { return value === null || value === undefined ? '–' : String(Math.round(value)); }
  function bytes(value) {
    if (value === null || value === undefined) return '–';
    var units = ['B', 'KB', 'MB', 'GB', 'TB'];
    var i = 0;
    while (value >= 1024 && i < units.length - 1) { value /= 1024; i++; }
    return (i === 0 ? String(value) : value.toFixed(1)) + ' ' + units[i];
  }
  function sum(values, from) {
    var total = 0;
    for (var i = from; i < values.length; i++) total += values[i];
    return total;
  }
  /** Index of the first sample within the last minute. */
  function lastMinute(times) {
    var since = (times.length ? times[times.length - 1] : Date.now()) - MINUTE;
    var i = times.length;
    while (i > 0 && times[i - 1] > since) i--;
    return i;
  }
  function numbers(card, entries) {
    var list = card.querySelector('.numbers');
    list.textContent = '';
    entries.forEach(function (entry) {
      var item = el('div');
      item.appendChild(el('dt', '', entry[0]));
      var value = el('dd', '', entry[1]);
      if (entry[2]) value.setAttribute('data-field', entry[2]);
      item.appendChild(value);
      list.appendChild(item);
    });
  }
  function chartWidth(holder) { return Math.max(240, holder.clientWidth || 400); }
  function makeChart(holder, title, series, range, gaps) {
    holder.appendChild(el('div', 'chart-title', title));
    var scales = { x: { time: true } };
    if (range) scales.y = { range: range };
    var options = {
      width: chartWidth(holder),
      height: 130,
      scales: scales,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      series: [{}].concat(series.map(function (s) {
        // Intervals without reads are gaps (null): lines join the intervals around them, dots mark each value.
        return { label: s.label, stroke: s.color, width: 1.5, spanGaps: !!gaps, points: { show: !!gaps, size: 4 } };
      })),
      axes: [{}, { size: 50 }],
    };
    var empty = [[]].concat(series.map(function () { return []; }));
    return new uPlot(options, empty, holder);
  }
  function section(id) {
    var holder = document.getElementById(id);
    var placeholder = holder.querySelector('.empty');
    if (placeholder) placeholder.remove();
    return holder;
  }

  function cacheCard(name) {
    var existing = cacheCards[name];
    if (existing) return existing;
    var card = el('article', 'card');
    card.setAttribute('data-namespace', name);
    card.appendChild(el('h3', '', name));
    card.appendChild(el('dl', 'numbers'));
    var hit = el('div', 'chart');
    var latency = el('div', 'chart');
    card.appendChild(hit);
    card.appendChild(latency);
    section('caches').appendChild(card);
    existing = {
      card: card,
      hit: makeChart(hit, 'hit rate per interval (%)', [{ label: 'hit rate', color: '#1a7f37' }], [0, 100], true),
      latency: makeChart(latency, 'read latency per interval (ms)', [
        { label: 'p50', color: '#0969da' },
        { label: 'p99', color: '#cf222e' },
      ], null, true),
    };
    cacheCards[name] = existing;
    return existing;
  }

  function limiterCard(name) {
    var existing = limiterCards[name];
    if (existing) return existing;
    var card = el('article', 'card');
    card.setAttribute('data-limiter', name);
    card.appendChild(el('h3', '', name));
    card.appendChild(el('dl', 'numbers'));
    var decisions = el('div', 'chart');
    card.appendChild(decisions);
    section('limiters').appendChild(card);
    existing = {
      card: card,
      chart: makeChart(decisions, 'decisions per interval', [
        { label: 'allowed', color: '#1a7f37' },
        { label: 'rejected', color: '#cf222e' },
        { label: 'blocked', color: '#9a6700' },
      ]),
    };
    limiterCards[name] = existing;
    return existing;
  }

  function renderHeader(data) {
    var status = document.getElementById('status');
    status.textContent = data.health.status;
    status.setAttribute('data-status', data.health.status);
    if (data.health.reason) status.title = data.health.reason;
    var breaker = document.getElementById('breaker');
    breaker.textContent = 'breaker ' + data.breaker.state;
    breaker.setAttribute('data-breaker', data.breaker.state);
    document.getElementById('target').textContent =
      'mode ' + data.mode + ' · prefix ' + data.prefix + (data.closing ? ' · closing' : '');
    document.getElementById('updated').textContent =
      'updated ' + new Date(data.collectedAt).toLocaleTimeString() + ' · every ' + data.intervalMs / 1000 + ' s';
  }

  function renderRoles(data) {
    var body = document.querySelector('#roles tbody');
    body.textContent = '';
    var roles = Object.keys(data.health.roles);
    if (roles.length === 0) {
      var row = el('tr');
      row.appendChild(el('td', '', 'embedded'));
      row.appendChild(el('td', '', 'in process'));
      row.appendChild(el('td', '', '–'));
      row.appendChild(el('td', '', 'memory mode: no Redis connection'));
      body.appendChild(row);
    }
    roles.forEach(function (role) {
      var health = data.health.roles[role];
      var row = el('tr');
      row.setAttribute('data-role', role);
      row.appendChild(el('td', '', role));
      row.appendChild(el('td', '', health.status));
      row.appendChild(el('td', '', health.latencyMs === undefined ? '–' : millis(health.latencyMs)));
      row.appendChild(el('td', '', health.error || ''));
      body.appendChild(row);
    });
    var server = data.health.server;
    var facts = [];
    if (server) {
      if (server.version) facts.push('Redis ' + server.version);
      if (server.usedMemoryBytes !== undefined) facts.push('used memory ' + bytes(server.usedMemoryBytes));
      if (server.maxmemoryBytes) facts.push('maxmemory ' + bytes(server.maxmemoryBytes));
      if (server.maxmemoryPolicy) facts.push('policy ' + server.maxmemoryPolicy);
      if (server.error) facts.push(server.error);
    }
    document.getElementById('server').textContent = facts.join(' · ');
  }

  function renderCaches(data) {
    var xs = data.times.map(function (t) { return t / 1000; });
    var from = lastMinute(data.times);
    var keyspace = data.keyspace;
    var note = document.getElementById('keyspace-note');
    if (keyspace) {
      note.textContent = 'keys and memory sampled ' + new Date(keyspace.sampledAt).toLocaleTimeString() +
        (keyspace.complete ? '' : ' (partial: counts are lower bounds)') + (keyspace.error ? ' · ' + keyspace.error : '');
    } else {
      note.textContent = 'keys and memory: sampling off';
    }
    Object.keys(data.caches).forEach(function (name) {
      var series = data.caches[name];
      var view = cacheCard(name);
      var hits = sum(series.hits, from);
      var reads = hits + sum(series.misses, from);
      var recent = reads === 0 ? null : hits / reads;
      var sampled = keyspace && keyspace.namespaces[name];
      view.card.setAttribute('data-hit-rate', recent === null ? '' : recent.toFixed(4));
      view.card.setAttribute('data-reads', String(series.totals.hits + series.totals.misses));
      numbers(view.card, [
        ['hit rate, last minute', percent(recent), 'hit-rate'],
        ['hit rate, since start', percent(series.totals.hits + series.totals.misses === 0 ? null : series.totals.hitRate)],
        ['reads, last minute', count(reads), 'reads'],
        ['keys', sampled ? count(sampled.keys) + (keyspace.complete ? '' : '+') : '–', 'keys'],
        ['memory', sampled ? '~' + bytes(sampled.memoryBytes) : '–', 'memory'],
        ['L1 entries', count(series.totals.l1Size) + ' · ' + bytes(series.totals.l1Bytes)],
      ]);
      view.hit.setData([xs, series.hitRate.map(function (r) { return r === null ? null : r * 100; })]);
      view.latency.setData([xs, series.p50, series.p99]);
    });
  }

  function renderLimiters(data) {
    var xs = data.times.map(function (t) { return t / 1000; });
    var from = lastMinute(data.times);
    Object.keys(data.limiters).forEach(function (name) {
      var series = data.limiters[name];
      var view = limiterCard(name);
      var allowed = sum(series.allowed, from);
      var rejected = sum(series.rejected, from);
      view.card.setAttribute('data-rejected', String(series.totals.rejected));
      numbers(view.card, [
        ['allowed, last minute', count(allowed), 'allowed'],
        ['rejected, last minute', count(rejected), 'rejected'],
        ['blocked, last minute', count(sum(series.blocked, from)), 'blocked'],
        ['allowed, since start', count(series.totals.allowed)],
        ['rejected, since start', count(series.totals.rejected)],
        ['store errors', count(series.totals.storeErrors)],
      ]);
      view.chart.setData([xs, series.allowed, series.rejected, series.blocked]);
    });
  }

  function renderInvalidations(data) {
    var body = document.querySelector('#invalidations tbody');
    body.textContent = '';
    data.invalidations.forEach(function (entry) {
      var row = el('tr');
      row.setAttribute('data-kind', entry.kind);
      row.appendChild(el('td', '', new Date(entry.at).toLocaleTimeString()));
      row.appendChild(el('td', '', entry.kind));
      row.appendChild(el('td', '', entry.namespace || '*'));
      row.appendChild(el('td', '', entry.kind === 'tags' ? (entry.tags || []).join(', ') : entry.key || ''));
      var result = entry.failed ? 'failed' : entry.kind === 'delete' ? (entry.existed ? 'deleted' : 'absent') : 'invalidated';
      row.appendChild(el('td', '', result));
      body.appendChild(row);
    });
  }

  function render(data) {
    pollMs = Math.max(500, data.intervalMs);
    renderHeader(data);
    renderRoles(data);
    renderCaches(data);
    renderLimiters(data);
    renderInvalidations(data);
    document.getElementById('error').hidden = true;
    document.body.setAttribute('data-state', 'live');
    document.body.setAttribute('data-samples', String(data.times.length));
  }

  function showError(error) {
    var banner = document.getElementById('error');
    banner.textContent = 'Cannot load the dashboard data: ' + error.message;
    banner.hidden = false;
    document.body.setAttribute('data-state', 'error');
  }

  function poll() {
    fetch('${DASHBOARD_FILES.data}', { cache: 'no-store', credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(render)
      .catch(showError)
      .then(function () { setTimeout(poll, pollMs); });
  }

  window.addEventListener('resize', function () {
    var all = [];
    Object.keys(cacheCards).forEach(function (name) { all.push(cacheCards[name].hit, cacheCards[name].latency); });
    Object.keys(limiterCards).forEach(function (name) { all.push(limiterCards[name].chart); });
    all.forEach(function (chart) { chart.setSize({ width: chartWidth(chart.root.parentNode), height: 130 }); });
  });

  poll();
})();
`

const requireFromHere = createRequire(import.meta.url)

/** uPlot's files, by the name the page uses; resolved from node_modules on first use. */
const UPLOT_FILES: Record<string, { module: string; contentType: string }> = {
  [DASHBOARD_FILES.uplotScript]: {
    module: 'uplot/dist/uPlot.iife.min.js',
    contentType: 'text/javascript; charset=utf-8',
  },
  [DASHBOARD_FILES.uplotStyles]: {
    module: 'uplot/dist/uPlot.min.css',
    contentType: 'text/css; charset=utf-8',
  },
}

const loaded = new Map<string, Promise<DashboardAsset>>()

/**
 * The static file `name` of the dashboard (its script, stylesheet or one of uPlot's), or undefined for any
 * other name. uPlot's files are read once per process.
 */
export function dashboardAsset(name: string): Promise<DashboardAsset> | undefined {
  if (name === DASHBOARD_FILES.script) {
    return Promise.resolve({ contentType: 'text/javascript; charset=utf-8', body: dashboardScript })
  }
  if (name === DASHBOARD_FILES.styles) {
    return Promise.resolve({ contentType: 'text/css; charset=utf-8', body: dashboardStyles })
  }
  const file = Object.hasOwn(UPLOT_FILES, name) ? UPLOT_FILES[name] : undefined
  if (file === undefined) return undefined
  let asset = loaded.get(name)
  if (asset === undefined) {
    asset = readFile(requireFromHere.resolve(file.module), 'utf8').then((body) => ({
      contentType: file.contentType,
      body,
    }))
    // A failed read is tried again on the next request rather than cached.
    asset.catch(() => loaded.delete(name))
    loaded.set(name, asset)
  }
  return asset
}
