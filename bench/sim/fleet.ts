// The fleet simulator: N simulated edge sites (CEs), deterministic from a
// seed, on one HTTP port. Each site is scraped at `/site/<n>/metrics`
// (n from 0), or pushes remote-write to a URL like an agent would. All sites
// share one pre-rendered template (sim/template.ts); a scrape costs one
// memcpy and a pass over the value columns. The simulator records every
// scrape it answered in full and every push that was acknowledged, with its
// timestamp: the bench checks, per (site, timestamp), that a contender
// delivered exactly those samples.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REMOTE_WRITE_HEADERS } from '../../wire/index.js';
import { PushTemplate } from './push-template.js';
import { type RenderState, SiteTemplate, siteName } from './template.js';

export interface FleetOptions {
  readonly sites: number;
  readonly seriesPerSite: number;
  /** Share of series in histograms (and summaries), 0..1. */
  readonly histogramShare: number;
  readonly seed: number;
  /** Labels added to every series beyond the generator's ~16. */
  readonly extraLabels: number;
  readonly intervalMs: number;
  /** Share of series replaced (a label value changes) every interval, 0..1. */
  readonly churn: number;
  /** Share of sites offline (scrapes answered 503, no pushes) in any interval, 0..1; which ones changes every interval. */
  readonly offlineShare: number;
  /** Probability per site and interval that its counters reset to their base value, 0..1. */
  readonly counterResetShare: number;
  /** Series per remote-write request when pushing. */
  readonly seriesPerRequest: number;
  /** Sites pushing at the same time. */
  readonly pushConcurrency: number;
}

export const DEFAULT_FLEET: FleetOptions = {
  sites: 10,
  seriesPerSite: 50_000,
  histogramShare: 0.35,
  seed: 1,
  extraLabels: 0,
  intervalMs: 15_000,
  churn: 0,
  offlineShare: 0,
  counterResetShare: 0,
  // vmagent's default block (-remoteWrite.maxRowsPerBlock) is 10,000 samples.
  seriesPerRequest: 10_000,
  pushConcurrency: 8,
};

/** One scrape answered, or one push acknowledged: `count` series from template index `first`, at `ts`. */
export interface ServedRecord {
  readonly site: number;
  readonly ts: number;
  readonly first: number;
  readonly count: number;
}

/** The bearer token simulated site i sends when pushing. */
export function siteToken(i: number): string {
  return `bench-site-token-${String(i).padStart(6, '0')}`;
}

