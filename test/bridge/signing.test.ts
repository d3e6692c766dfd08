// The bridge's reading signatures equal ethers signTypedData and recover to the meter key.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Wallet, verifyTypedData } from 'ethers';
import { gridmeshDomain, MeterReadingTypes, BridgeChallengeTypes, type MeterReading, type Hex } from '@gridmesh/contracts-abi';
import { ReadingSigner } from '../../firmware-bridge/src/signer.ts';

describe('bridge signing', () => {
  const wallet = Wallet.createRandom();
  const w = new Wallet(wallet.privateKey);
  const signer = new ReadingSigner(w, 31337);

  it('uses the native path on this machine (libsecp256k1 + native keccak)', () => {
    assert.equal(signer.native, true);
    assert.equal(new ReadingSigner(w, 31337, { native: false }).native, false);
  });

  for (const native of [true, false]) it(`signs MeterReading exactly as ethers signTypedData does (${native ? 'native' : 'pure JS'} path)`, async () => {
    const signer = new ReadingSigner(w, 31337, { native });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          timestamp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          importWh: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          exportWh: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          powerW: fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
          flags: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        }),
        async (fields) => {
          const reading: MeterReading = { meter: signer.meter, ...fields };
          const ours = signer.sign(reading);
          const theirs = await w.signTypedData(gridmeshDomain(31337), MeterReadingTypes, reading);
          assert.equal(ours, theirs);
          assert.equal(verifyTypedData(gridmeshDomain(31337), MeterReadingTypes, reading, ours), w.address);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a different chain id gives a signature that does not verify on the first chain', () => {
    const r: MeterReading = { meter: signer.meter, seq: 1, timestamp: 1, importWh: 1, exportWh: 0, powerW: 5, flags: 2 };
    const other = new ReadingSigner(w, 1).sign(r);
    assert.notEqual(verifyTypedData(gridmeshDomain(31337), MeterReadingTypes, r, other), w.address);
  });

  it('answers the bridge challenge with an EIP-712 BridgeChallenge signature', async () => {
    const challenge = ('0x' + 'ab'.repeat(32)) as Hex;
    const sig = await signer.signChallenge(challenge);
    assert.equal(verifyTypedData(gridmeshDomain(31337), BridgeChallengeTypes, { meter: signer.meter, challenge }, sig), w.address);
  });
});
