/**
 * Prints the README's table of `new Netget()` options, generated from the
 * options table in src/options/table.ts (one row per option: its default,
 * unit and meaning), followed by the rules between options. With `--write`,
 * replaces the generated block of README.md (between the options-table
 * markers) instead. test/options.spec.ts fails when the README and this
 * output differ.
 *
 * Usage: node dist/scripts/options-table.js [--write]
 */
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { OPTION_RULES, defaultText, optionEntries } from '../src/options/index.js'

/** The package root: this file is dist/scripts/options-table.js. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The lines around the generated block in README.md. */
export const MARKERS = {
  start: '<!-- options-table: generated from src/options/table.ts by `node dist/scripts/options-table.js --write`; do not edit by hand -->',
  end: '<!-- /options-table -->'
}

/** The options table and the rules between options, as markdown. */
export function renderOptionsTable (): string {
  const rows = optionEntries().map(([option, spec]) => row([`\`${option}\``, defaultText(spec), spec.unit ?? '—', spec.doc]))
  const rules = OPTION_RULES.map(rule => `- ${rule.doc}`)
  return [row(['option', 'default', 'unit', 'meaning']), row(['---', '---', '---', '---']), ...rows, '', 'Rules between options, checked once the defaults are applied:', '', ...rules].join('\n')
}

/** The generated block of `readme` (between the markers), or undefined if it has none. */
export function generatedBlock (readme: string): string | undefined {
  const range = blockRange(readme)
  return range === undefined ? undefined : readme.slice(range.start, range.end).replace(/^\n/, '').replace(/\n$/, '')
}

/** Where the text between the markers starts and ends. */
function blockRange (readme: string): { start: number, end: number } | undefined {
  const start = readme.indexOf(MARKERS.start)
  const end = readme.indexOf(MARKERS.end)
  return start === -1 || end < start ? undefined : { start: start + MARKERS.start.length, end }
}

function row (cells: string[]): string {
  return `| ${cells.map(cell => cell.replaceAll('|', '\\|')).join(' | ')} |`
}

async function writeReadme (path: string): Promise<void> {
  const readme = await readFile(path, 'utf8')
  const range = blockRange(readme)

  if (range === undefined) {
    throw new Error(`${path} has no options-table markers`)
  }

  await writeFile(path, `${readme.slice(0, range.start)}\n${renderOptionsTable()}\n${readme.slice(range.end)}`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write')) {
    await writeReadme(join(ROOT, 'README.md'))
  } else {
    process.stdout.write(`${renderOptionsTable()}\n`)
  }
}
