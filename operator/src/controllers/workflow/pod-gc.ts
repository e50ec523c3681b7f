// Pod garbage collection (spec.podGC), decided only on what the persisted status already says.
import type { Workflow } from '../../api/generated/index.ts';
import { LABEL_INSTANCE, LABEL_STEP } from '../../api/labels.ts';
import { sensitivePaths } from '../../api/schemas.ts';
import type { Plan } from './plan.ts';
import { TERMINAL_WORKFLOW, type EngineInput } from './plan.ts';
import { allSteps } from './verdict.ts';

// --- housekeeping -----------------------------------------------------------------

export function garbageCollectPods(plan: Plan, wf: Workflow, input: EngineInput): void {
  const strategy = wf.spec.podGC?.strategy ?? 'Never';
  if (strategy === 'Never') return;
  const persisted = new Map((wf.status?.steps ?? []).map((s) => [s.name, s]));
  const phase = wf.status?.phase;
  const finished = phase !== undefined && TERMINAL_WORKFLOW.has(phase);
  const planned = new Set(plan.delete.map((d) => d.name));
  for (const pod of input.pods.values()) {
    const name = pod.metadata.name ?? '';
    if (planned.has(name) || pod.metadata.deletionTimestamp) continue;
    const step = persisted.get(pod.metadata.labels?.[LABEL_STEP] ?? '');
    const podPhase = pod.status?.phase;
    let remove = false;
    if (strategy === 'OnPodSuccess') {
      // Succeeded pods go once their outputs are persisted, unless later steps may still need
      // sensitive outputs that status only holds redacted. Failed pods stay for their logs.
      const agent = input.agents.get(allSteps(wf).find((s) => s.name === step?.name)?.agentRef.name ?? '');
      const sensitive = agent?.spec.outputsSchema
        ? sensitivePaths(agent.spec.outputsSchema).length > 0
        : false;
      // A forEach instance's pod goes once that instance's success is persisted.
      const instance = pod.metadata.labels?.[LABEL_INSTANCE];
      const succeeded =
        instance === undefined
          ? step?.phase === 'Succeeded'
          : step?.instances?.phases[Number(instance)] === 'S';
      remove = podPhase === 'Succeeded' && succeeded && (!sensitive || finished);
    } else if (strategy === 'OnWorkflowSuccess') {
      remove = phase === 'Succeeded';
    } else if (strategy === 'OnWorkflowCompletion') {
      remove = finished;
    }
    if (remove) plan.delete.push({ name, reason: `podGC ${strategy}` });
  }
}
