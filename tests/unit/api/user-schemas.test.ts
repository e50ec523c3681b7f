import { describe, expect, it } from 'vitest';
import {
  compileUserSchema,
  MAX_REF_EXPANSIONS,
  MAX_URL_FORMAT_LENGTH,
  REDACTED,
  redact,
  sensitivePaths,
  toRe2Syntax,
  type UserSchemaValidator,
  MAX_USER_SCHEMA_DEPTH,
  MAX_USER_SCHEMA_NODES,
} from '../../../operator/src/api/schemas.ts';

function compiled(schema: unknown): UserSchemaValidator {
  const c = compileUserSchema(schema);
  if (!c.ok) throw new Error(c.error);
  return c.validate;
}

describe('user schemas run in linear time', () => {
  it('matches pattern with RE2: ^(a+)+$ on 10,000 and 100,000 characters returns (JavaScript needs seconds at 29)', () => {
    const v = compiled({ type: 'object', properties: { s: { type: 'string', pattern: '^(a+)+$' } } });
    for (const n of [29, 10_000, 100_000]) {
      expect(v({ s: `${'a'.repeat(n)}!` })).toEqual({
        ok: false,
        errors: [{ path: '/s', message: 'must match pattern "^(a+)+$"' }],
      });
      expect(v({ s: 'a'.repeat(n) })).toEqual({ ok: true });
    }
  });

  it('matches patternProperties and propertyNames with RE2', () => {
    const v = compiled({
      type: 'object',
      patternProperties: { '^x-(a+)+$': { type: 'integer' } },
      propertyNames: { pattern: '^(x-a+|plain)$' },
    });
    expect(v({ 'x-aaa': 1, plain: 'y' })).toEqual({ ok: true });
    expect(v({ 'x-aaa': 'no' })).toMatchObject({ ok: false, errors: [{ path: '/x-aaa' }] });
    const hostile = `x-${'a'.repeat(50_000)}!`;
    expect(v({ [hostile]: 1 }).ok).toBe(false);
  });

  it('keeps the usual ECMAScript spellings RE2 lacks: \\uXXXX and \\u{X}', () => {
    expect(toRe2Syntax('^\\u0041\\u{1F600}[\\u0061-\\u007A]$')).toBe(
      '^\\x{0041}\\x{1F600}[\\x{0061}-\\x{007A}]$',
    );
    expect(toRe2Syntax('\\\\u0041')).toBe('\\\\u0041');
    const v = compiled({ type: 'string', pattern: '^[\\u0041-\\u005A]+$' });
    expect(v('ABC')).toEqual({ ok: true });
    expect(v('abc').ok).toBe(false);
  });

  it('refuses patterns RE2 cannot run, naming the keyword, where it is, and that RE2 syntax is required', () => {
    for (const [schema, at] of [
      [{ type: 'object', properties: { s: { type: 'string', pattern: '(a)\\1' } } }, '/properties/s/pattern'],
      [{ type: 'array', items: { type: 'string', pattern: '^(?=x)' } }, '/items/pattern'],
      [{ type: 'object', patternProperties: { '(?<!a)b': {} } }, '/patternProperties'],
    ] as const) {
      const c = compileUserSchema(schema);
      expect(c.ok).toBe(false);
      if (!c.ok) {
        expect(c.error.startsWith(`${at}: `)).toBe(true);
        expect(c.error).toContain('is not RE2 syntax');
        expect(c.error).toContain('RE2 syntax is required, without backreferences or lookaround');
      }
    }
    // "pattern" as data (a default, an enum) or as a property name is not the keyword.
    expect(
      compileUserSchema({
        type: 'object',
        properties: { pattern: { type: 'string', default: '(?=x)', enum: ['(?=x)'] } },
      }).ok,
    ).toBe(true);
  });

  it('checks uniqueItems by canonical JSON, in linear time', () => {
    const v = compiled({ type: 'array', uniqueItems: true });
    const many = Array.from({ length: 30_000 }, (_, i) => ({ a: i, l: [i, { b: i }] }));
    expect(v(many)).toEqual({ ok: true });
    expect(v([...many, { l: [29_999, { b: 29_999 }], a: 29_999 }])).toEqual({
      ok: false,
      errors: [{ path: '', message: 'must NOT have duplicate items' }],
    });
    expect(v([1, '1', [1], { a: 1 }, null, true, 1.5])).toEqual({ ok: true });
    expect(v([1, 1.0]).ok).toBe(false);
    expect(compiled({ type: 'array', uniqueItems: false })([1, 1])).toEqual({ ok: true });
  });

  it('refuses url strings longer than MAX_URL_FORMAT_LENGTH before the quadratic check', () => {
    const v = compiled({ type: 'string', format: 'url' });
    expect(v('https://example.com/a?b=c')).toEqual({ ok: true });
    expect(v(`https://example.com/${'a'.repeat(MAX_URL_FORMAT_LENGTH)}`).ok).toBe(false);
    expect(v(`http://${'@:'.repeat(50_000)}`).ok).toBe(false);
  });

  it('uses RE2 for draft-07 schemas too', () => {
    const v = compiled({
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'string',
      pattern: '^(a|aa)+$',
    });
    expect(v(`${'a'.repeat(50_000)}b`).ok).toBe(false);
    expect(
      compileUserSchema({ $schema: 'http://json-schema.org/draft-07/schema#', pattern: '(?=a)' }).ok,
    ).toBe(false);
  });
});

