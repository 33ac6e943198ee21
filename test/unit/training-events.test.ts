// events.jsonl (trainer/README.md "events.jsonl"): the schema as the contract states it, and a reader that
// copes with how a file looks while another process appends to it.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventTail, parseEvent, parseEvents, readEventsFile, type TrainerEvent } from '../../src/core/training/events';

// Lines as the trainer's EventWriter writes them (json.dumps, separators (",", ":"), allow_nan=False).
const START = '{"event":"start","time":"2026-12-05T10:00:00.000Z","task":"classify","run":"/r","config":{"data":"/d","model":"cnn","epochs":2},"device":{"type":"cuda","names":["NVIDIA H100"],"worldSize":2,"threads":8},"dataset":{"train":120,"val":30,"names":["normal","fracture"]},"resumedFrom":null}';
const EPOCH = '{"event":"epoch","time":"2026-12-05T10:01:00.000Z","epoch":1,"epochs":2,"losses":{"train":0.69,"val":0.7},"metrics":{"accuracy":0.6,"f1":0.55,"kappa":null},"lr":0.001,"seconds":12.5,"eta":12.5,"best":true}';
const END = '{"event":"end","time":"2026-12-05T10:02:00.000Z","status":"completed","best":{"epoch":1,"metrics":{"f1":0.55}},"onnx":"/r/model.onnx","card":"/r/model.card.json","seconds":120}';
const ERROR = '{"event":"error","time":"2026-12-05T10:02:00.000Z","kind":"cuda-oom","message":"CUDA out of memory on cuda:0 at batch size 64: rerun with --batch 32"}';

test('parseEvent: each event type of the contract, with its fields', () => {
  const s = parseEvent(START);
  assert.deepEqual(s, {
    event: 'start', time: '2026-12-05T10:00:00.000Z', task: 'classify', run: '/r', config: { data: '/d', model: 'cnn', epochs: 2 },
    device: { type: 'cuda', names: ['NVIDIA H100'], worldSize: 2 }, dataset: { train: 120, val: 30, names: ['normal', 'fracture'] }, resumedFrom: null,
  });
  assert.deepEqual(parseEvent(EPOCH), {
    event: 'epoch', time: '2026-12-05T10:01:00.000Z', epoch: 1, epochs: 2, losses: { train: 0.69, val: 0.7 }, metrics: { accuracy: 0.6, f1: 0.55, kappa: null },
    lr: 0.001, seconds: 12.5, eta: 12.5, best: true,
  });
  assert.deepEqual(parseEvent(END), { event: 'end', time: '2026-12-05T10:02:00.000Z', status: 'completed', best: { epoch: 1, metrics: { f1: 0.55 } }, onnx: '/r/model.onnx', card: '/r/model.card.json', seconds: 120 });
  assert.deepEqual(parseEvent(ERROR), { event: 'error', time: '2026-12-05T10:02:00.000Z', kind: 'cuda-oom', message: 'CUDA out of memory on cuda:0 at batch size 64: rerun with --batch 32' });
});

test('parseEvent: rejects what breaks the contract, ignores what it does not know', () => {
  assert.throws(() => parseEvent('[1,2]'), /not a JSON object/);
  assert.throws(() => parseEvent('{"time":"t"}'), /no "event" field/);
  assert.throws(() => parseEvent('{"event":"start","task":"segment"}'), /task must be detect or classify/);
  assert.throws(() => parseEvent('{"event":"epoch","epoch":"1","epochs":2}'), /numeric epoch/);
  assert.throws(() => parseEvent('{"event":"epo'), SyntaxError);
  assert.equal(parseEvent('{"event":"checkpoint","path":"/r/weights/last.pt"}'), undefined, 'a newer event type is skipped');
  // Extra fields are dropped; non-numeric metric values too.
  const e = parseEvent('{"event":"epoch","epoch":2,"epochs":3,"losses":{},"metrics":{"f1":"high","auc":0.9},"extra":1}');
  assert.deepEqual(e && e.event === 'epoch' && e.metrics, { auc: 0.9 });
});

