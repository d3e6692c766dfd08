// Browser journeys against the real demo: two homes trade (tapes, depth), amend/cancel, cap error by the price field,
// the My-home chart growing, page screenshots, recovery after a server restart, and the flows of every home and of the live trade.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot, tempDir, waitFor } from '../helpers/processes.ts';
import { CHROMIUM_ARGS, startDemo, type DemoProcess } from './demo-server.ts';

const artifacts = join(repoRoot, 'test/artifacts');

interface DemoHome {
  name: string;
  owner: string;
  meter: string;
}
interface Market {
  id: string;
  mechanism: 'continuous' | 'call';
  slotMs: number;
  gateMs: number;
  floor: string;
  cap: string;
  tick: string;
}
interface Slot {
  slot: number;
  state: string;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Base units per kWh → the "ct/kWh" text a person types (10 000 base units = 1 ct). */
const ct = (base: bigint) => `${base / 10_000n}.${(base % 10_000n).toString().padStart(4, '0')}`;

describe('browser: the dashboard against the real demo', function () {
  this.timeout(180_000);
  const dir = tempDir('web');
  let browser: Browser;
  let demo: DemoProcess;
  let homes: DemoHome[] = [];
  let market: Market;
  let seller: { context: BrowserContext; page: Page };
  let buyer: { context: BrowserContext; page: Page };
  let tradeSlot = 0;

  async function signedInPage(home: DemoHome, route: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${demo.url}/#/${route}`);
    await page.getByTestId('link-state').filter({ hasText: 'live' }).waitFor();
    await page.getByTestId('sign-in').click();
    await page.getByTestId('demo-home-select').selectOption({ label: home.name });
    await page.getByTestId('session-label').filter({ hasText: home.name }).waitFor({ timeout: 15_000 });
    return { context, page };
  }

  /**
   * An open slot starting at least `leadMs` from now. The demo's own traders only use the next slot (server/src/demo/
   * demo-trader.ts), so a slot beyond it holds only this test's orders for a while.
   */
  async function openSlot(leadMs = 0): Promise<number> {
    return waitFor('an open slot', async () => {
      const slots = await json<Slot[]>(`${demo.url}/api/markets/${market.id}/slots`);
      const now = Date.now();
      return slots.find((s) => s.state === 'open' && s.slot - market.gateMs - now > 25_000 && s.slot - now > leadMs)?.slot;
    }, 70_000, 500);
  }
  const beyondDemoTraders = () => market.slotMs + market.gateMs + 20_000;

  /** Fills and submits the order form; resolves once the server answered (ok or refused). */
  async function place(page: Page, slot: number, side: 'buy' | 'sell', priceCt: string, kWh: string): Promise<void> {
    const answers = Number(await page.getByTestId('order-form').getAttribute('data-answers'));
    await page.getByTestId(`slot-${slot}`).click();
    await page.getByTestId(side === 'buy' ? 'side-buy' : 'side-sell').click();
    await page.getByTestId('price-input').fill(priceCt);
    await page.getByTestId('qty-input').fill(kWh);
    await page.getByTestId('submit-order').click();
    await page.locator(`[data-testid=order-form][data-answers="${answers + 1}"]`).waitFor({ timeout: 10_000 });
  }

  /** Places an order and waits for the server's answer; a refusal fails with the message the page shows. */
  async function placeOk(page: Page, slot: number, side: 'buy' | 'sell', priceCt: string, kWh: string): Promise<void> {
    await place(page, slot, side, priceCt, kWh);
    const refused = await page.locator('[data-testid=order-form] [data-testid=form-error], [data-testid=order-form] .field-error').allTextContents();
    assert.deepEqual(refused, [], `order refused: ${refused.join('; ')}`);
  }

  before(async function () {
    mkdirSync(artifacts, { recursive: true });
    // One-minute reward epochs, so a root is on chain by the time the claim journey runs.
    demo = await startDemo(dir.path, 0, { GRIDMESH_REWARD_EPOCH_MS: '60000' });
    // These journeys need the server's demo-key and market endpoints (server/API.md); say so by name when a build lacks them.
    const probe = await Promise.all(['/api/demo/homes', '/api/markets'].map(async (p) => [p, (await fetch(demo.url + p)).status] as const));
    const missing = probe.filter(([, status]) => status === 404).map(([p]) => p);
    if (missing.length) {
      console.log(`    skipped: this server has no ${missing.join(', ')} yet`);
      this.skip();
    }
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    homes = (await json<{ homes: DemoHome[] }>(`${demo.url}/api/demo/homes`)).homes;
    market = (await json<Market[]>(`${demo.url}/api/markets`))[0];
    assert.ok(homes.length >= 2 && market, 'the demo has homes and a market');
  });

  after(async () => {
    await seller?.context.close();
    await buyer?.context.close();
    await browser?.close();
    await demo?.stop();
    dir.remove();
  });

  it('flows view shows every demo home around the transformer', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${demo.url}/#/flows`);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=flow-home]').length >= n, homes.length, { timeout: 30_000 });
    const meters = await page.$$eval('[data-testid=flow-home]', (nodes) => nodes.map((n) => n.getAttribute('data-meter')));
    for (const h of homes) assert.ok(meters.includes(h.meter.toLowerCase()) || meters.includes(h.meter), `${h.name} is on the diagram`);
    const labels = await page.$$eval('[data-testid=flow-home]', (nodes) => nodes.map((n) => n.getAttribute('aria-label') ?? ''));
    assert.ok(labels.every((l) => / (k?W)$/.test(l)), `every home shows its power with a unit: ${labels.join(' | ')}`);
    await page.close();
  });

  it('two homes trade: the trade shows in both tapes and in the depth chart within 2 s', async () => {
    seller = await signedInPage(homes[0], 'trade');
    buyer = await signedInPage(homes[homes.length - 1], 'trade');
    tradeSlot = await openSlot(beyondDemoTraders());
    const price = BigInt(market.floor) + ((BigInt(market.cap) - BigInt(market.floor)) / 2n / BigInt(market.tick)) * BigInt(market.tick);
    await placeOk(seller.page, tradeSlot, 'sell', ct(price), '0.1');
    await placeOk(buyer.page, tradeSlot, 'buy', ct(price), '0.1');
    if (market.mechanism === 'call') {
      // A call market trades at gate closure: wait for it, then the tapes have 2 s.
      await waitFor('gate closure', () => (Date.now() > tradeSlot - market.gateMs + 500 ? true : undefined), 90_000, 250);
    }
    const sawTrade = (page: Page) =>
      page.waitForFunction((p) => Array.from(document.querySelectorAll('[data-testid=tape-row]')).some((r) => r.getAttribute('data-price') === p && r.getAttribute('data-quantity-wh') === '100'), price.toString(), { timeout: 2000 });
    await Promise.all([sawTrade(seller.page), sawTrade(buyer.page)]);
    for (const side of [seller, buyer]) {
      await side.page.waitForFunction((p) => document.querySelector('[data-testid=depth-chart]')?.getAttribute('data-last-price') === p, price.toString(), { timeout: 2000 });
    }
  });

  it('amend and cancel an open order; the ladder follows', async () => {
    const slot = await openSlot(beyondDemoTraders());
    const high = BigInt(market.cap) - BigInt(market.tick) * 10n;
    await placeOk(seller.page, slot, 'sell', ct(high), '0.05');
    await seller.page.waitForFunction((p) => Array.from(document.querySelectorAll('[data-testid=my-order]')).some((r) => r.getAttribute('data-price') === p), high.toString(), { timeout: 5000 });
    const mine = seller.page.locator(`[data-testid=my-order][data-price="${high}"]`);
    await mine.getByTestId('amend').click();
    const lower = high - BigInt(market.tick) * 5n;
    await seller.page.getByTestId('amend-price').fill(ct(lower));
    await seller.page.getByTestId('amend-qty').fill('0.03');
    await seller.page.getByTestId('amend-save').click();
    await seller.page.locator(`[data-testid=my-order][data-price="${lower}"][data-remaining-wh="30"]`).waitFor({ timeout: 5000 });
    await seller.page.locator(`[data-testid=ask-level][data-price="${lower}"]`).waitFor({ timeout: 5000 });
    await seller.page.locator(`[data-testid=my-order][data-price="${lower}"]`).getByTestId('cancel').click();
    await seller.page.locator(`[data-testid=my-order][data-price="${lower}"]`).waitFor({ state: 'detached', timeout: 5000 });
    await seller.page.locator(`[data-testid=ask-level][data-price="${lower}"]`).waitFor({ state: 'detached', timeout: 5000 });
  });

  it('an order above the cap shows the server error next to the price field', async () => {
    const slot = await openSlot();
    const above = BigInt(market.cap) + BigInt(market.tick) * 100n;
    await place(buyer.page, slot, 'buy', ct(above), '0.1');
    const error = buyer.page.getByTestId('price-error');
    await error.waitFor({ timeout: 5000 });
    const text = (await error.textContent()) ?? '';
    assert.ok(text.length > 0, 'the price field carries the error');
    assert.equal(await buyer.page.getByTestId('price-input').getAttribute('aria-invalid'), 'true');
    const describedBy = (await buyer.page.getByTestId('price-input').getAttribute('aria-describedby')) ?? '';
    assert.ok(describedBy.includes('price-error'), 'the error is tied to the field for assistive tech');
  });

  it('the My-home power chart grows over time', async () => {
    await seller.page.getByTestId('nav-home').click();
    const chart = seller.page.getByTestId('power-chart');
    await chart.waitFor();
    const points = async () => Number(await chart.getAttribute('data-points'));
    const first = await waitFor('the first chart points', async () => ((await points()) > 0 ? points() : undefined), 15_000);
    await waitFor('the chart to grow', async () => ((await points()) >= first + 2 ? true : undefined), 15_000, 250);
  });

  it('screenshots of every page at desktop and phone widths', async () => {
    for (const [label, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 360, height: 780 }]] as const) {
      await seller.page.setViewportSize(viewport);
      for (const route of ['flows', 'trade', 'home', 'operator']) {
        await seller.page.getByTestId(`nav-${route}`).click();
        await seller.page.waitForTimeout(700);
        await seller.page.screenshot({ path: join(artifacts, `dashboard-${route}-${label}.png`), fullPage: true });
        if (label === 'phone') {
          const overflow = await seller.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          assert.ok(overflow <= 1, `no horizontal page scroll on ${route} at 360 px (overflow ${overflow} px)`);
        }
      }
    }
    await seller.page.setViewportSize({ width: 1280, height: 900 });
  });

  it('survives a server restart: shows reconnecting, then live again with fresh data', async () => {
    const page = buyer.page;
    await page.getByTestId('nav-flows').click();
    // The table renders after the view's first fetch: read it only once every home is in it.
    await waitFor('the homes table', async () => ((await page.locator('[data-testid=homes] tbody tr').count()) >= homes.length ? true : undefined), 10_000, 100);
    const seqBefore = await page.$$eval('[data-testid=homes] tbody tr', (rows) => Object.fromEntries(rows.map((r) => [r.getAttribute('data-meter') ?? '', Number(r.getAttribute('data-seq'))])));
    assert.equal(Object.keys(seqBefore).length, homes.length, `one row per home: ${JSON.stringify(seqBefore)}`);
    const port = demo.port;
    await demo.stop();
    await page.getByTestId('link-state').filter({ hasText: 'reconnecting' }).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(artifacts, 'dashboard-reconnecting.png') });
    demo = await startDemo(dir.path, port, { GRIDMESH_REWARD_EPOCH_MS: '60000' });
    await page.getByTestId('reconnected').waitFor({ timeout: 60_000 });
    await page.getByTestId('link-state').filter({ hasText: 'live' }).waitFor();
    // Fresh data: a home's latest reading after the restart is newer than the one shown before it.
    await page.waitForFunction((before) => {
      const rows = Array.from(document.querySelectorAll('[data-testid=homes] tbody tr'));
      return rows.length >= Object.keys(before).length && rows.some((r) => Number(r.getAttribute('data-seq')) > (before[r.getAttribute('data-meter') ?? ''] ?? Infinity));
    }, seqBefore, { timeout: 30_000 });
  });

  it('the flows view shows the flow of the live trade once its slot is delivered (after the restart: the trade was persisted)', async () => {
    const page = buyer.page;
    await page.getByTestId('nav-flows').click();
    await waitFor('the traded slot to start delivering', () => (Date.now() >= tradeSlot + 1000 ? true : undefined), market.slotMs + 90_000, 500);
    const from = homes[0].meter.toLowerCase();
    const to = homes[homes.length - 1].meter.toLowerCase();
    await page.waitForFunction(([f, t]) => Array.from(document.querySelectorAll('[data-testid=neighbour-flow]')).some((p) => p.getAttribute('data-from')?.toLowerCase() === f && p.getAttribute('data-to')?.toLowerCase() === t), [from, to], { timeout: 10_000 });
  });

  it('a home claims its rewards on chain from My home: the claimed amount moves from claimable to claimed', async () => {
    const page = seller.page;
    await page.getByTestId('nav-home').click();
    // The proof for the root on chain arrives with the rewards view; the page refetches it on private updates or a reload.
    const claimButton = page.getByRole('button', { name: 'Claim rewards' });
    try {
      await waitFor('a reward root on chain with something to claim', async () => {
        if ((await claimButton.count()) === 1 && (await claimButton.isEnabled())) return true;
        await page.reload();
        await page.getByTestId('link-state').filter({ hasText: 'live' }).waitFor();
        await page.getByTestId('nav-home').click();
        return undefined;
      }, 150_000, 3000);
    } catch (err) {
      await page.screenshot({ path: join(artifacts, 'home-rewards-not-claimable.png'), fullPage: true });
      const section = await page.locator('main').innerText().catch(() => '');
      throw new Error(`${(err as Error).message}; page ${page.url()}: ${section.slice(0, 1500)}`);
    }
    const claimable = await page.getByTestId('rewards-claimable').textContent();
    assert.match(claimable ?? '', /[1-9]/, `claimable shows an amount: ${claimable}`);
    await page.getByRole('button', { name: 'Claim rewards' }).click();
    await page.getByRole('status').filter({ hasText: 'claim: confirmed' }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(artifacts, 'home-rewards-claimed.png') });
    const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('gridmesh.session') ?? 'null')?.token as string | undefined);
    const rewards = token
      ? await json<{ claimed: string; published: string; claimable: string }>(`${demo.url}/api/participants/me/rewards`, { headers: { authorization: `Bearer ${token}` } })
      : null;
    if (rewards) {
      assert.ok(BigInt(rewards.claimed) > 0n, `claimed on chain: ${JSON.stringify(rewards)}`);
      assert.equal(BigInt(rewards.claimable), BigInt(rewards.published) - BigInt(rewards.claimed));
    }
    await page.getByTestId('rewards-claimed').filter({ hasText: /[1-9]/ }).waitFor({ timeout: 10_000 });
  });
});
