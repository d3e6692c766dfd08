// gridmesh-bridge command line: dispatches to the subcommands and turns every expected failure into a message + exit code.
import { CliError } from './errors.ts';
import { ConfigError } from '../config/load.ts';
import { KeystoreError } from '../keystore.ts';

const USAGE = `usage: gridmesh-bridge <command> [options]
  list-ports                      serial ports with vendor/product ids
  init --dir DIR --server URL --device TYPE …   create keystore + commented config
  probe --device TYPE …           read one normalised reading and print it as JSON
  scan --port P [--baud B]        find Modbus unit ids on an RS485 bus
  dsmr-parse [FILE|-]             parse DSMR P1 telegrams, one JSON object per telegram
  run --config FILE [--check]     run the bridge
  status --config FILE [--json]   last reading per device, outbox depth, link state`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'init':
      return (await import('./init.ts')).initCommand(rest);
    case 'run':
      return (await import('./run.ts')).runCommand(rest);
    case 'status':
      return (await import('./status.ts')).statusCommand(rest);
    case 'list-ports':
      return (await import('./hardware.ts')).listPortsCommand(rest);
    case 'probe':
      return (await import('./hardware.ts')).probeCommand(rest);
    case 'scan':
      return (await import('./hardware.ts')).scanCommand(rest);
    case 'dsmr-parse':
      return (await import('./hardware.ts')).dsmrParseCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return;
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  }
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  const e = err as Error & { code?: string };
  if (err instanceof CliError) {
    process.stderr.write(`gridmesh-bridge: ${e.message}\n`);
    process.exit(err.exitCode);
  } else if (err instanceof ConfigError || err instanceof KeystoreError || e.code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`gridmesh-bridge: ${e.message}\n`);
    process.exit(2);
  } else {
    process.stderr.write(`gridmesh-bridge: ${e.message}\n${process.env.GRIDMESH_DEBUG ? e.stack + '\n' : ''}`);
    process.exit(1);
  }
}
