// Generates the TypeScript types of the Paddock API from the CRD schemas in crds/ (the single
// source of truth) into operator/src/api/generated/.
//
//   node operator/hack/generate-types.ts            write the files (what `make generate` runs)
//   node operator/hack/generate-types.ts --check    exit 1, listing stale files, if the committed
//                                                   output differs from what the CRDs give
//   --out-dir DIR                                   write/check DIR instead of the default
//
// Each CRD's openAPIV3Schema is translated to plain JSON Schema first: x-kubernetes-int-or-string
// becomes `number | string`, objects with x-kubernetes-preserve-unknown-fields get a
// `[k: string]: unknown` index signature, `metadata` is the hand-written ObjectMeta (required, as on
// every object the API server returns), and the other
// Kubernetes keywords (CEL rules, list types, defaults, bounds) are dropped: they constrain values, not
// shapes. Subschemas get friendly names from the tables below; types that appear in several CRDs
// (Condition, RetryPolicy, Backoff, Approvers, AgentApprovalPolicy) are emitted once, in common.ts, after checking that
// every CRD declares them with the same shape.

import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import { crdSchema, CRD_FILES, isJsonObject, type JsonObject, type PaddockKind } from '../src/api/schemas.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HERE, '../..');
export const DEFAULT_OUT_DIR = join(REPO_ROOT, 'operator/src/api/generated');

/** Friendly type names, by path in the schema: property names joined by '.', '[]' for array items. */
const TITLES: Readonly<Record<PaddockKind, Readonly<Record<string, string>>>> = {
  Agent: {
    '': 'Agent',
    spec: 'AgentSpec',
    status: 'AgentStatus',
    'spec.env[]': 'EnvVar',
    'spec.riskLevel': 'RiskLevel',
    'spec.inputsSchema': 'JsonSchemaObject',
    'spec.outputsSchema': 'JsonSchemaObject',
    'spec.resources': 'ResourceRequirements',
    'spec.retries': 'RetryPolicy',
    'spec.retries.backoff': 'Backoff',
    'spec.egress[]': 'EgressRule',
    'spec.secrets[]': 'SecretEnvVar',
    'spec.secrets[].secretKeyRef': 'SecretKeySelector',
    'spec.approval': 'AgentApprovalPolicy',
    'spec.approval.approvers': 'Approvers',
    'status.conditions[]': 'Condition',
  },
  Workflow: {
    '': 'Workflow',
    spec: 'WorkflowSpec',
    status: 'WorkflowStatus',
    'spec.podGC': 'PodGC',
    'spec.podGC.strategy': 'PodGCStrategy',
    'spec.steps[]': 'WorkflowStep',
    'spec.steps[].agentRef': 'AgentRef',
    'spec.steps[].retries': 'RetryPolicy',
    'spec.steps[].retries.backoff': 'Backoff',
    'spec.steps[].approval': 'AgentApprovalPolicy',
    'spec.steps[].approval.approvers': 'Approvers',
    'status.phase': 'WorkflowPhase',
    'status.conditions[]': 'Condition',
    'status.steps[]': 'StepStatus',
    'status.steps[].phase': 'StepPhase',
    'spec.steps[].forEach': 'ForEach',
    'status.steps[].instances': 'InstancesStatus',
    'status.steps[].instances.active[]': 'ActiveInstance',
    'status.steps[].instances.failures[]': 'FailedInstance',
    'status.history[]': 'HistoryEntry',
  },
  Approval: {
    '': 'Approval',
    spec: 'ApprovalSpec',
    status: 'ApprovalStatus',
    'spec.workflowRef': 'WorkflowRef',
    'spec.request': 'ApprovalRequest',
    'spec.policy': 'ApprovalPolicy',
    'spec.policy.approvers': 'Approvers',
    'spec.decisions[]': 'Decision',
    'spec.decisions[].decision': 'DecisionValue',
    'status.phase': 'ApprovalPhase',
    'status.conditions[]': 'Condition',
  },
};

