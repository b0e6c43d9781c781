/** Minimal argv parsing for the history CLIs: positionals, `--flag`, `--key value` and `--key=value`. */
export interface ParsedArgs {
  positional: string[]
  flags: Set<string>
  values: Map<string, string>
}

export function parseArgs(argv: string[], valued: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { positional: [], flags: new Set(), values: new Map() }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) {
      out.positional.push(arg)
      continue
    }
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined]
    if (valued.includes(key)) {
      const value = inline ?? argv[++i]
      if (value === undefined) throw new Error(`--${key} needs a value`)
      out.values.set(key, value)
    } else out.flags.add(key)
  }
  return out
}
