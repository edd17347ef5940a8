// The S3 artifact store, and the stand-in S3 server it is tested against
// (test/peers/s3.ts: no S3 server is installable from Debian here).
// 1. The stand-in speaks S3: Debian's s3cmd, an independent client with its own
//    SigV4 signer, makes a bucket, puts, lists (paged), gets and deletes; a
//    wrong secret is refused with 403 SignatureDoesNotMatch. The SDK pages
//    ListObjectsV2 with continuation tokens.
// 2. S3ArtifactStore against it: the `<prefix><tenant>/<site>/<version>/` layout,
//    checksums checked on read, each failure under its own error code,
//    credentials from the config, a file or the environment, a private CA.
// 3. With S3_URL (+ S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_BUCKET, S3_REGION?)
//    the store round-trips against that real S3.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer, request as httpRequest } from 'node:http';
import { ListObjectsV2Command, PutObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { ControlError, openArtifactStore, parseControlConfig } from '../control/index.js';
import { type S3Peer, startS3 } from './peers/s3.js';

let dir = '';
let peer: S3Peer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-control-s3-'));
  peer = await startS3({ region: 'eu-west-1' });
});

after(async () => {
  await peer?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** s3cmd (Debian package s3cmd) against the stand-in, path style, SigV4. */
async function s3cmd(args: string[], secret = peer.secretAccessKey): Promise<Run> {
  const cfg = join(dir, `s3cfg-${randomBytes(4).toString('hex')}`);
  await writeFile(cfg, [
    '[default]',
    `access_key = ${peer.accessKeyId}`,
    `secret_key = ${secret}`,
    `host_base = 127.0.0.1:${peer.port}`,
    `host_bucket = 127.0.0.1:${peer.port}`,
    'use_https = False',
    'signature_v2 = False',
    `bucket_location = ${peer.region}`,
    'max_retries = 1',
    '',
  ].join('\n'));
  return new Promise((resolve, reject) => {
    execFile('s3cmd', ['-c', cfg, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error('s3cmd is not installed (Debian package s3cmd): it is the independent S3 client this test needs'));
        return;
      }
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const ok = (r: Run): string => {
  assert.equal(r.code, 0, `s3cmd failed: ${r.stderr}`);
  return r.stdout;
};

describe('the stand-in S3 server, driven by s3cmd', () => {
  test('make a bucket, put, list, get, delete', async () => {
    ok(await s3cmd(['mb', 's3://cmd-bucket']));
    const file = join(dir, 'hello.yaml');
    const text = `kind: ConfigMap\ndata: {note: "grüße ${randomBytes(6).toString('hex')}"}\n`;
    await writeFile(file, text);
    ok(await s3cmd(['put', file, 's3://cmd-bucket/acme/ce-1/v1/manifests.yaml']));
    // Characters that the signature's canonical URI must encode.
    ok(await s3cmd(['put', file, 's3://cmd-bucket/odd/a key+plus&amp=ü.yaml']));
    const stored = peer.bucket('cmd-bucket')?.get('acme/ce-1/v1/manifests.yaml');
    assert.equal(stored?.body.toString('utf8'), text, 'the bytes s3cmd sent are stored');
    assert.ok(peer.bucket('cmd-bucket')?.has('odd/a key+plus&amp=ü.yaml'));
    const top = ok(await s3cmd(['ls', 's3://cmd-bucket/']));
    assert.match(top, /DIR\s+s3:\/\/cmd-bucket\/acme\//);
    assert.match(top, /DIR\s+s3:\/\/cmd-bucket\/odd\//);
    const all = ok(await s3cmd(['ls', '-r', 's3://cmd-bucket']));
    assert.match(all, /\s\d+\s+s3:\/\/cmd-bucket\/odd\/a key\+plus&amp=ü\.yaml/);
    const out = join(dir, 'got.yaml');
    ok(await s3cmd(['get', '--force', 's3://cmd-bucket/acme/ce-1/v1/manifests.yaml', out]));
    assert.equal(await readFile(out, 'utf8'), text);
    ok(await s3cmd(['del', 's3://cmd-bucket/acme/ce-1/v1/manifests.yaml']));
    assert.equal(peer.bucket('cmd-bucket')?.has('acme/ce-1/v1/manifests.yaml'), false);
    const missing = await s3cmd(['get', '--force', 's3://cmd-bucket/acme/ce-1/v1/manifests.yaml', out]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /404|NoSuchKey|does not exist/i);
    const ops = new Set(peer.requests.map((r) => r.op));
    for (const op of ['CreateBucket', 'PutObject', 'ListObjects', 'GetObject', 'DeleteObject']) assert.ok(ops.has(op), `s3cmd used ${op}`);
  });

  test('a listing of 1,205 objects is paged; a recursive delete uses DeleteObjects', async () => {
    ok(await s3cmd(['mb', 's3://paged']));
    const b = peer.bucket('paged') as Map<string, never>;
    // Put behind the API (1,205 puts through s3cmd would take minutes), listed through it.
    const file = join(dir, 'p.txt');
    await writeFile(file, 'p');
    ok(await s3cmd(['put', file, 's3://paged/k/seed']));
    const seed = b.get('k/seed' as never) as never;
    for (let i = 0; i < 1204; i++) b.set(`k/${String(i).padStart(5, '0')}` as never, seed);
    const before = peer.requests.length;
    const lines = ok(await s3cmd(['ls', '-r', 's3://paged'])).trim().split('\n');
    assert.equal(lines.length, 1205);
    const lists = peer.requests.slice(before).filter((r) => r.op === 'ListObjects');
    assert.ok(lists.length >= 2, `the listing was paged (${lists.length} requests)`);
    const del = ok(await s3cmd(['del', '--recursive', '--force', 's3://paged/k/']));
    assert.match(del, /delete: 's3:\/\/paged\/k\/00000'/);
    assert.equal(b.size, 0);
    assert.ok(peer.requests.some((r) => r.op === 'DeleteObjects' && r.status === 200), 's3cmd deleted in batches (POST ?delete)');
  });

  test('a wrong secret is refused: 403 SignatureDoesNotMatch, nothing stored', async () => {
    const file = join(dir, 'x.txt');
    await writeFile(file, 'x');
    const r = await s3cmd(['put', file, 's3://cmd-bucket/forged.txt'], `${peer.secretAccessKey}x`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /SignatureDoesNotMatch/);
    assert.equal(peer.bucket('cmd-bucket')?.has('forged.txt'), false);
    const last = peer.requests[peer.requests.length - 1];
    assert.equal(last?.status, 403);
    assert.equal(last?.code, 'SignatureDoesNotMatch');
  });

  test('unsigned and tampered requests; the XML error document', async () => {
    const res = await fetch(`${peer.url}/cmd-bucket/odd`);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /^<\?xml[^>]*>\s*<Error><Code>AccessDenied<\/Code><Message>[^<]+<\/Message>/);
    // The SDK signs; a proxy changes the request on its way: the body, then a signed header.
    const tamper = { body: false, header: false };
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        const headers = { ...req.headers };
        if (tamper.body && body.length > 0) body = Buffer.from(body.toString().replace('good', 'evil'));
        if (tamper.header) headers['x-amz-meta-owner'] = 'mallory';
        const up = httpRequest(`${peer.url}${req.url ?? '/'}`, { method: req.method, headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.end(body);
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const client = new S3Client({ endpoint: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`, region: peer.region, forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey } });
    try {
      const put = (Key: string) => client.send(new PutObjectCommand({ Bucket: 'cmd-bucket', Key, Body: 'good bytes', Metadata: { owner: 'ops' } }));
      await put('through-proxy');
      assert.equal(peer.bucket('cmd-bucket')?.get('through-proxy')?.metadata.owner, 'ops', 'untouched, the signed request is accepted');
      tamper.body = true;
      await assert.rejects(put('tampered-body'), (e: Error) => e.name === 'XAmzContentSHA256Mismatch');
      tamper.body = false;
      tamper.header = true;
      await assert.rejects(put('tampered-header'), (e: Error) => e.name === 'SignatureDoesNotMatch');
      assert.equal(peer.bucket('cmd-bucket')?.has('tampered-body'), false);
      assert.equal(peer.bucket('cmd-bucket')?.has('tampered-header'), false);
    } finally {
      client.destroy();
      proxy.close();
    }
  });
});

describe('the stand-in S3 server, driven by the AWS SDK', () => {
  test('ListObjectsV2 with continuation tokens, prefixes and delimiters', async () => {
    peer.createBucket('v2-bucket');
    const client = new S3Client({ endpoint: peer.url, region: peer.region, forcePathStyle: true, credentials: { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey } });
    try {
      const b = peer.bucket('v2-bucket') as Map<string, never>;
      const seed = { body: Buffer.from('x'), etag: '9dd4e461268c8034f5c8564e155c67a6', lastModified: new Date(), contentType: 'text/plain', metadata: {}, checksums: {} } as never;
      const keys: string[] = [];
      for (const t of ['acme', 'globex']) for (let s = 0; s < 6; s++) for (const v of ['g1', 'g2']) keys.push(`${t}/ce-${s}/${v}/manifests.yaml`);
      for (const k of keys) b.set(k as never, seed);
      const seen: string[] = [];
      let pages = 0;
      for await (const page of paginateListObjectsV2({ client, pageSize: 5 }, { Bucket: 'v2-bucket', Prefix: 'acme/' })) {
        pages++;
        assert.ok((page.KeyCount ?? 0) <= 5);
        for (const c of page.Contents ?? []) seen.push(c.Key as string);
      }
      assert.deepEqual(seen, keys.filter((k) => k.startsWith('acme/')).sort());
      assert.equal(pages, 3, '12 keys under acme/, 5 a page');
      // With a delimiter, a page of common prefixes continues past every key under the last one.
      const p1 = await client.send(new ListObjectsV2Command({ Bucket: 'v2-bucket', Prefix: 'acme/', Delimiter: '/', MaxKeys: 4 }));
      assert.deepEqual(p1.CommonPrefixes?.map((c) => c.Prefix), ['acme/ce-0/', 'acme/ce-1/', 'acme/ce-2/', 'acme/ce-3/']);
      assert.equal(p1.IsTruncated, true);
      const p2 = await client.send(new ListObjectsV2Command({ Bucket: 'v2-bucket', Prefix: 'acme/', Delimiter: '/', MaxKeys: 4, ContinuationToken: p1.NextContinuationToken }));
      assert.deepEqual(p2.CommonPrefixes?.map((c) => c.Prefix), ['acme/ce-4/', 'acme/ce-5/']);
      assert.equal(p2.IsTruncated, false);
      const sa = await client.send(new ListObjectsV2Command({ Bucket: 'v2-bucket', StartAfter: 'globex/ce-5/g1/manifests.yaml' }));
      assert.deepEqual(sa.Contents?.map((c) => c.Key), ['globex/ce-5/g2/manifests.yaml']);
      await assert.rejects(client.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' })), (e: Error) => e.name === 'NoSuchBucket');
    } finally {
      client.destroy();
    }
  });
});

/** The `artifacts:` section of a control config, through the real config parser. */
function artifactsConfig(s3: Record<string, unknown>): ReturnType<typeof parseControlConfig>['artifacts'] {
  return parseControlConfig({ artifacts: { s3 }, keys: { token_private_key: 'k' }, operators: [{ name: 'o', token: 'operator-token-0123456789', role: 'operator' }] }, 'control.yml', dir).artifacts;
}

const expectCode = (code: string) => (e: unknown): boolean => {
  assert.ok(e instanceof ControlError, String(e));
  assert.equal(e.code, code, e.message);
  return true;
};

describe('S3ArtifactStore', () => {
  const creds = () => ({ endpoint: peer.url, region: peer.region, bucket: 'artifacts', access_key_id: peer.accessKeyId, secret_access_key: peer.secretAccessKey });

  test('the <prefix><tenant>/<site>/<version>/manifests.yaml layout; checksums checked on read', async () => {
    peer.createBucket('artifacts');
    const store = await openArtifactStore(artifactsConfig({ ...creds(), prefix: 'fleet/re1/' }));
    try {
      const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {x: "${randomBytes(8).toString('hex')} ✓"}\n`;
      await store.put('acme/ce-1/g1/manifests.yaml', text, true);
      await store.flush();
      const o = peer.bucket('artifacts')?.get('fleet/re1/acme/ce-1/g1/manifests.yaml');
      assert.equal(o?.body.toString('utf8'), text);
      assert.equal(o?.contentType, 'application/yaml');
      assert.match(o?.metadata['fleetscope-sha256'] ?? '', /^[0-9a-f]{64}$/);
      assert.equal(await store.get('acme/ce-1/g1/manifests.yaml'), text);
      assert.equal(await store.get('acme/ce-1/g2/manifests.yaml'), null, 'a missing object is null (NoSuchKey)');
      // Bytes changed behind the API: refused, not served.
      (o as { body: Buffer }).body = Buffer.from(text.replace('ConfigMap', 'Secret'));
      await assert.rejects(store.get('acme/ce-1/g1/manifests.yaml'), expectCode('FS_CONTROL_ARTIFACTS_CHECKSUM'));
    } finally {
      await store.close();
    }
  });

  test('an object not written by fleetscope (no sha256 metadata) is refused', async () => {
    const file = join(dir, 'plain.yaml');
    await writeFile(file, 'kind: ConfigMap\n');
    ok(await s3cmd(['put', file, 's3://artifacts/acme/ce-9/g1/manifests.yaml']));
    const store = await openArtifactStore(artifactsConfig(creds()));
    try {
      await assert.rejects(store.get('acme/ce-9/g1/manifests.yaml'), expectCode('FS_CONTROL_ARTIFACTS_CHECKSUM'));
      // And what fleetscope writes, s3cmd reads back byte for byte.
      await store.put('acme/ce-9/g2/manifests.yaml', 'kind: Namespace\n');
      const out = join(dir, 'back.yaml');
      ok(await s3cmd(['get', '--force', 's3://artifacts/acme/ce-9/g2/manifests.yaml', out]));
      assert.equal(await readFile(out, 'utf8'), 'kind: Namespace\n');
    } finally {
      await store.close();
    }
  });

  test('failures have their own codes: bucket missing, access denied, endpoint unreachable', async () => {
    await assert.rejects(openArtifactStore(artifactsConfig({ ...creds(), bucket: 'not-there' })), (e: unknown) => expectCode('FS_CONTROL_ARTIFACTS_BUCKET_MISSING')(e) && /not-there/.test((e as Error).message));
    await assert.rejects(openArtifactStore(artifactsConfig({ ...creds(), secret_access_key: 'wrong-secret' })), expectCode('FS_CONTROL_ARTIFACTS_ACCESS_DENIED'));
    await assert.rejects(openArtifactStore(artifactsConfig({ ...creds(), access_key_id: 'AKIANOSUCHKEY0000000' })), expectCode('FS_CONTROL_ARTIFACTS_ACCESS_DENIED'));
    // A store that worked, then a wrong key on a read, is refused the same way (403 with an XML body this time).
    const wrong = await openArtifactStore(artifactsConfig({ ...creds(), secret_access_key: 'wrong-secret' }), { check: false });
    await assert.rejects(wrong.get('acme/ce-1/g1/manifests.yaml'), (e: unknown) => expectCode('FS_CONTROL_ARTIFACTS_ACCESS_DENIED')(e) && /SignatureDoesNotMatch/.test((e as Error).message));
    await wrong.close();
    const closed = await startS3();
    await closed.stop();
    const t0 = Date.now();
    await assert.rejects(openArtifactStore(artifactsConfig({ ...creds(), endpoint: closed.url, max_attempts: 1 })), (e: unknown) => expectCode('FS_CONTROL_ARTIFACTS_UNREACHABLE')(e) && /ECONNREFUSED/.test((e as Error).message));
    assert.ok(Date.now() - t0 < 5000);
    assert.throws(() => artifactsConfig({ ...creds(), secret_access_key: undefined }), /artifacts\.s3: give both access_key_id and secret_access_key/);
    assert.throws(() => artifactsConfig({ ...creds(), bucket: 'Bad_Bucket' }), /artifacts\.s3\.bucket/);
    assert.throws(() => artifactsConfig({ ...creds(), prefix: '/abs/' }), /artifacts\.s3\.prefix/);
  });

  test('credentials from a shared credentials file, then from the environment', async () => {
    const file = join(dir, 'credentials');
    await writeFile(file, `[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n[fleet]\naws_access_key_id = ${peer.accessKeyId}\naws_secret_access_key = ${peer.secretAccessKey}\n`);
    const base = { endpoint: peer.url, region: peer.region, bucket: 'artifacts' };
    let store = await openArtifactStore(artifactsConfig({ ...base, credentials_file: 'credentials', profile: 'fleet' }));
    await store.put('acme/ce-2/g1/manifests.yaml', 'a: 1\n');
    await store.close();
    await assert.rejects(openArtifactStore(artifactsConfig({ ...base, credentials_file: 'credentials' })), expectCode('FS_CONTROL_ARTIFACTS_ACCESS_DENIED'));
    await assert.rejects(openArtifactStore(artifactsConfig({ ...base, credentials_file: 'credentials', profile: 'absent' })), (e: unknown) => expectCode('FS_CONTROL_INVALID_CONFIG')(e) && /\[absent\]/.test((e as Error).message));
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    try {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      await assert.rejects(openArtifactStore(artifactsConfig(base)), (e: unknown) => expectCode('FS_CONTROL_INVALID_CONFIG')(e) && /no S3 credentials/.test((e as Error).message));
      process.env.AWS_ACCESS_KEY_ID = peer.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = peer.secretAccessKey;
      store = await openArtifactStore(artifactsConfig(base));
      assert.equal(await store.get('acme/ce-2/g1/manifests.yaml'), 'a: 1\n');
      await store.close();
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });

  test('an https endpoint with a private CA: trusted with ca_file, refused without', async () => {
    const key = join(dir, 's3.key');
    const cert = join(dir, 's3.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=fleetscope test S3', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tls = await startS3({ tls: { cert: await readFile(cert, 'utf8'), key: await readFile(key, 'utf8') } });
    try {
      tls.createBucket('secure');
      const base = { endpoint: tls.url, bucket: 'secure', access_key_id: tls.accessKeyId, secret_access_key: tls.secretAccessKey, max_attempts: 1 };
      const store = await openArtifactStore(artifactsConfig({ ...base, ca_file: 's3.crt' }));
      await store.put('acme/ce-3/g1/manifests.yaml', 'tls: true\n');
      assert.equal(await store.get('acme/ce-3/g1/manifests.yaml'), 'tls: true\n');
      await store.close();
      await assert.rejects(openArtifactStore(artifactsConfig(base)), (e: unknown) => expectCode('FS_CONTROL_ARTIFACTS_UNREACHABLE')(e) && /TLS: .*ca_file/.test((e as Error).message));
    } finally {
      await tls.stop();
    }
  });

  test('the AWS SDK is loaded only when artifacts.s3 is configured', async () => {
    const probe = join(dir, 'probe.mjs');
    const index = new URL('../control/index.js', import.meta.url).href;
    await writeFile(probe, `import { createRequire } from 'node:module';
const { openArtifactStore, parseControlConfig } = await import(${JSON.stringify(index)});
const cfg = (a) => parseControlConfig({ artifacts: a, keys: { token_private_key: 'k' }, operators: [{ name: 'o', token: 'operator-token-0123456789', role: 'operator' }] }, 'c.yml', ${JSON.stringify(dir)}).artifacts;
const sdk = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('@aws-sdk'));
const d = await openArtifactStore(cfg({ dir: 'probe-artifacts' }));
const before = sdk();
await d.close();
const s = await openArtifactStore(cfg({ s3: { endpoint: process.argv[2], region: process.argv[3], bucket: 'artifacts', access_key_id: process.argv[4], secret_access_key: process.argv[5] } }));
await s.close();
console.log(JSON.stringify({ before, after: sdk() }));
`);
    const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, [probe, peer.url, peer.region, peer.accessKeyId, peer.secretAccessKey], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))));
    assert.deepEqual(JSON.parse(out), { before: false, after: true });
  });
});

test('fleetscope control with artifacts.s3, through the binary: a missing bucket stops the start, an existing one serves', { timeout: 60_000 }, async () => {
  const bin = new URL('../../bin/fleetscope.js', import.meta.url).pathname;
  const { generateTokenKeys } = await import('../wire/index.js');
  const { freePort } = await import('./peers/prometheus.js');
  await writeFile(join(dir, 'token.key'), generateTokenKeys().privateKeyPem);
  const config = (bucket: string, state: string) => [
    `store: ${state}`,
    'keys: {token_private_key: token.key}',
    'operators: [{name: o, token: operator-token-0123456789, role: operator}]',
    `artifacts: {s3: {endpoint: "${peer.url}", region: ${peer.region}, bucket: ${bucket}, credentials_file: cli-credentials}}`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'cli-credentials'), `[default]\naws_access_key_id = ${peer.accessKeyId}\naws_secret_access_key = ${peer.secretAccessKey}\n`);
  await writeFile(join(dir, 'missing.yml'), config('missing-bucket', 'cli-state-1'));
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => execFile(process.execPath, [bin, 'control', '--config', 'missing.yml', '--listen', '127.0.0.1:0'], { cwd: dir, timeout: 30_000 }, (err, _o, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr })));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /FS_CONTROL_ARTIFACTS_BUCKET_MISSING: artifact store: S3 bucket missing-bucket does not exist/);
  peer.createBucket('cli-bucket');
  await writeFile(join(dir, 'ok.yml'), config('cli-bucket', 'cli-state-2'));
  const port = await freePort();
  const { spawn } = await import('node:child_process');
  const proc = spawn(process.execPath, [bin, 'control', '--config', 'ok.yml', '--listen', `127.0.0.1:${port}`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', res));
  try {
    const end = Date.now() + 20_000;
    while (!err.includes('listening on')) {
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`did not start: ${err}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    const health = await fetch(`http://127.0.0.1:${port}/-/healthy`);
    assert.equal(health.status, 200);
    assert.ok(peer.requests.some((q) => q.op === 'HeadBucket' && q.bucket === 'cli-bucket' && q.status === 200), 'the bucket was checked at start');
  } finally {
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  }
});

// A real S3 (AWS or any S3-compatible service), when one is named.
const real = process.env.S3_URL;
test('S3ArtifactStore against the real S3 at S3_URL', { skip: real === undefined ? 'S3_URL is not set (and S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_BUCKET)' : false }, async () => {
  const bucket = process.env.S3_BUCKET;
  const id = process.env.S3_ACCESS_KEY_ID;
  const secret = process.env.S3_SECRET_ACCESS_KEY;
  assert.ok(bucket && id && secret, 'S3_URL needs S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY');
  const region = process.env.S3_REGION ?? 'us-east-1';
  const aws = /amazonaws\.com/.test(real as string);
  const prefix = `fleetscope-test/${randomBytes(6).toString('hex')}/`;
  const cfg = artifactsConfig({ ...(aws ? {} : { endpoint: real }), region, bucket, prefix, access_key_id: id, secret_access_key: secret, ...(process.env.S3_CA_FILE ? { ca_file: process.env.S3_CA_FILE } : {}) });
  const store = await openArtifactStore(cfg);
  const client = new S3Client({ region, ...(aws ? {} : { endpoint: real, forcePathStyle: true }), credentials: { accessKeyId: id, secretAccessKey: secret } });
  try {
    const text = `kind: ConfigMap\ndata: {n: "${randomBytes(8).toString('hex')}"}\n`;
    await store.put('acme/ce-1/g1/manifests.yaml', text);
    assert.equal(await store.get('acme/ce-1/g1/manifests.yaml'), text);
    assert.equal(await store.get('acme/ce-1/g2/manifests.yaml'), null);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    assert.deepEqual(listed.Contents?.map((c) => c.Key), [`${prefix}acme/ce-1/g1/manifests.yaml`]);
    await assert.rejects(openArtifactStore(artifactsConfig({ ...(aws ? {} : { endpoint: real }), region, bucket, access_key_id: id, secret_access_key: `${secret}x` })), expectCode('FS_CONTROL_ARTIFACTS_ACCESS_DENIED'));
  } finally {
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${prefix}acme/ce-1/g1/manifests.yaml` })).catch(() => undefined);
    client.destroy();
    await store.close();
  }
});
