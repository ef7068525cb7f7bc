import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { rejectionOf } from './helpers.js'
import { checkCredential, issueCredential, openCredential } from '../src/trust/credential.js'
import { isNamePattern, matchesNamePattern } from '../src/trust/names.js'
import { RevocationList } from '../src/trust/revocation-list.js'
import { issueRevocation } from '../src/trust/revocation.js'
import { sealEnvelope } from '../src/records/envelope.js'
import { CREDENTIAL_DOMAIN, CREDENTIAL_PAYLOAD_TYPE, encodeCredential } from '../src/trust/credential.js'
import type { CredentialExpectations } from '../src/trust/credential.js'
import type { PrivateKey } from '@libp2p/interface'

const DAY = 86_400_000

describe('credentials', () => {
  let authorityKey: PrivateKey
  let authority: string
  let peer: string

  before(async () => {
    authorityKey = await generateKeyPair('Ed25519')
    authority = peerIdFromPrivateKey(authorityKey).toString()
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  })

  const expectations = (extra: Partial<CredentialExpectations> = {}): CredentialExpectations => ({ network: 'production', authority, peer, roles: ['publish'], name: 'payments', ...extra })

  it('issues, opens and checks a publish credential', async () => {
    const sealed = await issueCredential({ network: 'production', peer, role: 'publish', names: ['payments', 'orders-*'], ttl: DAY }, authorityKey)
    const opened = await openCredential(sealed.envelope)
    expect(opened.credential).to.deep.equal(sealed.credential)
    checkCredential(opened.credential, expectations())
    checkCredential(opened.credential, expectations({ name: 'orders-api' }))
  })

  const refusals: Array<[string, Partial<CredentialExpectations>, string]> = [
    ['another network', { network: 'staging' }, 'wrong-network'],
    ['another peer', { peer: 'self' }, 'wrong-peer'],
    ['another role', { roles: ['registry'] }, 'wrong-role'],
    ['a name outside its patterns', { name: 'ordersapi' }, 'name-not-granted'],
    ['after its expiry', { now: Date.now() + 2 * DAY }, 'expired'],
    ['a revoked credential', { isRevoked: () => true }, 'revoked']
  ]

  for (const [what, extra, reason] of refusals) {
    it(`refuses ${what} with reason ${reason}`, async () => {
      const sealed = await issueCredential({ network: 'production', peer, role: 'publish', names: ['payments', 'orders-*'], ttl: DAY }, authorityKey)
      const patched = extra.peer === 'self' ? { ...extra, peer: authority } : extra
      expect(() => { checkCredential(sealed.credential, expectations(patched)) }).to.throw().with.property('reason', reason)
    })
  }

  it('refuses a credential of another authority', async () => {
    const other = await generateKeyPair('Ed25519')
    const sealed = await issueCredential({ network: 'production', peer, role: 'publish', names: ['payments'], ttl: DAY }, other)
    const opened = await openCredential(sealed.envelope)
    expect(() => { checkCredential(opened.credential, expectations()) }).to.throw().with.property('reason', 'wrong-authority')
  })

  it('refuses a credential that names one authority and is signed by another key', async () => {
    const forger = await generateKeyPair('Ed25519')
    const sealed = await issueCredential({ network: 'production', peer, role: 'publish', names: ['payments'], ttl: DAY }, authorityKey)
    const forged = await sealEnvelope(CREDENTIAL_DOMAIN, CREDENTIAL_PAYLOAD_TYPE, encodeCredential(sealed.credential), forger)
    expect((await rejectionOf(openCredential(forged))).message).to.match(/signed by/)
  })

  it('refuses a record envelope passed off as a credential (domain separation)', async () => {
    const sealed = await issueCredential({ network: 'production', peer, role: 'publish', names: ['payments'], ttl: DAY }, authorityKey)
    const wrongDomain = await sealEnvelope('netget-service-record', CREDENTIAL_PAYLOAD_TYPE, encodeCredential(sealed.credential), authorityKey)
    expect(await rejectionOf(openCredential(wrongDomain))).to.have.property('name', 'InvalidRecordError')
  })

  it('refuses a credential valid for longer than the maximum', async () => {
    expect((await rejectionOf(issueCredential({ network: 'production', peer, role: 'read', ttl: 31 * DAY }, authorityKey))).message).to.match(/more than the 30 days/)
  })

  it('checks name patterns', () => {
    expect(['payments', 'orders-*', '*', 'a.b_c-*'].every(isNamePattern)).to.equal(true)
    expect(['', '-x', 'a*b', '**', 'x'.repeat(65), 3].some(isNamePattern)).to.equal(false)
    expect(matchesNamePattern('orders-api', 'orders-*')).to.equal(true)
    expect(matchesNamePattern('orders', 'orders-*')).to.equal(false)
    expect(matchesNamePattern('anything', '*')).to.equal(true)
  })

  describe('revocations', () => {
    it('revoke every credential issued before, and a later grant is valid again', async () => {
      const list = new RevocationList({ network: 'production', authority })
      const before = await issueCredential({ network: 'production', peer, role: 'read', ttl: DAY, now: Date.now() - 1000 }, authorityKey)
      const revocation = await issueRevocation({ network: 'production', peer }, authorityKey)
      expect(await list.add(revocation.envelope)).to.equal(true)
      expect(await list.add(revocation.envelope)).to.equal(false)
      expect(list.isRevoked(before.credential)).to.equal(true)
      const after = await issueCredential({ network: 'production', peer, role: 'read', ttl: DAY, now: Date.now() + 1000 }, authorityKey)
      expect(list.isRevoked(after.credential)).to.equal(false)
    })

    it('revokes one credential by id only', async () => {
      const list = new RevocationList({ network: 'production', authority })
      const one = await issueCredential({ network: 'production', peer, role: 'read', ttl: DAY }, authorityKey)
      const two = await issueCredential({ network: 'production', peer, role: 'read', ttl: DAY }, authorityKey)
      await list.add((await issueRevocation({ network: 'production', peer, credentialId: one.credential.id }, authorityKey)).envelope)
      expect(list.isRevoked(one.credential)).to.equal(true)
      expect(list.isRevoked(two.credential)).to.equal(false)
    })

    it('ignores revocations of another authority and refuses forged ones', async () => {
      const list = new RevocationList({ network: 'production', authority })
      const other = await generateKeyPair('Ed25519')
      expect(await list.add((await issueRevocation({ network: 'production', peer }, other)).envelope)).to.equal(false)
      expect(await rejectionOf(list.add(new Uint8Array([1, 2, 3])))).to.have.property('name', 'InvalidRecordError')
      expect(list.size).to.equal(0)
    })

    it('stays within its bound', async () => {
      const list = new RevocationList({ network: 'production', authority, maxEntries: 3 })

      for (let i = 0; i < 5; i++) {
        const target = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
        await list.add((await issueRevocation({ network: 'production', peer: target, now: Date.now() + i }, authorityKey)).envelope)
      }

      expect(list.size).to.equal(3)
      expect(list.envelopes()).to.have.length(3)
    })
  })
})
