// Alertmanager API v2 client: POST /api/v2/alerts (a JSON array of
// postableAlert: labels, annotations, startsAt, endsAt, generatorURL) to
// every configured Alertmanager, as Prometheus's notifier does: an HA pair
// receives everything and deduplicates by label set. Outcomes are data.

export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
}

export type SendOutcome = { ok: true } | { retryable: true; afterMs: number; reason: string } | { failed: true; reason: string };

/** Which HTTP answers are worth sending again (Prometheus notifier: 5xx and network errors). */
export function classifyStatus(status: number, retryAfter: string | null): SendOutcome {
  if (status >= 200 && status < 300) return { ok: true };
  if (status === 429 || status >= 500) {
    const s = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 1000;
    return { retryable: true, afterMs: Math.min(s, 60_000), reason: `HTTP ${status}` };
  }
  return { failed: true, reason: `HTTP ${status}` };
}

export interface AlertmanagerClientOptions {
  readonly urls: readonly string[];
  readonly timeoutMs?: number;
  /** Alerts per request (Prometheus: max_samples... 64 per batch by default). */
  readonly batchSize?: number;
  readonly onOutcome?: (url: string, outcome: SendOutcome, alerts: number) => void;
}

export class AlertmanagerClient {
  private readonly timeoutMs: number;
  private readonly batchSize: number;
  constructor(private readonly opts: AlertmanagerClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.batchSize = opts.batchSize ?? 64;
  }

  get urls(): readonly string[] {
    return this.opts.urls;
  }

  /** One POST of up to a batch of alerts to one Alertmanager. */
  async sendTo(url: string, alerts: readonly PostableAlert[]): Promise<SendOutcome> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.timeoutMs);
    try {
      const res = await fetch(`${url.replace(/\/+$/, '')}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
        signal: ctl.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      return classifyStatus(res.status, res.headers.get('retry-after'));
    } catch (err) {
      return { retryable: true, afterMs: 1000, reason: (err as Error).name === 'AbortError' ? 'timeout' : (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends to every Alertmanager; the result per URL. */
  async send(alerts: readonly PostableAlert[]): Promise<Map<string, SendOutcome>> {
    const out = new Map<string, SendOutcome>();
    if (alerts.length === 0) return out;
    await Promise.all(
      this.opts.urls.map(async (url) => {
        let worst: SendOutcome = { ok: true };
        for (let i = 0; i < alerts.length; i += this.batchSize) {
          const batch = alerts.slice(i, i + this.batchSize);
          const o = await this.sendTo(url, batch);
          this.opts.onOutcome?.(url, o, batch.length);
          if (!('ok' in o)) worst = o;
        }
        out.set(url, worst);
      }),
    );
    return out;
  }
}
