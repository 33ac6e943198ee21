// Decode timing of our core for each file given: parse + decode + modality LUT from bytes in memory,
// the same work as decode_py.py does with pydicom. Prints one JSON document: { file: median ms }.
import { readFileSync } from 'node:fs';
import { parseDicom } from '../../src/core/dicom/parse';
import { readImageInfo } from '../../src/core/dicom/image';
import { decodeFrame } from '../../src/core/dicom/pixels';
import { modalityValues } from '../../src/core/dicom/lut';

async function main(): Promise<void> {
  const [repeats, ...files] = process.argv.slice(2);
  const n = Number(repeats);
  const result: Record<string, number | string> = {};
  for (const file of files) {
    const bytes = readFileSync(file);
    const once = async () => {
      const parsed = parseDicom(bytes, file);
      const info = readImageInfo(parsed, file);
      return modalityValues(await decodeFrame(parsed, info, 0), info);
    };
    try {
      await once(); // warm-up: WASM codec initialisation and JIT are not per-slice costs
      await once();
    } catch (err) {
      result[file] = `error: ${(err as Error).message}`;
      continue;
    }
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      await once();
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    result[file] = times[Math.floor(times.length / 2)];
  }
  process.stdout.write(JSON.stringify(result));
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
