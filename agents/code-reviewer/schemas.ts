// The code reviewer's schemas (examples/agents/code-reviewer.yaml declares the same; a unit test keeps the two
// equal).
import type { JsonSchema } from '../../sdk/typescript/src/index.ts';
import { repositoryPathSchema } from '../common/repository-path.ts';
import { MAX_LISTED } from './review.ts';

export const inputsSchema = {
  type: 'object',
  required: ['repositoryPath'],
  additionalProperties: false,
  properties: {
    repositoryPath: repositoryPathSchema(
      'Git repository URL (smart HTTP) and the ref to review after #, e.g. ...app.git#feature/report.',
    ),
    changedFiles: {
      type: 'array',
      maxItems: 500,
      items: { type: 'string', maxLength: 1024 },
      description:
        'Files to review. When empty or left out: the files that differ from baseline (or every file).',
    },
    baseline: {
      type: 'string',
      maxLength: 255,
      description: 'The branch, tag or commit the changes are compared to, e.g. main.',
    },
    failBelow: {
      type: 'integer',
      minimum: 0,
      maximum: 100,
      description: 'Fail the step (exit 1) when the score is lower: a quality gate.',
    },
  },
} as const satisfies JsonSchema;

const category = {
  type: 'string',
  enum: ['security', 'complexity', 'correctness', 'testing', 'maintainability'],
};

export const outputsSchema = {
  type: 'object',
  required: ['score', 'summary', 'metrics', 'issues'],
  properties: {
    score: { type: 'integer', minimum: 0, maximum: 100 },
    summary: { type: 'string', maxLength: 500 },
    metrics: {
      type: 'object',
      required: ['complexityScore', 'testCoverage', 'securityIssues'],
      properties: {
        complexityScore: {
          type: 'integer',
          minimum: 0,
          maximum: 100,
          description: '100 = flat, simple code.',
        },
        testCoverage: {
          type: 'integer',
          minimum: 0,
          maximum: 100,
          description: 'Percent of reviewed source files that have a test file (by name; nothing is run).',
        },
        securityIssues: { type: 'integer', minimum: 0 },
      },
    },
    issues: {
      type: 'array',
      maxItems: MAX_LISTED,
      description: 'Most severe first; cut to fit the 4096-byte outputs (the summary counts them all).',
      items: {
        type: 'object',
        required: ['category', 'severity', 'file', 'line', 'message', 'suggestion'],
        properties: {
          category,
          severity: { type: 'string', enum: ['critical', 'warning', 'info'] },
          file: { type: 'string' },
          line: { type: 'integer', minimum: 1 },
          message: { type: 'string', maxLength: 160 },
          suggestion: { type: 'string', maxLength: 160 },
        },
      },
    },
  },
} as const satisfies JsonSchema;
