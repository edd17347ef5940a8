// wire/: the codecs shared by agent and collector. Pure: imports nothing of ours.
export {
  DEFAULT_EXPOSITION_LIMITS,
  type EntryKind,
  type ExpositionFormat,
  type ExpositionLimits,
  type ExpositionOptions,
  ExpositionParser,
  type Exemplar as ExpositionExemplar,
  type FamilyMetadata,
  type ParsedSeries,
  formatFromContentType,
  parseExposition,
  parseGoFloat,
} from './exposition.js';
export { formatGoFloat, formatSeries } from './exposition-format.js';
export {
  DEFAULT_REMOTE_WRITE_LIMITS,
  type Exemplar,
  METRIC_TYPES,
  type MetricMetadata,
  type MetricTypeName,
  REMOTE_WRITE_HEADERS,
  RemoteWriteBatch,
  type RemoteWriteLimits,
  RemoteWriteReader,
  STALE_NAN,
  type Sample,
  type TimeSeries,
  type WriteRequest,
  decodeRemoteWriteBody,
  decodeWriteRequest,
  encodeLabels,
  encodeWriteRequest,
  isStaleNaN,
  type LabelRules,
  validateLabels,
  validateTimeSeries,
} from './remote-write.js';
export { decodeWriteRequestReference, encodeWriteRequestReference } from './remote-write-reference.js';
export { RemoteWriteSnappyBatch, type RemoteWriteSnappyOptions, SeriesFields, internLabelField, labelFieldEnd } from './remote-write-snappy.js';
export { RemoteWriteRepeat, RemoteWriteTemplate, type RepeatScratch, snappyCompressKeeping } from './remote-write-template.js';
export { assertValidForSend } from './remote-write-validate.js';
export { DEFAULT_MAX_DECOMPRESSED_BYTES, type SnappyScratch, snappyCompress, snappyDeclaredLength, snappyUncompress } from './snappy.js';
export { WireError, type WireErrorCode, wireErrors } from './errors.js';
export { MAX_TOKEN_LENGTH, TOKEN_PREFIX, type TokenCheck, type TokenClaims, type TokenKind, generateTokenKeys, signToken, tokenPrivateKey, tokenPublicKey, verifyToken } from './token.js';
