// The CRD schemas as the operator uses them at run time:
// - crdSchema(kind): the openAPIV3Schema of each CRD in crds/ (the single source of truth);
// - validateAgent/validateWorkflow/validateApproval: ajv validators built from those schemas;
// - compileUserSchema: compiles the JSON Schemas users write in Agent inputsSchema/outputsSchema;
// - sensitivePaths/redact: find and hide the values marked `x-paddock-sensitive: true`.
//
// What ajv does not check: the CEL rules (x-kubernetes-validations). Only the API server runs them;
// the validators here catch structural mistakes (types, bounds, patterns, enums, unknown fields).
//
// User schemas validate data the operator does not control (rendered inputs, agents' outputs) on its
// only thread, so nothing in them may take more than linear time in the data: `pattern` and
// `patternProperties` run on RE2 (@bufbuild/re2), not on JavaScript's backtracking RegExp;
// `uniqueItems` compares canonical JSON texts in a Set instead of every pair of items; the `url`
// format, quadratic in ajv-formats, refuses strings longer than MAX_URL_FORMAT_LENGTH
// (docs/agent-authors.md#regular-expressions-and-formats).

import { readFileSync } from 'node:fs';
import { RE2JS } from '@bufbuild/re2';
import {
  Ajv,
  type AnySchema,
  type ErrorObject,
  type Options as AjvOptions,
  type ValidateFunction,
} from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { API_VERSION, SENSITIVE_KEYWORD, VERSION } from './constants.ts';
import { errorMessage } from '../util/errors.ts';
import { deepFreeze } from '../util/freeze.ts';

export type PaddockKind = 'Agent' | 'Workflow' | 'Approval';
export const PADDOCK_KINDS: readonly PaddockKind[] = ['Agent', 'Workflow', 'Approval'];

/** File name of each CRD in the repository's crds/ folder. */
export const CRD_FILES: Readonly<Record<PaddockKind, string>> = {
  Agent: 'agents.paddock.dev.yaml',
  Workflow: 'workflows.paddock.dev.yaml',
  Approval: 'approvals.paddock.dev.yaml',
};

/** The crds/ folder, found relative to this file (operator/src/api/ -> repository root). */
export const CRDS_DIR_URL = new URL('../../../crds/', import.meta.url);

export type JsonObject = { [k: string]: unknown };

/** One validation problem. `path` is a JSON pointer (RFC 6901) into the validated value, '' for the root. */
export interface FieldError {
  path: string;
  message: string;
}

export type ValidationResult = { ok: true } | { ok: false; errors: FieldError[] };

/** The string that replaces every sensitive value. */
export const REDACTED = '[REDACTED]';

