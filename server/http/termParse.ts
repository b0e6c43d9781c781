/**
 * `POST /api/terms/parse` (CONTRACT.md "Word documents"): the bytes of a
 * .docx in, `{terms:[{title, body}], warnings, title?}` out, fitted to what a
 * negotiation accepts at creation. Nothing is stored.
 *
 * Who is asking is settled before the body is read (admin token, or a
 * negotiator's capability token of any negotiation), so an anonymous upload
 * costs one refusal and a closed connection, not ten megabytes. The body is
 * read up to MAX_WORD_FILE_BYTES (413 past it, read no further). Reading a
 * document holds its parsed XML in memory and the event loop for a while, so
 * at most READS_AT_ONCE run at a time and at most READS_WAITING wait; past
 * that the caller hears 429 and tries again.
 */
import type { IncomingMessage } from 'node:http'
import { ErrorCode } from '../../shared/errors'
import { MAX_WORD_FILE_BYTES, WORD_UPLOAD_CONTENT_TYPES, type ParsedTermSheet } from '../../shared/word'
import type { TokenAdmission } from '../auth/admission'
import { adminTokenMatches } from '../auth/tokens'
import { ParleyError, badRequest, forbidden, unauthorized } from '../errors'
import { fitTerms, readTermSheet } from '../word/readDocx'
import { readBody, type Handler } from './router'

export const READS_AT_ONCE = 2
export const READS_WAITING = 8

export interface TermParseDeps {
  adminToken: string
  admission: TokenAdmission
}

/** The admin, or a negotiator: those who draft terms. */
async function requireDrafter(deps: TermParseDeps, token: string | undefined): Promise<void> {
  if (adminTokenMatches(token, deps.adminToken)) return
  const claims = await deps.admission.claimsOf(token)
  if (!claims) throw unauthorized('the admin token or a negotiator’s token is required')
  if (claims.role !== 'negotiator') throw forbidden(`${claims.role}s cannot bring in Word documents`)
}

function requireWordUpload(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type && !WORD_UPLOAD_CONTENT_TYPES.includes(type))
    throw badRequest(
      `send the .docx file's bytes as the body, with content-type ${WORD_UPLOAD_CONTENT_TYPES.join(' or ')} (not ${type})`,
    )
}

/** At most `running` tasks at once, `waiting` more in line; past that, refused. */
export class Gate {
  private active = 0
  private readonly queue: Array<() => void> = []

  constructor(
    private readonly running: number,
    private readonly waiting: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.running) {
      if (this.queue.length >= this.waiting)
        throw new ParleyError(ErrorCode.rateLimited.name, 'the server is reading other Word documents; try again in a moment')
      await new Promise<void>((resolve) => this.queue.push(resolve))
    } else this.active++
    try {
      return await task()
    } finally {
      const next = this.queue.shift()
      if (next) next()
      else this.active--
    }
  }
}

/**
 * The term sheet in an upload whose sender is settled: its content type checked, its body read up
 * to MAX_WORD_FILE_BYTES (413 past it), read through `gate`. Every route that takes a .docx reads it
 * so (here, and Word drafts: `POST …/drafts`), and shares one gate.
 */
export async function readWordUpload(req: IncomingMessage, gate: Gate): Promise<ParsedTermSheet> {
  requireWordUpload(req)
  const bytes = await readBody(req, MAX_WORD_FILE_BYTES, 'the file is larger than 10 MiB')
  return gate.run(() => readTermSheet(bytes))
}

export function termParseRoute(
  deps: TermParseDeps,
  bearer: (req: IncomingMessage) => string | undefined,
  gate = new Gate(READS_AT_ONCE, READS_WAITING),
): Handler {
  return async ({ req }) => {
    await requireDrafter(deps, bearer(req))
    const sheet = await readWordUpload(req, gate)
    return { status: 200, json: fitTerms(sheet) }
  }
}
