import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import ts from 'typescript'

const ROOT = new URL('../..', import.meta.url).pathname
const CHECK_DIR = join(ROOT, 'dist', 'readme-check')

/** The README's TypeScript examples, type-checked against the built package. */
describe('README examples', function () {
  this.timeout(120_000)

  after(async () => {
    await rm(CHECK_DIR, { recursive: true, force: true })
  })

  it('every ```ts block compiles against the public API', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map(match => match[1])
    expect(blocks.length).to.be.greaterThan(3)

    await mkdir(CHECK_DIR, { recursive: true })
    const files = await Promise.all(blocks.map(async (code, index) => {
      // fragments may use `node` or `client` without declaring them
      const preamble = ['node', 'client']
        .filter(name => new RegExp(`\\b${name}\\b`).test(code) && !new RegExp(`(const|let) ${name}\\b`).test(code))
        .map(name => `declare const ${name}: import('netget').Netget\n`)
        .join('')
      const file = join(CHECK_DIR, `example-${index}.ts`)
      await writeFile(file, `${preamble}${code}\nexport {}\n`)
      return file
    }))

    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2024.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      useUnknownInCatchVariables: false
    })
    const problems = ts.getPreEmitDiagnostics(program).map(diagnostic => {
      const where = diagnostic.file === undefined ? '' : `${diagnostic.file.fileName.slice(CHECK_DIR.length + 1)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}: `
      return where + ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    })
    expect(problems).to.deep.equal([])
  })
})