const OK: ValidationResult = Object.freeze({ ok: true });

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Escapes one JSON pointer segment (RFC 6901: `~` -> `~0`, `/` -> `~1`). */
export function escapePointerSegment(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

// ---------------------------------------------------------------------------------------------
// CRD schemas

const crdCache = new Map<PaddockKind, JsonObject>();

/** The parsed CustomResourceDefinition of `kind` (deep-frozen; clone it before changing it). */
export function crdDocument(kind: PaddockKind): JsonObject {
  const cached = crdCache.get(kind);
  if (cached) return cached;
  const url = new URL(CRD_FILES[kind], CRDS_DIR_URL);
  const parsed: unknown = parseYaml(readFileSync(url, 'utf8'));
  if (!isJsonObject(parsed) || parsed['kind'] !== 'CustomResourceDefinition') {
    throw new Error(`${url.pathname}: not a CustomResourceDefinition`);
  }
  const doc = deepFreeze(parsed);
  crdCache.set(kind, doc);
  return doc;
}

/** The openAPIV3Schema of the served version of `kind` (deep-frozen). */
export function crdSchema(kind: PaddockKind): JsonObject {
  const spec = crdDocument(kind)['spec'];
  const versions = isJsonObject(spec) ? spec['versions'] : undefined;
  if (Array.isArray(versions)) {
    for (const v of versions as unknown[]) {
      if (!isJsonObject(v) || v['name'] !== VERSION) continue;
      const schema = v['schema'];
      const openapi = isJsonObject(schema) ? schema['openAPIV3Schema'] : undefined;
      if (isJsonObject(openapi)) return openapi;
    }
  }
  throw new Error(`CRD of ${kind} has no openAPIV3Schema for version ${VERSION}`);
}

/**
 * Converts a Kubernetes structural schema to a JSON Schema ajv validates like the API server does
 * (apart from CEL): `x-kubernetes-int-or-string` becomes `type: [integer, string]`; objects with declared
 * properties and without `x-kubernetes-preserve-unknown-fields` refuse unknown fields (as kubectl's
 * strict field validation does); the other `x-kubernetes-*` keywords are dropped. Pure.
 */
export function toValidationSchema(schema: unknown, isRoot = true): unknown {
  if (Array.isArray(schema)) return schema.map((s: unknown) => toValidationSchema(s, false));
  if (!isJsonObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties' && isJsonObject(value)) {
      const props: JsonObject = {};
      for (const [name, sub] of Object.entries(value)) {
        const converted = toValidationSchema(sub, false);
        // metadata is the API server's: the schema only restricts name, every other field is allowed.
        props[name] =
          isRoot && name === 'metadata' && isJsonObject(converted) ? openObject(converted) : converted;
      }
      out[key] = props;
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = toValidationSchema(value, false);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = toValidationSchema(value, false);
    } else {
      out[key] = value;
    }
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    // One type check with one clear error, instead of anyOf [{type: integer}, {type: string}].
    delete out['anyOf'];
    out['type'] = ['integer', 'string'];
  }
  if (
    isJsonObject(schema['properties']) &&
    schema['x-kubernetes-preserve-unknown-fields'] !== true &&
    schema['additionalProperties'] === undefined
  ) {
    out['additionalProperties'] = false;
  }
  return out;
}

function openObject(schema: JsonObject): JsonObject {
  const { additionalProperties: _ignored, ...rest } = schema;
  return rest;
}

const addFormats = addFormatsModule.default;

function newAjv(options: AjvOptions): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, ...options });
  addFormats(ajv);
  return ajv;
}

let crdAjv: Ajv | undefined;
const crdValidators = new Map<PaddockKind, ValidateFunction>();

function crdValidator(kind: PaddockKind): ValidateFunction {
  let validate = crdValidators.get(kind);
  if (!validate) {
    crdAjv ??= newAjv({});
    validate = crdAjv.compile(toValidationSchema(crdSchema(kind)) as JsonObject);
    crdValidators.set(kind, validate);
  }
  return validate;
}

function toFieldErrors(errors: readonly ErrorObject[]): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const params: Record<string, unknown> = e.params;
    let path = e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required' && typeof params['missingProperty'] === 'string') {
      path += `/${escapePointerSegment(params['missingProperty'])}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') {
      path += `/${escapePointerSegment(params['additionalProperty'])}`;
      message = 'is not a known field';
    } else if (e.keyword === 'enum' && Array.isArray(params['allowedValues'])) {
      message = `must be one of: ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}

function validateKind(kind: PaddockKind, object: unknown): ValidationResult {
  const errors: FieldError[] = [];
  if (isJsonObject(object)) {
    const { apiVersion, kind: objectKind } = object;
    if (apiVersion !== undefined && apiVersion !== API_VERSION) {
      errors.push({ path: '/apiVersion', message: `must be ${API_VERSION}` });
    }
    if (objectKind !== undefined && objectKind !== kind) {
      errors.push({ path: '/kind', message: `must be ${kind}` });
    }
  }
  const validate = crdValidator(kind);
  if (!validate(object)) errors.push(...toFieldErrors(validate.errors ?? []));
  return errors.length === 0 ? OK : { ok: false, errors };
}

