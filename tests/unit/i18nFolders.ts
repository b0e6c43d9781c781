/**
 * Which parts of the client speak only through the message files (messages/<locale>.json),
 * checked by tests/unit/i18n.untranslated.test.ts. Add a folder (or a single .svelte file),
 * relative to client/src, once every string of it is a message.
 */
export const TRANSLATED_FOLDERS: readonly string[] = [
  'App.svelte',
  'lib/admin',
  'lib/api',
  'lib/board',
  'lib/comments',
  'lib/conclude',
  'lib/connection',
  'lib/design',
  'lib/editor',
  'lib/history',
  'lib/i18n',
  'lib/presence',
  'lib/terms',
  'lib/workspace',
  'routes',
]

/**
 * Literal text the scanner lets pass, each with why it needs no translation. Matched against
 * the whole text node or attribute value, trimmed, spaces collapsed. Keep it short.
 */
export const UNTRANSLATED_ALLOWED: readonly { text: string; reason: string }[] = [
  { text: 'Parley', reason: 'the product name' },
  { text: 'PDF', reason: 'a file format name' },
  { text: 'JSON', reason: 'a file format name' },
  { text: 'Markdown', reason: 'a file format name' },
  { text: 'HTML', reason: 'a file format name' },
  { text: 'Word', reason: 'a product name (Microsoft Word)' },
  { text: '.docx', reason: 'a file extension' },
  { text: '#token=', reason: 'the syntax of an invite link, shown as code' },
]
