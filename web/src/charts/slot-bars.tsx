// Per-slot stacked energy bars (d3-shape stack + d3-scale band): self-use, sold to neighbours, exported, bought from neighbours, imported.
import { scaleBand, scaleLinear } from 'd3-scale';
import { stack } from 'd3-shape';
import { fmtTime, fmtWh } from '../lib/format.ts';

export interface SlotEnergy {
  slot: number;
  selfUseWh: number;
  soldWh: number;
  exportedWh: number;
  boughtWh: number;
  importedWh: number;
}

const KEYS = [
  { key: 'selfUseWh', label: 'self-use', color: '#f2c14e', up: true },
  { key: 'soldWh', label: 'sold to neighbours', color: '#0b7a35', up: true },
  { key: 'exportedWh', label: 'exported to grid', color: '#7cc48f', up: true },
  { key: 'boughtWh', label: 'bought from neighbours', color: '#1f6feb', up: false },
  { key: 'importedWh', label: 'imported from grid', color: '#d9822b', up: false },
] as const;
type Key = (typeof KEYS)[number]['key'];

const W = 640;
const H = 220;
const M = { top: 10, right: 8, bottom: 24, left: 48 };

/** Supply (self-use, sold, exported) stacks upwards; demand met from outside (bought, imported) stacks downwards. */
export function SlotBars({ rows }: { rows: SlotEnergy[] }) {
  const up = KEYS.filter((k) => k.up).map((k) => k.key);
  const down = KEYS.filter((k) => !k.up).map((k) => k.key);
  const upStack = stack<SlotEnergy, Key>().keys(up)(rows);
  const downStack = stack<SlotEnergy, Key>().keys(down)(rows);
  const maxUp = Math.max(50, ...rows.map((r) => r.selfUseWh + r.soldWh + r.exportedWh));
  const maxDown = Math.max(50, ...rows.map((r) => r.boughtWh + r.importedWh));
  const x = scaleBand<number>().domain(rows.map((r) => r.slot)).range([M.left, W - M.right]).padding(0.2);
  const y = scaleLinear().domain([-maxDown, maxUp]).range([H - M.bottom, M.top]).nice();
  const color = new Map(KEYS.map((k) => [k.key, k.color]));
  const label = new Map(KEYS.map((k) => [k.key, k.label]));
  const every = Math.max(1, Math.ceil(rows.length / 8));
  return (
    <figure class="slot-bars" data-testid="slot-bars" data-slots={rows.length}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Energy per delivery slot, ${rows.length} slots: supply above the axis, energy from outside below`}>
        {y.ticks(5).map((t) => (
          <g key={t}>
            <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} stroke={t === 0 ? '#8a9792' : '#e3e8e6'} />
            <text x={M.left - 4} y={y(t) + 3} text-anchor="end" font-size="10" fill="#5d6b70">{fmtWh(Math.abs(t))}</text>
          </g>
        ))}
        {[...upStack.map((s) => ({ s, sign: 1 })), ...downStack.map((s) => ({ s, sign: -1 }))].map(({ s, sign }) =>
          s.map((d) => (
            <rect key={`${s.key}-${d.data.slot}`} x={x(d.data.slot)} width={x.bandwidth()} y={sign > 0 ? y(d[1]) : y(-d[0])} height={Math.abs(y(d[0]) - y(d[1]))} fill={color.get(s.key)}>
              <title>{`${fmtTime(d.data.slot)} ${label.get(s.key)}: ${fmtWh(d.data[s.key])}`}</title>
            </rect>
          )),
        )}
        {rows.map((r, i) => (i % every === 0 ? <text key={r.slot} x={(x(r.slot) ?? 0) + x.bandwidth() / 2} y={H - 8} text-anchor="middle" font-size="10" fill="#5d6b70">{fmtTime(r.slot)}</text> : null))}
      </svg>
      <figcaption class="legend">
        {KEYS.map((k) => (
          <span key={k.key}><span class="key" style={{ background: k.color }} />{k.label}</span>
        ))}
      </figcaption>
    </figure>
  );
}
