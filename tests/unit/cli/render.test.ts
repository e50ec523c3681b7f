import { describe, expect, it } from 'vitest';
import { listTable, sortApprovals } from '../../../cli/lib/commands.ts';
import { renderDescribe, requestDiff } from '../../../cli/lib/describe.ts';
import { CliError, explain } from '../../../cli/lib/errors.ts';
import { ApiError } from '../../../operator/src/kube/errors.ts';
import { approval, NOW } from './fixtures.ts';

describe('list table', () => {
  const items = [
    approval({
      name: 'b-deploy-approval-1',
      created: '2026-03-01T11:00:00Z',
      expiresAt: '2026-03-01T13:00:00Z',
    }),
    approval({
      name: 'a-deploy-approval-1',
      created: '2026-03-01T11:58:00Z',
      decisions: [{ user: 'bob', decision: 'Approve' }],
      capabilities: ['a', 'b', 'c', 'd'],
    }),
  ];

  it('shows the columns an approver needs, oldest first', () => {
    const out = listTable(items, { allNamespaces: false, includeDecided: false }, NOW);
    const [header, first, second] = out.split('\n');
    expect(header).toMatch(
      /^NAME\s+AGE\s+WORKFLOW\s+STEP\s+AGENT\s+CAPABILITIES\s+REQUIRED\s+EXPIRES IN\s+REQUESTED BY$/,
    );
    expect(first).toMatch(
      /^b-deploy-approval-1\s+60m\s+release\s+deploy\s+deployer\s+network,write-repo\s+0\/2\s+60m\s+alice$/,
    );
    expect(second).toMatch(/^a-deploy-approval-1\s+2m\s+.*a,b,c \+1 more\s+1\/2\s+<none>\s+alice$/);
  });

  it('adds NAMESPACE with -A and PHASE with --all', () => {
    const decided = approval({ name: 'c', namespace: 'team-b', status: { phase: 'Approved' } });
    const out = listTable([...items, decided], { allNamespaces: true, includeDecided: true }, NOW);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+PHASE\s+AGE\s+/);
    expect(lines[3]).toMatch(/^team-b\s+c\s+Approved\s+5m\s+.*\s+-\s+alice$/);
  });

  it('sorts by namespace, creation, name', () => {
    const s = sortApprovals([
      approval({ name: 'z', namespace: 'b' }),
      approval({ name: 'y', namespace: 'a', created: '2026-03-01T11:59:00Z' }),
      approval({ name: 'x', namespace: 'a', created: '2026-03-01T11:59:00Z' }),
      approval({ name: 'w', namespace: 'a', created: '2026-03-01T10:00:00Z' }),
    ]);
    expect(s.map((a) => a.metadata.name)).toEqual(['w', 'x', 'y', 'z']);
  });
});

