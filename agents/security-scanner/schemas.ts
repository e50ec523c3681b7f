// The security scanner's inputsSchema and outputsSchema: the SDK checks them in the container, and
// examples/agents/security-scanner.yaml declares the same (a unit test keeps the two equal).
import type { JsonSchema } from '../../sdk/typescript/src/index.ts';
import { repositoryPathSchema } from '../common/repository-path.ts';
import { PATCH_BUDGET } from './scan.ts';

export const inputsSchema = {
  type: 'object',
  required: ['repositoryPath'],
  additionalProperties: false,
  properties: {
    repositoryPath: repositoryPathSchema(
      'Git repository URL (smart HTTP), optionally followed by #branch, #tag or #commit.',
    ),
    cve: { type: 'string', pattern: '^CVE-[0-9]{4}-[0-9]{4,}$', description: 'Report only this advisory.' },
    severityThreshold: {
      type: 'string',
      enum: ['low', 'medium', 'high', 'critical'],
      default: 'medium',
      description: 'Findings below this severity are neither counted nor listed.',
    },
  },
} as const satisfies JsonSchema;

export const outputsSchema = {
  type: 'object',
  required: ['findings', 'critical', 'summary', 'vulnerabilities', 'leakedSecrets'],
  properties: {
    findings: {
      type: 'integer',
      minimum: 0,
      description: 'Vulnerable dependencies plus leaked secrets, all of them.',
    },
    critical: { type: 'integer', minimum: 0 },
    summary: { type: 'string', maxLength: 500 },
    vulnerabilities: {
      type: 'array',
      maxItems: 50,
      description:
        'Most severe first; cut to fit the 4096-byte outputs (the summary says how many were left out).',
      items: {
        type: 'object',
        required: ['id', 'package', 'version', 'severity', 'file', 'line'],
        properties: {
          id: { type: 'string' },
          package: { type: 'string' },
          version: { type: 'string' },
          fixedIn: { type: 'string' },
          severity: { type: 'string', enum: ['low', 'medium', 'high', 'critical'] },
          file: { type: 'string' },
          line: { type: 'integer', minimum: 1 },
        },
      },
    },
    leakedSecrets: {
      type: 'array',
      maxItems: 50,
      description: 'Cut to fit the 4096-byte outputs, like vulnerabilities.',
      items: {
        type: 'object',
        required: ['rule', 'file', 'line', 'match'],
        properties: {
          rule: { type: 'string' },
          file: { type: 'string' },
          line: { type: 'integer', minimum: 1 },
          match: {
            type: 'string',
            maxLength: 200,
            description: 'The leaked value itself: redacted in the Workflow status.',
            'x-paddock-sensitive': true,
          },
        },
      },
    },
    patch: {
      type: 'string',
      maxLength: PATCH_BUDGET,
      description:
        'Unified diff upgrading the vulnerable pins to safe releases (whole files only, as many as fit).',
    },
  },
} as const satisfies JsonSchema;
