// Which kubeconfigs the built-in discovery client can use, and what it takes from them.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import yaml from 'js-yaml';
import { loadClusterAccess } from './kube-sd-http.js';

test('loadClusterAccess: token, token file, client certificate, CA by file or data; plugins left to client-node', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-kubeconfig-'));
  try {
    await writeFile(join(dir, 'ca.crt'), 'CA-PEM');
    await writeFile(join(dir, 'token'), 'tok-from-file\n');
    const write = async (user: Record<string, unknown>, cluster: Record<string, unknown>): Promise<string> => {
      const f = join(dir, `kc-${Math.random()}`);
      await writeFile(f, yaml.dump({ 'current-context': 'c', contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }], clusters: [{ name: 'k', cluster: { server: 'https://10.0.0.1:6443/', ...cluster } }], users: [{ name: 'u', user }] }));
      return f;
    };
    const a = loadClusterAccess(await write({ token: 'abc' }, { 'certificate-authority': 'ca.crt' }), {});
    assert.equal(a?.server, 'https://10.0.0.1:6443');
    assert.equal(a?.token?.(), 'abc');
    assert.equal(a?.ca?.toString(), 'CA-PEM', 'a relative CA path is relative to the kubeconfig');
    assert.equal(a?.insecure, false);
    const b = loadClusterAccess(await write({ tokenFile: join(dir, 'token') }, { 'certificate-authority-data': Buffer.from('CA2').toString('base64'), 'insecure-skip-tls-verify': true }), {});
    assert.equal(b?.token?.(), 'tok-from-file');
    assert.equal(b?.ca?.toString(), 'CA2');
    assert.equal(b?.insecure, true);
    const c = loadClusterAccess(await write({ 'client-certificate-data': Buffer.from('CERT').toString('base64'), 'client-key-data': Buffer.from('KEY').toString('base64') }, {}), {});
    assert.equal(c?.cert?.toString(), 'CERT');
    assert.equal(c?.key?.toString(), 'KEY');
    assert.equal(c?.token, undefined);
    assert.equal(loadClusterAccess(await write({ exec: { command: 'aws' } }, {}), {}), null);
    assert.equal(loadClusterAccess(await write({ 'auth-provider': { name: 'gcp' } }, {}), {}), null);
    const viaEnv = await write({ token: 'env' }, {});
    assert.equal(loadClusterAccess(undefined, { KUBECONFIG: `${viaEnv}:/elsewhere` })?.token?.(), 'env');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
