// The neighbourhood flow diagram (d3): homes on a fixed ring around the transformer, lines ∝ power for grid and neighbour flows.
import { select, type Selection } from 'd3-selection';
import { curveBundle, line } from 'd3-shape';
import { scaleSqrt } from 'd3-scale';
import { fmtW } from '../lib/format.ts';

export interface FlowHome {
  meter: string;
  name: string;
  /** + import, − export (W), as metered at the grid connection. */
  powerW: number;
  online: boolean;
}

/** One live neighbour flow: energy the seller delivers to the buyer now, by meter. */
export interface NeighbourFlow {
  from: string;
  to: string;
  powerW: number;
  price: string;
}

interface Placed extends FlowHome {
  x: number;
  y: number;
  angle: number;
  /** Residual exchange with the grid after neighbour flows: + from grid, − to grid (W). */
  gridW: number;
}

const SIZE = 640;
const C = SIZE / 2;
const RING = 240;

/** Splits each home's metered power into its neighbour flows (pro-rata to contracted power) and the residual grid flow. */
export function allocateFlows(homes: FlowHome[], contracted: NeighbourFlow[]): { flows: NeighbourFlow[]; gridW: Map<string, number> } {
  const exportW = new Map(homes.map((h) => [h.meter, Math.max(0, -h.powerW)]));
  const importW = new Map(homes.map((h) => [h.meter, Math.max(0, h.powerW)]));
  const soldBy = new Map<string, number>();
  const boughtBy = new Map<string, number>();
  for (const f of contracted) {
    soldBy.set(f.from, (soldBy.get(f.from) ?? 0) + f.powerW);
    boughtBy.set(f.to, (boughtBy.get(f.to) ?? 0) + f.powerW);
  }
  const flows: NeighbourFlow[] = [];
  const usedOut = new Map<string, number>();
  const usedIn = new Map<string, number>();
  for (const f of contracted) {
    const sellerShare = ((exportW.get(f.from) ?? 0) * f.powerW) / (soldBy.get(f.from) || 1);
    const buyerShare = ((importW.get(f.to) ?? 0) * f.powerW) / (boughtBy.get(f.to) || 1);
    const w = Math.max(0, Math.min(f.powerW, sellerShare, buyerShare));
    flows.push({ ...f, powerW: w });
    usedOut.set(f.from, (usedOut.get(f.from) ?? 0) + w);
    usedIn.set(f.to, (usedIn.get(f.to) ?? 0) + w);
  }
  const gridW = new Map<string, number>();
  for (const h of homes) gridW.set(h.meter, (importW.get(h.meter)! - (usedIn.get(h.meter) ?? 0)) - (exportW.get(h.meter)! - (usedOut.get(h.meter) ?? 0)));
  return { flows, gridW };
}

export class FlowsDiagram {
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly gridLayer: Selection<SVGGElement, unknown, null, undefined>;
  private readonly tradeLayer: Selection<SVGGElement, unknown, null, undefined>;
  private readonly homeLayer: Selection<SVGGElement, unknown, null, undefined>;
  private readonly centre: Selection<SVGGElement, unknown, null, undefined>;
  private readonly chord = line<[number, number]>().curve(curveBundle.beta(0.7));
  /** What each home was last drawn with: only homes whose picture changed get DOM writes (keeps 100 homes at frame rate). */
  private readonly drawn = new Map<string, string>();
  private lastScale = '';

