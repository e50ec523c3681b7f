// Benchmark of the limits on user-written expressions and schemas (no cluster needed): how long
// the operator's thread is held, and how much memory is kept, by the worst expressions and data a
// Workflow or an Agent can bring. CEL `when`/templates under the per-call cost limit
// (operator/src/controllers/workflow/cel-cost.ts), the validation-time estimate
// (cel-estimate.ts), user-schema patterns on RE2 and the other linear checks
// (operator/src/api/schemas.ts), the template scanner (expr-text.ts).
//
//   node bench/expressions.ts
//
// Prints a table and writes bench/reports/expressions-<timestamp>.json (the folder is git-ignored).
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileUserSchema } from '../operator/src/api/schemas.ts';
import { CEL_PER_CALL_COST_LIMIT } from '../operator/src/controllers/workflow/cel-cost.ts';
import {
  MAX_OUTPUTS_BYTES,
  estimate,
  jsonWithin,
  shapeOfValue,
  stringShape,
  type Shape,
} from '../operator/src/controllers/workflow/cel-estimate.ts';
import { parseTemplate } from '../operator/src/controllers/workflow/expr-text.ts';
import {
  compile,
  evaluate,
  evaluationCost,
  type ExpressionContext,
} from '../operator/src/controllers/workflow/expressions.ts';

const inputs = { l: Array.from({ length: 2048 }, (_, i) => i), s: 'a'.repeat(4096) };
const ctx: ExpressionContext = {
  inputs,
  steps: {
    scan: { outputs: { files: Array.from({ length: 400 }, (_, i) => `src/f${i}.go`) }, phase: 'Succeeded' },
  },
};
const scope = new Map<string, Shape>([
  ['inputs', shapeOfValue(inputs)],
  [
    'steps',
    {
      items: 1,
      chars: 0,
      deep: MAX_OUTPUTS_BYTES + 50,
      fields: new Map([
        [
          'scan',
          {
            items: 2,
            chars: 0,
            deep: MAX_OUTPUTS_BYTES + 40,
            fields: new Map([
              ['outputs', jsonWithin(MAX_OUTPUTS_BYTES)],
              ['phase', stringShape(32)],
            ]),
          },
        ],
      ]),
    },
  ],
]);

interface CelRow {
  expression: string;
  estimate: number;
  outcome: string;
  cost: number | undefined;
  medianMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function celRow(expression: string): CelRow {
  const c = compile(expression);
  if (typeof c === 'string') throw new Error(c);
  const times: number[] = [];
  let outcome = '';
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = evaluate(expression, ctx);
    times.push(performance.now() - t0);
    outcome = r.ok ? 'ok' : r.reason;
  }
  return {
    expression,
    estimate: Math.ceil(estimate(c.ast, scope).cost),
    outcome,
    cost: evaluationCost(expression, ctx),
    medianMs: median(times),
  };
}

function timeMs(f: () => unknown): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

const cel = [
  'steps.scan.outputs.files.map(f, f + ".orig")',
  'steps.scan.outputs.files.exists(f, f.endsWith("go.mod"))',
  'inputs.l.filter(x, x % 3 == 0).map(x, x * 2)',
  'inputs.l.map(x, inputs.l.map(y, inputs.l.map(z, z)))',
  'inputs.l.all(x, inputs.l.all(y, inputs.l.all(z, z >= 0)))',
  'inputs.l.map(x, inputs.l.map(y, inputs.s + inputs.s + inputs.s))',
  'inputs.l.map(x, inputs.l.map(y, [y, y, y, y, y, y, y, y]))',
  'inputs.l.map(x, inputs.l.map(y, {"a": y, "b": y}))',
  'inputs.l.map(x, inputs.s.matches("^(a+)+$"))',
  'inputs.l.map(x, inputs.l)',
].map(celRow);

const pattern = compileUserSchema({ type: 'string', pattern: '^(a+)+$' });
if (!pattern.ok) throw new Error(pattern.error);
const re2 = [29, 10_000, 100_000].map((n) => ({
  chars: n,
  ms: timeMs(() => pattern.validate(`${'a'.repeat(n)}!`)),
}));
const backtracking = [20, 23, 26].map((n) => ({
  chars: n,
  ms: timeMs(() => /^(a+)+$/u.test(`${'a'.repeat(n)}!`)),
}));
const unique = compileUserSchema({ type: 'array', uniqueItems: true });
const url = compileUserSchema({ type: 'string', format: 'url' });
if (!unique.ok || !url.ok) throw new Error('schema');
const objects = Array.from({ length: 32_000 }, (_, i) => ({ a: i }));
const other = {
  uniqueItems32000ObjectsMs: timeMs(() => unique.validate(objects)),
  url48000CharsMs: timeMs(() => url.validate(`http://${'@:'.repeat(24_000)}`)),
  parseTemplate1MiBOfOpenBracesMs: timeMs(() => parseTemplate('{{'.repeat(512 * 1024))),
};

console.log(`CEL, per-call limit ${CEL_PER_CALL_COST_LIMIT}:`);
for (const r of cel) {
  console.log(
    `  ${r.expression.padEnd(70)} estimate ${String(r.estimate).padStart(14)}  ${r.outcome.padEnd(18)} cost ${String(Math.ceil(r.cost ?? 0)).padStart(8)}  ${r.medianMs.toFixed(1).padStart(7)} ms`,
  );
}
console.log(
  '^(a+)+$ in a user schema (RE2):',
  re2.map((r) => `${r.chars} chars ${r.ms.toFixed(1)} ms`).join(', '),
);
console.log(
  '^(a+)+$ in JavaScript RegExp:',
  backtracking.map((r) => `${r.chars} chars ${r.ms.toFixed(1)} ms`).join(', '),
);
console.log('other:', JSON.stringify(other));

const dir = fileURLToPath(new URL('./reports/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = `${dir}expressions-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(
  file,
  `${JSON.stringify({ node: process.version, celPerCallLimit: CEL_PER_CALL_COST_LIMIT, cel, re2, backtracking, other }, null, 2)}\n`,
);
console.log(`report: ${file}`);
