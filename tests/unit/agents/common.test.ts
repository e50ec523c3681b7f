import { RE2JS } from '@bufbuild/re2';
import { describe, expect, it } from 'vitest';
import { clip, fitOutputs, jsonBytes } from '../../../agents/common/fit-outputs.ts';
import { parseRepositoryPath } from '../../../agents/common/repository-path.ts';
import { findSecrets, SECRET_RULES, shannonEntropy } from '../../../agents/common/secrets.ts';
import { looksLikeText } from '../../../agents/common/tree.ts';
import { unifiedDiff } from '../../../agents/common/unified-diff.ts';
import { applyFilePatch, parseUnifiedDiff } from '../../../agents/patcher/diff.ts';

// Secret-shaped samples are assembled here so the repository commits none.
const AWS_ID = ['AKIA', 'IOSFODNN7', 'EXAMPLE'].join('');
const AWS_SECRET = ['wJalrXUtnFEMI', '/K7MDENG/bPxRfiCY', 'EXAMPLEKEY'].join('');
const GH_TOKEN = ['ghp', '_', 'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A'].join('');

describe('parseRepositoryPath', () => {
  it('splits the URL and the ref, and hides credentials in the display form', () => {
    const r = parseRepositoryPath('http://user:pw@10.0.0.80:8080/git/app.git#feature/report');
    expect(r).toEqual({
      ok: true,
      value: {
        url: 'http://user:pw@10.0.0.80:8080/git/app.git',
        ref: 'feature/report',
        display: 'http://10.0.0.80:8080/git/app.git',
      },
    });
    expect(parseRepositoryPath('https://h/r.git')).toMatchObject({ ok: true, value: { ref: undefined } });
    expect(parseRepositoryPath('https://h/r.git#')).toMatchObject({ ok: true, value: { ref: undefined } });
  });

  it('refuses other schemes, non-URLs and odd refs, naming the field', () => {
    expect(parseRepositoryPath('file:///srv/repo')).toEqual({
      ok: false,
      error: 'repositoryPath: only http and https repositories are supported, not file:',
    });
    expect(parseRepositoryPath('not a url').ok).toBe(false);
    expect(parseRepositoryPath('http://h/r.git#a..b')).toMatchObject({ ok: false, error: /ref after #/ });
    expect(parseRepositoryPath('http://h/r.git#a b', 'repo')).toMatchObject({ ok: false, error: /^repo: / });
  });
});

describe('fitOutputs', () => {
  it('keeps everything that fits', () => {
    const o = { a: 1, list: [1, 2, 3] };
    expect(fitOutputs(o, ['list'])).toEqual({ outputs: o, dropped: { list: 0 } });
  });

  it('drops items from the end, the first list first, and lets finish() count them', () => {
    const o = { note: '', first: Array.from({ length: 100 }, (_, i) => `f${i}`), second: ['keep'] };
    const { outputs, dropped } = fitOutputs(
      o,
      ['first', 'second'],
      (x, d) => ({ ...x, note: `${d.first} dropped` }),
      200,
    );
    expect(jsonBytes(outputs)).toBeLessThanOrEqual(200);
    expect(outputs.second).toEqual(['keep']);
    expect(outputs.first).toEqual(o.first.slice(0, outputs.first.length));
    expect(outputs.note).toBe(`${dropped.first} dropped`);
    expect(dropped.first).toBe(100 - outputs.first.length);
    expect(o.first).toHaveLength(100); // the input is not mutated
  });

  it('throws when the fixed fields alone are too large', () => {
    expect(() => fitOutputs({ big: 'x'.repeat(5000), l: [] as string[] }, ['l'])).toThrow(
      /even without their lists/,
    );
  });

  it('clip marks a cut', () => {
    expect(clip('abcdef', 4)).toBe('abc…');
    expect(clip('abc', 4)).toBe('abc');
  });
});

describe('secrets', () => {
  it('every pattern is RE2 syntax (linear-time matching)', () => {
    for (const rule of SECRET_RULES) {
      expect(
        () => RE2JS.compile(rule.pattern, rule.flags === 'i' ? RE2JS.CASE_INSENSITIVE : 0),
        rule.id,
      ).not.toThrow();
    }
  });

  it('finds AWS keys, GitHub tokens and private keys with file and line', () => {
    const text = `# config\nAWS_ACCESS_KEY_ID=${AWS_ID}\naws_secret_access_key = "${AWS_SECRET}"\ntoken: ${GH_TOKEN}\n-----BEGIN RSA PRIVATE KEY-----\n`;
    expect(findSecrets('c.env', text).map((s) => `${s.rule}:${s.line}:${s.match}`)).toEqual([
      `aws-access-key-id:2:${AWS_ID}`,
      `aws-secret-access-key:3:${AWS_SECRET}`,
      `github-token:4:${GH_TOKEN}`,
      'private-key:5:-----BEGIN RSA PRIVATE KEY-----',
    ]);
  });

  it('reports a generic password assignment only when its value has enough entropy', () => {
    expect(findSecrets('a', 'DB_PASSWORD=changemechangeme\n')).toEqual([]);
    expect(findSecrets('a', 'password = "aaaaaaaaaaaaaaaa"\n')).toEqual([]);
    expect(findSecrets('a', 'DB_PASSWORD=Xq7!pR2#vL9@zK4m\n').map((s) => s.rule)).toEqual([
      'generic-secret-assignment',
    ]);
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
  });

  it('takes linear time on a hostile line (cut at MAX_LINE)', () => {
    const hostile = `password=${'a'.repeat(200_000)}`;
    expect(findSecrets('x', hostile)).toEqual([]);
  });
});

describe('looksLikeText', () => {
  it('is false with a NUL byte in the first 8000 bytes', () => {
    expect(looksLikeText(Buffer.from('hello'))).toBe(true);
    expect(looksLikeText(Buffer.from([104, 0, 105]))).toBe(false);
  });
});

describe('unifiedDiff and the patcher diff round trip', () => {
  const before = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

  it('writes hunks with 3 lines of context, separate when far apart', () => {
    const after = before.replace('line 2\n', 'line two\n').replace('line 25\n', '');
    const diff = unifiedDiff('f.txt', before, after);
    expect(diff).toBe(
      [
        'diff --git a/f.txt b/f.txt',
        '--- a/f.txt',
        '+++ b/f.txt',
        '@@ -1,5 +1,5 @@',
        ' line 1',
        '-line 2',
        '+line two',
        ' line 3',
        ' line 4',
        ' line 5',
        '@@ -22,7 +22,6 @@',
        ' line 22',
        ' line 23',
        ' line 24',
        '-line 25',
        ' line 26',
        ' line 27',
        ' line 28',
        '',
      ].join('\n'),
    );
    expect(unifiedDiff('f', before, before)).toBe('');
  });

  it.each([
    ['a change in the middle', (t: string) => t.replace('line 15\n', 'fifteen\nand more\n')],
    ['an insertion at the top', (t: string) => `new first\n${t}`],
    ['an append at the end', (t: string) => `${t}appended\n`],
    ['removing everything', () => ''],
  ])('what it writes applies back: %s', (_name, edit) => {
    const after = edit(before);
    const parsed = parseUnifiedDiff(unifiedDiff('f.txt', before, after));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const applied = applyFilePatch(before, { ...parsed.files[0]!, newPath: 'f.txt' });
    expect(applied).toEqual({ ok: true, text: after });
  });
});
