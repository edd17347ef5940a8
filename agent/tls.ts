// TLS towards the collector and the control plane: the server is verified
// against `ca_file` (the system CAs without one), and the agent presents a
// client certificate: `cert_file`/`key_file` when configured, otherwise the
// one the control plane issued the site at approval (<state_dir>/cert.pem
// with the key generated here, <state_dir>/key.pem) once it exists. Files
// are read again when they change (an issue after registration, a
// renewal), so a running agent picks a new certificate up without a
// restart. TLS failures are explained in words an operator can act on
// ("not signed by the CA in …", "refused our client certificate"), never
// as a bare OpenSSL code.
import { readFileSync, statSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';

export interface TlsSettings {
  readonly ca_file?: string | undefined;
  readonly cert_file?: string | undefined;
  readonly key_file?: string | undefined;
  readonly server_name?: string | undefined;
  readonly insecure_skip_verify?: boolean | undefined;
}

/** A client certificate's files; `optional` ones are used only once both exist (the site's, before approval). */
interface CertFiles {
  readonly cert: string;
  readonly key: string;
  readonly optional: boolean;
}

const VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED',
]);
const CLIENT_CERT_REFUSED = /ALERT_BAD_CERTIFICATE|ALERT_CERTIFICATE_REQUIRED|ALERT_UNKNOWN_CA|ALERT_CERTIFICATE_UNKNOWN|ALERT_ACCESS_DENIED|ALERT_HANDSHAKE_FAILURE|alert bad certificate|alert certificate required|alert unknown ca/i;

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

export class TlsClient {
  private cached: { agent: HttpsAgent; stamp: string } | null = null;
  private readonly certFiles: CertFiles | null;

  /**
   * `what` names the config section in messages (remote_write.tls);
   * `siteCertDir` is the state directory when the site's issued certificate
   * should be presented (registration configured, no cert_file given).
   */
  constructor(readonly what: string, readonly settings: TlsSettings, siteCertDir: string | undefined) {
    if (settings.cert_file !== undefined && settings.key_file !== undefined) this.certFiles = { cert: settings.cert_file, key: settings.key_file, optional: false };
    else if (siteCertDir !== undefined) this.certFiles = { cert: join(siteCertDir, 'cert.pem'), key: join(siteCertDir, 'key.pem'), optional: true };
    else this.certFiles = null;
  }

  /** The client certificate file presented now, or undefined. */
  presenting(): string | undefined {
    const c = this.certFiles;
    if (c === null) return undefined;
    if (c.optional && (mtime(c.cert) < 0 || mtime(c.key) < 0)) return undefined;
    return c.cert;
  }

  /** The https.Agent for the files as they are now; throws a clear error when a configured file cannot be read. */
  agent(): HttpsAgent {
    const s = this.settings;
    const c = this.certFiles;
    const useCert = c !== null && (!c.optional || (mtime(c.cert) >= 0 && mtime(c.key) >= 0));
    const stamp = `${s.ca_file === undefined ? '' : mtime(s.ca_file)}|${useCert && c ? `${mtime(c.cert)}|${mtime(c.key)}` : 'none'}`;
    if (this.cached !== null && this.cached.stamp === stamp) return this.cached.agent;
    const read = (path: string, field: string): Buffer => {
      try {
        return readFileSync(path);
      } catch (err) {
        throw new TlsConfigError(`${this.what}.${field}: cannot read ${path}: ${(err as Error).message}`);
      }
    };
    const agent = new HttpsAgent({
      keepAlive: true,
      maxSockets: 8,
      ...(s.ca_file !== undefined ? { ca: read(s.ca_file, 'ca_file') } : {}),
      ...(useCert && c ? { cert: read(c.cert, c.optional ? 'site certificate' : 'cert_file'), key: read(c.key, c.optional ? 'site key' : 'key_file') } : {}),
      ...(s.server_name !== undefined ? { servername: s.server_name } : {}),
      rejectUnauthorized: s.insecure_skip_verify !== true,
    });
    this.cached?.agent.destroy();
    this.cached = { agent, stamp };
    return agent;
  }

  /** Whether an error from a request is a TLS failure (then `explain` says what it means). */
  static isTlsError(err: unknown): boolean {
    const code = (err as { code?: unknown })?.code;
    const msg = (err as Error)?.message ?? '';
    return err instanceof TlsConfigError || (typeof code === 'string' && (VERIFY_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')) || CLIENT_CERT_REFUSED.test(msg);
  }

  /** An operator's reading of a TLS failure towards `url`. */
  explain(err: unknown, url: string): string {
    const code = String((err as { code?: unknown })?.code ?? '');
    const msg = (err as Error)?.message ?? String(err);
    const host = (() => {
      try {
        return new URL(url).host;
      } catch {
        return url;
      }
    })();
    const ca = this.settings.ca_file === undefined ? 'the system CAs (no ca_file set)' : `the CA in ${this.what}.ca_file (${this.settings.ca_file})`;
    if (err instanceof TlsConfigError) return `TLS: ${msg}`;
    if (VERIFY_CODES.has(code)) return `TLS: the certificate of ${host} is not signed by ${ca} (${code}): check ${this.what}.ca_file`;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `TLS: the certificate of ${host} is not valid for that name (${msg}); set ${this.what}.server_name or use the name it was issued for`;
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `TLS: the certificate of ${host} is out of its validity period (${code})`;
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/.test(msg)) return `TLS: ${host} does not speak TLS (an http:// listener behind an https:// URL?)`;
    if (CLIENT_CERT_REFUSED.test(msg) || CLIENT_CERT_REFUSED.test(code)) {
      const cert = this.presenting();
      return `TLS: ${host} refused the client certificate (${cert === undefined ? 'none presented: the site has no issued certificate yet and no cert_file is set' : cert}): ${msg}`;
    }
    return `TLS: ${msg}${code ? ` (${code})` : ''}`;
  }
}

/** A configured TLS file that cannot be read. */
export class TlsConfigError extends Error {}
