import { describe, expect, it } from 'vitest';
import {
  hasTemplate,
  parseTemplate,
  referencedInputs,
  referencedSteps,
  rewriteStepRefs,
} from '../../../../operator/src/controllers/workflow/expr-text.ts';

// The scanners used to be regular expressions; these are those, kept as the
// reference the linear scanners must agree with on inputs they both handle.
const OLD_TEMPLATE = /\{\{(.*?)\}\}/gs;
const OLD_STEP_REF = /\bsteps\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)(?=\.|\s|$|\)|\]|,)/g;
const OLD_QUOTED_STEP_REF = /\bsteps\[\s*["']([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)["']\s*\]/g;
const OLD_INPUT_REF = /\binputs\.([A-Za-z_][A-Za-z0-9_]*)/g;

function oldParseTemplate(s: string): { kind: string; text?: string; expr?: string }[] {
  const parts: { kind: string; text?: string; expr?: string }[] = [];
  let last = 0;
  for (const m of s.matchAll(OLD_TEMPLATE)) {
    if (m.index > last) parts.push({ kind: 'text', text: s.slice(last, m.index) });
    parts.push({ kind: 'expr', expr: m[1]!.trim() });
    last = m.index + m[0].length;
  }
  if (last < s.length) parts.push({ kind: 'text', text: s.slice(last) });
  return parts;
}

function oldBlank(expr: string): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const ch = expr[i]!;
    if (ch !== '"' && ch !== "'") {
      out += ch;
      i++;
      continue;
    }
    let j = i + 1;
    while (j < expr.length && expr[j] !== ch) j += expr[j] === '\\' ? 2 : 1;
    const literal = expr.slice(i, j + 1);
    out += /steps\[\s*$/.test(out) ? literal : '""';
    i = j + 1;
  }
  return out;
}

function oldRewrite(expr: string): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const ch = expr[i]!;
    if (ch === '"' || ch === "'") {
      let j = i + 1;
      while (j < expr.length && expr[j] !== ch) j += expr[j] === '\\' ? 2 : 1;
      out += expr.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < expr.length && expr[j] !== '"' && expr[j] !== "'") j++;
    out += expr
      .slice(i, j)
      .replace(OLD_STEP_REF, (_m, name: string) =>
        name.includes('-') ? `steps["${name}"]` : `steps.${name}`,
      );
    i = j;
  }
  return out;
}

function oldSteps(expr: string): string[] {
  const code = oldBlank(expr);
  const names = new Set<string>();
  for (const m of code.matchAll(OLD_STEP_REF)) names.add(m[1]!);
  for (const m of code.matchAll(OLD_QUOTED_STEP_REF)) names.add(m[1]!);
  return [...names].sort();
}

function oldInputs(expr: string): string[] {
  return [...new Set([...oldBlank(expr).matchAll(OLD_INPUT_REF)].map((m) => m[1]!))].sort();
}

