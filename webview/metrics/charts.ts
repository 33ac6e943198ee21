/**
 * Curves of the metrics panel with uPlot (a maintained chart library; no hand-drawn charts): one chart per
 * figure, series per class, a vertical marker at the panel's threshold, colours from VS Code's theme.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { CLASS_COLOURS } from '../../src/core/classColours';

export interface Series {
  label: string;
  x: number[];
  y: number[];
}

function themeColour(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** Merge series with different x onto one ascending x axis (uPlot's aligned data), nulls where a series has no point. */
function aligned(series: readonly Series[]): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const col: (number | null)[] = Array(xs.length).fill(null);
    s.x.forEach((x, i) => { col[index.get(x) as number] = s.y[i]; });
    return col;
  });
  return [xs, ...ys] as uPlot.AlignedData;
}

/** A chart with an optional vertical marker at `marker()` on the x axis. */
export class Chart {
  private plot: uPlot | undefined;

  /** `unit`: both axes 0…1 (rates, probabilities); else uPlot fits them (epochs, losses). */
  constructor(private readonly root: HTMLElement, private readonly title: string, private readonly axes: { x: string; y: string }, private readonly marker?: () => number | undefined, private readonly unit = true) {}

  set(series: readonly Series[]): void {
    this.plot?.destroy();
    const fg = themeColour('--vscode-foreground', '#ccc');
    const grid = themeColour('--vscode-panel-border', 'rgba(128,128,128,0.3)');
    const axis = (label: string): uPlot.Axis => ({ label, stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } });
    const opts: uPlot.Options = {
      title: this.title,
      width: Math.max(280, Math.min(470, this.root.clientWidth || 470)),
      height: 260,
      scales: this.unit ? { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } } : { x: { time: false } },
      axes: [axis(this.axes.x), axis(this.axes.y)],
      series: [{ label: this.axes.x }, ...series.map((s, i) => ({ label: s.label, stroke: series.length === 1 ? themeColour('--vscode-charts-blue', '#3794ff') : CLASS_COLOURS[i % CLASS_COLOURS.length], width: 1.5, spanGaps: true, points: { show: !this.unit } }))],
      legend: { show: true },
      hooks: {
        draw: [(u) => {
          const t = this.marker?.();
          if (t === undefined) return;
          const x = u.valToPos(t, 'x', true);
          const { ctx } = u;
          ctx.save();
          ctx.strokeStyle = themeColour('--vscode-charts-orange', '#d18616');
          ctx.setLineDash([5, 4]);
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.restore();
        }],
      },
    };
    this.plot = new uPlot(opts, aligned(series), this.root);
  }

  /** Redraw (the marker moved). */
  redraw(): void {
    this.plot?.redraw(false, false);
  }
}
