// One suite for both state stores: the embedded file store and a real etcd
// (Debian etcd-server, started here). Same calls, same answers. Then what
// only one of them needs: the file store's durability across reopen and a
// torn tail; two mirrors over one etcd seeing each other's writes.
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EtcdStateStore, FileStateStore, State, type StateStore, type StoreEvent } from '../control/index.js';
import { type EtcdPeer, startEtcd } from './peers/etcd.js';

const until = async (what: string, ok: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

function suite(name: string, open: () => Promise<StateStore>, pair: () => Promise<[StateStore, StateStore]>): void {
  describe(`state store: ${name}`, () => {
    test('put, get, list with prefix, revisions grow', async () => {
      const s = await open();
      try {
        const a = await s.put('x/a', '1');
        const b = await s.put('x/b', '2');
        await s.put('y/c', '3');
        assert.ok(a.ok && b.ok && b.rev > a.rev);
        assert.equal((await s.get('x/a'))?.value, '1');
        assert.equal(await s.get('x/none'), null);
        const l = await s.list('x/');
        assert.deepEqual(l.items.map((i) => [i.key, i.value]), [['x/a', '1'], ['x/b', '2']]);
        assert.ok(l.rev >= b.rev);
      } finally {
        await s.close();
      }
    });

    test('compare-and-set: create only if absent, update only at the revision read', async () => {
      const s = await open();
      try {
        const c = await s.put('cas/k', 'v1', 0);
        assert.ok(c.ok);
        const again = await s.put('cas/k', 'other', 0);
        assert.equal(again.ok, false);
        assert.equal(again.ok ? null : again.current?.value, 'v1');
        const rev = (await s.get('cas/k'))?.rev as number;
        assert.ok((await s.put('cas/k', 'v2', rev)).ok);
        const stale = await s.put('cas/k', 'v3', rev);
        assert.equal(stale.ok, false, 'a write at an old revision loses');
        assert.equal((await s.get('cas/k'))?.value, 'v2');
        const rev2 = (await s.get('cas/k'))?.rev as number;
        assert.equal(await s.delete('cas/k', rev), false, 'delete at an old revision does nothing');
        assert.equal(await s.delete('cas/k', rev2), true);
        assert.equal(await s.get('cas/k'), null);
        assert.equal(await s.delete('cas/k'), false);
      } finally {
        await s.close();
      }
    });

    test('txn: all or nothing, at one revision; the State mirror applies it', async () => {
      const s = await open();
      try {
        await s.put('tx/a', '"a0"');
        await s.put('tx/gone', '"g0"');
        const a = (await s.get('tx/a'))?.rev as number;
        const evs: StoreEvent[] = [];
        const stop = await s.watch('tx/', (await s.list('tx/')).rev, (ev) => evs.push(ev));
        // One compare fails: nothing is written.
        const lost = await s.txn([{ key: 'tx/a', value: '"a1"', ifRev: a }, { key: 'tx/b', value: '"b1"', ifRev: 0 }, { key: 'tx/gone', value: null, ifRev: a }]);
        assert.equal(lost.ok, false);
        assert.equal((await s.get('tx/a'))?.value, '"a0"');
        assert.equal(await s.get('tx/b'), null);
        assert.equal((await s.get('tx/gone'))?.value, '"g0"');
        const won = await s.txn([{ key: 'tx/a', value: '"a1"', ifRev: a }, { key: 'tx/b', value: '"b1"', ifRev: 0 }, { key: 'tx/gone', value: null }, { key: 'tx/c', value: '"c1"' }]);
        assert.ok(won.ok);
        const [ga, gb, gc] = await Promise.all(['tx/a', 'tx/b', 'tx/c'].map((k) => s.get(k)));
        assert.deepEqual([ga?.value, gb?.value, gc?.value], ['"a1"', '"b1"', '"c1"']);
        assert.ok(ga?.rev === won.rev && gb?.rev === won.rev && gc?.rev === won.rev, 'one revision for the whole transaction');
        assert.equal(await s.get('tx/gone'), null);
        await until('the watch sees the transaction', () => evs.length >= 4);
        assert.deepEqual(evs.map((e) => [e.type, e.key]).sort(), [['delete', 'tx/gone'], ['put', 'tx/a'], ['put', 'tx/b'], ['put', 'tx/c']]);
        stop();
        const state = await State.open(s);
        try {
          const b = state.get<string>('tx/b');
          assert.equal(await state.txn([{ key: 'tx/b', value: 'b2', ifRev: (b?.rev as number) - 1 }, { key: 'tx/d', value: 'd' }]), false);
          assert.equal(state.value('tx/d'), null);
          assert.equal(await state.txn([{ key: 'tx/b', value: 'b2', ifRev: b?.rev as number }, { key: 'tx/c', value: null }]), true);
          assert.equal(state.value('tx/b'), 'b2');
          assert.equal(state.value('tx/c'), null);
        } finally {
          state.close();
        }
      } finally {
        await s.close();
      }
    });

    test('putMany writes every entry; list pages through more than one page', async () => {
      const s = await open();
      try {
        const entries = Array.from({ length: 1234 }, (_, i) => ({ key: `many/${String(i).padStart(5, '0')}`, value: `v${i}` }));
        await s.putMany(entries);
        const l = await s.list('many/');
        assert.equal(l.items.length, 1234);
        assert.deepEqual(l.items.map((i) => i.value), entries.map((e) => e.value));
      } finally {
        await s.close();
      }
    });

    test('watch from a list revision misses nothing and sees puts and deletes in order', async () => {
      const s = await open();
      try {
        await s.put('w/before', '0');
        const snap = await s.list('w/');
        await s.put('w/between', '1');
        const seen: StoreEvent[] = [];
        const stop = await s.watch('w/', snap.rev, (ev) => seen.push(ev));
        await s.put('w/after', '2');
        await s.delete('w/between');
        await s.put('other/x', 'no');
        await until('three events', () => seen.length >= 3);
        stop();
        assert.deepEqual(seen.map((e) => [e.type, e.key, e.value ?? null]), [['put', 'w/between', '1'], ['put', 'w/after', '2'], ['delete', 'w/between', null]]);
        assert.ok((seen[0] as StoreEvent).rev < (seen[1] as StoreEvent).rev && (seen[1] as StoreEvent).rev < (seen[2] as StoreEvent).rev);
      } finally {
        await s.close();
      }
    });

    test('the State mirror: update() retries a lost race, and both writers count', async () => {
      const [s1, s2] = await pair();
      const a = await State.open(s1);
      const b = await State.open(s2);
      try {
        await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).update<number>('counter', (n) => (n ?? 0) + 1)));
        await until('both mirrors at 20', () => a.value<number>('counter') === 20 && b.value<number>('counter') === 20);
      } finally {
        a.close();
        b.close();
        await s1.close();
        if (s2 !== s1) await s2.close();
      }
    });
  });
}

