/**
 * Outlines of a label on a sampled slice, for the viewer's ground-truth layer: the boundary between the
 * label's pixels and the rest, traced along pixel edges ("crack following"), as closed polylines.
 *
 * Coordinates are pixel edges, like the xyxy boxes beside them: pixel (row r, column c) covers
 * [c, c + 1] × [r, r + 1], so a label's outline spans exactly its box. Each loop is a flat list
 * `[x0, y0, x1, y1, …]` (closed: the last point joins the first), with a vertex only where the direction
 * changes, so every segment is horizontal or vertical. Outer boundaries run clockwise on screen (y down),
 * holes (the vertebral foramen) counter-clockwise; the webview strokes every loop the same way. Pixels that
 * touch only at a corner are separate regions (4-connectivity). Cheap to send (a C-spine vertebra on a
 * 512² slice is a few hundred numbers) and to draw (moveTo/lineTo, scaled by the canvas transform).
 */

/** Inclusive pixel extent to search (a label box from maskMap.ts labelBoxes). */
export interface OutlineBounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

// Edge directions: 0 = +x, 1 = +y, 2 = −x, 3 = −y (screen coordinates, y down).
const DX = [1, 0, -1, 0];
const DY = [0, 1, 0, -1];

/**
 * Closed outlines of `label` in `labels` (rows×columns, row-major), looking only inside `bounds` (default: the
 * whole slice). See the file comment for the coordinates and the loop order.
 */
export function traceOutline(labels: Uint8Array, rows: number, columns: number, label: number, bounds: OutlineBounds = { x0: 0, y0: 0, x1: columns - 1, y1: rows - 1 }): number[][] {
  const x0 = Math.max(0, bounds.x0);
  const y0 = Math.max(0, bounds.y0);
  const x1 = Math.min(columns - 1, bounds.x1);
  const y1 = Math.min(rows - 1, bounds.y1);
  if (x1 < x0 || y1 < y0) return [];
  const W = x1 - x0 + 2; // vertices per row of the window
  const H = y1 - y0 + 2;
  // Out-edges per vertex, one bit per direction (a vertex where two regions touch diagonally has two).
  const out = new Uint8Array(W * H);
  const at = (r: number, c: number) => r >= y0 && r <= y1 && c >= x0 && c <= x1 && labels[r * columns + c] === label;
  const vertex = (x: number, y: number) => (y - y0) * W + (x - x0);
  let edges = 0;
  for (let r = y0; r <= y1; r++) {
    for (let c = x0; c <= x1; c++) {
      if (labels[r * columns + c] !== label) continue;
      // Inside on the right of each directed edge: outer boundaries clockwise.
      if (!at(r - 1, c)) { out[vertex(c, r)] |= 1 << 0; edges++; }
      if (!at(r, c + 1)) { out[vertex(c + 1, r)] |= 1 << 1; edges++; }
      if (!at(r + 1, c)) { out[vertex(c + 1, r + 1)] |= 1 << 2; edges++; }
      if (!at(r, c - 1)) { out[vertex(c, r + 1)] |= 1 << 3; edges++; }
    }
  }
  const loops: number[][] = [];
  for (let v = 0; v < out.length && edges > 0; v++) {
    while (out[v] !== 0) {
      const sx = (v % W) + x0;
      const sy = Math.floor(v / W) + y0;
      let dir = 31 - Math.clz32(out[v] & -out[v]); // lowest set bit
      let x = sx;
      let y = sy;
      const loop: number[] = [];
      let prev = -1;
      for (;;) {
        out[vertex(x, y)] &= ~(1 << dir);
        edges--;
        if (dir !== prev) loop.push(x, y);
        prev = dir;
        x += DX[dir];
        y += DY[dir];
        if (x === sx && y === sy) break; // closed (the start may have a second loop through it: the next pass)
        const bits = out[vertex(x, y)];
        // At a diagonal touch, turn right (towards the inside): keeps corner-touching pixels apart.
        const right = (dir + 1) & 3;
        const left = (dir + 3) & 3;
        dir = bits & (1 << right) ? right : bits & (1 << dir) ? dir : bits & (1 << left) ? left : (dir + 2) & 3;
      }
      // The first vertex is a corner unless the loop's last segment runs on in the first one's direction.
      if (loop.length >= 4 && prev === firstDirection(loop)) loop.splice(0, 2);
      loops.push(loop);
    }
  }
  return loops;
}

/** Direction of the first segment of a loop (from its first vertex to its second). */
function firstDirection(loop: readonly number[]): number {
  const dx = Math.sign(loop[2] - loop[0]);
  const dy = Math.sign(loop[3] - loop[1]);
  for (let d = 0; d < 4; d++) if (DX[d] === dx && DY[d] === dy) return d;
  return -1;
}
