/* eslint-env mocha */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { main } from '../src/cli/main.js'
import { DEFAULT_HEALTH_FAILURE_THRESHOLD, DEFAULT_HEALTH_INTERVAL, DEFAULT_HEALTH_TIMEOUT } from '../src/constants.js'
import { healthWindow, startRegistryHttp } from '../src/index.js'
import { createTestnet } from '../src/testing/index.js'
import type { ChildProcess } from 'node:child_process'

const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url))
const LOOPBACK = ['--listen', '/ip4/127.0.0.1/tcp/0']
/** How long to wait for one expected line of output. */
const LINE_TIMEOUT = 15_000

interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Runs `main(argv)` in this process with captured output. */
async function run (argv: string[], env: Record<string, string | undefined> = {}, signal?: AbortSignal): Promise<Result> {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, {
    stdout: { write: chunk => { stdout += chunk } },
    stderr: { write: chunk => { stderr += chunk } },
    env,
    signal
  })
  return { code, stdout, stderr }
}

/** A `netget-peer` child process whose output is collected line by line. */
class Peer {
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  stdout = ''
  stderr = ''
  private readonly waiters = new Set<() => void>()

  constructor (args: string[], env: Record<string, string> = {}) {
    const childEnv = { ...process.env, ...env }
    delete childEnv.DEBUG
    this.child = spawn(process.execPath, [BIN, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { this.stdout += chunk; this.notify() })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk; this.notify() })
    this.exited = new Promise(resolve => {
      this.child.on('close', code => { resolve(code); this.notify() })
    })
  }

  /** The JSON lines printed so far on stdout. */
  events (): Array<Record<string, any>> {
    return this.stdout.split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line))
  }

  /** Resolves with the first JSON line on stdout whose `event` is `name`. */
  async event (name: string, accept: (event: Record<string, any>) => boolean = () => true): Promise<Record<string, any>> {
    return this.until(() => this.events().find(event => event.event === name && accept(event)), `event "${name}"`)
  }

  /** Resolves once the process has exited, with its exit code. */
  async exit (): Promise<number | null> {
    return this.until(() => this.child.exitCode ?? (this.child.signalCode !== null ? -1 : undefined), 'exit').then(async () => this.exited)
  }

  private async until<T> (check: () => T | undefined, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = (): void => {
        const value = check()

        if (value !== undefined) {
          clearTimeout(timer)
          this.waiters.delete(attempt)
          resolve(value)
        } else if (this.child.exitCode !== null && what !== 'exit') {
          clearTimeout(timer)
          this.waiters.delete(attempt)
          reject(new Error(`process exited with ${this.child.exitCode} before ${what}; stderr: ${this.stderr}`))
        }
      }
      const timer = setTimeout(() => {
        this.waiters.delete(attempt)
        reject(new Error(`no ${what} within ${LINE_TIMEOUT} ms; stdout: ${this.stdout}; stderr: ${this.stderr}`))
      }, LINE_TIMEOUT)
      this.waiters.add(attempt)
      attempt()
    })
  }

  private notify (): void {
    for (const waiter of [...this.waiters]) {
      waiter()
    }
  }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal)
    }
  }
}

/** Runs a `netget-peer` process to completion. */
async function runProcess (args: string[], env: Record<string, string> = {}): Promise<Result> {
  const peer = new Peer(args, env)
  const code = await peer.exit()
  return { code: code ?? -1, stdout: peer.stdout, stderr: peer.stderr }
}

/** A TCP port nothing listens on. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

async function randomPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

/** A one-line message on stderr, without a stack trace. */
function expectOneLine (stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n')
  const last = lines[lines.length - 1]
  expect(last).to.match(/^netget-peer: /)
  expect(last).to.match(pattern)
  expect(stderr).to.not.match(/^\s+at /m)
}