/** A 32-bit hash of (seed, site, interval, salt): which sites are offline or reset in an interval. */
function hash01(seed: number, site: number, interval: number, salt: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const x of [site, interval, salt]) {
    h = Math.imul(h ^ x, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h / 4294967296;
}

export class FleetSimulator {
  readonly template: SiteTemplate;
  readonly startMs = Date.now();
  private readonly served: ServedRecord[] = [];
  private readonly pool: Buffer[] = [];
  private server: Server | null = null;
  private pushUrl: string | null = null;
  private pushTimer: NodeJS.Timeout | null = null;
  private pushTemplate: PushTemplate | null = null;
  private pushing = false;
  readonly counts = { scrapes: 0, offline: 0, pushes: 0, pushFailures: 0, pushSkipped: 0 };

  constructor(readonly options: FleetOptions) {
    this.template = new SiteTemplate({ series: options.seriesPerSite, histogramShare: options.histogramShare, seed: options.seed, extraLabels: options.extraLabels });
  }

  interval(now = Date.now()): number {
    return Math.floor((now - this.startMs) / this.options.intervalMs);
  }

  isOffline(site: number, interval: number): boolean {
    return this.options.offlineShare > 0 && hash01(this.options.seed, site, interval, 1) < this.options.offlineShare;
  }

  /** The render state of a site at a time: counters restart at the last interval ≤ now that reset them. */
  state(site: number, now: number): RenderState {
    const interval = this.interval(now);
    let last = 0;
    if (this.options.counterResetShare > 0) {
      for (let k = interval; k > 0 && k > interval - 100_000; k--) {
        if (hash01(this.options.seed, site, k, 2) < this.options.counterResetShare) {
          last = k;
          break;
        }
      }
    }
    return { siteIndex: site, interval, sinceReset: interval - last, timestampMs: now, churn: this.options.churn };
  }

  /** Records answered or acknowledged since `sinceMs` (by their timestamp). */
  servedSince(sinceMs: number, untilMs = Infinity): ServedRecord[] {
    return this.served.filter((r) => r.ts >= sinceMs && r.ts < untilMs);
  }

  /** Serves `/site/<n>/metrics` and the control API on host:port (port 0: any free port). */
  async listen(host: string, port: number): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    return `http://${host}:${(server.address() as AddressInfo).port}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const m = /^\/site\/(\d+)\/metrics(?:\?.*)?$/.exec(url);
    if (m && req.method === 'GET') return this.scrape(Number(m[1]), res);
    if (url.startsWith('/-/served')) {
      const q = new URL(url, 'http://x').searchParams;
      const rows = this.servedSince(Number(q.get('since') ?? 0), Number(q.get('until') ?? Infinity));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ counts: this.counts, served: rows }));
      return;
    }
    if (url === '/-/push' && req.method === 'POST') {
      let body = '';
      req.on('data', (d: Buffer) => {
        // A control request is a small JSON object; anything larger is refused.
        if (body.length < 65_536) body += d.toString();
      });
      req.on('end', () => {
        try {
          if (body.length >= 65_536) throw new Error('control request larger than 64 KiB');
          const { url: target } = JSON.parse(body) as { url: string | null };
          this.setPushTarget(target);
          res.writeHead(204).end();
        } catch (err) {
          res.writeHead(400).end(String(err));
        }
      });
      return;
    }
    if (url === '/-/healthy') {
      res.writeHead(200).end('ok\n');
      return;
    }
    res.writeHead(404).end('not found\n');
  }

  private scrape(site: number, res: ServerResponse): void {
    if (site >= this.options.sites) {
      res.writeHead(404).end(`no site ${site}\n`);
      return;
    }
    const now = Date.now();
    if (this.isOffline(site, this.interval(now))) {
      this.counts.offline++;
      res.writeHead(503).end('site offline (simulated)\n');
      return;
    }
    const buf = this.pool.pop() ?? Buffer.allocUnsafe(this.template.body.length);
    const n = this.template.render(buf, this.state(site, now));
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': n });
    res.end(buf.subarray(0, n));
    res.once('finish', () => {
      this.counts.scrapes++;
      this.served.push({ site, ts: now, first: 0, count: this.template.seriesCount });
      this.pool.push(buf);
    });
    res.once('close', () => {
      if (!res.writableFinished) this.pool.push(buf);
    });
  }

  /** Starts (or with null, stops) pushing every site's series to a remote-write URL once per interval. */
  setPushTarget(url: string | null): void {
    this.pushUrl = url;
    if (url === null) {
      if (this.pushTimer) clearTimeout(this.pushTimer);
      this.pushTimer = null;
      return;
    }
    this.pushTemplate ??= new PushTemplate(this.template, this.options.seriesPerRequest);
    if (this.pushTimer === null) this.schedulePush();
  }

  private schedulePush(): void {
    const { intervalMs } = this.options;
    const next = this.startMs + (this.interval() + 1) * intervalMs;
    this.pushTimer = setTimeout(() => {
      this.schedulePush();
      if (this.pushing) {
        // The previous round is still running: the simulator is the bottleneck; say so in the counts.
        this.counts.pushSkipped++;
        return;
      }
      this.pushing = true;
      void this.pushRound().finally(() => (this.pushing = false));
    }, Math.max(0, next - Date.now()));
  }

  /** Runs one push round immediately (also used by tests). */
  async pushRound(): Promise<void> {
    const url = this.pushUrl;
    const pt = this.pushTemplate;
    if (url === null || pt === null) return;
    let nextSite = 0;
    const worker = async (): Promise<void> => {
      const scratch = Buffer.allocUnsafe(pt.maxRequestBytes);
      for (;;) {
        const site = nextSite++;
        if (site >= this.options.sites) return;
        if (this.isOffline(site, this.interval())) continue;
        for (let r = 0; r < pt.requestCount; r++) {
          // The target changed (a contender stopped): abandon this round.
          if (this.pushUrl !== url) return;
          const now = Date.now();
          const st = this.state(site, now);
          const body = pt.render(scratch, r, site, now, (i) => this.template.value(i, st));
          if (await this.post(url, site, body)) {
            this.counts.pushes++;
            this.served.push({ site, ts: now, first: r * pt.seriesPerRequest, count: pt.samplesIn(r) });
          } else this.counts.pushFailures++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.pushConcurrency) }, worker));
  }

  /** One push with a few retries, as an agent would; true once acknowledged (2xx). */
  private async post(url: string, site: number, body: Buffer): Promise<boolean> {
    for (let attempt = 0; attempt < 4 && this.pushUrl === url; attempt++) {
      try {
        const res = await fetch(url, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${siteToken(site)}` }, body });
        await res.arrayBuffer();
        if (res.ok) return true;
        if (res.status < 500 && res.status !== 429) return false;
      } catch {
        // connection refused or reset: retry
      }
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
    return false;
  }

  async close(): Promise<void> {
    this.setPushTarget(null);
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }
}

export { siteName };
