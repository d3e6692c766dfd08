// Runs the embedded chain as its own process: `tsx server/src/chain/chain-cli.ts --data-dir DIR [--port N]`.
import { startEmbeddedChain } from './local-chain.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const dataDir = arg('--data-dir');
if (!dataDir) {
  console.error('usage: chain-cli --data-dir DIR [--port N]');
  process.exit(2);
}
const port = Number(arg('--port') ?? '0');
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be 0..65535, got ${arg('--port')}`);
  process.exit(2);
}
const chain = await startEmbeddedChain({ dataDir, port });
// One JSON line on stdout: how a parent process learns the URL and addresses.
console.log(JSON.stringify({ rpcUrl: chain.rpcUrl, port: chain.port, chainId: chain.chainId, addresses: chain.addresses, replayedBlocks: chain.replayedBlocks, startupMs: Math.round(chain.startupMs) }));
const shutdown = () => void chain.stop().then(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
