// @ts-check
/* global document, window -- browser globals (this file runs in the page, not in Node) */
// The page's own errors and timings, sent with the Grafana Faro web SDK (its
// IIFE bundle, loaded as /ui/vendor/faro-web-sdk.iife.js) to the collector's
// Faro endpoint, configured by the control plane in
// <meta name="fleetscope-faro-url">. Without that URL nothing is sent.

/** @typedef {{ api: { pushMeasurement(m: {type: string, values: Record<string, number>}, o?: object): void, pushError(e: Error, o?: object): void, pushEvent(n: string, a?: Record<string, string>): void, pushLog(args: unknown[], o?: object): void, setView(v: {name: string}): void } }} Faro */

/** @type {Faro | null} */
let faro = null;

export function startTelemetry() {
  const meta = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="fleetscope-faro-url"]'));
  const url = meta?.content ?? '';
  /** @type {any} */
  const sdk = /** @type {any} */ (window).GrafanaFaroWebSdk;
  if (!url || !sdk) return false;
  const version = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="fleetscope-version"]'))?.content ?? 'unknown';
  faro = sdk.initializeFaro({
    url,
    app: { name: 'fleetscope-fleet-page', version },
    instrumentations: [new sdk.ErrorsInstrumentation(), new sdk.WebVitalsInstrumentation(), new sdk.SessionInstrumentation(), new sdk.ViewInstrumentation()],
    batching: { enabled: true, sendTimeout: 1000, itemLimit: 50 },
    sessionTracking: { enabled: true, persistent: false },
  });
  return true;
}

/** A timing, in milliseconds, under a fixed name (never a URL: names are metric labels). */
/** @param {string} name @param {number} ms */
export function measure(name, ms) {
  faro?.api.pushMeasurement({ type: 'fleet-page', values: { [`${name}_ms`]: Math.round(ms * 10) / 10 } });
}

/** @param {unknown} err @param {Record<string, string>} [context] */
export function reportError(err, context) {
  faro?.api.pushError(err instanceof Error ? err : new Error(String(err)), context ? { context } : undefined);
}

/** @param {string} name @param {Record<string, string>} [attributes] */
export function event(name, attributes) {
  faro?.api.pushEvent(name, attributes);
}

/** @param {string} name */
export function view(name) {
  faro?.api.setView({ name });
}
