// Market depth chart (d3): cumulative bid and ask energy against price as step areas, with the last trade price marked.
import { pointer, select, type Selection } from 'd3-selection';
import { area, curveStepAfter, curveStepBefore } from 'd3-shape';
import { scaleLinear, type ScaleLinear } from 'd3-scale';
import type { BookLevel } from '@gridmesh/contracts-abi/types.ts';
import { centsString, fmtKWh, fmtPrice } from '../lib/format.ts';

const W = 420;
const H = 220;
const M = { top: 12, right: 12, bottom: 28, left: 46 };

interface Point {
  ct: number;
  cumWh: number;
}

const cents = (base: string) => Number(centsString(BigInt(base)));

export class DepthChart {
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private x: ScaleLinear<number, number> | null = null;
  private levels: { bids: Point[]; asks: Point[] } = { bids: [], asks: [] };

  constructor(host: HTMLElement) {
    this.svg = select(host).append('svg').attr('viewBox', `0 0 ${W} ${H}`).attr('role', 'img').attr('data-testid', 'depth-svg');
    this.svg.append('path').attr('class', 'bids');
    this.svg.append('path').attr('class', 'asks');
    this.svg.append('g').attr('class', 'axis x');
    this.svg.append('g').attr('class', 'axis y');
    this.svg.append('line').attr('class', 'last').attr('stroke', '#1f6feb').attr('stroke-dasharray', '3 3');
    this.svg.append('text').attr('class', 'last-label').attr('text-anchor', 'middle');
    this.svg.append('title');
    // Crosshair: at a price, how much energy buyers would take (bids at or above) and sellers would give (asks at or below).
    const cross = this.svg.append('g').attr('class', 'cross').attr('display', 'none');
    cross.append('line').attr('y1', M.top).attr('y2', H - M.bottom).attr('stroke', '#5d6b70').attr('stroke-dasharray', '2 2');
    cross.append('text').attr('x', W - M.right).attr('y', M.top + 20).attr('text-anchor', 'end');
    this.svg
      .on('mousemove', (event: MouseEvent) => {
        if (!this.x) return;
        const [px] = pointer(event);
        const ct = this.x.invert(px);
        const bidWh = this.levels.bids.filter((p) => p.ct >= ct).reduce((m, p) => Math.max(m, p.cumWh), 0);
        const askWh = this.levels.asks.filter((p) => p.ct <= ct).reduce((m, p) => Math.max(m, p.cumWh), 0);
        cross.attr('display', null).select('line').attr('x1', px).attr('x2', px);
        cross.select('text').text(`${ct.toFixed(2)} ct/kWh · bids ${fmtKWh(bidWh)} · asks ${fmtKWh(askWh)}`);
      })
      .on('mouseleave', () => cross.attr('display', 'none'));
  }

  update(bids: BookLevel[], asks: BookLevel[], floor: string, cap: string, lastPrice: string | null): void {
    const bidPts: Point[] = [];
    let cum = 0;
    for (const l of bids) bidPts.push({ ct: cents(l.price), cumWh: (cum += l.quantityWh) });
    const askPts: Point[] = [];
    cum = 0;
    for (const l of asks) askPts.push({ ct: cents(l.price), cumWh: (cum += l.quantityWh) });
    const prices = [...bidPts, ...askPts].map((p) => p.ct);
    if (lastPrice) prices.push(cents(lastPrice));
    const lo = prices.length ? Math.min(...prices) : cents(floor);
    const hi = prices.length ? Math.max(...prices) : cents(cap);
    const pad = Math.max(0.5, (hi - lo) * 0.15);
    const x = scaleLinear().domain([Math.max(cents(floor), lo - pad), Math.min(cents(cap), hi + pad)]).range([M.left, W - M.right]);
    this.x = x;
    this.levels = { bids: bidPts, asks: askPts };
    const maxWh = Math.max(100, ...bidPts.map((p) => p.cumWh), ...askPts.map((p) => p.cumWh));
    const y = scaleLinear().domain([0, maxWh * 1.1]).range([H - M.bottom, M.top]);
    const [x0, x1] = x.domain();
    // Bids accumulate downwards in price: extend to the left edge; asks upwards: extend to the right edge.
    const bidSeries: Point[] = bidPts.length ? [...bidPts].reverse().concat([]) : [];
    if (bidSeries.length) bidSeries.unshift({ ct: x0, cumWh: bidPts[bidPts.length - 1].cumWh });
    const askSeries: Point[] = askPts.length ? [...askPts, { ct: x1, cumWh: askPts[askPts.length - 1].cumWh }] : [];
    const bidArea = area<Point>().x((p) => x(p.ct)).y0(y(0)).y1((p) => y(p.cumWh)).curve(curveStepBefore);
    const askArea = area<Point>().x((p) => x(p.ct)).y0(y(0)).y1((p) => y(p.cumWh)).curve(curveStepAfter);
    // Bids: the step at each level's price holds the cumulative quantity of that level and every better one.
    const bidShape = bidSeries.length ? [...bidSeries, { ct: bidPts[0].ct, cumWh: 0 }] : [];
    this.svg.select('path.bids').attr('d', bidShape.length ? bidArea(bidShape) : null).attr('data-levels', bids.length);
    this.svg.select('path.asks').attr('d', askSeries.length ? askArea([{ ct: askPts[0].ct, cumWh: 0 }, ...askSeries]) : null).attr('data-levels', asks.length);

    const xTicks = x.ticks(5);
    const xAxis = this.svg.select('g.axis.x');
    xAxis.selectAll('*').remove();
    xAxis.append('line').attr('x1', M.left).attr('x2', W - M.right).attr('y1', H - M.bottom).attr('y2', H - M.bottom);
    for (const t of xTicks) xAxis.append('text').attr('x', x(t)).attr('y', H - M.bottom + 12).attr('text-anchor', 'middle').text(`${t}`);
    xAxis.append('text').attr('x', W - M.right).attr('y', H - 2).attr('text-anchor', 'end').text('ct/kWh');
    const yAxis = this.svg.select('g.axis.y');
    yAxis.selectAll('*').remove();
    for (const t of y.ticks(4)) yAxis.append('text').attr('x', M.left - 4).attr('y', y(t) + 3).attr('text-anchor', 'end').text(`${(t / 1000).toFixed(t < 1000 ? 2 : 1)}`);
    yAxis.append('text').attr('x', 2).attr('y', M.top - 2).text('kWh');

    const last = this.svg.select('line.last');
    const label = this.svg.select('text.last-label');
    if (lastPrice) {
      const lx = x(cents(lastPrice));
      last.attr('x1', lx).attr('x2', lx).attr('y1', M.top).attr('y2', H - M.bottom).attr('display', null).attr('data-testid', 'depth-last-trade').attr('data-price', lastPrice);
      label.attr('x', lx).attr('y', M.top + 8).text(`last ${fmtPrice(lastPrice)}`).attr('display', null);
    } else {
      last.attr('display', 'none').attr('data-price', null);
      label.attr('display', 'none');
    }
    const bidWh = bidPts.length ? bidPts[bidPts.length - 1].cumWh : 0;
    const askWh = askPts.length ? askPts[askPts.length - 1].cumWh : 0;
    const text = `Depth: ${fmtKWh(bidWh)} bid over ${bids.length} levels, ${fmtKWh(askWh)} offered over ${asks.length} levels${lastPrice ? `, last trade ${fmtPrice(lastPrice)}` : ''}`;
    this.svg.attr('aria-label', text).select('title').text(text);
  }

  destroy(): void {
    this.svg.remove();
  }
}
