/**
 * A one-line progress bar on stderr for the history CLIs. Shown only when
 * stderr is a terminal or `--progress` asks for it, and only once the work
 * turns out to be long, so short runs and pipes stay clean.
 */
export interface ProgressOptions {
  /** draw even when stderr is not a TTY (--progress) */
  force?: boolean
  /** totals below this draw nothing */
  minTotal?: number
  stream?: NodeJS.WriteStream
  width?: number
}

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream
  private readonly enabled: boolean
  private lastDraw = 0
  private drawn = false

  constructor(private readonly opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr
    this.enabled = !!opts.force || !!this.stream.isTTY
  }

  update(label: string, done: number, total: number): void {
    if (!this.enabled || total < (this.opts.minTotal ?? 2000)) return
    const now = Date.now()
    if (done < total && now - this.lastDraw < 100) return
    this.lastDraw = now
    const width = this.opts.width ?? 30
    const ratio = total > 0 ? Math.min(1, done / total) : 1
    const filled = Math.round(ratio * width)
    const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`
    // A TTY redraws in place; a log (--progress into a file) gets one line per step.
    this.stream.write(this.stream.isTTY ? `\r${line}\x1b[K` : `${line}\n`)
    this.drawn = true
  }

  finish(): void {
    if (this.drawn && this.stream.isTTY) this.stream.write('\r\x1b[K')
    this.drawn = false
  }
}