/** Validates an Agent against its CRD schema (not the CEL rules: only the API server runs those). */
export function validateAgent(object: unknown): ValidationResult {
  return validateKind('Agent', object);
}

/** Validates a Workflow against its CRD schema (not the CEL rules: only the API server runs those). */
export function validateWorkflow(object: unknown): ValidationResult {
  return validateKind('Workflow', object);
}

/** Validates an Approval against its CRD schema (not the CEL rules: only the API server runs those). */
export function validateApproval(object: unknown): ValidationResult {
  return validateKind('Approval', object);
}

// ---------------------------------------------------------------------------------------------
// User schemas (Agent inputsSchema / outputsSchema)

export type UserSchemaValidator = (value: unknown) => ValidationResult;
export type CompiledUserSchema = { ok: true; validate: UserSchemaValidator } | { ok: false; error: string };

const DRAFT_2020 = 'https://json-schema.org/draft/2020-12/schema';
const DRAFT_07 = 'http://json-schema.org/draft-07/schema';

/**
 * The longest string the `url` format checks: ajv-formats' url expression takes time quadratic in the
 * string (measured 2.6 s for 48,000 characters), and browsers and servers refuse URLs far shorter.
 */
export const MAX_URL_FORMAT_LENGTH = 2048;

/** ajv's interface for a regular-expression engine (Options.code.regExp). */
type RegExpEngine = NonNullable<NonNullable<AjvOptions['code']>['regExp']>;

/**
 * ECMAScript's `\uXXXX` and `\u{X...}` escapes in RE2's spelling (`\x{XXXX}`), so that the usual
 * JSON Schema patterns compile; everything else is left as written. Linear.
 */
export function toRe2Syntax(pattern: string): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c !== '\\' || i + 1 >= pattern.length) {
      out += c;
      i++;
      continue;
    }
    if (pattern[i + 1] === 'u') {
      const four = /^[0-9A-Fa-f]{4}$/.test(pattern.slice(i + 2, i + 6))
        ? pattern.slice(i + 2, i + 6)
        : undefined;
      if (four !== undefined) {
        out += `\\x{${four}}`;
        i += 6;
        continue;
      }
      const close = pattern[i + 2] === '{' ? pattern.indexOf('}', i + 3) : -1;
      if (close > i + 3 && close <= i + 9 && /^[0-9A-Fa-f]+$/.test(pattern.slice(i + 3, close))) {
        out += `\\x{${pattern.slice(i + 3, close)}}`;
        i = close + 1;
        continue;
      }
    }
    out += pattern.slice(i, i + 2);
    i += 2;
  }
  return out;
}

/** ajv's regular-expression engine for user schemas: RE2, linear in the text. */
const re2Engine: RegExpEngine = Object.assign(
  (pattern: string): { test: (s: string) => boolean; toString: () => string } => {
    const re = RE2JS.compile(toRe2Syntax(pattern));
    // ajv keys compiled patterns by toString(): one per pattern text.
    return { test: (s: string) => re.test(s), toString: () => `re2:${pattern}` };
  },
  { code: 'paddockRe2' },
);

/** Why RE2 cannot run `pattern`, or undefined when it can. */
function re2Problem(pattern: string): string | undefined {
  try {
    RE2JS.compile(toRe2Syntax(pattern));
    return undefined;
  } catch (err) {
    const detail = errorMessage(err).replace(/^error parsing regexp: /, '');
    return detail;
  }
}

/** Keywords whose values are data, not schemas: a "pattern" key inside them is not the keyword. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example']);

/**
 * Every `pattern` and `patternProperties` pattern of a schema that RE2 cannot run, as messages that
 * name the keyword, its JSON pointer and the pattern (the schema's own text).
 */
