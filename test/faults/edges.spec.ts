/**
 * Edges: every bad option, bootstrap.json defect, malformed multiaddr,
 * unknown network and oversized metadata gets one clear error of a named
 * class — one line, no stack trace — and leaves nothing half-written. The
 * CLI part sweeps every flag of every command (from the CLI's own command
 * table) with bad values through `main(argv)`.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { COMMANDS } from '../../src/cli/args.js'
import { main } from '../../src/cli/main.js'
import { InvalidBootstrapFileError, Netget, parseBootstrapList, loadBootstrapList } from '../../src/index.js'
import type { InvalidOptionsError } from '../../src/index.js'
import { tally } from './fixtures/figures.js'
import type { NetgetInit } from '../../src/index.js'

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const figures = { libraryCases: 0, bootstrapDefects: 0, cliInvocations: 0, stackTraces: 0, halfWritten: 0 }

/** The error `run` throws (sync or async), or fails the test if it does not throw. */
async function caught (run: () => unknown): Promise<Error> {
  try {
    await run()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an error, got none')
}

function expectClear (err: Error, name: string): void {
  expect(err.name, err.message).to.equal(name)
  expect(err.message).to.not.include('\n')
  expect(err.message).to.not.match(/\sat\s.*\(.*:\d+:\d+\)/)
  expect(err.message.length).to.be.within(20, 600)
}

async function listing (dir: string): Promise<string[]> {
  return readdir(dir, { recursive: true }).catch(() => [])
}

describe('Edges', function () {
  this.timeout(120_000)
  // a fixed path, since the CLI cases are built when the suite is defined
  const dir = join(tmpdir(), `netget-edges-${process.pid}-${Date.now()}`)

  before(async () => { await mkdir(dir, { recursive: true }) })
  after(async () => {
    tally('edges', figures)
    await rm(dir, { recursive: true, force: true })
  })

  describe('bootstrap.json defects', () => {
    const defects: Array<[string, string]> = [
      ['empty file', ''],
      ['not JSON', '{"version": 1,'],
      ['a JSON array', '[]'],
      ['JSON null', 'null'],
      ['no version', '{"networks": {}}'],
      ['version 2', '{"version": 2, "networks": {}}'],
      ['version as a string', '{"version": "1", "networks": {}}'],
      ['no networks', '{"version": 1}'],
      ['networks as an array', '{"version": 1, "networks": []}'],
      ['a bad network name', '{"version": 1, "networks": {"Prod!": {"registryNodes": []}}}'],
      ['a network without registryNodes', '{"version": 1, "networks": {"production": {}}}'],
      ['registryNodes not an array', '{"version": 1, "networks": {"production": {"registryNodes": "/ip4/1.2.3.4/tcp/1"}}}'],
      ['a registry that is not a string', '{"version": 1, "networks": {"production": {"registryNodes": [42]}}}'],
      ['a malformed multiaddr', '{"version": 1, "networks": {"production": {"registryNodes": ["/ip4/999.0.0.1/tcp/1/p2p/' + PEER + '"]}}}'],
      ['a registry without /p2p/', '{"version": 1, "networks": {"production": {"registryNodes": ["/ip4/127.0.0.1/tcp/4001"]}}}'],
      ['a bad peer ID', '{"version": 1, "networks": {"production": {"registryNodes": ["/ip4/127.0.0.1/tcp/4001/p2p/QmNope"]}}}'],
      ['a repeated registry', '{"version": 1, "networks": {"production": {"registryNodes": ["/ip4/127.0.0.1/tcp/4001/p2p/' + PEER + '", "/ip4/127.0.0.1/tcp/4001/p2p/' + PEER + '"]}}}'],
      ['a registry under two networks', '{"version": 1, "networks": {"development": {"registryNodes": ["/ip4/127.0.0.1/tcp/4001/p2p/' + PEER + '"]}, "production": {"registryNodes": ["/ip4/10.0.0.1/tcp/4001/p2p/' + PEER + '"]}}}'],
      ['a byte-order mark and garbage', '\uFEFF\u0000\u0001garbage']
    ]

    for (const [what, text] of defects) {
      it(`rejects ${what} with one InvalidBootstrapFileError naming the file`, async () => {
        figures.bootstrapDefects++
        const err = await caught(() => parseBootstrapList(text, '/etc/netget/bootstrap.json'))
        expectClear(err, 'InvalidBootstrapFileError')
        expect(err.message).to.include('/etc/netget/bootstrap.json')
        expect((err as InvalidBootstrapFileError).path).to.equal('/etc/netget/bootstrap.json')

        // the same file through new Netget(): start() fails, nothing is left in the data dir
        const file = join(dir, `bootstrap-${figures.bootstrapDefects}.json`)
        await writeFile(file, text)
        const dataDir = join(dir, `data-${figures.bootstrapDefects}`)
        const node = new Netget({ network: 'production', metadata: { name: 'api' }, bootstrapFile: file, dataDir, listen: ['/ip4/127.0.0.1/tcp/0'] })
        expectClear(await caught(async () => node.start()), 'InvalidBootstrapFileError')
        const left = await listing(dataDir)
        if (left.length > 0) { figures.halfWritten++ }
        expect(left, 'files left in the data dir').to.deep.equal([])
        expect(node.status).to.equal('stopped')
      })
    }

    it('refuses a registry (peer ID) listed under two networks, but not one listed twice in one network by two addresses', async () => {
      const other = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
      const list = (development: string[], production: string[]): string => JSON.stringify({ version: 1, networks: { development: { registryNodes: development }, production: { registryNodes: production } } })
      const err = await caught(() => parseBootstrapList(list([`/ip4/127.0.0.1/tcp/4001/p2p/${other}`, `/ip4/127.0.0.1/tcp/4002/ws/p2p/${PEER}`], [`/dns4/registry.example.com/tcp/4001/p2p/${PEER}`]), '/etc/netget/bootstrap.json'))
      expectClear(err, 'InvalidBootstrapFileError')
      expect(err.message).to.equal(`Bootstrap file /etc/netget/bootstrap.json: registry ${PEER} is listed under both networks.development and networks.production, but a registry serves one network; remove it from the wrong list`)

      const fine = parseBootstrapList(list([`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`, `/ip4/127.0.0.1/tcp/4002/ws/p2p/${PEER}`], [`/ip4/10.0.0.1/tcp/4001/p2p/${other}`]), 'bootstrap.json')
      expect(fine.networks.development).to.have.length(2)
      expect(fine.networks.production).to.have.length(1)
    })

    it('rejects a missing or unreadable file', async () => {
      figures.bootstrapDefects += 2
      expectClear(await caught(async () => loadBootstrapList(join(dir, 'nope.json'))), 'InvalidBootstrapFileError')
      expectClear(await caught(async () => loadBootstrapList(dir)), 'InvalidBootstrapFileError')
    })
  })

  describe('options, multiaddrs, networks, metadata', () => {
    const bad: Array<[string, unknown]> = [
      ['options not an object', 'production'],
      ['an unknown option', { netwrok: 'production' }],
      ['a bad nodeType', { nodeType: 'server' }],
      ['an uppercase network', { network: 'Production' }],
      ['a network with a slash', { network: 'prod/uction' }],
      ['a 33-character network', { network: 'a'.repeat(33) }],
      ['an empty network', { network: '' }],
      ['a numeric network', { network: 42 }],
      ['registryNodes not an array', { registryNodes: '/ip4/127.0.0.1/tcp/1/p2p/' + PEER }],
      ['a malformed registry multiaddr', { registryNodes: ['/ip4/nope'] }],
      ['a registry multiaddr with a bad port', { registryNodes: ['/ip4/127.0.0.1/tcp/99999/p2p/' + PEER] }],
      ['a registry without /p2p/', { registryNodes: ['/ip4/127.0.0.1/tcp/4001'] }],
      ['a registry with a bad peer ID', { registryNodes: ['/ip4/127.0.0.1/tcp/4001/p2p/QmNope'] }],
      ['a registry that is a number', { registryNodes: [4001] }],
      ['a malformed listen address', { listen: ['localhost:4001'] }],
      ['listen not an array', { listen: '/ip4/0.0.0.0/tcp/0' }],
      ['a malformed announce address', { announce: ['/dns4/'] }],
      ['metadata not an object', { metadata: 'api' }],
      ['metadata as an array', { metadata: ['api'] }],
      ['a bad service name', { metadata: { name: 'my service' } }],
      ['a service name with a slash', { metadata: { name: 'a/b' } }],
      ['a 65-character service name', { metadata: { name: 'a'.repeat(65) } }],
      ['metadata of 9 KiB', { metadata: { name: 'api', blob: 'x'.repeat(9 * 1024) } }],
      ['metadata of 10 MB', { metadata: { name: 'api', blob: 'x'.repeat(10_000_000) } }],
      ['metadata with a BigInt', { metadata: { name: 'api', n: BigInt(1) } }],
      ['circular metadata', { metadata: (() => { const m: Record<string, unknown> = { name: 'api' }; m.self = m; return m })() }],
      ['an empty dataDir', { dataDir: '' }],
      ['a privateKey that is not a key', { privateKey: 'secret' }],
      ['a negative recordTtl', { recordTtl: -1 }],
      ['a NaN healthInterval', { healthInterval: Number.NaN }],
      ['an infinite operationTimeout', { operationTimeout: Number.POSITIVE_INFINITY }],
      ['a string timeout', { requestTimeout: '3000' }],
      ['a recordTtl over 24 h', { recordTtl: 25 * 3_600_000 }],
      ['reannounceInterval not below recordTtl', { recordTtl: 10_000, reannounceInterval: 10_000 }],
      ['a reannounceJitter of 0.9', { reannounceJitter: 0.9 }],
      ['a fractional failure threshold', { healthFailureThreshold: 1.5 }],
      ['a zero maxConnections', { maxConnections: 0 }],
      ['redialMaxDelay below redialMinDelay', { redialMinDelay: 1_000, redialMaxDelay: 10 }],
      ['an empty bootstrapFile', { bootstrapFile: '' }]
    ]

    for (const [what, init] of bad) {
      it(`new Netget() rejects ${what} with one InvalidOptionsError, before touching anything`, () => {
        figures.libraryCases++
        let err: Error | undefined
        try {
          // eslint-disable-next-line no-new
          new Netget(init as NetgetInit)
        } catch (e) {
          err = e as Error
        }
        expect(err, 'no error thrown').to.not.equal(undefined)
        expectClear(err as Error, 'InvalidOptionsError')

        // err.option names an option the caller gave (metadata.name for metadata: { name })
        if (typeof init === 'object' && init !== null) {
          const option = (err as InvalidOptionsError).option
          expect(option, 'err.option').to.be.a('string')
          expect(Object.keys(init)).to.include(option?.split('.')[0])
        }
      })
    }

    it('an unknown network (valid name, absent from bootstrap.json) fails discovery with one clear error', async () => {
      figures.libraryCases++
      const file = join(dir, 'networks.json')
      await writeFile(file, JSON.stringify({ version: 1, networks: { development: { registryNodes: [] } } }))
      const node = new Netget({ network: 'staging', bootstrapFile: file, operationTimeout: 5_000 })
      try {
        const err = await caught(async () => node.discoverServiceNode('api'))
        expectClear(err, 'NoRegistryReachableError')
        expect(err.message).to.include('staging')
      } finally {
        await node.stop()
      }
    })

    it('bad arguments to methods get one InvalidOptionsError each', async () => {
      const node = new Netget({ registryNodes: [], dataDir: false })
      try {
        for (const run of [
          async () => node.discoverServiceNode(''),
          async () => node.discoverServiceNode(42 as unknown as string),
          () => node.addRegistryNode('/ip4/nope'),
          () => node.addRegistryNode('/ip4/127.0.0.1/tcp/1'),
          async () => node.removeRegistryNode('garbage'),
          async () => node.ping('not a peer'),
          async () => node.ping('/ip4/999.1.1.1/tcp/1'),
          async () => node.registerWithNetwork()
        ]) {
          figures.libraryCases++
          const err = await caught(run)
          expectClear(err, 'InvalidOptionsError')
          expect((err as InvalidOptionsError).option, `err.option of: ${err.message}`).to.be.a('string')
        }
      } finally {
        await node.stop()
      }
    })
  })

  describe('CLI: every flag of every command with bad values (main(argv))', () => {
    let cwd: string
    let bootstrapFile: string
    const notADir = join(dir, 'a-file')
    const originalCwd = process.cwd()

    before(async () => {
      cwd = await mkdtemp(join(tmpdir(), 'netget-edges-cwd-'))
      bootstrapFile = join(dir, 'empty-bootstrap.json')
      await writeFile(bootstrapFile, JSON.stringify({ version: 1, networks: { development: { registryNodes: [] }, production: { registryNodes: [] } } }))
      await writeFile(notADir, 'not a directory')
      process.chdir(cwd)
    })

    after(async () => {
      process.chdir(originalCwd)
      await rm(cwd, { recursive: true, force: true })
    })

    /** Bad values for a flag, by flag name (strings the flag can never accept). */
    function badValues (command: string, flag: string, type: 'string' | 'boolean'): string[][] {
      if (type === 'boolean') { return [[`--${flag}=yes`]] }
      const common = [[`--${flag}`], [`--${flag}=`]]
      const specific: Record<string, string[]> = {
        // a network absent from bootstrap.json is an error for clients only
        network: ['Prod!', 'a'.repeat(40), ...(command === 'registry' || command === 'id' ? [] : ['staging'])],
        registry: ['/ip4/nope', '/ip4/127.0.0.1/tcp/4001', `/ip4/127.0.0.1/tcp/4001/p2p/QmNope`, 'x'.repeat(5000)],
        'bootstrap-file': [join(dir, 'missing.json'), dir],
        listen: ['localhost:4001', '/ip4/999.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/99999'],
        announce: ['localhost:4001', '/dns4/'],
        'data-dir': [notADir],
        http: ['notaport', '70000', '-1'],
        timeout: ['abc', '0', '-5', '1e999'],
        count: ['x', '0', '-1', '1.5'],
        name: ['bad name!', 'a'.repeat(65), '../etc'],
        meta: ['novalue', '=x', `blob=${'x'.repeat(9 * 1024)}`],
        filter: ['novalue', '=x']
      }
      return [...common, ...(specific[flag] ?? ['\u0000garbage']).map(value => [`--${flag}`, value])]
    }

    /** A valid invocation of each command, that the bad flag is added to. */
    const BASE: Record<string, string[]> = {
      registry: ['--bootstrap', '--listen', '/ip4/127.0.0.1/tcp/0'],
      register: ['register', '--name', 'api', '--listen', '/ip4/127.0.0.1/tcp/0'],
      discover: ['discover', 'api'],
      ping: ['ping', `/ip4/127.0.0.1/tcp/1/p2p/${PEER}`],
      id: ['id', '--data-dir', join(dir, 'id-data')]
    }

    /**
     * Defects this sweep found in src/cli/ (owned by the CLI engineer, reported
     * to them): matched by invocation label, listed in the output, not failing
     * the suite. Remove an entry once fixed.
     */
    const KNOWN_CLI_ISSUES: Array<[RegExp, string]> = []

    const invocations: Array<[string, string[]]> = [
      ['no command', []],
      ['an unknown command', ['frobnicate']],
      ['an unknown flag', ['discover', 'api', '--frobnicate']],
      ['a missing positional', ['discover']],
      ['an extra positional', ['discover', 'a', 'b']],
      ['a bad service name', ['discover', '../etc/passwd']],
      ['a huge service name', ['discover', 'a'.repeat(100_000)]],
      ['a control character', ['discover', 'api\u0000']]
    ]

    for (const [command, spec] of Object.entries(COMMANDS)) {
      if (BASE[command] === undefined) {
        // the `network` commands have their own bad-input table in test/cli-network.spec.ts
        continue
      }

      for (const [flag, flagSpec] of Object.entries(spec.flags)) {
        if (flag === 'help' || flag === 'json' || flag === 'bootstrap') { continue }
        for (const bad of badValues(command, flag, flagSpec.type)) {
          // drop a base flag the bad one replaces, so the bad value is the only one
          const base = BASE[command].filter((arg, i, all) => arg !== `--${flag}` && all[i - 1] !== `--${flag}`)
          invocations.push([`${command} ${bad.join(' ').slice(0, 60)}`, [...base, ...bad]])
        }
      }
    }

    it(`${invocations.length} bad invocations: each exits 2–6 with one line on stderr, no stack trace, nothing written`, async () => {
      const problems: string[] = []
      const knownSeen: string[] = []

      for (const [what, argv] of invocations) {
        figures.cliInvocations++
        let stdout = ''
        let stderr = ''
        // each invocation in a fresh working directory, to see what it leaves
        const here = await mkdtemp(join(cwd, 'run-'))
        process.chdir(here)
        const code = await main(argv, {
          stdout: { write: (chunk: string) => { stdout += chunk } },
          stderr: { write: (chunk: string) => { stderr += chunk } },
          env: { NETGET_BOOTSTRAP: bootstrapFile },
          signal: AbortSignal.timeout(5_000)
        })
        process.chdir(cwd)
        const lines = stderr.trimEnd().split('\n')
        const written = await listing(here)
        const known = KNOWN_CLI_ISSUES.find(([pattern]) => pattern.test(what))

        if (/^\s+at /m.test(stderr)) { figures.stackTraces++ }
        if (written.length > 0) { figures.halfWritten++ }
        const before = problems.length
        if (code < 2 || code > 6) { problems.push(`${what}: exit ${code}: ${stderr.trim().slice(0, 200)}`) }
        if (lines.length !== 1 || !lines[0].startsWith('netget-peer: ')) { problems.push(`${what}: stderr is not one line: ${JSON.stringify(stderr.slice(0, 300))}`) }
        if (/^\s+at /m.test(stderr)) { problems.push(`${what}: stack trace`) }
        if (stdout !== '') { problems.push(`${what}: wrote to stdout: ${stdout.slice(0, 100)}`) }
        if (written.length > 0) { problems.push(`${what}: left ${written.slice(0, 4).join(', ')}`) }
        if (lines[0].length > 1_000) { problems.push(`${what}: a ${lines[0].length}-character message`) }

        if (known !== undefined && problems.length > before) {
          knownSeen.push(`${what}: ${known[1]}`)
          problems.splice(before)
        }
      }

      if (knownSeen.length > 0) { console.log(`      known CLI issues (reported to the CLI owner, not failing the suite):\n${knownSeen.map(line => `        ${line}`).join('\n')}`) }
      tally('edges', { cliKnownIssues: knownSeen.length })
      console.log(`      ${invocations.length} invocations over ${Object.keys(COMMANDS).length} commands; ${problems.length} problems`)
      problems.forEach(problem => { console.log(`        ${problem.slice(0, 300)}`) })
      expect(problems).to.deep.equal([])
    })
  })
})
