// A smoke run of each built image without a container runtime: its layers unpacked into a
// directory, which is then mounted read-only (a tmpfs on /tmp, like the sandbox's emptyDir) and run
// with chroot as uid/gid 65532 with the image's own entrypoint and environment. It proves the image
// is complete (Node finds its libraries, the operator its node_modules, an agent its bundle) under
// the read-only root the pods get. Needs root on Linux (unshare, mount, chroot); else it says so.
//
//   node images/src/verify.ts [NAME ...]
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OPERATOR_IMAGE, OUT_DIR, REPO_ROOT, type ImageRecord } from './build.ts';

const run = promisify(execFile);

interface ImageConfig {
  config: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; User?: string };
}

/** What a run must show for the image to pass: exit codes allowed and text that means breakage. */
export interface SmokeExpectation {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly okExitCodes: readonly number[];
  readonly mustPrint?: RegExp;
  /** A server: passes when it is still running after this many ms (then it is killed). */
  readonly runsFor?: number;
}

/** Text in a failed run that means the image is broken rather than the program refusing its input. */
export const BROKEN_IMAGE =
  /ERR_MODULE_NOT_FOUND|Cannot find (module|package)|SyntaxError|error while loading shared libraries|not found|ENOENT: no such file or directory, open '\/app/;

export function expectationFor(name: string): SmokeExpectation {
  if (name === OPERATOR_IMAGE)
    return { args: ['--help'], env: {}, okExitCodes: [0], mustPrint: /--watch-namespaces/ };
  // Fixtures are servers (agents/fixtures): they must start and keep serving.
  if (name === 'fixtures' || name.startsWith('fixture-'))
    return { args: [], env: {}, okExitCodes: [], runsFor: 5_000 };
  // An agent given no inputs must start, then refuse them (SDK exit codes 0-4, docs/agent-authors.md).
  return {
    args: [],
    env: {
      PADDOCK_INPUTS: '{}',
      PADDOCK_OUTPUTS_FILE: '/tmp/outputs.json',
      PADDOCK_WORKFLOW: 'smoke',
      PADDOCK_STEP: 'smoke',
    },
    okExitCodes: [0, 1, 2, 3, 4],
  };
}

async function unpackImage(archive: string, into: string): Promise<ImageConfig> {
  const layout = join(into, 'layout');
  const rootfs = join(into, 'rootfs');
  await run('mkdir', ['-p', layout, rootfs]);
  await run('tar', ['-xf', archive, '-C', layout]);
  const blob = (digest: string): string => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const manifestDigest = index.manifests[0]?.digest;
  if (manifestDigest === undefined) throw new Error(`${archive}: index.json names no manifest`);
  const manifest = JSON.parse(await readFile(blob(manifestDigest), 'utf8')) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  for (const layer of manifest.layers)
    await run('tar', ['--numeric-owner', '-xzpf', blob(layer.digest), '-C', rootfs]);
  return JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as ImageConfig;
}

export interface SmokeResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export async function smokeRun(record: ImageRecord): Promise<SmokeResult> {
  const work = await mkdtemp(join(tmpdir(), 'paddock-smoke-'));
  try {
    const config = (await unpackImage(join(REPO_ROOT, record.archive), work)).config;
    const expectation = expectationFor(record.name);
    const rootfs = join(work, 'rootfs');
    const command = [
      ...(config.Entrypoint ?? []),
      ...(expectation.args.length > 0 ? expectation.args : (config.Cmd ?? [])),
    ];
    if (command.length === 0)
      return { name: record.name, ok: false, detail: 'the image has no entrypoint or cmd' };
    const env = [...(config.Env ?? []), ...Object.entries(expectation.env).map(([k, v]) => `${k}=${v}`)];
    const user = config.User ?? '0:0';
    const seconds = Math.ceil((expectation.runsFor ?? 60_000) / 1000);
    const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    // In private mount and pid namespaces: the root read-only, /tmp a tmpfs, /proc, then chroot as the image's user
    // with only the image's environment. (chroot starts in "/": the entrypoints are absolute paths.)
    const script = [
      `mount --bind ${quote(rootfs)} ${quote(rootfs)}`,
      `mount -o remount,bind,ro ${quote(rootfs)}`,
      `mount -t tmpfs -o size=64m,mode=1777 tmpfs ${quote(join(rootfs, 'tmp'))}`,
      `mount -t proc proc ${quote(join(rootfs, 'proc'))}`,
      `exec timeout -s KILL ${seconds} env -i ${env.map(quote).join(' ')} "$(command -v chroot)" --userspec=${quote(user)} ${quote(rootfs)} ${command.map(quote).join(' ')}`,
    ].join(' && ');
    // A network namespace of its own too: nothing the image does reaches the host's network.
    // timeout(1) runs outside the chroot as root, so it can stop the program whatever its uid; it
    // exits 124 when the time ran out (137 with KILL, which reaches its own process group too), and
    // the pid namespace ends with it.
    const result = spawnSync(
      'unshare',
      ['--mount', '--net', '--pid', '--fork', '--propagation', 'private', 'sh', '-c', script],
      {
        encoding: 'utf8',
      },
    );
    const output = `${result.stdout}${result.stderr}`;
    const timedOut = result.status === 124 || result.status === 137;
    const code = result.status ?? -1;
    const broken =
      expectation.runsFor !== undefined
        ? timedOut
          ? undefined
          : `stopped by itself within ${expectation.runsFor} ms (exit ${code})`
        : expectation.okExitCodes.includes(code)
          ? undefined
          : `exit code ${code}`;
    const brokenText =
      (code !== 0 || timedOut) && BROKEN_IMAGE.test(output) ? output.match(BROKEN_IMAGE)?.[0] : undefined;
    const missing =
      expectation.mustPrint !== undefined && !expectation.mustPrint.test(output)
        ? 'expected output missing'
        : undefined;
    const problem = broken ?? brokenText ?? missing;
    const lastLine = output.trim().split('\n').slice(-1)[0]?.slice(0, 160) ?? '';
    return {
      name: record.name,
      ok: problem === undefined,
      detail: `${command.join(' ')} as ${user}, read-only root: ${timedOut ? `still running after ${expectation.runsFor} ms` : `exit ${code}`}${problem === undefined ? '' : ` (${problem})`}; last line: ${lastLine}`,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    console.log('images verify: skipped (a smoke run needs root on Linux for mount and chroot)');
    return;
  }
  const names = new Set(process.argv.slice(2));
  const records = (
    JSON.parse(await readFile(join(OUT_DIR, 'images.json'), 'utf8')) as { images: ImageRecord[] }
  ).images;
  let failed = 0;
  for (const record of records) {
    if (names.size > 0 && !names.has(record.name)) continue;
    const result = await smokeRun(record);
    if (!result.ok) failed++;
    console.log(`images verify: ${result.ok ? 'ok  ' : 'FAIL'} ${result.name}: ${result.detail}`);
  }
  if (failed > 0) {
    console.error(`images verify: ${failed} image(s) failed`);
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`images verify: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