function nonRe2Patterns(node: unknown, pointer: string, out: string[]): string[] {
  if (Array.isArray(node)) {
    node.forEach((x: unknown, i) => nonRe2Patterns(x, `${pointer}/${i}`, out));
    return out;
  }
  if (!isJsonObject(node)) return out;
  const advice =
    'user schemas are matched with RE2 (linear time): RE2 syntax is required, without backreferences or lookaround';
  const pattern = node['pattern'];
  if (typeof pattern === 'string') {
    const problem = re2Problem(pattern);
    if (problem)
      out.push(`${pointer}/pattern: ${JSON.stringify(pattern)} is not RE2 syntax (${problem}); ${advice}`);
  }
  const patternProps = node['patternProperties'];
  if (isJsonObject(patternProps)) {
    for (const key of Object.keys(patternProps)) {
      const problem = re2Problem(key);
      if (problem)
        out.push(
          `${pointer}/patternProperties: ${JSON.stringify(key)} is not RE2 syntax (${problem}); ${advice}`,
        );
    }
  }
  for (const [key, value] of Object.entries(node)) {
    if (!DATA_KEYWORDS.has(key)) nonRe2Patterns(value, `${pointer}/${escapePointerSegment(key)}`, out);
  }
  return out;
}

/** A canonical JSON text of a value: object keys sorted, so equal JSON values give equal texts. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x: unknown) => canonicalJson(x)).join(',')}]`;
  if (isJsonObject(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * `uniqueItems` in linear time (ajv's compares every pair of non-scalar items: 21 s for 32,000
 * objects): items are equal as JSON values exactly when their canonical texts are.
 */
function uniqueItemsKeyword(ajv: Ajv | Ajv2020): void {
  ajv.removeKeyword('uniqueItems');
  const validate = (unique: boolean, data: unknown[]): boolean => {
    if (!unique) return true;
    const seen = new Set<string>();
    for (const item of data) {
      const text = canonicalJson(item);
      if (seen.has(text)) {
        validate.errors = [{ keyword: 'uniqueItems', message: 'must NOT have duplicate items', params: {} }];
        return false;
      }
      seen.add(text);
    }
    return true;
  };
  validate.errors = [] as Partial<ErrorObject>[];
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate });
}

/** The `url` format, refusing strings longer than MAX_URL_FORMAT_LENGTH before its quadratic check. */
function boundedUrlFormat(ajv: Ajv | Ajv2020): void {
  const check = formatCheck(ajv.formats['url']);
  if (check === undefined) return;
  ajv.addFormat('url', {
    type: 'string',
    validate: (s: string) => s.length <= MAX_URL_FORMAT_LENGTH && check(s),
  });
}

/** A format as ajv-formats adds it (a RegExp, a function or {validate}), as a function. */
function formatCheck(format: unknown): ((s: string) => boolean) | undefined {
  if (format instanceof RegExp) return (s) => format.test(s);
  if (typeof format === 'function') return (s) => (format as (s: string) => unknown)(s) === true;
  if (isJsonObject(format)) return formatCheck(format['validate']);
  return undefined;
}

function userAjv<T extends Ajv | Ajv2020>(ajv: T): T {
  // Annotation only: it never fails validation, but its value must be a boolean.
  ajv.addKeyword({ keyword: SENSITIVE_KEYWORD, schemaType: 'boolean' });
  addFormats(ajv);
  boundedUrlFormat(ajv);
  uniqueItemsKeyword(ajv);
  return ajv;
}

const USER_AJV_OPTIONS = { strict: false, allErrors: true, code: { regExp: re2Engine } } as const;

let userAjv2020: Ajv2020 | undefined;
let userAjv07: Ajv | undefined;

