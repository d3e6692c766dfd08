// Worker thread of the verification pool: verifies batches of readings (WASM keccak digest + libsecp256k1), answers outcomes.
import { parentPort, workerData } from 'node:worker_threads';
import type { Address, MeterReading } from '@gridmesh/contracts-abi';
import { ReadingVerifier } from './reading-verifier.ts';
import { NUMBERS_PER_READING, type VerifyRequest, type VerifyResponse } from './verify-message.ts';

const CODES = { ok: 0, 'bad-signature': 1, 'wrong-signer': 2 } as const;

const verifier = await ReadingVerifier.fast((workerData as { chainId: number }).chainId);
// One reading object, refilled per reading: the verifier reads it synchronously and keeps nothing of it.
const reading: MeterReading = { meter: '0x' as Address, seq: 0, timestamp: 0, importWh: 0, exportWh: 0, powerW: 0, flags: 0 };
parentPort!.on('message', (req: VerifyRequest) => {
  const n = req.signatures.length;
  const outcomes = new Uint8Array(n);
  const x = req.numbers;
  for (let i = 0, o = 0; i < n; i++, o += NUMBERS_PER_READING) {
    reading.meter = req.meters[i] as Address;
    reading.seq = x[o]; reading.timestamp = x[o + 1]; reading.importWh = x[o + 2];
    reading.exportWh = x[o + 3]; reading.powerW = x[o + 4]; reading.flags = x[o + 5];
    outcomes[i] = CODES[verifier.verify(reading, req.signatures[i])];
  }
  parentPort!.postMessage({ id: req.id, outcomes } satisfies VerifyResponse, [outcomes.buffer]);
});
parentPort!.postMessage({ ready: true });
