// Builds the optional native addons (server/native/*) with npm's own node-gyp when their system library is installed; never fails the install.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const prefix = dirname(dirname(process.execPath));

if (process.env.GRIDMESH_NATIVE === '0') {
  console.log('native addons: skipped (GRIDMESH_NATIVE=0)');
  process.exit(0);
}

const headers = ['/usr/include', '/usr/local/include', join(prefix, 'include')];
if (!headers.some((d) => existsSync(join(d, 'secp256k1_recovery.h')))) {
  console.log('native addons: libsecp256k1-dev is not installed, so signatures are checked with the secp256k1 npm package '
    + '(apt-get install libsecp256k1-dev, then npm run build:native -w server, for ≈ 30 % faster order and reading checks)');
  process.exit(0);
}

// npm passes its bundled node-gyp to scripts; outside npm, look for it beside this node.
const gyp = [process.env.npm_config_node_gyp, join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')]
  .find((p) => p && existsSync(p));
if (!gyp) {
  console.log('native addons: node-gyp not found (it comes with npm); using the secp256k1 npm package');
  process.exit(0);
}
// Node's headers from this installation when they are there: no download (the build machines are offline).
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : '');
const args = [gyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const run = spawnSync(process.execPath, args, { cwd: join(here, 'secp256k1-batch'), encoding: 'utf8' });
if (run.status !== 0) {
  console.log(`native addons: the libsecp256k1 addon did not build; using the secp256k1 npm package\n${run.stdout}${run.stderr}`);
  process.exit(0);
}
console.log('native addons: built server/native/secp256k1-batch (system libsecp256k1)');
