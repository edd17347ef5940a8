// A progress bar on stderr for long runs: steps done of the total, and what
// is happening now. On a terminal it redraws one line; otherwise it prints a
// line when the phase changes.
export class Progress {
  private total = 1;
  private done = 0;
  private phase = '';
  private readonly tty: boolean;

  constructor(private readonly out: NodeJS.WritableStream & { isTTY?: boolean }, private readonly enabled = true) {
    this.tty = out.isTTY === true;
  }

  begin(total: number): void {
    this.total = Math.max(1, total);
    this.done = 0;
  }

  step(): void {
    this.done++;
  }

  tick(phase: string, fraction = 0): void {
    if (!this.enabled) return;
    const share = Math.min(1, (this.done + fraction) / this.total);
    const width = 30;
    const filled = Math.round(share * width);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}% ${phase}`;
    if (this.tty) this.out.write(`\r\x1b[K${bar}`);
    else if (phase.replace(/\(.*\)/, '') !== this.phase) this.out.write(`${bar}\n`);
    this.phase = phase.replace(/\(.*\)/, '');
  }

  /** Waits `ms`, redrawing every second. */
  async wait(ms: number, phase: string): Promise<void> {
    const until = Date.now() + ms;
    const start = Date.now();
    while (Date.now() < until) {
      const left = until - Date.now();
      this.tick(`${phase} (${Math.ceil(left / 1000)} s left)`, ms > 0 ? (Date.now() - start) / ms / 2 : 0);
      await new Promise((r) => setTimeout(r, Math.min(1000, left)));
    }
  }

  end(): void {
    if (this.enabled && this.tty) this.out.write('\r\x1b[K');
  }
}
