// Runs an example agent the way its pod would, without a cluster: the SDK's local runner starts agents/<name>/main.ts
// as a child process with a pod's environment, against fixtures (git server, webhook receiver) on loopback.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { afterAll, beforeAll } from 'vitest';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { startFixtures, type Fixtures } from '../../agents/fixtures/server.ts';

export interface AgentRun {
  readonly exitCode: number;
  /** The outputs file's content: outputs JSON on exit 0, else the failure reason. */
  readonly written: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly workflow?: string;
  readonly step?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** Runs agents/<name>/main.ts through sdk/typescript/src/local-runner.ts. Asynchronous: the fixtures run in this process. */
export async function runAgent(name: string, inputs: unknown, options: RunOptions = {}): Promise<AgentRun> {
  const dir = await mkdtemp(join(tmpdir(), `agent-${name}-`));
  try {
    const inputsFile = join(dir, 'inputs.json');
    const outputsFile = join(dir, 'outputs.json');
    await writeFile(inputsFile, JSON.stringify(inputs));
    const args = [
      join(REPO_ROOT, 'sdk/typescript/src/local-runner.ts'),
      join(REPO_ROOT, 'agents', name, 'main.ts'),
      '--inputs',
      inputsFile,
      '--outputs',
      outputsFile,
      '--workflow',
      options.workflow ?? 'local',
      '--step',
      options.step ?? name,
      ...Object.entries(options.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    ];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdout.resume();
    const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const written = fs.existsSync(outputsFile) ? await readFile(outputsFile, 'utf8') : '';
    return { exitCode, written, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The outputs of a run that must have succeeded. */
export function outputsOf<T>(run: AgentRun): T {
  if (run.exitCode !== 0) throw new Error(`agent exited ${run.exitCode}: ${run.written}\n${run.stderr}`);
  return JSON.parse(run.written) as T;
}

/** Starts the fixtures on loopback for the test file, in a fresh data folder, and stops them afterwards. */
export function useFixtures(): () => Fixtures {
  let fixtures: Fixtures | undefined;
  let dataDir = '';
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'paddock-fixtures-'));
    fixtures = await startFixtures({ dataDir });
  });
  afterAll(async () => {
    await fixtures?.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return () => {
    if (!fixtures) throw new Error('fixtures not started');
    return fixtures;
  };
}

/** Clones the served repository back (all branches) into a temporary folder, to check what an agent pushed. */
export async function cloneBack(url: string): Promise<{ dir: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'clone-back-'));
  await git.clone({ fs, http, dir, url });
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** The branches of the served repository and their commits, as the server advertises them. */
export async function remoteHeads(url: string): Promise<Record<string, string>> {
  const refs = await git.listServerRefs({ http, url, prefix: 'refs/heads/' });
  return Object.fromEntries(refs.map((r) => [r.ref.slice('refs/heads/'.length), r.oid]));
}
