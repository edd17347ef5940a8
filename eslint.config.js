// Lint, plus the folder boundaries of DESIGN.md: relabel/ and wire/ are pure
// libraries and import nothing of ours (relabel) or nothing but themselves
// (wire); no folder reaches into another's internals, only its index.ts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const serviceFolders = ['collector', 'alerting', 'control', 'agent', 'dashboards', 'bench', 'cli', 'test'];
const libraryFolders = ['relabel', 'wire'];
const everyFolder = [...libraryFolders, ...serviceFolders];

const forbid = (folders, message) =>
  folders.flatMap((f) => [
    { group: [`../${f}`, `../${f}/*`, `../../${f}`, `../../${f}/*`], message },
  ]);

const internals = everyFolder.map((f) => ({
  group: [`../${f}/*`, `!../${f}/index.js`, `../../${f}/*`, `!../../${f}/index.js`],
  message: `import ${f}/ through its index.ts only`,
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', 'scripts/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': ['error', { patterns: internals }],
    },
  },
  {
    files: ['relabel/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: forbid(everyFolder.filter((f) => f !== 'relabel'), 'relabel/ is a pure library: it imports nothing of ours'),
      }],
    },
  },
  {
    files: ['wire/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: forbid(everyFolder.filter((f) => f !== 'wire'), 'wire/ is a pure codec library: it imports nothing of ours'),
      }],
    },
  },
);
