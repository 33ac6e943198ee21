import type { CommandContext } from '../context';
import { UsageError } from '../args';
export const demoUsage = 'dicom-ml demo --out DIR [--slices N] [--size N] [--seed S]';
/** TEMPORARY until demoSeries.ts lands. */
export async function demo(_ctx: CommandContext): Promise<void> {
  throw new UsageError('demo series generator landing next', 1);
}
