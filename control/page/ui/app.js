// @ts-check
/* global FormData, HTMLElement, URLSearchParams, document, location, performance, window -- browser globals (this file runs in the page, not in Node) */
// The fleet page: a hash router over four views (fleet, sites, one site,
// rollouts), the login field, and live updates from the control plane's
// server-sent events. No framework: the DOM, fetch and EventSource.
import { ApiError, getToken, openEvents, setToken } from './api.js';
import { StateChart } from './chart.js';
import { $ } from './dom.js';
import { loadFleet, renderFleet } from './fleet.js';
import { renderRollouts } from './rollouts.js';
import { fillTenantFilter, renderSite, renderSites } from './sites.js';
import { event, measure, reportError, startTelemetry, view } from './telemetry.js';

const VIEWS = ['fleet', 'sites', 'site', 'rollouts', 'signin'];
/** @type {StateChart | null} */
let chart = null;
/** @type {(() => void) | null} */
let closeEvents = null;
let firstRoute = true;

/** @returns {{name: string, arg: string, query: URLSearchParams}} */
function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path = '/', q = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'site' && parts[1]) return { name: 'site', arg: decodeURIComponent(parts[1]), query: new URLSearchParams(q) };
  if (parts[0] === 'sites') return { name: 'sites', arg: '', query: new URLSearchParams(q) };
  if (parts[0] === 'rollouts') return { name: 'rollouts', arg: '', query: new URLSearchParams(q) };
  return { name: 'fleet', arg: '', query: new URLSearchParams(q) };
}

/** @param {string} name */
function show(name) {
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== name;
  const navName = name === 'site' ? 'sites' : name;
  for (const a of document.querySelectorAll('.sections a')) {
    const target = a.getAttribute('href')?.replace(/^#\/?/, '') || 'fleet';
    if (target === navName) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/** @param {unknown} err */
function showError(err) {
  const status = $('login-status');
  if (err instanceof ApiError && err.status === 401) {
    status.textContent = 'The token was refused. Sign in again.';
    signOut(false);
    return;
  }
  status.textContent = err instanceof Error ? err.message : String(err);
  reportError(err, { view: route().name });
}

async function refreshFleet() {
  const t0 = performance.now();
  const f = await loadFleet();
  renderFleet(f);
  fillTenantFilter(f.by_tenant ?? {});
  chart ??= new StateChart($('state-chart'));
  chart.add(/** @type {Record<string, number>} */ (f.by_state));
  measure('render_fleet', performance.now() - t0);
  $('updated').textContent = `updated ${new Date().toLocaleTimeString('en-GB')}`;
}

async function render() {
  if (!getToken()) {
    show('signin');
    return;
  }
  const r = route();
  show(r.name);
  view(r.name);
  try {
    if (r.name === 'fleet') await refreshFleet();
    else if (r.name === 'sites') await renderSites(r.query);
    else if (r.name === 'site') await renderSite(r.arg);
    else if (r.name === 'rollouts') await renderRollouts(() => void render());
    $('login-status').textContent = '';
  } catch (err) {
    showError(err);
  }
  // Move focus to the new view's heading on navigation (not on first load), so keyboard and screen-reader users land there.
  if (!firstRoute) {
    const h = document.querySelector(`#view-${r.name} h1`);
    if (h instanceof HTMLElement && !document.activeElement?.closest(`#view-${r.name} form, #view-${r.name} .rollout`)) h.focus();
  }
  firstRoute = false;
}

/** Coalesces bursts of live events into one redraw. */
let pending = /** @type {number | null} */ (null);
function scheduleRefresh() {
  if (pending !== null) return;
  pending = window.setTimeout(() => {
    pending = null;
    const r = route().name;
    // Live: the glance and the rollouts redraw on every event; lists only on navigation (they may be long).
    if (r === 'fleet' || r === 'rollouts' || r === 'site') void render();
  }, 250);
}

function connect() {
  closeEvents?.();
  const live = $('live');
  closeEvents = openEvents(() => scheduleRefresh(), (state) => {
    live.textContent = state === 'live' ? 'Live updates on' : 'Reconnecting live updates…';
    live.dataset.state = state;
  });
}

/** @param {boolean} clearMessage */
function signOut(clearMessage) {
  setToken('');
  closeEvents?.();
  closeEvents = null;
  $('live').textContent = 'Not connected';
  /** @type {HTMLButtonElement} */ ($('sign-out')).hidden = true;
  /** @type {HTMLButtonElement} */ ($('sign-in')).hidden = false;
  $('token-field').hidden = false;
  if (clearMessage) $('login-status').textContent = 'Signed out.';
  show('signin');
}

function signedIn() {
  /** @type {HTMLButtonElement} */ ($('sign-out')).hidden = false;
  /** @type {HTMLButtonElement} */ ($('sign-in')).hidden = true;
  const input = /** @type {HTMLInputElement} */ ($('token'));
  input.value = '';
  $('token-field').hidden = true;
  connect();
}

function main() {
  startTelemetry();
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($('token'));
    setToken(input.value.trim());
    $('login-status').textContent = '';
    signedIn();
    event('sign_in');
    firstRoute = false;
    void render();
  });
  $('sign-out').addEventListener('click', () => signOut(true));
  $('site-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(/** @type {HTMLFormElement} */ (e.currentTarget));
    const q = new URLSearchParams();
    for (const [k, v] of data) if (typeof v === 'string' && v.trim() !== '') q.set(k, v.trim());
    location.hash = `#/sites${q.size ? `?${q}` : ''}`;
  });
  window.addEventListener('hashchange', () => void render());
  // Without live events (a proxy that buffers them), the glance still refreshes every 30 s.
  window.setInterval(() => { if (getToken() && route().name === 'fleet') void render(); }, 30_000);
  if (getToken()) signedIn();
  void render();
  measure('page_ready', performance.now());
}

main();