function userAjvFor(schema: JsonObject): Ajv | Ajv2020 | string {
  const declared = schema['$schema'];
  if (declared === undefined) {
    return (userAjv2020 ??= userAjv(new Ajv2020(USER_AJV_OPTIONS)));
  }
  const normalized = typeof declared === 'string' ? declared.replace(/#$/, '') : '';
  if (normalized === DRAFT_2020) {
    return (userAjv2020 ??= userAjv(new Ajv2020(USER_AJV_OPTIONS)));
  }
  if (normalized === DRAFT_07 || normalized === DRAFT_07.replace('http:', 'https:')) {
    return (userAjv07 ??= userAjv(new Ajv(USER_AJV_OPTIONS)));
  }
  return `unsupported $schema ${JSON.stringify(declared)}: use ${DRAFT_2020} (the default when $schema is left out) or ${DRAFT_07}#`;
}

const USER_CACHE_LIMIT = 512;
const userCacheByObject = new WeakMap<object, CompiledUserSchema>();
const userCacheByJson = new Map<string, CompiledUserSchema>();

/**
 * The largest user schema compiled: ajv generates code for every node, about 25 µs each on the
 * operator's thread (a schema of 4,000 nodes compiles in about 100 ms, once), and several walks
 * over a schema recurse. Larger or deeper schemas are refused with a message saying which bound.
 */
export const MAX_USER_SCHEMA_NODES = 4_000;
export const MAX_USER_SCHEMA_DEPTH = 64;

/** Why a user schema is too large or too deep to handle, or undefined. Iterative: any depth is safe. */
export function userSchemaTooComplex(schema: unknown): string | undefined {
  let nodes = 0;
  const stack: Array<{ v: unknown; depth: number }> = [{ v: schema, depth: 1 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (++nodes > MAX_USER_SCHEMA_NODES)
      return `the schema has more than ${MAX_USER_SCHEMA_NODES} JSON values (keywords, values and subschemas); split or simplify it`;
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_USER_SCHEMA_DEPTH)
      return `the schema nests deeper than ${MAX_USER_SCHEMA_DEPTH} levels of JSON; use $defs and $ref for recursive shapes`;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push({ v: child, depth: depth + 1 });
  }
  return undefined;
}

function compileUncached(schema: unknown): CompiledUserSchema {
  if (!isJsonObject(schema)) {
    return {
      ok: false,
      error: 'the schema must be a JSON object, e.g. {"type": "object", "properties": {...}}',
    };
  }
  const tooComplex = userSchemaTooComplex(schema);
  if (tooComplex) return { ok: false, error: tooComplex };
  const ajv = userAjvFor(schema);
  if (typeof ajv === 'string') return { ok: false, error: ajv };
  if (!ajv.validateSchema(schema, false)) {
    const problems = (ajv.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    return { ok: false, error: `not a valid JSON Schema: ${problems.join('; ')}` };
  }
  const patterns = nonRe2Patterns(schema, '', []);
  if (patterns.length > 0) return { ok: false, error: patterns.join('; ') };
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema as AnySchema);
  } catch (err) {
    return {
      ok: false,
      error: `cannot compile the JSON Schema: ${errorMessage(err)}`,
    };
  } finally {
    // The validate function stands on its own; dropping the schema from ajv's registry keeps memory
    // bounded by our cache and lets another schema reuse the same $id.
    ajv.removeSchema(schema);
  }
  return {
    ok: true,
    validate: (value: unknown): ValidationResult =>
      validate(value) ? OK : { ok: false, errors: toFieldErrors(validate.errors ?? []) },
  };
}

/**
 * Compiles a JSON Schema written by a user (an Agent's inputsSchema or outputsSchema). Draft 2020-12
 * unless `$schema` names draft-07. Results are cached by object identity and by content. Returns a
 * validator, or a message saying what is wrong with the schema.
 */
