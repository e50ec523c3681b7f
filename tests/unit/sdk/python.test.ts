// Runs the Python agent SDK's own unit tests (sdk/python/tests/, standard unittest) so that `make test`
// covers them. Python 3.9 or newer is required: without it this test fails and says so (it is not skipped).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MIN_PYTHON: readonly [number, number] = [3, 9];

function pythonVersion(): [number, number] | string {
  const r = spawnSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8',
  });
  if (r.error) return `python3 cannot be run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  const m = /^(\d+)\.(\d+)/.exec(r.stdout.trim());
  return m ? [Number(m[1]), Number(m[2])] : `python3 printed no version (${r.stderr.trim()})`;
}

describe('Python agent SDK', () => {
  it(`needs python3 >= ${MIN_PYTHON.join('.')} on PATH`, () => {
    const v = pythonVersion();
    expect(typeof v === 'string' ? v : `python3 ${v.join('.')}`).toMatch(/^python3 \d+\.\d+$/);
    const [major, minor] = v as [number, number];
    expect(
      major * 100 + minor,
      `python3 ${major}.${minor} is older than ${MIN_PYTHON.join('.')}`,
    ).toBeGreaterThanOrEqual(MIN_PYTHON[0] * 100 + MIN_PYTHON[1]);
  });

  it('passes its unittest suite (sdk/python/tests)', () => {
    const r = spawnSync(
      'python3',
      ['-m', 'unittest', 'discover', '-s', 'sdk/python/tests', '-t', 'sdk/python'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        // The checkout stays clean: no __pycache__ next to the sources.
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
        timeout: 120_000,
      },
    );
    const report = `${r.stdout}${r.stderr}`;
    expect(r.status, report).toBe(0);
    const ran = /Ran (\d+) tests?/.exec(report);
    expect(Number(ran?.[1] ?? 0), report).toBeGreaterThanOrEqual(30);
    expect(report).toMatch(/\nOK\s*$/);
  });
});
