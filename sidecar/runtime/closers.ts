// What start-up has opened so far (listeners, broker, audit trail, admin server…), to be closed in
// reverse order when a later step fails: a start that reported failure must not leave a
// half-started gateway serving connections or holding ports.

export interface Closer {
  /** What is closed, for the report of a closer that failed. */
  name: string;
  close(): Promise<void> | void;
}

export class Closers {
  private readonly stack: Closer[] = [];

  constructor(private readonly timeoutMs = 5000) {}

  push(name: string, close: () => Promise<void> | void): void {
    this.stack.push({ name, close });
  }

  /**
   * Closes everything, last opened first. A closer that throws or takes longer than the timeout
   * does not stop the others; the failures come back as messages.
   */
  async closeAll(): Promise<string[]> {
    const failures: string[] = [];
    while (this.stack.length > 0) {
      const closer = this.stack.pop()!;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(() => closer.close()),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`did not close within ${this.timeoutMs} ms`)), this.timeoutMs))),
        ]);
      } catch (err) {
        failures.push(`${closer.name}: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }
    return failures;
  }
}
