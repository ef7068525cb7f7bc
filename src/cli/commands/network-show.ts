/**
 * `netget-peer network show FILE`: opens a credential or a revocation,
 * verifies it (signature, and signed by the authority it names) and prints
 * it, saying whether it has expired. A file that is neither, or does not
 * verify, is a usage error.
 */
import { open } from 'node:fs/promises'
import { resolve } from 'node:path'
import { RecordEnvelope } from '@libp2p/peer-record'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { CREDENTIAL_PAYLOAD_TYPE, defaults, openCredential, openRevocation, REVOCATION_PAYLOAD_TYPE } from '../../index.js'
import { CommandError, errnoCode, EXIT } from '../exit-codes.js'
import { formatTime } from './network-input.js'
import type { Credential, Revocation } from '../../index.js'
import type { CommandContext } from '../context.js'

/** Whether a credential may be used now. */
export type CredentialStatus = 'valid' | 'expired' | 'not-yet-valid'

export async function runNetworkShow ({ parsed, out }: CommandContext): Promise<number> {
  const path = parsed.positionals[0]
  const file = resolve(path)
  const bytes = await readSmallFile(path)
  const kind = envelopeKind(bytes)
  const notOne = (why: string, cause?: unknown): CommandError =>
    new CommandError(`${path} is not a valid netget credential or revocation: ${why}`, EXIT.USAGE, { cause })

  if (kind === undefined) {
    throw notOne('it is not a signed envelope written by `netget-peer network grant` or `network revoke`')
  }

  if (kind === 'credential') {
    const { credential } = await openCredential(bytes).catch(err => { throw notOne((err as Error).message, err) })
    const status = credentialStatus(credential)
    out.result({ kind, file, verified: true, status, expired: status === 'expired', ...credential }, () => [
      statusLine(credential, status),
      ...formatCredential(credential)
    ])
    return EXIT.OK
  }

  const { revocation } = await openRevocation(bytes).catch(err => { throw notOne((err as Error).message, err) })
  out.result({ kind, file, verified: true, ...revocation }, () => [
    `Revocation, signature verified: signed by authority ${revocation.authority}, the authority it names`,
    ...formatRevocation(revocation)
  ])
  return EXIT.OK
}

/** The lines describing a credential, for `show` and `grant`. */
export function formatCredential (credential: Credential, now = Date.now()): string[] {
  return [
    `  network    ${credential.network}`,
    `  authority  ${credential.authority}`,
    `  peer       ${credential.peer}`,
    `  role       ${credential.role}`,
    ...(credential.role === 'publish' ? [`  names      ${credential.names.join(', ')}`] : []),
    `  issued     ${formatTime(credential.issuedAt, now)}`,
    `  expires    ${formatTime(credential.expiresAt, now)}`,
    `  id         ${credential.id}`
  ]
}

/** The lines describing a revocation, for `show` and `revoke`. */
export function formatRevocation (revocation: Revocation, now = Date.now()): string[] {
  return [
    `  network    ${revocation.network}`,
    `  authority  ${revocation.authority}`,
    `  peer       ${revocation.peer}`,
    `  revokes    ${revocation.credentialId === undefined ? 'every credential of the peer issued until then' : `the credential with id ${revocation.credentialId}`}`,
    `  revoked    ${formatTime(revocation.revokedAt, now)}`
  ]
}

function credentialStatus (credential: Credential, now = Date.now()): CredentialStatus {
  if (credential.expiresAt <= now) {
    return 'expired'
  }

  return credential.issuedAt > now + defaults.CLOCK_SKEW_TOLERANCE ? 'not-yet-valid' : 'valid'
}

function statusLine (credential: Credential, status: CredentialStatus): string {
  const signed = `signature verified: signed by authority ${credential.authority}, the authority it names`

  switch (status) {
    case 'expired':
      return `EXPIRED credential (${signed}); it is void: grant a new one with \`netget-peer network grant\``
    case 'not-yet-valid':
      return `Credential NOT YET VALID: issued in the future; check the clocks (${signed})`
    default:
      return `Valid credential (${signed})`
  }
}

/** Which kind of netget envelope `bytes` claim to be (not verified yet), by payload type. */
function envelopeKind (bytes: Uint8Array): 'credential' | 'revocation' | undefined {
  let payloadType: Uint8Array

  try {
    payloadType = RecordEnvelope.createFromProtobuf(bytes).payloadType
  } catch {
    return undefined
  }

  if (uint8ArrayEquals(payloadType, CREDENTIAL_PAYLOAD_TYPE)) {
    return 'credential'
  }

  return uint8ArrayEquals(payloadType, REVOCATION_PAYLOAD_TYPE) ? 'revocation' : undefined
}

/** The file's bytes, at most one more than a credential may have (so /dev/zero or a huge file is refused, not read). */
async function readSmallFile (path: string): Promise<Uint8Array> {
  const limit = defaults.MAX_CREDENTIAL_BYTES
  let handle

  try {
    handle = await open(path, 'r')
    const buffer = new Uint8Array(limit + 1)
    let length = 0

    while (length < buffer.byteLength) {
      const { bytesRead } = await handle.read(buffer, length, buffer.byteLength - length)

      if (bytesRead === 0) {
        break
      }

      length += bytesRead
    }

    if (length > limit) {
      throw new CommandError(`${path} is not a valid netget credential or revocation: it is larger than the ${limit} bytes they may have`, EXIT.USAGE)
    }

    return buffer.subarray(0, length)
  } catch (err) {
    if (err instanceof CommandError) {
      throw err
    }

    const code = errnoCode(err)
    throw new CommandError(`Cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? (err as Error).message}`, code === 'EACCES' || code === 'EPERM' ? EXIT.LOCAL : EXIT.USAGE, { cause: err })
  } finally {
    await handle?.close()
  }
}
