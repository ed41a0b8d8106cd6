// Layering check (part of `npm run lint`): every import in src/ points down the layers of
// CONTRIBUTING.md, and no set of modules imports itself in a circle (type-only imports count:
// they tie the modules' contracts together all the same).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', 'src');

/**
 * Known debt, to shrink and never grow (issue 15): the diff command's presentation (job summary,
 * PR comment) and its option type still live in diff/run.ts and github/review.ts, reworked at the
 * same time by the review work; they move to commands/diff.ts once it lands. An entry that no
 * longer occurs is reported so it can be deleted.
 */
const PENDING = new Set([
]);

/** Layer of a module by its path under src/: higher layers may import lower ones only. */
const LAYERS = [
  [/^(cli|action)\/|^(cli|index|run)\.ts$/, 70, 'front end'],
  [/^(commands|options)\//, 60, 'commands'],
  [/^diff\//, 50, 'diff'],
  [/^(verify|render|release)\//, 40, 'verify/render/release'],
  [/^cluster\//, 35, 'cluster'],
  [/^sign\//, 30, 'sign'],
  [/^flux\//, 20, 'flux'],
  [/^(oci|github)\//, 10, 'oci/github'],
  [/^(errors|log|version)\.ts$|^util\//, 0, 'base'],
];

function layerOf(file) {
  for (const [pattern, rank, name] of LAYERS) if (pattern.test(file)) return { rank, name };
  throw new Error(`check-layers: ${file} is in no layer: add its directory to scripts/check-layers.mjs`);
}

function walk(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;

const files = walk(root).map((f) => relative(root, f).split('\\').join('/'));
const edges = new Map();
const problems = [];
for (const file of files) {
  const text = readFileSync(join(root, file), 'utf8');
  const targets = new Set();
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith('.')) continue;
    const target = relative(root, resolve(dirname(join(root, file)), spec.replace(/\.js$/, '.ts')))
      .split('\\')
      .join('/');
    if (!files.includes(target)) continue;
    targets.add(target);
    const from = layerOf(file);
    const to = layerOf(target);
    if (to.rank > from.rank) problems.push(`upward import: ${file} (${from.name}) imports ${target} (${to.name})`);
  }
  edges.set(file, [...targets]);
}

// Tarjan's strongly connected components: any component of more than one module is a circle.
let index = 0;
const stack = [];
const state = new Map();
const strongConnect = (v) => {
  state.set(v, { index, low: index, onStack: true });
  index++;
  stack.push(v);
  for (const w of edges.get(v) ?? []) {
    if (!state.has(w)) {
      strongConnect(w);
      state.get(v).low = Math.min(state.get(v).low, state.get(w).low);
    } else if (state.get(w).onStack) state.get(v).low = Math.min(state.get(v).low, state.get(w).index);
  }
  if (state.get(v).low === state.get(v).index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      state.get(w).onStack = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) problems.push(`import circle: ${component.sort().join(' ↔ ')}`);
  }
};
for (const f of files) if (!state.has(f)) strongConnect(f);

for (const p of PENDING) if (!problems.includes(p)) console.warn(`check-layers: fixed, delete from PENDING: ${p}`);
const fresh = problems.filter((p) => !PENDING.has(p));
if (fresh.length) {
  for (const p of fresh) console.error(`check-layers: ${p}`);
  process.exit(1);
}
const pending = problems.length ? ` (${problems.length} known, listed in PENDING)` : '';
console.log(`check-layers: ${files.length} modules, imports point down, no circle${pending}`);
