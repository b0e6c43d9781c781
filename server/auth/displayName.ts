/** Declared in shared/ (the client cleans names the same way); re-exported for the server's auth code. */
export { displayName } from '../../shared/displayName'