describe('compileUserSchema', () => {
  const schema = {
    type: 'object',
    required: ['repo'],
    additionalProperties: false,
    properties: {
      repo: { type: 'string', format: 'uri' },
      token: { type: 'string', 'x-paddock-sensitive': true },
      labels: { type: 'array', items: { type: 'string', maxLength: 3 } },
    },
  };

  it('validates values and reports JSON pointers', () => {
    const compiled = compileUserSchema(schema);
    if (!compiled.ok) throw new Error(compiled.error);
    expect(compiled.validate({ repo: 'https://github.com/acme/api', token: 's3cret' })).toEqual({ ok: true });
    expect(compiled.validate({ repo: 'not a uri', labels: ['ok', 'toolong'], extra: 1 })).toEqual({
      ok: false,
      errors: [
        { path: '/extra', message: 'is not a known field' },
        { path: '/repo', message: 'must match format "uri"' },
        { path: '/labels/1', message: 'must NOT have more than 3 characters' },
      ],
    });
    expect(compiled.validate({})).toEqual({ ok: false, errors: [{ path: '/repo', message: 'is required' }] });
  });

  it('does not echo sensitive values in error messages', () => {
    const compiled = compileUserSchema({
      type: 'object',
      properties: { token: { type: 'string', 'x-paddock-sensitive': true, enum: ['a'] } },
    });
    if (!compiled.ok) throw new Error(compiled.error);
    const r = compiled.validate({ token: 'hunter2' });
    expect(JSON.stringify(r)).not.toContain('hunter2');
  });

  it('caches by identity and by content', () => {
    const a = compileUserSchema(schema);
    expect(compileUserSchema(schema)).toBe(a);
    expect(compileUserSchema(structuredClone(schema))).toBe(a);
  });

  it('defaults to draft 2020-12 and accepts draft-07', () => {
    const tuple2020 = compileUserSchema({ type: 'array', prefixItems: [{ type: 'integer' }], items: false });
    if (!tuple2020.ok) throw new Error(tuple2020.error);
    expect(tuple2020.validate([1]).ok).toBe(true);
    expect(tuple2020.validate([1, 2]).ok).toBe(false);

    const draft7 = compileUserSchema({
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      definitions: { n: { type: 'integer' } },
      properties: { n: { $ref: '#/definitions/n' } },
    });
    if (!draft7.ok) throw new Error(draft7.error);
    expect(draft7.validate({ n: 'x' })).toEqual({
      ok: false,
      errors: [{ path: '/n', message: 'must be integer' }],
    });
  });

  it('explains what is wrong with an invalid schema', () => {
    const typo = compileUserSchema({ type: 'object', properties: { a: { type: 'strin' } } });
    expect(typo.ok).toBe(false);
    if (!typo.ok) expect(typo.error).toMatch(/^not a valid JSON Schema: \/properties\/a\/type must be/);

    const badRef = compileUserSchema({ type: 'object', properties: { a: { $ref: '#/$defs/missing' } } });
    expect(badRef.ok).toBe(false);
    if (!badRef.ok) expect(badRef.error).toContain("can't resolve reference #/$defs/missing");

    const badKeyword = compileUserSchema({ type: 'string', 'x-paddock-sensitive': 'yes' });
    expect(badKeyword.ok).toBe(false);
    if (!badKeyword.ok) expect(badKeyword.error).toContain('x-paddock-sensitive');

    const notObject = compileUserSchema('object');
    expect(notObject.ok).toBe(false);
    if (!notObject.ok) expect(notObject.error).toContain('must be a JSON object');

    const unknownDraft = compileUserSchema({ $schema: 'http://json-schema.org/draft-04/schema#' });
    expect(unknownDraft.ok).toBe(false);
    if (!unknownDraft.ok) expect(unknownDraft.error).toContain('unsupported $schema');
  });

  it('lets two different schemas use the same $id', () => {
    const a = compileUserSchema({ $id: 'https://example.com/s', type: 'string' });
    const b = compileUserSchema({ $id: 'https://example.com/s', type: 'integer' });
    if (!a.ok || !b.ok) throw new Error('compile failed');
    expect(a.validate('x').ok).toBe(true);
    expect(b.validate(1).ok).toBe(true);
    expect(b.validate('x').ok).toBe(false);
  });
});

