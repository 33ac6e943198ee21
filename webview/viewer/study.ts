/**
 * The series-level views: a strip along the series (one column per slice: fracture probability as a bar,
 * the vertebrae present as dots, the current slice marked; click or drag to go there) and the study summary
 * (C1–C7 and patient fracture probability from the fusion; a vertebra button jumps to its most suspicious
 * slice).
 */
import type { ViewerStudy } from '../../src/protocol/viewer';
import { classColour } from '../../src/core/classColours';
import { probabilityColour } from './colormaps';

export class StripView {
  private study: ViewerStudy | undefined;
  private current = 0;
  private readonly ctx: CanvasRenderingContext2D;
  /** The strip without the current-slice marker, redrawn only when the study or the size changes. */
  private readonly base = document.createElement('canvas');
  private baseDirty = true;

  constructor(private readonly canvas: HTMLCanvasElement, private readonly onPick: (index: number) => void) {
    this.ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
    let down = false;
    const pick = (e: PointerEvent) => {
      const n = this.study?.total ?? 0;
      if (!n) return;
      const r = canvas.getBoundingClientRect();
      this.onPick(Math.max(0, Math.min(n - 1, Math.floor(((e.clientX - r.left) / r.width) * n))));
    };
    canvas.addEventListener('pointerdown', (e) => { down = true; canvas.setPointerCapture(e.pointerId); pick(e); });
    canvas.addEventListener('pointermove', (e) => { if (down) pick(e); });
    canvas.addEventListener('pointerup', () => { down = false; });
    new ResizeObserver(() => {
      this.baseDirty = true;
      this.draw();
    }).observe(canvas);
  }

  set(study: ViewerStudy | undefined): void {
    this.study = study;
    this.baseDirty = true;
    this.draw();
  }

  setCurrent(index: number): void {
    this.current = index;
    this.draw();
  }

  /** The cached strip plus the marker (scrolling only moves the marker). */
  draw(): void {
    const { canvas, ctx } = this;
    if (this.baseDirty) {
      const w = Math.max(1, Math.round(canvas.clientWidth * devicePixelRatio));
      const h = Math.max(1, Math.round(canvas.clientHeight * devicePixelRatio));
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
      this.drawBase(w, h);
      this.baseDirty = false;
    }
    const { width: w, height: h } = canvas;
    ctx.clearRect(0, 0, w, h);
    ctx.drawImage(this.base, 0, 0);
    const n = this.study?.total ?? 0;
    if (!n) return;
    ctx.fillStyle = '#fff';
    ctx.fillRect(Math.round((this.current + 0.5) * (w / n)) - 1, 0, 2 * devicePixelRatio, h);
  }

  private drawBase(w: number, h: number): void {
    const base = this.base;
    base.width = w;
    base.height = h;
    const ctx = base.getContext('2d') as CanvasRenderingContext2D;
    const s = this.study;
    if (!s || !s.total) return;
    const colW = w / s.total;
    const dotsH = Math.round(h * 0.35);
    const barH = h - dotsH - 2;
    const rowH = dotsH / 7;
    s.strip.forEach((e, i) => {
      const x = i * colW;
      if (!e) {
        ctx.fillStyle = 'rgba(128,128,128,0.25)';
        ctx.fillRect(x, 0, Math.max(1, colW), barH);
        return;
      }
      if (e.fracture !== null) {
        const bh = Math.max(1, e.fracture * barH);
        ctx.fillStyle = probabilityColour(e.fracture);
        ctx.fillRect(x, barH - bh, Math.max(1, colW), bh);
      }
      for (const v of e.vertebrae) {
        if (v > 6) continue;
        ctx.fillStyle = classColour(v);
        ctx.fillRect(x, barH + 2 + v * rowH, Math.max(1, colW), Math.max(1, rowH - 1));
      }
    });
  }
}

/** The study summary panel. */
export class SummaryView {
  constructor(private readonly root: HTMLElement, private readonly onPick: (index: number) => void) {}

  set(study: ViewerStudy | undefined, names: readonly string[]): void {
    const r = this.root;
    r.replaceChildren();
    if (!study) return;
    const head = document.createElement('div');
    head.className = 'summary-head';
    if (study.done < study.total) head.textContent = `Analysing slices: ${study.done} / ${study.total}`;
    else if (study.patient !== undefined) head.textContent = `Patient fracture probability ${(100 * study.patient).toFixed(0)}%`;
    else head.textContent = `${study.total} slices analysed`;
    r.append(head);
    r.dataset.done = String(study.done);
    r.dataset.total = String(study.total);
    if (study.patient !== undefined) r.dataset.patient = study.patient.toFixed(4);
    if (!study.vertebrae) return;
    const list = document.createElement('div');
    list.className = 'summary-list';
    study.vertebrae.forEach((v, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'vertebra';
      b.dataset.vertebra = v.name;
      b.dataset.probability = v.probability.toFixed(4);
      if (v.peakIndex !== null) b.dataset.peak = String(v.peakIndex);
      b.disabled = v.peakIndex === null;
      b.title = v.detected ? `${v.name}: fracture probability ${(100 * v.probability).toFixed(1)}% — go to its most suspicious slice (${(v.peakIndex ?? 0) + 1})` : `${v.name} was not detected on any slice`;
      const name = document.createElement('span');
      name.className = 'name';
      name.style.borderColor = classColour(i);
      name.textContent = names[i] ?? v.name;
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.className = 'fill';
      fill.style.width = `${(100 * v.probability).toFixed(1)}%`;
      fill.style.background = probabilityColour(v.probability);
      bar.append(fill);
      const pct = document.createElement('span');
      pct.className = 'pct';
      pct.textContent = v.detected ? `${(100 * v.probability).toFixed(0)}%` : '—';
      b.append(name, bar, pct);
      b.addEventListener('click', () => { if (v.peakIndex !== null) this.onPick(v.peakIndex); });
      list.append(b);
    });
    r.append(list);
    if (study.rule) {
      const rule = document.createElement('div');
      rule.className = 'summary-rule';
      rule.textContent = study.rule;
      r.append(rule);
    }
  }
}
