import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { applyBody, classifyApiError, FIELD_MANAGER, loadKubeClient } from './kube.js';
import { httpKubeApi, KubeHttpError } from './kube-api-http.js';
import { MANAGED_LABEL, MANAGED_VALUE } from './manifests.js';

const status = (code: number, reason: string, message: string): string => JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

/** An API server answering discovery for v1 ConfigMap and every other request with the status asked for in the name. */
async function server(): Promise<{ url: string; seen: { method: string; url: string; type?: string; body: string }[]; close: () => Promise<void> }> {
  const seen: { method: string; url: string; type?: string; body: string }[] = [];
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', ...(req.headers['content-type'] ? { type: req.headers['content-type'] } : {}), body });
      if (req.url === '/api/v1') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'configmaps', kind: 'ConfigMap', namespaced: true }, { name: 'namespaces', kind: 'Namespace', namespaced: false }, { name: 'namespaces/status', kind: 'Namespace', namespaced: false }] }));
        return;
      }
      const code = Number(/\/s(\d{3})/.exec(req.url ?? '')?.[1] ?? 200);
      if (code === 200) res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ok' } }));
      else res.writeHead(code, { 'Content-Type': 'application/json' }).end(status(code, 'X', `answered ${code}`));
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen, close: () => new Promise((r) => s.close(() => r())) };
}

test('errors of the built-in client classify as those of @kubernetes/client-node: 429/5xx/network transient, other 4xx permanent, 409 visible as code', async () => {
  const srv = await server();
  const api = httpKubeApi({ server: srv.url, insecure: false, source: 'test', token: () => 't0k' }, { prepare: applyBody, fieldManager: FIELD_MANAGER, timeoutMs: 2000 });
  const k = await loadKubeClient();
  const table: [number, 'transient' | 'permanent'][] = [
    [429, 'transient'],
    [500, 'transient'],
    [502, 'transient'],
    [503, 'transient'],
    [504, 'transient'],
    [400, 'permanent'],
    [401, 'permanent'],
    [403, 'permanent'],
    [404, 'permanent'],
    [409, 'permanent'],
    [410, 'permanent'],
    [415, 'permanent'],
    [422, 'permanent'],
  ];
  try {
    for (const [code, kind] of table) {
      const err = await api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `s${code}`, namespace: 'edge' } }).then(() => assert.fail(`${code} resolved`), (e: unknown) => e);
      assert.ok(err instanceof KubeHttpError, `${code}`);
      assert.equal(err.code, code);
      const ours = classifyApiError(err);
      // The official client's exception for the same answer: the same outcome and reason.
      const theirs = classifyApiError(new k.ApiException(code, `HTTP-Code: ${code}`, status(code, 'X', `answered ${code}`), {}));
      assert.deepEqual(ours, theirs, `${code}`);
      assert.equal(ours.kind, kind, `${code}`);
      assert.match(ours.reason, new RegExp(`^HTTP ${code}: .*answered ${code}`));
    }
    // 404 on read is null, on delete done; another status on read is thrown as its error.
    assert.equal(await api.read({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'edge', name: 's404' }), null);
    await api.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'edge', name: 's404' });
    await assert.rejects(api.read({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'edge', name: 's503' }), (e: unknown) => classifyApiError(e).kind === 'transient');
    await assert.rejects(api.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'edge', name: 's403' }), (e: unknown) => classifyApiError(e).kind === 'permanent');
    // The requests, as the API wants them.
    await api.applyWith({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'edge', resourceVersion: '7', managedFields: [] } as never }, { fieldManager: 'other', force: false, resourceVersion: '42' });
    const patch = srv.seen.at(-1)!;
    assert.equal(patch.method, 'PATCH');
    assert.equal(patch.url, '/api/v1/namespaces/edge?fieldManager=other&force=false');
    assert.equal(patch.type, 'application/apply-patch+yaml');
    const sent = JSON.parse(patch.body) as { metadata: Record<string, unknown> };
    assert.equal(sent.metadata.resourceVersion, '42');
    assert.equal(sent.metadata.managedFields, undefined);
    assert.deepEqual(sent.metadata.labels, { [MANAGED_LABEL]: MANAGED_VALUE });
    const del = srv.seen.find((r) => r.method === 'DELETE')!;
    assert.equal(del.url, '/api/v1/namespaces/edge/configmaps/s404');
    assert.equal((JSON.parse(del.body) as { propagationPolicy: string }).propagationPolicy, 'Background');
    // Namespaced without a namespace: "default", as the official client.
    await api.read({ apiVersion: 'v1', kind: 'ConfigMap', name: 'ok' });
    assert.equal(srv.seen.at(-1)!.url, '/api/v1/namespaces/default/configmaps/ok');
    // Discovery once for v1 (subresources skipped), not per request.
    assert.equal(srv.seen.filter((r) => r.url === '/api/v1').length, 1);
    assert.equal(api.discoveries(), 1);
  } finally {
    await srv.close();
  }
  // No answer at all: transient, as a network error of the official client.
  const down = httpKubeApi({ server: srv.url, insecure: false, source: 'test' }, { prepare: applyBody, fieldManager: FIELD_MANAGER, timeoutMs: 2000 });
  const refused = await down.read({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'edge', name: 'x' }).then(() => null, (e: unknown) => e);
  assert.ok(refused instanceof Error && !(refused instanceof KubeHttpError), String(refused));
  assert.equal(classifyApiError(refused).kind, 'transient');
  assert.match(classifyApiError(refused).reason, /ECONNREFUSED/);
});