test("parseEvent: Python's NaN/Infinity tokens (json.dumps default) read as null, strings untouched", () => {
  const e = parseEvent('{"event":"epoch","epoch":1,"epochs":1,"losses":{"train":NaN},"metrics":{"kappa":-Infinity,"auc":Infinity},"note":"NaN stays"}');
  assert.ok(e && e.event === 'epoch');
  assert.deepEqual(e.losses, { train: null });
  assert.deepEqual(e.metrics, { kappa: null, auc: null });
  const err = parseEvent('{"event":"error","kind":"failed","message":"loss became NaN at Infinity"}');
  assert.equal(err && err.event === 'error' && err.message, 'loss became NaN at Infinity');
});

test('parseEvents: a partial last line waits for its newline; bad lines are counted with their line numbers', () => {
  const text = `${START}\n${EPOCH}\nnot json\n\n${END.slice(0, 40)}`;
  const p = parseEvents(text);
  assert.deepEqual(p.events.map((e) => e.event), ['start', 'epoch']);
  assert.deepEqual(p.invalid.map((i) => i.line), [3]);
  assert.equal(p.rest, END.slice(0, 40));
  // final: a whole event without its newline counts; half of one stays rest.
  assert.deepEqual(parseEvents(`${START}\n${END}`, true).events.map((e) => e.event), ['start', 'end']);
  assert.equal(parseEvents(`${START}\n${END.slice(0, 40)}`, true).rest, END.slice(0, 40));
  // CRLF files (written on Windows) read the same.
  assert.equal(parseEvents(`${START}\r\n${EPOCH}\r\n`).events.length, 2);
});

test('readEventsFile: missing file is no events', () => {
  assert.deepEqual(readEventsFile(join(tmpdir(), 'does-not-exist', 'events.jsonl')), { events: [], invalid: [], rest: '' });
});

test('EventTail: follows appends byte by byte (split lines, split UTF-8), skips old lines from an offset, survives a replaced file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dicom-ml-tail-'));
  const file = join(dir, 'events.jsonl');
  const got: TrainerEvent[] = [];
  const bad: string[] = [];
  const tail = new EventTail(file, { onEvent: (e) => got.push(e), onInvalid: (l) => bad.push(l), intervalMs: 10_000 });
  tail.poll(); // file not there yet: nothing, no throw
  const err = '{"event":"error","time":"t","kind":"dataset","message":"Ordner „Bilder“ leer — ü"}\n';
  const text = `${START}\n${EPOCH}\ngarbage\n${err}`;
  const bytes = Buffer.from(text, 'utf8');
  writeFileSync(file, '');
  for (let i = 0; i < bytes.length; i += 7) {
    appendFileSync(file, bytes.subarray(i, i + 7)); // cuts lines and the multi-byte characters
    tail.poll();
  }
  assert.deepEqual(got.map((e) => e.event), ['start', 'epoch', 'error']);
  assert.equal((got[2] as { message: string }).message, 'Ordner „Bilder“ leer — ü');
  assert.deepEqual(bad, ['garbage']);
  // Replaced by a shorter file: read from the start again.
  writeFileSync(file, `${END}\n`);
  tail.poll();
  assert.equal(got.at(-1)?.event, 'end');
  // close() delivers a whole last event that lacks its newline.
  appendFileSync(file, EPOCH);
  tail.close();
  assert.equal(got.at(-1)?.event, 'epoch');
  assert.equal(got.length, 5);

  // From an offset: a resumed run's old lines are not replayed.
  const old = `${START}\n${EPOCH}\n`;
  writeFileSync(file, old);
  const later: TrainerEvent[] = [];
  const t2 = new EventTail(file, { offset: Buffer.byteLength(old), onEvent: (e) => later.push(e) });
  appendFileSync(file, `${END}\n`);
  t2.close();
  assert.deepEqual(later.map((e) => e.event), ['end']);
});

test('EventTail: start() picks up lines written later, by polling', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dicom-ml-tail-'));
  const file = join(dir, 'events.jsonl');
  const got: string[] = [];
  const tail = new EventTail(file, { intervalMs: 20, onEvent: (e) => got.push(e.event) }).start();
  try {
    await new Promise((r) => setTimeout(r, 50));
    appendFileSync(file, `${START}\n`);
    const deadline = Date.now() + 5_000;
    while (!got.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ['start']);
  } finally {
    tail.close();
  }
});
