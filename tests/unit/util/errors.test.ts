import { describe, expect, it } from 'vitest';
import { errorMessage } from '../../../operator/src/util/errors.ts';

describe('errorMessage', () => {
  it("gives an Error's message only, never its other properties", () => {
    const err = Object.assign(new TypeError('boom'), {
      body: 'secret body',
      headers: { authorization: 'x' },
    });
    expect(errorMessage(err)).toBe('boom');
  });

  it('stringifies anything else that was thrown', () => {
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage(null)).toBe('null');
  });
});