  constructor(host: HTMLElement, private readonly onFocus: (meter: string | null) => void) {
    this.svg = select(host)
      .append('svg')
      .attr('viewBox', `-90 -10 ${SIZE + 180} ${SIZE + 20}`)
      .attr('class', 'flows-svg')
      .attr('role', 'group')
      .attr('aria-label', 'Energy flows between homes, the transformer and the grid');
    // Arrowhead for neighbour flows, so direction reads without the animation (and with reduced motion).
    this.svg.append('defs').append('marker').attr('id', 'flow-arrow').attr('viewBox', '0 0 10 10').attr('refX', 9).attr('refY', 5)
      .attr('markerWidth', 4).attr('markerHeight', 4).attr('orient', 'auto-start-reverse')
      .append('path').attr('d', 'M0,0L10,5L0,10z').attr('fill', '#1f6feb');
    this.gridLayer = this.svg.append('g').attr('class', 'grid-lines');
    this.tradeLayer = this.svg.append('g').attr('class', 'trade-lines');
    this.centre = this.svg.append('g').attr('class', 'transformer').attr('tabindex', 0).attr('data-testid', 'transformer');
    this.centre.append('rect').attr('x', C - 34).attr('y', C - 24).attr('width', 68).attr('height', 48).attr('rx', 8);
    this.centre.append('text').attr('x', C).attr('y', C - 4).attr('text-anchor', 'middle').text('grid');
    this.centre.append('text').attr('class', 'net').attr('x', C).attr('y', C + 14).attr('text-anchor', 'middle');
    this.centre.append('title');
    this.homeLayer = this.svg.append('g').attr('class', 'homes');
  }

