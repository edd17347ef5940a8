// Which remote-write targets receive a site's data. Targets without a shard
// group receive everything; targets sharing a group split the sites between
// them by rendezvous (highest-random-weight) hashing of the site name, which
// is consistent: adding or removing a target moves only the sites that must
// move (about 1/N of them), so a Cortex shard keeps its sites' series.
import { createHash } from 'node:crypto';

export interface ShardableTarget {
  readonly url: string;
  readonly shard_group?: string | undefined;
}

function weight(site: string, target: string): bigint {
  return createHash('sha256').update(site).update('\u0000').update(target).digest().readBigUInt64BE(0);
}

/** Indexes of the targets that receive `site`'s data. */
export function targetsForSite(site: string, targets: readonly ShardableTarget[]): number[] {
  const out: number[] = [];
  const best = new Map<string, { index: number; weight: bigint }>();
  targets.forEach((t, i) => {
    if (t.shard_group === undefined) {
      out.push(i);
      return;
    }
    const w = weight(site, t.url);
    const cur = best.get(t.shard_group);
    if (!cur || w > cur.weight) best.set(t.shard_group, { index: i, weight: w });
  });
  for (const b of best.values()) out.push(b.index);
  return out.sort((a, b) => a - b);
}

/** FNV-1a (32-bit) of a string's UTF-16 code units: a fast, stable spread of sites over send shards and push workers. */
export function fnv1a32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

