/** What every CLI command gets: parsed arguments and output sinks (so tests can capture them). */
export interface CommandContext {
  positionals: string[];
  options: Record<string, string | boolean | undefined>;
  json: boolean;
  /** Arguments after `--`, passed on untouched (only for commands whose table entry sets `passthrough`). */
  passthrough?: string[];
  stdout(line: string): void;
  /** Progress and notes for people; never mixed into --json output. */
  stderr(line: string): void;
}