describe('describe', () => {
  const prev = approval({
    inputs: { env: 'staging', replicas: 3, token: '<redacted>' },
    status: { phase: 'Superseded' },
  });
  const cur = approval({
    name: 'release-deploy-approval-2',
    image: 'ghcr.io/acme/deployer:1.3.0',
    expiresAt: '2026-03-01T13:00:00Z',
    decisions: [
      { user: 'bob', decision: 'Approve', comment: 'lgtm', at: '2026-03-01T11:59:00Z' },
      { user: 'carol', decision: 'Reject', comment: 'no', at: '2026-03-01T11:59:30Z' },
    ],
    status: {
      phase: 'Rejected',
      decidedBy: 'carol',
      approvedBy: ['bob'],
      rejectedBy: ['carol'],
      reason: 'Vetoed',
      message: 'rejected by carol',
    },
  });

  it('shows the request, the inputs, the change since the superseded approval, decisions and status', () => {
    const out = renderDescribe(cur, prev, NOW);
    expect(out).toContain('Name:         release-deploy-approval-2\n');
    expect(out).toContain('Requested By: alice\n');
    expect(out).toContain('  Agent:        deployer (generation 3)\n');
    expect(out).toContain('  Capabilities: network, write-repo\n');
    expect(out).toContain(`  Digest:       hmac-sha256:${'a'.repeat(64)}\n`);
    expect(out).toContain('  Expires:   2026-03-01T13:00:00Z (in 60m)\n');
    expect(out).toContain('Inputs (sensitive fields redacted):\n  {\n    "env": "prod",\n');
    expect(out).toContain('    "token": "<redacted>"\n');
    expect(out).toContain('Changes since release-deploy-approval-1 (Superseded):\n');
    expect(out).toContain('  -    "env": "staging",\n  +    "env": "prod",\n');
    expect(out).toContain(
      '  -  "image": "ghcr.io/acme/deployer:1.2.0",\n  +  "image": "ghcr.io/acme/deployer:1.3.0",\n',
    );
    expect(out).toContain('Decisions (1/2 approvals, 1 rejected):\n');
    expect(out).toMatch(/\n {2}bob\s+Approve\s+2026-03-01T11:59:00Z \(60s ago\)\s+lgtm\n/);
    expect(out).toMatch(/\n {2}carol\s+Reject\s+2026-03-01T11:59:30Z \(30s ago\)\s+no\n/);
    expect(out).toContain(
      [
        '  Phase:       Rejected',
        '  Decided By:  carol',
        '  Approved By: bob',
        '  Rejected By: carol',
        '  Reason:      Vetoed',
        '  Message:     rejected by carol',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing but the digest changed, and omits the section without a predecessor', () => {
    expect(requestDiff(approval({}), approval({ name: 'x-approval-2' }))).toBe('');
    expect(renderDescribe(approval({ name: 'x-approval-2' }), approval({}), NOW)).toContain(
      '<no change to the request besides the digest>',
    );
    const alone = renderDescribe(approval({}), undefined, NOW);
    expect(alone).not.toContain('Changes since');
    expect(alone).toContain('Decisions (0/2 approvals):\n  <none>\n');
  });

  it("names a retried run's retry requester, who cannot approve; nothing for a run never retried", () => {
    const base = approval({});
    const retried = { ...base, spec: { ...base.spec, retryRequestedBy: 'bob' } };
    const out = renderDescribe(retried, undefined, NOW);
    expect(out).toContain('Requested By:       alice\n');
    expect(out).toContain('Retry Requested By: bob (cannot approve it)\n');
    expect(renderDescribe(base, undefined, NOW)).not.toContain('Retry Requested By');
  });
});

describe('explain', () => {
  const ctx = { action: 'decide' as const, namespace: 'team-a', name: 'x-approval-1' };
  const api = (code: number, message: string, details?: object) =>
    new ApiError('GET', '/apis/paddock.dev/v1alpha1/namespaces/team-a/approvals/x', code, {
      message,
      reason: 'R',
      code,
      ...(details ? { details } : {}),
    });

  it('404 of a named approval', () => {
    expect(explain(api(404, 'not found', { name: 'x-approval-1' }), ctx)).toBe(
      'error: approval x-approval-1 not found in namespace team-a',
    );
    expect(explain(api(404, 'the server could not find the requested resource'), ctx)).toContain(
      'Approval API (approvals.paddock.dev/v1alpha1) is not installed',
    );
  });

  it('403 from RBAC names the missing permission and the approve verb', () => {
    const out = explain(api(403, 'User "dave" cannot get resource "approvals"'), ctx);
    expect(out).toContain('Error from server (Forbidden): User "dave" cannot get resource "approvals"');
    expect(out).toContain('the custom "approve" verb');
    expect(explain(api(403, 'nope'), { action: 'read' })).toContain('in all namespaces');
  });

  it('403 from an admission policy is the policy’s own message, without an RBAC hint', () => {
    const msg =
      "approvals.paddock.dev \"x\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: only the caller may decide";
    expect(explain(api(403, msg), ctx)).toBe(`Error from server (Forbidden): ${msg}`);
  });

  it('validation refusals keep the server’s words; replaced approvals are explained', () => {
    expect(explain(api(422, 'spec.decisions: append-only'), ctx)).toBe(
      'Error from server (Invalid): spec.decisions: append-only',
    );
    expect(explain(api(409, 'uid mismatch: no existing object was found'), ctx)).toContain(
      'was deleted or replaced since it was read',
    );
    expect(explain(api(422, 'metadata.uid: field is immutable'), ctx)).toContain('deleted or replaced');
  });

  it('connection, auth and local errors', () => {
    expect(explain(api(0, 'ECONNREFUSED'), { ...ctx, server: 'https://k:6443' })).toBe(
      'error: cannot reach the Kubernetes API server at https://k:6443: ECONNREFUSED',
    );
    expect(explain(api(401, 'Unauthorized'), ctx)).toContain('did not accept your credentials');
    expect(explain(new CliError('plain'), ctx)).toBe('error: plain');
    expect(explain(new Error('boom'), ctx)).toBe('error: boom');
  });

  it('SelfSubjectReview failures are about identity, not approvals', () => {
    const e = new ApiError('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', 404, {
      message: 'nf',
    });
    expect(explain(e, ctx)).toContain('no SelfSubjectReview API');
  });
});
