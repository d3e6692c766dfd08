// Entry point: `tsx server/src/cli/serve.ts` starts the server from environment configuration; SIGINT/SIGTERM stop it cleanly.
import { configFromEnv } from '../config.ts';
import { startServer } from '../server.ts';

try {
  const server = await startServer(configFromEnv());
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  console.error(`gridmesh server failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
