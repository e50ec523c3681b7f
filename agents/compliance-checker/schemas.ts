// The compliance checker's schemas (examples/agents/compliance-checker.yaml declares the same; a unit test keeps
// the two equal).
import type { JsonSchema } from '../../sdk/typescript/src/index.ts';
import { repositoryPathSchema } from '../common/repository-path.ts';
import { MAX_LISTED } from './outputs.ts';
import { RULES } from './rules.ts';

export const inputsSchema = {
  type: 'object',
  required: ['repositoryPath'],
  additionalProperties: false,
  properties: {
    repositoryPath: repositoryPathSchema(
      'Git repository URL (smart HTTP), optionally followed by #branch, #tag or #commit.',
    ),
    rules: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', enum: [...RULES] },
      default: [...RULES],
      description: 'The rule sets to check (all three when left out).',
    },
  },
} as const satisfies JsonSchema;

export const outputsSchema = {
  type: 'object',
  required: ['passed', 'counts', 'summary', 'violations'],
  properties: {
    passed: { type: 'boolean', description: 'No critical and no warning violation.' },
    counts: {
      type: 'object',
      required: ['critical', 'warning', 'info'],
      properties: {
        critical: { type: 'integer', minimum: 0 },
        warning: { type: 'integer', minimum: 0 },
        info: { type: 'integer', minimum: 0 },
      },
    },
    summary: { type: 'string', maxLength: 400 },
    violations: {
      type: 'array',
      maxItems: MAX_LISTED,
      description: 'Most severe first; cut to fit the 4096-byte outputs (counts cover them all).',
      items: {
        type: 'object',
        required: ['rule', 'severity', 'file', 'line', 'message'],
        properties: {
          rule: { type: 'string', enum: [...RULES] },
          severity: { type: 'string', enum: ['critical', 'warning', 'info'] },
          file: { type: 'string' },
          line: { type: 'integer', minimum: 0 },
          message: { type: 'string', maxLength: 200 },
        },
      },
    },
  },
} as const satisfies JsonSchema;
