// A participant's side of registration over REST: signs the EIP-712 Participant and MeterBinding messages with the owner wallet.
import type { Wallet, HDNodeWallet } from 'ethers';
import { METER_ROLES, MeterBindingTypes, ParticipantTypes, gridmeshDomain, type Address, type MeterRole } from '@gridmesh/contracts-abi';

export interface RegisterHomeInput {
  baseUrl: string;
  chainId: number;
  owner: Wallet | HDNodeWallet;
  name: string;
  meter: Address;
  role?: MeterRole;
  capacityW?: number;
  label?: string;
  nonce?: number;
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** Registers the owner as a participant and binds the meter to it; throws with the server's error when refused. */
export async function registerHome(input: RegisterHomeInput): Promise<void> {
  const domain = gridmeshDomain(input.chainId);
  const address = input.owner.address as Address;
  const participant = await postJson(`${input.baseUrl}/api/participants`, {
    address,
    name: input.name,
    signature: await input.owner.signTypedData(domain, ParticipantTypes, { participant: address, name: input.name }),
  });
  if (participant.status >= 300) throw new Error(`participant registration refused (${participant.status}): ${JSON.stringify(participant.body)}`);
  const role = input.role ?? 'grid';
  const capacityW = input.capacityW ?? 10_000;
  const nonce = input.nonce ?? 1;
  const binding = { meter: input.meter, owner: address, role: METER_ROLES.indexOf(role), capacityW, nonce };
  const meter = await postJson(`${input.baseUrl}/api/meters`, {
    meter: input.meter, owner: address, role, capacityW, nonce,
    ...(input.label ? { label: input.label } : {}),
    signature: await input.owner.signTypedData(domain, MeterBindingTypes, binding),
  });
  if (meter.status >= 300) throw new Error(`meter binding refused (${meter.status}): ${JSON.stringify(meter.body)}`);
}
