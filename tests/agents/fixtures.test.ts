// The fixtures themselves: the repository served over smart HTTP to isomorphic-git and to the git command line
// (clone, fetch, push, a refused stale push), the same commit ids on every start, and the webhook receiver.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { pkt } from '../../agents/fixtures/pkt-line.ts';
import { startFixtures } from '../../agents/fixtures/server.ts';
import { remoteHeads, useFixtures } from './support.ts';

const run = promisify(execFile);
const gitCli = (cwd: string, ...args: string[]) =>
  run('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.com', ...args], { cwd });

describe('fixtures', () => {
  const fixtures = useFixtures();

  it('seeds the same commits on every start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fixtures-again-'));
    try {
      const again = await startFixtures({ dataDir: dir });
      expect(again.heads).toEqual(fixtures().heads);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(Object.keys(fixtures().heads).sort()).toEqual(['feature/report', 'main']);
  });

  it('serves the git command line (clone, push, fetch) and refuses a ref update from a stale old value', async () => {
    const url = fixtures().repositoryUrl;
    const dir = await mkdtemp(join(tmpdir(), 'git-cli-'));
    try {
      await gitCli(dir, 'clone', '-q', url, 'a');
      await gitCli(dir, 'clone', '-q', url, 'b');
      const a = join(dir, 'a');
      const b = join(dir, 'b');
      expect((await gitCli(a, 'log', '--format=%s', '-1')).stdout.trim()).toBe(
        'Initial import of the Acme shop',
      );
      await writeFile(join(a, 'NOTES.md'), 'notes\n');
      await gitCli(a, 'add', 'NOTES.md');
      await gitCli(a, 'commit', '-qm', 'notes');
      await gitCli(a, 'push', '-q', 'origin', 'HEAD:refs/heads/cli-test');
      const head = (await gitCli(a, 'rev-parse', 'HEAD')).stdout.trim();
      expect((await remoteHeads(url))['cli-test']).toBe(head);
      // The server updates a ref only from the value the client saw (compare-and-swap): a command naming another
      // old value is refused, whatever the client thinks.
      const body = Buffer.concat([
        pkt(`${'0'.repeat(40)} ${head} refs/heads/main\0report-status side-band-64k\n`),
        Buffer.from('0000'),
      ]);
      const res = await fetch(`${url}/git-receive-pack`, { method: 'POST', body });
      const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
      expect(text).toContain('ng refs/heads/main fetch first');
      expect((await remoteHeads(url))['main']).toBe(fixtures().heads['main']);
      await gitCli(b, 'fetch', '-q');
      expect((await gitCli(b, 'rev-parse', 'origin/cli-test')).stdout.trim()).toBe(head);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('records webhook posts and lists them per channel', async () => {
    const base = `${fixtures().baseUrl}/hooks`;
    await fetch(`${base}/one`, {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
    });
    await fetch(`${base}/two`, { method: 'POST', body: 'plain' });
    const one = (await (await fetch(`${base}/one`)).json()) as { channel: string; body: unknown }[];
    expect(one.map((p) => [p.channel, p.body])).toEqual([['one', { a: 1 }]]);
    const all = (await (await fetch(base)).json()) as unknown[];
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect((await fetch(base, { method: 'DELETE' })).status).toBe(200);
    expect(await (await fetch(base)).json()).toEqual([]);
    expect((await fetch(`${base}/x`, { method: 'POST', body: 'x'.repeat(70_000) })).status).toBe(413);
    expect((await fetch(`${fixtures().baseUrl}/healthz`)).status).toBe(200);
    expect(
      (await fetch(`${fixtures().baseUrl}/git/other.git/info/refs?service=git-upload-pack`)).status,
    ).toBe(404);
  });
});
