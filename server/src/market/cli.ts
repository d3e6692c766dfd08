// Replay CLI (the one I/O edge of the market folder): JSON Lines commands in, one JSON event per line out.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { eventToJson, parseCommand } from './codec.ts';
import { MarketConfigError, marketConfig } from './config.ts';
import { Market } from './market.ts';
import type { MarketConfig } from './types.ts';

const USAGE = `usage: gridmesh-market replay [options] FILE|-

Reads market commands as JSON Lines (FILE, or stdin for "-") and prints every event as one JSON line.
  {"type":"submit","id":"o1","participant":"alice","side":"bid","price":"300000","quantityWh":500,"time":1}
  {"type":"cancel","id":"o1","time":2}     {"type":"amend","id":"o1","price":"310000","quantityWh":400,"time":3}
  {"type":"close","time":4}                 {"type":"tick","time":5}
"slot" may be given per command; without it the command goes to --slot.

options:
  --mechanism continuous|call   matching mechanism (default continuous)
  --k K                         call price rule, price = L + K·(U − L), K in [0,1] (default 0.5)
  --rationing pro-rata|time     sharing of the marginal call level (default pro-rata)
  --floor P --cap P --tick P    price range and grid, base units per kWh (default 0, 1000000000, 1)
  --slot S                      default slot for commands without one (default 0)
  --slot-ms N --horizon-ms N --gate-ms N   slot length and trading window (default: always open)

exit codes: 0 ok, 2 some input line was not valid JSON (reported on stderr with its line number),
64 bad options, 66 input file unreadable.`;

class UsageError extends Error {}

function bigintOption(name: string, value: string | undefined, fallback: bigint): bigint {
  if (value === undefined) return fallback;
  if (!/^(0|[1-9][0-9]*)$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer in base units, got ${JSON.stringify(value)}`);
  return BigInt(value);
}

function intOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^-?[0-9]+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(value)}`);
  return n;
}

function configFrom(values: Record<string, string | undefined>): { config: MarketConfig; slot: number } {
  const mechanism = values.mechanism ?? 'continuous';
  if (mechanism !== 'continuous' && mechanism !== 'call') throw new UsageError(`--mechanism must be continuous or call, got ${JSON.stringify(mechanism)}`);
  const rationing = values.rationing ?? 'pro-rata';
  if (rationing !== 'pro-rata' && rationing !== 'time') throw new UsageError(`--rationing must be pro-rata or time, got ${JSON.stringify(rationing)}`);
  const always = Number.MAX_SAFE_INTEGER;
  const config = marketConfig({
    name: 'replay',
    mechanism,
    callRationing: rationing,
    k: values.k ?? '0.5',
    floor: bigintOption('floor', values.floor, 0n),
    cap: bigintOption('cap', values.cap, 1_000_000_000n),
    tick: bigintOption('tick', values.tick, 1n),
    slotMs: intOption('slot-ms', values['slot-ms'], 900_000),
    horizonMs: intOption('horizon-ms', values['horizon-ms'], always),
    gateMs: intOption('gate-ms', values['gate-ms'], -always),
  });
  return { config, slot: intOption('slot', values.slot, 0) };
}

async function replayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: Object.fromEntries(['mechanism', 'k', 'rationing', 'floor', 'cap', 'tick', 'slot', 'slot-ms', 'horizon-ms', 'gate-ms'].map((o) => [o, { type: 'string' as const }])),
  });
  if (positionals.length !== 1) throw new UsageError('expected exactly one input: FILE or -');
  const { config, slot } = configFrom(values as Record<string, string | undefined>);
  const market = new Market(config);
  const source = positionals[0] === '-' ? process.stdin : createReadStream(positionals[0]);
  const opened = new Promise<void>((resolve, reject) => { source.once('error', reject); source.once('readable', resolve); source.once('end', resolve); });
  try { await opened; } catch (err) {
    process.stderr.write(`gridmesh-market: cannot read ${positionals[0]}: ${(err as Error).message}\n`);
    return 66;
  }
  let malformed = 0;
  let lineNo = 0;
  let pending = '';
  const flush = async () => {
    if (!pending) return;
    const chunk = pending;
    pending = '';
    if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
  };
  for await (const line of createInterface({ input: source, crlfDelay: Infinity })) {
    lineNo++;
    if (!line.trim()) continue;
    let json: unknown;
    try { json = JSON.parse(line); } catch (err) {
      malformed++;
      process.stderr.write(`gridmesh-market: line ${lineNo}: malformed JSON (${(err as Error).message})\n`);
      continue;
    }
    for (const event of market.apply(parseCommand(json, slot))) pending += eventToJson(event) + '\n';
    if (pending.length > 1 << 16) await flush();
  }
  await flush();
  return malformed ? 2 : 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') { process.stdout.write(USAGE + '\n'); return 0; }
  if (command !== 'replay') { process.stderr.write(`${command ? `unknown command ${JSON.stringify(command)}\n` : ''}${USAGE}\n`); return 64; }
  try {
    return await replayCommand(rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof MarketConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`gridmesh-market: ${(err as Error).message}\n${USAGE}\n`);
      return 64;
    }
    throw err;
  }
}

process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0); throw err; });
process.exitCode = await main(process.argv.slice(2));
