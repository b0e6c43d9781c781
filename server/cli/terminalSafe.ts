/**
 * What the CLIs print to a terminal carries text delegations typed, and a
 * terminal obeys control characters: `\x1b[2J` clears the operator's screen,
 * `\x1bc` resets it, OSC sequences set the window title or the clipboard, and
 * `\r` or a backspace overwrite what was printed before (an "AGREED" can be
 * printed over a "REJECTED"). So on a terminal every C0 control but newline
 * and tab, DEL and every C1 control (the 8-bit CSI and OSC among them) are
 * dropped; without its ESC no escape sequence does anything. A file or a pipe
 * is not a terminal: it gets the exact text, which is the record.
 */

/** C0 except \t (09) and \n (0a), DEL (7f), C1 (80–9f). */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g

/** `text` without the control characters a terminal would act on. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, '')
}

/** `text` as it may be written to `stream`: made terminal-safe when the stream is a terminal, else unchanged. */
export function forStream(stream: { isTTY?: boolean }, text: string): string {
  return stream.isTTY ? terminalSafe(text) : text
}
