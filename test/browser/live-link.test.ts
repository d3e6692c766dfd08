// The dashboard's live link (web/src/live.ts) against a real server: a seq gap in a room triggers `resync` and the room's
// snapshot replaces the state; a market subscription gets its snapshot in the ack. (Restart recovery: dashboard.browser.test.ts.)
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { registerHome } from '../../server/src/demo/owner-client.ts';
import { BridgeProtocolClient } from '../helpers/bridge-protocol-client.ts';
import { startServerProcess, tempDir, waitFor, type ServerProcess } from '../helpers/processes.ts';
import { LiveLink } from '../../web/src/live.ts';

// The link coalesces re-renders per animation frame; Node has no frames, a timer stands in.
(globalThis as { requestAnimationFrame?: (cb: (t: number) => void) => number }).requestAnimationFrame ??= (cb) => setTimeout(() => cb(performance.now()), 0) as unknown as number;

describe('web live link against a real server', function () {
  this.timeout(90_000);
  const dir = tempDir('live-link');
  let server: ServerProcess;
  let bridge: BridgeProtocolClient;
  let link: LiveLink;
  let timer: NodeJS.Timeout;
  const meter = Wallet.createRandom();
  let seq = 0;

  before(async () => {
    server = await startServerProcess({ GRIDMESH_DATA_DIR: dir.path, GRIDMESH_MARKET_PRESET: 'demo' });
    await registerHome({ baseUrl: server.url, chainId: 31337, owner: Wallet.createRandom(), name: 'Link Home', meter: meter.address as `0x${string}` });
    bridge = new BridgeProtocolClient(server.url, meter);
    assert.equal((await bridge.hello()).ok, true);
    const send = () => {
      seq++;
      void bridge.send([bridge.sign({ meter: meter.address as `0x${string}`, seq, timestamp: Date.now(), importWh: 1000 + seq, exportWh: 0, powerW: 300 + seq, flags: 2 })]);
    };
    send();
    timer = setInterval(send, 300);
    link = new LiveLink(`${server.url}/market`);
  });

  after(async () => {
    clearInterval(timer);
    link?.socket.close();
    bridge?.close();
    await server?.stop();
    dir.remove();
  });

  it('follows the live room and, on a seq gap, re-snapshots it from the server', async () => {
    await waitFor('live updates', () => (link.current.link === 'live' && link.current.seq >= 3 && link.current.homes.size === 1 ? true : undefined));
    const before = link.current.seq;
    const epoch = link.current.epoch;
    // A message that skips seq numbers, as if some were lost: the link must not trust its state any more.
    const powerListener = link.socket.listeners('power')[0] as (m: unknown) => void;
    powerListener({ room: 'live', seq: before + 5, homes: [] });
    assert.equal(link.current.gapResyncs, 1);
    await waitFor('the resync snapshot', () => (link.current.epoch > epoch ? true : undefined), 10_000);
    const after = link.current.seq;
    await waitFor('updates to continue after the snapshot', () => (link.current.seq > after ? true : undefined), 10_000);
    assert.equal(link.current.gapResyncs, 1, 'the server snapshot’s seq is continued without another gap');
    assert.equal(link.current.reconnects, 0, 'answered by the server’s resync, not by the reconnect fallback');
    assert.equal([...link.current.homes.values()][0].name, 'Link Home');
  });

  it('subscribes to the market: the ack carries its snapshot (market, slots, books)', async () => {
    const markets = (await (await fetch(`${server.url}/api/markets`)).json()) as { id: string }[];
    await link.subscribeMarket(markets[0].id);
    const market = link.current.market;
    assert.ok(market, 'market state present');
    assert.equal(market.info.id, markets[0].id);
    assert.ok(market.slots.size > 0, 'open slots listed');
  });
});
