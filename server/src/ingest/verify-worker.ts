// Worker thread of the verification pool: verifies batches of readings (WASM keccak digest + batched libsecp256k1), answers outcomes.
import { parentPort, workerData } from 'node:worker_threads';
import type { Address, MeterReading } from '@gridmesh/contracts-abi';
import { ReadingVerifier } from './reading-verifier.ts';
import { NUMBERS_PER_READING, type VerifyRequest, type VerifyResponse } from './verify-message.ts';

const CODES = { ok: 0, 'bad-signature': 1, 'wrong-signer': 2 } as const;

const verifier = await ReadingVerifier.fast((workerData as { chainId: number }).chainId);
parentPort!.on('message', (req: VerifyRequest) => {
  const n = req.signatures.length;
  const x = req.numbers;
  const batch: { reading: MeterReading; signature: string }[] = new Array(n);
  for (let i = 0, o = 0; i < n; i++, o += NUMBERS_PER_READING) {
    batch[i] = {
      reading: { meter: req.meters[i] as Address, seq: x[o], timestamp: x[o + 1], importWh: x[o + 2], exportWh: x[o + 3], powerW: x[o + 4], flags: x[o + 5] },
      signature: req.signatures[i],
    };
  }
  const verdicts = verifier.verifyMany(batch);
  const outcomes = new Uint8Array(n);
  for (let i = 0; i < n; i++) outcomes[i] = CODES[verdicts[i]];
  parentPort!.postMessage({ id: req.id, outcomes } satisfies VerifyResponse, [outcomes.buffer]);
});
parentPort!.postMessage({ ready: true });
