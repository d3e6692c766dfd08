// The CLI as a user meets it: init output and files, config errors by JSON path with exit ≠ 0 and no stack trace.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { cli, tempDir } from './helpers.ts';
import { parseJsonc } from '../../firmware-bridge/src/config/jsonc.ts';
import { checkConfig } from '../../firmware-bridge/src/config/load.ts';

const env = { GRIDMESH_KEYSTORE_PASSWORD: 'cli-test' };

describe('gridmesh-bridge CLI', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('init creates an encrypted keystore and a commented config, printing one JSON line', async () => {
    const dir = join(tmp.dir, 'home');
    const r = cli(['init', '--dir', dir, '--server', 'http://127.0.0.1:9', '--device', 'simulated', '--fast-kdf', '--sim-seed', '5', '--sim-pv-w', '3000', '--sim-load-w', '350', '--interval-ms', '500', '--chain-id', '1337'], env);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const out = JSON.parse(lines[0]) as { meter: string; config: string };
    assert.match(out.meter, /^0x[0-9a-fA-F]{40}$/);
    assert.equal(out.config, join(dir, 'bridge.json'));
    const text = readFileSync(out.config, 'utf8');
    assert.match(text, /^\s*\/\/ /m, 'config carries comments');
    const cfg = parseJsonc(text) as { chainId: number; devices: Array<Record<string, unknown>> };
    assert.deepEqual(checkConfig(cfg), []);
    assert.equal(cfg.chainId, 1337);
    assert.deepEqual(cfg.devices[0], { id: 'meter', type: 'simulated', intervalMs: 500, seed: 5, pvPeakW: 3000, loadBaseW: 350 });
    const ks = join(dir, 'keystore.json');
    assert.equal(statSync(ks).mode & 0o077, 0, 'keystore not readable by others');
    const ksText = readFileSync(ks, 'utf8');
    assert.ok(!ksText.includes('privateKey'));
    const wallet = await Wallet.fromEncryptedJson(ksText, 'cli-test');
    assert.equal(wallet.address, out.meter);
    // Running init again must not overwrite the device key.
    const again = cli(['init', '--dir', dir, '--server', 'http://127.0.0.1:9', '--device', 'simulated', '--fast-kdf'], env);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /already exists/);
  });

  it('init with --password-file stores the path; without any password it refuses', () => {
    const pw = join(tmp.dir, 'pw');
    writeFileSync(pw, 'from-file\n');
    const r = cli(['init', '--dir', join(tmp.dir, 'a'), '--server', 'http://x:1', '--device', 'simulated', '--password-file', pw, '--fast-kdf'], { GRIDMESH_KEYSTORE_PASSWORD: '' });
    assert.equal(r.status, 0, r.stderr);
    const cfg = parseJsonc(readFileSync(join(tmp.dir, 'a', 'bridge.json'), 'utf8')) as { passwordFile: string };
    assert.equal(cfg.passwordFile, pw);
    const none = cli(['init', '--dir', join(tmp.dir, 'b'), '--server', 'http://x:1', '--device', 'simulated', '--fast-kdf'], { GRIDMESH_KEYSTORE_PASSWORD: '' });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /GRIDMESH_KEYSTORE_PASSWORD/);
    assert.ok(!existsSync(join(tmp.dir, 'b', 'keystore.json')));
  });

  it('an unknown key and a wrong type in the config are reported by JSON path, exit 2, no stack trace', () => {
    const dir = join(tmp.dir, 'home');
    const init = cli(['init', '--dir', dir, '--server', 'http://127.0.0.1:9', '--device', 'simulated', '--fast-kdf'], env);
    assert.equal(init.status, 0, init.stderr);
    const file = join(dir, 'bridge.json');
    const cfg = parseJsonc(readFileSync(file, 'utf8')) as { devices: Array<Record<string, unknown>>; outbox: Record<string, unknown> };
    cfg.devices[0].pvPeakW = 'lots';
    cfg.devices[0].colour = 'blue';
    cfg.outbox.batchSize = 5000;
    writeFileSync(file, JSON.stringify(cfg));
    const r = cli(['run', '--config', file], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /\/devices\/0\/pvPeakW: must be integer/);
    assert.match(r.stderr, /\/devices\/0\/colour: unknown key/);
    assert.match(r.stderr, /\/outbox\/batchSize: must be <= 1000/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('an unknown device type, a missing field and broken JSON are clear errors', () => {
    assert.deepEqual(checkConfig({ server: 'http://a', chainId: 1, keystore: 'k', devices: [{ id: 'x', type: 'teleport' }] }), [
      '/devices/0/type: must be one of ["simulated","modbus-rtu","modbus-tcp","dsmr-p1","firmata"]',
    ]);
    assert.deepEqual(checkConfig({ server: 'http://a', chainId: 1, keystore: 'k', devices: [{ id: 'x', type: 'modbus-rtu', port: '/dev/ttyUSB0', unit: 1 }] }), ['/devices/0/profile: is required']);
    const file = join(tmp.dir, 'broken.json');
    writeFileSync(file, '{ "server": "http://a", // comment\n  "chainId": 1,,\n}');
    const r = cli(['run', '--config', file], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not valid JSON: .*\(line \d+\)/);
  });

  it('a wrong keystore password is a one-line error', () => {
    const dir = join(tmp.dir, 'home');
    assert.equal(cli(['init', '--dir', dir, '--server', 'http://127.0.0.1:9', '--device', 'simulated', '--fast-kdf'], env).status, 0);
    const r = cli(['run', '--config', join(dir, 'bridge.json')], { GRIDMESH_KEYSTORE_PASSWORD: 'wrong' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /wrong password/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('unknown commands and flags exit 2 with usage', () => {
    const r = cli(['frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command/);
    const f = cli(['init', '--bogus']);
    assert.equal(f.status, 2);
    assert.match(f.stderr, /bogus/);
  });
});
