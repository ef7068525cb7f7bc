/* eslint-env mocha */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { main } from '../src/cli/main.js'
import { defaults, issueCredential, Netget, openCredential, openRevocation, readKeyFile } from '../src/index.js'
import { sealEnvelope } from '../src/records/envelope.js'
import { CREDENTIAL_DOMAIN, CREDENTIAL_PAYLOAD_TYPE, encodeCredential } from '../src/trust/credential.js'
import type { PrivateKey } from '@libp2p/interface'

const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url))
const DAY = 86_400_000
const NETWORK = 'clinet'
/** How long a long-running command may take to print an expected event, in ms (well under mocha's 60 s, so a failure still stops every node). */
const EVENT_TIMEOUT = 20_000

interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Runs `main(argv)` in this process with captured output. */
async function run (argv: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, {
    stdout: { write: chunk => { stdout += chunk } },
    stderr: { write: chunk => { stderr += chunk } },
    env
  })
  return { code, stdout, stderr }
}

/** Runs `node dist/src/cli/bin.js` to completion. */
async function runProcess (argv: string[]): Promise<Result> {
  const env = { ...process.env }
  delete env.DEBUG
  const child = spawn(process.execPath, [BIN, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const code = await new Promise<number>(resolve => child.on('close', code => { resolve(code ?? -1) }))
  return { code, stdout, stderr }
}

/** Exactly one line on stderr, `netget-peer: ...`, matching `pattern`; nothing on stdout. */
function expectOneLineFailure (result: Result, code: number, pattern: RegExp): void {
  expect(result.code, result.stderr).to.equal(code)
  expect(result.stderr).to.match(/^netget-peer: [^\n]*\n$/)
  expect(result.stderr.slice('netget-peer: '.length, -1)).to.match(pattern)
  expect(result.stdout).to.equal('')
}

/** A long-running command (`--bootstrap`, `register`) run in this process until {@link LongRun.stop}. */
interface LongRun {
  /** Resolves with the first JSON line whose `event` is `name`; rejects if the command ends first. */
  event(name: string): Promise<Record<string, any>>
  /** Aborts the command's signal and resolves with its exit code. */
  stop(): Promise<number>
}

function runLong (argv: string[], env: Record<string, string | undefined> = {}): LongRun {
  const controller = new AbortController()
  const events: Array<Record<string, any>> = []
  const waiters = new Set<() => void>()
  let stderr = ''
  let buffered = ''
  const exited = main([...argv, '--json'], {
    stdout: {
      write: chunk => {
        buffered += chunk
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        events.push(...lines.filter(line => line !== '').map(line => JSON.parse(line)))
        waiters.forEach(waiter => { waiter() })
      }
    },
    stderr: { write: chunk => { stderr += chunk } },
    env,
    signal: controller.signal
  })
  let done = false
  void exited.finally(() => { done = true; waiters.forEach(waiter => { waiter() }) })

  return {
    async event (name) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no "${name}" from ${argv.join(' ')} within ${EVENT_TIMEOUT} ms: ${stderr}${JSON.stringify(events)}`))
        }, EVENT_TIMEOUT)
        const check = (): void => {
          const found = events.find(event => event.event === name)

          if (found !== undefined || done) {
            clearTimeout(timer)
            waiters.delete(check)
            found !== undefined ? resolve(found) : reject(new Error(`${argv.join(' ')} ended before "${name}": ${stderr}${JSON.stringify(events)}`))
          }
        }
        waiters.add(check)
        check()
      })
    },
    async stop () {
      controller.abort()
      return exited
    }
  }
}

async function modeOf (path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

async function newPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

describe('netget-peer network (closed networks CLI)', function () {
  let dir: string
  /** A bootstrap file listing no registry, so no test reads the repository's bootstrap.json. */
  let emptyBootstrap: string
  let keyFile: string
  let authorityKey: PrivateKey
  let authority: string
  let peer: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netget-cli-network-'))
    emptyBootstrap = join(dir, 'bootstrap.json')
    await writeFile(emptyBootstrap, JSON.stringify({ version: 1, networks: {} }))
    const created = await run(['network', 'create', NETWORK, '--out', join(dir, 'authority'), '--json'])
    expect(created.code, created.stderr).to.equal(0)
    keyFile = join(dir, 'authority', 'authority.key')
    authorityKey = await readKeyFile(keyFile)
    authority = peerIdFromPrivateKey(authorityKey).toString()
    peer = await newPeerId()
  })

  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  describe('network create', () => {
    it('writes authority.key (mode 0600) and prints the descriptor and its bootstrap.json entry', async () => {
      const out = join(dir, 'create-human')
      const human = await run(['network', 'create', 'production', '--out', out])
      expect(human.code, human.stderr).to.equal(0)
      const key = join(out, 'authority.key')
      expect(await modeOf(key)).to.equal(0o600)
      const id = peerIdFromPrivateKey(await readKeyFile(key)).toString()
      expect(human.stdout).to.include('Created the closed network "production"')
      expect(human.stdout).to.include(`authority      ${id}`)
      expect(human.stdout).to.include(`"production": {"authority": "${id}", "registryNodes": []}`)

      const json = await run(['network', 'create', 'production', '--out', join(dir, 'create-json'), '--json'])
      const descriptor = JSON.parse(json.stdout)
      expect(descriptor).to.include({ network: 'production', authorityKey: join(dir, 'create-json', 'authority.key') })
      expect(descriptor.authority).to.equal(peerIdFromPrivateKey(await readKeyFile(descriptor.authorityKey)).toString())
      expect(descriptor.bootstrapEntry).to.deep.equal({ authority: descriptor.authority, registryNodes: [] })
    })

    it('refuses to overwrite an existing authority key (exit 6), leaving it as it was', async () => {
      const before = await readFile(keyFile)
      expectOneLineFailure(await run(['network', 'create', NETWORK, '--out', join(dir, 'authority')]), 6, /authority\.key already exists; keep it/)
      expect(await readFile(keyFile)).to.deep.equal(before)
    })
  })

  describe('network grant and network show', () => {
    it('round-trips a publish credential: grant writes it (mode 0600), show verifies and prints it, with and without --json', async () => {
      const file = join(dir, 'creds', 'orders.cred')
      const granted = await run(['network', 'grant', '--authority-key', keyFile, '--network', NETWORK, '--peer', peer, '--role', 'publish',
        '--names', 'orders-api', '--names', 'billing-*', '--ttl', '7d', '--out', file, '--json'])
      expect(granted.code, granted.stderr).to.equal(0)
      const grant = JSON.parse(granted.stdout)
      expect(grant).to.include({ file, network: NETWORK, authority, peer, role: 'publish' })
      expect(grant.names).to.deep.equal(['orders-api', 'billing-*'])
      expect(grant.expiresAt - grant.issuedAt).to.equal(7 * DAY)
      expect(await modeOf(file)).to.equal(0o600)

      // the file is a credential the library accepts, the one printed
      const { credential } = await openCredential(new Uint8Array(await readFile(file)))
      expect(credential).to.deep.equal({ network: NETWORK, authority, peer, role: 'publish', names: ['orders-api', 'billing-*'], issuedAt: grant.issuedAt, expiresAt: grant.expiresAt, id: grant.id })

      const shown = await run(['network', 'show', file, '--json'])
      expect(shown.code, shown.stderr).to.equal(0)
      expect(JSON.parse(shown.stdout)).to.deep.equal({ kind: 'credential', file, verified: true, status: 'valid', expired: false, ...credential })

      const human = await run(['network', 'show', file])
      expect(human.code).to.equal(0)
      expect(human.stdout).to.match(new RegExp(`^Valid credential \\(signature verified: signed by authority ${authority}, the authority it names\\)\n`))
      expect(human.stdout).to.include('  role       publish\n')
      expect(human.stdout).to.include('  names      orders-api, billing-*\n')
      expect(human.stdout).to.match(/ {2}expires {4}\S+Z \(in (?:7d|6d 23h)\)\n/)
      expect(human.stdout).to.include(`  id         ${credential.id}\n`)
      expect(human.stdout).to.not.include('EXPIRED')

      const humanGrant = await run(['network', 'grant', '--authority-key', keyFile, '--network', NETWORK, '--peer', peer, '--role', 'read', '--out', file])
      expect(humanGrant.code, humanGrant.stderr).to.equal(0)
      expect(humanGrant.stdout).to.match(new RegExp(`^Granted role read on network "${NETWORK}" to ${peer}; wrote ${file} \\(mode 0600\\)\n`))
      expect(humanGrant.stdout).to.include('  expires    ')
      expect(humanGrant.stdout).to.not.include('names')
    })

    it('grants read and registry credentials for the default 24 h, and takes every duration unit', async () => {
      const cases: Array<[string[], number]> = [
        [['--role', 'read'], defaults.DEFAULT_CREDENTIAL_TTL],
        [['--role', 'registry', '--ttl', '90s'], 90_000],
        [['--role', 'read', '--ttl', '30m'], 30 * 60_000],
        [['--role', 'read', '--ttl', '12h'], 12 * 3_600_000],
        [['--role', 'read', '--ttl', '30d'], defaults.MAX_CREDENTIAL_TTL],
        [['--role', 'read', '--ttl', '1500'], 1_500],
        [['--role', 'publish', '--names', '*', '--ttl', '2500ms'], 2_500]
      ]

      for (const [flags, ttl] of cases) {
        const file = join(dir, 'ttl.cred')
        const result = await run(['network', 'grant', '--authority-key', keyFile, '--network', NETWORK, '--peer', peer, ...flags, '--out', file, '--json'])
        expect(result.code, `${flags.join(' ')}: ${result.stderr}`).to.equal(0)
        const { credential } = await openCredential(new Uint8Array(await readFile(file)))
        expect(credential.expiresAt - credential.issuedAt, flags.join(' ')).to.equal(ttl)
        expect(credential.role).to.equal(flags[1])
      }
    })

    it('says clearly that a credential has expired', async () => {
      const file = join(dir, 'expired.cred')
      const { envelope } = await issueCredential({ network: NETWORK, peer, role: 'read', ttl: DAY, now: Date.now() - 2 * DAY }, authorityKey)
      await writeFile(file, envelope)

      const human = await run(['network', 'show', file])
      expect(human.code).to.equal(0)
      expect(human.stdout).to.match(/^EXPIRED credential \(signature verified: .*\); it is void: grant a new one/)
      expect(human.stdout).to.match(/ {2}expires {4}\S+Z \(1d ago\)\n/)
      expect(JSON.parse((await run(['network', 'show', file, '--json'])).stdout)).to.include({ status: 'expired', expired: true, verified: true })
    })
  })

  describe('network revoke', () => {
    it('writes a revocation (mode 0600) that show verifies, for every credential of a peer or one by id', async () => {
      const all = join(dir, 'all.rev')
      const revoked = await run(['network', 'revoke', '--authority-key', keyFile, '--network', NETWORK, '--peer', peer, '--out', all, '--bootstrap-file', emptyBootstrap, '--json'])
      expect(revoked.code, revoked.stderr).to.equal(0)
      const result = JSON.parse(revoked.stdout)
      expect(result).to.include({ file: all, network: NETWORK, authority, peer, registries: 0, published: 0 })
      expect(await modeOf(all)).to.equal(0o600)
      const { revocation } = await openRevocation(new Uint8Array(await readFile(all)))
      expect(revocation).to.deep.equal({ network: NETWORK, authority, peer, revokedAt: result.revokedAt })

      const shown = await run(['network', 'show', all, '--json'])
      expect(shown.code, shown.stderr).to.equal(0)
      expect(JSON.parse(shown.stdout)).to.deep.equal({ kind: 'revocation', file: all, verified: true, ...revocation })
      const human = await run(['network', 'show', all])
      expect(human.stdout).to.match(new RegExp(`^Revocation, signature verified: signed by authority ${authority}, the authority it names\n`))
      expect(human.stdout).to.include('  revokes    every credential of the peer issued until then\n')

      const one = join(dir, 'one.rev')
      const byId = await run(['network', 'revoke', '--authority-key', keyFile, '--network', NETWORK, '--peer', peer, '--credential-id', '0123456789abcdef', '--out', one, '--bootstrap-file', emptyBootstrap])
      expect(byId.code, byId.stderr).to.equal(0)
      expect(byId.stdout).to.include('Handed to no registry')
      expect((await openRevocation(new Uint8Array(await readFile(one)))).revocation.credentialId).to.equal('0123456789abcdef')
      expect((await run(['network', 'show', one])).stdout).to.include('  revokes    the credential with id 0123456789abcdef\n')
    })

    describe('with a registry of the closed network', () => {
      let registry: Netget

      before(async () => {
        const registryKey = await generateKeyPair('Ed25519')
        const { envelope } = await issueCredential({ network: NETWORK, peer: peerIdFromPrivateKey(registryKey).toString(), role: 'registry', ttl: DAY }, authorityKey)
        registry = new Netget({ nodeType: 'registry', network: NETWORK, authority, privateKey: registryKey, credential: envelope, readRestricted: true, registryNodes: [], dataDir: false, listen: ['/ip4/127.0.0.1/tcp/0'] })
        await registry.start()
      })

      after(async () => {
        await registry.stop()
      })

      it('hands the revocation to the registry given with --registry, and reports that 1 took it', async () => {
        const file = join(dir, 'published.rev')
        const result = await run(['network', 'revoke', '--authority-key', keyFile, '--network', NETWORK, '--peer', await newPeerId(), '--out', file, '--registry', registry.multiaddrs[0], '--json'])
        expect(result.code, result.stderr).to.equal(0)
        expect(JSON.parse(result.stdout)).to.include({ file, registries: 1, published: 1 })
        expect((await openRevocation(new Uint8Array(await readFile(file)))).revocation.authority).to.equal(authority)

        const human = await run(['network', 'revoke', '--authority-key', keyFile, '--network', NETWORK, '--peer', await newPeerId(), '--out', file, '--registry', registry.multiaddrs[0]])
        expect(human.code, human.stderr).to.equal(0)
        expect(human.stdout).to.match(/\n1 of 1 registry took it; they pass it on to every peer\n$/)
      })

      it('hands it to the registries bootstrap.json lists for the network, and refuses a file naming another authority', async () => {
        const listed = join(dir, 'listed.json')
        await writeFile(listed, JSON.stringify({ version: 1, networks: { [NETWORK]: { authority, registryNodes: [registry.multiaddrs[0]] } } }))
        const file = join(dir, 'listed.rev')
        const result = await run(['network', 'revoke', '--authority-key', keyFile, '--network', NETWORK, '--peer', await newPeerId(), '--out', file, '--json'], { NETGET_BOOTSTRAP: listed })
        expect(result.code, result.stderr).to.equal(0)
        expect(JSON.parse(result.stdout)).to.include({ registries: 1, published: 1 })

        const other = join(dir, 'other.json')
        await writeFile(other, JSON.stringify({ version: 1, networks: { [NETWORK]: { authority: await newPeerId(), registryNodes: [registry.multiaddrs[0]] } } }))
        const refused = join(dir, 'refused.rev')
        expectOneLineFailure(await run(['network', 'revoke', '--authority-key', keyFile, '--network', NETWORK, '--peer', peer, '--out', refused, '--bootstrap-file', other]), 2,
          new RegExp(`names authority \\S+ for network "${NETWORK}", but --authority-key is the key of ${authority}`))
        expect(existsSync(refused)).to.equal(false)
      })
    })
  })

  it('runs the README walkthrough: a registry and a service joined with --authority/--credential, discovered with a read credential only', async () => {
    const loopback = ['--listen', '/ip4/127.0.0.1/tcp/0']
    const grantFor = async (dataDir: string, role: string, ...flags: string[]): Promise<string> => {
      const id = JSON.parse((await run(['id', '--data-dir', dataDir, '--json'])).stdout).peerId
      const file = join(dir, `${role}-${id}.cred`)
      const result = await run(['network', 'grant', '--authority-key', keyFile, '--network', NETWORK, '--peer', id, '--role', role, ...flags, '--out', file])
      expect(result.code, result.stderr).to.equal(0)
      return file
    }
    const registryDir = join(dir, 'walk-registry')
    const registryCredential = await grantFor(registryDir, 'registry')
    const registry = runLong(['--bootstrap', '--network', NETWORK, '--data-dir', registryDir, ...loopback, '--authority', authority, '--credential', registryCredential, '--read-restricted'])
    let service: LongRun | undefined

    try {
      const started = await registry.event('started')
      expect(started).to.include({ authority, readRestricted: true })
      expect(started.bootstrapEntry.authority).to.equal(authority)
      const address: string = started.bootstrapEntry.registryNodes[0]
      const joined = ['--network', NETWORK, '--registry', address, '--authority', authority]
      const serviceDir = join(dir, 'walk-service')
      const serviceCredential = await grantFor(serviceDir, 'publish', '--names', 'walk-*')
      service = runLong(['register', '--name', 'walk-api', '--meta', 'url=http://127.0.0.1:8080', ...joined, '--credential', serviceCredential, '--data-dir', serviceDir, ...loopback])
      const registered = await service.event('registered')
      expect(registered.storedBy).to.equal(1)

      const readerDir = join(dir, 'walk-reader')
      const readerCredential = await grantFor(readerDir, 'read')
      const found = await run(['discover', 'walk-api', ...joined, '--credential', readerCredential, '--data-dir', readerDir, '--json'])
      expect(found.code, found.stderr).to.equal(0)
      const { instances } = JSON.parse(found.stdout)
      expect(instances.map((instance: { peerId: string }) => instance.peerId)).to.deep.equal([registered.peerId])
      expect(instances[0].metadata).to.deep.equal({ name: 'walk-api', url: 'http://127.0.0.1:8080' })

      const ping = await run(['ping', registered.peerId, ...joined, '--credential', readerCredential, '--data-dir', readerDir, '--json'])
      expect(ping.code, ping.stderr).to.equal(0)

      // the registry restricts reads: without a credential the lookup is refused
      expectOneLineFailure(await run(['discover', 'walk-api', ...joined]), 7, /refused this node's credential: .*presented no credential/)
    } finally {
      const codes = [await service?.stop(), await registry.stop()]
      expect(codes).to.deep.equal([service === undefined ? undefined : 0, 0])
    }
  })

  describe('bad input: one line on stderr and the exit code', () => {
    let notAKey: string
    let notACredential: string
    let forged: string

    before(async () => {
      notAKey = join(dir, 'not-a-key')
      await writeFile(notAKey, 'hello\n')
      notACredential = join(dir, 'not-a-credential')
      await writeFile(notACredential, '{"network": "x"}\n')
      // names the authority but is signed by another key
      const { credential } = await issueCredential({ network: NETWORK, peer, role: 'read', ttl: DAY }, authorityKey)
      forged = join(dir, 'forged.cred')
      await writeFile(forged, await sealEnvelope(CREDENTIAL_DOMAIN, CREDENTIAL_PAYLOAD_TYPE, encodeCredential(credential), await generateKeyPair('Ed25519')))
    })

    const grant = (...flags: string[]): string[] => ['network', 'grant', '--authority-key', keyFile, '--network', NETWORK, '--peer', peer, '--out', join(dir, 'never.cred'), ...flags]
    const cases: Array<[string, () => string[], number, RegExp]> = [
      ['a missing key file', () => ['network', 'grant', '--authority-key', join(dir, 'nope.key'), '--network', NETWORK, '--peer', peer, '--role', 'read', '--out', join(dir, 'never.cred')], 2, /^Cannot use --authority-key \S+nope\.key: no such file; give the authority\.key/],
      ['a file that is not a key', () => ['network', 'grant', '--authority-key', notAKey, '--network', NETWORK, '--peer', peer, '--role', 'read', '--out', join(dir, 'never.cred')], 2, /^Cannot use --authority-key \S+: not a libp2p private key file/],
      ['no --authority-key', () => ['network', 'grant', '--network', NETWORK, '--peer', peer, '--role', 'read', '--out', join(dir, 'never.cred')], 2, /^Command "network grant" needs --authority-key FILE/],
      ['a malformed peer ID', () => ['network', 'grant', '--authority-key', keyFile, '--network', NETWORK, '--peer', '12D3KooWnope', '--role', 'read', '--out', join(dir, 'never.cred')], 2, /^--peer must be a peer ID \(like 12D3KooW\.\.\..*\), got "12D3KooWnope"$/],
      ['a bad name pattern', () => grant('--role', 'publish', '--names', 'a*b'), 2, /^Bad --names "a\*b": give a service name/],
      ['an unknown role', () => grant('--role', 'admin'), 2, /^Unknown --role "admin": give publish .*, read .* or registry/],
      ['--names with a read role', () => grant('--role', 'read', '--names', 'orders-api'), 2, /^--names is for --role publish only: a read credential grants no service names$/],
      ['--names with a registry role', () => grant('--role', 'registry', '--names', '*'), 2, /^--names is for --role publish only/],
      ['publish without --names', () => grant('--role', 'publish'), 2, /^--role publish needs --names: /],
      ['a bad --ttl', () => grant('--role', 'read', '--ttl', '1.5h'), 2, /^Bad --ttl "1\.5h": give a duration like 90s, 30m, 12h or 7d \(or milliseconds\)$/],
      ['a --ttl with an unknown unit', () => grant('--role', 'read', '--ttl', '2w'), 2, /^Bad --ttl "2w"/],
      ['a zero --ttl', () => grant('--role', 'read', '--ttl', '0s'), 2, /^Bad --ttl "0s"/],
      ['a --ttl over 30 days', () => grant('--role', 'read', '--ttl', '31d'), 2, /^--ttl 31d is longer than the 30d a credential may last/],
      ['a --ttl of 30 days and 1 ms', () => grant('--role', 'read', '--ttl', String(defaults.MAX_CREDENTIAL_TTL + 1)), 2, /is longer than the 30d/],
      ['a bad --network', () => ['network', 'grant', '--authority-key', keyFile, '--network', 'Prod!', '--peer', peer, '--role', 'read', '--out', join(dir, 'never.cred')], 2, /^--network must be a network name .*, got "Prod!"$/],
      ['show of a file that is not a credential', () => ['network', 'show', notACredential], 2, /^\S+not-a-credential is not a valid netget credential or revocation: it is not a signed envelope/],
      ['show of a credential signed by another key than its authority', () => ['network', 'show', forged], 2, /^\S+forged\.cred is not a valid netget credential or revocation: Credential names authority \S+ but is signed by /],
      ['show of a missing file', () => ['network', 'show', join(dir, 'nope.cred')], 2, /^Cannot read \S+nope\.cred: no such file$/],
      ['show without FILE', () => ['network', 'show'], 2, /^Command "network show" needs FILE/],
      ['a bad network name for create', () => ['network', 'create', 'My Net', '--out', join(dir, 'never')], 2, /^NAME must be a network name/],
      ['create without --out', () => ['network', 'create', 'prod'], 2, /^Command "network create" needs --out DIR/],
      ['an unknown network command', () => ['network', 'frob'], 2, /^Unknown network command "frob": use create, grant, show or revoke/],
      ['network without a command', () => ['network'], 2, /^Command "network" needs a subcommand/],
      ['an unknown flag of a network command', () => ['network', 'show', 'x', '--role', 'read'], 2, /^Unknown flag --role for "network show"; run `netget-peer network show --help`/],
      ['a bad --credential-id', () => ['network', 'revoke', '--authority-key', keyFile, '--network', NETWORK, '--peer', peer, '--credential-id', 'XYZ', '--out', join(dir, 'never.rev')], 2, /^Bad --credential-id "XYZ"/],
      ['a malformed --authority', () => ['discover', 'api', '--authority', 'nobody', '--registry', `/ip4/127.0.0.1/tcp/1/p2p/${peer}`], 2, /^--authority must be the peer ID of the network's authority/],
      ['--credential on discover without --data-dir', () => ['discover', 'api', '--authority', authority, '--credential', 'x.cred'], 2, /^--credential needs the identity it was granted for: pass --data-dir DIR/],
      ['--credential without an authority', () => ['register', '--name', 'api', '--network', NETWORK, '--credential', 'x.cred', '--bootstrap-file', emptyBootstrap], 2, new RegExp(`^--credential is for a closed network, but \\S+ names no authority for network "${NETWORK}": pass --authority PEERID`)],
      ['--read-restricted without an authority', () => ['--bootstrap', '--read-restricted', '--bootstrap-file', emptyBootstrap, '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'restricted-without-authority')], 2, /^--read-restricted is for a closed network/]
    ]

    for (const [what, argv, code, pattern] of cases) {
      it(`exits ${code} on ${what}`, async () => {
        expectOneLineFailure(await run(argv()), code, pattern)
        expect(existsSync(join(dir, 'never.cred')), 'no credential written').to.equal(false)
        expect(existsSync(join(dir, 'never.rev')), 'no revocation written').to.equal(false)
      })
    }

    it('exits 7 on a credential file a node cannot read, leaving no data dir behind', async () => {
      const dataDir = join(dir, 'never-created')
      const result = await run(['register', '--name', 'api', '--network', NETWORK, '--authority', authority, '--credential', join(dir, 'nope.cred'),
        '--registry', `/ip4/127.0.0.1/tcp/1/p2p/${peer}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', dataDir])
      expectOneLineFailure(result, 7, /^Cannot read the credential file \S+nope\.cred \(ENOENT\); write one with netget-peer network grant/)
      expect(existsSync(dataDir)).to.equal(false)
    })
  })

  it('documents every network command and the closed-network flags in --help', async () => {
    const help = await run(['--help'])
    for (const command of ['create NAME --out DIR', 'grant --authority-key FILE', 'show FILE', 'revoke --authority-key FILE']) {
      expect(help.stdout).to.include(`netget-peer network ${command}`)
    }
    expect(help.stdout).to.include('7 credential refused')

    const group = await run(['network', '--help'])
    expect(group.code).to.equal(0)
    expect(group.stdout).to.match(/^netget-peer network: closed networks/)
    expect((await run(['help', 'network'])).stdout).to.equal(group.stdout)

    for (const command of ['create', 'grant', 'show', 'revoke']) {
      const result = await run(['network', command, '--help'])
      expect(result.code).to.equal(0)
      expect(result.stdout).to.match(new RegExp(`^Usage: netget-peer network ${command}`))
      expect((await run(['help', 'network', command])).stdout).to.equal(result.stdout)
    }

    expect((await run(['network', 'grant', '--help'])).stdout).to.match(/--ttl DURATION +how long it is valid: 90s, 30m, 12h, 7d or milliseconds \(default: 24h, at most 30d\)/)
    expect((await run(['--bootstrap', '--help'])).stdout).to.match(/--read-restricted +closed network: refuse lookups/)

    for (const command of ['--bootstrap', 'register', 'discover', 'ping']) {
      const text = (await run([command, '--help'])).stdout
      expect(text, command).to.match(/--authority PEERID +the closed network's authority/)
      expect(text, command).to.match(/--credential FILE +/)
    }
  })

  describe('as a real process (node dist/src/cli/bin.js)', () => {
    it('creates a network and grants a credential, and a bad input is one line and exit 2', async () => {
      const out = join(dir, 'process')
      const created = await runProcess(['network', 'create', 'staging', '--out', out, '--json'])
      expect(created.code, created.stderr).to.equal(0)
      expect(created.stderr).to.equal('')
      const { authority: id, authorityKey } = JSON.parse(created.stdout)
      expect(await modeOf(authorityKey)).to.equal(0o600)
      expect(peerIdFromPrivateKey(await readKeyFile(authorityKey)).toString()).to.equal(id)

      const file = join(out, 'registry.cred')
      const granted = await runProcess(['network', 'grant', '--authority-key', authorityKey, '--network', 'staging', '--peer', peer, '--role', 'registry', '--out', file])
      expect(granted.code, granted.stderr).to.equal(0)
      expect(granted.stdout).to.match(new RegExp(`^Granted role registry on network "staging" to ${peer}; wrote ${file} \\(mode 0600\\)\n`))
      expect(await modeOf(file)).to.equal(0o600)
      const { credential } = await openCredential(new Uint8Array(await readFile(file)))
      expect(credential).to.include({ network: 'staging', authority: id, peer, role: 'registry' })

      const bad = await runProcess(['network', 'grant', '--authority-key', authorityKey, '--network', 'staging', '--peer', peer, '--role', 'read', '--ttl', '31d', '--out', join(out, 'never.cred')])
      expectOneLineFailure(bad, 2, /^--ttl 31d is longer than the 30d a credential may last/)
      expect(existsSync(join(out, 'never.cred'))).to.equal(false)
    })
  })
})
