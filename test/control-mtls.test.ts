// With TLS configured, a site may authenticate with the client certificate the
// control plane issued it, instead of its token (the top README's contract §2): over a real
// TLS connection, its own resources are open, another site's are 403, and a
// reset site's old certificate, though still signed by the CA, is refused.
// A certificate that one tenant's CA signed for another tenant's site (its
// name, tenant and serial copied) is refused. The clients are node's https,
// curl (--cert/--key) and openssl s_client.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
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
  // The server's certificate, for 127.0.0.1, made by openssl: curl and s_client verify it.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '2', '-subj', '/CN=control.test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const repo = join(dir, 'model');
  initRepo(repo);
  commitModel(repo, exampleModelFiles({ tenants: ['acme', 'globex'] }), 'v1');
  const config = parseControlConfig({ store: 'state', artifacts: { dir: 'artifacts' }, git: { repo, cache_dir: 'git' }, keys: { token_private_key: 'token.key' }, tls: { cert: 'tls.crt', key: 'tls.key' }, operators: [{ name: 'o', token: 'operator-token-0123456789', role: 'operator' }] }, 'mtls.yml', dir);
  const cp = await ControlPlane.open(config);
  await cp.load();
  const app = await buildServer(cp);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  try {
    const key = tokenPrivateKey(keys.privateKeyPem);
    const certs = new Map<string, { cert: string; key: string }>();
    for (const [tenant, name] of [['acme', 'ce-1'], ['acme', 'ce-2'], ['globex', 'gx-1']] as const) {
      const token = createRegistrationToken(key, tenant);
      const { csrPem, privateKeyPkcs8 } = await createCsr(name);
      const reg = await cp.register(token, { csr: csrPem, facts: { machine_id: name } });
      await cp.approve(reg.registration_id, { site: name, group: 'stores' });
      const identity = cp.registrationFor(token, reg.registration_id).identity as { certificate: string };
      certs.set(name, { cert: identity.certificate, key: `-----BEGIN PRIVATE KEY-----\n${privateKeyPkcs8.toString('base64')}\n-----END PRIVATE KEY-----\n` });
    }
    const c1 = certs.get('ce-1') as { cert: string; key: string };
    const c2 = certs.get('ce-2') as { cert: string; key: string };
    const g1 = certs.get('gx-1') as { cert: string; key: string };
    // The tenant CAs were made at the first approvals, after the server started: they are trusted without a restart.
    assert.equal(await get(port, '/api/v1/sites/ce-1/desired', c1), 200);
    assert.equal(await get(port, '/api/v1/sites/ce-2/desired', c1), 403, 'another site');
    assert.equal(await get(port, '/api/v1/sites/ce-2/desired', c2), 200);
    assert.equal(await get(port, '/api/v1/sites/gx-1/desired', g1), 200, 'the other tenant\'s site, with its own certificate');
    assert.equal(await get(port, '/api/v1/sites/gx-1/desired', c1), 403, 'another tenant\'s site');
    assert.equal(await get(port, '/api/v1/sites/ce-1/desired'), 401, 'no certificate, no token');
    const foreign = await generateTenantCa('acme'); // same names, another CA
    assert.equal(await get(port, '/api/v1/sites/ce-1/desired', { cert: foreign.cert_pem, key: foreign.key_pem }), 401, 'a certificate from another CA');

    // acme's CA signs a certificate claiming globex's site: gx-1's name, tenant and serial. TLS accepts
    // the chain (acme's CA is trusted); the control plane must not.
    const acmeCa = cp.state.value<{ key_pem: string; cert_pem: string }>('ca/acme');
    assert.ok(acmeCa);
    await writeFile(join(dir, 'acme-ca.key'), acmeCa.key_pem);
    await writeFile(join(dir, 'acme-ca.crt'), acmeCa.cert_pem);
    await writeFile(join(dir, 'client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:gx-1\n');
    const serial = new X509Certificate(g1.cert).serialNumber;
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'forged.key'), '-out', join(dir, 'forged.csr'), '-subj', '/O=globex/CN=gx-1'], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', join(dir, 'forged.csr'), '-CA', join(dir, 'acme-ca.crt'), '-CAkey', join(dir, 'acme-ca.key'), '-set_serial', `0x${serial}`, '-days', '2', '-extfile', join(dir, 'client.ext'), '-out', join(dir, 'forged.crt')], { stdio: 'ignore' });
    const forged = { cert: await readFile(join(dir, 'forged.crt'), 'utf8'), key: await readFile(join(dir, 'forged.key'), 'utf8') };
    assert.equal(new X509Certificate(forged.cert).serialNumber, serial);
    assert.equal(await get(port, '/api/v1/sites/gx-1/desired', forged), 401, 'tenant acme\'s CA cannot make a certificate for tenant globex');

    // curl and openssl s_client, with the files a site would have.
    for (const [n, c] of [['ce-1', c1], ['gx-1', g1]] as const) {
      await writeFile(join(dir, `${n}.crt`), c.cert);
      await writeFile(join(dir, `${n}.key`), c.key);
    }
    const curl = (path: string, name?: string): Promise<string> => new Promise((resolve, reject) => {
      execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(dir, 'tls.crt'), ...(name ? ['--cert', join(dir, `${name}.crt`), '--key', join(dir, `${name}.key`)] : []), `https://127.0.0.1:${port}${path}`], (err, stdout, stderr) => (err ? reject(new Error(`curl: ${stderr}`)) : resolve(stdout)));
    });
    assert.equal(await curl('/api/v1/sites/ce-1/desired', 'ce-1'), '200');
    assert.equal(await curl('/api/v1/sites/ce-1/artifacts/' + (cp.siteDetail('ce-1').desired as { version: string }).version + '/manifests.yaml', 'ce-1'), '200', 'its artifact');
    assert.equal(await curl('/api/v1/sites/gx-1/desired', 'ce-1'), '403');
    assert.equal(await curl('/api/v1/sites/gx-1/desired', 'forged'), '401');
    assert.equal(await curl('/api/v1/sites/ce-1/desired'), '401');
    const sClient = (name: string, path: string): Promise<string> => new Promise((resolve, reject) => {
      const p = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', join(dir, 'tls.crt'), '-verify_return_error', '-verify_ip', '127.0.0.1', '-cert', join(dir, `${name}.crt`), '-key', join(dir, `${name}.key`), '-quiet'], { timeout: 15_000 }, (err, stdout, stderr) => (stdout.startsWith('HTTP/') ? resolve(stdout) : reject(new Error(`s_client: ${String(err)} ${stderr}`))));
      p.stdin?.end(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    assert.match(await sClient('gx-1', '/api/v1/sites/gx-1/desired'), /^HTTP\/1\.1 200 /);
    assert.match(await sClient('gx-1', '/api/v1/sites/ce-1/desired'), /^HTTP\/1\.1 403 /);
    assert.match(await sClient('forged', '/api/v1/sites/gx-1/desired'), /^HTTP\/1\.1 401 /);

    await cp.factoryReset('ce-2');
    assert.equal(await get(port, '/api/v1/sites/ce-2/desired', c2), 401, 'a reset site\'s certificate is refused');
  } finally {
    await app.close();
    await cp.close();
    await rm(dir, { recursive: true, force: true });
  }
});
