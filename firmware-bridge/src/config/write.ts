// Writes a commented bridge.json for `init`: every option explained where a person editing it on the Pi will look.
import type { BridgeConfig, SimulatedDeviceConfig } from './schema.ts';

const j = (v: unknown) => JSON.stringify(v);

/** Renders the config with comments; the result parses back (JSONC) to exactly `cfg`. */
export function renderConfig(cfg: BridgeConfig): string {
  const lines: string[] = [];
  lines.push('// gridmesh-bridge configuration (JSON with comments). Check it with: gridmesh-bridge run --config THIS_FILE --check');
  lines.push('{');
  lines.push('  // Server this bridge streams signed readings to (Socket.IO namespace /bridge).');
  lines.push(`  "server": ${j(cfg.server)},`);
  lines.push('  // Chain id of the EIP-712 domain {name:"gridmesh",version:"1",chainId}; must match the server.');
  lines.push(`  "chainId": ${cfg.chainId},`);
  lines.push('  // Encrypted device key (Web3 Secret Storage). Relative paths are relative to this file.');
  lines.push(`  "keystore": ${j(cfg.keystore)},`);
  if (cfg.passwordFile) {
    lines.push('  // Keystore password (first line of the file). Without it, the env GRIDMESH_KEYSTORE_PASSWORD is used.');
    lines.push(`  "passwordFile": ${j(cfg.passwordFile)},`);
  } else {
    lines.push('  // The keystore password comes from the environment variable GRIDMESH_KEYSTORE_PASSWORD');
    lines.push('  // (or add "passwordFile": "/etc/gridmesh/password").');
  }
  lines.push('  // Durable outbox (SQLite) and status file live here.');
  lines.push(`  "dataDir": ${j(cfg.dataDir ?? 'data')},`);
  lines.push('  // maxBytes: disk budget for unsent readings (the oldest are dropped and counted only beyond it);');
  lines.push('  // batchSize: readings per message (≤ 1000); ackTimeoutMs: resend the batch when no ack came in time.');
  lines.push(`  "outbox": ${j(cfg.outbox ?? {})},`);
  lines.push('  // statusIntervalMs: health report period; retryBaseMs/retryMaxMs: reconnect back-off (exponential, jittered).');
  lines.push(`  "link": ${j(cfg.link ?? {})},`);
  lines.push('  // One entry per meter. Types: simulated, modbus-rtu, modbus-tcp, dsmr-p1, firmata (see README "Connect your meter").');
  lines.push('  "devices": [');
  cfg.devices.forEach((d, i) => {
    const comma = i < cfg.devices.length - 1 ? ',' : '';
    if (d.type === 'simulated') {
      const s = d as SimulatedDeviceConfig;
      lines.push('    // Simulated home with PV: seed makes homes differ; pvPeakW clear-sky peak; loadBaseW household base load;');
      lines.push('    // clockOffsetMin shifts the simulated time of day (e.g. 600 shows noon sun at 02:00 local).');
      lines.push(`    ${j(s)}${comma}`);
    } else {
      lines.push(`    ${j(d)}${comma}`);
    }
  });
  lines.push('  ]');
  lines.push('}');
  return lines.join('\n') + '\n';
}
