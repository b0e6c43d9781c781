/**
 * Which token ids are revoked, mirrored in memory from the store and
 * refreshed every second, so a revocation on any instance reaches every
 * instance's admission checks and the sweep of open connections within ~1 s.
 */
import type { Store } from '../store/types'

export class Revocations {
  private revoked = new Set<string>()
  private checkedUpTo = 0
  private listeners: Array<(jti: string) => void> = []

  constructor(private readonly store: Store) {}

  has(jti: string): boolean {
    return this.revoked.has(jti)
  }

  /**
   * Called once per newly known revocation: at once for one made here (so this instance closes
   * the token's sessions before they can write another keystroke), at the next refresh for one
   * made elsewhere.
   */
  onRevoked(listener: (jti: string) => void): void {
    this.listeners.push(listener)
  }

  /** Records a revocation made here, before the next refresh would see it. */
  add(jti: string): void {
    this.learn(jti)
  }

  /** Pulls revocations newer than the last refresh (with a margin for clock skew between instances). */
  async refresh(now = Date.now()): Promise<void> {
    const rows = await this.store.revokedSince(Math.max(0, this.checkedUpTo - 10_000))
    for (const r of rows) this.learn(r.jti)
    this.checkedUpTo = now
  }

  private learn(jti: string): void {
    if (this.revoked.has(jti)) return
    this.revoked.add(jti)
    for (const l of this.listeners) l(jti)
  }
}
