/**
 * The refusal of a Word file that cannot be read: 400 `bad-document`
 * (CONTRACT.md "Word documents"). A ParleyError, so an HTTP route that lets it
 * through answers `{error:{code:'bad-document', message}}`; its message is
 * written for the person who uploaded the file.
 */
import { ErrorCode } from '../../shared/errors'
import { ParleyError } from '../errors'

export class BadDocumentError extends ParleyError {
  constructor(message: string) {
    super(ErrorCode.badDocument.name, message)
    this.name = 'BadDocumentError'
  }
}
