import assert from 'node:assert/strict';
import { test } from 'node:test';
import { targetsForSite } from './shard.js';

const sites = Array.from({ length: 3000 }, (_, i) => `ce-${String(i).padStart(4, '0')}`);

test('unsharded targets receive every site; each shard group gets each site exactly once', () => {
  const targets = [{ url: 'http://all/' }, { url: 'http://a/', shard_group: 'cortex' }, { url: 'http://b/', shard_group: 'cortex' }, { url: 'http://c/', shard_group: 'cortex' }];
  const counts = [0, 0, 0, 0];
  for (const s of sites) {
    const t = targetsForSite(s, targets);
    assert.equal(t[0], 0);
    assert.equal(t.length, 2);
    for (const i of t) counts[i] = (counts[i] ?? 0) + 1;
  }
  assert.equal(counts[0], 3000);
  // Roughly even: each of three shards within 15% of a third.
  for (const c of counts.slice(1)) assert.ok(Math.abs(c - 1000) < 150, `shard sizes ${counts.slice(1)}`);
});

test('adding a shard moves only the sites it takes', () => {
  const three = [{ url: 'http://a/', shard_group: 'g' }, { url: 'http://b/', shard_group: 'g' }, { url: 'http://c/', shard_group: 'g' }];
  const four = [...three, { url: 'http://d/', shard_group: 'g' }];
  let moved = 0;
  for (const s of sites) {
    const before = three[targetsForSite(s, three)[0] as number]?.url;
    const after = four[targetsForSite(s, four)[0] as number]?.url;
    if (before !== after) {
      moved++;
      assert.equal(after, 'http://d/', `${s} moved between old shards`);
    }
  }
  assert.ok(Math.abs(moved - 750) < 150, `${moved} of 3000 sites moved`);
});
