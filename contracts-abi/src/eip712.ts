// EIP-712 domain and typed-data definitions shared by bridge, server, web and the Solidity contracts.
import type { TypedDataField } from 'ethers';

/** Domain name/version; chainId comes from configuration. No verifyingContract, so a bridge can sign before contracts exist. */
export const DOMAIN_NAME = 'gridmesh';
export const DOMAIN_VERSION = '1';

export interface Eip712Domain {
  name: string;
  version: string;
  chainId: number;
}

export function gridmeshDomain(chainId: number): Eip712Domain {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId };
}

/** Flags carried in a signed reading (bit field). */
export const ReadingFlags = {
  /** The reading follows a gap in which counts may have been lost (unplug, board reset). */
  GAP: 1,
  /** Produced by a simulated device (demo). */
  SIMULATED: 2,
  /** Counter is relative to the bridge's own pulse count, not an absolute meter register. */
  RELATIVE_COUNTER: 4,
} as const;

export const MeterReadingTypes: Record<string, TypedDataField[]> = {
  MeterReading: [
    { name: 'meter', type: 'address' },
    { name: 'seq', type: 'uint64' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'importWh', type: 'uint64' },
    { name: 'exportWh', type: 'uint64' },
    { name: 'powerW', type: 'int64' },
    { name: 'flags', type: 'uint32' },
  ],
};
export const METER_READING_TYPE =
  'MeterReading(address meter,uint64 seq,uint64 timestamp,uint64 importWh,uint64 exportWh,int64 powerW,uint32 flags)';

/** Sides of an order as signed: 0 = bid (buy), 1 = ask (sell). */
export const OrderSideCode = { bid: 0, ask: 1 } as const;
/** Time in force as signed: 0 = good till gate closure, 1 = immediate or cancel. */
export const TimeInForceCode = { gtc: 0, ioc: 1 } as const;

export const OrderTypes: Record<string, TypedDataField[]> = {
  Order: [
    { name: 'participant', type: 'address' },
    { name: 'market', type: 'string' },
    { name: 'slot', type: 'uint64' },
    { name: 'side', type: 'uint8' },
    { name: 'price', type: 'uint256' },
    { name: 'quantityWh', type: 'uint64' },
    { name: 'timeInForce', type: 'uint8' },
    { name: 'nonce', type: 'uint64' },
    { name: 'expiry', type: 'uint64' },
  ],
};
export const ORDER_TYPE =
  'Order(address participant,string market,uint64 slot,uint8 side,uint256 price,uint64 quantityWh,uint8 timeInForce,uint64 nonce,uint64 expiry)';

/** A participant introduces itself: proves control of the wallet that becomes its identity. */
export const ParticipantTypes: Record<string, TypedDataField[]> = {
  Participant: [
    { name: 'participant', type: 'address' },
    { name: 'name', type: 'string' },
  ],
};

/** Meter roles as signed in a binding: index into METER_ROLES. */
export const METER_ROLES = ['grid', 'pv', 'battery', 'ev'] as const;
export type MeterRole = (typeof METER_ROLES)[number];

/** The owner binds a meter (device key) to itself; the same struct is accepted by the on-chain registry. */
export const MeterBindingTypes: Record<string, TypedDataField[]> = {
  MeterBinding: [
    { name: 'meter', type: 'address' },
    { name: 'owner', type: 'address' },
    { name: 'role', type: 'uint8' },
    { name: 'capacityW', type: 'uint32' },
    { name: 'nonce', type: 'uint64' },
  ],
};
export const METER_BINDING_TYPE =
  'MeterBinding(address meter,address owner,uint8 role,uint32 capacityW,uint64 nonce)';

/** A device proves it holds the meter key by signing the server's challenge on the /bridge namespace. */
export const BridgeChallengeTypes: Record<string, TypedDataField[]> = {
  BridgeChallenge: [
    { name: 'meter', type: 'address' },
    { name: 'challenge', type: 'bytes32' },
  ],
};

/**
 * A participant authorises a session key (delegate) to sign `Order`s on its behalf until `expiry` (Unix ms):
 * the trade-rule engine signs rule orders with it, so they are as verifiable as manual ones.
 */
export const DelegationTypes: Record<string, TypedDataField[]> = {
  Delegation: [
    { name: 'participant', type: 'address' },
    { name: 'delegate', type: 'address' },
    { name: 'expiry', type: 'uint64' },
  ],
};
export const DELEGATION_TYPE = 'Delegation(address participant,address delegate,uint64 expiry)';
