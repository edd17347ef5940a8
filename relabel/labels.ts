// The label model shared by every fleetscope folder: a series' labels are one
// flat array `[name0, value0, name1, value1, …]`, sorted by name with plain
// string comparison (what Prometheus's labels.Labels and the remote-write spec
// require), including `__name__`. An empty value is the same as no label.

export type Labels = readonly string[];

/** Returns the value of `name` in flat labels, or "" when absent. */
export function getLabel(labels: Labels, name: string): string {
  for (let i = 0; i < labels.length; i += 2) {
    if (labels[i] === name) return labels[i + 1] ?? '';
  }
  return '';
}

/**
 * A reusable, mutable label set, the counterpart of Prometheus's
 * labels.Builder: one per pipeline, reset per series, so relabeling allocates
 * nothing but its output. It is copy-on-write: until a rule changes a label it
 * reads the caller's (sorted) array, and an unchanged series comes back as
 * that same array. Names are kept sorted, which is also the order in which
 * Prometheus 2.42 iterates labels for labelmap/labeldrop/labelkeep.
 */
export class LabelsBuilder {
  private base: Labels = [];
  private copied = false;
  private names: string[] = [];
  private values: string[] = [];
  private size = 0;
  // What snapshot() iterates: the loaded array, or a scratch copy once changed.
  private snapFrom: Labels = [];
  private snapCopy: string[] = [];

  /**
   * Loads flat labels, which must be sorted by name (the label model's
   * contract; use resetUnsorted otherwise). Empty values are dropped as
   * Prometheus's Builder.Reset does.
   */
  reset(labels: Labels): this {
    this.base = labels;
    this.copied = false;
    this.size = labels.length >> 1;
    for (let i = 1; i < labels.length; i += 2) {
      if ((labels[i] as string).length === 0) {
        this.copy();
        break;
      }
    }
    return this;
  }

  /** Loads flat labels in any order; a later duplicate name wins. */
  resetUnsorted(labels: Labels): this {
    return this.reset(sortLabels(labels));
  }

  get length(): number {
    return this.size;
  }

  get(name: string): string {
    if (!this.copied) {
      const base = this.base;
      for (let i = 0; i < base.length; i += 2) if (base[i] === name) return base[i + 1] as string;
      return '';
    }
    const i = this.indexOf(name);
    return i < 0 ? '' : (this.values[i] as string);
  }

  /** Sets a label; an empty value deletes it (Builder.Set). */
  set(name: string, value: string): void {
    if (value === '') {
      this.del(name);
      return;
    }
    if (!this.copied) {
      if (this.get(name) === value) return;
      this.copy();
    }
    // Binary search: string ordering comparisons cost more than equality.
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.names[mid] as string) < name) lo = mid + 1;
      else hi = mid;
    }
    const i = lo;
    if (i < this.size && this.names[i] === name) {
      this.values[i] = value;
      return;
    }
    for (let j = this.size; j > i; j--) {
      this.names[j] = this.names[j - 1] as string;
      this.values[j] = this.values[j - 1] as string;
    }
    this.names[i] = name;
    this.values[i] = value;
    this.size++;
  }

  del(name: string): void {
    if (!this.copied) {
      if (this.get(name) === '') return;
      this.copy();
    }
    const i = this.indexOf(name);
    if (i < 0) return;
    for (let j = i; j < this.size - 1; j++) {
      this.names[j] = this.names[j + 1] as string;
      this.values[j] = this.values[j + 1] as string;
    }
    this.size--;
  }

  /**
   * Takes a snapshot of the current labels for iteration while mutating;
   * returns its size. Until the first change the loaded array is the snapshot.
   */
  snapshot(): number {
    if (!this.copied) {
      this.snapFrom = this.base;
      return this.size;
    }
    const snap = this.snapCopy;
    for (let i = 0; i < this.size; i++) {
      snap[2 * i] = this.names[i] as string;
      snap[2 * i + 1] = this.values[i] as string;
    }
    this.snapFrom = snap;
    return this.size;
  }

  /** Keeps only the labels whose name `keep` accepts, in one pass. */
  retainNames(keep: (name: string) => boolean): void {
    if (!this.copied) {
      const base = this.base;
      let i = 0;
      while (i < base.length && keep(base[i] as string)) i += 2;
      if (i >= base.length) return;
      this.copy();
    }
    let w = 0;
    for (let r = 0; r < this.size; r++) {
      const name = this.names[r] as string;
      if (!keep(name)) continue;
      this.names[w] = name;
      this.values[w] = this.values[r] as string;
      w++;
    }
    this.size = w;
  }

  snapshotName(i: number): string {
    return this.snapFrom[2 * i] as string;
  }

  snapshotValue(i: number): string {
    return this.snapFrom[2 * i + 1] as string;
  }

  /** The current labels, flat and sorted: the loaded array itself when nothing changed. */
  labels(): Labels {
    if (!this.copied) return this.base;
    const out = new Array<string>(this.size * 2);
    for (let i = 0; i < this.size; i++) {
      out[2 * i] = this.names[i] as string;
      out[2 * i + 1] = this.values[i] as string;
    }
    return out;
  }

  private copy(): void {
    const base = this.base;
    let n = 0;
    for (let i = 0; i < base.length; i += 2) {
      const value = base[i + 1] as string;
      if (value.length === 0) continue;
      this.names[n] = base[i] as string;
      this.values[n] = value;
      n++;
    }
    this.size = n;
    this.copied = true;
  }

  private indexOf(name: string): number {
    for (let i = 0; i < this.size; i++) if (this.names[i] === name) return i;
    return -1;
  }
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Prometheus's model.LabelName.IsValid (legacy name validation, as in 2.42). */
export function isValidLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

/** Returns flat labels given in any order as a new, name-sorted flat array (a later duplicate name wins). */
export function sortLabels(flat: readonly string[]): string[] {
  const byName = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) byName.set(flat[i] as string, flat[i + 1] ?? '');
  return [...byName].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).flat();
}
