/**
 * A refusal with a code from shared/errors.ts. HTTP routes answer it as
 * `{error:{code, message}}` with the code's status; socket.io acks as
 * `{ok:false, error:{code, message}}`. Anything else thrown is a 500/internal.
 */
import { ErrorCode, statusOf, type ErrorCodeName } from '../shared/errors'

export class ParleyError extends Error {
  constructor(
    readonly code: ErrorCodeName,
    message: string,
  ) {
    super(message)
    this.name = 'ParleyError'
  }

  get status(): number {
    return statusOf(this.code)
  }

  toBody() {
    return { code: this.code, message: this.message }
  }
}

export const badRequest = (message: string) => new ParleyError(ErrorCode.badRequest.name, message)
export const forbidden = (message = 'not allowed') => new ParleyError(ErrorCode.forbidden.name, message)
export const unauthorized = (message = 'missing, bad, expired or revoked token') =>
  new ParleyError(ErrorCode.unauthorized.name, message)
export const notFound = (message: string) => new ParleyError(ErrorCode.notFound.name, message)
