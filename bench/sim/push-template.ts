// The push side of a simulated site: the site's series as remote-write 1.0
// requests (WriteRequest protobuf, one sample per series), encoded once for
// the placeholder site and then overwritten in place per push, like the
// exposition template: the site name (fixed width), each value (a fixed
// 8-byte double) and the timestamp (a varint that is 6 bytes for every
// millisecond timestamp from 2^35 to 2^42, i.e. 1971 to 2109). Only the
// snappy compression is done per push.
import { encodeLabels, snappyCompress } from '../../wire/index.js';
import { PLACEHOLDER_SITE, SITE_NAME_WIDTH, siteName, type SiteTemplate } from './template.js';

const TS_VARINT_BYTES = 6;
const MIN_TS = 2 ** 35;
const MAX_TS = 2 ** 42;

interface Chunk {
  readonly bytes: Buffer;
  readonly valueAt: Uint32Array;
  readonly tsAt: Uint32Array;
  readonly siteAt: Uint32Array;
  /** Index of the chunk's first series in the template. */
  readonly first: number;
}

export class PushTemplate {
  private readonly chunks: Chunk[] = [];

  constructor(readonly template: SiteTemplate, readonly seriesPerRequest = 2000) {
    const series = template.series;
    const placeholder = Buffer.from(PLACEHOLDER_SITE, 'latin1');
    for (let first = 0; first < series.length; first += seriesPerRequest) {
      const end = Math.min(series.length, first + seriesPerRequest);
      const parts: Buffer[] = [];
      const valueAt: number[] = [];
      const tsAt: number[] = [];
      let pos = 0;
      for (let i = first; i < end; i++) {
        const labels = encodeLabels((series[i] as { labels: readonly string[] }).labels);
        // Sample: 0x09 + double, 0x10 + 6-byte varint.
        const sample = Buffer.alloc(2 + 1 + 8 + 1 + TS_VARINT_BYTES);
        sample[0] = 0x12;
        sample[1] = 1 + 8 + 1 + TS_VARINT_BYTES;
        sample[2] = 0x09;
        sample[11] = 0x10;
        const inner = labels.length + sample.length;
        const head = Buffer.from([0x0a, ...varint(inner)]);
        parts.push(head, labels, sample);
        const sampleAt = pos + head.length + labels.length;
        valueAt.push(sampleAt + 3);
        tsAt.push(sampleAt + 12);
        pos += head.length + inner;
      }
      const bytes = Buffer.concat(parts);
      const siteAt: number[] = [];
      for (let at = bytes.indexOf(placeholder); at >= 0; at = bytes.indexOf(placeholder, at + SITE_NAME_WIDTH)) siteAt.push(at);
      this.chunks.push({ bytes, valueAt: Uint32Array.from(valueAt), tsAt: Uint32Array.from(tsAt), siteAt: Uint32Array.from(siteAt), first });
    }
  }

  get requestCount(): number {
    return this.chunks.length;
  }

  samplesIn(request: number): number {
    return (this.chunks[request] as Chunk).valueAt.length;
  }

  /**
   * Renders request `request` of site `siteIndex` into a private copy and
   * returns it snappy-compressed. `values` gives each series' value by its
   * template index.
   */
  render(scratch: Buffer, request: number, siteIndex: number, timestampMs: number, value: (i: number) => number): Buffer {
    const c = this.chunks[request] as Chunk;
    if (timestampMs < MIN_TS || timestampMs >= MAX_TS) throw new RangeError(`timestamp ${timestampMs} does not fit the 6-byte varint template`);
    c.bytes.copy(scratch, 0);
    const site = Buffer.from(siteName(siteIndex), 'latin1');
    for (let i = 0; i < c.siteAt.length; i++) site.copy(scratch, c.siteAt[i] as number);
    const ts = varint(Math.floor(timestampMs));
    const [t0, t1, t2, t3, t4, t5] = ts as [number, number, number, number, number, number];
    for (let i = 0; i < c.valueAt.length; i++) {
      scratch.writeDoubleLE(value(c.first + i), c.valueAt[i] as number);
      const at = c.tsAt[i] as number;
      scratch[at] = t0;
      scratch[at + 1] = t1;
      scratch[at + 2] = t2;
      scratch[at + 3] = t3;
      scratch[at + 4] = t4;
      scratch[at + 5] = t5;
    }
    return snappyCompress(scratch.subarray(0, c.bytes.length));
  }

  /** Bytes a scratch buffer for render() needs. */
  get maxRequestBytes(): number {
    let m = 0;
    for (const c of this.chunks) m = Math.max(m, c.bytes.length);
    return m;
  }
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
