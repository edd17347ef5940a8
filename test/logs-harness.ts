// Shared by the log integration tests: an in-process collector with a log
// path pointed at the Elasticsearch stand-in, and waiting helpers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { type ElasticsearchResponder, type ResponderOptions, startElasticsearchResponder } from './peers/elasticsearch-responder.js';

export const SITE_TOKEN = 'site-token-logs-aaaaaaaaaaaa';
export const SITE2_TOKEN = 'site-token-logs-bbbbbbbbbbbb';
export const GLOBAL_KEY = 'global-shared-key-1';
export const BOUND_KEY = 'bound-shared-key-ce2';

export interface LogsHarness {
  readonly collector: Collector;
  readonly es: ElasticsearchResponder;
  readonly dir: string;
  readonly forward: { host: string; port: number };
  readonly deadLetter: string;
  stop(): Promise<void>;
}

export function logsConfigDoc(dir: string, esUrl: string, extra: Record<string, unknown> = {}, esExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    queue: { dir: join(dir, 'queue') },
    external_labels: { re: 'eu-west-1' },
    sites: [
      { token: SITE_TOKEN, tenant: 'acme', site: 'ce-0001' },
      { token: SITE2_TOKEN, tenant: 'globex', site: 'ce-0100' },
    ],
    tenants: { acme: { pipeline: {} }, globex: { pipeline: {} } },
    logs: {
      buffer: { dir: join(dir, 'logs-buffer') },
      forward: {
        listen: '127.0.0.1:0',
        shared_keys: [{ key: GLOBAL_KEY }, { key: BOUND_KEY, tenant: 'acme', site: 'ce-0002' }],
        max_frame_bytes: 1024 * 1024,
      },
      tenants: {
        acme: {
          drop: [{ field: 'level', equals: 'debug' }, { field: 'kubernetes.namespace', matches: '^kube-' }],
          redact: { fields: ['password', 'user.email'], patterns: [{ regex: '\\b\\d{4}-\\d{4}-\\d{4}-\\d{4}\\b', replacement: '[CARD]' }] },
        },
      },
      elasticsearch: { nodes: [esUrl], min_backoff: 10, max_backoff: 200, dead_letter_file: join(dir, 'dead-letter.ndjson'), batch_max_docs: 50, ...esExtra },
      ...extra,
    },
  };
}

export async function startLogsHarness(opts: ResponderOptions = {}, extra: Record<string, unknown> = {}, esExtra: Record<string, unknown> = {}): Promise<LogsHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-logs-'));
  const es = await startElasticsearchResponder(opts);
  const loaded = validateCollectorConfig(logsConfigDoc(dir, es.url, extra, esExtra), 'test.yml');
  const collector = await Collector.start(loaded, { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  const addr = collector.logs?.forwardAddress as string;
  const sep = addr.lastIndexOf(':');
  return {
    collector,
    es,
    dir,
    forward: { host: '127.0.0.1', port: Number(addr.slice(sep + 1)) },
    deadLetter: join(dir, 'dead-letter.ndjson'),
    async stop() {
      await collector.stop();
      await es.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` holds (or throws with `what` after `ms`). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Stored documents' sources. */
export function storedSources(es: ElasticsearchResponder): Record<string, unknown>[] {
  return [...es.docs.values()].map((d) => d.source);
}
