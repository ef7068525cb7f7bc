import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { expect } from 'chai'
import ts from 'typescript'
import { generatedBlock, MARKERS, renderOptionsTable } from '../scripts/options-table.js'
import { Netget, parseBootstrapList } from '../src/index.js'
import { OPTIONS, defaultText, normalizeOptions, optionEntries } from '../src/options/index.js'
import { rejectionOf } from './helpers.js'
import type { NetgetInit } from '../src/index.js'

const ROOT = new URL('../..', import.meta.url).pathname

const PEER = '12D3KooWHFrmLWTTDD4NodngtRMEVYgxrsDzp4QT7ymiXaRNnJTP'

describe('options', () => {
  const bad: Array<[string, unknown, RegExp, string]> = [
    ['an unknown option', { netwrok: 'production' }, /Unknown option "netwrok"/, 'netwrok'],
    ['a bad nodeType', { nodeType: 'client' }, /"nodeType" must be "service" or "registry"/, 'nodeType'],
    ['a bad network name', { network: 'Prod Net' }, /"network" must be a network name/, 'network'],
    ['metadata that is not an object', { metadata: 'db' }, /"metadata" must be an object/, 'metadata'],
    ['a bad service name', { metadata: { name: 'has space' } }, /"metadata.name" must be a service name/, 'metadata.name'],
    ['metadata over 8 KiB', { metadata: { name: 'db', blob: 'x'.repeat(9000) } }, /at most 8192 are allowed/, 'metadata'],
    ['registryNodes that is not an array', { registryNodes: '/ip4/1.2.3.4/tcp/1' }, /"registryNodes" must be an array/, 'registryNodes'],
    ['a registry without /p2p/', { registryNodes: ['/ip4/1.2.3.4/tcp/4001'] }, /has no \/p2p\/<peer id> part/, 'registryNodes'],
    ['a registry that is not a multiaddr', { registryNodes: ['registry.example.com:4001'] }, /is not a valid multiaddr/, 'registryNodes'],
    ['a registry with a bad peer ID', { registryNodes: ['/ip4/1.2.3.4/tcp/4001/p2p/QmNotAPeer'] }, /is not a valid peer ID/, 'registryNodes'],
    ['a bad listen address', { listen: ['0.0.0.0:4001'] }, /"listen": "0.0.0.0:4001" is not a valid multiaddr/, 'listen'],
    ['a negative timeout', { operationTimeout: -1 }, /"operationTimeout" must be a positive number/, 'operationTimeout'],
    ['a TTL over 24 hours', { recordTtl: 25 * 3600_000 }, /"recordTtl" must be at most/, 'recordTtl'],
    ['a re-announce interval not under the TTL', { recordTtl: 1000, reannounceInterval: 1000 }, /must be less than "recordTtl"/, 'reannounceInterval'],
    ['a jitter over 0.5', { reannounceJitter: 2 }, /"reannounceJitter" must be a number from 0 to 0.5/, 'reannounceJitter'],
    ['a fractional failure threshold', { healthFailureThreshold: 1.5 }, /"healthFailureThreshold" must be a whole number/, 'healthFailureThreshold'],
    ['an empty dataDir', { dataDir: '' }, /"dataDir" must be a directory path/, 'dataDir'],
    ['a privateKey that is not a key', { privateKey: 'secret' }, /"privateKey" must be a libp2p PrivateKey/, 'privateKey'],
    ['a privateKey that is not Ed25519', { privateKey: privateKeyFromRaw(new Uint8Array(32).fill(7)) }, /"privateKey" must be an Ed25519 key/, 'privateKey']
  ]

  for (const [what, init, message, option] of bad) {
    it(`rejects ${what} with InvalidOptionsError`, () => {
      expect(() => new Netget(init as NetgetInit)).to.throw(message).with.property('name', 'InvalidOptionsError')
      expect(() => new Netget(init as NetgetInit)).to.throw(message).with.property('option', option)
    })
  }

  it('names the option in every InvalidOptionsError it throws for one', () => {
    // a symbol is a bad value for every option
    for (const option of Object.keys(OPTIONS)) {
      expect(() => new Netget({ [option]: Symbol('bad') } as NetgetInit), option)
        .to.throw(`"${option}"`).with.property('option', option)
    }
    expect(() => new Netget({ redialMinDelay: 1_000, redialMaxDelay: 10 })).to.throw(/"redialMaxDelay" \(10\) must not be less than "redialMinDelay"/).with.property('option', 'redialMaxDelay')
    expect(() => new Netget('production' as NetgetInit)).to.throw(/must be an object/).with.property('option', undefined)
  })

  describe('the options table', () => {
    it('is what normalizeOptions() applies: every fixed default, and the derived ones by their rule', () => {
      const config = normalizeOptions({}) as unknown as Record<string, unknown>
      for (const [option, spec] of optionEntries()) {
        if (spec.default !== undefined && typeof spec.default !== 'function') {
          expect(config[option], option).to.deep.equal(spec.default)
        }
      }
      expect(Object.keys(config).filter(key => key !== 'serviceName')).to.deep.equal(Object.keys(OPTIONS))

      // the defaults that depend on other options
      expect(normalizeOptions({ recordTtl: 30_000 }).reannounceInterval).to.equal(10_000)
      expect(normalizeOptions({ recordTtl: 3_600_000 }).reannounceInterval).to.equal(180_000)
      expect(normalizeOptions({ redialMinDelay: 60_000 }).redialMaxDelay).to.equal(60_000)
      expect(normalizeOptions({ nodeType: 'registry' }).listen).to.deep.equal(['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws'])
      expect(normalizeOptions({ metadata: { name: 'db' }, network: 'staging' })).to.include({ dataDir: '.netget/staging/db', maxConnections: 300, serviceName: 'db' })
    })

    it('is the README\'s options table, row for row', async () => {
      const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
      expect(readme.indexOf(MARKERS.start), 'one generated options table').to.equal(readme.lastIndexOf(MARKERS.start))
      const block = generatedBlock(readme)
      expect(block, 'the options-table markers in README.md').to.be.a('string')

      // option and default of every row, so that a mismatch names the option
      const rows = (block ?? '').split('\n').filter(line => line.startsWith('| `'))
        .map(line => line.split(/(?<!\\)\|/).slice(1, 3).map(cell => cell.trim()))
      expect(rows).to.deep.equal(optionEntries().map(([option, spec]) => [`\`${option}\``, defaultText(spec)]))

      // and the whole block, units, meanings and rules too: regenerate it with
      // `node dist/scripts/options-table.js --write`
      expect(block).to.equal(renderOptionsTable())
    })

    it('is what the TSDoc @default of every option of NetgetInit says', async () => {
      const file = join(ROOT, 'src', 'options', 'init.ts')
      const source = ts.createSourceFile(file, await readFile(file, 'utf8'), ts.ScriptTarget.ES2022, true)
      const init = source.statements.find((statement): statement is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(statement) && statement.name.text === 'NetgetInit')
      expect(init, `interface NetgetInit in ${file}`).to.not.equal(undefined)

      const documented = (init?.members ?? []).map(member => {
        const tags = ts.getJSDocTags(member).filter(tag => tag.tagName.text === 'default')
        expect(tags, `one @default on ${member.name?.getText(source)}`).to.have.length(1)
        return [member.name?.getText(source), ts.getTextOfJSDocComment(tags[0].comment)?.replace(/\s+/g, ' ').trim()]
      })
      expect(documented).to.deep.equal(optionEntries().map(([option, spec]) => [option, defaultText(spec)]))
    })
  })

  it('applies documented defaults', () => {
    const node = new Netget()
    expect(node.network).to.equal('development')
    expect(node.nodeType).to.equal('service')
    expect(node.config.dataDir).to.equal(false)
    expect(node.config.listen).to.deep.equal([])
    const service = new Netget({ metadata: { name: 'db' } })
    expect(service.config.dataDir).to.equal('.netget/development/db')
    expect(service.config.listen).to.have.length(2)
    const registry = new Netget({ nodeType: 'registry', network: 'production' })
    expect(registry.config.dataDir).to.equal('.netget/production/registry')
    expect(registry.config.maxConnections).to.equal(2000)
  })

  it('refuses to register without a service name, or from a registry', async () => {
    expect(await rejectionOf(new Netget({ dataDir: false }).registerWithNetwork())).to.have.property('name', 'InvalidOptionsError')
    expect(await rejectionOf(new Netget({ nodeType: 'registry', dataDir: false }).registerWithNetwork())).to.have.property('name', 'UnsupportedOperationError')
  })

  it('says so when no registry is configured or reachable', async () => {
    const none = new Netget({ network: 'lonely', dataDir: false, registryNodes: [] })
    const err = await rejectionOf(none.discoverServiceNode('api'))
    expect(err).to.have.property('name', 'NoRegistryReachableError')
    expect(err.message).to.match(/No registry nodes are configured for network "lonely"/)
    await none.stop()

    const unreachable = new Netget({ dataDir: false, registryNodes: [`/ip4/127.0.0.1/tcp/9/p2p/${PEER}`] })
    const failed = await rejectionOf(unreachable.discoverServiceNode('api'))
    expect(failed).to.have.property('name', 'NoRegistryReachableError')
    expect(failed.message).to.match(/No registry of network "development" is reachable \(\/ip4\/127.0.0.1\/tcp\/9/)
    await unreachable.stop()
  })

  it('says which addresses it cannot listen on when a port is taken', async () => {
    const first = new Netget({ dataDir: false, metadata: { name: 'api' }, listen: ['/ip4/127.0.0.1/tcp/0'], registryNodes: [] })
    await first.start()
    const taken = first.multiaddrs[0].split('/p2p/')[0]
    const second = new Netget({ dataDir: false, metadata: { name: 'api' }, listen: [taken], registryNodes: [] })
    const err = await rejectionOf(second.start())
    expect(err).to.have.property('name', 'ListenError')
    expect(err).to.have.property('addressInUse', true)
    expect(err.message).to.equal(`Cannot listen on ${taken}: a port is already in use; stop the process using it, or choose other "listen" addresses (tcp/0 picks a free port)`)
    expect(second.status).to.equal('stopped')
    await first.stop()
  })

  describe('bootstrap.json', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['invalid JSON', '{"version": 1,', /is not valid JSON/],
      ['a wrong version', '{"version": 2, "networks": {}}', /"version" must be 1/],
      ['missing networks', '{"version": 1}', /"networks" must be an object/],
      ['a bad network name', '{"version": 1, "networks": {"Prod": {"registryNodes": []}}}', /network name "Prod" is invalid/],
      ['registryNodes not an array', '{"version": 1, "networks": {"production": {"registryNodes": "x"}}}', /networks.production must be an object with a "registryNodes" array/],
      ['an address without /p2p/', '{"version": 1, "networks": {"production": {"registryNodes": ["/ip4/1.2.3.4/tcp/4001"]}}}', /networks.production.registryNodes\[0\]: .* has no \/p2p\/<peer id> part/],
      ['a repeated address', `{"version": 1, "networks": {"production": {"registryNodes": ["/ip4/1.2.3.4/tcp/4001/p2p/${PEER}", "/ip4/1.2.3.4/tcp/4001/p2p/${PEER}"]}}}`, /repeats/]
    ]

    for (const [what, text, message] of cases) {
      it(`rejects ${what} with InvalidBootstrapFileError`, () => {
        expect(() => parseBootstrapList(text, 'bootstrap.json')).to.throw(message).with.property('name', 'InvalidBootstrapFileError')
      })
    }

    it('reads the network\'s registries from the file a node is given', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'netget-bootstrap-'))

      try {
        const file = join(dir, 'bootstrap.json')
        await writeFile(file, JSON.stringify({ version: 1, networks: { production: { registryNodes: [`/ip4/127.0.0.1/tcp/9/p2p/${PEER}`] } } }))
        const node = new Netget({ network: 'production', bootstrapFile: file, dataDir: false })
        await node.start()
        expect(node.registryNodes().map(registry => registry.peerId)).to.deep.equal([PEER])
        await node.stop()

        await writeFile(file, '{ broken')
        const broken = new Netget({ network: 'production', bootstrapFile: file, dataDir: false })
        const err = await rejectionOf(broken.start())
        expect(err).to.have.property('name', 'InvalidBootstrapFileError')
        expect(err.message).to.include(file)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('ships a valid bootstrap.json with the default networks', async () => {
      const node = new Netget({ network: 'production', dataDir: false })
      await node.start()
      expect(node.registryNodes()).to.be.an('array')
      await node.stop()
    })
  })
})
