import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Rollout, SiteRecord, SiteStatus } from './records.js';
import { type SiteView, parseFraction, parsePortion, partitionSites, tickRollout } from './rollout.js';

test('portions, fractions and partitions', () => {
  assert.equal(parsePortion('10%', 55), 5);
  assert.equal(parsePortion('3', 55), 3);
  assert.equal(parsePortion('x', 55), null);
  assert.equal(parseFraction('5%'), 0.05);
  assert.equal(parseFraction('0.2'), 0.2);
  assert.equal(parseFraction('2'), null);
  assert.deepEqual(partitionSites(['a', 'b', 'c', 'd', 'e', 'f'], 1, 2), [['a'], ['b', 'c', 'd'], ['e', 'f']]);
  assert.deepEqual(partitionSites(['a', 'b'], 0, 5), [['a'], ['b']]);
  assert.deepEqual(partitionSites(['a'], 3, 2), [['a']]);
});

const NOW = Date.parse('2026-12-01T10:00:00Z');
const OFFLINE = 15 * 60_000;

function world(names: string[]) {
  const sites = new Map<string, SiteRecord>();
  const status = new Map<string, SiteStatus>();
  for (const n of names) {
    sites.set(n, { tenant: 't', site: n, group: 'g', labels: {}, registration_id: 'r', machine_id: n, token_id: 'x', created_at: new Date(NOW - 1000).toISOString(), desired: { version: 'v1', checksum: 'sha256:1', artifact: 'a', mode_summary: { apply_mode: 'pessimistic', objects: 1, prepull_images: [] } } });
    status.set(n, { version: 'v1', state: 'healthy', at: '', last_seen: NOW - 1000, history: [] });
  }
  const view = (n: string): SiteView => ({ site: sites.get(n) ?? null, status: status.get(n) ?? null });
  const release = (list: readonly string[]) => {
    for (const n of list) {
      const s = sites.get(n) as SiteRecord;
      sites.set(n, { ...s, desired: { ...(s.desired as NonNullable<SiteRecord['desired']>), version: 'v2' } });
    }
  };
  const report = (n: string, state: SiteStatus['state']) => status.set(n, { version: 'v2', state, at: '', last_seen: NOW - 500, history: [] });
  const offline = (n: string) => status.set(n, { ...(status.get(n) as SiteStatus), last_seen: NOW - OFFLINE - 1 });
  return { view, release, report, offline };
}

function rollout(names: string[], over: Partial<Rollout['strategy']> = {}): Rollout {
  const targets: Record<string, string> = {};
  for (const n of names) targets[n] = 'v2';
  return {
    id: 'r1', version: 'v2', selector: { group: 'g' }, state: 'running', created_at: '', updated_at: '',
    strategy: { canary: 1, partitions: 2, max_unavailable: '2', failure_threshold: '20%', deadline_ms: 60_000, ...over },
    partitions: partitionSites(names, over.canary ?? 1, over.partitions ?? 2), targets, partition: 0, partition_started_at: NOW - 1000, acknowledged_failures: 0,
  };
}

test('canary first, then partitions limited by max_unavailable, then done', () => {
  const names = ['s1', 's2', 's3', 's4', 's5'];
  const w = world(names);
  let r = rollout(names);
  let t = tickRollout(r, w.view, NOW, OFFLINE);
  assert.deepEqual(t.release, ['s1'], 'only the canary');
  assert.equal(t.counts.pending, 5);
  w.release(t.release);
  r = t.next ?? r;
  t = tickRollout(r, w.view, NOW, OFFLINE);
  assert.deepEqual(t.release, [], 'the canary is not finished');
  w.report('s1', 'healthy');
  t = tickRollout(r, w.view, NOW, OFFLINE);
  assert.deepEqual(t.release, ['s2', 's3'], 'partition 1, two at a time');
  assert.equal(t.next?.partition, 1);
  w.release(t.release);
  r = t.next as Rollout;
  w.report('s2', 'healthy');
  t = tickRollout(r, w.view, NOW, OFFLINE);
  assert.deepEqual(t.release, [], 's4 and s5 are in the next partition; s3 still in flight');
  w.report('s3', 'healthy');
  t = tickRollout(r, w.view, NOW, OFFLINE);
  assert.deepEqual(t.release, ['s4', 's5']);
  w.release(t.release);
  r = t.next as Rollout;
  w.report('s4', 'healthy');
  w.report('s5', 'healthy');
  t = tickRollout(r, w.view, NOW, OFFLINE);
  assert.equal(t.next?.state, 'done');
  assert.equal(t.counts.healthy, 5);
});

test('offline sites wait for the deadline and never count as failed; failures over the threshold pause', () => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  const w = world(names);
  let r = rollout(names, { canary: 0, partitions: 1, max_unavailable: '5', failure_threshold: '30%' });
  w.offline('e');
  let t = tickRollout(r, w.view, NOW, OFFLINE);
  assert.deepEqual(t.release, ['a', 'b', 'c', 'd'], 'the offline site is not released');
  assert.equal(t.counts.offline, 1);
  w.release(t.release);
  r = t.next as Rollout;
  for (const n of ['a', 'b', 'c']) w.report(n, 'healthy');
  w.report('d', 'failed');
  t = tickRollout(r, w.view, NOW, OFFLINE);
  assert.equal(t.next, null, '1 of 4 is under 30%, and e holds the partition until the deadline');
  assert.deepEqual({ healthy: t.counts.healthy, failed: t.counts.failed, offline: t.counts.offline }, { healthy: 3, failed: 1, offline: 1 });
  t = tickRollout(r, w.view, NOW + 61_000, OFFLINE);
  assert.equal(t.next?.state, 'done', 'the deadline moves it on');
  assert.deepEqual(t.release, ['e'], 'e gets the version for when it returns');
  assert.equal(t.counts.offline, 1);

  const strict = rollout(names, { canary: 0, partitions: 1, max_unavailable: '5', failure_threshold: '20%' });
  const t2 = tickRollout(strict, w.view, NOW, OFFLINE);
  assert.equal(t2.next?.state, 'paused');
  assert.match(t2.next?.reason ?? '', /1 of 4 released sites failed/);
  const resumed = tickRollout({ ...strict, acknowledged_failures: 1 }, w.view, NOW, OFFLINE);
  assert.notEqual(resumed.next?.state, 'paused', 'failures acknowledged on resume do not pause again');
});
