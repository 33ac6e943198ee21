/**
 * `RUNDIR/events.jsonl`, the trainer's progress (trainer/README.md "events.jsonl"): one JSON object per line,
 * appended and flushed per line by one writer. Readers here are tolerant: a last line still being written is
 * kept until its newline arrives, a malformed line is counted and skipped, unknown event types and extra fields
 * are ignored (newer trainers may add them), and `NaN`/`Infinity` tokens (Python's json default) read as null.
 */
import * as fs from 'node:fs';

/** The two training tasks. */
export type TrainTask = 'detect' | 'classify';

/** Numbers by name (losses, metrics); a value the trainer could not compute (NaN) is null. */
export type NumberMap = Record<string, number | null>;

/** Fields every event has. */
export interface BaseEvent {
  /** ISO 8601 UTC time the line was written. */
  time: string;
}

/** The device a run trains on (`start.device`). */
export interface TrainerDevice {
  /** `cpu` or `cuda`. */
  type: string;
  /** Device names, e.g. `["NVIDIA H100 80GB HBM3"]` or `["cpu"]`. */
  names: string[];
  /** Processes in the run (DDP world size); 1 when not distributed. */
  worldSize: number;
}

/** First line of a run, and again at the top of every resumed part. */
export interface StartEvent extends BaseEvent {
  event: 'start';
  task: TrainTask;
  /** The run folder (RUNDIR). */
  run: string;
  /** The resolved configuration, as in config.json. */
  config: Record<string, unknown>;
  device?: TrainerDevice;
  /** Image counts per split and the class names. */
  dataset?: { train: number; val: number; names: string[] };
  /**
   * The epoch the run resumed from, or null for a fresh run. (Read only as "resumed or not": the trainer's detect
   * side writes the last finished epoch, its classify side the first epoch to run.)
   */
  resumedFrom: number | null;
}

/** One finished epoch: training losses and validation metrics. */
export interface EpochEvent extends BaseEvent {
  event: 'epoch';
  /** 1-based epoch just finished. */
  epoch: number;
  /** Total epochs planned (may change with ultralytics' `--time`). */
  epochs: number;
  /** detect: `box`, `cls`, `dfl`; classify: `train`, `val`. */
  losses: NumberMap;
  /** detect: `precision`, `recall`, `mAP50`, `mAP50_95`; classify: `accuracy`, `precision`, `recall`, `f1`, `kappa`, `specificity`, `auc`. */
  metrics: NumberMap;
  lr?: number | null;
  /** Seconds this epoch took. */
  seconds?: number | null;
  /** Estimated seconds left. */
  eta?: number | null;
  /** This epoch is the best so far (its checkpoint is weights/best.pt). */
  best?: boolean;
}

/** The best epoch of a run. */
export interface BestEpoch {
  epoch: number;
  metrics: NumberMap;
}

/** The run finished: best epoch, exported model and card. */
export interface EndEvent extends BaseEvent {
  event: 'end';
  status: 'completed';
  best: BestEpoch | null;
  /** Absolute path of the exported ONNX model. */
  onnx?: string;
  /** Absolute path of its model card. */
  card?: string;
  seconds?: number | null;
}

/** Why a run stopped: `cuda-oom`, `dataset`, `missing-package`, `interrupted`, `failed` (or a newer kind). */
export type ErrorKind = 'cuda-oom' | 'dataset' | 'missing-package' | 'interrupted' | 'failed' | (string & {});

/** The run stopped early; `message` is one line a user can act on. */
export interface ErrorEvent extends BaseEvent {
  event: 'error';
  kind: ErrorKind;
  message: string;
}

/** Any event of the contract. */
export type TrainerEvent = StartEvent | EpochEvent | EndEvent | ErrorEvent;

/** The events file inside a run folder. */
export const EVENTS_FILE = 'events.jsonl';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function numberMap(v: unknown): NumberMap {
  const out: NumberMap = {};
  if (!isObject(v)) return out;
  for (const [k, x] of Object.entries(v)) if (isNum(x) || x === null) out[k] = x;
  return out;
}

