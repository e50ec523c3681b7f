// The plugin's commands, over a KubeClient and an output sink. Each runs as
// the caller's own identity; nothing here holds or borrows other credentials.
import { stringify } from 'yaml';
import { APPROVAL, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Decision, DecisionValue } from '../../operator/src/api/generated/approval.ts';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import { ApiError } from '../../operator/src/kube/errors.ts';
import {
  buildDecision,
  cannotDecide,
  decisionApply,
  fieldManagerFor,
  isPending,
  phaseOf,
  previousApprovalName,
  sameStep,
  tally,
  tallySentence,
  tallyText,
  type ApprovalView,
} from './approval.ts';
import { renderDescribe } from './describe.ts';
import { CliError } from './errors.ts';
import { age, expiresIn, listCell, renderObjects, renderTable, type OutputFormat } from './format.ts';
import { whoami } from './kube.ts';
import {
  cannotRetry,
  resubmitObject,
  retryPatch,
  workflowPhase,
  type RetryPatch,
  type WorkflowView,
} from './workflow.ts';
import { errorMessage } from '../../operator/src/util/errors.ts';

export const RESOURCE = 'approval.paddock.dev';
export const WORKFLOW_RESOURCE = 'workflow.paddock.dev';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  now(): Date;
}

export interface ListView {
  /** Show the NAMESPACE column (-A). */
  readonly allNamespaces: boolean;
  /** Decided approvals are listed too (--all): show the PHASE column. */
  readonly includeDecided: boolean;
}

/** Pending first-come-first-served: by namespace, then creation time, then name. */
export function sortApprovals(items: readonly ApprovalView[]): ApprovalView[] {
  const key = (a: ApprovalView): string => a.metadata.creationTimestamp ?? '';
  return [...items].sort(
    (x, y) =>
      (x.metadata.namespace ?? '').localeCompare(y.metadata.namespace ?? '') ||
      key(x).localeCompare(key(y)) ||
      (x.metadata.name ?? '').localeCompare(y.metadata.name ?? ''),
  );
}

export function listTable(items: readonly ApprovalView[], view: ListView, now: Date): string {
  const headers = [
    ...(view.allNamespaces ? ['NAMESPACE'] : []),
    'NAME',
    ...(view.includeDecided ? ['PHASE'] : []),
    'AGE',
    'WORKFLOW',
    'STEP',
    'AGENT',
    'CAPABILITIES',
    'REQUIRED',
    'EXPIRES IN',
    'REQUESTED BY',
  ];
  const rows = sortApprovals(items).map((a) => [
    ...(view.allNamespaces ? [a.metadata.namespace ?? ''] : []),
    a.metadata.name ?? '',
    ...(view.includeDecided ? [phaseOf(a)] : []),
    age(a.metadata.creationTimestamp, now),
    a.spec.workflowRef.name,
    a.spec.step,
    a.spec.request.agent,
    listCell(a.spec.request.capabilities),
    tallyText(tally(a)),
    isPending(a) ? expiresIn(a.spec.policy.expiresAt, now) : '-',
    a.spec.requestedBy ?? '<unknown>',
  ]);
  return renderTable(headers, rows);
}

async function listAll(client: KubeClient, namespace: string | undefined): Promise<ApprovalView[]> {
  const items: ApprovalView[] = [];
  let cont: string | undefined;
  do {
    const page = await client.list<ApprovalView>(APPROVAL, namespace, {
      limit: 500,
      ...(cont ? { continue: cont } : {}),
    });
    items.push(...page.items);
    cont = page.metadata.continue || undefined;
  } while (cont);
  return items;
}

export async function listCommand(
  client: KubeClient,
  io: Io,
  o: { namespace: string; allNamespaces: boolean; includeDecided: boolean; output?: string },
): Promise<void> {
  const all = await listAll(client, o.allNamespaces ? undefined : o.namespace);
  const items = sortApprovals(o.includeDecided ? all : all.filter(isPending));
  if (o.output) {
    io.out(renderObjects(items, o.output as OutputFormat, RESOURCE, true));
    return;
  }
  if (items.length === 0) {
    const where = o.allNamespaces ? 'in any namespace' : `in namespace ${o.namespace}`;
    io.err(`No ${o.includeDecided ? '' : 'pending '}approvals found ${where}.\n`);
    return;
  }
  io.out(listTable(items, { allNamespaces: o.allNamespaces, includeDecided: o.includeDecided }, io.now()));
}

async function getApproval(client: KubeClient, namespace: string, name: string): Promise<ApprovalView> {
  return client.get<ApprovalView>(APPROVAL, namespace, name);
}

/** The Approval this one superseded, when it exists, is readable and gates the same step. */
export async function findPrevious(client: KubeClient, a: ApprovalView): Promise<ApprovalView | undefined> {
  const prevName = previousApprovalName(a.metadata.name ?? '');
  if (!prevName || !a.metadata.namespace) return undefined;
  try {
    const prev = await getApproval(client, a.metadata.namespace, prevName);
    return sameStep(a, prev) ? prev : undefined;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 403)) return undefined;
    throw err;
  }
}

