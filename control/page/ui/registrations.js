// @ts-check
/* global FormData -- browser globals (this file runs in the page, not in Node) */
// Sites that registered with a token and wait for an operator
// (GET /api/v1/registrations?state=pending), with approve
// (POST …/{id}/approve {"site","group","labels"}) and reject
// (POST …/{id}/reject {"reason"}).
import { api, ApiError } from './api.js';
import { $, el, replace, when } from './dom.js';
import { event } from './telemetry.js';

/** @typedef {{id?: string, registration_id?: string, tenant?: string, state?: string, facts?: Record<string, unknown>, created_at?: string, at?: string}} Registration */

/** "k=v, k2=v2" → {k: "v", k2: "v2"}; null if a part is not k=v. */
/** @param {string} text */
export function parseLabels(text) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)=(.*)$/.exec(part);
    if (!m) return null;
    out[/** @type {string} */ (m[1])] = /** @type {string} */ (m[2]).trim();
  }
  return out;
}

/** @param {Registration} r @param {() => void} refresh */
function card(r, refresh) {
  const id = r.id ?? r.registration_id ?? '';
  const facts = r.facts ?? {};
  const hostname = typeof facts.hostname === 'string' ? facts.hostname : '';
  const status = $('registrations-status');
  /** @param {string} action @param {unknown} body */
  const post = async (action, body) => {
    try {
      await api(`registration_${action}`, `/api/v1/registrations/${encodeURIComponent(id)}/${action}`, { method: 'POST', body });
      status.textContent = `Registration ${id} ${action === 'approve' ? 'approved' : 'rejected'}.`;
      event(`registration_${action}`, { registration: id });
      refresh();
    } catch (err) {
      status.textContent = err instanceof ApiError && err.status === 403 ? `Not allowed: ${action} needs an operator token (${err.code}).` : `Could not ${action} registration ${id}: ${String(err instanceof Error ? err.message : err)}`;
    }
  };
  const field = (/** @type {string} */ name, /** @type {string} */ label, /** @type {string} */ value, /** @type {boolean} */ required) => {
    const inputId = `reg-${id}-${name}`;
    return el('div', { class: 'field' }, el('label', { for: inputId }, label), el('input', { id: inputId, name, type: 'text', value, required, spellcheck: 'false' }));
  };
  const approve = el('form', { class: 'filter', 'aria-label': `Approve registration ${id}` },
    field('site', 'Site name', hostname, true), field('group', 'Group', '', true), field('labels', 'Labels (k=v, …)', '', false),
    el('button', { type: 'submit' }, 'Approve'));
  approve.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(/** @type {HTMLFormElement} */ (approve));
    const labels = parseLabels(String(data.get('labels') ?? ''));
    if (labels === null) {
      status.textContent = `Labels for ${id} must be k=v pairs separated by commas.`;
      return;
    }
    const group = String(data.get('group') ?? '').trim();
    void post('approve', { site: String(data.get('site') ?? '').trim(), group, labels });
  });
  const reject = el('form', { class: 'filter', 'aria-label': `Reject registration ${id}` }, field('reason', 'Reason', '', true), el('button', { type: 'submit', class: 'danger' }, 'Reject'));
  reject.addEventListener('submit', (e) => {
    e.preventDefault();
    void post('reject', { reason: String(new FormData(/** @type {HTMLFormElement} */ (reject)).get('reason') ?? '').trim() });
  });
  const shown = Object.entries(facts).filter(([, v]) => typeof v === 'string' || typeof v === 'number').slice(0, 12);
  return el('article', { class: 'rollout', 'data-registration': id, 'aria-labelledby': `reg-${id}` },
    el('h2', { id: `reg-${id}` }, `Registration ${id}`, r.tenant ? ` for tenant ${r.tenant}` : ''),
    el('dl', { class: 'facts' }, ...shown.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]),
      ...(r.created_at ?? r.at ? [el('dt', {}, 'Registered'), el('dd', {}, when(r.created_at ?? r.at))] : [])),
    approve, reject);
}

/** @param {() => void} refresh */
export async function renderRegistrations(refresh) {
  /** @type {Registration[] | {registrations: Registration[]}} */
  const res = await api('registrations', '/api/v1/registrations?state=pending');
  const list = Array.isArray(res) ? res : res.registrations ?? [];
  replace($('registrations'), ...(list.length === 0 ? [el('p', {}, 'No registrations are waiting.')] : list.map((r) => card(r, refresh))));
}
