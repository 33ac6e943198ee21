/**
 * A run's training curves for the metrics panel: every epoch line of its events.jsonl (losses and validation
 * metrics), read again as the trainer appends to it, so the curves grow while the task runs.
 */
import * as path from 'node:path';
import { EVENTS_FILE, readEventsFile, type EpochEvent } from './events';
import { summarizeRun } from './runs';
import type { MetricsTraining } from '../../protocol/metrics';

/** What the metrics panel draws (the protocol's type: the panel reads exactly this). */
export type TrainingCurves = MetricsTraining;

/** The curves of run folder `dir` as they are now (a run not started yet has none). */
export function trainingCurves(dir: string): TrainingCurves {
  const run = summarizeRun(dir);
  const { events } = readEventsFile(path.join(dir, EVENTS_FILE));
  const epochs = events.filter((e): e is EpochEvent => e.event === 'epoch');
  // A resumed run repeats epochs from its checkpoint: the last report of an epoch wins.
  const byEpoch = new Map<number, EpochEvent>();
  for (const e of epochs) byEpoch.set(e.epoch, e);
  const finite = (o: Record<string, unknown> | undefined, prefix: string) => Object.entries(o ?? {}).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)).map(([k, v]) => [`${prefix}${k}`, v as number]);
  return {
    dir, name: run.name, task: run.task ?? 'detect', status: run.status,
    epochs: run.epochs ?? epochs.at(-1)?.epochs ?? 0,
    points: [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch).map((e) => ({ epoch: e.epoch, values: Object.fromEntries([...finite(e.losses, 'loss '), ...finite(e.metrics, '')]) })),
  };
}
