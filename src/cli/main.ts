/**
 * `dicom-ml`: the headless CLI over src/core (ARCHITECTURE "CLI contract"). Every command exits 0 on
 * success; on bad input it prints one line on stderr naming what and where (no stack unless --debug)
 * and exits non-zero; `--json` prints one JSON document on stdout.
 */
import { parseArgs } from 'node:util';
import { formatUserError } from '../core/dicom/errors';
import { UsageError } from './args';
import type { CommandContext } from './context';
import { demo, demoUsage } from './commands/demo';
import { info, infoUsage } from './commands/info';
import { pixels, pixelsUsage } from './commands/pixels';
import { prepare, prepareOptions, prepareUsage } from './commands/prepare';
import { render, renderUsage } from './commands/render';
import { sample, sampleUsage } from './commands/sample';
import { series, seriesUsage } from './commands/series';
import { doctor, doctorOptions, doctorUsage } from './commands/doctor';
import { train, trainOptions, trainUsage } from './commands/train';
import { evaluate, evalOptions, evalUsage } from './commands/eval';
import { infer, inferOptions, inferUsage } from './commands/infer';

interface Command {
  run(ctx: CommandContext): Promise<void>;
  usage: string;
  options: Record<string, { type: 'string' | 'boolean' }>;
  /** Arguments after the first `--` are not parsed but handed over as `ctx.passthrough` (train: trainer/torchrun args). */
  passthrough?: boolean;
}

const COMMANDS: Record<string, Command> = {
  info: { run: info, usage: infoUsage, options: {} },
  pixels: { run: pixels, usage: pixelsUsage, options: { out: { type: 'string' }, frame: { type: 'string' }, palette: { type: 'boolean' } } },
  render: {
    run: render,
    usage: renderUsage,
    options: { out: { type: 'string' }, slice: { type: 'string' }, window: { type: 'string' }, preset: { type: 'string' }, overlay: { type: 'string' }, detector: { type: 'string' }, classifier: { type: 'string' } },
  },
  sample: {
    run: sample,
    usage: sampleUsage,
    options: { out: { type: 'string' }, studies: { type: 'string' }, seed: { type: 'string' }, size: { type: 'string' }, slices: { type: 'string' }, syntax: { type: 'string' }, 'fracture-rate': { type: 'string' }, 'segmentation-rate': { type: 'string' } },
  },
  prepare: { run: prepare, usage: prepareUsage, options: prepareOptions },
  series: { run: series, usage: seriesUsage, options: { recursive: { type: 'boolean' } } },
  train: { run: train, usage: trainUsage, options: trainOptions, passthrough: true },
  doctor: { run: doctor, usage: doctorUsage, options: doctorOptions },
  infer: { run: infer, usage: inferUsage, options: inferOptions },
  eval: { run: evaluate, usage: evalUsage, options: evalOptions },
  demo: { run: demo, usage: demoUsage, options: { out: { type: 'string' }, slices: { type: 'string' }, size: { type: 'string' }, seed: { type: 'string' } } },
};

function help(): string {
  return ['dicom-ml — DICOM ML Workbench command line', '', 'commands:', ...Object.values(COMMANDS).map((c) => `  ${c.usage}`), '',
    'common options: --json (one JSON document on stdout), --debug (stack traces), --help'].join('\n');
}

/** Run the CLI with `argv` (without node and script). Returns the exit code; never throws. */
export async function main(argv: string[], io: Pick<CommandContext, 'stdout' | 'stderr'> = {
  stdout: (l) => process.stdout.write(`${l}\n`),
  stderr: (l) => process.stderr.write(`${l}\n`),
}): Promise<number> {
  const [name, ...args] = argv;
  const command = name && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  const dashes = command?.passthrough ? args.indexOf('--') : -1;
  const rest = dashes < 0 ? args : args.slice(0, dashes);
  const passthrough = dashes < 0 ? undefined : args.slice(dashes + 1);
  const debug = rest.includes('--debug');
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help());
    return name ? 0 : 2;
  }
  if (!command) {
    io.stderr(`dicom-ml: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
    return 2;
  }
  try {
    const parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: { ...command.options, json: { type: 'boolean' }, debug: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (parsed.values.help) {
      io.stdout(`usage: ${command.usage}`);
      return 0;
    }
    await command.run({ positionals: parsed.positionals, options: parsed.values, json: Boolean(parsed.values.json), ...(passthrough ? { passthrough } : {}), ...io });
    return 0;
  } catch (err) {
    if (debug && err instanceof Error && err.stack) io.stderr(err.stack);
    if (err instanceof UsageError) {
      io.stderr(`dicom-ml ${name}: ${err.message}`);
      return err.exitCode;
    }
    if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (err as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      io.stderr(`dicom-ml ${name}: ${(err as Error).message.split('\n')[0]}\nusage: ${command.usage}`);
      return 2;
    }
    io.stderr(`dicom-ml ${name}: ${formatUserError(err)}`);
    return 1;
  }
}

/** Process entry: run with process.argv and set the exit code (used by bin/dicom-ml.js). */
export function runCli(): void {
  // `dicom-ml info F | head`: the reader went away; that is not an error of ours.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
    process.stderr.write(`dicom-ml: ${formatUserError(err)}\n`);
    process.exitCode = 1;
  });
}

if (require.main === module) runCli();
