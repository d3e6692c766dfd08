// Hardware subcommands (list-ports, probe, scan, dsmr-parse); filled in with their transports.
import { CliError } from './errors.ts';

const notYet = (name: string) => async (_argv: string[]): Promise<void> => {
  throw new CliError(`${name} is not available in this build`, 1);
};
export const listPortsCommand = notYet('list-ports');
export const probeCommand = notYet('probe');
export const scanCommand = notYet('scan');
export const dsmrParseCommand = notYet('dsmr-parse');
