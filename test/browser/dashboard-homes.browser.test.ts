// Browser journey: `npm start`'s demo in headless Chromium shows the five homes with live power that changes within 5 s.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot, tempDir, waitFor } from '../helpers/processes.ts';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const artifacts = join(repoRoot, 'test/artifacts');

describe('browser: dashboard lists the demo homes live', function () {
  const dir = tempDir('demo');
  let browser: Browser;
  let demo: ReturnType<typeof spawn>;
  let url = '';
  let output = '';

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    demo = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'server/src/cli/demo.ts')], {
      env: { ...process.env, PORT: '0', GRIDMESH_DATA_DIR: dir.path, MONGODB_URI: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    demo.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    url = await waitFor('the demo to print its URL', () => /open (http:\/\/\S+?)\/? in your browser/.exec(output)?.[1], 60_000);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    if (demo && demo.exitCode === null) {
      const exited = new Promise((r) => demo.once('exit', r));
      demo.kill('SIGINT');
      await exited;
    }
    dir.remove();
  });

  it('shows five homes whose power values change over 5 s', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.getByTestId('link-state').filter({ hasText: 'live' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=homes] tbody tr').length >= 5, undefined, { timeout: 30_000 });
    const snapshot = () => page.$$eval('[data-testid=homes] tbody tr', (rows) => rows.map((r) => ({ meter: r.getAttribute('data-meter'), seq: Number(r.getAttribute('data-seq')), power: r.querySelector('[data-testid=power]')!.textContent })));
    const first = await snapshot();
    assert.equal(first.length, 5);
    await page.waitForTimeout(5000);
    const later = await snapshot();
    await page.screenshot({ path: join(artifacts, 'dashboard-homes.png'), fullPage: true });
    for (const home of first) {
      const now = later.find((h) => h.meter === home.meter)!;
      assert.ok(now.seq > home.seq, `home ${home.meter} got new readings (seq ${home.seq} → ${now.seq})`);
    }
    const changed = first.filter((h) => later.find((l) => l.meter === h.meter)!.power !== h.power).length;
    assert.ok(changed >= 3, `power values changed for ${changed} of 5 homes`);
  });
});
