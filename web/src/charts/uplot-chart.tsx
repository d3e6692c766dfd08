// A Preact wrapper around uPlot: creates the plot once, feeds new data with setData, follows the container's width.
import { useEffect, useRef } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface UPlotProps {
  options: Omit<Options, 'width' | 'height'>;
  data: AlignedData;
  height?: number;
  label: string;
  testId?: string;
}

export function UPlotChart({ options, data, height = 220, label, testId }: UPlotProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = host.current!;
    plot.current = new uPlot({ ...options, width: Math.max(280, el.clientWidth), height } as Options, data, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(280, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [options]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div ref={host} class="chart" role="img" aria-label={label} data-testid={testId} data-points={data[0]?.length ?? 0} />;
}
