// What the Agent controller checks beyond the CRD schema and its CEL rules,
// i.e. what only code can tell: user JSON Schemas that do not compile,
// resource requests above their limits, images not pinned by digest. Pure.
import type { AgentSpec } from '../../api/generated/index.ts';
import { compileUserSchema } from '../../api/schemas.ts';
import { tryParseQuantity } from '../../api/quantity.ts';

/** A problem that makes the Agent unusable: steps using it cannot run. */
export interface AgentProblem {
  readonly reason: 'InvalidInputsSchema' | 'InvalidOutputsSchema' | 'InvalidResources';
  readonly field: string;
  readonly message: string;
}

export interface AgentCheckResult {
  readonly problems: readonly AgentProblem[];
  /** The image is referenced by tag, not digest: allowed, with a warning. */
  readonly imageNotPinned: boolean;
}

const DIGEST = /@sha256:[a-f0-9]{64}$/;

export function checkAgent(spec: AgentSpec): AgentCheckResult {
  const problems: AgentProblem[] = [];
  for (const [field, reason] of [
    ['inputsSchema', 'InvalidInputsSchema'],
    ['outputsSchema', 'InvalidOutputsSchema'],
  ] as const) {
    const schema = spec[field];
    if (schema === undefined) continue;
    const compiled = compileUserSchema(schema);
    if (!compiled.ok)
      problems.push({ reason, field: `spec.${field}`, message: `spec.${field}: ${compiled.error}` });
  }
  problems.push(...checkResources(spec));
  return { problems, imageNotPinned: !DIGEST.test(spec.image) };
}

function checkResources(spec: AgentSpec): AgentProblem[] {
  const out: AgentProblem[] = [];
  const requests = (spec.resources?.requests ?? {}) as Record<string, string | number | undefined>;
  const limits = (spec.resources?.limits ?? {}) as Record<string, string | number | undefined>;
  const parsed = (
    kind: 'requests' | 'limits',
    name: string,
    v: string | number | undefined,
  ): number | undefined => {
    if (v === undefined) return undefined;
    const n = typeof v === 'number' ? v : tryParseQuantity(v);
    if (n === undefined) {
      out.push({
        reason: 'InvalidResources',
        field: `spec.resources.${kind}.${name}`,
        message: `spec.resources.${kind}.${name}: ${JSON.stringify(v)} is not a Kubernetes quantity`,
      });
    }
    return n;
  };
  const names = new Set([...Object.keys(requests), ...Object.keys(limits)]);
  for (const name of [...names].sort()) {
    const req = parsed('requests', name, requests[name]);
    const lim = parsed('limits', name, limits[name]);
    if (req !== undefined && lim !== undefined && req > lim) {
      out.push({
        reason: 'InvalidResources',
        field: `spec.resources.requests.${name}`,
        message: `spec.resources.requests.${name} (${String(requests[name])}) must not exceed spec.resources.limits.${name} (${String(limits[name])})`,
      });
    }
  }
  return out;
}
