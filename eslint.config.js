// Lint rules: typed rules that catch real bugs, and the one-way dependency rule of the layout.
import tseslint from 'typescript-eslint';

const layer = (from, disallowed) => ({
  files: [`src/${from}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: disallowed.map((d) => ({
          group: [`**/${d}/**`, `**/${d}`],
          message: `src/${from} must not import src/${d}: dependencies point model <- apm <- {agent, server, exporter} <- cli.`,
        })),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'weft-data/**', 'src/ui/static/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
    },
  },
  // Tool config files must default-export.
  { files: ['vitest.config.ts'], rules: { 'no-restricted-syntax': 'off' } },
  layer('model', ['apm', 'server', 'agent', 'exporter', 'cli', 'ui']),
  layer('apm', ['server', 'agent', 'exporter', 'cli', 'ui']),
  layer('server', ['agent', 'exporter', 'cli', 'ui']),
  layer('agent', ['server', 'exporter', 'cli', 'ui']),
  layer('exporter', ['server', 'agent', 'cli', 'ui']),
  // The browser app is bundled alone: it may read the query API's types, never server code.
  {
    files: ['src/ui/app/**/*.ts', 'src/ui/app/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: ['server', 'agent', 'exporter', 'cli', 'apm', 'demo'].map((d) => ({
            group: [`**/${d}/**`, `**/${d}`],
            allowTypeImports: true,
            message: `src/ui/app runs in the browser: import only types from src/${d}.`,
          })),
        },
      ],
    },
  },
);
