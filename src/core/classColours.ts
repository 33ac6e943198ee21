/**
 * The colours of detector classes (C1, C2, …): boxes in `dicom-ml render --overlay` and in the viewer, the
 * vertebra dots of its strip. Distinct on grey CT (Sasha Trubetskoy's 20 distinct colours, first ten).
 * Pure: the webview imports it too.
 */
export const CLASS_COLOURS = ['#e6194b', '#3cb44b', '#ffe119', '#5b9bff', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe'] as const;

/** The colour of class `cls` (wrapping round the palette). */
export function classColour(cls: number): string {
  const n = CLASS_COLOURS.length;
  return CLASS_COLOURS[((cls % n) + n) % n];
}
