// The benchmark's remote-write receiver. As a null receiver it only decodes
// and counts, so that the sink's cost does not hide a contender's; given a
// forward URL (a real VictoriaMetrics) it first forwards each request there
// and counts only what that receiver accepted, answering with its status.
// Counted per request body (as on the wire, snappy-compressed): bytes,
// samples, staleness markers; per site (the `site` label, else `cluster`)
// and per sample timestamp: how many samples arrived, which is how the bench
// checks each contender delivered exactly what it scraped; distinct series
// per site; and the delay from the sample's timestamp (the simulator writes
// its scrape or push time there) to its arrival.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { RemoteWriteReader, isStaleNaN, snappyUncompress } from '../../wire/index.js';

const MAX_BODY = 64 * 1024 * 1024;
const MAX_DELAY_MS = 600_000;
const SCRAPER_SERIES = /^(?:up|scrape_[a-z_]+)$/;

export interface SinkStats {
  requests: number;
  refused: number;
  bytes: number;
  samples: number;
  stale: number;
  /** Samples of series with neither `site` nor `cluster` label, and of a scraper's own `up`/`scrape_*` series. */
  unattributed: number;
  series: number;
  seriesPerSite: Record<string, number>;
  /** site → [timestamp, samples] pairs. */
  groups: Record<string, [number, number][]>;
  delay: { count: number; p50: number; p99: number; max: number };
}

export class Sink {
  private data: Server | null = null;
  private control: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private dataPort = 0;
  private host = '127.0.0.1';
  private seriesSite = new Map<string, string>();
  private groups = new Map<string, Map<number, number>>();
  private seriesPerSite = new Map<string, number>();
  private delays = new Uint32Array(MAX_DELAY_MS + 1);
  private delayFrom = 0;
  private c = { requests: 0, refused: 0, bytes: 0, samples: 0, stale: 0, unattributed: 0 };

  constructor(private readonly forwardUrl?: string) {}

  /** Starts the data port (remote-write, any path) and a control port (/stats, /reset, /down). */
  async listen(host: string, dataPort: number, controlPort: number): Promise<{ url: string; control: string }> {
    this.host = host;
    this.dataPort = dataPort;
    await this.openData();
    const control = createServer((req, res) => this.handleControl(req, res));
    await new Promise<void>((resolve, reject) => {
      control.once('error', reject);
      control.listen(controlPort, host, () => resolve());
    });
    this.control = control;
    return { url: `http://${host}:${this.dataPort}/api/v1/write`, control: `http://${host}:${(control.address() as AddressInfo).port}` };
  }

