// `kubectl paddock describe`: everything an approver needs to decide, as text.
import { phaseOf, tally, tallySentence, type ApprovalView } from './approval.ts';
import { stableJson, unifiedDiff } from './diff.ts';
import { relative, renderTable } from './format.ts';

/** What is compared with the superseded Approval: the request without its digest (which always differs). */
export function comparable(a: ApprovalView): Record<string, unknown> {
  const { digest: _digest, ...rest } = a.spec.request;
  return { ...rest, inputs: rest.inputs ?? {} };
}

/** The diff of the request against the Approval this one superseded ('' when equal). */
export function requestDiff(prev: ApprovalView, cur: ApprovalView): string {
  return unifiedDiff(stableJson(comparable(prev)), stableJson(comparable(cur)), {
    from: `${prev.metadata.name ?? ''} (request)`,
    to: `${cur.metadata.name ?? ''} (request)`,
  });
}

function indent(text: string, by = '  '): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => (l ? by + l : l))
    .join('\n');
}

function when(ts: string | undefined, now: Date): string {
  if (!ts) return '<none>';
  const r = relative(ts, now);
  return r ? `${ts} (${r})` : ts;
}

function fields(rows: ReadonlyArray<readonly [string, string]>, by = ''): string[] {
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${by}${`${k}:`.padEnd(width)}${v}`.trimEnd());
}

export function renderDescribe(a: ApprovalView, prev: ApprovalView | undefined, now: Date): string {
  const { spec, metadata } = a;
  const req = spec.request;
  const pol = spec.policy;
  const t = tally(a);
  const approvers = [
    ...(pol.approvers?.users?.length ? [`users ${pol.approvers.users.join(', ')}`] : []),
    ...(pol.approvers?.groups?.length ? [`groups ${pol.approvers.groups.join(', ')}`] : []),
  ];
  const out: string[] = [
    ...fields([
      ['Name', metadata.name ?? ''],
      ['Namespace', metadata.namespace ?? ''],
      [
        'Workflow',
        spec.workflowRef.uid
          ? `${spec.workflowRef.name} (uid ${spec.workflowRef.uid})`
          : spec.workflowRef.name,
      ],
      ['Step', spec.step],
      ['Phase', phaseOf(a)],
      ['Requested By', spec.requestedBy ?? '<unknown>'],
      // A retried run's request: who asked for the retry cannot approve it either.
      ...(spec.retryRequestedBy
        ? [['Retry Requested By', `${spec.retryRequestedBy} (cannot approve it)`] as const]
        : []),
      ['Created', when(metadata.creationTimestamp, now)],
    ]),
    'Request:',
    ...fields(
      [
        ['Agent', `${req.agent} (generation ${req.agentGeneration})`],
        ['Image', req.image],
        ['Capabilities', req.capabilities?.length ? req.capabilities.join(', ') : '<none>'],
        ['Digest', req.digest],
      ],
      '  ',
    ),
    'Policy:',
    ...fields(
      [
        ['Required', `${pol.required} distinct approver(s); any rejection vetoes`],
        ['Approvers', approvers.length ? approvers.join('; ') : 'anyone holding the approve verb'],
        ['Expires', when(pol.expiresAt, now)],
      ],
      '  ',
    ),
    'Inputs (sensitive fields redacted):',
    indent(stableJson(req.inputs ?? {})),
  ];
  if (prev) {
    const diff = requestDiff(prev, a);
    out.push(`Changes since ${prev.metadata.name ?? ''} (${phaseOf(prev)}):`);
    out.push(diff ? indent(diff) : '  <no change to the request besides the digest>');
  }
  out.push(`Decisions (${tallySentence(t)}):`);
  const decisions = spec.decisions ?? [];
  if (decisions.length === 0) out.push('  <none>');
  else
    out.push(
      indent(
        renderTable(
          ['USER', 'DECISION', 'AT', 'COMMENT'],
          decisions.map((d) => [d.user, d.decision, when(d.at, now), d.comment ?? '']),
        ),
      ),
    );
  const st = a.status ?? {};
  out.push('Status:');
  out.push(
    ...fields(
      [
        ['Phase', phaseOf(a)],
        ...(st.decidedBy ? [['Decided By', st.decidedBy] as const] : []),
        ...(st.decidedAt ? [['Decided At', when(st.decidedAt, now)] as const] : []),
        ...(st.approvedBy?.length ? [['Approved By', st.approvedBy.join(', ')] as const] : []),
        ...(st.rejectedBy?.length ? [['Rejected By', st.rejectedBy.join(', ')] as const] : []),
        ...(st.supersededBy ? [['Superseded By', st.supersededBy] as const] : []),
        ...(st.reason ? [['Reason', st.reason] as const] : []),
        ...(st.message ? [['Message', st.message] as const] : []),
      ],
      '  ',
    ),
  );
  if (st.conditions?.length) {
    out.push('  Conditions:');
    out.push(
      indent(
        renderTable(
          ['TYPE', 'STATUS', 'REASON', 'MESSAGE'],
          st.conditions.map((c) => [c.type, c.status, c.reason, c.message]),
        ),
        '    ',
      ),
    );
  }
  return out.join('\n') + '\n';
}
