// @ts-check
/* global EventSource, fetch, performance, sessionStorage -- browser globals (this file runs in the page, not in Node) */
// The control plane's operator API (the top README's contract §2), with the operator token
// from the login field, kept in sessionStorage (this tab only).
import { measure, reportError } from './telemetry.js';

const KEY = 'fleetscope.operator-token';

export function getToken() {
  return sessionStorage.getItem(KEY) ?? '';
}

/** @param {string} token */
export function setToken(token) {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

/**
 * @param {string} name a fixed name for the call's timing (e.g. "fleet_status")
 * @param {string} path
 * @param {{ method?: string, body?: unknown }} [opts]
 * @returns {Promise<any>}
 */
export async function api(name, path, opts = {}) {
  const t0 = performance.now();
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json', Authorization: `Bearer ${getToken()}` };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  } catch (err) {
    reportError(err, { call: name });
    throw new ApiError(0, 'NETWORK', `cannot reach the control plane (${String(err)})`);
  }
  measure(`api_${name}`, performance.now() - t0);
  if (!res.ok) {
    /** @type {{code?: string, message?: string}} */
    let body = {};
    try {
      body = await res.json();
    } catch {
      // not JSON: keep the status text
    }
    const err = new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? res.statusText);
    if (res.status >= 500) reportError(err, { call: name, status: String(res.status) });
    throw err;
  }
  if (res.status === 204 || res.headers.get('content-length') === '0') return undefined;
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

/**
 * The live feed, `GET /api/v1/fleet/events` (server-sent events). EventSource
 * cannot send headers, so the token goes in `?access_token=`.
 * @param {(type: 'status' | 'rollout', data: any) => void} onEvent
 * @param {(state: 'live' | 'reconnecting') => void} onState
 * @returns {() => void} closes it
 */
export function openEvents(onEvent, onState) {
  const source = new EventSource(`/api/v1/fleet/events?access_token=${encodeURIComponent(getToken())}`);
  source.onopen = () => onState('live');
  source.onerror = () => onState('reconnecting');
  for (const type of /** @type {const} */ (['status', 'rollout'])) {
    source.addEventListener(type, (e) => {
      try {
        onEvent(type, JSON.parse(/** @type {MessageEvent} */ (e).data));
      } catch (err) {
        reportError(err, { call: 'fleet_events' });
      }
    });
  }
  return () => source.close();
}
