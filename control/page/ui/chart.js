// @ts-check
/* global window -- browser globals (this file runs in the page, not in Node) */
// Sites by state over time, drawn with uPlot (loaded as the global `uPlot`
// from /ui/vendor/uPlot.iife.min.js): one point each time the page reads
// the fleet status, so it shows the trend since the page opened.

const STATES = /** @type {const} */ (['healthy', 'unhealthy', 'offline', 'upgrading']);
const COLORS = { healthy: '#2f855a', unhealthy: '#c53030', offline: '#4a5568', upgrading: '#2b6cb0' };

export class StateChart {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    /** @type {number[][]} */
    this.data = [[], [], [], [], []];
    /** @type {any} */
    this.plot = null;
  }

  /** @param {Record<string, number>} byState */
  add(byState) {
    const x = Date.now() / 1000;
    const last = this.data[0]?.[this.data[0].length - 1];
    if (last !== undefined && x - last < 0.5) for (const s of this.data) s.pop();
    this.data[0]?.push(x);
    STATES.forEach((s, i) => this.data[i + 1]?.push(byState[s] ?? 0));
    if (this.data[0] && this.data[0].length > 720) for (const s of this.data) s.shift();
    /** @type {any} */
    const uPlot = /** @type {any} */ (window).uPlot;
    if (!uPlot) return;
    if (this.plot) {
      this.plot.setData(this.data);
      this.window();
      return;
    }
    const width = Math.max(300, this.container.clientWidth || 600);
    this.plot = new uPlot({
      width,
      height: 220,
      series: [{}, ...STATES.map((s) => ({ label: s, stroke: COLORS[s], width: 2, points: { show: true, size: 5 } }))],
      axes: [{ stroke: '#1b1f24' }, { stroke: '#1b1f24' }],
      // At least the last ten minutes, so the first few points do not stretch the axis over years.
      scales: { x: { time: true } },
      legend: { live: false },
    }, this.data, this.container);
    this.window();
  }

  /** Shows at least the last ten minutes, so the first points do not stretch the axis over years. */
  window() {
    const xs = this.data[0] ?? [];
    const first = xs[0];
    const last = xs[xs.length - 1];
    if (first === undefined || last === undefined) return;
    this.plot.setScale('x', { min: Math.min(first, last - 600), max: last + 5 });
  }
}