export function compileUserSchema(schema: unknown): CompiledUserSchema {
  const isObj = typeof schema === 'object' && schema !== null;
  if (isObj) {
    const hit = userCacheByObject.get(schema);
    if (hit) return hit;
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(schema);
  } catch {
    json = undefined;
  }
  let result = json === undefined ? undefined : userCacheByJson.get(json);
  if (result && json !== undefined) {
    // refresh LRU position
    userCacheByJson.delete(json);
    userCacheByJson.set(json, result);
  } else {
    result = compileUncached(schema);
    if (json !== undefined) {
      userCacheByJson.set(json, result);
      if (userCacheByJson.size > USER_CACHE_LIMIT) {
        const oldest = userCacheByJson.keys().next();
        if (!oldest.done) userCacheByJson.delete(oldest.value);
      }
    }
  }
  if (isObj) userCacheByObject.set(schema, result);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Sensitive fields

/** Segment of a sensitive path that matches any array index or any object key. */
export const ANY_SEGMENT = '*';

function resolveLocalRef(root: JsonObject, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const pointer = decodeURIComponent(ref.slice(1));
  if (pointer === '') return root;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) node = node[Number(seg)] as unknown;
    else if (isJsonObject(node)) node = node[seg];
    else return undefined;
  }
  return node;
}

/** How often one $ref is followed along a path before a recursive schema is cut short. */
export const MAX_REF_EXPANSIONS = 8;

function containsSensitive(node: unknown): boolean {
  if (Array.isArray(node)) return node.some((n: unknown) => containsSensitive(n));
  if (!isJsonObject(node)) return false;
  if (node[SENSITIVE_KEYWORD] === true) return true;
  return Object.values(node).some((n) => containsSensitive(n));
}

function collectSensitive(
  root: JsonObject,
  node: unknown,
  pointer: string,
  out: Set<string>,
  activeRefs: Map<string, number>,
): void {
  if (!isJsonObject(node)) return;
  if (node[SENSITIVE_KEYWORD] === true) {
    out.add(pointer);
    return; // the whole value is hidden; nothing below matters
  }
  const ref = node['$ref'];
  if (typeof ref === 'string') {
    const target = resolveLocalRef(root, ref);
    const expansions = activeRefs.get(ref) ?? 0;
    if (expansions >= MAX_REF_EXPANSIONS) {
      // A recursive schema nested this deep: fail closed, hide the whole value if anything below may be sensitive.
      if (containsSensitive(target)) out.add(pointer);
    } else {
      activeRefs.set(ref, expansions + 1);
      collectSensitive(root, target, pointer, out, activeRefs);
      activeRefs.set(ref, expansions);
    }
  }
  const props = node['properties'];
  if (isJsonObject(props)) {
    for (const [name, sub] of Object.entries(props)) {
      collectSensitive(root, sub, `${pointer}/${escapePointerSegment(name)}`, out, activeRefs);
    }
  }
  const patternProps = node['patternProperties'];
  if (isJsonObject(patternProps)) {
    for (const sub of Object.values(patternProps)) {
      collectSensitive(root, sub, `${pointer}/${ANY_SEGMENT}`, out, activeRefs);
    }
  }
  for (const key of [
    'additionalProperties',
    'unevaluatedProperties',
    'additionalItems',
    'unevaluatedItems',
  ]) {
    collectSensitive(root, node[key], `${pointer}/${ANY_SEGMENT}`, out, activeRefs);
  }
  const items = node['items'];
  if (Array.isArray(items)) {
    items.forEach((sub: unknown, i) => collectSensitive(root, sub, `${pointer}/${i}`, out, activeRefs));
  } else {
    collectSensitive(root, items, `${pointer}/${ANY_SEGMENT}`, out, activeRefs);
  }
  const prefixItems = node['prefixItems'];
  if (Array.isArray(prefixItems)) {
    prefixItems.forEach((sub: unknown, i) => collectSensitive(root, sub, `${pointer}/${i}`, out, activeRefs));
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const branches = node[key];
    if (Array.isArray(branches)) {
      for (const sub of branches as unknown[]) collectSensitive(root, sub, pointer, out, activeRefs);
    }
  }
  for (const key of ['if', 'then', 'else']) collectSensitive(root, node[key], pointer, out, activeRefs);
}

const sensitiveCache = new WeakMap<object, readonly string[]>();

