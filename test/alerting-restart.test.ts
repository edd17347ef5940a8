// State survives a restart: a frequency window half full before the restart
// completes after it; an alert firing before it is not notified again; and
// records acknowledged over HTTP before a crash (no checkpoint) are not lost.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { AlertingService, parseAlertingConfig, type AlertingConfig } from '../alerting/index.js';
import { startAlertmanager } from './peers/alertmanager.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function doc(site: string, ts: number): Record<string, unknown> {
  return { '@timestamp': new Date(ts).toISOString(), tenant: 'acme', re: 're-1', site, level: 'error' };
}

async function post(s: AlertingService, docs: Record<string, unknown>[]): Promise<void> {
  const res = await fetch(`${s.url}/api/v1/records`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: docs.map((d) => JSON.stringify(d)).join('\n') });
  assert.equal(res.status, 200, await res.text());
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

test('restarts keep windows, silences and acknowledged records', async () => {
  const calls: { status: string; groupLabels: Record<string, string> }[] = [];
  const hook = createServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      calls.push(JSON.parse(b) as (typeof calls)[number]);
      res.end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const am = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`, groupBy: ['alertname', 'site'] });
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-restart-'));
  let now = Date.now();
  const clock = (): number => now;
  const running: AlertingService[] = [];
  const start = async (config: AlertingConfig): Promise<AlertingService> => {
    const s = await AlertingService.start(config, { listen: '127.0.0.1:0', manualTicks: true, now: clock });
    running.push(s);
    return s;
  };
  try {
    await writeFile(join(dir, 'rule.yaml'), 'name: errors\ntype: frequency\nindex: logs\nnum_events: 3\ntimeframe: {minutes: 10}\nquery_key: site\nrealert: {minutes: 30}\nfilter:\n- term: {level: error}\nalert: alertmanager\n');
    const config = parseAlertingConfig(join(dir, 'alerting.yml'), { rules_dir: dir, state_dir: join(dir, 'state'), alertmanagers: [am.url], run_every: '1s', allowed_lateness: '1s', resend_interval: '1m' });

    // Two of three errors, then a clean restart.
    const a = await start(config);
    await post(a, [doc('s1', now - 5000), doc('s1', now - 4000)]);
    now += 3000;
    await a.tick();
    assert.equal(a.notifier.notifications, 0);
    await a.stop();

    // The third error after the restart completes the window: it fires.
    const b = await start(config);
    await post(b, [doc('s1', now - 500)]);
    now += 3000;
    await b.tick();
    assert.equal(b.notifier.notifications, 1, 'the window survived the restart');
    for (let i = 0; i < 50 && (await am.alerts()).length === 0; i++) await sleep(100);
    assert.equal((await am.alerts()).length, 1);
    await b.stop();

    // After another restart the firing alert is not notified again, and three more errors within
    // realert do not start a new one.
    const c = await start(config);
    await post(c, [doc('s1', now - 300), doc('s1', now - 200), doc('s1', now - 100)]);
    now += 3000;
    await c.tick();
    assert.equal(c.notifier.notifications, 0, 'no re-notification after restart');
    assert.equal(c.notifier.firingCount(), 1, 'still firing');
    await sleep(1500);
    assert.equal(calls.filter((x) => x.status === 'firing').length, 1, 'the receiver was notified once');

    // A crash (no final checkpoint) after acknowledging two records of s2: they are not lost.
    await c.tick();
    await post(c, [doc('s2', now - 400), doc('s2', now - 300)]);
    await c.halt();
    running.pop();
    const d = await start(config);
    await post(d, [doc('s2', now - 200)]);
    now += 3000;
    await d.tick();
    assert.equal(d.notifier.notifications, 1, 'records acknowledged before the crash were replayed from the log');
    const m = await (await fetch(`${d.url}/metrics`)).text();
    assert.equal(metric(m, 'fleetscope_alerting_notifications_total'), 1);
  } finally {
    for (const s of running) await s.stop().catch(() => undefined);
    await am.stop();
    await new Promise<void>((r) => hook.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  }
});
