/** The default models shipped in models/ (built by `npm run models:train`), found from the CLI or extension bundle. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const DEFAULT_DETECTOR = 'vertebra-detector.onnx';
export const DEFAULT_CLASSIFIER = 'fracture-classifier.onnx';

/** The models/ folder holding the default models, searched from `from` upwards (dist/ or src/… of the package). */
export function findModelsDir(from: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, 'models');
    if (existsSync(join(candidate, DEFAULT_DETECTOR)) || existsSync(join(candidate, DEFAULT_CLASSIFIER))) return candidate;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
