// JSON Schemas of every wire message: Socket.IO events (both namespaces) and REST bodies.
import { SCHEMA_BASE, address, signature, bytes32, uint, int, decimal, signedDecimal, marketId, timestampMs } from './common.ts';

const id = (name: string) => `${SCHEMA_BASE}/${name}.json`;

export const phaseSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { voltageV: { type: 'number' }, currentA: { type: 'number' }, powerW: { type: 'number' } },
} as const;

/** A meter reading as signed by the bridge (EIP-712 `MeterReading`) plus unsigned per-phase telemetry. */
export const signedMeterReadingSchema = {
  $id: id('SignedMeterReading'),
  type: 'object',
  additionalProperties: false,
  required: ['meter', 'seq', 'timestamp', 'importWh', 'exportWh', 'powerW', 'flags', 'signature'],
  properties: {
    meter: address,
    seq: uint,
    timestamp: timestampMs,
    importWh: uint,
    exportWh: uint,
    powerW: int,
    flags: { type: 'integer', minimum: 0, maximum: 4294967295 },
    signature,
    phases: { type: 'array', maxItems: 3, items: phaseSchema },
  },
} as const;

/** Bridge → server on /bridge: `readings` event; the ack is per batch. */
export const readingBatchSchema = {
  $id: id('ReadingBatch'),
  type: 'object',
  additionalProperties: false,
  required: ['readings'],
  properties: {
    readings: { type: 'array', minItems: 1, maxItems: 1000, items: { $ref: 'SignedMeterReading.json' } },
  },
} as const;

/** Bridge → server on /bridge: `hello` answers the challenge, proving the bridge holds the meter key. */
export const bridgeHelloSchema = {
  $id: id('BridgeHello'),
  type: 'object',
  additionalProperties: false,
  required: ['meter', 'challenge', 'signature'],
  properties: {
    meter: address,
    challenge: bytes32,
    signature,
    agent: { type: 'string', maxLength: 100 },
    outboxDepth: uint,
  },
} as const;

/** Bridge → server on /bridge: `status` reports the bridge's own health. */
export const bridgeStatusSchema = {
  $id: id('BridgeStatus'),
  type: 'object',
  additionalProperties: false,
  required: ['meter'],
  properties: {
    meter: address,
    outboxDepth: uint,
    droppedReadings: uint,
    badTelegrams: uint,
    sourceState: { type: 'string', enum: ['ok', 'degraded', 'offline'] },
    message: { type: 'string', maxLength: 500 },
  },
} as const;

/** Server → bridge on /bridge: `dispatch` switches a flexible load for a slot. */
export const dispatchSchema = {
  $id: id('Dispatch'),
  type: 'object',
  additionalProperties: false,
  required: ['meter', 'slot', 'slotEnd', 'on'],
  properties: { meter: address, slot: timestampMs, slotEnd: timestampMs, on: { type: 'boolean' }, reason: { type: 'string' } },
} as const;

/** REST POST /api/participants. Signature: EIP-712 `Participant` by the wallet. */
export const participantRegistrationSchema = {
  $id: id('ParticipantRegistration'),
  type: 'object',
  additionalProperties: false,
  required: ['address', 'name', 'signature'],
  properties: {
    address,
    name: { type: 'string', minLength: 1, maxLength: 64 },
    signature,
  },
} as const;

/** REST POST /api/meters. Signature: EIP-712 `MeterBinding` by the owner. */
export const meterRegistrationSchema = {
  $id: id('MeterRegistration'),
  type: 'object',
  additionalProperties: false,
  required: ['meter', 'owner', 'role', 'capacityW', 'nonce', 'signature'],
  properties: {
    meter: address,
    owner: address,
    role: { type: 'string', enum: ['grid', 'pv', 'battery', 'ev'] },
    capacityW: { type: 'integer', minimum: 1, maximum: 4294967295 },
    nonce: uint,
    label: { type: 'string', maxLength: 64 },
    signature,
  },
} as const;

/** REST POST /api/orders and /market `order:submit`. Signature: EIP-712 `Order` by the participant. */
export const orderSubmissionSchema = {
  $id: id('OrderSubmission'),
  type: 'object',
  additionalProperties: false,
  required: ['participant', 'market', 'slot', 'side', 'price', 'quantityWh', 'timeInForce', 'nonce', 'expiry', 'signature'],
  properties: {
    participant: address,
    market: marketId,
    slot: timestampMs,
    side: { type: 'string', enum: ['bid', 'ask'] },
    price: decimal,
    quantityWh: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
    timeInForce: { type: 'string', enum: ['gtc', 'ioc'] },
    nonce: uint,
    expiry: timestampMs,
    signature,
  },
} as const;

/** REST DELETE /api/orders/:id body and /market `order:cancel`. */
export const orderCancelSchema = {
  $id: id('OrderCancel'),
  type: 'object',
  additionalProperties: false,
  required: ['orderId'],
  properties: { orderId: { type: 'string', minLength: 1, maxLength: 80 } },
} as const;

/** REST PATCH /api/orders/:id body and /market `order:amend`: a fresh EIP-712 `Order` signature over the amended order. */
export const orderAmendSchema = {
  $id: id('OrderAmend'),
  type: 'object',
  additionalProperties: false,
  required: ['nonce', 'expiry', 'signature'],
  properties: {
    orderId: { type: 'string', minLength: 1, maxLength: 80 },
    price: decimal,
    quantityWh: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
    nonce: uint,
    expiry: timestampMs,
    signature,
  },
} as const;

