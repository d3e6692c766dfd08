// OpenAPI 3.1 document of the REST API, generated from the same JSON Schemas ajv validates request bodies with.
import { wireSchemas } from '@gridmesh/contracts-abi';

interface Operation { method: 'get' | 'post' | 'patch' | 'put' | 'delete'; path: string; summary: string; body?: string; auth?: boolean; csv?: boolean; params?: string[]; query?: string[] }

const OPERATIONS: Operation[] = [
  { method: 'get', path: '/api/health', summary: 'Liveness and basic facts' },
  { method: 'get', path: '/api/auth/nonce', summary: 'EIP-4361 nonce and the fields the sign-in message must carry' },
  { method: 'post', path: '/api/auth/verify', summary: 'Verify a signed EIP-4361 message; returns a session token and sets the cookie', body: 'SignIn' },
  { method: 'get', path: '/api/auth/me', summary: 'The signed-in participant', auth: true },
  { method: 'post', path: '/api/auth/logout', summary: 'Revoke the session', auth: true },
  { method: 'post', path: '/api/participants', summary: 'Register a participant (EIP-712 Participant)', body: 'ParticipantRegistration' },
  { method: 'get', path: '/api/participants', summary: 'Registered participants' },
  { method: 'post', path: '/api/meters', summary: 'Bind a meter to its owner (EIP-712 MeterBinding)', body: 'MeterRegistration' },
  { method: 'get', path: '/api/meters', summary: 'Meters with their latest reading and bridge link' },
  { method: 'get', path: '/api/meters/{meter}', summary: 'One meter binding', params: ['meter'] },
  { method: 'get', path: '/api/meters/{meter}/readings', summary: 'Signed readings in a time range, or downsampled buckets with bucketMs', params: ['meter'], query: ['from', 'to', 'limit', 'bucketMs'] },
  { method: 'get', path: '/api/chain', summary: 'Chain id, RPC URL and contract addresses' },
  { method: 'get', path: '/api/markets', summary: 'Markets and their configuration' },
  { method: 'get', path: '/api/markets/{market}', summary: 'One market', params: ['market'] },
  { method: 'get', path: '/api/markets/{market}/slots', summary: 'Delivery slots and their states', params: ['market'], query: ['from', 'to'] },
  { method: 'get', path: '/api/markets/{market}/slots/{slot}', summary: 'One slot', params: ['market', 'slot'] },
  { method: 'get', path: '/api/markets/{market}/slots/{slot}/book', summary: 'Aggregated order book of a slot (+ indicative call price)', params: ['market', 'slot'], query: ['depth'] },
  { method: 'get', path: '/api/markets/{market}/slots/{slot}/trades', summary: 'Trades of a slot', params: ['market', 'slot'] },
  { method: 'get', path: '/api/markets/{market}/trades', summary: 'Recent trades of a market', params: ['market'], query: ['from', 'to', 'limit'] },
  { method: 'get', path: '/api/markets/{market}/flows', summary: 'Neighbourhood flows now', params: ['market'] },
  { method: 'get', path: '/api/markets/{market}/price-history', summary: 'Price and volume per slot', params: ['market'], query: ['from', 'to'] },
  { method: 'post', path: '/api/orders', summary: 'Place a signed order (EIP-712 Order)', body: 'OrderSubmission', auth: true },
  { method: 'get', path: '/api/orders/{id}', summary: 'One of my orders', auth: true, params: ['id'] },
  { method: 'patch', path: '/api/orders/{id}', summary: 'Amend one of my open orders (fresh signature and nonce)', body: 'OrderAmend', auth: true, params: ['id'] },
  { method: 'delete', path: '/api/orders/{id}', summary: 'Cancel one of my open orders', auth: true, params: ['id'] },
  { method: 'get', path: '/api/participants/{address}/orders', summary: 'My orders', auth: true, params: ['address'], query: ['status', 'market', 'slot', 'limit'] },
  { method: 'get', path: '/api/participants/{address}/trades', summary: 'My trades', auth: true, params: ['address'], query: ['from', 'to', 'limit'] },
  { method: 'get', path: '/api/participants/{address}/settlements', summary: 'My delivery settlements per slot', auth: true, params: ['address'], query: ['from', 'to'] },
  { method: 'get', path: '/api/participants/{address}/rewards', summary: 'My rewards: accrual per slot, epochs on chain, the proof to claim', auth: true, params: ['address'] },
  { method: 'get', path: '/api/participants/{address}/escrow', summary: 'My escrow: balance, locked by open bids, free', auth: true, params: ['address'] },
  { method: 'get', path: '/api/participants/{address}/export/readings.csv', summary: 'CSV of my meters\' readings', auth: true, csv: true, params: ['address'], query: ['from', 'to'] },
  { method: 'get', path: '/api/participants/{address}/export/trades.csv', summary: 'CSV of my trades', auth: true, csv: true, params: ['address'], query: ['from', 'to'] },
  { method: 'get', path: '/api/participants/{address}/export/settlements.csv', summary: 'CSV of my settlements', auth: true, csv: true, params: ['address'], query: ['from', 'to'] },
  { method: 'get', path: '/api/operator', summary: 'Operator view: slots, settlement batches, reward epochs, grid exchange, bridges' },
  { method: 'get', path: '/api/demo/homes', summary: 'Demo mode only: the demo homes and their (public!) keys' },
];

const ERRORS: Record<string, string> = {
  '400': 'Validation error (field-level `fields`), bad signature or refused order',
  '401': 'Not signed in',
  '403': 'Another participant\'s resource',
  '404': 'Not found',
  '409': 'State conflict (used nonce, gate closed, insufficient escrow, …)',
  '429': 'Rate limited',
};

export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const schemas: Record<string, unknown> = {
    WireError: {
      type: 'object', required: ['code', 'message'],
      properties: { code: { type: 'string' }, reason: { type: 'string' }, message: { type: 'string' }, fields: { type: 'array', items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } } } },
    },
  };
  for (const schema of wireSchemas) {
    const { $id, ...rest } = schema as { $id: string } & Record<string, unknown>;
    schemas[$id.replace(/^.*\/([^/]+)\.json$/, '$1')] = rest;
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters = [
      ...(op.params ?? []).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...(op.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
    ];
    const responses: Record<string, unknown> = {
      '200': { description: 'OK', content: op.csv ? { 'text/csv': { schema: { type: 'string' } } } : { 'application/json': { schema: {} } } },
    };
    for (const [code, description] of Object.entries(ERRORS)) responses[code] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/WireError' } } } };
    paths[op.path] ??= {};
    paths[op.path][op.method] = {
      summary: op.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${op.body}` } } } } } : {}),
      ...(op.auth ? { security: [{ bearer: [] }, { cookie: [] }] } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'gridmesh', version: '0.1.0', description: 'Peer-to-peer energy trading: see server/API.md for the Socket.IO /market events.' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: serverUrl }],
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Session token from POST /api/auth/verify' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'gridmesh_session' },
      },
    },
    paths,
  };
}