/** JSON.parse, falling back to reading Python's non-standard `NaN`/`Infinity` tokens as null. */
function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (err) {
    if (!/NaN|Infinity/.test(line)) throw err;
    // Only outside strings: split on string literals and patch the pieces between them.
    const patched = line.split(/("(?:[^"\\]|\\.)*")/).map((part, i) => (i % 2 ? part : part.replace(/-?\b(?:NaN|Infinity)\b/g, 'null'))).join('');
    return JSON.parse(patched);
  }
}

/**
 * One line of events.jsonl as a typed event. Returns undefined for an event type this reader does not know
 * (forward compatible); throws on a line that is not a JSON object or lacks a field the contract requires.
 */
export function parseEvent(line: string): TrainerEvent | undefined {
  const v = parseJson(line);
  if (!isObject(v)) throw new Error('not a JSON object');
  const time = typeof v.time === 'string' ? v.time : '';
  switch (v.event) {
    case 'start': {
      if (v.task !== 'detect' && v.task !== 'classify') throw new Error(`start: task must be detect or classify, got ${JSON.stringify(v.task)}`);
      const e: StartEvent = {
        event: 'start', time, task: v.task, run: typeof v.run === 'string' ? v.run : '',
        config: isObject(v.config) ? v.config : {},
        resumedFrom: isNum(v.resumedFrom) ? v.resumedFrom : null,
      };
      if (isObject(v.device)) {
        const d = v.device;
        e.device = { type: String(d.type ?? ''), names: Array.isArray(d.names) ? d.names.map(String) : [], worldSize: isNum(d.worldSize) ? d.worldSize : 1 };
      }
      if (isObject(v.dataset)) {
        const d = v.dataset;
        e.dataset = { train: isNum(d.train) ? d.train : 0, val: isNum(d.val) ? d.val : 0, names: Array.isArray(d.names) ? d.names.map(String) : [] };
      }
      return e;
    }
    case 'epoch': {
      if (!isNum(v.epoch) || !isNum(v.epochs)) throw new Error('epoch: needs numeric epoch and epochs');
      const e: EpochEvent = { event: 'epoch', time, epoch: v.epoch, epochs: v.epochs, losses: numberMap(v.losses), metrics: numberMap(v.metrics) };
      if (isNum(v.lr) || v.lr === null) e.lr = v.lr;
      if (isNum(v.seconds) || v.seconds === null) e.seconds = v.seconds;
      if (isNum(v.eta) || v.eta === null) e.eta = v.eta;
      if (typeof v.best === 'boolean') e.best = v.best;
      return e;
    }
    case 'end': {
      const b = v.best;
      const e: EndEvent = {
        event: 'end', time, status: 'completed',
        best: isObject(b) && isNum(b.epoch) ? { epoch: b.epoch, metrics: numberMap(b.metrics) } : null,
      };
      if (typeof v.onnx === 'string') e.onnx = v.onnx;
      if (typeof v.card === 'string') e.card = v.card;
      if (isNum(v.seconds) || v.seconds === null) e.seconds = v.seconds;
      return e;
    }
    case 'error':
      return { event: 'error', time, kind: typeof v.kind === 'string' ? v.kind : 'failed', message: typeof v.message === 'string' ? v.message : 'the trainer reported an error without a message' };
    default:
      if (typeof v.event !== 'string') throw new Error('no "event" field');
      return undefined;
  }
}

/** Events read from some text, and what could not be read. */
export interface ParsedEvents {
  events: TrainerEvent[];
  /** Complete lines that were not valid events (1-based line numbers within the text parsed, with the reason). */
  invalid: { line: number; reason: string }[];
  /** Text after the last newline: a line still being written (empty when the text ends with a newline). */
  rest: string;
}

/**
 * Parses complete lines of events.jsonl text. The text after the last newline is returned as `rest` — unless
 * `final` is set and it parses as an event (a writer that ended without a newline), then it counts.
 */
