// Approvals for the plugin's unit tests.
import type { ApprovalView } from '../../../cli/lib/approval.ts';

export const NOW = new Date('2026-03-01T12:00:00Z');

export function approval(over: {
  name?: string;
  namespace?: string;
  created?: string;
  decisions?: ApprovalView['spec']['decisions'];
  status?: ApprovalView['status'];
  expiresAt?: string;
  inputs?: Record<string, unknown>;
  image?: string;
  capabilities?: string[];
  required?: number;
  uid?: string;
}): ApprovalView {
  return {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Approval',
    metadata: {
      name: over.name ?? 'release-deploy-approval-1',
      namespace: over.namespace ?? 'team-a',
      uid: over.uid ?? '11111111-2222-3333-4444-555555555555',
      creationTimestamp: over.created ?? '2026-03-01T11:55:00Z',
    },
    spec: {
      workflowRef: { name: 'release' },
      step: 'deploy',
      request: {
        agent: 'deployer',
        agentGeneration: 3,
        image: over.image ?? 'ghcr.io/acme/deployer:1.2.0',
        capabilities: over.capabilities ?? ['network', 'write-repo'],
        inputs: over.inputs ?? { env: 'prod', replicas: 3, token: '<redacted>' },
        digest: `hmac-sha256:${'a'.repeat(64)}`,
      },
      policy: {
        required: over.required ?? 2,
        approvers: { groups: ['sre'] },
        ...(over.expiresAt ? { expiresAt: over.expiresAt } : {}),
      },
      requestedBy: 'alice',
      ...(over.decisions ? { decisions: over.decisions } : {}),
    },
    ...(over.status ? { status: over.status } : {}),
  };
}