let dir = '';
let etcd: EtcdPeer | null = null;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-store-'));
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
  await rm(dir, { recursive: true, force: true });
});

let fileN = 0;
const openFile = (): Promise<FileStateStore> => FileStateStore.open(join(dir, `f${fileN++}`));
// The file store belongs to one process: its "two writers" are two mirrors over one instance.
suite('file', openFile, async () => {
  const s = await openFile();
  return [s, s];
});
let prefixN = 0;
const openEtcd = (): StateStore => new EtcdStateStore((etcd as EtcdPeer).url, `/t${prefixN++}/`);
suite('etcd', async () => openEtcd(), async () => {
  const p = `/pair${prefixN++}/`;
  return [new EtcdStateStore((etcd as EtcdPeer).url, p), new EtcdStateStore((etcd as EtcdPeer).url, p)];
});

describe('a lost watch', () => {
  test('etcd: a watch from a compacted revision reports a reset', async () => {
    const s = openEtcd();
    try {
      const first = await s.put('c/a', '1');
      await s.put('c/a', '2');
      const last = await s.put('c/a', '3');
      assert.ok(first.ok && last.ok);
      const { Etcd3 } = await import('etcd3');
      const raw = new Etcd3({ hosts: (etcd as EtcdPeer).clientUrl });
      await raw.kv.compact({ revision: last.rev, physical: true });
      raw.close();
      const seen: StoreEvent[] = [];
      const stop = await s.watch('c/', first.ok ? first.rev - 1 : 0, (ev) => seen.push(ev));
      await until('a reset', () => seen.some((e) => e.type === 'reset'));
      stop();
    } finally {
      await s.close();
    }
  });

  test('the mirror re-lists on a reset and sees what it missed', async () => {
    const base = await openFile();
    let inject: ((ev: StoreEvent) => void) | null = null;
    // A store whose watch drops every event: the mirror misses writes until it is reset.
    const deaf: StateStore = Object.assign(Object.create(null) as StateStore, {
      kind: 'file' as const,
      get: (k: string) => base.get(k),
      list: (p: string) => base.list(p),
      put: (k: string, v: string, r?: number) => base.put(k, v, r),
      putMany: (e: readonly { key: string; value: string }[]) => base.putMany(e),
      delete: (k: string, r?: number) => base.delete(k, r),
      watch: async (_p: string, _r: number, l: (ev: StoreEvent) => void) => {
        inject = l;
        return () => undefined;
      },
      close: () => base.close(),
    });
    const state = await State.open(deaf);
    try {
      await base.put('k/missed', JSON.stringify('yes'));
      assert.equal(state.value('k/missed'), null, 'not seen: the watch is deaf');
      (inject as unknown as (ev: StoreEvent) => void)({ type: 'reset', key: '', rev: 0 });
      await until('the re-list', () => state.value<string>('k/missed') === 'yes');
      assert.equal(state.resyncs, 1);
    } finally {
      state.close();
      await base.close();
    }
  });
});