/** Types shared by several CRDs, emitted once in common.ts. */
const COMMON_TYPES: readonly string[] = [
  'AgentApprovalPolicy',
  'Approvers',
  'Backoff',
  'Condition',
  'JsonSchemaObject',
  'RetryPolicy',
];

/** Documentation of common types, where the description of their first use would mislead. */
const COMMON_DOCS: Readonly<Record<string, string>> = {
  AgentApprovalPolicy:
    "An approval policy (an Agent's spec.approval, a Workflow step's spec.steps[].approval): how many distinct approvers, who, and how long they have.",
  Approvers:
    'Who may decide an Approval, besides holding the `approve` verb; empty means anyone holding the verb.',
  Backoff: 'Delay before retry n is seconds * factor^(n-1), capped at maxSeconds.',
  Condition:
    'One aspect of the current state of an object (the metav1.Condition shape, kstatus conventions).',
  JsonSchemaObject:
    'A JSON Schema (draft 2020-12 unless $schema says draft-07) whose top-level type is object.',
  RetryPolicy: 'How often a failed attempt is retried, and the backoff between attempts.',
};

const OUTPUT_FILES: Readonly<Record<PaddockKind, string>> = {
  Agent: 'agent.ts',
  Workflow: 'workflow.ts',
  Approval: 'approval.ts',
};

const UNKNOWN_MAP = '{ [k: string]: unknown }';

const PRETTIER_STYLE = {
  singleQuote: true,
  printWidth: 110,
  trailingComma: 'all',
  bracketSpacing: true,
} as const;

function banner(source: string): string {
  return [
    '/* eslint-disable */',
    '/**',
    ` * Generated from ${source} by operator/hack/generate-types.ts.`,
    ' * DO NOT EDIT: change the CRD and regenerate with `make generate`.',
    ' */',
  ].join('\n');
}

/** Conversion state for one CRD. */
interface Conversion {
  readonly kind: PaddockKind;
  readonly titles: Readonly<Record<string, string>>;
  /** Titles already emitted in this file (later occurrences become references). */
  readonly emitted: Map<string, JSONSchema>;
  /** Common types this file refers to, with the shape this CRD gives them. */
  readonly common: Map<string, JSONSchema>;
  /** Title paths seen, to catch stale entries in TITLES. */
  readonly seenPaths: Set<string>;
}

function childPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Drops descriptions, so shapes can be compared. */
function shapeOf(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map((s: unknown) => shapeOf(s));
  if (!isJsonObject(schema)) return schema;
  const out: JsonObject = {};
  for (const key of Object.keys(schema).sort()) {
    if (key === 'description') continue;
    out[key] = shapeOf(schema[key]);
  }
  return out;
}

function sameShape(a: unknown, b: unknown): boolean {
  return JSON.stringify(shapeOf(a)) === JSON.stringify(shapeOf(b));
}

