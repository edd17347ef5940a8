// @ts-check
/* global window -- browser globals (this file runs in the page, not in Node) */
// Rollout progress (GET /api/v1/rollouts) with pause, resume and abort
// (POST /api/v1/rollouts/{id}/pause|resume|abort) for operators.
import { api, ApiError } from './api.js';
import { $, badge, el, fmt, replace } from './dom.js';
import { event } from './telemetry.js';

const ORDER = /** @type {const} */ (['healthy', 'applying', 'downloading', 'pending', 'failed', 'rolled-back', 'offline']);

/** @typedef {{id: string, version: string, state: string, reason?: string, counts: Record<string, number>, partition?: number, partitions?: number, strategy?: {canary?: number}}} Rollout */

/**
 * The API's `partition` is the index of the partition in progress (0 = the
 * canary when there is one); `partition === partitions` once all are done.
 * @param {Rollout} r
 */
function partitionText(r) {
  if (!r.partitions) return '';
  const p = r.partition ?? 0;
  if (p >= r.partitions) return `; all ${r.partitions} partitions done`;
  return `; partition ${p + 1} of ${r.partitions}${p === 0 && (r.strategy?.canary ?? 0) > 0 ? ' (canary)' : ''}`;
}

/** @param {Rollout} r @param {() => void} refresh */
function card(r, refresh) {
  const total = Object.values(r.counts ?? {}).reduce((a, b) => a + b, 0);
  const done = r.counts?.healthy ?? 0;
  const bar = el('div', { class: 'bar', role: 'img', 'aria-label': `${fmt(done)} of ${fmt(total)} sites healthy on ${r.version}` },
    ...ORDER.filter((s) => (r.counts?.[s] ?? 0) > 0).map((s) => {
      // Through CSSOM, not a style attribute: the page's CSP has no 'unsafe-inline'.
      const seg = el('span', { class: `seg-${s}`, title: `${s}: ${r.counts[s]}` });
      seg.style.width = `${(100 * (r.counts[s] ?? 0)) / Math.max(total, 1)}%`;
      return seg;
    }));
  /** @param {'pause' | 'resume' | 'abort'} action @param {string} label @param {string} cls */
  const button = (action, label, cls) => {
    const enabled = action === 'pause' ? r.state === 'running' : action === 'resume' ? r.state === 'paused' : r.state === 'running' || r.state === 'paused';
    const b = el('button', { type: 'button', class: cls, 'aria-label': `${label} rollout ${r.id}`, disabled: !enabled }, label);
    b.addEventListener('click', async () => {
      if (action === 'abort' && !window.confirm(`Abort rollout ${r.id} of ${r.version}? Sites it already reached go back to their previous version.`)) return;
      const status = $('rollouts-status');
      try {
        await api(`rollout_${action}`, `/api/v1/rollouts/${encodeURIComponent(r.id)}/${action}`, { method: 'POST', body: action === 'abort' ? { rollback: true } : {} });
        status.textContent = `Rollout ${r.id} ${action === 'pause' ? 'paused' : action === 'resume' ? 'resumed' : 'aborted'}.`;
        event(`rollout_${action}`, { rollout: r.id });
      } catch (err) {
        status.textContent = err instanceof ApiError && err.status === 403 ? `Not allowed: ${action} needs an operator token (${err.code}).` : `Could not ${action} rollout ${r.id}: ${String(err instanceof Error ? err.message : err)}`;
      }
      refresh();
    });
    return b;
  };
  return el('article', { class: 'rollout', 'data-rollout': r.id, 'aria-labelledby': `rollout-${r.id}` },
    el('h2', { id: `rollout-${r.id}` }, `Rollout ${r.id}: version ${r.version} `, badge(r.state)),
    el('p', {}, `${fmt(done)} of ${fmt(total)} sites healthy`, partitionText(r)),
    r.reason ? el('p', { class: 'reason' }, r.reason) : null,
    bar,
    el('ul', { class: 'counts' }, ...ORDER.map((s) => el('li', { 'data-count': s }, `${s}: `, el('b', {}, fmt(r.counts?.[s] ?? 0))))),
    el('div', { class: 'actions' }, button('pause', 'Pause', ''), button('resume', 'Resume', 'secondary'), button('abort', 'Abort', 'danger')));
}

/** @param {() => void} refresh */
export async function renderRollouts(refresh) {
  /** @type {Rollout[] | {rollouts: Rollout[]}} */
  const res = await api('rollouts', '/api/v1/rollouts');
  const list = Array.isArray(res) ? res : res.rollouts ?? [];
  // A redraw replaces the buttons; app.js puts focus back on the same one by its aria-label.
  replace($('rollouts'), ...(list.length === 0 ? [el('p', {}, 'No rollouts.')] : list.map((r) => card(r, refresh))));
}
