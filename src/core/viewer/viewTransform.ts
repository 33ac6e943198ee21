/**
 * The one owner of image ↔ screen coordinates for a 2D view (STYLE "Coordinates have one owner"): zoom,
 * pan and fit of one image in one viewport. Pure arithmetic with no imports, so the webview bundles it
 * for the browser and the unit tests run it in plain Node.
 *
 * Frames:
 * - image: pixel-edge coordinates of the displayed image, x right, y down, in image pixels. Pixel
 *   (column c, row r) covers [c, c+1) × [r, r+1), so its centre is (c + 0.5, r + 0.5) — the frame of
 *   canvas `drawImage` and of the detector's boxes (src/core/inference/geometry.ts "slice" frame).
 *   DICOM index coordinates (centre at the integer, as in reformat.ts) enter through {@link pixelCentre}.
 * - screen: CSS pixels relative to the viewport's top-left corner (e.g. `clientX − rect.left`).
 *
 * The view: the image is scaled to its physical size (Pixel Spacing may differ by axis, PS3.3
 * C.7.6.2.1.1: PixelSpacing = [row spacing Δr, column spacing Δc], so a pixel is Δc mm wide and Δr mm
 * tall), fitted to the viewport at zoom 1 and centred; `zoom` multiplies that fit and `pan` moves the
 * image centre away from the viewport centre, in CSS px. So a resize of the viewport keeps the image
 * centred and the same fraction of the viewport.
 */

/** A point in image (pixel-edge) or screen (CSS px) coordinates. */
export interface Point {
  x: number;
  y: number;
}

/** The displayed image: `width × height` pixels, each `spacingX × spacingY` mm. */
export interface ImageSize {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** Physical width of one pixel (mm): DICOM column spacing Δc = PixelSpacing[1]. 1 when unknown. */
  spacingX: number;
  /** Physical height of one pixel (mm): DICOM row spacing Δr = PixelSpacing[0]. 1 when unknown. */
  spacingY: number;
}

/** The viewport's size in CSS pixels. */
export interface ViewportSize {
  width: number;
  height: number;
}

/** Allowed zoom factors, relative to fit (zoom 1). */
export interface ZoomLimits {
  min: number;
  max: number;
}

/** Default limits: a quarter of the fit up to 32× the fit. */
export const DEFAULT_ZOOM_LIMITS: Readonly<ZoomLimits> = Object.freeze({ min: 0.25, max: 32 });

/**
 * One view's fixed setup, validated once by {@link createView}. Rebuild it when the image or the
 * viewport changes size; the {@link ViewState} carries over.
 */
export interface View {
  readonly image: Readonly<ImageSize>;
  readonly viewport: Readonly<ViewportSize>;
  readonly limits: Readonly<ZoomLimits>;
  /** CSS px per mm at zoom 1 (see {@link fitScale}). */
  readonly pxPerMm: number;
}

/** What the user changed: zoom relative to fit (1 = fit) and the pan of the image centre in CSS px. */
export interface ViewState {
  zoom: number;
  panX: number;
  panY: number;
}

/** Resampling when drawing the image: canvas bilinear smoothing, or nearest neighbour (a toggle). */
export type Interpolation = 'bilinear' | 'nearest';

/**
 * A canvas transform: image point (x, y) lands at device pixel (scaleX·x + offsetX, scaleY·y + offsetY).
 * Apply as `ctx.setTransform(scaleX, 0, 0, scaleY, offsetX, offsetY); ctx.imageSmoothingEnabled =
 * smoothing; ctx.drawImage(bitmap, 0, 0)`.
 */
export interface CanvasTransform {
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
  /** `imageSmoothingEnabled`: true for bilinear, false for nearest. */
  smoothing: boolean;
}

function assertPositive(value: number, what: string): void {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new RangeError(`${what} must be a finite number above 0, got ${String(value)}`);
  }
}

function assertFinite(value: number, what: string): void {
  if (!(typeof value === 'number' && Number.isFinite(value))) throw new RangeError(`${what} must be a finite number, got ${String(value)}`);
}

/**
 * CSS px per millimetre at zoom 1: the largest scale at which the whole image, at its physical aspect,
 * fits the viewport. An image pixel is then `pxPerMm·spacingX` CSS px wide and `pxPerMm·spacingY` tall.
 */
export function fitScale(image: ImageSize, viewport: ViewportSize): number {
  return Math.min(viewport.width / (image.width * image.spacingX), viewport.height / (image.height * image.spacingY));
}

/**
 * Validate and freeze a view. Throws RangeError naming the bad value: image sizes and spacings must be
 * finite and above 0, the viewport too (do not build a view for a hidden, 0×0 viewport: skip drawing),
 * and the limits must satisfy 0 < min ≤ 1 ≤ max (so that fit and reset are always allowed).
 */
export function createView(image: ImageSize, viewport: ViewportSize, limits: ZoomLimits = DEFAULT_ZOOM_LIMITS): View {
  assertPositive(image.width, 'image width');
  assertPositive(image.height, 'image height');
  assertPositive(image.spacingX, 'image spacingX (mm)');
  assertPositive(image.spacingY, 'image spacingY (mm)');
  assertPositive(viewport.width, 'viewport width');
  assertPositive(viewport.height, 'viewport height');
  assertPositive(limits.min, 'minimum zoom');
  assertPositive(limits.max, 'maximum zoom');
  if (!(limits.min <= 1 && limits.max >= 1)) {
    throw new RangeError(`zoom limits must satisfy min ≤ 1 ≤ max, got min ${limits.min}, max ${limits.max}`);
  }
  return Object.freeze({
    image: Object.freeze({ ...image }),
    viewport: Object.freeze({ ...viewport }),
    limits: Object.freeze({ min: limits.min, max: limits.max }),
    pxPerMm: fitScale(image, viewport),
  });
}

