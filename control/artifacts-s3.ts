// The artifact store on any S3-compatible object store (artifacts.s3 in the
// config): the same `<tenant>/<site>/<version>/manifests.yaml` keys under an
// optional prefix. Each object is written with Content-MD5 (the store checks
// the bytes it received) and its sha256 in `x-amz-meta-fleetscope-sha256`,
// which is checked on every read. An acknowledged PutObject is durable, so
// `flush` has nothing to do. The SDK is imported only when this store is
// configured (this module itself is loaded lazily by artifacts.ts).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent as HttpsAgent } from 'node:https';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ArtifactStore } from './artifacts.js';
import { ControlError } from './errors.js';

export interface S3StoreOptions {
  /** http(s)://host:port of an S3-compatible store; absent: AWS S3 for the region. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** Key prefix ('' or ending in '/'). */
  readonly prefix: string;
  /** Path-style URLs (`/<bucket>/<key>`); default: true when an endpoint is given. */
  readonly force_path_style?: boolean;
  readonly access_key_id?: string;
  readonly secret_access_key?: string;
  readonly session_token?: string;
  /** An AWS shared credentials file (INI: `[profile]` + `aws_access_key_id`, `aws_secret_access_key`). */
  readonly credentials_file?: string;
  readonly profile: string;
  /** PEM file of the CA(s) that sign the endpoint's certificate. */
  readonly ca_file?: string;
  readonly timeout_ms: number;
  readonly max_attempts: number;
}

export type S3Failure = 'bucket_missing' | 'no_such_key' | 'access_denied' | 'unreachable' | 'tls' | 'other';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED', 'UND_ERR_CONNECT_TIMEOUT']);
const TLS = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO']);
const DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AllAccessDisabled', 'Forbidden', 'InvalidToken', 'ExpiredToken', 'AccountProblem', 'RequestTimeTooSkewed']);

interface SdkError {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly errors?: readonly { code?: string }[];
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** What an S3 failure means for us; `target` is what the call was about (a 404 on HeadBucket is the bucket). */
export function classifyS3Error(err: SdkError, target: 'bucket' | 'object'): S3Failure {
  const code = err.code ?? err.errors?.find((e) => e.code !== undefined)?.code;
  if (code !== undefined && TLS.has(code)) return 'tls';
  if (code !== undefined && UNREACHABLE.has(code)) return 'unreachable';
  if (err.name === 'TimeoutError' || err.name === 'RequestTimeout') return 'unreachable';
  if (err.name === 'NoSuchBucket') return 'bucket_missing';
  if (err.name === 'NoSuchKey') return 'no_such_key';
  if (err.name !== undefined && DENIED.has(err.name)) return 'access_denied';
  const status = err.$metadata?.httpStatusCode;
  if (status === 403) return 'access_denied';
  if (status === 404) return target === 'bucket' ? 'bucket_missing' : 'no_such_key';
  return 'other';
}

/** The keys of `profile` in an AWS shared credentials file, or null when the profile is absent. */
export function parseCredentialsFile(text: string, profile: string): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null {
  let section: string | null = null;
  const found = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+|\s+$/g, '');
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (s) {
      section = s[1] as string;
      continue;
    }
    const kv = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (kv && section === profile) found.set((kv[1] as string).toLowerCase(), kv[2] as string);
  }
  const id = found.get('aws_access_key_id');
  const secret = found.get('aws_secret_access_key');
  if (id === undefined || secret === undefined) return null;
  const token = found.get('aws_session_token');
  return { accessKeyId: id, secretAccessKey: secret, ...(token !== undefined ? { sessionToken: token } : {}) };
}

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** Credentials from the config, else the credentials file, else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. */
export async function resolveS3Credentials(o: S3StoreOptions, env: NodeJS.ProcessEnv = process.env): Promise<Credentials & { source: string }> {
  if (o.access_key_id !== undefined && o.secret_access_key !== undefined) {
    return { accessKeyId: o.access_key_id, secretAccessKey: o.secret_access_key, ...(o.session_token !== undefined ? { sessionToken: o.session_token } : {}), source: 'config' };
  }
  if (o.credentials_file !== undefined) {
    let text: string;
    try {
      text = await readFile(o.credentials_file, 'utf8');
    } catch (err) {
      throw new ControlError('FS_CONTROL_INVALID_CONFIG', [o.credentials_file, '(file)', `cannot read the S3 credentials file: ${(err as Error).message}`], { cause: err });
    }
    const c = parseCredentialsFile(text, o.profile);
    if (!c) throw new ControlError('FS_CONTROL_INVALID_CONFIG', [o.credentials_file, `[${o.profile}]`, 'no aws_access_key_id and aws_secret_access_key in this profile']);
    return { ...c, source: `${o.credentials_file} [${o.profile}]` };
  }
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  if (id && secret) return { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}), source: 'environment' };
  throw new ControlError('FS_CONTROL_INVALID_CONFIG', ['(config)', 'artifacts.s3', 'no S3 credentials: set access_key_id and secret_access_key, or credentials_file, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY']);
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const META = 'fleetscope-sha256';

