/** The newest `limit` entries, oldest first: a device's memory is finite, its log must be too. */
export class BoundedLog<T> {
  readonly #entries: T[] = [];
  #dropped = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`log limit must be a positive integer, got ${limit}`);
  }

  push(entry: T): void {
    this.#entries.push(entry);
    if (this.#entries.length > this.limit) {
      this.#entries.shift();
      this.#dropped++;
    }
  }

  /** Entries that fell off the front, so a reader knows the log is not the whole story. */
  get dropped(): number {
    return this.#dropped;
  }

  list(): T[] {
    return [...this.#entries];
  }
}