/**
 * JSON pointers of the values a schema marks `x-paddock-sensitive: true`, sorted. Follows properties,
 * items, additional/pattern properties, allOf/anyOf/oneOf, if/then/else and local $refs. A `*` segment
 * stands for any array index or any object key (e.g. `/credentials/*\/password`); '' means the whole
 * value. Conservative: a value that may match a sensitive subschema is reported, and a recursive schema
 * is unrolled MAX_REF_EXPANSIONS times, below which a subtree that may hold sensitive values is hidden
 * whole.
 */
export function sensitivePaths(schema: unknown): readonly string[] {
  if (!isJsonObject(schema)) return [];
  const cached = sensitiveCache.get(schema);
  if (cached) return cached;
  if (userSchemaTooComplex(schema) !== undefined) {
    // Too large to walk safely (such an Agent is not Ready anyway): fail closed, all of it is sensitive.
    const all = Object.freeze(['']);
    sensitiveCache.set(schema, all);
    return all;
  }
  const out = new Set<string>();
  collectSensitive(schema, schema, '', out, new Map());
  const result = Object.freeze([...out].sort());
  sensitiveCache.set(schema, result);
  return result;
}

interface PathTrie {
  terminal: boolean;
  children: Map<string, PathTrie>;
}

function buildTrie(paths: readonly string[]): PathTrie {
  const root: PathTrie = { terminal: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    const segments = path === '' ? [] : path.slice(1).split('/');
    for (const raw of segments) {
      const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
      let child = node.children.get(seg);
      if (!child) {
        child = { terminal: false, children: new Map() };
        node.children.set(seg, child);
      }
      node = child;
    }
    node.terminal = true;
  }
  return root;
}

function childNodes(nodes: readonly PathTrie[], key: string): PathTrie[] {
  const out: PathTrie[] = [];
  for (const n of nodes) {
    const exact = n.children.get(key);
    if (exact) out.push(exact);
    const any = key === ANY_SEGMENT ? undefined : n.children.get(ANY_SEGMENT);
    if (any) out.push(any);
  }
  return out;
}

function redactWith(value: unknown, nodes: readonly PathTrie[]): unknown {
  if (nodes.some((n) => n.terminal)) return REDACTED;
  if (Array.isArray(value)) {
    return value.map((item: unknown, i) => {
      const next = childNodes(nodes, String(i));
      return next.length === 0 ? structuredClone(item) : redactWith(item, next);
    });
  }
  if (isJsonObject(value)) {
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      const next = childNodes(nodes, key);
      out[key] = next.length === 0 ? structuredClone(item) : redactWith(item, next);
    }
    return out;
  }
  return value;
}

/**
 * A copy of `value` in which every value the schema marks `x-paddock-sensitive: true` is replaced by
 * "[REDACTED]". Pure: `value` is not changed, and the result shares nothing with it.
 */
export function redact<T>(value: T, schema: unknown): T {
  const paths = sensitivePaths(schema);
  if (paths.length === 0) return structuredClone(value);
  return redactWith(value, [buildTrie(paths)]) as T;
}

/**
 * A validation error's JSON pointer, safe to show: cut at the first sensitive value it reaches
 * (the pointer may go on with keys of that value's own data, which are as secret as the value).
 * Segments a sensitive path matches with `*` are shown as `*`.
 */
export function safeErrorPath(path: string, schema: unknown): string {
  const sensitive = sensitivePaths(schema);
  if (sensitive.length === 0 || path === '') return sensitive.includes('') ? '' : path;
  const segments = path.slice(1).split('/');
  for (const p of sensitive) {
    if (p === '') return '';
    const want = p.slice(1).split('/');
    if (want.length > segments.length) continue;
    if (want.every((w, i) => w === ANY_SEGMENT || w === segments[i]))
      return '/' + want.map((w, i) => (w === ANY_SEGMENT ? ANY_SEGMENT : segments[i])).join('/');
  }
  return path;
}
