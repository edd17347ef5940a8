import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { applyOrder, checksumCandidates, parseRelease, stampChecksum } from './manifests.js';

const doc = (kind: string, name: string, extra = ''): string => `apiVersion: ${kind === 'Namespace' ? 'v1' : kind === 'CustomResourceDefinition' ? 'apiextensions.k8s.io/v1' : 'apps/v1'}\nkind: ${kind}\nmetadata:\n  name: ${name}\n  annotations:\n    fleetscope.io/version: "1.2.3"\n    fleetscope.io/checksum: ''\n${extra}`;

test('the checksum is sha256 of the text with the annotation emptied, in any of its spellings', () => {
  const raw = [doc('Deployment', 'a', '    fleetscope.io/prepull-images: "img:1, img:2"\n'), doc('Namespace', 'ns')].join('---\n');
  const { text, checksum } = stampChecksum(raw);
  assert.equal(checksum, `sha256:${createHash('sha256').update(raw).digest('hex')}`);
  assert.ok(text.includes(`fleetscope.io/checksum: ${checksum}`));
  assert.ok(checksumCandidates(text).includes(checksum));
  const r = parseRelease(text, '1.2.3', checksum);
  assert.deepEqual(r.prepullImages, ['img:1', 'img:2']);
  assert.equal(r.objects.length, 2);
  // Double-quoted empty value, and JSON-style, are recognised too.
  const dq = raw.replaceAll("checksum: ''", 'checksum: ""');
  const dqSum = `sha256:${createHash('sha256').update(dq).digest('hex')}`;
  assert.equal(parseRelease(dq.replaceAll('checksum: ""', `checksum: "${dqSum}"`), '1.2.3', dqSum).objects.length, 2);
});

test('a changed byte, a wrong version or a bad mode is refused with its code', () => {
  const { text, checksum } = stampChecksum(doc('Deployment', 'a'));
  assert.throws(() => parseRelease(text.replace('name: a', 'name: b'), '1.2.3', checksum), { code: 'FS_AGENT_CHECKSUM_MISMATCH' });
  assert.throws(() => parseRelease(text, '1.2.4', checksum), { code: 'FS_AGENT_INVALID_MANIFESTS' });
  const bad = stampChecksum(doc('Deployment', 'a', '    fleetscope.io/apply-mode: eager\n'));
  assert.throws(() => parseRelease(bad.text, '1.2.3', bad.checksum), /apply-mode must be optimistic or pessimistic/);
  const dup = stampChecksum([doc('Deployment', 'a'), doc('Deployment', 'a')].join('---\n'));
  assert.throws(() => parseRelease(dup.text, '1.2.3', dup.checksum), /appears twice/);
  const empty = stampChecksum('---\n');
  assert.throws(() => parseRelease(empty.text, '1.2.3', empty.checksum), /no objects/);
});

test('apply order puts CRDs and Namespaces first', () => {
  const { text, checksum } = stampChecksum([doc('Deployment', 'a'), doc('Namespace', 'n'), doc('CustomResourceDefinition', 'c')].join('---\n'));
  const o = applyOrder(parseRelease(text, '1.2.3', checksum).objects);
  assert.deepEqual([o.crds.map((x) => x.kind), o.namespaces.map((x) => x.kind), o.rest.map((x) => x.kind)], [['CustomResourceDefinition'], ['Namespace'], ['Deployment']]);
});
