// @ts-check
/* global URLSearchParams -- browser globals (this file runs in the page, not in Node) */
// The list and filter of sites (GET /api/v1/sites), and one site's detail
// (GET /api/v1/sites/{site}/detail).
import { api } from './api.js';
import { $, badge, el, fmt, replace, when } from './dom.js';

/** At most this many rows are drawn; the count says how many matched. */
const MAX_ROWS = 500;

/** @typedef {{tenant: string, site: string, group?: string, labels?: Record<string, string>, re?: string, state: string, version?: string, desired_version?: string, last_seen?: string, series?: number}} Site */

/** @param {URLSearchParams} filter */
export async function renderSites(filter) {
  const form = /** @type {HTMLFormElement} */ ($('site-filter'));
  for (const name of ['tenant', 'state', 'group', 'q']) {
    const input = /** @type {HTMLInputElement | HTMLSelectElement | null} */ (form.elements.namedItem(name));
    if (input) input.value = filter.get(name) ?? '';
  }
  const query = new URLSearchParams([...filter].filter(([, v]) => v !== ''));
  const count = $('sites-count');
  count.textContent = 'Loading…';
  /** @type {{sites: Site[]}} */
  const res = await api('sites', `/api/v1/sites${query.size ? `?${query}` : ''}`);
  const sites = res.sites ?? [];
  count.textContent = sites.length > MAX_ROWS ? `${fmt(sites.length)} sites; showing the first ${fmt(MAX_ROWS)}. Narrow the filter to see the rest.` : `${fmt(sites.length)} ${sites.length === 1 ? 'site' : 'sites'}`;
  count.dataset.count = String(sites.length);
  const body = /** @type {HTMLElement} */ (/** @type {HTMLTableElement} */ ($('sites')).tBodies[0]);
  replace(body, ...sites.slice(0, MAX_ROWS).map((s) => el('tr', { 'data-site': s.site },
    el('th', { scope: 'row' }, el('a', { href: `#/site/${encodeURIComponent(s.site)}` }, s.site)),
    el('td', {}, s.tenant), el('td', {}, s.re ?? ''), el('td', {}, s.group ?? ''),
    el('td', {}, badge(s.state)),
    el('td', {}, s.version ?? '', s.desired_version && s.desired_version !== s.version ? ` → ${s.desired_version}` : ''),
    el('td', {}, when(s.last_seen)),
    el('td', { class: 'num' }, s.series ?? 0))));
}

/** @param {Record<string, unknown>} tenants */
export function fillTenantFilter(tenants) {
  const select = /** @type {HTMLSelectElement} */ ($('filter-tenant'));
  const current = select.value;
  replace(select, el('option', { value: '' }, 'All tenants'), ...Object.keys(tenants).sort().map((t) => el('option', { value: t }, t)));
  select.value = current;
}

/** @param {string} site */
export async function renderSite(site) {
  $('site-title').textContent = `Site ${site}`;
  /** @type {Site & {history?: {version: string, state: string, reason?: string, at: string}[]}} */
  const d = await api('site_detail', `/api/v1/sites/${encodeURIComponent(site)}/detail`);
  /** @type {[string, Node | string][]} */
  const facts = [
    ['Tenant', d.tenant], ['RE', d.re ?? ''], ['Group', d.group ?? ''], ['State', badge(d.state)],
    ['Version', d.version ?? 'none'], ['Desired version', d.desired_version ?? 'none'],
    ['Last seen', when(d.last_seen)], ['Series', fmt(d.series ?? 0)],
    ['Labels', Object.entries(d.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'],
  ];
  replace($('site-facts'), ...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-fact': k.toLowerCase().replace(/ /g, '_') }, v)]));
  const history = [...(d.history ?? [])].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  replace(/** @type {HTMLElement} */ (/** @type {HTMLTableElement} */ ($('site-history')).tBodies[0]), ...(history.length === 0
    ? [el('tr', {}, el('td', { colspan: '4' }, 'No upgrades yet.'))]
    : history.map((h) => el('tr', {}, el('td', {}, when(h.at)), el('td', {}, h.version), el('td', {}, badge(h.state)), el('td', {}, h.reason ?? '')))));
}