/** Translates one node of a Kubernetes structural schema to the JSON Schema json-schema-to-typescript reads. */
function convertNode(node: unknown, path: string, conv: Conversion): JSONSchema {
  if (!isJsonObject(node)) throw new Error(`${conv.kind}: schema at '${path}' is not an object`);
  const out: JSONSchema = {};
  if (typeof node['description'] === 'string') out.description = node['description'];

  if (node['x-kubernetes-int-or-string'] === true) {
    out.tsType = 'number | string';
    return out;
  }
  if (path === 'metadata') {
    out.tsType = 'ObjectMeta';
    return out;
  }

  const type = node['type'];
  if (type === 'string' || type === 'integer' || type === 'number' || type === 'boolean') {
    out.type = type;
    if (Array.isArray(node['enum'])) out.enum = [...(node['enum'] as (string | number | boolean)[])];
  } else if (type === 'array') {
    out.type = 'array';
    out.items = convertNode(node['items'], `${path}[]`, conv);
  } else if (type === 'object') {
    out.type = 'object';
    const props = node['properties'];
    const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
    const additional = node['additionalProperties'];
    if (isJsonObject(props)) {
      const properties: Record<string, JSONSchema> = {};
      for (const [name, sub] of Object.entries(props))
        properties[name] = convertNode(sub, childPath(path, name), conv);
      out.properties = properties;
      const required = Array.isArray(node['required']) ? [...(node['required'] as string[])] : [];
      // Every object the API server returns has metadata; the types say so.
      if (path === '' && 'metadata' in props) required.unshift('metadata');
      if (required.length > 0) out.required = required;
      out.additionalProperties = preserve;
    } else if (isJsonObject(additional)) {
      out.additionalProperties = convertNode(additional, `${path}{}`, conv);
    } else if (preserve || props === undefined) {
      // An object whose fields the schema leaves open (or null, where the schema allows it).
      out.tsType = node['nullable'] === true ? `(${UNKNOWN_MAP} | null)` : UNKNOWN_MAP;
      return out;
    }
  } else if (node['x-kubernetes-preserve-unknown-fields'] === true) {
    out.tsType = 'unknown';
    return out;
  } else {
    throw new Error(`${conv.kind}: unsupported schema type ${JSON.stringify(type)} at '${path}'`);
  }

  const title = conv.titles[path];
  if (title === undefined) return out;
  conv.seenPaths.add(path);
  if (COMMON_TYPES.includes(title)) {
    const previous = conv.common.get(title);
    if (previous && !sameShape(previous, out)) {
      throw new Error(
        `${conv.kind}: '${path}' declares ${title} with a different shape than elsewhere in the CRD`,
      );
    }
    if (!previous) conv.common.set(title, { ...out, description: COMMON_DOCS[title] ?? out.description });
    return { tsType: title, ...(out.description === undefined ? {} : { description: out.description }) };
  }
  const emitted = conv.emitted.get(title);
  if (emitted) {
    if (!sameShape(emitted, out)) {
      throw new Error(`${conv.kind}: '${path}' declares ${title} with a different shape than its first use`);
    }
    return { tsType: title, ...(out.description === undefined ? {} : { description: out.description }) };
  }
  conv.emitted.set(title, out);
  return { ...out, title };
}

export interface ConvertedCrd {
  kind: PaddockKind;
  /** The JSON Schema of the whole object, with friendly titles and references to common types. */
  schema: JSONSchema;
  /** Common types the schema refers to, with their JSON Schema. */
  common: Map<string, JSONSchema>;
}

/** Converts the openAPIV3Schema of one CRD to the JSON Schema of its TypeScript types. Pure. */
export function convertCrdSchema(kind: PaddockKind, openAPIV3Schema: unknown): ConvertedCrd {
  const titles = TITLES[kind];
  const conv: Conversion = { kind, titles, emitted: new Map(), common: new Map(), seenPaths: new Set() };
  const schema = convertNode(openAPIV3Schema, '', conv);
  const missing = Object.keys(titles).filter((p) => !conv.seenPaths.has(p));
  if (missing.length > 0) {
    throw new Error(
      `${kind}: named paths not found in the CRD schema (update TITLES): ${missing.join(', ')}`,
    );
  }
  return { kind, schema, common: conv.common };
}

async function toTypeScript(schema: JSONSchema, name: string, header: string): Promise<string> {
  return compile(schema, name, {
    bannerComment: header,
    additionalProperties: false,
    unknownAny: true,
    ignoreMinAndMaxItems: true,
    maxItems: -1,
    strictIndexSignatures: false,
    declareExternallyReferenced: true,
    unreachableDefinitions: false,
    enableConstEnums: false,
    format: true,
    style: PRETTIER_STYLE,
  });
}

export interface GeneratedFile {
  /** File name inside the output folder. */
  name: string;
  content: string;
}

