// The code reviewer's heuristics: deterministic checks on the text of each changed file, no model and no network,
// so the same files always get the same review. Languages: JavaScript/TypeScript, Python and Go (by extension);
// other files get only the language-neutral checks (secrets, TODOs, long lines).
//
// Checks, with category and severity:
// | check                                                         | category        | severity |
// | eval(), new Function(), a committed secret                    | security        | critical |
// | shell=True, yaml.load without SafeLoader, pickle.load(s),    | security        | warning  |
// |   child_process exec with a built string, innerHTML =, MD5/SHA-1 |              |          |
// | nesting deeper than 4 levels, more than 15 decisions in a file | complexity      | warning  |
// | an empty catch / except: pass                                 | correctness     | warning  |
// | debugger;                                                     | correctness     | warning  |
// | a changed source file without a test file                     | testing         | warning  |
// | console.log in non-test code, TODO/FIXME, lines over 120 chars | maintainability | info     |
import { findSecrets } from '../common/secrets.ts';

export type Language = 'js' | 'py' | 'go' | 'other';
export type IssueSeverity = 'critical' | 'warning' | 'info';
export type Category = 'security' | 'complexity' | 'correctness' | 'testing' | 'maintainability';

export interface Issue {
  readonly category: Category;
  readonly severity: IssueSeverity;
  readonly file: string;
  readonly line: number;
  readonly message: string;
  readonly suggestion: string;
}

export interface FileMetrics {
  /** Decision points: if, for, while, case, catch/except, &&, ||, ternaries. */
  readonly decisions: number;
  /** Deepest block nesting (braces for JS and Go, indentation for Python). */
  readonly maxDepth: number;
  readonly lines: number;
}

export function languageOf(path: string): Language {
  if (/\.(js|mjs|cjs|jsx|ts|tsx|mts|cts)$/.test(path)) return 'js';
  if (/\.py$/.test(path)) return 'py';
  if (/\.go$/.test(path)) return 'go';
  return 'other';
}

export function isTestPath(path: string): boolean {
  return /(^|\/)(tests?|__tests__|spec)\//.test(path) || /(\.test\.|\.spec\.|_test\.|(^|\/)test_)/.test(path);
}

