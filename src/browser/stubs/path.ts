/** Browser stand-in for node:path (package.json "browser" map): the one function the Netget class uses. */
export function join (...parts: string[]): string {
  return parts.join('/').replace(/\/+/g, '/')
}
