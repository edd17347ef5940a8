// Series by the CRC-32 of their output labels, each candidate compared byte
// for byte: what tells a series that the rules made identical to another one
// (DUPLICATE_SERIES), for pushed series (pipeline.ts) and scraped ones
// (scrape.ts) alike.
import { crc32 } from 'node:zlib';

export class OutputIndex<T extends { readonly labels: Buffer | null }> {
  private readonly byHash = new Map<number, T[]>();

  /** Whether a series with exactly these output labels is in the index. */
  has(labels: Buffer): boolean {
    return this.byHash.get(crc32(labels))?.some((e) => (e.labels as Buffer).equals(labels)) ?? false;
  }

  /** Adds a kept series (its labels are not null). */
  add(e: T): void {
    const h = crc32(e.labels as Buffer);
    const list = this.byHash.get(h);
    if (list === undefined) this.byHash.set(h, [e]);
    else list.push(e);
  }

  /** Removes a series; whether it was there. */
  delete(e: T): boolean {
    if (e.labels === null) return false;
    const h = crc32(e.labels);
    const list = this.byHash.get(h);
    const i = list?.indexOf(e) ?? -1;
    if (list === undefined || i < 0) return false;
    if (list.length === 1) this.byHash.delete(h);
    else list.splice(i, 1);
    return true;
  }

  clear(): void {
    this.byHash.clear();
  }
}