/** Blanks out comments and string literals (keeping line structure) so keywords inside them do not count. */
export function stripCommentsAndStrings(text: string, language: Language): string {
  if (language === 'other') return text;
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] ?? '';
    const next = text[i + 1] ?? '';
    const lineComment = language === 'py' ? c === '#' : c === '/' && next === '/';
    if (lineComment) {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (language !== 'py' && c === '/' && next === '*') {
      i += 2;
      while (i < n && !(text[i] === '*' && text[i + 1] === '/')) out += text[i++] === '\n' ? '\n' : '';
      i += 2;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const quote = c;
      out += quote;
      i++;
      while (i < n && text[i] !== quote) {
        if (text[i] === '\\') i++;
        else if (text[i] === '\n') {
          if (quote !== '`') break;
          out += '\n';
        }
        i++;
      }
      out += quote;
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

const DECISION = /\b(?:if|elif|for|while|case|catch|except)\b|&&|\|\||\?(?![.?:])|\band\b|\bor\b/g;

export function measure(text: string, language: Language): FileMetrics {
  const code = stripCommentsAndStrings(text, language);
  const decisions = language === 'other' ? 0 : (code.match(DECISION) ?? []).length;
  let maxDepth = 0;
  if (language === 'js' || language === 'go') {
    let depth = 0;
    for (const ch of code) {
      if (ch === '{') maxDepth = Math.max(maxDepth, ++depth);
      else if (ch === '}') depth = Math.max(0, depth - 1);
    }
  } else if (language === 'py') {
    for (const line of code.split('\n')) {
      if (line.trim() === '') continue;
      const indent = /^ */.exec(line)?.[0].length ?? 0;
      maxDepth = Math.max(maxDepth, Math.floor(indent / 4));
    }
  }
  return { decisions, maxDepth, lines: text.split('\n').length };
}

/** 100 for flat code with few decisions; 10 points off per nesting level past 3, 2 per decision past 10. */
export function complexityScore(m: FileMetrics): number {
  const penalty = 10 * Math.max(0, m.maxDepth - 3) + 2 * Math.max(0, m.decisions - 10);
  return Math.max(0, Math.min(100, 100 - penalty));
}

interface LineRule {
  readonly languages: readonly Language[];
  readonly pattern: RegExp;
  readonly category: Category;
  readonly severity: IssueSeverity;
  readonly message: string;
  readonly suggestion: string;
  readonly skipTests?: boolean;
}

const LINE_RULES: readonly LineRule[] = [
  {
    languages: ['js', 'py'],
    pattern: /(?<![\w.])eval\s*\(/,
    category: 'security',
    severity: 'critical',
    message: 'eval() runs arbitrary code',
    suggestion: 'parse the input instead (JSON.parse, a small expression parser, ast.literal_eval)',
  },
  {
    languages: ['js'],
    pattern: /\bnew Function\s*\(/,
    category: 'security',
    severity: 'critical',
    message: 'new Function() compiles code at run time',
    suggestion: 'use a plain function',
  },
  {
    languages: ['py'],
    pattern: /shell\s*=\s*True/,
    category: 'security',
    severity: 'warning',
    message: 'a subprocess runs through the shell',
    suggestion: 'pass the command as a list without shell=True',
  },
  {
    languages: ['py'],
    pattern: /\byaml\.load\((?![^)]*Loader=yaml\.SafeLoader)(?![^)]*SafeLoader)/,
    category: 'security',
    severity: 'warning',
    message: 'yaml.load can construct arbitrary objects',
    suggestion: 'use yaml.safe_load',
  },
  {
    languages: ['py'],
    pattern: /\bpickle\.loads?\(/,
    category: 'security',
    severity: 'warning',
    message: 'unpickling data can run code',
    suggestion: 'use JSON for data that crosses a trust boundary',
  },
  {
    languages: ['js'],
    pattern: /\bexec(?:Sync)?\s*\(\s*(?:`[^`]*\$\{|[^,)]*\+)/,
    category: 'security',
    severity: 'warning',
    message: 'a shell command is built from strings',
    suggestion: 'use execFile/spawn with an argument list',
  },
  {
    languages: ['js'],
    pattern: /\.innerHTML\s*=/,
    category: 'security',
    severity: 'warning',
    message: 'assigning innerHTML can inject markup',
    suggestion: 'set textContent, or sanitise the HTML',
  },
  {
    languages: ['js', 'py', 'go'],
    pattern: /\b(?:md5|sha1)\b|createHash\(\s*['"](?:md5|sha1)['"]/i,
    category: 'security',
    severity: 'warning',
    message: 'MD5 and SHA-1 are broken for security uses',
    suggestion: 'use SHA-256 or a password hash (scrypt, argon2)',
  },
  {
    languages: ['js'],
    pattern: /catch\s*(?:\([^)]*\))?\s*\{\s*\}/,
    category: 'correctness',
    severity: 'warning',
    message: 'an empty catch block swallows errors',
    suggestion: 'handle or log the error, or let it propagate',
  },
  {
    languages: ['py'],
    pattern: /^\s*except[^:]*:\s*pass\s*$/,
    category: 'correctness',
    severity: 'warning',
    message: 'except: pass swallows errors',
    suggestion: 'handle or log the exception',
  },
  {
    languages: ['js'],
    pattern: /^\s*debugger;?\s*$/,
    category: 'correctness',
    severity: 'warning',
    message: 'a debugger statement was left in',
    suggestion: 'remove it',
  },
  {
    languages: ['js'],
    pattern: /\bconsole\.(?:log|debug)\s*\(/,
    category: 'maintainability',
    severity: 'info',
    message: 'console.log left in the code',
    suggestion: 'use the application logger, or remove it',
    skipTests: true,
  },
  {
    languages: ['js', 'py', 'go', 'other'],
    pattern: /\b(?:TODO|FIXME|XXX)\b/,
    category: 'maintainability',
    severity: 'info',
    message: 'an open TODO/FIXME',
    suggestion: 'finish it or track it in an issue',
  },
];

export const MAX_LINE_LENGTH = 120;
export const MAX_DEPTH = 4;
export const MAX_DECISIONS = 15;

/** The issues of one file. `hasTest` says whether the repository has a test file for it. */
export function reviewFile(
  path: string,
  text: string,
  hasTest: boolean,
): { issues: Issue[]; metrics: FileMetrics } {
  const language = languageOf(path);
  const code = stripCommentsAndStrings(text, language);
  const codeLines = code.split('\n');
  const rawLines = text.split('\n');
  const test = isTestPath(path);
  const issues: Issue[] = [];
  for (const rule of LINE_RULES) {
    if (!rule.languages.includes(language) || (rule.skipTests && test)) continue;
    // TODOs live in comments: match them on the raw text; everything else on code only.
    const lines = rule.pattern.source.includes('TODO') ? rawLines : codeLines;
    const at = lines.findIndex((l) => rule.pattern.test(l));
    if (at === -1) continue;
    const more = lines.filter((l) => rule.pattern.test(l)).length - 1;
    issues.push({
      category: rule.category,
      severity: rule.severity,
      file: path,
      line: at + 1,
      message: more > 0 ? `${rule.message} (and ${more} more in this file)` : rule.message,
      suggestion: rule.suggestion,
    });
  }
  for (const s of findSecrets(path, text)) {
    issues.push({
      category: 'security',
      severity: 'critical',
      file: path,
      line: s.line,
      message: `committed ${s.description}`,
      suggestion: 'remove it, rotate it, and load it from the environment or a secret store',
    });
  }
  const longAt = rawLines.findIndex((l) => l.length > MAX_LINE_LENGTH);
  if (longAt !== -1) {
    const count = rawLines.filter((l) => l.length > MAX_LINE_LENGTH).length;
    issues.push({
      category: 'maintainability',
      severity: 'info',
      file: path,
      line: longAt + 1,
      message: `${count} line(s) longer than ${MAX_LINE_LENGTH} characters`,
      suggestion: 'break long expressions over several lines',
    });
  }
  const metrics = measure(text, language);
  if (metrics.maxDepth > MAX_DEPTH) {
    const depthLine = deepestLine(code, language, MAX_DEPTH + 1);
    issues.push({
      category: 'complexity',
      severity: 'warning',
      file: path,
      line: depthLine,
      message: `blocks nested ${metrics.maxDepth} levels deep (more than ${MAX_DEPTH})`,
      suggestion: 'return early, or extract the inner blocks into functions',
    });
  }
  if (metrics.decisions > MAX_DECISIONS) {
    issues.push({
      category: 'complexity',
      severity: 'warning',
      file: path,
      line: 1,
      message: `${metrics.decisions} decision points in one file (more than ${MAX_DECISIONS})`,
      suggestion: 'split the file or simplify its conditions',
    });
  }
  if (language !== 'other' && !test && !hasTest) {
    issues.push({
      category: 'testing',
      severity: 'warning',
      file: path,
      line: 1,
      message: 'no test file for this source file',
      suggestion: 'add a test next to the existing ones (e.g. name.test.js, test_name.py, name_test.go)',
    });
  }
  return { issues, metrics };
}

/** The first line at which block nesting reaches `depth`. */
function deepestLine(code: string, language: Language, depth: number): number {
  const lines = code.split('\n');
  if (language === 'py') {
    const at = lines.findIndex(
      (l) => l.trim() !== '' && Math.floor((/^ */.exec(l)?.[0].length ?? 0) / 4) >= depth,
    );
    return at + 1;
  }
  let d = 0;
  for (let i = 0; i < lines.length; i++) {
    for (const ch of lines[i] ?? '') {
      if (ch === '{' && ++d >= depth) return i + 1;
      if (ch === '}') d = Math.max(0, d - 1);
    }
  }
  return 1;
}

/** True when `paths` holds a test file for `source` (name.test.ext, name.spec.ext, test_name.py, name_test.*). */
export function hasTestFor(source: string, paths: readonly string[]): boolean {
  const file = source.slice(source.lastIndexOf('/') + 1);
  const stem = file.replace(/\.[^.]+$/, '');
  const candidates = [`${stem}.test.`, `${stem}.spec.`, `test_${stem}.`, `${stem}_test.`];
  return paths.some((p) => {
    const name = p.slice(p.lastIndexOf('/') + 1);
    return p !== source && candidates.some((c) => name.startsWith(c));
  });
}
