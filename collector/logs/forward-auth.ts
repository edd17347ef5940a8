// The forward handshake (spec v1 "Handshake Messages"): the server sends
// HELO with a nonce and a user-auth salt, the client answers PING, the
// server checks it and answers PONG. Identity comes from here:
//  - PING's username is a site token and its password the same token
//    (password digest sha512_hex(auth_salt + username + password)): the
//    token's tenant and site; the shared key must be one of the configured
//    ones (and, if bound to a tenant, that tenant's).
//  - No username: the matching shared key must be bound to a tenant and a site.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Encoder } from '@msgpack/msgpack';
import type { ForwardConfig } from './config.js';
import type { Authenticate, LogIdentity } from './pipeline.js';

const encoder = new Encoder();

export const sha512Hex = (...parts: (string | Uint8Array)[]): string => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export interface Handshake {
  readonly nonce: Buffer;
  readonly authSalt: Buffer;
  /** The HELO message to send on connect. */
  readonly helo: Uint8Array;
}

export function newHandshake(): Handshake {
  const nonce = randomBytes(16);
  const authSalt = randomBytes(16);
  return { nonce, authSalt, helo: encoder.encode(['HELO', { nonce, auth: authSalt, keepalive: true }]) };
}

export type PingOutcome =
  | { readonly ok: true; readonly identity: LogIdentity; readonly pong: Uint8Array }
  | { readonly ok: false; readonly reason: string; readonly pong: Uint8Array };

export function checkPing(
  cfg: ForwardConfig,
  hs: Handshake,
  ping: { hostname: string; salt: Uint8Array; digest: string; username: string; password: string },
  authenticate: Authenticate,
): PingOutcome {
  const fail = (reason: string): PingOutcome => ({ ok: false, reason, pong: encoder.encode(['PONG', false, reason, cfg.server_hostname, '']) });
  const key = cfg.shared_keys.find((k) => sameHex(sha512Hex(ping.salt, ping.hostname, hs.nonce, k.key), ping.digest));
  if (!key) return fail('shared_key mismatch');
  let identity: LogIdentity;
  if (ping.username !== '') {
    const id = authenticate(ping.username);
    if (!id) return fail('username is not a valid site token');
    if (!sameHex(sha512Hex(hs.authSalt, ping.username, ping.username), ping.password)) return fail('password must be the site token given as username');
    if (key.tenant !== undefined && key.tenant !== id.tenant) return fail('this shared key belongs to another tenant');
    if (key.site !== undefined && key.site !== id.site) return fail('this shared key belongs to another site');
    identity = id;
  } else {
    if (key.tenant === undefined || key.site === undefined) return fail('this shared key names no site: send the site token as username and password');
    identity = { tenant: key.tenant, site: key.site };
  }
  return { ok: true, identity, pong: encoder.encode(['PONG', true, '', cfg.server_hostname, sha512Hex(ping.salt, cfg.server_hostname, hs.nonce, key.key)]) };
}
