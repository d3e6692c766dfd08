// `gridmesh-bridge status --config FILE`: last reading per device, outbox depth and link state, from the running bridge's files.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { loadConfig } from '../config/load.ts';
import { OUTBOX_FILE, STATUS_FILE, type StatusFile } from '../runner.ts';
import { CliError } from './errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function statusCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, strict: true, options: { config: { type: 'string' }, json: { type: 'boolean' } } });
  if (!values.config) throw new CliError('usage: gridmesh-bridge status --config FILE [--json]');
  const cfg = loadConfig(values.config);
  const statusPath = join(cfg.dataDir!, STATUS_FILE);
  const dbPath = join(cfg.dataDir!, OUTBOX_FILE);
  const status: StatusFile | undefined = existsSync(statusPath) ? (JSON.parse(readFileSync(statusPath, 'utf8')) as StatusFile) : undefined;
  // The outbox itself is the truth for depth: read it directly (read-only, WAL allows it while the bridge writes).
  let depth: Record<string, number> = {};
  let quarantined: Record<string, number> = {};
  let dropped = 0;
  if (existsSync(dbPath)) {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      depth = Object.fromEntries((db.prepare('SELECT meter, count(*) AS n FROM outbox GROUP BY meter').all() as Array<{ meter: string; n: number }>).map((r) => [r.meter, r.n]));
      quarantined = Object.fromEntries((db.prepare('SELECT meter, count(*) AS n FROM quarantine GROUP BY meter').all() as Array<{ meter: string; n: number }>).map((r) => [r.meter, r.n]));
      dropped = Number((db.prepare("SELECT value FROM meta WHERE key = 'dropped'").get() as { value: string } | undefined)?.value ?? 0);
    } finally {
      db.close();
    }
  }
  const running = status ? alive(status.pid) && Date.now() - status.updatedAt < 30_000 : false;
  const report = {
    running,
    updatedAt: status?.updatedAt,
    server: cfg.server,
    devices: (status?.devices ?? []).map((d) => ({ ...d, link: running ? d.link : 'not running', outboxDepth: depth[d.meter] ?? 0, quarantined: quarantined[d.meter] ?? 0 })),
    outbox: { depth: Object.values(depth).reduce((a, b) => a + b, 0), dropped },
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  const lines = [`bridge ${running ? 'running' : 'NOT running'} → ${cfg.server}; outbox ${report.outbox.depth} pending, ${dropped} dropped`];
  for (const d of report.devices) {
    const last = d.last ? `seq ${d.last.seq} at ${new Date(d.last.timestamp).toISOString()}: ${d.last.powerW} W, import ${d.last.importWh} Wh, export ${d.last.exportWh} Wh` : 'no reading yet';
    lines.push(`  ${d.id} (${d.type}) ${d.meter}: link ${d.link}${d.linkError ? ` (${d.linkError})` : ''}; source ${d.source.state} ${d.source.message}; pending ${d.outboxDepth}, quarantined ${d.quarantined}; ${last}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}