export async function describeCommand(
  client: KubeClient,
  io: Io,
  o: { namespace: string; name: string; output?: string },
): Promise<void> {
  const a = await getApproval(client, o.namespace, o.name);
  if (o.output) {
    io.out(renderObjects([a], o.output as OutputFormat, RESOURCE, false));
    return;
  }
  const prev = await findPrevious(client, a);
  io.out(renderDescribe(a, prev, io.now()));
}

export async function whoamiCommand(client: KubeClient, io: Io, o: { output?: string }): Promise<void> {
  const me = await whoami(client);
  if (o.output === 'json' || o.output === 'yaml') {
    const doc = { username: me.username, uid: me.uid, groups: me.groups, extra: me.extra };
    io.out(o.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc));
    return;
  }
  io.out(
    renderTable(
      ['ATTRIBUTE', 'VALUE'],
      [
        ['Username', me.username],
        ...(me.uid ? [['UID', me.uid]] : []),
        ['Groups', `[${me.groups.join(' ')}]`],
      ],
    ),
  );
}

/**
 * approve / reject: read the Approval, refuse early with a clear reason when
 * the caller cannot decide it, then server-side apply the caller's one decision
 * (see decisionApply). The server re-checks everything: the CRD's rules (a
 * decided Approval is immutable, decisions are append-only, the requester
 * cannot approve) and the admission policy (the decision's user is the caller,
 * who holds the `approve` verb).
 */
export async function decideCommand(
  client: KubeClient,
  io: Io,
  o: { namespace: string; name: string; decision: DecisionValue; message?: string },
): Promise<void> {
  const me = await whoami(client);
  const a = await getApproval(client, o.namespace, o.name);
  const now = io.now();
  const why = cannotDecide(a, me.username, now);
  if (why) throw new CliError(why);
  let decision: Decision;
  try {
    decision = buildDecision(me.username, o.decision, o.message, now);
  } catch (err) {
    throw new CliError(errorMessage(err));
  }
  const applied = await client.apply<ApprovalView>(APPROVAL, decisionApply(a, decision), {
    fieldManager: fieldManagerFor(me.username),
  });
  const verb = o.decision === 'Approve' ? 'approved' : 'rejected';
  const t = tally(applied);
  io.out(`${RESOURCE}/${o.name} ${verb} by ${me.username} (${tallySentence(t)})\n`);
}

async function getWorkflow(client: KubeClient, namespace: string, name: string): Promise<WorkflowView> {
  return client.get<WorkflowView>(WORKFLOW, namespace, name);
}

/**
 * retry: read the Workflow, refuse early with a clear reason when it cannot be
 * retried, then merge-patch spec.retry (count + 1, requestedBy the caller; and
 * spec.cancel false when it was true) at the resourceVersion read. The server
 * re-checks it all: the CRD (count grows by one) and paddock-workflow-retry
 * (requestedBy is the caller; the run has Failed or was Cancelled).
 */
export async function retryCommand(
  client: KubeClient,
  io: Io,
  o: { namespace: string; name: string },
): Promise<void> {
  const me = await whoami(client);
  const w = await getWorkflow(client, o.namespace, o.name);
  const why = cannotRetry(w);
  if (why) throw new CliError(why);
  let patch: RetryPatch;
  try {
    patch = retryPatch(w, me.username);
  } catch (err) {
    throw new CliError(errorMessage(err));
  }
  const patched = await client.patch<WorkflowView>(WORKFLOW, o.namespace, o.name, patch, 'merge');
  const count = patched.spec.retry?.count ?? patch.spec.retry.count;
  const cleared = patch.spec.cancel === false ? '; spec.cancel cleared' : '';
  io.out(
    `${WORKFLOW_RESOURCE}/${o.name} retry ${count} requested by ${me.username} (was ${workflowPhase(w)}${cleared}): ` +
      'the steps that did not succeed will run again; gated steps ask for a new Approval\n',
  );
}

/**
 * resubmit: create a new Workflow with the same spec (resubmitObject). The
 * caller needs `create` on workflows; when the original named a requester, the
 * new one names the caller (paddock-workflow-requester requires the creator).
 */
export async function resubmitCommand(
  client: KubeClient,
  io: Io,
  o: { namespace: string; name: string; newName?: string },
): Promise<void> {
  const w = await getWorkflow(client, o.namespace, o.name);
  const user = w.spec.requestedBy !== undefined ? (await whoami(client)).username : '';
  let obj: WorkflowView;
  try {
    obj = resubmitObject(w, user, o.newName);
  } catch (err) {
    throw new CliError(errorMessage(err));
  }
  const created = await client.create<WorkflowView>(WORKFLOW, obj);
  const by = created.spec.requestedBy ? ` requested by ${created.spec.requestedBy}` : '';
  io.out(`${WORKFLOW_RESOURCE}/${created.metadata.name ?? ''} created (resubmitted from ${o.name}${by})\n`);
}
