// The site identity the control plane issues on approval, kept under the
// state directory (0700) in files of mode 0600: identity.json (site token,
// site, endpoints), key.pem (the private key generated here, never sent),
// cert.pem and ca.pem. A factory reset wipes them; the agent then registers
// again.
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError } from './errors.js';

export interface SiteInfo {
  readonly tenant: string;
  readonly site: string;
  readonly group?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface SiteEndpoints {
  readonly remote_write_url?: string;
  readonly logs_forward?: string;
  readonly logs_http_url?: string;
  readonly control_url?: string;
}

export interface SiteIdentity {
  readonly registration_id: string;
  readonly site: SiteInfo;
  readonly site_token: string;
  readonly endpoints: SiteEndpoints;
  /** The control plane this identity came from (for calls when endpoints.control_url is absent). */
  readonly control_url: string;
  readonly registered_at: string;
}

export const IDENTITY_FILES = ['identity.json', 'key.pem', 'cert.pem', 'ca.pem', 'pending.json'] as const;

/** Creates the state directory with mode 0700 (and tightens an existing one). */
export async function ensureStateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  } catch (err) {
    throw new AgentError('FS_AGENT_STATE_IO', [dir, (err as Error).message], { cause: err });
  }
}

/** Writes a file of mode 0600 atomically (temp file, then rename). */
export async function writePrivateFile(dir: string, name: string, data: string): Promise<void> {
  const tmp = join(dir, `.${name}.tmp`);
  try {
    await writeFile(tmp, data, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, join(dir, name));
  } catch (err) {
    throw new AgentError('FS_AGENT_STATE_IO', [dir, `${name}: ${(err as Error).message}`], { cause: err });
  }
}

export async function loadIdentity(dir: string): Promise<SiteIdentity | null> {
  let text: string;
  try {
    text = await readFile(join(dir, 'identity.json'), 'utf8');
  } catch {
    return null;
  }
  try {
    const id = JSON.parse(text) as SiteIdentity;
    if (typeof id.site_token !== 'string' || typeof id.site?.site !== 'string') return null;
    return id;
  } catch {
    return null;
  }
}

export async function saveIdentity(dir: string, id: SiteIdentity, certificate: string | undefined, ca: string | undefined): Promise<void> {
  if (certificate !== undefined) await writePrivateFile(dir, 'cert.pem', certificate);
  if (ca !== undefined) await writePrivateFile(dir, 'ca.pem', ca);
  await writePrivateFile(dir, 'identity.json', `${JSON.stringify(id, null, 2)}\n`);
}

/** Forgets the identity (factory reset): the next start, or the running daemon, registers again. */
export async function wipeIdentity(dir: string): Promise<void> {
  for (const f of IDENTITY_FILES) await rm(join(dir, f), { force: true });
}
