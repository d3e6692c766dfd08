// Trade: slot timeline with states, order entry signed in the browser, book ladder, depth chart, trade tape, own orders.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { DepthChart } from '../charts/depth-chart.ts';
import { ApiError, fieldErrors, get } from '../lib/api.ts';
import { costOf, fmtCountdown, fmtKWh, fmtPrice, fmtTime, fmtTimeS, fmtToken, fmtWh, parseCents, parseKWh, centsString } from '../lib/format.ts';
import { useFetched, useMarketLive, useNow } from '../lib/hooks.ts';
import { useNames } from '../lib/names.ts';
import { amendOrder, cancelOrder, placeOrder } from '../lib/orders.ts';
import type { BookView, Escrow, MarketInfo, OrderInfo, SlotInfo, SlotState, Trade } from '../lib/wire.ts';
import { useSession } from '../session-bar.tsx';
import type { Session } from '../session.ts';

const STATE_LABEL: Record<SlotState, string> = {
  open: 'open', gate_closed: 'gate closed', delivering: 'delivering', metering: 'metering', settling: 'settling', settled: 'settled',
};

function SlotTimeline({ slots, selected, onSelect, now }: { slots: SlotInfo[]; selected: number | null; onSelect: (s: number) => void; now: number }) {
  const strip = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Keep the selected slot in view as slots move from open to delivering and on.
    const btn = strip.current?.querySelector<HTMLElement>('[aria-pressed=true]');
    if (btn && strip.current) strip.current.scrollLeft = Math.max(0, btn.offsetLeft - strip.current.offsetLeft - 120);
  }, [selected, slots.length]);
  return (
    <div class="slots" ref={strip} role="group" aria-label="Delivery slots" data-testid="slot-timeline">
      {slots.map((s) => (
        <button key={s.slot} type="button" aria-pressed={s.slot === selected} onClick={() => onSelect(s.slot)} data-testid={`slot-${s.slot}`} data-state={s.state}>
          <span>{fmtTime(s.slot)}–{fmtTime(s.end)}</span>
          <span class={`state state-${s.state}`}>{STATE_LABEL[s.state]}</span>
          <span class="muted">{s.state === 'open' ? `gate in ${fmtCountdown(s.gateAt - now)}` : s.tradeCount ? `${s.tradeCount} trades · ${fmtWh(s.volumeWh)}` : 'no trades'}</span>
        </button>
      ))}
      {slots.length === 0 && <span class="muted">No slots yet.</span>}
    </div>
  );
}

interface FormErrors {
  [field: string]: string;
}

