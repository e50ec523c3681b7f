// Where an agent's inputs come from (sdk/typescript/src/inputs.ts, docs/agent-authors.md#inputs).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readInputs } from '../../../sdk/typescript/src/inputs.ts';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'paddock-sdk-inputs-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readInputs', () => {
  it('reads $PADDOCK_INPUTS', () => {
    expect(readInputs({ PADDOCK_INPUTS: '{"repo":"a"}' })).toEqual({
      ok: true,
      value: { repo: 'a' },
      source: '$PADDOCK_INPUTS',
    });
  });

  it('reads the file named by $PADDOCK_INPUTS_FILE when the variable is absent or empty', () => {
    const file = join(dir, 'inputs.json');
    writeFileSync(file, '{"repo": "from-file", "n": [1, 2]}\n');
    for (const env of [{ PADDOCK_INPUTS_FILE: file }, { PADDOCK_INPUTS: '', PADDOCK_INPUTS_FILE: file }]) {
      const r = readInputs(env);
      expect(r).toEqual({
        ok: true,
        value: { repo: 'from-file', n: [1, 2] },
        source: `$PADDOCK_INPUTS_FILE (${file})`,
      });
    }
  });

  it('prefers the variable over the file', () => {
    const file = join(dir, 'inputs.json');
    writeFileSync(file, '{"repo": "file"}');
    const r = readInputs({ PADDOCK_INPUTS: '{"repo":"env"}', PADDOCK_INPUTS_FILE: file });
    expect(r.ok && r.value).toEqual({ repo: 'env' });
  });

  it('says clearly when neither is there, or the file cannot be read', () => {
    expect(readInputs({})).toEqual({
      ok: false,
      message: expect.stringContaining('neither $PADDOCK_INPUTS nor $PADDOCK_INPUTS_FILE is set') as string,
    });
    const missing = join(dir, 'nope.json');
    const r = readInputs({ PADDOCK_INPUTS_FILE: missing });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toBe(
      `no inputs: $PADDOCK_INPUTS is not set and $PADDOCK_INPUTS_FILE (${missing}) cannot be read (ENOENT)`,
    );
  });

  it('refuses invalid JSON without quoting it', () => {
    const file = join(dir, 'inputs.json');
    writeFileSync(file, '{"password": "hunter2-secret",}');
    const r = readInputs({ PADDOCK_INPUTS_FILE: file });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/^\$PADDOCK_INPUTS_FILE \(.*\) is not valid JSON \(31 bytes;/);
    expect(!r.ok && r.message).not.toContain('hunter2');
  });
});