/** A deterministic pseudo-random generator (no test depends on chance). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

function randomString(next: () => number, alphabet: readonly string[], max: number): string {
  const n = Math.floor(next() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)]!;
  return s;
}

describe('parseTemplate', () => {
  it('agrees with the former regular expression on many strings of braces and text', () => {
    const next = rng(7);
    for (let i = 0; i < 3000; i++) {
      const s = randomString(next, ['{', '}', '{{', '}}', 'a', ' ', '\n', 'x.y'], 14);
      expect(parseTemplate(s), JSON.stringify(s)).toEqual(oldParseTemplate(s));
    }
  });

  it('handles the edge cases of unclosed and extra braces', () => {
    expect(parseTemplate('a {{ b')).toEqual([{ kind: 'text', text: 'a {{ b' }]);
    expect(parseTemplate('{{{a}}')).toEqual([{ kind: 'expr', expr: '{a' }]);
    expect(parseTemplate('{{a}}}')).toEqual([
      { kind: 'expr', expr: 'a' },
      { kind: 'text', text: '}' },
    ]);
    expect(parseTemplate('}}{{a}}')).toEqual([
      { kind: 'text', text: '}}' },
      { kind: 'expr', expr: 'a' },
    ]);
    expect(hasTemplate('x {{ y }}')).toBe(true);
    expect(hasTemplate('x {{ y')).toBe(false);
    expect(hasTemplate('}} {{')).toBe(false);
  });

  it('scans a megabyte of unclosed "{{" (quadratic for the former regular expression) and returns', () => {
    const s = '{{'.repeat(512 * 1024);
    expect(parseTemplate(s)).toEqual([{ kind: 'text', text: s }]);
    expect(hasTemplate(s)).toBe(false);
    const t = `${'{{ a '.repeat(200_000)}`;
    expect(parseTemplate(t)).toHaveLength(1);
  });

  it('splits a megabyte of templates into all of its parts', () => {
    const s = '{{a}}'.repeat(200_000);
    const parts = parseTemplate(s);
    expect(parts).toHaveLength(200_000);
    expect(parts.every((p) => p.kind === 'expr' && p.expr === 'a')).toBe(true);
  });
});

describe('rewriteStepRefs / referencedSteps / referencedInputs', () => {
  it('agree with the former regular expressions on many expressions', () => {
    const next = rng(11);
    const alphabet = [
      'steps.',
      'steps',
      'inputs.',
      'a-b',
      'a',
      '-',
      '1',
      '.',
      ' ',
      '(',
      ')',
      '[',
      ']',
      ',',
      '"',
      "'",
      '\\',
      'x_y',
      'mysteps.',
      'X',
    ];
    for (let i = 0; i < 5000; i++) {
      const e = randomString(next, alphabet, 12);
      // `x.steps.a` and `x.inputs.a` select fields named steps and inputs: the old
      // expressions took them for the variables, the scanner does not (tested below).
      if (/\.\s*(steps|inputs)\b/.test(e)) continue;
      expect(rewriteStepRefs(e), JSON.stringify(e)).toBe(oldRewrite(e));
      // A name right before a quote (not CEL) was a reference for the old rewrite and not
      // for the old referencedSteps; the scanner takes the rewrite's side in both.
      if (!/steps\.[-a-z0-9]+["']/.test(e)) {
        expect([...referencedSteps(e)].sort(), JSON.stringify(e)).toEqual(oldSteps(e));
      }
      expect([...referencedInputs(e)].sort(), JSON.stringify(e)).toEqual(oldInputs(e));
    }
  });

  it('does not take fields named inputs or steps for the variables', () => {
    expect(referencedInputs('steps.inputs.a').size).toBe(0);
    expect([...referencedSteps('steps.inputs.a')]).toEqual(['inputs']);
    expect(referencedSteps('inputs.steps.a').size).toBe(0);
    expect(referencedSteps('inputs.m . steps.a').size).toBe(0);
    expect(rewriteStepRefs('inputs.steps.a-b')).toBe('inputs.steps.a-b');
  });

  it('skips triple-quoted and raw string literals', () => {
    expect([...referencedSteps('"""see steps.a-b "quoted" """ + steps.c-d.x')]).toEqual(['c-d']);
    expect(rewriteStepRefs("'''steps.a-b''' + steps.c-d.x")).toBe("'''steps.a-b''' + steps[\"c-d\"].x");
    // In a raw string a backslash escapes nothing: r"\" is a whole literal.
    expect([...referencedSteps('r"\\" + steps.a-b.x')]).toEqual(['a-b']);
    expect([...referencedInputs("R'inputs.x' + inputs.y")]).toEqual(['y']);
  });

  it('scans long hostile expressions once', () => {
    const names = `steps.${'a-'.repeat(300_000)}b`;
    expect([...referencedSteps(names)]).toHaveLength(1);
    const dashes = `steps.a${'-'.repeat(500_000)}`;
    expect(referencedSteps(dashes).size).toBe(0);
    const many = 'steps.a-b.x + '.repeat(50_000);
    expect(rewriteStepRefs(many)).toBe('steps["a-b"].x + '.repeat(50_000));
    const literals = `steps[${'"x" '.repeat(200_000)}`;
    expect(referencedSteps(literals).size).toBe(0);
    const unclosed = `"${'\\"'.repeat(300_000)}`;
    expect(referencedInputs(unclosed).size).toBe(0);
  });
});
