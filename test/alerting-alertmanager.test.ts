// Alerts reach a real Alertmanager 0.25 the Prometheus way: labels and
// annotations as the rule says, grouping by Alertmanager's route, resent
// while the condition holds, resolved when it stops; two replicas fed the
// same records produce one alert and one notification at the receiver.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { AlertingService, parseAlertingConfig, type LogRecord } from '../alerting/index.js';
import { startAlertmanager, type AlertmanagerAlert } from './peers/alertmanager.js';

interface WebhookCall {
  status: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string> }[];
}

async function webhook(): Promise<{ url: string; calls: WebhookCall[]; stop(): Promise<void> }> {
  const calls: WebhookCall[] = [];
  const server: Server = createServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      calls.push(JSON.parse(b) as WebhookCall);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, calls, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function rec(site: string, level: string, ts: number, extra: Record<string, unknown> = {}): LogRecord {
  return { timestampMs: ts, tenant: 'acme', site, doc: { '@timestamp': new Date(ts).toISOString(), tenant: 'acme', re: 're-eu', site, level, message: `${level} on ${site}`, ...extra } };
}

test('a real Alertmanager receives, groups and resolves; two replicas notify once', async () => {
  const hook = await webhook();
  const am = await startAlertmanager({ webhookUrl: hook.url, groupBy: ['alertname', 'tenant'] });
  // The other of an HA pair (unclustered here): it must receive everything too.
  const am2 = await startAlertmanager({ groupBy: ['alertname', 'tenant'] });
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-am-test-'));
  const services: AlertingService[] = [];
  try {
    await writeFile(
      join(dir, 'errors.yaml'),
      [
        'name: site-errors',
        'type: frequency',
        'index: logs-*',
        'num_events: 3',
        'timeframe: {seconds: 2}',
        'query_key: site',
        'filter:',
        '- query_string: {query: "level:error"}',
        'alert: alertmanager',
        'alert_subject: "Errors on {0}"',
        'alert_subject_args: [site]',
        'alert_text: "{0} saw errors: {1}"',
        'alert_text_args: [site, message]',
        'alert_text_type: exclude_fields',
        'top_count_keys: [level]',
        'alertmanager_alertname: LogErrors',
        'alertmanager_labels: {team: sre, severity: critical}',
        'alertmanager_annotations: {runbook: "https://runbooks/log-errors"}',
        'alertmanager_fields: {level: level}',
        '',
      ].join('\n'),
    );
    await writeFile(join(dir, 'panic.yaml'), 'name: kernel-panic\ntype: any\nindex: logs-*\nfilter:\n- term: {level: panic}\nrealert: {minutes: 10}\ninclude: [message]\nalert: alertmanager\n');
    const config = parseAlertingConfig(join(dir, 'alerting.yml'), {
      rules_dir: dir,
      alertmanagers: [am.url, am2.url],
      external_url: 'http://alerting.example:9400',
      run_every: '500ms',
      allowed_lateness: '200ms',
      resend_interval: '1s',
    });
    for (let i = 0; i < 2; i++) services.push(await AlertingService.start(config, { listen: '127.0.0.1:0', manualTicks: true }));
    const both = (batch: LogRecord[]): void => services.forEach((s) => s.offer(batch));
    const tickBoth = async (): Promise<void> => {
      for (const s of services) await s.tick();
    };

    // Site s1 has errors: three within two seconds, as both replicas see them.
    const t0 = Date.now();
    both([rec('s1', 'error', t0 - 300), rec('s1', 'error', t0 - 200), rec('s2', 'info', t0 - 150), rec('s1', 'error', t0 - 100)]);
    both([rec('s3', 'panic', t0 - 50)]);
    const firing = await until('the LogErrors alert', async () => {
      await tickBoth();
      const alerts = await am.alerts();
      const a = alerts.filter((x) => x.labels.alertname === 'LogErrors');
      return a.length > 0 && alerts.some((x) => x.labels.alertname === 'kernel-panic') ? a : undefined;
    });
    assert.equal(firing.length, 1, 'two replicas, one alert');
    const a = firing[0] as AlertmanagerAlert;
    assert.deepEqual(a.labels, { alertname: 'LogErrors', severity: 'critical', tenant: 'acme', re: 're-eu', site: 's1', query_key: 's1', team: 'sre', level: 'error' });
    assert.equal(a.annotations.summary, 'Errors on s1');
    // alert_text, the type's sentence and the top counts (of s1's error records), without the fields (exclude_fields).
    assert.match(a.annotations.description ?? '', /^s1 saw errors: error on s1\n\nAt least 3 events occurred between \d{4}-\d\d-\d\d \d\d:\d\d UTC and \d{4}-\d\d-\d\d \d\d:\d\d UTC\n\nlevel\.keyword:\nerror: 3$/);
    assert.equal(a.annotations.runbook, 'https://runbooks/log-errors');
    assert.equal(Date.parse(a.startsAt), t0 - 100, 'startsAt is the event time of the match');
    assert.equal(a.generatorURL, 'http://alerting.example:9400/api/v1/rules/site-errors');
    assert.equal(a.status.state, 'active');
    const endsIn = Date.parse(a.endsAt) - Date.now();
    assert.ok(endsIn > 1000 && endsIn <= 4000, `endsAt ≈ now + 4 × resend interval (in ${endsIn} ms)`);
    const second = await am2.alerts();
    assert.deepEqual(second.map((x) => x.labels).sort((x, y) => (x.alertname ?? '').localeCompare(y.alertname ?? '')), [firing[0]?.labels, (await am.alerts()).find((x) => x.labels.alertname === 'kernel-panic')?.labels].sort((x, y) => (x?.alertname ?? '').localeCompare(y?.alertname ?? '')), 'both Alertmanagers of the pair hold the same alerts');
    const panic = (await am.alerts()).filter((x) => x.labels.alertname === 'kernel-panic');
    assert.equal(panic.length, 1);
    assert.deepEqual(panic[0]?.labels, { alertname: 'kernel-panic', severity: 'warning', tenant: 'acme', re: 're-eu', site: 's3' });
    assert.equal(panic[0]?.annotations.summary, 'ElastAlert: kernel-panic');
    // include: [message] leaves the match message and @timestamp (and re/site, the labels' fields); ElastAlert's default body.
    assert.equal(panic[0]?.annotations.description, `kernel-panic\n\n@timestamp: ${new Date(t0 - 50).toISOString()}\nmessage: panic on s3\nre: re-eu\nsite: s3`);

    // Grouping is Alertmanager's: by alertname and tenant.
    const groups = await am.groups();
    const g = groups.find((x) => x.labels.alertname === 'LogErrors');
    assert.deepEqual(g?.labels, { alertname: 'LogErrors', tenant: 'acme' });

    // While errors continue it stays firing and is resent (endsAt moves on), with the same startsAt.
    const firstEnds = Date.parse(a.endsAt);
    for (let i = 0; i < 6; i++) {
      const t = Date.now();
      both([rec('s1', 'error', t - 30), rec('s1', 'error', t - 20), rec('s1', 'error', t - 10)]);
      await sleep(300);
      await tickBoth();
    }
    const held = (await am.alerts()).filter((x) => x.labels.alertname === 'LogErrors');
    assert.equal(held.length, 1);
    assert.equal(held[0]?.startsAt, a.startsAt);
    assert.ok(Date.parse(held[0]?.endsAt as string) > firstEnds, 'resent with a later endsAt');

    // Errors stop: after the hold time the alert is resolved, and the receiver hears it once.
    await until('the resolve', async () => {
      await tickBoth();
      const resolved = hook.calls.filter((c) => c.status === 'resolved' && c.groupLabels.alertname === 'LogErrors');
      return resolved.length > 0 ? resolved : undefined;
    }, 20_000);
    await sleep(1500);
    const firingCalls = hook.calls.filter((c) => c.groupLabels.alertname === 'LogErrors' && c.status === 'firing');
    assert.equal(firingCalls.length, 1, `one firing notification, not one per replica or per resend: ${JSON.stringify(hook.calls.map((c) => c.status))}`);
    assert.equal(hook.calls.filter((c) => c.groupLabels.alertname === 'LogErrors' && c.status === 'resolved').length, 1);
    assert.equal((await am.alerts()).filter((x) => x.labels.alertname === 'LogErrors').length, 0);
    // The event rule was sent by both replicas; Alertmanager notified once, and ended it at endsAt itself.
    assert.equal(hook.calls.filter((c) => c.groupLabels.alertname === 'kernel-panic' && c.status === 'firing').length, 1);
    const m = await (await fetch(`${services[0]?.url}/metrics`)).text();
    assert.match(m, /fleetscope_alerting_alertmanager_sends_total\{alertmanager="[^"]+",outcome="ok"\} [1-9]/);
  } finally {
    for (const s of services) await s.stop();
    await am.stop();
    await am2.stop();
    await hook.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
