/** Closes everything registered, last first; for afterAll/afterEach. */
export class Cleanup {
  private fns: Array<() => unknown> = []
  add<T>(value: T, fn: (v: T) => unknown): T {
    this.fns.push(() => fn(value))
    return value
  }
  async run(): Promise<void> {
    for (const fn of this.fns.splice(0).reverse()) {
      try {
        await fn()
      } catch {
        // keep closing the rest
      }
    }
  }
}
