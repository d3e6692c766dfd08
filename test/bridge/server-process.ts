// Runs the real gridmesh server (tsx server/src/cli/serve.ts) as a child process for bridge end-to-end tests, and registers homes over REST.
import { Wallet } from 'ethers';
import { gridmeshDomain, METER_ROLES, MeterBindingTypes, ParticipantTypes, type Address, type SignedMeterReading } from '@gridmesh/contracts-abi';
import { startServerProcess, type ServerProcess as RunningServer } from '../helpers/processes.ts';

export interface ServerProcess extends RunningServer {
  port: number;
}

/** Starts the server (the shared spawner in test/helpers/processes.ts); `port` 0 picks a free one, a fixed one restarts in place. */
export async function startServer(dataDir: string, port = 0): Promise<ServerProcess> {
  const proc = await startServerProcess({ PORT: String(port), GRIDMESH_DATA_DIR: dataDir, HOST: '127.0.0.1' });
  return { ...proc, port: Number(new URL(proc.url).port) };
}

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`${url} → ${res.status} ${await res.text()}`);
}

/** Registers a fresh owner and binds the meter to it (EIP-712 Participant + MeterBinding). */
export async function registerMeter(baseUrl: string, chainId: number, meter: Address, name = 'test home'): Promise<Wallet> {
  const owner = new Wallet(Wallet.createRandom().privateKey);
  const domain = gridmeshDomain(chainId);
  const address = owner.address as Address;
  await post(`${baseUrl}/api/participants`, { address, name, signature: await owner.signTypedData(domain, ParticipantTypes, { participant: address, name }) });
  const binding = { meter, owner: address, role: METER_ROLES.indexOf('grid'), capacityW: 10_000, nonce: 1 };
  await post(`${baseUrl}/api/meters`, { meter, owner: address, role: 'grid', capacityW: 10_000, nonce: 1, signature: await owner.signTypedData(domain, MeterBindingTypes, binding) });
  return owner;
}

export async function serverReadings(baseUrl: string, meter: Address): Promise<SignedMeterReading[]> {
  const all: SignedMeterReading[] = [];
  let from = 0;
  for (;;) {
    const res = await fetch(`${baseUrl}/api/meters/${meter}/readings?from=${from}&limit=10000`);
    if (res.status !== 200) throw new Error(`readings → ${res.status} ${await res.text()}`);
    const page = (await res.json()) as SignedMeterReading[];
    all.push(...page);
    if (page.length < 10000) return all;
    from = page[page.length - 1].timestamp + 1;
  }
}
