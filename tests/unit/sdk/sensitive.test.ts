// Finding and hiding sensitive values (sdk/typescript/src/sensitive.ts, docs/agent-authors.md#sensitive-fields).
import { describe, expect, it } from 'vitest';
import {
  REDACTED,
  Scrubber,
  safePointer,
  secretEnvValues,
  sensitivePaths,
  sensitiveStrings,
} from '../../../sdk/typescript/src/sensitive.ts';

const S = { 'x-paddock-sensitive': true };

describe('sensitivePaths', () => {
  it('follows properties, items, additionalProperties, allOf and local $refs', () => {
    const schema = {
      type: 'object',
      $defs: { cred: { type: 'object', properties: { key: { type: 'string', ...S } } } },
      properties: {
        a: { type: 'string', ...S },
        list: { type: 'array', items: { properties: { m: S } } },
        map: { additionalProperties: S },
        both: { allOf: [{ properties: { x: S } }] },
        ref: { $ref: '#/$defs/cred' },
        plain: { type: 'string' },
      },
    };
    expect(
      sensitivePaths(schema)
        .map((p) => '/' + p.join('/'))
        .sort(),
    ).toEqual(['/a', '/both/x', '/list/*/m', '/map/*', '/ref/key'].sort());
  });

  it('collects the values at those paths, keys of sensitive objects included', () => {
    const schema = { properties: { list: { items: { properties: { m: S } } }, obj: S } };
    const data = { list: [{ m: 'one' }, { m: 2 }, { other: 'x' }], obj: { k1: 'v1' }, free: 'free' };
    expect(sensitiveStrings(data, schema).sort()).toEqual(['2', 'k1', 'one', 'v1']);
  });
});

describe('safePointer', () => {
  const schema = { properties: { creds: S, list: { items: { properties: { m: S } } } } };
  it('cuts a pointer at the sensitive value it reaches; keys and indexes matched by * are shown as *', () => {
    expect(safePointer('/creds/password', schema)).toBe('/creds');
    expect(safePointer('/list/3/m/deeper', schema)).toBe('/list/*/m');
    expect(safePointer('/other/x', schema)).toBe('/other/x');
    expect(safePointer('/x', { ...S })).toBe('');
  });
});

describe('Scrubber', () => {
  it('replaces secrets inside text, longest first, and short ones only as whole values', () => {
    const s = new Scrubber();
    s.add(['abc', 'secret-1', 'secret-1-long']);
    expect(s.text('a secret-1-long and secret-1')).toBe(`a ${REDACTED} and ${REDACTED}`);
    expect(s.text('abc')).toBe(REDACTED);
    expect(s.text('abcdef')).toBe('abcdef');
    expect(s.data({ 'secret-1': ['secret-1', 'ok', 7], n: 7 })).toEqual({
      [REDACTED]: [REDACTED, 'ok', 7],
      n: 7,
    });
  });

  it('makes any value loggable: errors, circular objects, bigints', () => {
    const s = new Scrubber();
    s.add(['pw-1234']);
    const circular: Record<string, unknown> = { a: 1 };
    circular['self'] = circular;
    expect(s.data({ e: new Error('bad pw-1234'), c: circular, b: 10n })).toEqual({
      e: { name: 'Error', message: `bad ${REDACTED}` },
      c: { a: 1, self: '[Circular]' },
      b: '10',
    });
  });
});

describe('secretEnvValues', () => {
  it('takes listed variables and those whose names look secret, never PADDOCK_ ones', () => {
    const env = {
      GITHUB_TOKEN: 't1',
      DB_PASSWORD: 'p1',
      LISTED: 'l1',
      HOME: '/tmp',
      PADDOCK_INPUTS: '{}',
      EMPTY_TOKEN: '',
    };
    expect(secretEnvValues(env, ['LISTED']).sort()).toEqual(['l1', 'p1', 't1']);
  });
});
