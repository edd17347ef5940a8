// A stand-in S3 server for integration tests: no S3 server is installable from
// Debian here. It follows the published Amazon S3 REST API for what the
// control plane's artifact store and its tests use, path-style
// (`/<bucket>/<key>`), with an in-memory bucket map:
//   ListBuckets, CreateBucket, HeadBucket, GetBucketLocation, DeleteBucket,
//   PutObject (Content-MD5 and x-amz-checksum-crc32/sha1/sha256 verified),
//   GetObject, HeadObject, DeleteObject, DeleteObjects (POST ?delete),
//   ListObjectsV2 (prefix, delimiter, max-keys, start-after, continuation
//   tokens, encoding-type=url) and ListObjects (v1, marker);
//   errors as the S3 XML error document (NoSuchKey, NoSuchBucket, ...).
// Every request must carry AWS Signature Version 4 in the Authorization
// header, verified exactly as S3 does (canonical request, string to sign,
// derived signing key; the payload hash in x-amz-content-sha256 checked
// against the body): a wrong secret is 403 SignatureDoesNotMatch.
// Not implemented (501 NotImplemented): presigned URLs, SigV2, aws-chunked
// (streaming) uploads, multipart uploads, copy, ACLs, versioning.
// Specs: https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

export interface StoredObject {
  body: Buffer;
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string;
  readonly metadata: Record<string, string>;
  readonly checksums: Record<string, string>;
}

export interface S3RequestLog {
  readonly method: string;
  readonly op: string;
  readonly bucket: string | null;
  readonly key: string | null;
  readonly status: number;
  readonly code?: string;
}

export interface S3Peer {
  /** `http(s)://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  createBucket(name: string): void;
  /** The bucket's objects, for tests that look behind the API (e.g. to corrupt one). */
  bucket(name: string): Map<string, StoredObject> | undefined;
  readonly requests: S3RequestLog[];
  stop(): Promise<void>;
}

export interface S3PeerOptions {
  readonly region?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /** Serve HTTPS with this certificate and key (PEM). */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly maxObjectBytes?: number;
}

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MAX_SKEW_MS = 15 * 60_000;

class S3Error extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly extra: Record<string, string> = {}) {
    super(message);
  }
}

const xmlEscape = (s: string): string => s.replace(/[<>&'"\r\n\t]/g, (c) => `&#${c.charCodeAt(0)};`);
const xmlUnescape = (s: string): string =>
  s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e] as string;
  });

/** AWS's UriEncode: every byte but A-Za-z0-9-._~ as %XX (uppercase); '/' kept when encoding a path. */
export function awsUriEncode(s: string, keepSlash: boolean): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    throw new S3Error(400, 'InvalidURI', `Couldn't parse the specified URI: ${s}`);
  }
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

interface Parsed {
  readonly rawPath: string;
  readonly query: [string, string][];
  readonly q: Map<string, string>;
}

function parseTarget(url: string): Parsed {
  const i = url.indexOf('?');
  const rawPath = i < 0 ? url : url.slice(0, i);
  const query: [string, string][] = [];
  if (i >= 0) {
    for (const part of url.slice(i + 1).split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      query.push(eq < 0 ? [decode(part), ''] : [decode(part.slice(0, eq)), decode(part.slice(eq + 1))]);
    }
  }
  return { rawPath, query, q: new Map(query) };
}

/** The request's header values by lower-case name, as received (repeats joined with ','). */
function headerValues(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = (req.rawHeaders[i + 1] as string).trim().replace(/ +/g, ' ');
    out.set(name, out.has(name) ? `${out.get(name)},${value}` : value);
  }
  return out;
}

/**
 * Verifies the Authorization header (AWS4-HMAC-SHA256). Throws the S3 error
 * S3 itself answers; returns the access key on success.
 */
