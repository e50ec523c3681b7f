// The notifier's schemas (examples/agents/notifier.yaml declares the same; a unit test keeps the two equal).
import type { JsonSchema } from '../../sdk/typescript/src/index.ts';

export const inputsSchema = {
  type: 'object',
  required: ['text'],
  additionalProperties: false,
  properties: {
    webhookUrl: {
      type: 'string',
      maxLength: 2048,
      pattern: '^https?://',
      description: 'Where to post. Left out: the WEBHOOK_URL environment variable (from a Secret).',
    },
    title: { type: 'string', maxLength: 200 },
    text: { type: 'string', minLength: 1, maxLength: 4000 },
    severity: { type: 'string', enum: ['info', 'warning', 'critical'], default: 'info' },
    details: { type: 'object', maxProperties: 50, description: 'Any JSON object, posted as is.' },
    timeoutSeconds: { type: 'integer', minimum: 1, maximum: 60, default: 10 },
  },
} as const satisfies JsonSchema;

export const outputsSchema = {
  type: 'object',
  required: ['delivered', 'status'],
  properties: {
    delivered: { type: 'boolean' },
    status: { type: 'integer', minimum: 100, maximum: 599, description: "The receiver's HTTP status." },
    messageId: { type: 'string', maxLength: 200, description: 'The id the receiver answered, if any.' },
  },
} as const satisfies JsonSchema;
