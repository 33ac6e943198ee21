import type { LoadedImage } from '../core/dicom/load';
import { UsageError } from './args';
import type { CommandContext } from './context';

/** TEMPORARY until series.ts lands. */
export async function resolveSeriesSlice(dir: string, _slice: number, _ctx: CommandContext): Promise<{ image: LoadedImage; frame: number }> {
  throw new UsageError(`${dir}: rendering a folder needs series assembly (landing next)`, 1);
}
