import { spawn } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import ts from 'typescript'
import { createTestnet } from '../src/testing/index.js'

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

  it('the Browser section\'s chat service runs as written, given the registry\'s address', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const code = /The `chat` service is an ordinary Node peer[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(code).to.be.a('string')
    await mkdir(CHECK_DIR, { recursive: true })
    // inside the package, so `import 'netget'` resolves to it by its own name
    const file = join(CHECK_DIR, 'chat.mjs')
    await writeFile(file, code as string)
    const testnet = await createTestnet(0, { network: 'demo' })
    const child = spawn(process.execPath, [file, testnet.registryNodes[0]], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: '' } })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })

    try {
      const client = testnet.createNode()
      let instances: Awaited<ReturnType<typeof client.discoverServiceNode>> = []

      // the child starts and registers in its own time: ask again every 250 ms, for 30 s at most
      const deadline = Date.now() + 30_000

      while (instances.length === 0 && Date.now() < deadline && child.exitCode === null) {
        instances = await client.discoverServiceNode('chat', { signal: AbortSignal.timeout(5_000) }).catch(async () => {
          await new Promise(resolve => setTimeout(resolve, 250))
          return []
        })
      }

      expect(instances, stderr).to.have.length(1)
      const channel = await client.openChannel(instances[0])
      await channel.send({ text: 'hello' })
      const iterator = channel[Symbol.asyncIterator]()
      const { value } = await iterator.next()
      expect(value).to.deep.equal({ echo: { text: 'hello' }, from: instances[0].peerId })
      await channel.close()
    } finally {
      child.kill('SIGTERM')
      await testnet.destroy()
    }
  })
})
