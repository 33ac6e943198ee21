import { formatDoctor, runDoctor } from '../../core/training/doctor';
import { findTrainerRoot, resolvePython } from '../../core/training/python';
import { UsageError } from '../args';
import type { CommandContext } from '../context';

/** One-line usage of `dicom-ml doctor`. */
export const doctorUsage = 'dicom-ml doctor [--python P] [--json]';

/** Options of `doctor` for the COMMANDS table of src/cli/main.ts. */
export const doctorOptions: Record<string, { type: 'string' | 'boolean' }> = { python: { type: 'string' } };

/**
 * `dicom-ml doctor`: the interpreter (`--python` > $DICOM_ML_PYTHON > python3) and its version, each trainer
 * package and its version, CUDA devices — and, when something is missing, the one line to run. Exit 0 when
 * ready to train, 1 when not; `--json` prints the report.
 */
export async function doctor(ctx: CommandContext): Promise<void> {
  if (ctx.positionals.length) throw new UsageError(`unexpected argument "${ctx.positionals[0]}"\nusage: ${doctorUsage}`);
  const python = resolvePython(typeof ctx.options.python === 'string' ? ctx.options.python : undefined);
  const report = await runDoctor({ python, trainerRoot: findTrainerRoot(__dirname) });
  if (ctx.json) {
    ctx.stdout(JSON.stringify(report, null, 2));
  } else {
    for (const line of formatDoctor(report)) ctx.stdout(line);
  }
  if (!report.ok) throw new UsageError(`not ready to train: ${report.problems[0] ?? 'unknown problem'}${report.install ? `; fix: ${report.install}` : ''}`, 1);
}
