// Lint rules: type-aware where it matters (floating promises), no console outside the CLI layer, and
// the layers of ../shared/design/ARCHITECTURE.md held by import boundaries.
import tseslint from 'typescript-eslint';

// Each folder of src/ may import only the folders listed (lowest layer first); the CLI (and the web
// UI) sit on top and may import anything. Static imports, re-exports and dynamic import() alike.
const LAYERS = {
  core: [],
  model: ['core'],
  stack: ['core', 'model'],
  docker: ['core'],
  aws: ['core'],
  state: ['core', 'model'],
  image: ['core', 'docker', 'aws', 'state'],
  exec: ['core', 'model', 'stack', 'state'],
  providers: ['core', 'model', 'stack', 'docker', 'aws', 'image', 'state'],
  deploy: ['core', 'model', 'stack', 'state', 'exec', 'providers', 'docker', 'aws'],
  pipeline: ['core', 'model', 'stack', 'state', 'exec', 'deploy', 'image', 'docker', 'aws', 'providers'],
  ui: ['core', 'model', 'stack', 'state', 'exec', 'deploy', 'image', 'docker', 'aws', 'providers', 'pipeline'],
};
const TOP = [...Object.keys(LAYERS), 'cli'];

const boundaries = Object.entries(LAYERS).map(([layer, allowed]) => {
  const forbidden = TOP.filter((f) => f !== layer && !allowed.includes(f));
  const regex = `^(\\.\\./)+(${forbidden.join('|')})/`;
  const message = `src/${layer} may import only ${allowed.length ? allowed.map((a) => `src/${a}`).join(', ') : 'nothing else in src'} (layers: ARCHITECTURE.md, eslint.config.js)`;
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex, message }] }],
      'no-restricted-syntax': ['error', { selector: `ImportExpression[source.value=/${regex.replace(/\//g, '\\/')}/]`, message }],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-throw-literal': 'error',
      'no-console': 'error',
    },
  },
  { files: ['src/cli/**', 'bench/**', 'scripts/**', 'test/**'], rules: { 'no-console': 'off' } },
  ...boundaries,
);
