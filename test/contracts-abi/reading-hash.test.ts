// The fast MeterReading digest equals ethers' generic EIP-712 hashing, and the wire schemas refuse bad input by field.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TypedDataEncoder, Wallet } from 'ethers';
import { MeterReadingHasher, MeterReadingTypes, gridmeshDomain, bytesToHex, validate, ErrorCode } from '@gridmesh/contracts-abi';

describe('contracts-abi: MeterReading EIP-712 digest', () => {
  const chainId = 31337;
  const hasher = new MeterReadingHasher(chainId);
  const meter = Wallet.createRandom().address as `0x${string}`;

  it('equals ethers TypedDataEncoder.hash for random readings (incl. negative power)', () => {
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          timestamp: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          importWh: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          exportWh: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          powerW: fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
          flags: fc.nat({ max: 0xffffffff }),
        }),
        (fields) => {
          const reading = { meter, ...fields };
          const expected = TypedDataEncoder.hash(gridmeshDomain(chainId), MeterReadingTypes, reading);
          assert.equal(bytesToHex(hasher.digest(reading)), expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays equal to ethers when readings of different meters alternate (the meter bytes are cached per meter)', () => {
    const meters = [meter, Wallet.createRandom().address as `0x${string}`, meter.toLowerCase() as `0x${string}`];
    for (let i = 0; i < 9; i++) {
      const reading = { meter: meters[i % 3], seq: i, timestamp: 1_700_000_000_000 + i, importWh: i * 7, exportWh: i, powerW: -i * 100, flags: 0 };
      assert.equal(bytesToHex(hasher.digest(reading)), TypedDataEncoder.hash(gridmeshDomain(chainId), MeterReadingTypes, reading));
    }
  });

  it('a reading with a missing field and a wrong type is refused naming both fields', () => {
    const result = validate('SignedMeterReading', { meter, seq: -1, timestamp: 1, importWh: 0, exportWh: 0, flags: 0, signature: '0x' + '1'.repeat(130) });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, ErrorCode.VALIDATION);
    const fields = result.error.fields!.map((f) => f.field).sort();
    assert.deepEqual(fields, ['/powerW', '/seq']);
  });
});
