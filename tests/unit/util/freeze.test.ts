import { describe, expect, it } from 'vitest';
import { deepFreeze } from '../../../operator/src/util/freeze.ts';

describe('deepFreeze', () => {
  it('freezes the value and everything nested in it, and returns the same value', () => {
    const value = { a: { b: [{ c: 1 }] }, d: 'x' };
    const out = deepFreeze(value);
    expect(out).toBe(value);
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.a)).toBe(true);
    expect(Object.isFrozen(value.a.b)).toBe(true);
    expect(Object.isFrozen(value.a.b[0])).toBe(true);
    expect(() => {
      (value.a.b[0] as { c: number }).c = 2;
    }).toThrow(TypeError);
  });

  it('passes scalars and null through', () => {
    expect(deepFreeze(3)).toBe(3);
    expect(deepFreeze(null)).toBe(null);
    expect(deepFreeze('s')).toBe('s');
  });

  it('does not walk into an already frozen object', () => {
    const inner = { x: 1 };
    const shared = Object.freeze({ inner });
    deepFreeze({ shared });
    expect(Object.isFrozen(inner)).toBe(false);
  });

  it('handles shared references and cycles', () => {
    const node: { self?: unknown; list: unknown[] } = { list: [] };
    node.self = node;
    node.list.push(node);
    expect(() => deepFreeze(node)).not.toThrow();
    expect(Object.isFrozen(node.list)).toBe(true);
  });
});
