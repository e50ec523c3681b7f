// Sensitive values: those a schema marks `x-paddock-sensitive: true` (docs/agent-authors.md#sensitive-fields),
// and those of secret environment variables. The SDK never prints them: logs and failure messages go
// through a Scrubber that replaces every known secret by "[REDACTED]". Pure.

export const SENSITIVE_KEYWORD = 'x-paddock-sensitive';
export const REDACTED = '[REDACTED]';
/** A path segment that stands for any array index or object key. */
const ANY = '*';
/** How often one $ref is followed along a path before a recursive schema is cut short (fail closed). */
const MAX_REF_EXPANSIONS = 8;

type JsonObject = { [k: string]: unknown };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function escapeSegment(s: string): string {
  return s.replaceAll('~', '~0').replaceAll('/', '~1');
}

function unescapeSegment(s: string): string {
  return s.replaceAll('~1', '/').replaceAll('~0', '~');
}

function resolveLocalRef(root: JsonObject, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const pointer = decodeURIComponent(ref.slice(1));
  if (pointer === '') return root;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = root;
  for (const seg of pointer.slice(1).split('/').map(unescapeSegment)) {
    if (Array.isArray(node)) node = node[Number(seg)] as unknown;
    else if (isObject(node)) node = node[seg];
    else return undefined;
  }
  return node;
}

function mentionsSensitive(node: unknown): boolean {
  if (Array.isArray(node)) return node.some((n: unknown) => mentionsSensitive(n));
  if (!isObject(node)) return false;
  return node[SENSITIVE_KEYWORD] === true || Object.values(node).some((n) => mentionsSensitive(n));
}

function collect(
  root: JsonObject,
  node: unknown,
  path: string[],
  out: string[][],
  refs: Map<string, number>,
): void {
  if (!isObject(node)) return;
  if (node[SENSITIVE_KEYWORD] === true) {
    out.push(path);
    return; // hidden whole
  }
  const ref = node['$ref'];
  if (typeof ref === 'string') {
    const target = resolveLocalRef(root, ref);
    const seen = refs.get(ref) ?? 0;
    if (seen >= MAX_REF_EXPANSIONS) {
      if (mentionsSensitive(target)) out.push(path);
    } else {
      refs.set(ref, seen + 1);
      collect(root, target, path, out, refs);
      refs.set(ref, seen);
    }
  }
  const props = node['properties'];
  if (isObject(props))
    for (const [k, sub] of Object.entries(props)) collect(root, sub, [...path, k], out, refs);
  const patternProps = node['patternProperties'];
  if (isObject(patternProps))
    for (const sub of Object.values(patternProps)) collect(root, sub, [...path, ANY], out, refs);
  for (const key of [
    'additionalProperties',
    'unevaluatedProperties',
    'additionalItems',
    'unevaluatedItems',
  ]) {
    collect(root, node[key], [...path, ANY], out, refs);
  }
  const items = node['items'];
  if (Array.isArray(items))
    items.forEach((sub: unknown, i) => collect(root, sub, [...path, String(i)], out, refs));
  else collect(root, items, [...path, ANY], out, refs);
  const prefixItems = node['prefixItems'];
  if (Array.isArray(prefixItems)) {
    prefixItems.forEach((sub: unknown, i) => collect(root, sub, [...path, String(i)], out, refs));
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const branches = node[key];
    if (Array.isArray(branches)) for (const sub of branches as unknown[]) collect(root, sub, path, out, refs);
  }
  for (const key of ['if', 'then', 'else']) collect(root, node[key], path, out, refs);
}

/**
 * The paths (as segment lists, `*` = any key or index) a schema marks sensitive. Follows properties,
 * items, prefixItems, additional/pattern properties, allOf/anyOf/oneOf, if/then/else and local $refs,
 * like the operator. `[[]]` means the whole value.
 */
export function sensitivePaths(schema: unknown): string[][] {
  if (!isObject(schema)) return [];
  const out: string[][] = [];
  collect(schema, schema, [], out, new Map());
  return out;
}

