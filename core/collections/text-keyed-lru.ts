// A least-recently-used map keyed by text, bounded both in entries and in the total length of its
// keys (the keys are what a client controls: statement texts). Map keeps insertion order, so the
// first key is always the least recently used one.
export class TextKeyedLru<V> {
  private readonly map = new Map<string, V>();
  private keyUnits = 0;

  constructor(
    private readonly maxEntries: number,
    /** Most UTF-16 units of all keys together. */
    private readonly maxKeyUnits: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** Total length of the keys held (UTF-16 units). */
  get textUnits(): number {
    return this.keyUnits;
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** Adds (or replaces) an entry, evicting the least recently used ones past either bound. */
  set(key: string, value: V): void {
    if (this.map.delete(key)) this.keyUnits -= key.length;
    this.map.set(key, value);
    this.keyUnits += key.length;
    while (this.map.size > this.maxEntries || this.keyUnits > this.maxKeyUnits) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
      this.keyUnits -= oldest.length;
    }
  }
}
