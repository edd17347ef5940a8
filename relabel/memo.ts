/**
 * A bounded memo for a rule's regex decisions. A site's label names number in
 * the dozens and most label values repeat across its series, so remembering
 * "this name/value → this outcome" replaces most regex runs with one Map
 * lookup. When full it starts over, so a high-cardinality source costs at
 * most one Map insert per series and memory stays bounded.
 */
export class Memo<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly limit = 4096) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): V {
    if (this.map.size >= this.limit) this.map.clear();
    this.map.set(key, value);
    return value;
  }
}
