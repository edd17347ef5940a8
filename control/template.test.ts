import assert from 'node:assert/strict';
import { test } from 'node:test';
import yaml from 'js-yaml';
import { manifestChecksum } from './checksum.js';
import { ControlError } from './errors.js';
import { type RenderContext, compileTemplate, renderTemplate } from './template.js';

const ctx: RenderContext = {
  params: { replicas: 3, name: 'a "quoted"\nvalue', nested: { cpu: '500m', list: [1, 2] }, port: 8080, flag: false },
  site: { name: 'ce-1', tenant: 'acme', group: 'stores', labels: { zone: 'z1' } },
  component: { name: 'web', version: '1.2.0' },
};
const base = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n';

function render(body: string): Record<string, unknown> {
  const t = compileTemplate('t.yaml', base + body, 'pessimistic');
  const docs = yaml.loadAll(renderTemplate(t, ctx, 'v1', 'img:1,img:2'));
  assert.equal(docs.length, 1);
  return docs[0] as Record<string, unknown>;
}

test('references: whole values keep their type, partial ones interpolate, |string forces text', () => {
  const cases: [string, unknown][] = [
    ['v: ${params.replicas}', 3],
    ['v: "${params.port|string}"', '8080'],
    ['v: "${params.flag}"', false],
    ['v: ${params.nested}', { cpu: '500m', list: [1, 2] }],
    ['v: "n-${params.replicas}"', 'n-3'],
    ['v: "${site.name}.${site.tenant}/${site.group}"', 'ce-1.acme/stores'],
    ['v: ${site.labels.zone}', 'z1'],
    ['v: "${component.name}:${component.version}"', 'web:1.2.0'],
    ['v: ${params.name}', 'a "quoted"\nvalue'],
    ['v: "x${params.nested}"', 'x{"cpu":"500m","list":[1,2]}'],
    ['v: "$${literal}"', '${literal}'],
    ['v: [a, "${params.port}"]', ['a', 8080]],
  ];
  for (const [body, want] of cases) assert.deepEqual((render(body) as { v: unknown }).v, want, body);
});

test('annotations on every object, and the checksum covers the text with it emptied', () => {
  const t = compileTemplate('t.yaml', `${base}---\n${base}`, 'optimistic');
  const text = renderTemplate(t, ctx, '2026.1', 'img:1');
  const docs = yaml.loadAll(text) as { metadata: { annotations: Record<string, string> } }[];
  assert.equal(docs.length, 2);
  for (const d of docs) {
    assert.deepEqual(d.metadata.annotations, { 'fleetscope.io/version': '2026.1', 'fleetscope.io/checksum': '', 'fleetscope.io/apply-mode': 'optimistic', 'fleetscope.io/prepull-images': 'img:1' });
  }
  const sum = manifestChecksum(text);
  const filled = text.replaceAll("fleetscope.io/checksum: ''", `fleetscope.io/checksum: ${sum}`);
  assert.notEqual(filled, text);
  assert.equal(manifestChecksum(filled), sum);
  assert.notEqual(manifestChecksum(filled.replace('2026.1', '2026.2')), sum);
});

test('bad templates are refused with the file and the reason', () => {
  const bad: [string, RegExp][] = [
    ['v: ${nope.x}', /is not a reference/],
    ['v: ${params}', /is not a reference/],
    ['v: "${params.x"', /unterminated/],
    ['"${params.k}": 1', /not allowed in keys/],
    ['v: [${params.x}]', /not YAML/],
  ];
  for (const [body, re] of bad) {
    assert.throws(() => compileTemplate('t.yaml', base + body, 'pessimistic'), (e: unknown) => e instanceof ControlError && e.code === 'FS_CONTROL_TEMPLATE' && re.test(e.message) && e.message.startsWith('t.yaml'), body);
  }
  assert.throws(() => compileTemplate('t.yaml', 'kind: X\nmetadata: {}\n', 'pessimistic'), /apiVersion and kind/);
  assert.throws(() => compileTemplate('t.yaml', `${base.replace('{name: x}', '{name: x, annotations: {fleetscope.io/version: "1"}}')}`, 'pessimistic'), /written by the renderer/);
  const t = compileTemplate('t.yaml', `${base}v: \${params.missing}\n`, 'pessimistic');
  assert.throws(() => renderTemplate(t, ctx, 'v', ''), (e: unknown) => e instanceof ControlError && /t\.yaml: site ce-1: unknown reference \$\{params\.missing\}/.test(e.message));
});
