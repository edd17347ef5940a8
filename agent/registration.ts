// Zero-touch registration (the top README's contract §2): find a registration token,
// generate a key pair and a CSR here (ECDSA P-256 through node's webcrypto;
// the private key never leaves the site), POST /api/v1/register, poll
// GET /api/v1/registrations/{id} until approved or rejected, and store what
// approval gives under the state directory.
//
// A pending registration survives a restart: its id and key are kept
// (pending.json, key.pem), and the same token and machine_id return the
// same registration anyway (the contract makes register idempotent).
import { webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import './reflect-metadata.js';
import * as x509 from '@peculiar/x509';
import yaml from 'js-yaml';
import { TOKEN_PREFIX } from '../wire/index.js';
import { controlRequest } from './control-client.js';
import type { HttpResponse } from './http.js';
import type { TlsClient } from './tls.js';
import { AgentError } from './errors.js';
import { type SiteEndpoints, type SiteIdentity, type SiteInfo, ensureStateDir, saveIdentity, writePrivateFile } from './identity.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const TOKEN_RE = new RegExp(`${TOKEN_PREFIX}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+`);
/** Largest JSON answer read from the control plane. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface TokenSources {
  readonly tokenFile?: string | undefined;
  readonly tokenEnv: string;
  readonly cloudInitUserData: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The registration token, looked for in order: the token file, the
 * environment variable, then cloud-init user data. User data may be a
 * #cloud-config YAML document with `fleetscope: {registration_token: ...}`
 * (or a top-level `fleetscope_registration_token`), or any text holding
 * `FLEETSCOPE_REGISTRATION_TOKEN=<token>` or a bare fst1 token.
 */
export async function findRegistrationToken(src: TokenSources): Promise<{ token: string; from: string } | null> {
  if (src.tokenFile !== undefined) {
    try {
      const t = (await readFile(src.tokenFile, 'utf8')).trim();
      if (t !== '') return { token: t, from: src.tokenFile };
    } catch {
      // not there: try the next source
    }
  }
  const env = (src.env ?? process.env)[src.tokenEnv]?.trim();
  if (env) return { token: env, from: `$${src.tokenEnv}` };
  let text: string;
  try {
    text = await readFile(src.cloudInitUserData, 'utf8');
  } catch {
    return null;
  }
  try {
    const doc = yaml.load(text) as Record<string, unknown> | null;
    if (doc !== null && typeof doc === 'object') {
      const nested = (doc.fleetscope as Record<string, unknown> | undefined)?.registration_token;
      const flat = doc.fleetscope_registration_token;
      const t = typeof nested === 'string' ? nested : typeof flat === 'string' ? flat : undefined;
      if (t !== undefined && t.trim() !== '') return { token: t.trim(), from: src.cloudInitUserData };
    }
  } catch {
    // not YAML (a shell script, MIME multipart): search the text
  }
  const kv = /FLEETSCOPE_REGISTRATION_TOKEN=["']?([^\s"']+)/.exec(text);
  if (kv?.[1]) return { token: kv[1], from: src.cloudInitUserData };
  const bare = TOKEN_RE.exec(text);
  return bare ? { token: bare[0], from: src.cloudInitUserData } : null;
}

export interface RegistrationOptions extends TokenSources {
  readonly controlUrl: string;
  readonly stateDir: string;
  readonly facts: Readonly<Record<string, string>>;
  readonly machineIdFile: string;
  readonly pollIntervalMs: number;
  readonly signal?: AbortSignal;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** CA (and, later, the site's certificate) for an https:// control plane. */
  readonly tls?: TlsClient | undefined;
}

interface RegistrationAnswer {
  state?: string;
  registration_id?: string;
  poll_after_s?: number;
  reason?: string;
  site?: SiteInfo;
  identity?: { site_token?: string; certificate?: string; ca?: string };
  endpoints?: SiteEndpoints;
  code?: string;
  message?: string;
}

async function pem(key: webcrypto.CryptoKey, kind: 'PRIVATE KEY'): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN ${kind}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${kind}-----\n`;
}

/** A new ECDSA P-256 key pair and a PKCS#10 CSR for `commonName`, both PEM. */
export async function generateCsr(commonName: string): Promise<{ csr: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cn = commonName.replace(/[,+="\\<>;#]/g, '_') || 'fleetscope-site';
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${cn}`, keys: keys as unknown as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'], signingAlgorithm: ALG });
  return { csr: csr.toString('pem'), keyPem: await pem(keys.privateKey, 'PRIVATE KEY') };
}

async function readJson(res: HttpResponse): Promise<RegistrationAnswer> {
  const text = res.text();
  try {
    return text === '' ? {} : (JSON.parse(text) as RegistrationAnswer);
  } catch {
    throw new Error(`HTTP ${res.status}: not JSON: ${text.slice(0, 200)}`);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function machineId(file: string): Promise<string> {
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (id !== '') return id;
  } catch {
    // fall through
  }
  return hostname();
}

/**
 * Registers and waits for approval; resolves with the stored identity.
 * Network errors and 5xx are retried (a control plane outage is normal at
 * the edge); a rejection, or a 4xx to the token, fails with an AgentError.
 */
export async function register(opts: RegistrationOptions): Promise<SiteIdentity> {
  const log = opts.log ?? (() => undefined);
  const base = opts.controlUrl.replace(/\/+$/, '');
  const found = await findRegistrationToken(opts);
  if (found === null) {
    throw new AgentError('FS_AGENT_NO_REGISTRATION_TOKEN', [[opts.tokenFile, `$${opts.tokenEnv}`, opts.cloudInitUserData].filter(Boolean).join(', ')]);
  }
  await ensureStateDir(opts.stateDir);
  const auth = { Authorization: `Bearer ${found.token}` };
  // Resume a pending registration, or start one with a fresh key.
  let pending: { registration_id: string; control_url: string } | null = null;
  try {
    pending = JSON.parse(await readFile(join(opts.stateDir, 'pending.json'), 'utf8')) as { registration_id: string; control_url: string };
    await readFile(join(opts.stateDir, 'key.pem'));
    if (pending.control_url !== base) pending = null;
  } catch {
    pending = null;
  }
  let id = pending?.registration_id;
  let pollMs = opts.pollIntervalMs;
  let failures = 0;
  const retry = async (why: string): Promise<void> => {
    failures++;
    const wait = Math.min(60_000, opts.pollIntervalMs * 2 ** Math.min(failures - 1, 6)) * (0.5 + Math.random() / 2);
    log('warn', `registration: ${why}; retrying in ${Math.round(wait / 1000)} s`);
    await sleep(wait, opts.signal);
  };
  for (;;) {
    if (id === undefined) {
      const host = hostname();
      const { csr, keyPem } = await generateCsr(host);
      const facts = { ...opts.facts, hostname: host, machine_id: await machineId(opts.machineIdFile) };
      let res: HttpResponse;
      try {
        res = await controlRequest(opts.tls, `${base}/api/v1/register`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ csr, facts }), timeoutMs: 30_000, maxBytes: MAX_RESPONSE_BYTES, ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        await retry(`POST /api/v1/register: ${(err as Error).message}`);
        continue;
      }
      const body = await readJson(res).catch((err: Error) => ({ message: err.message }) as RegistrationAnswer);
      if (res.status >= 500 || res.status === 429) {
        await retry(`POST /api/v1/register: HTTP ${res.status} ${body.message ?? ''}`);
        continue;
      }
      if (res.status !== 202 && res.status !== 200) {
        throw new AgentError('FS_AGENT_REGISTRATION_FAILED', [base, `POST /api/v1/register answered ${res.status}: ${body.code ?? ''} ${body.message ?? ''}`.trim()]);
      }
      if (typeof body.registration_id !== 'string' || body.registration_id === '') throw new AgentError('FS_AGENT_REGISTRATION_FAILED', [base, 'the answer has no registration_id']);
      id = body.registration_id;
      await writePrivateFile(opts.stateDir, 'key.pem', keyPem);
      await writePrivateFile(opts.stateDir, 'pending.json', `${JSON.stringify({ registration_id: id, control_url: base })}\n`);
      log('info', `registration ${id}: pending approval (token from ${found.from})`);
      if (typeof body.poll_after_s === 'number' && body.poll_after_s > 0) pollMs = Math.min(body.poll_after_s * 1000, 600_000);
      failures = 0;
      await sleep(pollMs, opts.signal);
      continue;
    }
    let res: HttpResponse;
    try {
      res = await controlRequest(opts.tls, `${base}/api/v1/registrations/${encodeURIComponent(id)}`, { headers: auth, timeoutMs: 30_000, maxBytes: MAX_RESPONSE_BYTES, ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      await retry(`GET /api/v1/registrations/${id}: ${(err as Error).message}`);
      continue;
    }
    const body = await readJson(res).catch((err: Error) => ({ message: err.message }) as RegistrationAnswer);
    if (res.status >= 500 || res.status === 429) {
      await retry(`GET /api/v1/registrations/${id}: HTTP ${res.status}`);
      continue;
    }
    if (res.status === 404) {
      // The control plane forgot it (its state was reset): start over.
      log('warn', `registration ${id} is unknown to the control plane; registering again`);
      id = undefined;
      continue;
    }
    if (res.status !== 200) throw new AgentError('FS_AGENT_REGISTRATION_FAILED', [base, `GET /api/v1/registrations/${id} answered ${res.status}: ${body.code ?? ''} ${body.message ?? ''}`.trim()]);
    failures = 0;
    if (body.state === 'pending') {
      if (typeof body.poll_after_s === 'number' && body.poll_after_s > 0) pollMs = Math.min(body.poll_after_s * 1000, 600_000);
      await sleep(pollMs, opts.signal);
      continue;
    }
    if (body.state === 'rejected') throw new AgentError('FS_AGENT_REGISTRATION_REJECTED', [id, body.reason ?? 'no reason given']);
    if (body.state !== 'approved') throw new AgentError('FS_AGENT_REGISTRATION_FAILED', [base, `unknown registration state ${JSON.stringify(body.state)}`]);
    const token = body.identity?.site_token;
    if (typeof token !== 'string' || token === '' || body.site === undefined || typeof body.site.site !== 'string') {
      throw new AgentError('FS_AGENT_REGISTRATION_FAILED', [base, 'approved, but the answer lacks identity.site_token or site']);
    }
    const identity: SiteIdentity = {
      registration_id: id,
      site: body.site,
      site_token: token,
      endpoints: body.endpoints ?? {},
      control_url: (body.endpoints?.control_url ?? base).replace(/\/+$/, ''),
      registered_at: new Date().toISOString(),
    };
    await saveIdentity(opts.stateDir, identity, body.identity?.certificate, body.identity?.ca);
    await writePrivateFile(opts.stateDir, 'pending.json', '{}\n');
    log('info', `registration ${id}: approved as site ${identity.site.site} of tenant ${identity.site.tenant}`);
    return identity;
  }
}
