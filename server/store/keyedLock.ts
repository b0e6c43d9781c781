/**
 * An in-process async mutex per key: the whole `Store.withLock` of the
 * embedded store, and the first stage of the PostgreSQL one (commands of one
 * instance queue here instead of each holding a database connection while
 * they wait for the advisory lock).
 *
 * Waiters are served in arrival order. A waiter that gives up (timeout) keeps
 * its place in the queue and passes the lock straight on when its turn comes,
 * so the chain is never broken.
 */
import { StoreUnavailableError } from './types'

export class KeyedLock {
  private tails = new Map<string, Promise<void>>()

  /** Resolves with the release function once the key is ours; rejects with StoreUnavailableError after `timeoutMs`. */
  acquire(key: string, timeoutMs: number): Promise<() => void> {
    const prev = this.tails.get(key) ?? Promise.resolve()
    let free!: () => void
    const mine = new Promise<void>((resolve) => (free = resolve))
    const tail = prev.then(() => mine)
    this.tails.set(key, tail)
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    let released = false
    const release = () => {
      if (released) return
      released = true
      free()
    }
    return new Promise((resolve, reject) => {
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        reject(new StoreUnavailableError(new Error(`lock "${key}" not acquired within ${timeoutMs} ms`)))
      }, timeoutMs)
      void prev.then(() => {
        clearTimeout(timer)
        if (timedOut) release()
        else resolve(release)
      })
    })
  }

  /** True while someone holds or waits for the key (tests, metrics). */
  busy(key: string): boolean {
    return this.tails.has(key)
  }
}