/** Generates every file of operator/src/api/generated from the given schemas (default: crds/). */
export async function generateFiles(
  schemas: (kind: PaddockKind) => unknown = crdSchema,
): Promise<GeneratedFile[]> {
  const kinds: PaddockKind[] = ['Agent', 'Workflow', 'Approval'];
  const converted = kinds.map((kind) => convertCrdSchema(kind, schemas(kind)));

  // Common types: every CRD that uses one must give it the same shape.
  const common = new Map<string, { schema: JSONSchema; from: PaddockKind }>();
  for (const c of converted) {
    for (const [title, schema] of c.common) {
      const seen = common.get(title);
      if (seen && !sameShape(seen.schema, schema)) {
        throw new Error(
          `${title} has a different shape in the ${seen.from} and ${c.kind} CRDs; make them agree`,
        );
      }
      if (!seen) common.set(title, { schema, from: c.kind });
    }
  }

  const files: GeneratedFile[] = [];
  const commonParts: string[] = [];
  for (const title of [...common.keys()].sort()) {
    const entry = common.get(title);
    if (!entry) continue;
    // Common types refer to each other by name (e.g. RetryPolicy -> Backoff) within common.ts.
    commonParts.push((await toTypeScript({ ...entry.schema, title }, title, '')).trim());
  }
  files.push({
    name: 'common.ts',
    content: `${banner('the crds/ schemas (types shared by several CRDs)')}\n\n${commonParts.join('\n\n')}\n`,
  });

  for (const c of converted) {
    const body = (await toTypeScript(c.schema, c.kind, '')).trim();
    // Import only the names the body mentions (a common type may be nested in another one).
    const used = [...c.common.keys()].filter((t) => new RegExp(`\\b${t}\\b`).test(body)).sort();
    const imports = ["import type { ObjectMeta } from '../meta.ts';"];
    if (used.length > 0) imports.push(`import type { ${used.join(', ')} } from './common.ts';`);
    const content = `${banner(`crds/${CRD_FILES[c.kind]}`)}\n\n${imports.join('\n')}\n\n${body}\n`;
    files.push({ name: OUTPUT_FILES[c.kind], content });
  }

  const index = [
    banner('the crds/ schemas (all Paddock API types)'),
    '',
    "export type { ObjectMeta, OwnerReference } from '../meta.ts';",
    "export type * from './common.ts';",
    ...kinds.map((k) => `export type * from './${OUTPUT_FILES[k]}';`),
    '',
  ].join('\n');
  files.push({ name: 'index.ts', content: index });
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

/** Names of the files in `dir` that differ from `files`, are missing, or should not be there. */
export async function staleFiles(dir: string, files: readonly GeneratedFile[]): Promise<string[]> {
  const stale: string[] = [];
  for (const f of files) {
    let current: string | undefined;
    try {
      current = await readFile(join(dir, f.name), 'utf8');
    } catch {
      current = undefined;
    }
    if (current === undefined) stale.push(`${f.name} (missing)`);
    else if (current !== f.content) stale.push(`${f.name} (differs)`);
  }
  const present = await readdir(dir).catch((): string[] => []);
  const expected = new Set(files.map((f) => f.name));
  for (const name of present.sort()) {
    if (name.endsWith('.ts') && !expected.has(name)) stale.push(`${name} (not generated any more)`);
  }
  return stale;
}

export async function writeFiles(dir: string, files: readonly GeneratedFile[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const f of files) await writeFile(join(dir, f.name), f.content);
}

async function main(argv: readonly string[]): Promise<number> {
  let check = false;
  let outDir = DEFAULT_OUT_DIR;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check') check = true;
    else if (arg === '--out-dir' && argv[i + 1] !== undefined) outDir = resolve(argv[++i] ?? '');
    else {
      console.error(`usage: generate-types.ts [--check] [--out-dir DIR]\nunknown argument: ${arg ?? ''}`);
      return 2;
    }
  }
  const files = await generateFiles();
  const shown = relative(process.cwd(), outDir) || '.';
  if (check) {
    const stale = await staleFiles(outDir, files);
    if (stale.length > 0) {
      console.error(
        `The generated API types in ${shown} are stale (the CRDs in crds/ changed):\n` +
          stale.map((s) => `  - ${s}`).join('\n') +
          '\nRun `make generate` (node operator/hack/generate-types.ts) and commit the result.',
      );
      return 1;
    }
    console.log(`Generated API types in ${shown} are up to date.`);
    return 0;
  }
  await writeFiles(outDir, files);
  console.log(`Wrote ${files.map((f) => f.name).join(', ')} to ${shown}.`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
