/**
 * A Y.Doc whose events cost nothing when nobody listens. Yjs emits six or
 * seven doc events per transaction (beforeAllTransactions, beforeTransaction,
 * beforeObserverCalls, afterTransaction, afterTransactionCleanup, …) whether
 * or not anything listens, and lib0's `ObservableV2.emit` builds a fresh Map
 * for every event that has no listener, only to iterate over it. With a room
 * doc and the history's fold doc applying every keystroke that was ~3 % of
 * the server's CPU in bench (b), and a good share of its garbage. Same
 * behaviour otherwise: lib0 drops an event's entry once its last listener is
 * removed, so no entry means no listener to call.
 */
import * as Y from 'yjs'

type DocEvents = Y.Doc extends { on(name: infer N, f: any): any } ? N : never

export class QuietDoc extends Y.Doc {
  override emit(name: DocEvents & string, args: unknown[]): void {
    if (this._observers.get(name) === undefined) return
    ;(super.emit as (name: string, args: unknown[]) => void)(name, args)
  }
}
