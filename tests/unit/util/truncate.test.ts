import { describe, expect, it } from 'vitest';
import { truncate, truncateUtf8 } from '../../../operator/src/util/truncate.ts';

describe('truncate (UTF-16 code units)', () => {
  it('returns text within the limit unchanged', () => {
    expect(truncate('hello', 5)).toBe('hello');
    expect(truncate('', 0)).toBe('');
  });

  it('cuts longer text to exactly max units, ending with the marker', () => {
    expect(truncate('hello world', 8)).toBe('hello...');
    expect(truncate('hello world', 8)).toHaveLength(8);
    expect(truncate('x'.repeat(5000), 1024, '...(truncated)')).toBe(`${'x'.repeat(1010)}...(truncated)`);
  });

  it('never splits a surrogate pair', () => {
    // 'ab' + U+1F600 (two units) + 'cdef': a cut after 3 units would leave a lone high surrogate.
    const s = 'ab\u{1F600}cdef';
    const cut = truncate(s, 6);
    expect(cut).toBe('ab...');
    expect(cut.isWellFormed()).toBe(true);
    expect(truncate(s, 7)).toBe('ab\u{1F600}...');
  });

  it('drops the marker when it does not fit', () => {
    expect(truncate('abcdef', 2)).toBe('ab');
    expect(truncate('abcdef', 0)).toBe('');
  });
});

describe('truncateUtf8 (bytes)', () => {
  it('counts UTF-8 bytes, not characters, and cuts on a character boundary', () => {
    expect(truncateUtf8('héllo', 6)).toBe('héllo'); // é is two bytes: 6 in all
    expect(truncateUtf8('héllo', 5)).toBe('h...'); // 'hé' + '...' would be 6
    expect(Buffer.byteLength(truncateUtf8('€'.repeat(100), 10), 'utf8')).toBeLessThanOrEqual(10);
    expect(truncateUtf8('€'.repeat(100), 10)).toBe('€€...');
  });

  it('honours a custom or empty marker, and drops one that does not fit', () => {
    expect(truncateUtf8('abcdef', 4, '')).toBe('abcd');
    expect(truncateUtf8('abcdef', 2)).toBe('ab');
    expect(truncateUtf8('abcdef', 4)).toBe('a...');
    expect(truncateUtf8('ééé', 5, '')).toBe('éé');
  });

  it('replaces lone surrogates first, so the result is valid UTF-8', () => {
    expect(truncateUtf8('a\ud800b', 100)).toBe('a\ufffdb');
  });
});