/** Every value of `data` that sits at one of `paths` (a sensitive object or array counts whole). */
export function valuesAt(data: unknown, paths: readonly (readonly string[])[]): unknown[] {
  const out: unknown[] = [];
  const walk = (value: unknown, path: readonly string[], i: number): void => {
    if (i === path.length) {
      out.push(value);
      return;
    }
    const seg = path[i]!;
    if (Array.isArray(value)) {
      if (seg === ANY) value.forEach((v: unknown) => walk(v, path, i + 1));
      else if (/^\d+$/.test(seg) && Number(seg) < value.length) walk(value[Number(seg)], path, i + 1);
    } else if (isObject(value)) {
      if (seg === ANY) for (const v of Object.values(value)) walk(v, path, i + 1);
      else if (Object.hasOwn(value, seg)) walk(value[seg], path, i + 1);
    }
  };
  for (const p of paths) walk(data, p, 0);
  return out;
}

/** The sensitive values of `data` under `schema`, as the strings a Scrubber hides. */
export function sensitiveStrings(data: unknown, schema: unknown): string[] {
  const out: string[] = [];
  const leaves = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
    else if (Array.isArray(v)) v.forEach((x: unknown) => leaves(x));
    else if (isObject(v)) {
      // Keys of a sensitive object are as secret as its values.
      for (const [k, x] of Object.entries(v)) {
        out.push(k);
        leaves(x);
      }
    }
  };
  for (const v of valuesAt(data, sensitivePaths(schema))) leaves(v);
  return out;
}

/**
 * A JSON pointer safe to show: cut at the first sensitive value it reaches (what follows would be
 * keys of that value's own data), with segments matched by `*` shown as `*`.
 */
export function safePointer(pointer: string, schema: unknown): string {
  const paths = sensitivePaths(schema);
  if (paths.some((p) => p.length === 0)) return '';
  if (pointer === '') return '';
  const segments = pointer.slice(1).split('/').map(unescapeSegment);
  for (const p of paths) {
    if (p.length > segments.length) continue;
    if (p.every((w, i) => w === ANY || w === segments[i])) {
      return '/' + p.map((w, i) => (w === ANY ? ANY : escapeSegment(segments[i]!))).join('/');
    }
  }
  return pointer;
}

/** Environment variable names that look like they hold secrets (a Secret's value reaches an agent only as env). */
const SECRET_ENV_NAME =
  /TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|AUTH|COOKIE|SESSION/i;

/** Values of the environment variables that hold secrets: those listed, and those whose names look secret. */
export function secretEnvValues(env: NodeJS.ProcessEnv, listed: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '' || name.startsWith('PADDOCK_')) continue;
    if (listed.includes(name) || SECRET_ENV_NAME.test(name)) out.push(value);
  }
  return out;
}

/** Secrets shorter than this are hidden only where a whole string equals them: as substrings they would match everywhere. */
export const MIN_SUBSTRING_SECRET = 4;

/**
 * Replaces known secret values in text and in JSON-like data. Secrets are added as they become known
 * (environment at start, sensitive inputs after parsing, sensitive outputs after run()).
 */
export class Scrubber {
  readonly #exact = new Set<string>();
  #substrings: string[] = [];

  add(values: Iterable<string>): void {
    let changed = false;
    for (const v of values) {
      if (v === '' || this.#exact.has(v)) continue;
      this.#exact.add(v);
      changed = true;
    }
    if (changed) {
      // Longest first, so a secret that contains another is replaced whole.
      this.#substrings = [...this.#exact]
        .filter((v) => v.length >= MIN_SUBSTRING_SECRET)
        .sort((a, b) => b.length - a.length);
    }
  }

  text(s: string): string {
    if (this.#exact.has(s)) return REDACTED;
    let out = s;
    for (const secret of this.#substrings) if (out.includes(secret)) out = out.replaceAll(secret, REDACTED);
    return out;
  }

  /** A JSON-safe copy of `value` with secrets replaced in strings, keys and numbers. */
  data(value: unknown, seen: Set<object> = new Set()): unknown {
    if (typeof value === 'string') return this.text(value);
    if (typeof value === 'number' || typeof value === 'boolean') {
      return this.#exact.has(String(value)) ? REDACTED : value;
    }
    if (typeof value === 'bigint') return this.text(String(value));
    if (value === null || value === undefined) return value ?? null;
    if (typeof value !== 'object') return `[${typeof value}]`;
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    try {
      if (value instanceof Error) return { name: value.name, message: this.text(value.message) };
      if (Array.isArray(value)) return value.map((v: unknown) => this.data(v, seen));
      const out: JsonObject = {};
      for (const [k, v] of Object.entries(value)) out[this.text(k)] = this.data(v, seen);
      return out;
    } finally {
      seen.delete(value);
    }
  }
}
