// The node-at-a-time reboot lock (a coordination.k8s.io/v1 Lease) against
// the in-test Kubernetes API server, through each client (the built-in one
// and the real @kubernetes/client-node): one holder at
// a time, including when nodes race to create or take over the Lease; a
// released or expired lock passes to the next node.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RebootLock, kubeApi } from '../agent/index.js';
import { type FakeKube, startFakeKube } from './peers/kube-apiserver.js';

// Every test once per Kubernetes client, each against its own API server.
for (const client of ['builtin', 'client-node'] as const) {
describe(`${client} client`, () => {
  let kube: FakeKube;
  before(async () => {
    kube = await startFakeKube();
  });
  after(async () => {
    await kube?.stop();
  });

  const holder = (name: string): string | undefined => (kube.get('coordination.k8s.io/v1', 'Lease', 'kube-system', name)?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

  test(`${client} client: one node at a time; release passes the lock on`, async () => {
    const api = await kubeApi(kube.kubeconfig, { client });
    const a = new RebootLock(api, { namespace: 'kube-system', name: 'l1', holder: 'node-a', pollMs: 50 });
    const b = new RebootLock(api, { namespace: 'kube-system', name: 'l1', holder: 'node-b', pollMs: 50 });
    assert.deepEqual(await a.acquire(1000), { ok: true });
    assert.equal(holder('l1'), 'node-a');
    const waited = await b.acquire(300);
    assert.equal(waited.ok, false);
    assert.match(waited.ok ? '' : waited.reason, /held by node-a/);
    assert.equal(await a.renew(), true);
    assert.equal(await b.renew(), false, 'only the holder renews');
    const bWaits = b.acquire(5000);
    await new Promise((r) => setTimeout(r, 200));
    await a.release();
    assert.deepEqual(await bWaits, { ok: true });
    assert.equal(holder('l1'), 'node-b');
    assert.equal((kube.get('coordination.k8s.io/v1', 'Lease', 'kube-system', 'l1')?.spec as { leaseTransitions: number }).leaseTransitions, 1);
  });

  test(`${client} client: an expired lease is taken over; a racing takeover or creation leaves exactly one holder`, async () => {
    const api = await kubeApi(kube.kubeconfig, { client });
    let clock = Date.now();
    const now = (): number => clock;
    const dead = new RebootLock(api, { namespace: 'kube-system', name: 'l2', holder: 'node-dead', leaseDurationSeconds: 10, now });
    assert.equal(await dead.tryAcquire(), true);
    const nodes = ['node-x', 'node-y', 'node-z'].map((h) => new RebootLock(api, { namespace: 'kube-system', name: 'l2', holder: h, leaseDurationSeconds: 10, now }));
    assert.deepEqual(await Promise.all(nodes.map((n) => n.tryAcquire())), [false, false, false], 'not expired yet');
    clock += 11_000;
    const won = await Promise.all(nodes.map((n) => n.tryAcquire()));
    assert.equal(won.filter(Boolean).length, 1, `exactly one takes over: ${won}`);
    assert.equal(holder('l2'), ['node-x', 'node-y', 'node-z'][won.indexOf(true)]);
    // Creation races too: many nodes, a Lease that does not exist yet.
    const racers = Array.from({ length: 5 }, (_, i) => new RebootLock(api, { namespace: 'kube-system', name: 'l3', holder: `n${i}` }));
    const created = await Promise.all(racers.map((n) => n.tryAcquire()));
    assert.equal(created.filter(Boolean).length, 1, `exactly one creates: ${created}`);
    assert.equal(holder('l3'), `n${created.indexOf(true)}`);
  });
});
}
