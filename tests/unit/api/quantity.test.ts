import { describe, expect, it } from 'vitest';
import { parseQuantity, tryParseQuantity } from '../../../operator/src/api/quantity.ts';

describe('parseQuantity', () => {
  it.each([
    ['1', 1],
    ['8', 8],
    ['0', 0],
    ['100m', 0.1],
    ['1500m', 1.5],
    ['250u', 0.00025],
    ['5n', 5e-9],
    ['2k', 2000],
    ['3M', 3e6],
    ['1G', 1e9],
    ['1T', 1e12],
    ['1P', 1e15],
    ['1E', 1e18], // "E" alone is exa, not an exponent
    ['1Ki', 1024],
    ['128Mi', 128 * 1024 ** 2],
    ['1.5Gi', 1.5 * 1024 ** 3],
    ['16Gi', 16 * 1024 ** 3],
    ['1Ti', 1024 ** 4],
    ['1Pi', 1024 ** 5],
    ['1Ei', 1024 ** 6],
    ['1e3', 1000],
    ['1E3', 1000],
    ['12e-3', 0.012],
    ['1e+2', 100],
    ['0.5', 0.5],
    ['.5', 0.5],
    ['1.', 1],
    ['+2', 2],
    ['-1', -1],
    ['-100m', -0.1],
  ])('%s = %d', (text, expected) => {
    expect(parseQuantity(text)).toBe(expected);
  });

  it.each([
    '',
    ' 1',
    '1 ',
    'abc',
    'Mi',
    '1mi',
    '1ki',
    '1KI',
    '1GB',
    '1e',
    '1e1.5',
    '1.5.5',
    '--1',
    '1m1',
    '0x10',
    '1_000',
    'Infinity',
    'NaN',
    '1e999',
  ])('rejects %j', (text) => {
    expect(tryParseQuantity(text)).toBeUndefined();
    expect(() => parseQuantity(text)).toThrow(`"${text}" is not a valid Kubernetes quantity`);
  });

  it('compares quantities across suffixes', () => {
    expect(parseQuantity('1Gi')).toBeGreaterThan(parseQuantity('1G'));
    expect(parseQuantity('1000m')).toBe(parseQuantity('1'));
    expect(parseQuantity('1024Mi')).toBe(parseQuantity('1Gi'));
  });
});
