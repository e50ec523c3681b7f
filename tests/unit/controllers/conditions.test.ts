import { describe, expect, it } from 'vitest';
import {
  conditionsEqual,
  findCondition,
  isTrue,
  metaTime,
  setConditions,
  type Condition,
  type ConditionInput,
} from '../../../operator/src/controllers/conditions.ts';

const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:05:00Z';

const ready = (status: Condition['status'], reason = 'Valid', message = ''): ConditionInput => ({
  type: 'Ready',
  status,
  reason,
  message,
});

function cond(type: string, status: Condition['status'], extra: Partial<Condition> = {}): Condition {
  return { type, status, lastTransitionTime: T0, reason: 'R', message: '', ...extra };
}

describe('setConditions', () => {
  it('stamps new conditions with now and the generation, in the given order', () => {
    const out = setConditions(
      undefined,
      [ready('True'), { type: 'Stalled', status: 'False', reason: 'Valid', message: 'm' }],
      3,
      T0,
    );
    expect(out).toEqual([
      {
        type: 'Ready',
        status: 'True',
        observedGeneration: 3,
        lastTransitionTime: T0,
        reason: 'Valid',
        message: '',
      },
      {
        type: 'Stalled',
        status: 'False',
        observedGeneration: 3,
        lastTransitionTime: T0,
        reason: 'Valid',
        message: 'm',
      },
    ]);
  });

  it('keeps lastTransitionTime when the status is unchanged, even if reason and message change', () => {
    const first = setConditions(undefined, [ready('False', 'A', 'one')], 1, T0);
    const second = setConditions(first, [ready('False', 'B', 'two')], 2, T1);
    expect(second).toEqual([
      {
        type: 'Ready',
        status: 'False',
        observedGeneration: 2,
        lastTransitionTime: T0,
        reason: 'B',
        message: 'two',
      },
    ]);
  });

  it('moves lastTransitionTime when the status flips', () => {
    const first = setConditions(undefined, [ready('False', 'A')], 1, T0);
    const second = setConditions(first, [ready('True')], 1, T1);
    expect(second[0]!.lastTransitionTime).toBe(T1);
    const third = setConditions(
      second,
      [{ ...ready('Unknown'), reason: 'Checking' }],
      1,
      '2025-01-02T00:00:00Z',
    );
    expect(third[0]!.lastTransitionTime).toBe('2025-01-02T00:00:00Z');
  });

  it('sets observedGeneration on every desired condition, and leaves it out without a generation', () => {
    const prev = [cond('Ready', 'True', { observedGeneration: 1 })];
    expect(setConditions(prev, [ready('True')], 7, T1)[0]!.observedGeneration).toBe(7);
    const noGen = setConditions(undefined, [ready('True')], undefined, T1)[0]!;
    expect('observedGeneration' in noGen).toBe(false);
  });

  it('keeps unrelated conditions untouched, after the desired ones', () => {
    const other = cond('Progressing', 'True', { observedGeneration: 1, reason: 'Theirs', message: 'kept' });
    const prev = [other, cond('Ready', 'False')];
    const out = setConditions(prev, [ready('True')], 2, T1);
    expect(out.map((c) => c.type)).toEqual(['Ready', 'Progressing']);
    expect(out[1]).toBe(other);
    expect(out[1]).toEqual({
      type: 'Progressing',
      status: 'True',
      observedGeneration: 1,
      lastTransitionTime: T0,
      reason: 'Theirs',
      message: 'kept',
    });
  });

  it('does not mutate its input', () => {
    const prev = [cond('Ready', 'False')];
    const snapshot = structuredClone(prev);
    setConditions(prev, [ready('True')], 2, T1);
    expect(prev).toEqual(snapshot);
  });

  it('truncates very long messages', () => {
    const out = setConditions(undefined, [ready('False', 'Bad', 'x'.repeat(40_000))], 1, T0);
    expect(out[0]!.message).toHaveLength(32_768);
    expect(out[0]!.message.endsWith('...')).toBe(true);
    const exact = setConditions(undefined, [ready('False', 'Bad', 'y'.repeat(32_768))], 1, T0);
    expect(exact[0]!.message).toBe('y'.repeat(32_768));
  });
});

describe('findCondition / isTrue', () => {
  it('find by type; isTrue only for status True', () => {
    const conds = [cond('Ready', 'True'), cond('Stalled', 'False'), cond('X', 'Unknown')];
    expect(findCondition(conds, 'Stalled')?.status).toBe('False');
    expect(findCondition(conds, 'Nope')).toBeUndefined();
    expect(findCondition(undefined, 'Ready')).toBeUndefined();
    expect(isTrue(conds, 'Ready')).toBe(true);
    expect(isTrue(conds, 'Stalled')).toBe(false);
    expect(isTrue(conds, 'X')).toBe(false);
    expect(isTrue(undefined, 'Ready')).toBe(false);
  });
});

describe('conditionsEqual', () => {
  const a = cond('Ready', 'True', { observedGeneration: 1 });
  const b = cond('Stalled', 'False', { observedGeneration: 1 });

  it('is order-insensitive', () => {
    expect(conditionsEqual([a, b], [b, a])).toBe(true);
    expect(conditionsEqual([a, b], [structuredClone(a), structuredClone(b)])).toBe(true);
  });

  it('treats undefined as empty', () => {
    expect(conditionsEqual(undefined, [])).toBe(true);
    expect(conditionsEqual([], undefined)).toBe(true);
    expect(conditionsEqual(undefined, [a])).toBe(false);
  });

  it('differs on any field a reader sees', () => {
    for (const change of [
      { status: 'False' },
      { reason: 'Other' },
      { message: 'changed' },
      { observedGeneration: 2 },
      { lastTransitionTime: T1 },
    ] as Partial<Condition>[]) {
      expect(conditionsEqual([a, b], [{ ...a, ...change }, b])).toBe(false);
    }
    const { observedGeneration: _g, ...noGen } = a;
    expect(conditionsEqual([a], [noGen])).toBe(false);
  });

  it('differs on a missing, extra or replaced condition', () => {
    expect(conditionsEqual([a, b], [a])).toBe(false);
    expect(conditionsEqual([a], [a, b])).toBe(false);
    expect(conditionsEqual([a, b], [a, cond('Other', 'False', { observedGeneration: 1 })])).toBe(false);
  });
});

describe('metaTime', () => {
  it('formats RFC 3339 with second precision in UTC', () => {
    expect(metaTime(new Date('2025-03-04T05:06:07.890Z'))).toBe('2025-03-04T05:06:07Z');
    expect(metaTime(new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999)))).toBe('2024-02-29T23:59:59Z');
    expect(metaTime(new Date(0))).toBe('1970-01-01T00:00:00Z');
    expect(metaTime(new Date('2025-03-04T05:06:07+02:00'))).toBe('2025-03-04T03:06:07Z');
  });
});
