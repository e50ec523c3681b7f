// The local runner end to end (sdk/typescript/src/local-runner.ts): it spawns a real agent process
// (tests/unit/sdk/fixtures/echo-agent.ts, built on runAgent) with a pod's environment and reports
// what happened (docs/agent-authors.md#the-local-runner).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunnerArgs } from '../../../sdk/typescript/src/local-runner.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// The pinned Node 24 (the machine's node may be older and unable to run .ts files).
const NODE = join(ROOT, 'node_modules/.bin/node');
const RUNNER = 'sdk/typescript/src/local-runner.ts';
const AGENT = 'tests/unit/sdk/fixtures/echo-agent.ts';
const TOKEN = 'tok-ab12cd34ef';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'paddock-local-runner-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runner(inputs: unknown, ...args: string[]) {
  const file = join(dir, `inputs-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(inputs, null, 2));
  const r = spawnSync(NODE, [RUNNER, AGENT, '--inputs', file, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'], CALLER_ONLY: 'must-not-leak' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('an agent stopped by a signal (the pod deleted, cancelled or timed out)', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s: exits %i at once with the reason as its outputs file', async (signal, expected) => {
    const out = join(dir, `signal-${signal}.json`);
    // The agent itself, as its container runs it: with a pod's environment, no runner in between.
    const child = spawn(NODE, [AGENT], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'],
        PADDOCK_INPUTS: JSON.stringify({ mode: 'hang' }),
        PADDOCK_OUTPUTS_FILE: out,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let sent = 0;
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      // Twice, as an impatient kubelet or user might: the second must change nothing.
      if (sent === 0 && stderr.includes('"msg":"started"')) {
        child.kill(signal);
        child.kill(signal);
        sent = 2;
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(expected);
    expect(readFileSync(out, 'utf8')).toBe(
      `stopped by ${signal} before it finished (the pod was deleted, cancelled or timed out)`,
    );
  });
});

describe('an agent whose run() never settles', () => {
  it('exits 1 saying so, instead of Node exiting 13 with nothing written', () => {
    const out = join(dir, 'never.json');
    const r = spawnSync(NODE, [AGENT], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        PATH: process.env['PATH'],
        PADDOCK_INPUTS: JSON.stringify({ mode: 'never' }),
        PADDOCK_OUTPUTS_FILE: out,
      },
    });
    expect(r.status).toBe(1);
    expect(readFileSync(out, 'utf8')).toMatch(/^run\(\) never finished: its promise was still pending/);
  });
});

describe('local runner', () => {
  it('runs the agent, prints its outputs on stdout and exits 0', () => {
    const r = runner({ mode: 'ok', who: 'ada' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ greeting: 'hello ada' });
    expect(r.stderr).toContain('agent exited 0; outputs: 24 bytes');
    // The agent's structured logs pass through on stderr.
    expect(r.stderr).toContain('"msg":"started"');
  });

  it("gives the agent a pod's environment: PADDOCK_* names, --env values, a temporary TMPDIR, nothing else", () => {
    const out = join(dir, 'env-outputs.json');
    const r = runner(
      { mode: 'env' },
      '--env',
      'GREETING=bonjour',
      '--step',
      'scan',
      '--attempt',
      '3',
      '--outputs',
      out,
    );
    expect(r.code).toBe(0);
    const outputs = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>;
    expect(outputs['greeting']).toBe('bonjour');
    expect(outputs['step']).toBe('local/scan/3');
    expect(outputs['tmp']).toMatch(/paddock-agent-/);
    // The caller's own variables stay out (a pod has only what the Agent declares).
    expect(outputs['caller']).toBe('absent');
  });

  it('exits with the agent failure code and prints the reason, sensitive values redacted', () => {
    const r = runner({ mode: 'fail', token: TOKEN });
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('agent exited 7: cannot log in with [REDACTED]');
    expect(r.stderr).not.toContain(TOKEN);
  });

  it('an uncaught error exits 1', () => {
    const r = runner({ mode: 'throw', token: TOKEN });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('agent exited 1: uncaught TypeError: boom near [REDACTED]');
    expect(r.stderr).not.toContain(TOKEN);
  });

  it('invalid inputs exit 2 naming the field', () => {
    const r = runner({ mode: 'ok', who: 5 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('agent exited 2: inputs do not match inputsSchema at /who: must be string');
  });

  it('outputs over 4096 bytes exit 4 with both sizes', () => {
    const r = runner({ mode: 'big', size: 5000 });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('outputs are 5015 bytes of JSON, over the 4096-byte limit');
  });

  it('refuses a bad command line with exit 64 and the usage', () => {
    const r = spawnSync(NODE, [RUNNER, AGENT], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('--inputs <file> is required');
    expect(r.stderr).toContain('usage: node sdk/typescript/src/local-runner.ts');
  });
});

describe('the example in docs/agent-authors.md', () => {
  it('runs with the documented command line', () => {
    const r = spawnSync(
      NODE,
      [RUNNER, 'sdk/typescript/examples/hello.ts', '--inputs', 'sdk/examples/hello-inputs.json'],
      { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env['PATH'] } },
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ greeting: 'Hello, Ada!', length: 11 });
    expect(r.stderr).toContain('"apiToken":"[REDACTED]"');
    expect(r.stderr).not.toContain('tok-not-a-real-secret');
  });

  it('runs the same agent bundled into one file by esbuild (no dynamic requires)', () => {
    const bundle = join(dir, 'hello.mjs');
    const esbuild = spawnSync(
      join(ROOT, 'node_modules/.bin/esbuild'),
      [
        'sdk/typescript/examples/hello.ts',
        '--bundle',
        '--platform=node',
        '--format=esm',
        `--outfile=${bundle}`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(esbuild.status, esbuild.stderr).toBe(0);
    const r = spawnSync(NODE, [RUNNER, bundle, '--inputs', 'sdk/examples/hello-inputs.json'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ greeting: 'Hello, Ada!', length: 11 });
  });
});

describe('parseRunnerArgs', () => {
  it('reads the options and refuses PADDOCK_ names in --env', () => {
    expect(parseRunnerArgs(['a.ts', '--inputs', 'i.json', '--env', 'A=1=2', '--env', 'B='])).toEqual({
      agent: 'a.ts',
      inputsFile: 'i.json',
      outputsFile: undefined,
      env: { A: '1=2', B: '' },
      workflow: 'local',
      step: 'local',
      attempt: 1,
    });
    expect(() => parseRunnerArgs(['a.ts', '--inputs', 'i', '--env', 'PADDOCK_STEP=x'])).toThrow(/PADDOCK_/);
    expect(() => parseRunnerArgs(['a.ts', '--inputs', 'i', '--env', 'novalue'])).toThrow(/NAME=value/);
    expect(() => parseRunnerArgs(['a.ts', '--inputs', 'i', '--attempt', '0'])).toThrow(/--attempt/);
  });
});