describe('sensitivePaths', () => {
  it('finds sensitive properties through properties, items, additionalProperties and composition', () => {
    const schema = {
      type: 'object',
      $defs: {
        cred: { type: 'object', properties: { password: { type: 'string', 'x-paddock-sensitive': true } } },
      },
      properties: {
        token: { type: 'string', 'x-paddock-sensitive': true },
        'a/b~c': { type: 'string', 'x-paddock-sensitive': true },
        plain: { type: 'string', 'x-paddock-sensitive': false },
        creds: { type: 'array', items: { $ref: '#/$defs/cred' } },
        headers: { type: 'object', additionalProperties: { type: 'string', 'x-paddock-sensitive': true } },
        tuple: {
          type: 'array',
          prefixItems: [{ type: 'string' }, { type: 'string', 'x-paddock-sensitive': true }],
        },
        either: {
          anyOf: [
            { type: 'string' },
            { type: 'object', properties: { key: { 'x-paddock-sensitive': true } } },
          ],
        },
        whole: {
          type: 'object',
          'x-paddock-sensitive': true,
          properties: { inner: { 'x-paddock-sensitive': true } },
        },
      },
    };
    expect(sensitivePaths(schema)).toEqual([
      '/a~1b~0c',
      '/creds/*/password',
      '/either/key',
      '/headers/*',
      '/token',
      '/tuple/1',
      '/whole',
    ]);
  });

  it('handles a sensitive root, recursive $refs and non-schemas', () => {
    expect(sensitivePaths({ type: 'string', 'x-paddock-sensitive': true })).toEqual(['']);
    const recursive = {
      $defs: {
        node: {
          type: 'object',
          properties: { secret: { 'x-paddock-sensitive': true }, child: { $ref: '#/$defs/node' } },
        },
      },
      $ref: '#/$defs/node',
    };
    const paths = sensitivePaths(recursive);
    expect(paths).toContain('/secret');
    expect(paths).toContain('/child/secret');
    expect(paths).toContain(`${'/child'.repeat(MAX_REF_EXPANSIONS - 1)}/secret`);
    // below the unrolling limit the whole subtree is hidden (fail closed)
    expect(paths).toContain('/child'.repeat(MAX_REF_EXPANSIONS));
    expect(paths).toHaveLength(MAX_REF_EXPANSIONS + 1);
    let deep: Record<string, unknown> = { secret: 'deepest', data: 1 };
    for (let i = 0; i < MAX_REF_EXPANSIONS + 2; i++) deep = { secret: `s${i}`, child: deep };
    expect(JSON.stringify(redact(deep, recursive))).not.toMatch(/"s\d|deepest/);
    expect(sensitivePaths(undefined)).toEqual([]);
    expect(sensitivePaths(true)).toEqual([]);
  });
});

describe('redact', () => {
  const schema = {
    type: 'object',
    properties: {
      repo: { type: 'string' },
      token: { type: 'string', 'x-paddock-sensitive': true },
      leaked: {
        type: 'array',
        items: {
          type: 'object',
          properties: { file: { type: 'string' }, match: { 'x-paddock-sensitive': true } },
        },
      },
      env: { type: 'object', additionalProperties: { 'x-paddock-sensitive': true } },
      nested: { type: 'object', properties: { key: { type: 'object', 'x-paddock-sensitive': true } } },
    },
  };

  it('replaces sensitive values, whatever their type, and keeps the rest', () => {
    const value = {
      repo: 'https://github.com/acme/api',
      token: 's3cret',
      leaked: [
        { file: 'a.env', match: 'AKIA...' },
        { file: 'b.env', match: 42 },
      ],
      env: { A: '1', B: '2' },
      nested: { key: { private: 'x' }, other: true },
      extra: { untouched: [1, 2] },
    };
    expect(redact(value, schema)).toEqual({
      repo: 'https://github.com/acme/api',
      token: REDACTED,
      leaked: [
        { file: 'a.env', match: REDACTED },
        { file: 'b.env', match: REDACTED },
      ],
      env: { A: REDACTED, B: REDACTED },
      nested: { key: REDACTED, other: true },
      extra: { untouched: [1, 2] },
    });
  });

  it('is pure: the input is unchanged and the output shares nothing with it', () => {
    const value = { token: 'x', extra: { list: [1] } };
    const frozen = structuredClone(value);
    const out = redact(value, schema);
    expect(value).toEqual(frozen);
    expect(out.extra).not.toBe(value.extra);
    expect(out.extra.list).not.toBe(value.extra.list);
    const none = redact(value, { type: 'object' });
    expect(none).toEqual(value);
    expect(none).not.toBe(value);
  });

  it('leaves absent sensitive fields absent and redacts a sensitive root', () => {
    expect(redact({ repo: 'r' }, schema)).toEqual({ repo: 'r' });
    expect(redact({ a: 1 }, { 'x-paddock-sensitive': true })).toBe(REDACTED);
  });
});

describe('user schemas too large or too deep to handle', () => {
  function nested(levels: number): unknown {
    let s: unknown = { type: 'string', 'x-paddock-sensitive': true };
    for (let i = 0; i < levels; i++) s = { type: 'object', properties: { a: s } };
    return s;
  }

  it('refuses a schema nesting deeper than the limit, at any depth, without overflowing the stack', () => {
    for (const levels of [40, 5_000]) {
      const r = compileUserSchema(nested(levels));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain(`deeper than ${MAX_USER_SCHEMA_DEPTH} levels`);
      // Fails closed for redaction: all of a value under such a schema is hidden.
      expect(sensitivePaths(nested(levels))).toEqual(['']);
    }
    expect(compileUserSchema(nested(20)).ok).toBe(true);
  });

  it('refuses a schema with more values than the limit', () => {
    const props: Record<string, unknown> = {};
    for (let i = 0; i < MAX_USER_SCHEMA_NODES; i++) props[`p${i}`] = { type: 'string' };
    const r = compileUserSchema({ type: 'object', properties: props });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(`more than ${MAX_USER_SCHEMA_NODES} JSON values`);
  });
});
