import { describe, expect, it } from 'vitest';
import type { JsonSchemaObject } from '../../../../operator/src/api/generated/index.ts';
import { parseOutputs } from '../../../../operator/src/controllers/workflow/outputs.ts';

const SCHEMA: JsonSchemaObject = {
  type: 'object',
  properties: {
    count: { type: 'integer' },
    files: { type: 'array', items: { type: 'string' } },
    meta: { type: 'object', properties: { score: { type: 'number', maximum: 1 } } },
  },
  required: ['count'],
};

describe('parseOutputs', () => {
  it('treats an empty or blank termination message as no outputs', () => {
    expect(parseOutputs(undefined, undefined)).toEqual({ ok: true, outputs: {} });
    expect(parseOutputs('', undefined)).toEqual({ ok: true, outputs: {} });
    expect(parseOutputs('  \n\t', undefined)).toEqual({ ok: true, outputs: {} });
  });

  it('parses a JSON object, tolerating surrounding whitespace', () => {
    expect(parseOutputs('\n {"a": 1, "b": [true, null], "c": {"d": "e"}} \n', undefined)).toEqual({
      ok: true,
      outputs: { a: 1, b: [true, null], c: { d: 'e' } },
    });
  });

  it('refuses text that is not JSON, never quoting it (it may hold sensitive values)', () => {
    const r = parseOutputs('Traceback (most recent call last): CANARY-boom', undefined);
    expect(r).toEqual({
      ok: false,
      reason: 'OutputNotJSON',
      message: 'the termination message is not JSON (46 bytes; messages are cut at 4096 bytes)',
    });
    // A JSON object cut at the kubelet's limit, with a secret in it.
    const cut = parseOutputs(`{"token":"CANARY-${'s'.repeat(5000)}`.slice(0, 4096), undefined);
    if (cut.ok) throw new Error('expected an error');
    // At the kubelet's limit: the agent wrote too much, and the message says so.
    expect(cut).toEqual({
      ok: false,
      reason: 'OutputTooLarge',
      message:
        "the termination message is 4096 bytes, the kubelet's limit, and not JSON: the agent wrote more than 4096 bytes of outputs and the kubelet cut them",
    });
    // One byte short of the limit is just not JSON.
    expect(parseOutputs(`{"a":"${'x'.repeat(4088)}`, undefined)).toMatchObject({ reason: 'OutputNotJSON' });
    expect(cut.message).not.toContain('CANARY');
    expect(cut.message).not.toContain('token');
  });

  it('names the path of a schema violation but never goes below a sensitive value', () => {
    const schema = {
      type: 'object' as const,
      properties: {
        creds: {
          type: 'object',
          'x-paddock-sensitive': true,
          additionalProperties: false,
          properties: { user: { type: 'string' } },
        },
      },
    };
    const r = parseOutputs(JSON.stringify({ creds: { 'CANARY-key': 1 } }), schema);
    if (r.ok) throw new Error('expected an error');
    expect(r.reason).toBe('OutputSchemaInvalid');
    expect(r.message).toContain('at /creds:');
    expect(r.message).not.toContain('CANARY');
  });

  it('refuses JSON that is not an object: array, scalar, null', () => {
    for (const text of ['[1, 2]', '42', '"text"', 'true', 'null']) {
      expect(parseOutputs(text, undefined)).toEqual({
        ok: false,
        reason: 'OutputNotJSON',
        message: 'the termination message must be a JSON object',
      });
    }
  });

  it('accepts outputs that match the schema', () => {
    expect(parseOutputs('{"count": 2, "files": ["a"], "meta": {"score": 0.5}}', SCHEMA)).toEqual({
      ok: true,
      outputs: { count: 2, files: ['a'], meta: { score: 0.5 } },
    });
  });

  it('reports a schema violation with the JSON pointer of the bad value', () => {
    const r = parseOutputs('{"count": "many"}', SCHEMA);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('OutputSchemaInvalid');
    expect(r.message).toMatch(/^outputs do not match the Agent's outputsSchema at \/count: .*integer/);
    const deep = parseOutputs('{"count": 1, "files": ["a", 3]}', SCHEMA);
    if (deep.ok) throw new Error('expected an error');
    expect(deep.message).toContain('at /files/1:');
    const nested = parseOutputs('{"count": 1, "meta": {"score": 2}}', SCHEMA);
    if (nested.ok) throw new Error('expected an error');
    expect(nested.message).toContain('at /meta/score:');
  });

  it('reports a missing required output at its pointer', () => {
    const r = parseOutputs('{}', SCHEMA);
    if (r.ok) throw new Error('expected an error');
    expect(r).toMatchObject({ reason: 'OutputSchemaInvalid' });
    expect(r.message).toBe("outputs do not match the Agent's outputsSchema at /count: is required");
    // An empty message is {} and is checked against the schema too.
    expect(parseOutputs('', SCHEMA)).toMatchObject({ ok: false, reason: 'OutputSchemaInvalid' });
  });

  it('reports a root-level violation at "/"', () => {
    const r = parseOutputs('{"a": 1}', { type: 'object', maxProperties: 0 });
    if (r.ok) throw new Error('expected an error');
    expect(r.message).toMatch(/^outputs do not match the Agent's outputsSchema at \/: /);
  });

  it('reports an outputsSchema that does not compile', () => {
    const r = parseOutputs('{"a": 1}', { type: 'object', properties: { a: { type: 'strin' } } });
    if (r.ok) throw new Error('expected an error');
    expect(r.reason).toBe('OutputSchemaInvalid');
    expect(r.message).toMatch(/^outputsSchema: /);
  });

  it('checks the type before the schema', () => {
    expect(parseOutputs('[1]', SCHEMA)).toMatchObject({ ok: false, reason: 'OutputNotJSON' });
  });
});
