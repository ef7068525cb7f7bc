/**
 * What `npm pack` ships: a LICENSE, source maps whose sources are in the
 * package, and types for every entry — the browser ones for browser
 * TypeScript users, never the Node ones.
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect } from 'chai'
import ts from 'typescript'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

describe('the package', function () {
  this.timeout(120_000)
  let files: string[]

  before(async () => {
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })
    files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map(file => file.path)
  })

  it('ships the built scripts the registry HTTP port serves', () => {
    expect(files).to.include.members(['dist/netget.browser.js', 'dist/dashboard.js'])
  })

  it('ships the MIT LICENSE', async () => {
    expect(files).to.include('LICENSE')
    expect(await readFile(join(ROOT, 'LICENSE'), 'utf8')).to.match(/^MIT License\n\nCopyright \(c\) \d{4} netget contributors\n/)
  })

  it('ships the sources every source map points at', async () => {
    const shipped = new Set(files)
    const maps = files.filter(file => file.endsWith('.map'))
    expect(maps).to.not.have.length(0)
    const missing: string[] = []

    for (const map of maps) {
      const { sources } = JSON.parse(await readFile(join(ROOT, map), 'utf8')) as { sources: string[] }

      for (const source of sources) {
        const path = posix.normalize(posix.join(posix.dirname(map), source))

        if (!shipped.has(path)) {
          missing.push(`${map} -> ${path}`)
        }
      }
    }

    expect(missing).to.deep.equal([])
  })

  it('gives browser TypeScript users the browser types, for "netget" and "netget/browser.js"', async () => {
    const dir = join(ROOT, 'test-artifacts', 'types-check')
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true })
    const page = join(dir, 'page.ts')
    const script = join(dir, 'script.ts')
    // dialPolicy exists on the browser Netget only
    await writeFile(page, "import { Netget } from 'netget'\nexport const netget = new Netget({ network: 'demo', registryNodes: ['/dns4/r.example.com/tcp/443/tls/ws/p2p/12D3KooW'], dialPolicy: 'strict' })\n")
    await writeFile(script, "import 'netget/browser.js'\nexport const netget = new Netget({ network: 'demo', registryNodes: [], dialPolicy: 'any' })\nexport const error: typeof Netget.ChannelError = Netget.ChannelError\n")
    const program = ts.createProgram([page, script], {
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      customConditions: ['browser'],
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2024.d.ts', 'lib.dom.d.ts'],
      types: [],
      strict: true,
      skipLibCheck: true,
      noEmit: true
    })
    const diagnostics = ts.getPreEmitDiagnostics(program).map(diagnostic => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))
    await rm(dir, { recursive: true, force: true })
    expect(diagnostics).to.deep.equal([])
  })
})
