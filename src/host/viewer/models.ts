/**
 * Which models the DICOM viewer runs (settings `dicomMl.viewer.overlays`, `dicomMl.models.detector|classifier`,
 * `dicomMl.inference.threads|cuda`), and the engines for them: one session cache for every viewer, one engine
 * per model pair. Models never run in an untrusted workspace (Workspace Trust): the viewer says so instead.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_CLASSIFIER, DEFAULT_DETECTOR } from '../../core/inference/defaults';
import { InferenceEngine } from '../../core/inference/engine';
import { modelStamp, SessionCache } from '../../core/inference/session';
import type { ViewerModels } from '../../protocol/viewer';

/** The model paths and runtime settings for a document. */
export interface ModelChoice {
  enabled: boolean;
  detector?: string;
  classifier?: string;
  threads: number;
  cuda: boolean;
}

function expand(p: string, folder: vscode.WorkspaceFolder | undefined): string {
  let out = p.replace(/\$\{workspaceFolder\}/g, folder?.uri.fsPath ?? '');
  if (out === '~' || out.startsWith('~/')) out = path.join(os.homedir(), out.slice(1));
  return folder && !path.isAbsolute(out) ? path.join(folder.uri.fsPath, out) : out;
}

/** Models for particular files, over the settings: an error opened from an evaluation shows that evaluation's model. */
const overrides = new Map<string, { detector?: string; classifier?: string }>();

/** Show `uri` with these models (the metrics panel opening an error of an evaluated model), whatever the settings say. */
export function overrideModels(uri: vscode.Uri, models: { detector?: string; classifier?: string }): void {
  overrides.set(uri.toString(), { ...overrides.get(uri.toString()), ...models });
  while (overrides.size > 200) overrides.delete(overrides.keys().next().value as string);
}

/** Read the settings for `uri` (empty model paths = the models shipped in the extension's models/), then any override. */
export function modelChoice(uri: vscode.Uri, extensionUri: vscode.Uri): ModelChoice {
  const c = vscode.workspace.getConfiguration('dicomMl', uri);
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  const pick = (key: string, file: string) => {
    const v = (c.get<string>(key) ?? '').trim();
    if (v === 'none') return undefined;
    return v ? expand(v, folder) : vscode.Uri.joinPath(extensionUri, 'models', file).fsPath;
  };
  const o = overrides.get(uri.toString());
  return {
    enabled: c.get<boolean>('viewer.overlays', true),
    detector: o?.detector ?? pick('models.detector', DEFAULT_DETECTOR),
    classifier: o?.classifier ?? pick('models.classifier', DEFAULT_CLASSIFIER),
    threads: Math.max(0, Math.floor(c.get<number>('inference.threads', 0))),
    cuda: c.get<boolean>('inference.cuda', false),
  };
}

/** Engines shared by the viewers of this window. */
export class ViewerModelsService implements vscode.Disposable {
  private caches = new Map<string, SessionCache>();
  /** One engine per model pair and runtime settings, with the files' stamps it was loaded from. */
  private engines = new Map<string, { stamps: string; engine: Promise<InferenceEngine> }>();

  /**
   * An engine for `choice` (loaded once, and again when a model file changes: a run retrained in place);
   * rejects with one readable line naming the model.
   */
  async engine(choice: ModelChoice): Promise<InferenceEngine> {
    const stamps = (await Promise.all([choice.detector, choice.classifier].map((p) => (p ? modelStamp(p) : '')))).join();
    const key = JSON.stringify([choice.detector, choice.classifier, choice.threads, choice.cuda]);
    const hit = this.engines.get(key);
    if (hit && hit.stamps === stamps) return hit.engine;
    const cacheKey = JSON.stringify([choice.threads, choice.cuda]);
    let cache = this.caches.get(cacheKey);
    if (!cache) {
      cache = new SessionCache({ threads: choice.threads || undefined, cuda: choice.cuda });
      this.caches.set(cacheKey, cache);
    }
    const entry = { stamps, engine: InferenceEngine.create({ detector: choice.detector, classifier: choice.classifier }, cache) };
    entry.engine.catch(() => {
      if (this.engines.get(key) === entry) this.engines.delete(key);
    });
    this.engines.set(key, entry);
    return entry.engine;
  }

  /** What the viewer should say before anything loads. */
  static gate(choice: ModelChoice): ViewerModels | undefined {
    const base = { names: [], gradcam: false };
    if (!vscode.workspace.isTrusted) {
      return { ...base, state: 'untrusted', message: 'Models do not run in an untrusted workspace: trust this folder to see vertebra boxes, Grad-CAM and fracture probabilities.' };
    }
    if (!choice.enabled) return { ...base, state: 'off', message: 'Model overlays are off (setting dicomMl.viewer.overlays).' };
    if (!choice.detector && !choice.classifier) return { ...base, state: 'off', message: 'No model chosen (dicomMl.models.detector / classifier are "none").' };
    return undefined;
  }

  dispose(): void {
    const caches = [...this.caches.values()];
    this.caches.clear();
    this.engines.clear();
    for (const c of caches) void c.dispose();
  }
}
