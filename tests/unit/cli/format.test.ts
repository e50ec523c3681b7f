import { describe, expect, it } from 'vitest';
import {
  age,
  expiresIn,
  humanDuration,
  listCell,
  parseOutput,
  relative,
  renderObjects,
  renderTable,
} from '../../../cli/lib/format.ts';
import { approval, NOW } from './fixtures.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('humanDuration (kubectl AGE)', () => {
  it.each([
    [-5 * S, '<invalid>'],
    [-500, '0s'],
    [0, '0s'],
    [45 * S, '45s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [5 * M + 30 * S, '5m30s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [5 * H + 3 * M, '5h3m'],
    [8 * H + 30 * M, '8h'],
    [47 * H, '47h'],
    [2 * D, '2d'],
    [3 * D + 4 * H, '3d4h'],
    [8 * D + 4 * H, '8d'],
    [729 * D, '729d'],
    [2 * 365 * D + 10 * D, '2y10d'],
    [3 * 365 * D, '3y'],
    [9 * 365 * D, '9y'],
  ])('%d ms is %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });

  it('age, expiry and relative times against a fixed now', () => {
    expect(age('2026-03-01T11:55:00Z', NOW)).toBe('5m');
    expect(age(undefined, NOW)).toBe('<unknown>');
    expect(expiresIn('2026-03-01T12:30:00Z', NOW)).toBe('30m');
    expect(expiresIn('2026-03-01T11:00:00Z', NOW)).toBe('expired');
    expect(expiresIn(undefined, NOW)).toBe('<none>');
    expect(relative('2026-03-01T12:30:00Z', NOW)).toBe('in 30m');
    expect(relative('2026-03-01T11:30:00Z', NOW)).toBe('30m ago');
    expect(relative('garbage', NOW)).toBe('');
  });
});

describe('renderTable', () => {
  it('aligns columns three spaces apart, upper-cases headers, trims trailing spaces', () => {
    const out = renderTable(
      ['name', 'age', 'note'],
      [
        ['a', '5m', ''],
        ['longer-name', '10s', 'x'],
      ],
    );
    expect(out).toBe(
      ['NAME          AGE   NOTE', 'a             5m', 'longer-name   10s   x', ''].join('\n'),
    );
  });

  it('keeps every row on one line', () => {
    expect(renderTable(['A', 'B'], [['x\ny', 'z']])).toBe('A     B\nx y   z\n');
  });

  it('lists cells compactly', () => {
    expect(listCell(undefined)).toBe('<none>');
    expect(listCell(['a', 'b'])).toBe('a,b');
    expect(listCell(['a', 'b', 'c', 'd', 'e'])).toBe('a,b,c +2 more');
  });
});

describe('-o json|yaml|name', () => {
  const a = approval({});
  a.metadata.managedFields = [{ manager: 'x' }];

  it('name prints resource/name per object', () => {
    expect(renderObjects([a, approval({ name: 'b' })], 'name', 'approval.paddock.dev', true)).toBe(
      'approval.paddock.dev/release-deploy-approval-1\napproval.paddock.dev/b\n',
    );
  });

  it('json of several is a List, without managedFields', () => {
    const doc = JSON.parse(renderObjects([a], 'json', 'approval.paddock.dev', true)) as {
      kind: string;
      items: Array<{ metadata: Record<string, unknown> }>;
    };
    expect(doc.kind).toBe('List');
    expect(doc.items[0]?.metadata['managedFields']).toBeUndefined();
    expect(a.metadata.managedFields).toHaveLength(1); // the input is not mutated
  });

  it('yaml of one object is the object', () => {
    const out = renderObjects([a], 'yaml', 'approval.paddock.dev', false);
    expect(out).toMatch(/^apiVersion: paddock.dev\/v1alpha1\nkind: Approval\n/);
    expect(out).not.toContain('managedFields');
  });

  it('refuses unknown formats with the allowed ones', () => {
    expect(parseOutput(undefined, ['json'])).toBeUndefined();
    expect(parseOutput('json', ['json', 'yaml'])).toBe('json');
    expect(() => parseOutput('wide', ['json', 'yaml'])).toThrow('use one of json, yaml');
  });
});
