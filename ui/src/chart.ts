/**
 * Time charts on uPlot (small, fast with thousands of points, no dependencies). A chart is drawn
 * again on each refresh; the container's data-points attribute says how many points it plots.
 */
import uPlot from 'uplot';

export interface Line { label: string; values: (number | null)[]; color: string; bars?: boolean }

export interface ChartOptions {
  title: string; yLabel: string; height?: number; decimals?: number;
  /** Room left and right of the first and last point, seconds (bars per day need half a day). */
  padSeconds?: number;
}

const charts = new WeakMap<HTMLElement, uPlot>();

/** xs: times in ms since the epoch, ascending. */
export function drawChart(el: HTMLElement, xs: number[], lines: Line[], o: ChartOptions): void {
  charts.get(el)?.destroy();
  el.replaceChildren();
  el.dataset.points = String(xs.length);
  if (xs.length === 0) {
    const empty = document.createElement('p');
    empty.className = 'muted';
    empty.textContent = `${o.title}: no samples in this range yet`;
    el.append(empty);
    return;
  }
  const width = Math.max(320, Math.min(el.clientWidth || 720, 1100));
  const decimals = o.decimals ?? 2;
  const opts: uPlot.Options = {
    title: o.title, width, height: o.height ?? 220,
    scales: { x: { time: true, range: (_u, min, max) => (o.padSeconds || min === max ? [min - (o.padSeconds ?? 1800), max + (o.padSeconds ?? 1800)] : [min, max]) } },
    axes: [{}, { label: o.yLabel, size: 60 }],
    series: [
      {},
      ...lines.map((l): uPlot.Series => ({
        label: l.label, stroke: l.color, width: 2,
        fill: l.bars ? l.color : undefined,
        paths: l.bars ? uPlot.paths.bars?.({ size: [0.6, 60] }) : undefined,
        value: (_u, v) => (v === null || v === undefined ? '–' : v.toFixed(decimals)),
      })),
    ],
    legend: { live: true },
  };
  const data: uPlot.AlignedData = [xs.map((t) => t / 1000), ...lines.map((l) => l.values)];
  charts.set(el, new uPlot(opts, data, el));
}
