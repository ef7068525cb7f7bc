/** Longest piece of user input quoted in an error message. */
const PREVIEW_LENGTH = 80

/**
 * A value as an error message quotes it: strings JSON-quoted (control
 * characters escaped), other values as JSON, and either cut to
 * {@link PREVIEW_LENGTH} characters so that a huge bad input never becomes a
 * huge message.
 */
export function preview (value: unknown): string {
  if (typeof value === 'string') {
    return value.length > PREVIEW_LENGTH ? `${JSON.stringify(value.slice(0, PREVIEW_LENGTH))}… (${value.length} characters)` : JSON.stringify(value)
  }

  const text = safeStringify(value) ?? String(value)
  return text.length > PREVIEW_LENGTH ? `${text.slice(0, PREVIEW_LENGTH)}… (${text.length} characters)` : text
}

function safeStringify (value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}