function OrderEntry({ market, slot, session, escrow, onPlaced }: { market: MarketInfo; slot: SlotInfo | null; session: Session | null; escrow: Escrow | null; onPlaced: () => void }) {
  const [side, setSide] = useState<'bid' | 'ask'>('bid');
  const [price, setPrice] = useState('');
  const [qty, setQty] = useState('0.1');
  const [tif, setTif] = useState<'gtc' | 'ioc'>('gtc');
  const [errors, setErrors] = useState<FormErrors>({});
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** Answers received from the server (ok or refused), exposed for tests as data-answers. */
  const [answers, setAnswers] = useState(0);
  const priceBase = parseCents(price);
  const wh = parseKWh(qty);
  const fee = BigInt(market.gridFee);
  const cost = priceBase !== null && wh !== null ? costOf(priceBase + (side === 'bid' ? fee : 0n), wh) : null;
  const covered = side === 'bid' && cost !== null && escrow ? BigInt(escrow.free) >= cost : null;
  const open = slot?.state === 'open';

  const submit = async (e: Event) => {
    e.preventDefault();
    const local: FormErrors = {};
    if (priceBase === null) local.price = 'enter a price in ct/kWh, e.g. 15.5';
    if (wh === null || wh <= 0) local.quantityWh = 'enter an energy in kWh, e.g. 0.25';
    if (!slot) local.slot = 'choose a delivery slot';
    setErrors(local);
    setStatus(null);
    if (Object.keys(local).length || !session || !slot) return;
    setBusy(true);
    try {
      const { order, trades } = await placeOrder(session, { market: market.id, slot: slot.slot, side, price: priceBase!, quantityWh: wh!, timeInForce: tif, expiry: slot.gateAt });
      setStatus(`order ${order.status}${trades.length ? `, ${trades.length} trade(s) now, ${fmtWh(order.filledWh)} filled` : ''}`);
      onPlaced();
    } catch (err) {
      const fields = fieldErrors(err);
      const mapped: FormErrors = {};
      for (const [k, v] of Object.entries(fields)) mapped[['price', 'quantityWh', 'slot', 'side', 'timeInForce'].includes(k) ? k : 'form'] = v;
      // Field errors sit by their field; anything else (nonce, expiry, auth, escrow without a field) goes under the form.
      if (!Object.keys(mapped).length) mapped.form = err instanceof ApiError ? `${err.message}${err.wire.reason ? ` (${err.wire.reason})` : ''}` : String(err);
      setErrors(mapped);
    } finally {
      setBusy(false);
      setAnswers((n) => n + 1);
    }
  };

  const fieldProps = (name: string) => ({ 'aria-invalid': errors[name] ? (true as const) : undefined, 'aria-describedby': `${name}-hint ${name}-error` });
  return (
    <form class="form" onSubmit={submit} noValidate data-testid="order-form" data-answers={answers} aria-labelledby="entry-title">
      <h3 id="entry-title">Order entry {slot && <span class="muted">· slot {fmtTime(slot.slot)}</span>}</h3>
      <div class="sides" role="group" aria-label="Side">
        <button type="button" class="buy-btn" aria-pressed={side === 'bid'} onClick={() => setSide('bid')} data-testid="side-buy">Buy</button>
        <button type="button" class="sell-btn" aria-pressed={side === 'ask'} onClick={() => setSide('ask')} data-testid="side-sell">Sell</button>
      </div>
      <div class="field">
        <label for="order-price">Limit price (ct/kWh)</label>
        <input id="order-price" inputMode="decimal" value={price} onInput={(e) => setPrice((e.target as HTMLInputElement).value)} data-testid="price-input" {...fieldProps('price')} />
        <span class="hint" id="price-hint">floor (feed-in) {fmtPrice(market.floor)} · cap (retail) {fmtPrice(market.cap)} · tick {fmtPrice(market.tick)}</span>
        {errors.price && <span class="field-error" id="price-error" role="alert" data-testid="price-error">{errors.price}</span>}
      </div>
      <div class="field">
        <label for="order-qty">Energy (kWh)</label>
        <input id="order-qty" inputMode="decimal" value={qty} onInput={(e) => setQty((e.target as HTMLInputElement).value)} data-testid="qty-input" {...fieldProps('quantityWh')} />
        <span class="hint" id="quantityWh-hint">{wh !== null ? `${wh} Wh` : 'in kWh, up to 3 decimals'}</span>
        {errors.quantityWh && <span class="field-error" id="quantityWh-error" role="alert" data-testid="qty-error">{errors.quantityWh}</span>}
      </div>
      <div class="field">
        <label for="order-tif">Time in force</label>
        <select id="order-tif" value={tif} onChange={(e) => setTif((e.target as HTMLSelectElement).value as 'gtc' | 'ioc')}>
          <option value="gtc">good till gate closure</option>
          <option value="ioc">immediate or cancel</option>
        </select>
      </div>
      <dl>
        <dt>{side === 'bid' ? 'Estimated cost (max)' : 'Estimated revenue (min)'}</dt>
        <dd data-testid="est-cost">{cost !== null ? fmtToken(cost, 4) : '—'}{side === 'bid' && fee > 0n ? ' incl. grid fee' : ''}</dd>
        {side === 'bid' && (
          <>
            <dt>Escrow free</dt>
            <dd class={covered === false ? 'error' : covered ? 'ok' : ''} data-testid="escrow-cover">
              {escrow ? `${fmtToken(escrow.free, 4)}${covered === null ? '' : covered ? ' · covers this bid' : ' · not enough to cover this bid'}` : session ? '—' : 'sign in to see'}
            </dd>
          </>
        )}
      </dl>
      {errors.slot && <p class="field-error" role="alert">{errors.slot}</p>}
      {errors.form && <p class="error" role="alert" data-testid="form-error">{errors.form}</p>}
      {status && <p class="ok" role="status" data-testid="order-status">{status}</p>}
      <button type="submit" disabled={busy || !session || !open} data-testid="submit-order">
        {!session ? 'Sign in to trade' : !open ? 'Slot not open' : busy ? 'Signing…' : side === 'bid' ? 'Sign & place buy order' : 'Sign & place sell order'}
      </button>
    </form>
  );
}

