// A half-circle gauge for a share (0–1), drawn with d3-shape's arc.
import { arc } from 'd3-shape';
import { fmtPct } from '../lib/format.ts';

const track = arc()({ innerRadius: 38, outerRadius: 50, startAngle: -Math.PI / 2, endAngle: Math.PI / 2 }) ?? '';

export function Gauge({ label, share, testId, hint }: { label: string; share: number | null; testId: string; hint: string }) {
  const v = share === null ? 0 : Math.max(0, Math.min(1, share));
  const value = arc()({ innerRadius: 38, outerRadius: 50, startAngle: -Math.PI / 2, endAngle: -Math.PI / 2 + Math.PI * v }) ?? '';
  return (
    <div class="gauge" data-testid={testId} data-share={share ?? ''}>
      <svg viewBox="-55 -55 110 62" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={share === null ? undefined : Math.round(v * 100)} aria-valuetext={fmtPct(share)}>
        <path d={track} class="track" fill="#e3e8e6" />
        <path d={value} fill="#0b7a35" />
        <text x="0" y="-4" text-anchor="middle" font-size="16" font-weight="600">{fmtPct(share)}</text>
      </svg>
      <div>{label}</div>
      <div class="muted small">{hint}</div>
    </div>
  );
}
