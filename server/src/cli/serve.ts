// Entry point: `tsx server/src/cli/serve.ts` starts the server from env + config file; SIGINT/SIGTERM shut it down gracefully.
import { configFromEnv } from '../config.ts';
import { pinoLogger, startServer } from '../server.ts';

const log = pinoLogger();
try {
  const server = await startServer(configFromEnv(), log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    // A hung close must not keep the process alive forever.
    setTimeout(() => process.exit(1), 10_000).unref();
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  console.error(`gridmesh server failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
