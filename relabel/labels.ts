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
 * nothing but its output. Names are kept sorted, which is also the order in
 * which Prometheus 2.42 iterates labels for labelmap/labeldrop/labelkeep.
 */
export class LabelsBuilder {
  private names: string[] = [];
  private values: string[] = [];
  private size = 0;
  // Scratch copy for actions that iterate a snapshot while mutating.
  private snapNames: string[] = [];
  private snapValues: string[] = [];

  /** Loads flat labels; empty values are dropped as Prometheus's Builder.Reset does. */
  reset(labels: Labels): this {
    this.size = 0;
    let sorted = true;
    for (let i = 0; i < labels.length; i += 2) {
      const value = labels[i + 1] ?? '';
      if (value === '') continue;
      const name = labels[i] as string;
      if (this.size > 0 && (this.names[this.size - 1] as string) >= name) sorted = false;
      this.names[this.size] = name;
      this.values[this.size] = value;
      this.size++;
    }
    if (!sorted) this.sortInPlace();
    return this;
  }

  get length(): number {
    return this.size;
  }

  get(name: string): string {
    const i = this.indexOf(name);
    return i < 0 ? '' : (this.values[i] as string);
  }

  /** Sets a label; an empty value deletes it (Builder.Set). */
  set(name: string, value: string): void {
    if (value === '') {
      this.del(name);
      return;
    }
    // Insert in sorted position; label sets are small, so a linear scan wins.
    let i = 0;
    while (i < this.size && (this.names[i] as string) < name) i++;
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
    const i = this.indexOf(name);
    if (i < 0) return;
    for (let j = i; j < this.size - 1; j++) {
      this.names[j] = this.names[j + 1] as string;
      this.values[j] = this.values[j + 1] as string;
    }
    this.size--;
  }

  /** Takes a snapshot of the current labels into scratch arrays; returns its size. */
  snapshot(): number {
    for (let i = 0; i < this.size; i++) {
      this.snapNames[i] = this.names[i] as string;
      this.snapValues[i] = this.values[i] as string;
    }
    return this.size;
  }

  snapshotName(i: number): string {
    return this.snapNames[i] as string;
  }

  snapshotValue(i: number): string {
    return this.snapValues[i] as string;
  }

  nameAt(i: number): string {
    return this.names[i] as string;
  }

  valueAt(i: number): string {
    return this.values[i] as string;
  }

  /** The current labels as a new flat, sorted array. */
  labels(): string[] {
    const out = new Array<string>(this.size * 2);
    for (let i = 0; i < this.size; i++) {
      out[2 * i] = this.names[i] as string;
      out[2 * i + 1] = this.values[i] as string;
    }
    return out;
  }

  private indexOf(name: string): number {
    for (let i = 0; i < this.size; i++) if (this.names[i] === name) return i;
    return -1;
  }

  private sortInPlace(): void {
    // Insertion sort: label sets are small and usually nearly sorted. A later
    // duplicate name overwrites an earlier one, as repeated Set calls would.
    for (let i = 1; i < this.size; i++) {
      const n = this.names[i] as string;
      const v = this.values[i] as string;
      let j = i - 1;
      while (j >= 0 && (this.names[j] as string) > n) {
        this.names[j + 1] = this.names[j] as string;
        this.values[j + 1] = this.values[j] as string;
        j--;
      }
      this.names[j + 1] = n;
      this.values[j + 1] = v;
    }
    let w = 0;
    for (let r = 0; r < this.size; r++) {
      if (w > 0 && this.names[w - 1] === this.names[r]) {
        this.values[w - 1] = this.values[r] as string;
        continue;
      }
      this.names[w] = this.names[r] as string;
      this.values[w] = this.values[r] as string;
      w++;
    }
    this.size = w;
  }
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Prometheus's model.LabelName.IsValid (legacy name validation, as in 2.42). */
export function isValidLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}