/** The state of a fresh or reset view: fitted and centred. */
export function reset(): ViewState {
  return { zoom: 1, panX: 0, panY: 0 };
}

/** Throws RangeError unless the state is finite with zoom inside the view's limits. */
export function assertState(view: View, state: ViewState): void {
  assertFinite(state.panX, 'panX');
  assertFinite(state.panY, 'panY');
  assertPositive(state.zoom, 'zoom');
  if (state.zoom < view.limits.min || state.zoom > view.limits.max) {
    throw new RangeError(`zoom ${state.zoom} is outside the limits ${view.limits.min}…${view.limits.max}`);
  }
}

/** `zoom` clamped to the view's limits (after checking it is a finite number above 0). */
export function clampZoom(view: View, zoom: number): number {
  assertPositive(zoom, 'zoom');
  return Math.min(view.limits.max, Math.max(view.limits.min, zoom));
}

/** CSS px per image pixel along x and y at this state. */
export function pixelScale(view: View, state: ViewState): { x: number; y: number } {
  const k = view.pxPerMm * state.zoom;
  return { x: k * view.image.spacingX, y: k * view.image.spacingY };
}

/** Image point → screen point (CSS px). */
export function imageToScreen(view: View, state: ViewState, p: Point): Point {
  const s = pixelScale(view, state);
  return {
    x: view.viewport.width / 2 + state.panX + (p.x - view.image.width / 2) * s.x,
    y: view.viewport.height / 2 + state.panY + (p.y - view.image.height / 2) * s.y,
  };
}

/** Screen point (CSS px) → image point; the inverse of {@link imageToScreen}. May lie outside the image. */
export function screenToImage(view: View, state: ViewState, p: Point): Point {
  const s = pixelScale(view, state);
  return {
    x: view.image.width / 2 + (p.x - view.viewport.width / 2 - state.panX) / s.x,
    y: view.image.height / 2 + (p.y - view.viewport.height / 2 - state.panY) / s.y,
  };
}

/**
 * Zoom by `factor` (> 1 in, < 1 out) about a screen point: the image point under `screen` stays under it.
 * The new zoom is clamped to the view's limits (the point still stays put at the clamped zoom). Throws
 * RangeError for a factor that is not a finite number above 0.
 */
export function zoomAt(view: View, state: ViewState, screen: Point, factor: number): ViewState {
  assertPositive(factor, 'zoom factor');
  return zoomTo(view, state, state.zoom * factor, screen);
}

/**
 * Set the zoom (clamped to the limits), keeping the image point under `screen` fixed; by default the
 * viewport centre.
 */
export function zoomTo(view: View, state: ViewState, zoom: number, screen?: Point): ViewState {
  assertState(view, state);
  assertFinite(screen?.x ?? 0, 'screen x');
  assertFinite(screen?.y ?? 0, 'screen y');
  const at = screen ?? { x: view.viewport.width / 2, y: view.viewport.height / 2 };
  const p = screenToImage(view, state, at);
  const next = clampZoom(view, zoom);
  const k = view.pxPerMm * next;
  // Solve imageToScreen(next state, p) = at for the pan.
  return {
    zoom: next,
    panX: at.x - view.viewport.width / 2 - (p.x - view.image.width / 2) * k * view.image.spacingX,
    panY: at.y - view.viewport.height / 2 - (p.y - view.image.height / 2) * k * view.image.spacingY,
  };
}

/** Move the image by (dx, dy) CSS px (a drag's movement). */
export function pan(state: ViewState, dx: number, dy: number): ViewState {
  assertFinite(dx, 'pan dx');
  assertFinite(dy, 'pan dy');
  return { zoom: state.zoom, panX: state.panX + dx, panY: state.panY + dy };
}

/**
 * The canvas transform that draws the image (at its own pixel size, origin 0,0) where
 * {@link imageToScreen} says. `devicePixelRatio`: when the canvas backing store is the viewport's CSS
 * size × that ratio (sharp text and crosshairs on HiDPI), every number is multiplied by it.
 * `interpolation`: bilinear by default (magnified CT looks as radiology viewers show it), nearest to
 * see the true pixels.
 */
export function canvasTransform(view: View, state: ViewState, options: { devicePixelRatio?: number; interpolation?: Interpolation } = {}): CanvasTransform {
  const dpr = options.devicePixelRatio ?? 1;
  assertPositive(dpr, 'devicePixelRatio');
  const s = pixelScale(view, state);
  const origin = imageToScreen(view, state, { x: 0, y: 0 });
  return {
    scaleX: s.x * dpr,
    scaleY: s.y * dpr,
    offsetX: origin.x * dpr,
    offsetY: origin.y * dpr,
    smoothing: (options.interpolation ?? 'bilinear') === 'bilinear',
  };
}

/** Image point at the centre of pixel (column, row): DICOM index coordinates → this module's frame. */
export function pixelCentre(column: number, row: number): Point {
  return { x: column + 0.5, y: row + 0.5 };
}

/** The pixel containing an image point, or undefined outside the image (for readouts and clicks). */
export function pixelAt(view: View, p: Point): { column: number; row: number } | undefined {
  const column = Math.floor(p.x);
  const row = Math.floor(p.y);
  if (!(column >= 0 && row >= 0 && column < view.image.width && row < view.image.height)) return undefined;
  return { column, row };
}