function Ladder({ book }: { book: BookView | null }) {
  const asks = (book?.asks ?? []).slice(0, 10);
  const bids = (book?.bids ?? []).slice(0, 10);
  const max = Math.max(1, ...asks.map((l) => l.quantityWh), ...bids.map((l) => l.quantityWh));
  const bestAsk = asks[0]?.price;
  const bestBid = bids[0]?.price;
  const spread = bestAsk && bestBid ? BigInt(bestAsk) - BigInt(bestBid) : null;
  return (
    <table class="ladder" data-testid="ladder" aria-label="Order book">
      <thead>
        <tr><th scope="col" class="num">Price (ct/kWh)</th><th scope="col" class="num">Energy</th><th scope="col" class="num">Orders</th></tr>
      </thead>
      <tbody>
        {[...asks].reverse().map((l) => (
          <tr key={`a${l.price}`} class="ask" data-testid="ask-level" data-price={l.price}>
            <td class="num sell">{centsString(BigInt(l.price))}</td>
            <td class="num">{fmtKWh(l.quantityWh)}<span class="bar" style={{ width: `${(100 * l.quantityWh) / max}%` }} /></td>
            <td class="num">{l.orders}</td>
          </tr>
        ))}
        <tr class="spread">
          <td colSpan={3}>{spread !== null ? `spread ${fmtPrice(spread)} · mid ${fmtPrice((BigInt(bestAsk!) + BigInt(bestBid!)) / 2n)}` : asks.length || bids.length ? 'one-sided book' : 'empty book'}</td>
        </tr>
        {bids.map((l) => (
          <tr key={`b${l.price}`} class="bid" data-testid="bid-level" data-price={l.price}>
            <td class="num buy">{centsString(BigInt(l.price))}</td>
            <td class="num">{fmtKWh(l.quantityWh)}<span class="bar" style={{ width: `${(100 * l.quantityWh) / max}%` }} /></td>
            <td class="num">{l.orders}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Depth({ book, market, last }: { book: BookView | null; market: MarketInfo; last: string | null }) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<DepthChart | null>(null);
  useEffect(() => {
    chart.current = new DepthChart(host.current!);
    return () => chart.current?.destroy();
  }, []);
  useEffect(() => {
    chart.current?.update(book?.bids ?? [], book?.asks ?? [], market.floor, market.cap, last);
  }, [book, market, last]);
  return <div ref={host} class="depth" data-testid="depth-chart" data-last-price={last ?? ''} />;
}

function Tape({ trades, me, name }: { trades: Trade[]; me: string | null; name: (a: string) => string }) {
  return (
    <div class="tape table-wrap">
      <table data-testid="tape" aria-label="Trade tape">
        <thead>
          <tr><th scope="col">Time</th><th scope="col" class="num">Price</th><th scope="col" class="num">Energy</th><th scope="col">Seller → buyer</th></tr>
        </thead>
        <tbody>
          {trades.map((t) => {
            const mine = me && (t.buyer.toLowerCase() === me || t.seller.toLowerCase() === me);
            return (
              <tr key={t.id} data-testid="tape-row" data-trade-id={t.id} data-price={t.price} data-quantity-wh={t.quantityWh} class={mine ? 'mine' : ''}>
                <td>{fmtTimeS(t.time)}</td>
                <td class="num">{fmtPrice(t.price)}</td>
                <td class="num">{fmtKWh(t.quantityWh)}</td>
                <td class="wrap">{name(t.seller)} → {name(t.buyer)}{mine ? ' (you)' : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {trades.length === 0 && <p class="muted">No trades in this slot yet.</p>}
    </div>
  );
}

function MyOrders({ orders, session, market, slots, onChange }: { orders: OrderInfo[]; session: Session | null; market: MarketInfo; slots: Map<number, SlotInfo>; onChange: () => void }) {
  const [editing, setEditing] = useState<string | null>(null);
  const [price, setPrice] = useState('');
  const [qty, setQty] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  if (!session) return <p class="muted">Sign in to see your orders.</p>;
  const startEdit = (o: OrderInfo) => {
    setEditing(o.id);
    setPrice(centsString(BigInt(o.price)));
    setQty((o.remainingWh / 1000).toString());
    setErrors({});
  };
  const saveEdit = async (o: OrderInfo) => {
    const p = parseCents(price);
    const q = parseKWh(qty);
    if (p === null || q === null) return setErrors({ [o.id]: 'price in ct/kWh and energy in kWh' });
    try {
      const gate = slots.get(o.slot)?.gateAt ?? o.slot - market.gateMs;
      await amendOrder(session, o, p, q, gate);
      setEditing(null);
      onChange();
    } catch (err) {
      const f = fieldErrors(err);
      setErrors({ [o.id]: Object.entries(f).map(([k, v]) => `${k}: ${v}`).join('; ') || (err instanceof Error ? err.message : String(err)) });
    }
  };
  const cancel = async (o: OrderInfo) => {
    try {
      await cancelOrder(o.id);
      onChange();
    } catch (err) {
      setErrors({ [o.id]: err instanceof Error ? err.message : String(err) });
    }
  };
  return (
    <div class="table-wrap">
      <table data-testid="my-orders" aria-label="My open orders">
        <thead>
          <tr><th scope="col">Slot</th><th scope="col">Side</th><th scope="col" class="num">Price</th><th scope="col" class="num">Open / total</th><th scope="col">Actions</th></tr>
        </thead>
        <tbody>
          {orders.map((o) => (
            <tr key={o.id} data-testid="my-order" data-order-id={o.id} data-price={o.price} data-remaining-wh={o.remainingWh}>
              <td>{fmtTime(o.slot)}</td>
              <td class={o.side === 'bid' ? 'buy' : 'sell'}>{o.side === 'bid' ? 'buy' : 'sell'}{o.source === 'rule' ? ' (rule)' : ''}</td>
              {editing === o.id ? (
                <>
                  <td><input aria-label="New price (ct/kWh)" size={7} value={price} onInput={(e) => setPrice((e.target as HTMLInputElement).value)} data-testid="amend-price" /> ct/kWh</td>
                  <td><input aria-label="New open energy (kWh)" size={6} value={qty} onInput={(e) => setQty((e.target as HTMLInputElement).value)} data-testid="amend-qty" /> kWh</td>
                  <td>
                    <button type="button" class="small" onClick={() => saveEdit(o)} data-testid="amend-save">sign & save</button>{' '}
                    <button type="button" class="small secondary" onClick={() => setEditing(null)}>back</button>
                    {errors[o.id] && <div class="field-error" role="alert">{errors[o.id]}</div>}
                  </td>
                </>
              ) : (
                <>
                  <td class="num">{fmtPrice(o.price)}</td>
                  <td class="num">{fmtKWh(o.remainingWh)} / {fmtKWh(o.quantityWh)}</td>
                  <td class="wrap">
                    <button type="button" class="small" onClick={() => startEdit(o)} data-testid="amend">amend</button>{' '}
                    <button type="button" class="small" onClick={() => cancel(o)} data-testid="cancel">cancel</button>
                    {errors[o.id] && <div class="field-error" role="alert">{errors[o.id]}</div>}
                  </td>
                </>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {orders.length === 0 && <p class="muted">No open orders.</p>}
    </div>
  );
}

export function TradePage() {
  const view = useMarketLive();
  const session = useSession();
  const now = useNow(1000);
  const name = useNames(view);
  const market = view.market;
  const slots = useMemo(() => (market ? [...market.slots.values()].sort((a, b) => a.slot - b.slot) : []), [view]);
  const [selected, setSelected] = useState<number | null>(null);
  const firstOpen = slots.find((s) => s.state === 'open')?.slot ?? null;
  const slotId = selected !== null && market?.slots.has(selected) ? selected : firstOpen;
  const slot = slotId !== null ? market?.slots.get(slotId) ?? null : null;
  const [refresh, setRefresh] = useState(0);

  // A book not in the room snapshot (e.g. a slot further out) is read once over REST; live `book` messages take over.
  const fetchedBook = useFetched(async () => (market && slotId !== null && !market.books.has(slotId) ? get<BookView>(`/markets/${market.info.id}/slots/${slotId}/book`).catch(() => null) : null), [market?.info.id, slotId]);
  const book = (slotId !== null ? market?.books.get(slotId) : undefined) ?? fetchedBook.value;
  const trades = useMemo(() => (market && slotId !== null ? [...market.trades.values()].filter((t) => t.slot === slotId).sort((a, b) => b.seq - a.seq) : []), [view, slotId]);
  const escrow = useFetched(async () => (session?.token ? get<Escrow>('/participants/me/escrow').catch(() => null) : null), [session, view.privateEpoch, refresh]);
  const me = session?.signer.address.toLowerCase() ?? null;
  const myOrders = [...view.orders.values()].filter((o) => o.status === 'open' && (!me || o.participant.toLowerCase() === me)).sort((a, b) => a.slot - b.slot || b.createdAt - a.createdAt);

  if (!market) return <p class="muted">Waiting for the market… {view.link !== 'live' && '(connecting)'}</p>;
  const last = trades[0]?.price ?? null;
  return (
    <div class="page trade-page">
      <h2>Trade <span class="muted small">market {market.info.id} · {market.info.mechanism === 'call' ? `call auction (k = ${market.info.k})` : 'continuous'} · slots of {market.info.slotMs / 60000} min</span></h2>
      <section class="card" aria-label="Delivery slots">
        <SlotTimeline slots={slots} selected={slotId} onSelect={setSelected} now={now} />
      </section>
      <div class="trade-layout">
        <section class="card">
          <OrderEntry market={market.info} slot={slot} session={session} escrow={escrow.value} onPlaced={() => setRefresh(refresh + 1)} />
        </section>
        <section class="card" aria-labelledby="book-title">
          <h3 id="book-title">Order book {slot && <span class={`state state-${slot.state}`}>{STATE_LABEL[slot.state]}</span>}</h3>
          {market.info.mechanism === 'call' && (
            <p data-testid="indicative">
              Indicative clearing: <strong>{fmtPrice(book?.indicative?.price ?? null)}</strong>, <strong>{fmtKWh(book?.indicative?.volumeWh ?? 0)}</strong>
            </p>
          )}
          {slot?.clearingPrice && <p>Cleared at <strong>{fmtPrice(slot.clearingPrice)}</strong></p>}
          <Ladder book={book ?? null} />
        </section>
        <section class="card" aria-labelledby="depth-title">
          <h3 id="depth-title">Depth</h3>
          <Depth book={book ?? null} market={market.info} last={last} />
          {slot && <p class="small muted">{slot.tradeCount} trades · {fmtWh(slot.volumeWh)} · VWAP {fmtPrice(slot.vwap)}</p>}
        </section>
      </div>
      <div class="trade-bottom">
        <section class="card" aria-labelledby="orders-title">
          <h3 id="orders-title">My open orders</h3>
          <MyOrders orders={myOrders} session={session} market={market.info} slots={market.slots} onChange={() => setRefresh(refresh + 1)} />
        </section>
        <section class="card" aria-labelledby="tape-title">
          <h3 id="tape-title">Trades {slot && <span class="muted">· slot {fmtTime(slot.slot)}</span>}</h3>
          <Tape trades={trades} me={me} name={name} />
        </section>
      </div>
    </div>
  );
}