describe('netget-peer (CLI)', function () {
  let dir: string
  let peers: Peer[]

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netget-cli-'))
  })

  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  beforeEach(() => {
    peers = []
  })

  afterEach(async () => {
    for (const peer of peers) {
      peer.kill()
    }

    await Promise.all(peers.map(async peer => peer.exited))
  })

  function start (args: string[], env?: Record<string, string>): Peer {
    const peer = new Peer(args, env)
    peers.push(peer)
    return peer
  }

  async function startRegistry (dataDir: string): Promise<{ peer: Peer, peerId: string, address: string }> {
    const peer = start(['--bootstrap', '--json', ...LOOPBACK, '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--data-dir', dataDir, '--network', 'clitest'])
    const started = await peer.event('started')
    const address = started.bootstrapEntry.registryNodes.find((address: string) => !address.includes('/ws/'))
    expect(address).to.match(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    return { peer, peerId: started.peerId, address }
  }

  describe('with real processes', () => {
    it('discovers a registered sidecar with its metadata, and forgets it after SIGTERM', async () => {
      const registry = await startRegistry(join(dir, 'registry-a'))
      const sidecar = start(['register', '--name', 'orders-api', '--meta', 'url=http://host:8080', '--meta', 'version=1.4.0',
        '--network', 'clitest', '--registry', registry.address, ...LOOPBACK, '--data-dir', join(dir, 'sidecar'), '--json'])
      const registered = await sidecar.event('registered')
      expect(registered.storedBy).to.be.at.least(1)

      const found = await runProcess(['discover', 'orders-api', '--network', 'clitest', '--registry', registry.address, '--json'])
      expect(found.code, found.stderr).to.equal(0)
      const result = JSON.parse(found.stdout)
      expect(result.instances).to.have.length(1)
      expect(result.instances[0]).to.include({ peerId: registered.peerId, name: 'orders-api' })
      expect(result.instances[0].metadata).to.deep.equal({ name: 'orders-api', url: 'http://host:8080', version: '1.4.0' })
      expect(result.instances[0].multiaddrs[0]).to.match(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
      expect(result.instances[0].health.status).to.equal('healthy')

      const ping = await run(['ping', registered.peerId, '--network', 'clitest', '--registry', registry.address, '--json'])
      expect(ping.code, ping.stderr).to.equal(0)
      expect(JSON.parse(ping.stdout)).to.include({ target: registered.peerId, count: 1 })

      sidecar.kill('SIGTERM')
      expect(await sidecar.exit()).to.equal(0)
      expect(sidecar.events().map(event => event.event)).to.include('stopped')

      const gone = await runProcess(['discover', 'orders-api', '--network', 'clitest', '--registry', registry.address])
      expect(gone.code).to.equal(5)
      expectOneLine(gone.stderr, /No live instance of "orders-api" on network "clitest"/)
      expect(gone.stdout).to.equal('')
    })

    it('reports a SIGKILLed sidecar down from the registry\'s attestation, and discover --watch prints each change as it happens', async () => {
      const registry = await startRegistry(join(dir, 'registry-watch'))
      const common = ['--network', 'clitest', '--registry', registry.address]
      const watcher = start(['discover', 'orders-api', '--watch', '--json', ...common])
      const sidecar = start(['register', '--name', 'orders-api', ...common, ...LOOPBACK, '--data-dir', join(dir, 'sidecar-watch'), '--json'])
      const registered = await sidecar.event('registered')
      const added = await watcher.event('added')
      expect(added.instance).to.include({ peerId: registered.peerId, name: 'orders-api' })

      // killed: no withdrawal, no caller pings it; the registry sees its connection go
      const killed = Date.now()
      sidecar.kill('SIGKILL')
      const down = await watcher.event('health', event => event.instance.health.status === 'unhealthy')
      const window = healthWindow(DEFAULT_HEALTH_INTERVAL, DEFAULT_HEALTH_TIMEOUT, DEFAULT_HEALTH_FAILURE_THRESHOLD)
      expect(Date.now() - killed).to.be.below(window)
      expect(down.instance.health).to.include({ status: 'unhealthy', source: 'registry' })
      const found = await runProcess(['discover', 'orders-api', '--all', '--json', ...common])
      expect(JSON.parse(found.stdout).instances[0].health).to.include({ status: 'unhealthy', source: 'registry' })

      watcher.kill('SIGINT')
      expect(await watcher.exit()).to.equal(0)
      // every stdout line is one JSON object
      expect(watcher.stdout.trim().split('\n').every(line => typeof JSON.parse(line).event === 'string')).to.equal(true)
    })

    it('serves the dashboard, /api/services and the browser bundle with --http', async () => {
      const peer = start(['--bootstrap', '--json', ...LOOPBACK, '--data-dir', join(dir, 'registry-http'), '--network', 'clitest', '--http', '0'])
      const started = await peer.event('started')
      expect(started.http).to.match(/^http:\/\/[^/]+:\d+$/)
      const url = (started.http as string).replace('0.0.0.0', '127.0.0.1')

      const api = await fetch(`${url}/api/services`)
      expect(api.status).to.equal(200)
      expect(await api.json()).to.deep.include({ network: 'clitest', services: [] })
      const bundle = await fetch(`${url}/netget.js`)
      expect(bundle.headers.get('access-control-allow-origin')).to.equal('*')
      expect(await bundle.text()).to.include('Netget')
      const dashboard = await fetch(`${url}/`)
      expect(await dashboard.text()).to.match(/<html/i)
      // --http binds 127.0.0.1 by default, and serves metrics and health
      expect(started.http).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
      const metrics = await fetch(`${url}/metrics`)
      expect(metrics.status).to.equal(200)
      expect(await metrics.text()).to.match(/^netget_records\{network="clitest"\} 0$/m)
      expect((await fetch(`${url}/healthz`)).status).to.equal(200)

      peer.kill('SIGTERM')
      expect(await peer.exit()).to.equal(0)
    })

    it('keeps its peer ID when a registry restarts on its data dir', async () => {
      const dataDir = join(dir, 'registry-b')
      const first = await startRegistry(dataDir)
      first.peer.kill('SIGTERM')
      expect(await first.peer.exit()).to.equal(0)

      const second = await startRegistry(dataDir)
      expect(second.peerId).to.equal(first.peerId)

      const ping = await run(['ping', second.address, '--count', '2'])
      expect(ping.code, ping.stderr).to.equal(0)
      expect(ping.stdout).to.match(/: 2 pings, average [\d.]+ ms\n$/)

      const id = await run(['id', '--data-dir', dataDir, '--json'])
      expect(JSON.parse(id.stdout)).to.include({ peerId: first.peerId, created: false })
    })

    it('exits 4 at once, in one line, when the registry serves another network', async () => {
      const registry = await startRegistry(join(dir, 'registry-other-network'))
      const started = Date.now()
      // the timeout is long, so only the check at connection time can make it fail fast
      const result = await runProcess(['discover', 'orders-api', '--network', 'production', '--registry', registry.address, '--timeout', '60000'])
      expect(result.code).to.equal(4)
      expectOneLine(result.stderr, new RegExp(`Registry ${registry.peerId.slice(0, 4)}…${registry.peerId.slice(-6)} serves clitest, not production: pass --network clitest to talk to it, or --registry with the address of a registry of "production"`))
      expect(Date.now() - started).to.be.below(30_000)

      const json = await runProcess(['register', '--name', 'api', '--network', 'production', '--registry', registry.address, ...LOOPBACK, '--data-dir', join(dir, 'never-registered'), '--json'])
      expect(json.code).to.equal(4)
      expect(JSON.parse(json.stdout).error).to.include({ name: 'NoRegistryReachableError', exitCode: 4 })
      expect(existsSync(join(dir, 'never-registered'))).to.equal(false)
    })

    it('prints a one-line error without a stack trace for bad input', async () => {
      const busy = await startRegistry(join(dir, 'registry-c'))
      const port = busy.address.split('/')[4]
      const fresh = join(dir, 'never-created')
      const cases: Array<[string[], number, RegExp]> = [
        [['frobnicate'], 2, /Unknown command "frobnicate"/],
        [['discover', 'x', '--registry', '/ip4/127.0.0.1/tcp/4001'], 2, /has no \/p2p\/<peer id> part/],
        [['--bootstrap', '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--data-dir', fresh], 6, new RegExp(`Cannot listen on /ip4/127\\.0\\.0\\.1/tcp/${port}: the port is in use`)],
        [['discover', 'x', '--registry', `/ip4/127.0.0.1/tcp/${await closedPort()}/p2p/${await randomPeerId()}`], 4, /No registry of network "development" is reachable/]
      ]

      const results = await Promise.all(cases.map(async ([args]) => runProcess(args)))

      results.forEach((result, index) => {
        const [args, code, pattern] = cases[index]
        expect(result.code, args.join(' ')).to.equal(code)
        expectOneLine(result.stderr, pattern)
      })
      expect(existsSync(fresh)).to.equal(false)
    })
  })

  describe('src/cli/ sources', () => {
    it('import nothing relative but the public API (src/index.ts) and each other', async () => {
      // this file runs as dist/test/cli.spec.js: the package root is two folders up
      const root = fileURLToPath(new URL('../../', import.meta.url))
      const cliDir = join(root, 'src', 'cli')
      const publicApi = join(root, 'src', 'index.ts')
      const files = (await readdir(cliDir, { recursive: true })).filter(file => file.endsWith('.ts')).map(file => join(cliDir, file))
      const offending: string[] = []
      expect(files.length, `TypeScript sources in ${cliDir}`).to.be.at.least(5)

      for (const file of files) {
        const source = await readFile(file, 'utf8')
        const specifiers = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map(match => match[1])

        for (const specifier of specifiers.filter(specifier => specifier.startsWith('.'))) {
          const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts')

          if (target !== publicApi && !target.startsWith(cliDir + sep)) {
            offending.push(`${relative(root, file)} imports ${specifier}`)
          }
        }
      }

      expect(offending).to.deep.equal([])
    })
  })

  describe('main(argv) in-process', () => {
    it('prints help and the version', async () => {
      const help = await run(['--help'])
      expect(help.code).to.equal(0)
      expect(help.stdout).to.include('netget-peer register --name NAME')

      for (const command of ['register', 'discover', 'ping', 'id']) {
        const result = await run([command, '--help'])
        expect(result.code).to.equal(0)
        expect(result.stdout).to.match(new RegExp(`^Usage: netget-peer ${command}`))
      }

      expect((await run(['--bootstrap', '--help'])).stdout).to.match(/^Usage: netget-peer --bootstrap/)
      expect((await run(['--version'])).stdout).to.match(/^\d+\.\d+\.\d+/)
    })

    const usageCases: Array<[string, string[], RegExp]> = [
      ['no command', [], /^Missing command/],
      ['an unknown command', ['frobnicate'], /^Unknown command "frobnicate"/],
      ['an unknown flag', ['discover', 'x', '--bogus'], /^Unknown flag --bogus for "discover"; run `netget-peer discover --help`/],
      ['a flag without its value', ['discover', 'x', '--network'], /^Flag --network needs a value/],
      ['a value on a boolean flag', ['discover', 'x', '--all=yes'], /^Flag --all takes no value/],
      ['a missing argument', ['discover'], /^Command "discover" needs NAME/],
      ['an extra argument', ['ping', 'a', 'b'], /^Unexpected argument "b"/],
      ['a malformed network name', ['discover', 'x', '--network', 'Prod!'], /^--network must be a network name .*, got "Prod!"\n/],
      ['a bad multiaddr', ['discover', 'x', '--registry', '/ip4/nope'], /--registry: "\/ip4\/nope" is not a valid multiaddr/],
      ['a registry without /p2p/', ['discover', 'x', '--registry', '/ip4/127.0.0.1/tcp/4001'], /has no \/p2p\/<peer id> part; append the registry's peer ID/],
      ['a bad listen address', ['--bootstrap', '--listen', 'localhost:4001'], /^--listen: "localhost:4001" is not a valid multiaddr/],
      ['register without --name', ['register'], /^Command "register" needs --name NAME/],
      ['a bad --meta', ['register', '--name', 'api', '--meta', 'novalue'], /^Bad --meta "novalue": write KEY=VALUE/],
      ['a ping target without /p2p/', ['ping', '/ip4/127.0.0.1/tcp/4001'], /has no \/p2p\/<peer id> part/],
      ['a bad ping target', ['ping', 'nobody'], /is neither a peer ID/],
      ['a bad --timeout', ['discover', 'x', '--timeout', '1.5s'], /^Bad --timeout "1.5s"/],
      ['an empty flag value', ['--bootstrap', '--data-dir='], /^Flag --data-dir needs a value/],
      // rejected by new Netget() or the method called; the message names the flag
      ['a --timeout the library refuses', ['discover', 'x', '--timeout', '0'], /^--timeout must be a positive number of milliseconds, got 0\n/],
      ['a bad --name', ['register', '--name', 'bad name!'], /^--name must be a service name .*, got "bad name!"\n/],
      ['a bad --announce', ['register', '--name', 'api', '--announce', '/dns4/'], /^--announce: "\/dns4\/" is not a valid multiaddr/],
      ['an oversized --meta', ['register', '--name', 'api', '--meta', `blob=${'x'.repeat(9000)}`], /^--meta is \d+ bytes as JSON; at most 8192/],
      ['a bad --http port', ['--bootstrap', '--http', '70000'], /^--http must be a TCP port from 0 to 65535, got 70000\n/],
      ['a bad service name', ['discover', '../etc/passwd'], /^NAME must be a service name .*, got "\.\.\/etc\/passwd"\n/],
      ['a network name in id', ['id', '--network', 'Prod!'], /^--network must be a network name/]
    ]

    for (const [what, argv, pattern] of usageCases) {
      it(`exits 2 on ${what}`, async () => {
        const result = await run(argv)
        expect(result.code).to.equal(2)
        expect(result.stderr).to.match(/^netget-peer: .*\n$/)
        expect(result.stderr.slice('netget-peer: '.length)).to.match(pattern)
        expect(result.stdout).to.equal('')
      })
    }

    it('exits 2 on a network missing from bootstrap.json', async () => {
      const file = join(dir, 'two-networks.json')
      await writeFile(file, JSON.stringify({ version: 1, networks: { development: { registryNodes: [] }, production: { registryNodes: [] } } }))
      const result = await run(['discover', 'x', '--network', 'staging', '--bootstrap-file', file])
      expect(result.code).to.equal(2)
      expect(result.stderr).to.equal(`netget-peer: Unknown network "staging": ${file} lists development, production; add it under "networks" there, or pass --registry MULTIADDR\n`)
    })

    it('exits 4 when the network lists no registry', async () => {
      const file = join(dir, 'empty.json')
      await writeFile(file, JSON.stringify({ version: 1, networks: { development: { registryNodes: [] } } }))
      const result = await run(['discover', 'x', '--bootstrap-file', file])
      expect(result.code).to.equal(4)
      expect(result.stderr).to.match(/^netget-peer: No registry is listed for network "development" in .*empty\.json: start one with `netget-peer --bootstrap`/)

      // the file shipped in the package is a template: the message says where a file of one's own goes
      const packaged = join(dir, 'node_modules', 'netget', 'bootstrap.json')
      await mkdir(dirname(packaged), { recursive: true })
      await writeFile(packaged, JSON.stringify({ version: 1, networks: { development: { registryNodes: [] } } }))
      const fromPackage = await run(['discover', 'x', '--bootstrap-file', packaged])
      expect(fromPackage.code).to.equal(4)
      expect(fromPackage.stderr).to.match(/add it to networks\.development\.registryNodes in a bootstrap\.json of your own \(\.\/bootstrap\.json, or a file named by --bootstrap-file or \$NETGET_BOOTSTRAP; the one in the netget package is a template\)\n$/)
      expect(fromPackage.stderr).to.not.match(/registryNodes in \S*node_modules/)
    })

    const badFiles: Array<[string, string, RegExp]> = [
      ['not JSON', '{"version": 1,', /is not valid JSON/],
      ['a wrong version', '{"version": 2, "networks": {}}', /"version" must be 1, got 2/],
      ['a bad network name', '{"version": 1, "networks": {"Dev": {"registryNodes": []}}}', /network name "Dev" is invalid/],
      ['an address without /p2p/', '{"version": 1, "networks": {"development": {"registryNodes": ["/ip4/127.0.0.1/tcp/4001"]}}}', /registryNodes\[0\]: "\/ip4\/127\.0\.0\.1\/tcp\/4001" has no \/p2p\//],
      ['a registry in two networks', '{"version": 1, "networks": {"development": {"registryNodes": ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"]}, "production": {"registryNodes": ["/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"]}}}', /listed under both networks\.development and networks\.production/],
      ['a repeated address', '{"version": 1, "networks": {"development": {"registryNodes": ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN", "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"]}}}', /registryNodes\[1\] repeats/]
    ]

    for (const [what, text, pattern] of badFiles) {
      it(`exits 3 on a bootstrap file with ${what}`, async () => {
        const file = join(dir, `bad-${what.replace(/[^a-z]+/g, '-')}.json`)
        await writeFile(file, text)
        const result = await run(['discover', 'x', '--bootstrap-file', file])
        expect(result.code).to.equal(3)
        expect(result.stderr).to.match(/^netget-peer: Bootstrap file .*\n$/)
        expect(result.stderr).to.include(file)
        expect(result.stderr).to.match(pattern)
      })
    }

    it('reads the bootstrap file named by NETGET_BOOTSTRAP, and a missing one is a clear error', async () => {
      const missing = join(dir, 'missing.json')
      const result = await run(['discover', 'x'], { NETGET_BOOTSTRAP: missing })
      expect(result.code).to.equal(3)
      expect(result.stderr).to.match(new RegExp(`^netget-peer: Cannot read bootstrap file ${missing}: ENOENT`))
    })

    it('exits 4 when no registry is reachable, leaving no data dir behind', async () => {
      const dataDir = join(dir, 'unreachable', 'api')
      const registry = `/ip4/127.0.0.1/tcp/${await closedPort()}/p2p/${await randomPeerId()}`
      const result = await run(['register', '--name', 'api', '--registry', registry, ...LOOPBACK, '--data-dir', dataDir])
      expect(result.code).to.equal(4)
      expect(result.stderr).to.match(/netget-peer: No registry of network "development" is reachable \(.*ECONNREFUSED.*\); check that a registry runs there/)
      expect(existsSync(join(dir, 'unreachable'))).to.equal(false)

      const json = await run(['discover', 'x', '--registry', registry, '--json'])
      expect(json.code).to.equal(4)
      expect(JSON.parse(json.stdout).error).to.include({ name: 'NoRegistryReachableError', exitCode: 4 })
    })

    it('exits 6 on a port in use, leaving no data dir behind', async () => {
      const server = createServer()
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      const { port } = server.address() as { port: number }

      try {
        const dataDir = join(dir, 'busy', 'registry')
        const result = await run(['--bootstrap', '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--data-dir', dataDir])
        expect(result.code).to.equal(6)
        expect(result.stderr).to.match(new RegExp(`^netget-peer: Cannot listen on /ip4/127\\.0\\.0\\.1/tcp/${port}: the port is in use; stop the process using it, or pass --listen with other ports .*\\n$`))
        expect(existsSync(join(dir, 'busy'))).to.equal(false)
      } finally {
        await new Promise(resolve => server.close(resolve))
      }
    })

    it('exits 6 on a data dir used by another process, and removes nothing of it', async () => {
      const dataDir = join(dir, 'locked')
      expect((await run(['id', '--data-dir', dataDir])).code).to.equal(0)
      await writeFile(join(dataDir, 'lock'), String(process.ppid))
      const result = await run(['--bootstrap', ...LOOPBACK, '--data-dir', dataDir])
      expect(result.code).to.equal(6)
      expect(result.stderr).to.match(/netget-peer: Data directory .*locked is in use by another netget node \(pid \d+\)/)
      expect(result.stderr).to.match(/give each node its own data directory \(--data-dir DIR\)\n$/)
      expect((await readdir(dataDir)).sort()).to.deep.equal(['lock', 'peer.key'])
    })

    it('creates an identity once and shows it afterwards', async () => {
      const dataDir = join(dir, 'identity')
      const created = await run(['id', '--data-dir', dataDir, '--json'])
      expect(created.code).to.equal(0)
      const first = JSON.parse(created.stdout)
      expect(first).to.include({ created: true, dataDir })
      expect(first.peerId).to.match(/^12D3KooW/)

      const shown = await run(['id', '--data-dir', dataDir])
      expect(shown.stdout).to.equal(`${first.peerId}\n`)
    })

    it('lists the services a registry holds, with counts, from its HTTP port', async () => {
      const testnet = await createTestnet(0, { network: 'clilist' })

      try {
        await testnet.createNode({ metadata: { name: 'orders-api' } }).registerWithNetwork()
        await testnet.createNode({ metadata: { name: 'orders-api' } }).registerWithNetwork()
        await testnet.createNode({ metadata: { name: 'billing' } }).registerWithNetwork()
        const http = await startRegistryHttp(testnet.registries[0], { snapshotInterval: 0 })

        try {
          const json = await run(['list', http.url, '--json'])
          expect(json.code, json.stderr).to.equal(0)
          const listed = JSON.parse(json.stdout)
          expect(listed).to.include({ network: 'clilist', registry: testnet.registries[0].peerId })
          expect(listed.services.map((service: { name: string, instances: number }) => [service.name, service.instances])).to.deep.equal([['billing', 1], ['orders-api', 2]])

          const human = await run(['list', `${http.url}/`])
          expect(human.code).to.equal(0)
          expect(human.stdout).to.match(/^2 services on network clilist \(registry …\w+\):\n {2}billing {2}1 instance, \d healthy\n {2}orders-api {2}2 instances, \d healthy\n$/)
        } finally {
          await http.close()
        }

        const unreachable = await run(['list', `http://127.0.0.1:${await closedPort()}`])
        expect(unreachable.code).to.equal(4)
        expect(unreachable.stderr).to.match(/^netget-peer: Cannot reach http:\/\/127\.0\.0\.1:\d+: .*; check that the registry runs with --http there\n$/)
        expect((await run(['list', 'not a url'])).code).to.equal(2)
      } finally {
        await testnet.destroy()
      }
    })

    it('shows a wait of more than a second on a terminal only, never with --json', async () => {
      // a registry that accepts connections and never answers: the dial hangs until the timeout
      const sockets = new Set<import('node:net').Socket>()
      const silent = createServer(socket => { sockets.add(socket) })
      await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
      const registry = `/ip4/127.0.0.1/tcp/${(silent.address() as { port: number }).port}/p2p/${await randomPeerId()}`
      const discover = async (tty: boolean, json: boolean): Promise<{ code: number, stdout: string, stderr: string }> => {
        let stdout = ''
        let stderr = ''
        const code = await main(['discover', 'x', '--registry', registry, '--timeout', '2500', ...(json ? ['--json'] : [])], {
          stdout: { write: chunk => { stdout += chunk } },
          stderr: { write: chunk => { stderr += chunk }, isTTY: tty },
          env: {}
        })
        return { code, stdout, stderr }
      }

      try {
        const [terminal, piped, json] = await Promise.all([discover(true, false), discover(false, false), discover(true, true)])
        expect(terminal.code).to.equal(4)
        expect(terminal.stderr).to.match(/\r\x1b\[Klooking up "x" on network "development"… 1 s/)
        // the line is cleared before the error
        expect(terminal.stderr).to.match(/\r\x1b\[Knetget-peer: Timed out after 2500 ms/)
        expect(piped.code).to.equal(4)
        expect(piped.stderr).to.not.match(/… \d+ s/)
        expect(json.code).to.equal(4)
        expect(json.stderr).to.not.match(/… \d+ s/)
        expect(JSON.parse(json.stdout).error).to.include({ exitCode: 4 })
      } finally {
        sockets.forEach(socket => { socket.destroy() })
        await new Promise(resolve => silent.close(resolve))
      }
    })

    it('names --http-host in a bad bind address, and register takes --timeout', async () => {
      const bad = await run(['--bootstrap', ...LOOPBACK, '--http', '0', '--http-host', ' ', '--data-dir', join(dir, 'never-http')])
      expect(bad.code).to.equal(2)
      expect(bad.stderr).to.match(/^netget-peer: --http-host must be an address to bind/)

      const registry = `/ip4/127.0.0.1/tcp/${await closedPort()}/p2p/${await randomPeerId()}`
      const help = await run(['register', '--help'])
      expect(help.stdout).to.include('--timeout MS')
      // a registry that refuses: fails before the timeout; the flag is accepted
      const refused = await run(['register', '--name', 'api', '--registry', registry, ...LOOPBACK, '--data-dir', join(dir, 'never-registered-2'), '--timeout', '3000'])
      expect(refused.code).to.equal(4)
    })

    it('runs a registry until its signal aborts, then stops with exit 0', async () => {
      const controller = new AbortController()
      let stdout = ''
      let started!: () => void
      const ready = new Promise<void>(resolve => { started = resolve })
      const exited = main(['--bootstrap', '--json', ...LOOPBACK, '--data-dir', join(dir, 'in-process')], {
        stdout: { write: chunk => { stdout += chunk; if (stdout.includes('"started"')) started() } },
        stderr: { write: () => {} },
        env: {},
        signal: controller.signal
      })
      await ready
      controller.abort()
      expect(await exited).to.equal(0)
      const events = stdout.trim().split('\n').map(line => JSON.parse(line).event)
      expect(events[0]).to.equal('started')
      expect(events[events.length - 1]).to.equal('stopped')
    })
  })
})
