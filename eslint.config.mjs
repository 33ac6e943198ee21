// Lint enforces the room boundaries of ARCHITECTURE.md (a rule, not a promise — STYLE.md):
// src/core and src/cli never import `vscode`; webview/ never imports node modules or `vscode`.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', '.venv/**', 'test-output/**', 'trainer/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' }] }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['webview/**/*.ts'],
    languageOptions: { parserOptions: { project: './webview/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'webview/ is browser code: talk to the host through src/protocol.' },
          ...nodeBuiltins.map((name) => ({ name, message: 'webview/ is browser code: no node modules.' }))],
        // voi.ts is pure arithmetic with no imports: sharing it keeps the viewer's pixels equal to the CLI's.
        // viewTransform.ts and reformat.ts are the viewer's coordinate owners (pure maths, no imports), unit-tested in Node.
        // bytePlanes.ts unpacks what dicom/pack.ts packs; classColours.ts colours boxes as the CLI does (pure, no imports).
        patterns: [{ regex: '/src/(host|cli)/|/src/core/(?!dicom/voi$|dicom/bytePlanes$|viewer/viewTransform$|viewer/reformat$|classColours$)', message: 'webview/ may import only src/protocol (types), src/core/dicom/{voi,bytePlanes}, src/core/classColours and src/core/viewer/{viewTransform,reformat}.' }],
      }],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/cli/**/*.ts', 'src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'src/core, src/cli and src/protocol must run without VS Code (ARCHITECTURE "Rooms").', allowTypeImports: false }],
        patterns: [{ group: ['**/host/**', '**/webview/**'], message: 'core/cli/protocol may not depend on the host or the webview.' }],
      }],
    },
  },
);