  private async openData(): Promise<void> {
    const server = createServer((req, res) => this.handleWrite(req, res));
    server.keepAliveTimeout = 60_000;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.dataPort, this.host, () => resolve());
    });
    this.dataPort = (server.address() as AddressInfo).port;
    this.data = server;
  }

  /** An outage: the data port stops listening (connections refused) for `ms`, then comes back. */
  async down(ms: number): Promise<void> {
    const s = this.data;
    this.data = null;
    if (s) {
      for (const sock of this.sockets) sock.destroy();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    setTimeout(() => void this.openData().catch((err: unknown) => process.stderr.write(`sink: cannot listen again: ${String(err)}\n`)), ms);
  }

  private handleWrite(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) {
        this.c.refused++;
        res.writeHead(413).end('too large\n');
        return;
      }
      const body = Buffer.concat(chunks);
      void this.accept(req, body).then(
        (status) => res.writeHead(status).end(),
        (err: unknown) => {
          this.c.refused++;
          res.writeHead(400).end(`${String(err)}\n`);
        },
      );
    });
  }

  private async accept(req: IncomingMessage, body: Buffer): Promise<number> {
    // Decode first: a body we cannot read is refused before it is forwarded.
    const reader = new RemoteWriteReader(snappyUncompress(body));
    if (this.forwardUrl !== undefined) {
      const headers: Record<string, string> = {};
      for (const h of ['content-encoding', 'content-type', 'x-prometheus-remote-write-version']) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      const res = await fetch(this.forwardUrl, { method: 'POST', headers, body });
      await res.arrayBuffer();
      if (!res.ok) {
        this.c.refused++;
        return res.status;
      }
    }
    this.count(reader, body.length);
    return 204;
  }

  private count(reader: RemoteWriteReader, bytes: number): void {
    const now = Date.now();
    this.c.requests++;
    this.c.bytes += bytes;
    while (reader.next()) {
      const key = reader.labelsKey();
      let site = this.seriesSite.get(key);
      if (site === undefined) {
        const labels = reader.labels(false);
        site = '';
        let scraper = false;
        for (let i = 0; i < labels.length; i += 2) {
          if (labels[i] === 'site') site = labels[i + 1] as string;
          else if (labels[i] === 'cluster' && site === '') site = labels[i + 1] as string;
          else if (labels[i] === '__name__') scraper = SCRAPER_SERIES.test(labels[i + 1] as string);
        }
        // A scraper's own series (up, scrape_*) are stamped with its scrape time, not the site's: not the site's output.
        if (scraper) site = '';
        this.seriesSite.set(key, site);
        if (site !== '') this.seriesPerSite.set(site, (this.seriesPerSite.get(site) ?? 0) + 1);
      }
      const n = reader.sampleCount();
      let g = site === '' ? undefined : this.groups.get(site);
      if (site !== '' && g === undefined) this.groups.set(site, (g = new Map()));
      for (let i = 0; i < n; i++) {
        if (isStaleNaN(reader.sampleValue(i))) {
          this.c.stale++;
          continue;
        }
        this.c.samples++;
        const ts = reader.sampleTimestamp(i);
        if (g === undefined) {
          this.c.unattributed++;
          continue;
        }
        g.set(ts, (g.get(ts) ?? 0) + 1);
        if (ts >= this.delayFrom) {
          const d = Math.min(MAX_DELAY_MS, Math.max(0, now - ts));
          this.delays[d] = (this.delays[d] as number) + 1;
        }
      }
    }
  }

  stats(): SinkStats {
    const groups: Record<string, [number, number][]> = {};
    for (const [site, g] of this.groups) groups[site] = [...g];
    let count = 0;
    for (const d of this.delays) count += d;
    const pct = (p: number): number => {
      const want = Math.ceil(count * p);
      let seen = 0;
      for (let i = 0; i < this.delays.length; i++) {
        seen += this.delays[i] as number;
        if (seen >= want && want > 0) return i;
      }
      return 0;
    };
    let max = 0;
    for (let i = this.delays.length - 1; i >= 0; i--) {
      if ((this.delays[i] as number) > 0) {
        max = i;
        break;
      }
    }
    return { ...this.c, series: this.seriesSite.size, seriesPerSite: Object.fromEntries(this.seriesPerSite), groups, delay: { count, p50: pct(0.5), p99: pct(0.99), max } };
  }

  /** Forgets everything counted; delays are recorded only for samples stamped at or after `delayFromMs`. */
  reset(delayFromMs = 0): void {
    this.seriesSite = new Map();
    this.groups = new Map();
    this.seriesPerSite = new Map();
    this.delays = new Uint32Array(MAX_DELAY_MS + 1);
    this.delayFrom = delayFromMs;
    this.c = { requests: 0, refused: 0, bytes: 0, samples: 0, stale: 0, unattributed: 0 };
  }

  private handleControl(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/stats') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(this.stats()));
    } else if (u.pathname === '/reset' && req.method === 'POST') {
      this.reset(Number(u.searchParams.get('delay_from') ?? 0));
      res.writeHead(204).end();
    } else if (u.pathname === '/delay-from' && req.method === 'POST') {
      this.delays = new Uint32Array(MAX_DELAY_MS + 1);
      this.delayFrom = Number(u.searchParams.get('ms') ?? 0);
      res.writeHead(204).end();
    } else if (u.pathname === '/down' && req.method === 'POST') {
      void this.down(Number(u.searchParams.get('ms') ?? 10_000)).then(() => res.writeHead(204).end());
    } else res.writeHead(404).end();
  }

  async close(): Promise<void> {
    for (const s of [this.data, this.control]) {
      if (!s) continue;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    this.data = null;
    this.control = null;
  }
}
