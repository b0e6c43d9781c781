/**
 * Loads a room once however many connections ask for it at the same time: the
 * first caller starts the load, later callers share its promise until it
 * settles; a loaded room is returned at once. The Yjs rooms (roomRegistry.ts)
 * and the sealed ones (sealedRooms.ts) both open this way.
 */
export class LoadOnce<T> {
  private loading = new Map<string, Promise<T>>()

  constructor(
    private readonly loaded: (name: string) => T | undefined,
    private readonly load: (name: string) => Promise<T>,
  ) {}

  get(name: string): Promise<T> {
    const ready = this.loaded(name)
    if (ready) return Promise.resolve(ready)
    let pending = this.loading.get(name)
    if (!pending) {
      pending = this.load(name).finally(() => this.loading.delete(name))
      this.loading.set(name, pending)
    }
    return pending
  }
}
