// The patcher's schemas (examples/agents/patcher.yaml declares the same; a unit test keeps the two equal).
import type { JsonSchema } from '../../sdk/typescript/src/index.ts';
import { repositoryPathSchema } from '../common/repository-path.ts';

export const MAX_FILES_LISTED = 50;
export const MAX_CONFLICTS_LISTED = 20;

export const inputsSchema = {
  type: 'object',
  required: ['repositoryPath', 'patchContent'],
  additionalProperties: false,
  properties: {
    repositoryPath: repositoryPathSchema(
      'Git repository URL (smart HTTP); a #branch suffix names the default targetBranch.',
    ),
    patchContent: {
      type: 'string',
      minLength: 1,
      maxLength: 100000,
      description:
        'Unified diff (git diff or diff -u, paths relative to the repository root, a/ b/ prefixes allowed).',
    },
    targetBranch: {
      type: 'string',
      maxLength: 255,
      pattern: '^[A-Za-z0-9._/-]+$',
      default: 'main',
      description: 'The branch to commit to (default: the #branch of repositoryPath, else main).',
    },
    createBackup: {
      type: 'boolean',
      default: true,
      description: 'Push the branch as it was to paddock/backup/<workflow>/<step>/<targetBranch> first.',
    },
  },
} as const satisfies JsonSchema;

export const outputsSchema = {
  type: 'object',
  required: ['applied', 'filesModified', 'backupPath', 'conflicts', 'summary'],
  properties: {
    applied: { type: 'boolean', description: 'False when the diff conflicts: then nothing was changed.' },
    filesModified: { type: 'array', maxItems: MAX_FILES_LISTED, items: { type: 'string', maxLength: 300 } },
    backupPath: {
      type: 'string',
      maxLength: 400,
      description: 'The backup branch (empty when createBackup is false or nothing was applied).',
    },
    commit: { type: 'string', pattern: '^[0-9a-f]{40}$', description: 'The commit pushed to targetBranch.' },
    conflicts: {
      type: 'array',
      maxItems: MAX_CONFLICTS_LISTED,
      items: {
        type: 'object',
        required: ['file', 'reason'],
        properties: { file: { type: 'string', maxLength: 300 }, reason: { type: 'string', maxLength: 200 } },
      },
    },
    summary: { type: 'string', maxLength: 500 },
  },
} as const satisfies JsonSchema;
