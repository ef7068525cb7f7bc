import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { VECTOR_GENERATORS } from './vectors/index.js'

/**
 * Writes the test vectors of docs/PROTOCOL.md to docs/vectors/ (`--write`),
 * or checks that the files there are what the generators make now (the
 * default; exits 1 naming the files that differ). Run from the repository's
 * root after building: `node dist/scripts/vectors.js --write`.
 */
export async function main (argv: string[]): Promise<number> {
  const write = argv.includes('--write')
  const dir = join(process.cwd(), 'docs', 'vectors')
  const stale: string[] = []
  await mkdir(dir, { recursive: true })

  for (const generator of VECTOR_GENERATORS) {
    const text = `${JSON.stringify(await generator.generate(), null, 2)}\n`
    const path = join(dir, generator.file)

    if (write) {
      await writeFile(path, text)
      process.stdout.write(`wrote ${path}\n`)
    } else if (await readFile(path, 'utf8').catch(() => '') !== text) {
      stale.push(generator.file)
    }
  }

  if (stale.length > 0) {
    process.stderr.write(`docs/vectors is out of date (${stale.join(', ')}): run node dist/scripts/vectors.js --write\n`)
    return 1
  }

  return 0
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2))
}
