// With TLS configured, a site may authenticate with the client certificate the
// control plane issued it, instead of its token (the top README's contract §2): over a real
// TLS connection, its own resources are open, another site's are 403, and a
// reset site's old certificate, though still signed by the CA, is refused.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateTokenKeys, tokenPrivateKey } from '../wire/index.js';
import { ControlPlane, buildServer, commitModel, createCsr, createRegistrationToken, exampleModelFiles, generateTenantCa, initRepo, parseControlConfig } from '../control/index.js';

function get(port: number, path: string, cert?: { cert: string; key: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, ...(cert ?? {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('mTLS: the issued client certificate identifies the site', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-control-mtls-'));
  const keys = generateTokenKeys();
  await writeFile(join(dir, 'token.key'), keys.privateKeyPem);
  const server = await generateTenantCa('server'); // a self-signed certificate for the server side of TLS
  await writeFile(join(dir, 'tls.crt'), server.cert_pem);
  await writeFile(join(dir, 'tls.key'), server.key_pem);
  const repo = join(dir, 'model');
  initRepo(repo);
  commitModel(repo, exampleModelFiles(), 'v1');
  const config = parseControlConfig({ store: 'state', artifacts: { dir: 'artifacts' }, git: { repo, cache_dir: 'git' }, keys: { token_private_key: 'token.key' }, tls: { cert: 'tls.crt', key: 'tls.key' }, operators: [{ name: 'o', token: 'operator-token-0123456789', role: 'operator' }] }, 'mtls.yml', dir);
  const cp = await ControlPlane.open(config);
  await cp.load();
  const app = await buildServer(cp);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  try {
    const token = createRegistrationToken(tokenPrivateKey(keys.privateKeyPem), 'acme');
    const certs: { cert: string; key: string }[] = [];
    for (const name of ['ce-1', 'ce-2']) {
      const { csrPem, privateKeyPkcs8 } = await createCsr(name);
      const reg = await cp.register(token, { csr: csrPem, facts: { machine_id: name } });
      await cp.approve(reg.registration_id, { site: name, group: 'stores' });
      const identity = cp.registrationFor(token, reg.registration_id).identity as { certificate: string };
      certs.push({ cert: identity.certificate, key: `-----BEGIN PRIVATE KEY-----\n${privateKeyPkcs8.toString('base64')}\n-----END PRIVATE KEY-----\n` });
    }
    const [c1, c2] = certs as [{ cert: string; key: string }, { cert: string; key: string }];
    // The tenant CA was made at the first approval, after the server started: it is trusted without a restart.
    assert.equal(await get(port, '/api/v1/sites/ce-1/desired', c1), 200);
    assert.equal(await get(port, '/api/v1/sites/ce-2/desired', c1), 403, 'another site');
    assert.equal(await get(port, '/api/v1/sites/ce-2/desired', c2), 200);
    assert.equal(await get(port, '/api/v1/sites/ce-1/desired'), 401, 'no certificate, no token');
    const foreign = await generateTenantCa('acme'); // same names, another CA
    assert.equal(await get(port, '/api/v1/sites/ce-1/desired', { cert: foreign.cert_pem, key: foreign.key_pem }), 401, 'a certificate from another CA');
    await cp.factoryReset('ce-2');
    assert.equal(await get(port, '/api/v1/sites/ce-2/desired', c2), 401, 'a reset site\'s certificate is refused');
  } finally {
    await app.close();
    await cp.close();
    await rm(dir, { recursive: true, force: true });
  }
});
