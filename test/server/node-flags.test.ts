// The server's Node.js flags (a larger young generation) are given wherever the server is started: npm scripts and test processes; without them it says so.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVER_NODE_FLAGS } from '../../server/src/cli/node-flags.ts';
import { repoRoot, startServerProcess, tempDir, type ServerProcess } from '../helpers/processes.ts';
import { spawn, type ChildProcess } from 'node:child_process';

describe('server Node.js flags', function () {
  this.timeout(60_000);
  let server: ServerProcess | null = null;
  let plain: ChildProcess | null = null;
  const dir = tempDir('node-flags');
  after(async () => {
    await server?.stop();
    if (plain && plain.exitCode === null && plain.signalCode === null) plain.kill('SIGKILL');
    dir.remove();
  });

  it('npm start and npm run serve pass them to node', () => {
    const scripts = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['start', 'serve']) {
      for (const flag of SERVER_NODE_FLAGS) assert.ok(scripts[name].split(/\s+/).includes(flag), `npm ${name} passes ${flag}: ${scripts[name]}`);
    }
  });

  it('a server started with them does not warn; one started without them says which flags it misses', async () => {
    server = await startServerProcess({ GRIDMESH_DATA_DIR: join(dir.path, 'with') });
    assert.doesNotMatch(server.output(), /without the server's Node.js flags/);
    await server.stop();
    server = null;
    // Without: the same entry with plain node, stopped as soon as it listens.
    const child = plain = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'server/src/cli/serve.ts')], {
      env: { ...process.env, PORT: '0', MONGODB_URI: '', GRIDMESH_DATA_DIR: join(dir.path, 'without') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); if (/"url":"http/.test(out)) child.kill('SIGTERM'); });
    await new Promise((done) => child.once('exit', done));
    assert.match(out, /without the server's Node.js flags/);
    assert.ok(out.includes(SERVER_NODE_FLAGS.join(' ')), out);
  });
});