  update(homes: FlowHome[], contracted: NeighbourFlow[]): void {
    const sorted = [...homes].sort((a, b) => a.name.localeCompare(b.name) || a.meter.localeCompare(b.meter));
    const { flows, gridW } = allocateFlows(sorted, contracted);
    const n = Math.max(1, sorted.length);
    const placed: Placed[] = sorted.map((h, i) => {
      const angle = (i / n) * 2 * Math.PI - Math.PI / 2;
      return { ...h, angle, x: C + RING * Math.cos(angle), y: C + RING * Math.sin(angle), gridW: gridW.get(h.meter) ?? 0 };
    });
    const byMeter = new Map(placed.map((p) => [p.meter, p]));
    const maxW = Math.max(1000, ...placed.map((p) => Math.abs(p.powerW)), ...flows.map((f) => f.powerW));
    const width = scaleSqrt().domain([0, maxW]).range([0, n > 30 ? 8 : 14]);
    const nodeR = n > 30 ? 7 : 16;
    // Widths are relative to the largest power: when that scale moves noticeably, every line is redrawn.
    const scaleKey = `${n}:${Math.round(Math.log2(maxW) * 4)}`;
    if (scaleKey !== this.lastScale) {
      this.drawn.clear();
      this.lastScale = scaleKey;
    }
    const dirty = new Set<string>();
    for (const p of placed) {
      const sig = `${Math.round(p.gridW / 5)}|${p.powerW}|${p.online}|${p.name}`;
      if (this.drawn.get(p.meter) !== sig) {
        this.drawn.set(p.meter, sig);
        dirty.add(p.meter);
      }
    }
    if (this.drawn.size > placed.length) for (const m of [...this.drawn.keys()]) if (!byMeter.has(m)) this.drawn.delete(m);
    const isDirty = (d: Placed) => dirty.has(d.meter);

    this.gridLayer
      .selectAll<SVGLineElement, Placed>('line')
      .data(placed, (d) => d.meter)
      .join((enter) => enter.append('line').call((l) => l.append('title')))
      .filter(isDirty)
      .attr('x1', C)
      .attr('y1', C)
      .attr('x2', (d) => d.x)
      .attr('y2', (d) => d.y)
      .attr('class', (d) => (d.gridW < -1 ? 'to-grid' : d.gridW > 1 ? 'from-grid' : 'idle'))
      .attr('stroke-width', (d) => Math.max(0.75, width(Math.abs(d.gridW))))
      .attr('data-grid-w', (d) => Math.round(d.gridW))
      .select('title')
      .text((d) => (d.gridW < 0 ? `${d.name} → grid: ${fmtW(-d.gridW)}` : `grid → ${d.name}: ${fmtW(d.gridW)}`));

    const live = flows.filter((f) => byMeter.has(f.from) && byMeter.has(f.to));
    this.tradeLayer
      .selectAll<SVGPathElement, NeighbourFlow>('path')
      .data(live, (d) => `${d.from}>${d.to}`)
      .join((enter) => enter.append('path').attr('data-testid', 'neighbour-flow').attr('tabindex', 0).attr('marker-end', 'url(#flow-arrow)').call((p) => p.append('title')))
      .attr('d', (d) => {
        const a = byMeter.get(d.from)!;
        const b = byMeter.get(d.to)!;
        const mid: [number, number] = [C + (a.x + b.x - 2 * C) * 0.25, C + (a.y + b.y - 2 * C) * 0.25];
        // Stop short of the buyer's circle so the arrowhead shows.
        const dx = mid[0] - b.x;
        const dy = mid[1] - b.y;
        const k = (nodeR + 4) / Math.max(1, Math.hypot(dx, dy));
        return this.chord([[a.x, a.y], mid, [b.x + dx * k, b.y + dy * k]]);
      })
      .attr('stroke-width', (d) => Math.max(1.5, width(d.powerW)))
      .attr('data-from', (d) => d.from)
      .attr('data-to', (d) => d.to)
      .attr('data-power-w', (d) => Math.round(d.powerW))
      .attr('aria-label', (d) => `${byMeter.get(d.from)!.name} → ${byMeter.get(d.to)!.name}: ${fmtW(d.powerW)}`)
      .select('title')
      .text((d) => `${byMeter.get(d.from)!.name} → ${byMeter.get(d.to)!.name}: ${fmtW(d.powerW)}`);

    const nodes = this.homeLayer
      .selectAll<SVGGElement, Placed>('g.home')
      .data(placed, (d) => d.meter)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'home').attr('tabindex', 0).attr('role', 'img').attr('data-testid', 'flow-home');
        g.append('circle');
        g.append('text').attr('class', 'name');
        g.append('text').attr('class', 'value');
        g.append('title');
        g.on('focus mouseenter', (_e, d) => this.onFocus(d.meter)).on('blur mouseleave', () => this.onFocus(null));
        return g;
      })
      .filter(isDirty)
      .attr('data-meter', (d) => d.meter)
      .attr('data-power-w', (d) => d.powerW)
      .attr('transform', (d) => `translate(${d.x},${d.y})`)
      .attr('class', (d) => `home ${d.powerW < 0 ? 'exporting' : 'importing'}${d.online ? '' : ' offline'}`)
      .attr('aria-label', (d) => `${d.name}: ${d.powerW < 0 ? 'exporting' : 'importing'} ${fmtW(Math.abs(d.powerW))}`);
    nodes.select('circle').attr('r', nodeR);
    const showLabels = n <= 30;
    const outward = (d: Placed) => [Math.cos(d.angle), Math.sin(d.angle)] as const;
    nodes
      .select<SVGTextElement>('text.name')
      .attr('x', (d) => outward(d)[0] * (nodeR + 8))
      .attr('y', (d) => outward(d)[1] * (nodeR + 8) - 5)
      .attr('text-anchor', (d) => (Math.abs(outward(d)[0]) < 0.3 ? 'middle' : outward(d)[0] > 0 ? 'start' : 'end'))
      .text((d) => (showLabels ? d.name : ''));
    nodes
      .select<SVGTextElement>('text.value')
      .attr('x', (d) => outward(d)[0] * (nodeR + 8))
      .attr('y', (d) => outward(d)[1] * (nodeR + 8) + 10)
      .attr('text-anchor', (d) => (Math.abs(outward(d)[0]) < 0.3 ? 'middle' : outward(d)[0] > 0 ? 'start' : 'end'))
      .text((d) => (showLabels ? fmtW(Math.abs(d.powerW)) : ''));
    nodes.select('title').text((d) => `${d.name}: ${d.powerW < 0 ? 'exporting' : 'importing'} ${fmtW(Math.abs(d.powerW))}`);

    const net = placed.reduce((s, p) => s + p.gridW, 0);
    this.centre.attr('data-net-w', Math.round(net)).attr('aria-label', net >= 0 ? `Neighbourhood imports ${fmtW(net)} from the grid` : `Neighbourhood exports ${fmtW(-net)} to the grid`);
    this.centre.select('text.net').text(`${net >= 0 ? '↓' : '↑'} ${fmtW(Math.abs(net))}`);
    this.centre.select('title').text(net >= 0 ? `grid → neighbourhood: ${fmtW(net)}` : `neighbourhood → grid: ${fmtW(-net)}`);
  }

  destroy(): void {
    this.svg.remove();
  }
}
