// Worker thread of the verification pool: verifies batches of readings (WASM keccak digest + libsecp256k1), answers outcomes.
import { parentPort, workerData } from 'node:worker_threads';
import type { SignedMeterReading } from '@gridmesh/contracts-abi';
import { ReadingVerifier } from './reading-verifier.ts';

export interface VerifyRequest { id: number; readings: SignedMeterReading[] }
/** Per reading: 0 ok, 1 bad signature, 2 wrong signer. */
export interface VerifyResponse { id: number; outcomes: Uint8Array }

const CODES = { ok: 0, 'bad-signature': 1, 'wrong-signer': 2 } as const;

const verifier = await ReadingVerifier.fast((workerData as { chainId: number }).chainId);
parentPort!.on('message', (req: VerifyRequest) => {
  const outcomes = new Uint8Array(req.readings.length);
  for (let i = 0; i < req.readings.length; i++) {
    const r = req.readings[i];
    outcomes[i] = CODES[verifier.verify(r, r.signature)];
  }
  parentPort!.postMessage({ id: req.id, outcomes } satisfies VerifyResponse, [outcomes.buffer]);
});
parentPort!.postMessage({ ready: true });