/** REST POST /api/auth/verify: an EIP-4361 (Sign-In with Ethereum) message and its personal_sign signature. */
export const signInSchema = {
  $id: id('SignIn'),
  type: 'object',
  additionalProperties: false,
  required: ['message', 'signature'],
  properties: { message: { type: 'string', minLength: 1, maxLength: 4096 }, signature },
} as const;

/** /market `resync`: ask for a fresh snapshot of one room after a sequence gap. */
export const roomResyncSchema = {
  $id: id('RoomResync'),
  type: 'object',
  additionalProperties: false,
  required: ['room'],
  properties: { room: { type: 'string', minLength: 1, maxLength: 120 } },
} as const;

/** /market `subscribe`: join a market's room (and a slot's). */
export const marketSubscribeSchema = {
  $id: id('MarketSubscribe'),
  type: 'object',
  additionalProperties: false,
  required: ['market'],
  properties: { market: marketId, slot: timestampMs },
} as const;

/** Server → client: one home's live power, coalesced per broadcast. */
export const livePowerSchema = {
  $id: id('LivePower'),
  type: 'object',
  additionalProperties: false,
  required: ['meter', 'owner', 'name', 'role', 'powerW', 'importWh', 'exportWh', 'timestamp', 'seq', 'verified'],
  properties: {
    meter: address,
    owner: address,
    name: { type: 'string' },
    role: { type: 'string' },
    powerW: int,
    importWh: uint,
    exportWh: uint,
    timestamp: timestampMs,
    seq: uint,
    verified: { type: 'boolean' },
  },
} as const;

export const bookLevelSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['price', 'quantityWh', 'orders'],
  properties: { price: decimal, quantityWh: uint, orders: uint },
} as const;

/** Server → client on /market: `book` snapshot of one slot (aggregated levels). */
export const bookSnapshotSchema = {
  $id: id('BookSnapshot'),
  type: 'object',
  additionalProperties: false,
  required: ['market', 'slot', 'seq', 'bids', 'asks'],
  properties: {
    market: marketId,
    slot: timestampMs,
    seq: uint,
    bids: { type: 'array', items: bookLevelSchema },
    asks: { type: 'array', items: bookLevelSchema },
    indicative: {
      type: 'object',
      additionalProperties: false,
      required: ['price', 'volumeWh'],
      properties: { price: { anyOf: [decimal, { type: 'null' }] }, volumeWh: uint },
    },
  },
} as const;

/** Server → client on /market: `trade`. */
export const tradeSchema = {
  $id: id('Trade'),
  type: 'object',
  additionalProperties: false,
  required: ['id', 'market', 'slot', 'seq', 'buyOrder', 'sellOrder', 'buyer', 'seller', 'price', 'quantityWh', 'time'],
  properties: {
    id: { type: 'string' },
    market: marketId,
    slot: timestampMs,
    seq: uint,
    buyOrder: { type: 'string' },
    sellOrder: { type: 'string' },
    buyer: address,
    seller: address,
    price: decimal,
    quantityWh: uint,
    time: timestampMs,
  },
} as const;

/** A settlement delta (token base units, may be negative). */
export const settlementDeltaSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['account', 'delta'],
  properties: { account: address, delta: signedDecimal },
} as const;

/** REST POST /api/delegations: the participant's EIP-712 `Delegation` authorising a session key to sign its orders. */
export const delegationGrantSchema = {
  $id: id('DelegationGrant'),
  type: 'object',
  additionalProperties: false,
  required: ['participant', 'delegate', 'expiry', 'signature'],
  properties: { participant: address, delegate: address, expiry: timestampMs, signature },
} as const;

/** REST POST /api/participants/:address/delegation: the signed-in participant authorises a session key it was given. */
export const sessionKeyAuthorisationSchema = {
  $id: id('SessionKeyAuthorisation'),
  type: 'object',
  additionalProperties: false,
  required: ['sessionKey', 'expiry', 'signature'],
  properties: { sessionKey: address, expiry: timestampMs, signature },
} as const;

/** One standing trade rule for one meter (prices in token base units per kWh; null = do not sell / do not buy). */
export const tradeRuleSchema = {
  $id: id('TradeRule'),
  type: 'object',
  additionalProperties: false,
  required: ['meter', 'enabled'],
  properties: {
    meter: address,
    market: marketId,
    enabled: { type: 'boolean' },
    minSellPrice: { anyOf: [decimal, { type: 'null' }] },
    maxBuyPrice: { anyOf: [decimal, { type: 'null' }] },
  },
} as const;

/** REST PUT /api/participants/:address/rules: the participant's whole rule set. */
export const tradeRulesUpdateSchema = {
  $id: id('TradeRulesUpdate'),
  type: 'object',
  additionalProperties: false,
  required: ['rules'],
  properties: { rules: { type: 'array', maxItems: 64, items: { $ref: 'TradeRule.json' } } },
} as const;

export const wireSchemas = [
  signedMeterReadingSchema,
  readingBatchSchema,
  bridgeHelloSchema,
  bridgeStatusSchema,
  dispatchSchema,
  participantRegistrationSchema,
  meterRegistrationSchema,
  orderSubmissionSchema,
  orderCancelSchema,
  orderAmendSchema,
  signInSchema,
  roomResyncSchema,
  marketSubscribeSchema,
  livePowerSchema,
  bookSnapshotSchema,
  tradeSchema,
  delegationGrantSchema,
  sessionKeyAuthorisationSchema,
  tradeRuleSchema,
  tradeRulesUpdateSchema,
] as const;