function verifySigV4(req: IncomingMessage, t: Parsed, body: Buffer, region: string, secrets: ReadonlyMap<string, string>, now: number): string {
  const h = headerValues(req);
  if (t.q.has('X-Amz-Algorithm') || t.q.has('X-Amz-Signature')) throw new S3Error(501, 'NotImplemented', 'presigned URLs are not implemented by this stand-in');
  const auth = h.get('authorization');
  if (auth === undefined) throw new S3Error(403, 'AccessDenied', 'Access Denied (an anonymous request)');
  if (auth.startsWith('AWS ')) throw new S3Error(400, 'InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  const m = /^AWS4-HMAC-SHA256 Credential=([^,\s]+), ?SignedHeaders=([^,\s]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) throw new S3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed: ${auth.slice(0, 80)}`);
  const [, credential, signedHeadersText, signature] = m as unknown as [string, string, string, string];
  const cred = credential.split('/');
  if (cred.length !== 5 || cred[3] !== 's3' || cred[4] !== 'aws4_request') throw new S3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request": ${credential}`);
  const [accessKey, day, credRegion] = cred as [string, string, string];
  if (credRegion !== region) throw new S3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${credRegion}' is wrong; expecting '${region}'`, { Region: region });
  const secret = secrets.get(accessKey);
  if (secret === undefined) throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKey });
  const amzDate = h.get('x-amz-date');
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) throw new S3Error(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  if (amzDate.slice(0, 8) !== day) throw new S3Error(403, 'SignatureDoesNotMatch', 'the credential scope date is not the date of x-amz-date');
  const when = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(now - when) > MAX_SKEW_MS) throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
  const signedHeaders = signedHeadersText.split(';');
  if (!signedHeaders.includes('host')) throw new S3Error(403, 'AccessDenied', 'the host header must be signed');
  const payloadHash = h.get('x-amz-content-sha256');
  if (payloadHash === undefined) throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  if (payloadHash.startsWith('STREAMING-')) throw new S3Error(501, 'NotImplemented', `x-amz-content-sha256: ${payloadHash} (aws-chunked uploads) is not implemented by this stand-in`);
  if (payloadHash !== 'UNSIGNED-PAYLOAD') {
    if (!/^[0-9a-f]{64}$/.test(payloadHash)) throw new S3Error(400, 'InvalidArgument', `x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a valid sha256 value: ${payloadHash}`);
    const actual = sha256hex(body);
    if (actual !== payloadHash) throw new S3Error(400, 'XAmzContentSHA256Mismatch', 'The provided \'x-amz-content-sha256\' header does not match what was computed.', { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: actual });
  }
  for (const name of signedHeaders) if (!h.has(name)) throw new S3Error(403, 'SignatureDoesNotMatch', `signed header ${name} is not in the request`);
  const canonicalUri = awsUriEncode(decode(t.rawPath.replace(/\+/g, '%2B')), true);
  const canonicalQuery = t.query
    .map(([k, v]) => [awsUriEncode(k, false), awsUriEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signedHeaders.map((n) => `${n}:${h.get(n) as string}\n`).join('');
  const canonicalRequest = [req.method ?? 'GET', canonicalUri, canonicalQuery, canonicalHeaders, signedHeadersText, payloadHash].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 's3'), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', { AWSAccessKeyId: accessKey, StringToSign: stringToSign, CanonicalRequest: canonicalRequest });
  }
  return accessKey;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export async function startS3(opts: S3PeerOptions = {}): Promise<S3Peer> {
  const region = opts.region ?? 'us-east-1';
  const accessKeyId = opts.accessKeyId ?? 'AKIAFLEETSCOPETEST01';
  const secretAccessKey = opts.secretAccessKey ?? randomBytes(20).toString('base64');
  const secrets = new Map([[accessKeyId, secretAccessKey]]);
  const maxObject = opts.maxObjectBytes ?? 64 * 2 ** 20;
  const buckets = new Map<string, Map<string, StoredObject>>();
  const requests: S3RequestLog[] = [];

  const needBucket = (name: string): Map<string, StoredObject> => {
    const b = buckets.get(name);
    if (!b) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    return b;
  };

  const send = (res: ServerResponse, status: number, xml: string | null, headers: Record<string, string> = {}): void => {
    const body = xml === null ? '' : `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
    res.writeHead(status, { 'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(), ...(xml !== null ? { 'content-type': 'application/xml' } : {}), 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };

  function listing(bucket: string, b: Map<string, StoredObject>, q: Map<string, string>, v2: boolean): string {
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeysText = q.get('max-keys') ?? '1000';
    if (!/^\d+$/.test(maxKeysText)) throw new S3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: maxKeysText });
    const maxKeys = Math.min(1000, Number(maxKeysText));
    const urlEncoded = q.get('encoding-type') === 'url';
    if (q.has('encoding-type') && !urlEncoded) throw new S3Error(400, 'InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type' });
    const enc = (s: string): string => xmlEscape(urlEncoded ? awsUriEncode(s, true) : s);
    // Where the page starts: after a key, or past every key under a common prefix.
    let after = '';
    let skipPrefix: string | null = null;
    const token = q.get('continuation-token');
    if (v2 && token !== undefined) {
      const decoded = Buffer.from(token, 'base64url').toString('utf8');
      if (!/^[kp]:/.test(decoded)) throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
      after = decoded.slice(2);
      if (decoded[0] === 'p') skipPrefix = after;
    } else after = (v2 ? q.get('start-after') : q.get('marker')) ?? '';
    if (!v2 && delimiter !== '' && after.endsWith(delimiter)) skipPrefix = after;
    const keys = [...b.keys()].filter((k) => k.startsWith(prefix) && k > after && (skipPrefix === null || !k.startsWith(skipPrefix))).sort();
    const contents: string[] = [];
    const prefixes: string[] = [];
    let next = '';
    let truncated = false;
    for (const k of keys) {
      const j = delimiter === '' ? -1 : k.indexOf(delimiter, prefix.length);
      const common = j < 0 ? null : k.slice(0, j + delimiter.length);
      if (common !== null && prefixes[prefixes.length - 1] === common) continue;
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (common !== null) {
        prefixes.push(common);
        next = `p:${common}`;
      } else {
        contents.push(k);
        next = `k:${k}`;
      }
    }
    const items = contents.map((k) => {
      const o = b.get(k) as StoredObject;
      return `<Contents><Key>${enc(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>&quot;${o.etag}&quot;</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
    }).join('') + prefixes.map((p) => `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`).join('');
    const head = `<Name>${xmlEscape(bucket)}</Name><Prefix>${enc(prefix)}</Prefix>${delimiter !== '' ? `<Delimiter>${enc(delimiter)}</Delimiter>` : ''}<MaxKeys>${maxKeys}</MaxKeys>${urlEncoded ? '<EncodingType>url</EncodingType>' : ''}<IsTruncated>${truncated}</IsTruncated>`;
    if (v2) {
      const nextToken = truncated ? `<NextContinuationToken>${Buffer.from(next).toString('base64url')}</NextContinuationToken>` : '';
      const cont = token !== undefined ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : '';
      const sa = q.has('start-after') ? `<StartAfter>${enc(q.get('start-after') as string)}</StartAfter>` : '';
      return `<ListBucketResult xmlns="${NS}">${head}<KeyCount>${contents.length + prefixes.length}</KeyCount>${cont}${nextToken}${sa}${items}</ListBucketResult>`;
    }
    const marker = `<Marker>${enc(q.get('marker') ?? '')}</Marker>`;
    const nextMarker = truncated && delimiter !== '' ? `<NextMarker>${enc(next.slice(2))}</NextMarker>` : '';
    return `<ListBucketResult xmlns="${NS}">${head}${marker}${nextMarker}${items}</ListBucketResult>`;
  }

  /** Content-MD5 and x-amz-checksum-* of a body, as S3 checks them. */
  function checkDigests(h: Map<string, string>, body: Buffer): Record<string, string> {
    const md5 = h.get('content-md5');
    if (md5 !== undefined) {
      if (!/^[A-Za-z0-9+/]{22}==$/.test(md5)) throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.');
      if (createHash('md5').update(body).digest('base64') !== md5) throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    const checksums: Record<string, string> = {};
    for (const [name, value] of h) {
      if (!name.startsWith('x-amz-checksum-') || name === 'x-amz-checksum-mode' || name === 'x-amz-checksum-type' || name === 'x-amz-checksum-algorithm') continue;
      const alg = name.slice('x-amz-checksum-'.length);
      let actual: string;
      if (alg === 'crc32') {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(crc32(body) >>> 0);
        actual = b.toString('base64');
      } else if (alg === 'sha1' || alg === 'sha256') actual = createHash(alg).update(body).digest('base64');
      else throw new S3Error(501, 'NotImplemented', `${name} is not implemented by this stand-in`);
      if (actual !== value) throw new S3Error(400, 'BadDigest', `The ${alg.toUpperCase()} you specified did not match the calculated checksum.`);
      checksums[alg] = value;
    }
    return checksums;
  }

  function handle(req: IncomingMessage, body: Buffer, res: ServerResponse, log: { op: string; bucket: string | null; key: string | null }): void {
    const t = parseTarget(req.url ?? '/');
    verifySigV4(req, t, body, region, secrets, Date.now());
    const h = headerValues(req);
    const path = decode(t.rawPath.replace(/\+/g, '%2B'));
    const slash = path.indexOf('/', 1);
    const bucket = path === '/' ? null : slash < 0 ? path.slice(1) : path.slice(1, slash);
    const key = slash < 0 || slash === path.length - 1 ? null : path.slice(slash + 1);
    log.bucket = bucket;
    log.key = key;
    const method = req.method ?? 'GET';
    const sub = ['acl', 'policy', 'uploads', 'uploadId', 'tagging', 'versioning', 'versions', 'lifecycle', 'cors', 'website', 'logging', 'notification', 'replication', 'encryption', 'object-lock', 'retention', 'legal-hold', 'torrent', 'select', 'restore', 'accelerate', 'requestPayment', 'ownershipControls', 'publicAccessBlock', 'intelligent-tiering', 'inventory', 'metrics', 'analytics', 'attributes'].find((s) => t.q.has(s));
    if (sub !== undefined) throw new S3Error(501, 'NotImplemented', `?${sub} is not implemented by this stand-in`);
    if (bucket === null) {
      if (method !== 'GET') throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      log.op = 'ListBuckets';
      const list = [...buckets.keys()].sort().map((n) => `<Bucket><Name>${xmlEscape(n)}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>`).join('');
      send(res, 200, `<ListAllMyBucketsResult xmlns="${NS}"><Owner><ID>fleetscope</ID><DisplayName>fleetscope</DisplayName></Owner><Buckets>${list}</Buckets></ListAllMyBucketsResult>`);
      return;
    }
    if (key === null) {
      if (method === 'PUT') {
        log.op = 'CreateBucket';
        if (!BUCKET.test(bucket)) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
        if (buckets.has(bucket)) throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: bucket });
        const lc = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(body.toString('utf8'))?.[1];
        if (lc !== undefined && lc !== '' && lc !== region) throw new S3Error(400, 'IllegalLocationConstraintException', `The ${lc} location constraint is incompatible for the region specific endpoint this request was sent to.`);
        buckets.set(bucket, new Map());
        send(res, 200, null, { location: `/${bucket}` });
        return;
      }
      const b = needBucket(bucket);
      if (method === 'HEAD') {
        log.op = 'HeadBucket';
        send(res, 200, null, { 'x-amz-bucket-region': region });
      } else if (method === 'GET' && t.q.has('location')) {
        log.op = 'GetBucketLocation';
        send(res, 200, `<LocationConstraint xmlns="${NS}">${region === 'us-east-1' ? '' : xmlEscape(region)}</LocationConstraint>`);
      } else if (method === 'GET') {
        const v2 = t.q.get('list-type') === '2';
        if (t.q.has('list-type') && !v2) throw new S3Error(400, 'InvalidArgument', 'Invalid list-type', { ArgumentName: 'list-type' });
        log.op = v2 ? 'ListObjectsV2' : 'ListObjects';
        send(res, 200, listing(bucket, b, t.q, v2));
      } else if (method === 'POST' && t.q.has('delete')) {
        log.op = 'DeleteObjects';
        if (!h.has('content-md5') && ![...h.keys()].some((n) => /^x-amz-checksum-(crc32|crc32c|sha1|sha256|crc64nvme)$/.test(n))) throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: Content-MD5 (or an x-amz-checksum-* header)');
        checkDigests(h, body);
        const xml = body.toString('utf8');
        if (!/^\s*(<\?xml[^>]*\?>\s*)?<Delete[\s>]/.test(xml)) throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
        const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(xml);
        const objects = [...xml.matchAll(/<Object>([\s\S]*?)<\/Object>/g)].map((mm) => /<Key>([\s\S]*?)<\/Key>/.exec(mm[1] as string)?.[1]);
        if (objects.length === 0 || objects.length > 1000 || objects.some((k) => k === undefined)) throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
        const deleted = objects.map((k) => {
          const name = xmlUnescape(k as string);
          b.delete(name);
          return quiet ? '' : `<Deleted><Key>${xmlEscape(name)}</Key></Deleted>`;
        });
        send(res, 200, `<DeleteResult xmlns="${NS}">${deleted.join('')}</DeleteResult>`);
      } else if (method === 'DELETE') {
        log.op = 'DeleteBucket';
        if (b.size > 0) throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: bucket });
        buckets.delete(bucket);
        send(res, 204, null);
      } else throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      return;
    }
    const b = needBucket(bucket);
    if (Buffer.byteLength(key) > 1024) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
    if (method === 'PUT') {
      log.op = 'PutObject';
      if (h.has('x-amz-copy-source')) throw new S3Error(501, 'NotImplemented', 'CopyObject is not implemented by this stand-in');
      const checksums = checkDigests(h, body);
      const metadata: Record<string, string> = {};
      for (const [n, v] of h) if (n.startsWith('x-amz-meta-')) metadata[n.slice(11)] = v;
      const etag = createHash('md5').update(body).digest('hex');
      b.set(key, { body, etag, lastModified: new Date(Math.floor(Date.now() / 1000) * 1000), contentType: h.get('content-type') ?? 'binary/octet-stream', metadata, checksums });
      send(res, 200, null, { etag: `"${etag}"`, ...Object.fromEntries(Object.entries(checksums).map(([a, v]) => [`x-amz-checksum-${a}`, v])) });
    } else if (method === 'GET' || method === 'HEAD') {
      log.op = method === 'GET' ? 'GetObject' : 'HeadObject';
      const o = b.get(key);
      if (!o) {
        if (method === 'HEAD') {
          send(res, 404, null);
          log.op = 'HeadObject';
          return;
        }
        throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
      }
      const headers: Record<string, string> = {
        etag: `"${o.etag}"`,
        'last-modified': o.lastModified.toUTCString(),
        'content-type': o.contentType,
        'accept-ranges': 'bytes',
        'content-length': String(o.body.length),
        ...Object.fromEntries(Object.entries(o.metadata).map(([n, v]) => [`x-amz-meta-${n}`, v])),
        ...(h.get('x-amz-checksum-mode') === 'ENABLED' ? Object.fromEntries(Object.entries(o.checksums).map(([a, v]) => [`x-amz-checksum-${a}`, v])) : {}),
      };
      const inm = h.get('if-none-match');
      if (inm !== undefined && inm.split(',').some((e) => e.trim() === `"${o.etag}"` || e.trim() === '*')) {
        res.writeHead(304, { etag: headers.etag as string, 'last-modified': headers['last-modified'] as string });
        res.end();
        return;
      }
      res.writeHead(200, { 'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(), ...headers });
      res.end(method === 'GET' ? o.body : undefined);
    } else if (method === 'DELETE') {
      log.op = 'DeleteObject';
      b.delete(key);
      send(res, 204, null);
    } else throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxObject) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      const log = { op: 'unknown', bucket: null as string | null, key: null as string | null };
      try {
        if (tooLarge) throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
        handle(req, Buffer.concat(chunks), res, log);
        requests.push({ method: req.method ?? '', ...log, status: res.statusCode });
      } catch (err) {
        const e = err instanceof S3Error ? err : new S3Error(500, 'InternalError', `We encountered an internal error: ${(err as Error).message}`);
        requests.push({ method: req.method ?? '', ...log, status: e.status, code: e.code });
        const extra = Object.entries(e.extra).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('');
        const resource = `<Resource>${xmlEscape((req.url ?? '/').split('?')[0] as string)}</Resource>`;
        // HEAD answers carry no body (RFC 9110); S3 puts the code nowhere then.
        if (req.method === 'HEAD') send(res, e.status, null, { 'x-amz-error-code': e.code });
        else send(res, e.status, `<Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message>${extra}${resource}<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`);
      }
    });
  };

  const server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest) : createHttpServer(onRequest);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    region,
    accessKeyId,
    secretAccessKey,
    createBucket(name: string) {
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    bucket: (name: string) => buckets.get(name),
    requests,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

