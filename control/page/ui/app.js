// @ts-check
/* global CSS, FormData, HTMLElement, URLSearchParams, document, location, performance, window -- browser globals (this file runs in the page, not in Node) */
// The fleet page: a hash router over four views (fleet, sites, one site,
// rollouts), the login field, and live updates from the control plane's
// server-sent events. No framework: the DOM, fetch and EventSource.
import { ApiError, getToken, openEvents, setToken } from './api.js';
import { StateChart } from './chart.js';
import { $ } from './dom.js';
import { loadFleet, renderFleet } from './fleet.js';
import { renderRegistrations } from './registrations.js';
import { renderRollouts } from './rollouts.js';
import { fillTenantFilter, renderSite, renderSites } from './sites.js';
import { event, measure, reportError, startTelemetry, view } from './telemetry.js';

const VIEWS = ['fleet', 'sites', 'site', 'rollouts', 'registrations', 'signin'];
/** @type {StateChart | null} */
let chart = null;
/** @type {(() => void) | null} */
let closeEvents = null;

/** @returns {{name: string, arg: string, query: URLSearchParams}} */
function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path = '/', q = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'site' && parts[1]) return { name: 'site', arg: decodeURIComponent(parts[1]), query: new URLSearchParams(q) };
  if (parts[0] === 'sites') return { name: 'sites', arg: '', query: new URLSearchParams(q) };
  if (parts[0] === 'rollouts') return { name: 'rollouts', arg: '', query: new URLSearchParams(q) };
  if (parts[0] === 'registrations') return { name: 'registrations', arg: '', query: new URLSearchParams(q) };
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

/** A selector that finds the focused element again after a redraw replaced it. */
function focusKey() {
  const a = document.activeElement;
  if (!(a instanceof HTMLElement) || a === document.body) return null;
  if (a.id) return `#${CSS.escape(a.id)}`;
  for (const attr of ['href', 'aria-label']) {
    const v = a.getAttribute(attr);
    if (v) return `${a.tagName.toLowerCase()}[${attr}="${CSS.escape(v)}"]`;
  }
  return null;
}

/** @param {boolean} navigated true when the user went somewhere (focus follows), false for a live redraw (focus stays) */
async function render(navigated) {
  const before = document.activeElement;
  const key = navigated ? null : focusKey();
  try {
    await draw(navigated);
  } finally {
    if (key && before instanceof HTMLElement && !before.isConnected) {
      const again = document.querySelector(key);
      // A button the action just disabled (Pause once paused) hands focus to its enabled neighbour (Resume).
      const target = again?.matches(':disabled') ? again.closest('.actions')?.querySelector('button:not(:disabled)') : again;
      if (target instanceof HTMLElement) target.focus();
    }
  }
}

/** @param {boolean} navigated */
async function draw(navigated) {
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
    else if (r.name === 'rollouts') await renderRollouts(() => void render(false));
    else if (r.name === 'registrations') await renderRegistrations(() => void render(false));
    $('login-status').textContent = '';
  } catch (err) {
    showError(err);
  }
  // On navigation, focus moves to the new view's heading, so keyboard and screen-reader users land there; never on a live redraw.
  if (navigated) {
    const h = document.querySelector(`#view-${r.name} h1`);
    if (h instanceof HTMLElement && !document.activeElement?.closest(`#view-${r.name} form`)) h.focus();
  }
}

/** Coalesces bursts of live events into one redraw. */
let pending = /** @type {number | null} */ (null);
function scheduleRefresh() {
  if (pending !== null) return;
  pending = window.setTimeout(() => {
    pending = null;
    const r = route().name;
    // Live: the glance and the rollouts redraw on every event; lists only on navigation (they may be long).
    if (r === 'fleet' || r === 'rollouts' || r === 'site') void render(false);
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
    void render(true);
  });
  $('sign-out').addEventListener('click', () => signOut(true));
  $('site-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(/** @type {HTMLFormElement} */ (e.currentTarget));
    const q = new URLSearchParams();
    for (const [k, v] of data) if (typeof v === 'string' && v.trim() !== '') q.set(k, v.trim());
    location.hash = `#/sites${q.size ? `?${q}` : ''}`;
  });
  window.addEventListener('hashchange', () => void render(true));
  // Without live events (a proxy that buffers them), the glance still refreshes every 30 s.
  window.setInterval(() => { if (getToken() && route().name === 'fleet') void render(false); }, 30_000);
  if (getToken()) signedIn();
  void render(false);
  measure('page_ready', performance.now());
}

main();
