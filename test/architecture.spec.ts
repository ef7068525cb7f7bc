import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { expect } from 'chai'

/** The package root: this file runs as dist/test/architecture.spec.js. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const SRC = join(ROOT, 'src')

function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** Every relative import of a source file (types included), as source paths. */
function importsOf (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.{1,2}\/[^']+)'/g)].map(match => match[1])
  return specifiers.map(specifier => resolve(dirname(file), specifier.replace(/\.js$/, '.ts')))
}

describe('architecture', () => {
  it('has no import cycle in src/', () => {
    const graph = new Map(sourceFiles(SRC).map(file => [file, importsOf(file)]))
    const done = new Set<string>()
    const cycles: string[] = []

    const visit = (file: string, path: string[]): void => {
      if (path.includes(file)) {
        cycles.push([...path.slice(path.indexOf(file)), file].map(entry => relative(SRC, entry)).join(' → '))
        return
      }

      if (done.has(file)) {
        return
      }

      for (const next of graph.get(file) ?? []) {
        visit(next, [...path, file])
      }

      done.add(file)
    }

    for (const file of graph.keys()) {
      visit(file, [])
    }

    expect(cycles).to.deep.equal([])
  })

  it('maps each browser replacement as x.js → x.browser.js, and each pair exports the same names', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { browser: Record<string, string> }
    const pairs = Object.entries(pkg.browser)
    expect(pairs).to.have.length.greaterThan(0)

    for (const [node, browser] of pairs) {
      expect(browser, `package.json "browser": ${node}`).to.equal(node.replace(/\.js$/, '.browser.js'))
      const nodeExports = Object.keys(await import(pathToFileURL(join(ROOT, node)).href)).sort()
      const browserExports = Object.keys(await import(pathToFileURL(join(ROOT, browser)).href)).sort()
      expect(browserExports, `${browser} exports what ${node} does`).to.deep.equal(nodeExports)
    }
  })

  it('keeps every *.browser.ts file mapped in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { browser: Record<string, string> }
    const mapped = new Set(Object.values(pkg.browser))
    const browserFiles = sourceFiles(SRC).filter(file => file.endsWith('.browser.ts')).map(file => `./dist/${relative(ROOT, file).replace(/\.ts$/, '.js')}`)
    expect(browserFiles.filter(file => !mapped.has(file))).to.deep.equal([])
  })
})
