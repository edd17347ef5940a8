// What an S3 failure means (classifyS3Error) and the shared credentials file
// parser, as tables. The store against a server is test/control-s3.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type S3Failure, classifyS3Error, parseCredentialsFile } from './artifacts-s3.js';

test('classifyS3Error', () => {
  const cases: [string, Parameters<typeof classifyS3Error>[0], 'bucket' | 'object', S3Failure][] = [
    ['NoSuchBucket on an object call', { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }, 'object', 'bucket_missing'],
    ['HeadBucket 404 (no body, so no code)', { name: 'NotFound', $metadata: { httpStatusCode: 404 } }, 'bucket', 'bucket_missing'],
    ['NoSuchKey', { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, 'object', 'no_such_key'],
    ['HeadObject 404', { name: 'NotFound', $metadata: { httpStatusCode: 404 } }, 'object', 'no_such_key'],
    ['SignatureDoesNotMatch', { name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } }, 'object', 'access_denied'],
    ['InvalidAccessKeyId', { name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } }, 'bucket', 'access_denied'],
    ['HeadBucket 403 (no body)', { name: 'Unknown', $metadata: { httpStatusCode: 403 } }, 'bucket', 'access_denied'],
    ['clock skew', { name: 'RequestTimeTooSkewed', $metadata: { httpStatusCode: 403 } }, 'object', 'access_denied'],
    ['connection refused', { name: 'Error', code: 'ECONNREFUSED' }, 'bucket', 'unreachable'],
    ['happy eyeballs: refused on every address', { name: 'AggregateError', errors: [{ code: 'ECONNREFUSED' }, { code: 'ECONNREFUSED' }] }, 'bucket', 'unreachable'],
    ['no such host', { name: 'Error', code: 'ENOTFOUND' }, 'object', 'unreachable'],
    ['timeout', { name: 'TimeoutError' }, 'object', 'unreachable'],
    ['untrusted certificate', { name: 'Error', code: 'SELF_SIGNED_CERT_IN_CHAIN' }, 'bucket', 'tls'],
    ['wrong host name', { name: 'Error', code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'bucket', 'tls'],
    ['a 500', { name: 'InternalError', $metadata: { httpStatusCode: 500 } }, 'object', 'other'],
    ['a slow down', { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }, 'object', 'other'],
  ];
  for (const [what, err, target, want] of cases) assert.equal(classifyS3Error(err, target), want, what);
});

test('parseCredentialsFile', () => {
  const text = [
    '# comment',
    '[default]',
    'aws_access_key_id = AKIADEFAULT',
    'aws_secret_access_key = secret/with+chars=',
    '',
    '[profile fleet]',
    '  AWS_ACCESS_KEY_ID=AKIAFLEET  ',
    'aws_secret_access_key=s2',
    'aws_session_token = tok',
    '[half]',
    'aws_access_key_id = only',
  ].join('\r\n');
  assert.deepEqual(parseCredentialsFile(text, 'default'), { accessKeyId: 'AKIADEFAULT', secretAccessKey: 'secret/with+chars=' });
  assert.deepEqual(parseCredentialsFile(text, 'fleet'), { accessKeyId: 'AKIAFLEET', secretAccessKey: 's2', sessionToken: 'tok' });
  assert.equal(parseCredentialsFile(text, 'half'), null, 'a profile without a secret');
  assert.equal(parseCredentialsFile(text, 'absent'), null);
});