export function parseEvents(text: string, final = false): ParsedEvents {
  const out: ParsedEvents = { events: [], invalid: [], rest: '' };
  const lines = text.split('\n');
  out.rest = lines.pop() ?? '';
  if (final && out.rest.trim()) {
    try {
      parseEvent(out.rest);
      lines.push(out.rest); // a whole object: the writer just left out the newline
      out.rest = '';
    } catch {
      /* an unfinished line: keep it as rest */
    }
  }
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) return;
    try {
      const e = parseEvent(line);
      if (e) out.events.push(e);
    } catch (err) {
      out.invalid.push({ line: i + 1, reason: (err as Error).message });
    }
  });
  return out;
}

/** Reads a whole events.jsonl (a missing file reads as no events). */
export function readEventsFile(file: string): ParsedEvents {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], invalid: [], rest: '' };
    throw err;
  }
  return parseEvents(text, true);
}

/** Options of {@link EventTail}. */
export interface EventTailOptions {
  /** Byte offset to start reading at (e.g. the file's size before a resumed run started); default 0. */
  offset?: number;
  /** Polling interval in ms (default 500). fs.watch also wakes the reader early where it works. */
  intervalMs?: number;
  /** Called with each new event, in order. */
  onEvent(event: TrainerEvent): void;
  /** Called with each complete line that is not a valid event. */
  onInvalid?(line: string, reason: string): void;
}

/**
 * Follows a growing events.jsonl: polls (and listens to fs.watch where the file system supports it), reads
 * only the new bytes, and hands over complete lines. A partial last line waits for its newline; a file that
 * does not exist yet is waited for; a file that shrank (replaced) is read again from the start.
 */
export class EventTail {
  private offset: number;
  private rest: Buffer = Buffer.alloc(0);
  private timer: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  private reading = false;
  private closed = false;

  constructor(readonly file: string, private readonly options: EventTailOptions) {
    this.offset = options.offset ?? 0;
  }

  /** Starts following; returns this. */
  start(): this {
    this.timer = setInterval(() => this.poll(), this.options.intervalMs ?? 500);
    this.timer.unref?.();
    this.poll();
    return this;
  }

  /** Reads whatever is new now (synchronously), delivering complete lines. */
  poll(): void {
    if (this.reading || this.closed) return;
    this.reading = true;
    try {
      this.ensureWatcher();
      let size: number;
      try {
        size = fs.statSync(this.file).size;
      } catch {
        return; // not there yet
      }
      if (size < this.offset) {
        this.offset = 0; // truncated or replaced
        this.rest = Buffer.alloc(0);
      }
      if (size === this.offset) return;
      const fd = fs.openSync(this.file, 'r');
      try {
        const buf = Buffer.alloc(size - this.offset);
        const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
        this.offset += n;
        // Cut at the last newline byte: lines are whole UTF-8 sequences, so bytes after it (half a line, maybe
        // half a character) wait as bytes until the rest arrives.
        const bytes = Buffer.concat([this.rest, buf.subarray(0, n)]);
        const cut = bytes.lastIndexOf(0x0a);
        if (cut < 0) {
          this.rest = bytes;
          return;
        }
        this.rest = Buffer.from(bytes.subarray(cut + 1));
        this.deliver(bytes.subarray(0, cut + 1).toString('utf8'));
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      this.reading = false;
    }
  }

  private deliver(text: string): void {
    for (const raw of text.split('\n')) {
      const line = raw.replace(/\r$/, '');
      if (!line.trim()) continue;
      let e: TrainerEvent | undefined;
      try {
        e = parseEvent(line);
      } catch (err) {
        this.options.onInvalid?.(line, (err as Error).message);
        continue;
      }
      if (e) this.options.onEvent(e);
    }
  }

  private ensureWatcher(): void {
    if (this.watcher || this.closed) return;
    try {
      this.watcher = fs.watch(this.file, { persistent: false }, () => this.poll());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      /* not there yet, or no watch support: polling covers it */
    }
  }

  /**
   * Stops following after one last read; a final line without newline is delivered if it is a whole event.
   */
  close(): void {
    if (this.closed) return;
    this.poll();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
    const last = this.rest.toString('utf8');
    if (last.trim()) {
      try {
        const e = parseEvent(last);
        if (e) this.options.onEvent(e);
      } catch {
        /* half a line: the writer was killed mid-write */
      }
      this.rest = Buffer.alloc(0);
    }
  }
}
