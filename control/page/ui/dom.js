// @ts-check
/* global document -- browser globals (this file runs in the page, not in Node) */
// Builds DOM nodes from data with textContent only: nothing from the API is
// ever parsed as HTML.

/**
 * @param {string} tag
 * @param {Record<string, string | boolean | undefined>} [attrs]
 * @param {...(Node | string | number | null | undefined)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === 'number' ? fmt(c) : c);
  }
  return node;
}

/** @param {number} n */
export function fmt(n) {
  return Math.round(n).toLocaleString('en-US');
}

/** @param {string} state */
export function badge(state) {
  return el('span', { class: `state state-${state.replace(/[^a-z-]/g, '')}` }, state);
}

/** @param {Element} parent @param {...(Node | string)} nodes */
export function replace(parent, ...nodes) {
  parent.replaceChildren(...nodes);
}

/** "3 min ago" for an RFC 3339 time, and the exact time in a <time> element. */
/** @param {string | null | undefined} iso */
export function when(iso) {
  if (!iso) return el('span', {}, 'never');
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return el('span', {}, iso);
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  const rel = s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : s < 86400 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86400)} d ago`;
  return el('time', { datetime: new Date(ms).toISOString(), title: new Date(ms).toISOString() }, rel);
}


/**
 * @param {string} id
 * @returns {HTMLElement}
 */
export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}
