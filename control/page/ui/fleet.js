// @ts-check
// The fleet at a glance: GET /api/v1/fleet/status.
import { api } from './api.js';
import { $, badge, el, fmt, replace, when } from './dom.js';

export const STATES = /** @type {const} */ (['healthy', 'unhealthy', 'offline', 'upgrading']);

/** @typedef {{healthy?: number, unhealthy?: number, offline?: number, upgrading?: number}} ByState */
/** @typedef {{ total: number, by_state: ByState, by_tenant: Record<string, ByState>, by_re: Record<string, ByState>, by_version: Record<string, number | ByState>, failures: {site: string, version: string, reason: string, at: string}[] }} FleetStatus */

/** @param {ByState} s */
const total = (s) => STATES.reduce((n, k) => n + (s[k] ?? 0), 0);

/** @param {HTMLTableElement} table @param {string} what @param {Record<string, ByState>} rows */
function stateTable(table, what, rows) {
  const head = /** @type {HTMLElement} */ (table.tHead);
  replace(head, el('tr', {}, el('th', { scope: 'col' }, what), ...STATES.map((s) => el('th', { scope: 'col', class: 'num' }, s)), el('th', { scope: 'col', class: 'num' }, 'total')));
  const body = /** @type {HTMLElement} */ (table.tBodies[0]);
  replace(body, ...Object.keys(rows).sort().map((name) => {
    const r = rows[name] ?? {};
    return el('tr', { 'data-name': name }, el('th', { scope: 'row' }, name), ...STATES.map((s) => el('td', { class: 'num', 'data-state': s }, r[s] ?? 0)), el('td', { class: 'num', 'data-state': 'total' }, total(r)));
  }));
}

/** @returns {Promise<FleetStatus>} */
export async function loadFleet() {
  return api('fleet_status', '/api/v1/fleet/status');
}

/** @param {FleetStatus} f */
export function renderFleet(f) {
  const parts = STATES.map((s) => el('span', { class: 'count', 'data-state': s }, el('b', {}, fmt(f.by_state[s] ?? 0)), ` ${s}`));
  const summary = $('fleet-summary');
  replace(summary, ...parts.flatMap((p, i) => (i === 0 ? [p] : [', ', p])), ' — ', el('span', { 'data-state': 'total' }, el('b', {}, fmt(f.total)), ' sites'));
  stateTable(/** @type {HTMLTableElement} */ ($('by-tenant')), 'Tenant', f.by_tenant ?? {});
  stateTable(/** @type {HTMLTableElement} */ ($('by-re')), 'RE', f.by_re ?? {});
  const versions = Object.entries(f.by_version ?? {}).map(([v, n]) => /** @type {[string, number]} */ ([v, typeof n === 'number' ? n : total(n)])).sort((a, b) => b[1] - a[1]);
  replace(/** @type {HTMLElement} */ (/** @type {HTMLTableElement} */ ($('by-version')).tBodies[0]), ...versions.map(([v, n]) => el('tr', {}, el('td', {}, v), el('td', { class: 'num' }, n))));
  const failures = f.failures ?? [];
  replace(/** @type {HTMLElement} */ (/** @type {HTMLTableElement} */ ($('failures')).tBodies[0]), ...(failures.length === 0
    ? [el('tr', {}, el('td', { colspan: '4' }, 'No recent failures.'))]
    : failures.slice(0, 20).map((x) => el('tr', {}, el('td', {}, el('a', { href: `#/site/${encodeURIComponent(x.site)}` }, x.site)), el('td', {}, x.version), el('td', {}, x.reason, ' ', badge('failed')), el('td', {}, when(x.at))))));
}
