/**
 * Prometheus metrics (prom-client), served at /metrics to loopback callers.
 * Counters on the hot path are incremented once per flush, not per recipient.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export class Metrics {
  readonly registry = new Registry()
  readonly updatesCommitted = new Counter({
    name: 'parley_updates_committed_total',
    help: 'Yjs updates appended to the store',
    registers: [this.registry],
  })
  readonly commitFailures = new Counter({
    name: 'parley_commit_failures_total',
    help: 'group commits the store refused',
    registers: [this.registry],
  })
  readonly commitSeconds = new Histogram({
    name: 'parley_commit_seconds',
    help: 'duration of one group commit',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  })

  constructor(sample: { connections: () => number; rooms: () => number }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_' })
    new Gauge({
      name: 'parley_connections',
      help: 'open y-websocket connections',
      registers: [this.registry],
      collect() {
        this.set(sample.connections())
      },
    })
    new Gauge({
      name: 'parley_rooms',
      help: 'documents loaded in memory',
      registers: [this.registry],
      collect() {
        this.set(sample.rooms())
      },
    })
  }
}