export class S3ArtifactStore implements ArtifactStore {
  /** The endpoint, for messages. */
  private readonly where: string;

  private constructor(private readonly client: S3Client, private readonly sdk: typeof S3Sdk, private readonly o: S3StoreOptions) {
    this.where = o.endpoint ?? `AWS S3 ${o.region}`;
  }

  private url(key: string | null): string {
    return `s3://${this.o.bucket}/${this.o.prefix}${key ?? ''}`;
  }

  /** Connects and checks that the bucket exists and these credentials may use it (HeadBucket). */
  static async open(o: S3StoreOptions, opts: { check?: boolean } = {}): Promise<S3ArtifactStore> {
    const sdk = await import('@aws-sdk/client-s3');
    const credentials = await resolveS3Credentials(o);
    let ca: string | undefined;
    if (o.ca_file !== undefined) {
      try {
        ca = await readFile(o.ca_file, 'utf8');
      } catch (err) {
        throw new ControlError('FS_CONTROL_INVALID_CONFIG', [o.ca_file, '(file)', `cannot read artifacts.s3.ca_file: ${(err as Error).message}`], { cause: err });
      }
    }
    const client = new sdk.S3Client({
      region: o.region,
      ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.force_path_style ?? o.endpoint !== undefined,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, ...(credentials.sessionToken !== undefined ? { sessionToken: credentials.sessionToken } : {}) },
      maxAttempts: o.max_attempts,
      // Content-MD5 and our own sha256 cover integrity; the SDK's default CRC32
      // headers are refused by some S3-compatible stores.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: o.timeout_ms,
        requestTimeout: o.timeout_ms,
        throwOnRequestTimeout: true,
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64, ...(ca !== undefined ? { ca } : {}) }),
      },
    });
    const store = new S3ArtifactStore(client, sdk, o);
    if (opts.check !== false) await store.check();
    return store;
  }

  private fail(err: unknown, target: 'bucket' | 'object', key: string | null, doing: string): ControlError {
    const e = err as SdkError;
    const status = e.$metadata?.httpStatusCode;
    const reason = `${status !== undefined ? `HTTP ${status} ` : ''}${e.name ?? 'Error'}${e.code !== undefined && e.code !== e.name ? ` ${e.code}` : ''}: ${e.message ?? String(err)}`;
    switch (classifyS3Error(e, target)) {
      case 'bucket_missing':
        return new ControlError('FS_CONTROL_ARTIFACTS_BUCKET_MISSING', [this.o.bucket, this.where], { cause: err });
      case 'access_denied':
        return new ControlError('FS_CONTROL_ARTIFACTS_ACCESS_DENIED', [doing, this.url(key), this.where, reason], { cause: err });
      case 'unreachable':
        return new ControlError('FS_CONTROL_ARTIFACTS_UNREACHABLE', [this.where, reason], { cause: err });
      case 'tls':
        return new ControlError('FS_CONTROL_ARTIFACTS_UNREACHABLE', [this.where, `TLS: ${reason} (is artifacts.s3.ca_file the CA of this endpoint?)`], { cause: err });
      default:
        return new ControlError('FS_CONTROL_ARTIFACTS', [`${doing} ${this.url(key)} at ${this.where}: ${reason}`], { cause: err });
    }
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.o.bucket }));
    } catch (err) {
      throw this.fail(err, 'bucket', null, 'HeadBucket');
    }
  }

  async put(key: string, text: string): Promise<void> {
    const body = Buffer.from(text, 'utf8');
    try {
      await this.client.send(new this.sdk.PutObjectCommand({
        Bucket: this.o.bucket,
        Key: this.o.prefix + key,
        Body: body,
        ContentType: 'application/yaml',
        ContentMD5: createHash('md5').update(body).digest('base64'),
        Metadata: { [META]: sha256(text) },
      }));
    } catch (err) {
      throw this.fail(err, 'object', key, 'PutObject');
    }
  }

  /** Every put is durable once S3 acknowledged it. */
  async flush(): Promise<void> {}

  async get(key: string): Promise<string | null> {
    let text: string;
    let want: string | undefined;
    try {
      const res = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.o.bucket, Key: this.o.prefix + key }));
      text = (await res.Body?.transformToString('utf8')) ?? '';
      want = res.Metadata?.[META];
    } catch (err) {
      if (classifyS3Error(err as SdkError, 'object') === 'no_such_key') return null;
      throw this.fail(err, 'object', key, 'GetObject');
    }
    if (want === undefined) throw new ControlError('FS_CONTROL_ARTIFACTS_CHECKSUM', [this.url(key), `the object has no x-amz-meta-${META} (not written by fleetscope?)`]);
    const got = sha256(text);
    if (got !== want) throw new ControlError('FS_CONTROL_ARTIFACTS_CHECKSUM', [this.url(key), `sha256 ${got} read, ${want} written`]);
    return text;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
