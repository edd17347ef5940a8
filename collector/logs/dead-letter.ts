// The dead-letter file: documents Elasticsearch refused for good, one JSON
// object a line with the reason and the original document, fsync'd before
// the buffer lets go of them.
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LogsError } from './errors.js';
import { type BufferedDoc, describeDoc } from './pipeline.js';

export interface DeadItem {
  readonly doc: BufferedDoc;
  readonly status: number | undefined;
  readonly reason: string;
  readonly message: string;
}

export class DeadLetterFile {
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** Appends the items durably; throws FS_COLLECTOR_LOGS_DEAD_LETTER_IO. */
  write(items: readonly DeadItem[]): Promise<void> {
    const at = new Date().toISOString();
    const text = items
      .map((i) => {
        const d = describeDoc(i.doc);
        return `{"at":${JSON.stringify(at)},"status":${i.status ?? null},"reason":${JSON.stringify(i.reason)},"message":${JSON.stringify(i.message.slice(0, 2000))},"op":"${i.doc.op}","index":${JSON.stringify(d.index)},"id":${JSON.stringify(d.id)},"doc":${d.source}}\n`;
      })
      .join('');
    const next = this.chain.then(async () => {
      try {
        await mkdir(dirname(this.path), { recursive: true });
        const fh = await open(this.path, 'a');
        try {
          await fh.write(text);
          await fh.datasync();
        } finally {
          await fh.close();
        }
      } catch (err) {
        throw new LogsError('FS_COLLECTOR_LOGS_DEAD_LETTER_IO', [this.path, (err as Error).message], { cause: err });
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}