describe('file store durability', () => {
  test('what was acknowledged is there after reopening; a torn last line is cut off', async () => {
    const d = join(dir, 'durable');
    const s = await FileStateStore.open(d);
    for (let i = 0; i < 200; i++) await s.put(`k/${i}`, `v${i}`);
    await s.delete('k/7');
    await s.close();
    appendFileSync(join(d, 'state.jsonl'), '{"r":999,"k":"k/torn","v":"ha');
    const r = await FileStateStore.open(d);
    const l = await r.list('k/');
    assert.equal(l.items.length, 199);
    assert.equal(await r.get('k/7'), null);
    assert.equal(await r.get('k/torn'), null);
    assert.equal((await r.get('k/199'))?.value, 'v199');
    const next = await r.put('k/new', 'x');
    assert.ok(next.ok && next.rev > 200, 'revisions continue after reopen');
    await r.close();
  });

  test('a transaction is replayed whole, and a torn one not at all', async () => {
    const d = join(dir, 'durable-txn');
    const s = await FileStateStore.open(d);
    await s.put('t/x', 'x0');
    assert.ok((await s.txn([{ key: 't/a', value: 'a' }, { key: 't/x', value: null }, { key: 't/b', value: 'b' }])).ok);
    await s.close();
    // A second transaction torn mid-line: it never was acknowledged.
    appendFileSync(join(d, 'state.jsonl'), '{"r":50,"t":[{"k":"t/c","v":"c"},{"k":"t/a","d":1}');
    const r = await FileStateStore.open(d);
    assert.deepEqual((await r.list('t/')).items.map((i) => [i.key, i.value]), [['t/a', 'a'], ['t/b', 'b']]);
    await r.close();
  });
});
