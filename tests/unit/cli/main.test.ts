// The whole command line against a small fake API server (plain HTTP): which
// requests each command makes, as whom, and what it prints.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ApprovalView } from '../../../cli/lib/approval.ts';
import { main, type MainIo } from '../../../cli/kubectl-paddock.ts';
import { approval, NOW } from './fixtures.ts';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  auth: string | undefined;
  body: unknown;
}

const BASE = '/apis/paddock.dev/v1alpha1';
let server: Server;
let dir: string;
let kubeconfig: string;
let seen: Seen[] = [];
let store: Map<string, ApprovalView>;

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function handle(req: IncomingMessage, res: ServerResponse, text: string): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'POST' && url.pathname === '/apis/authentication.k8s.io/v1/selfsubjectreviews') {
    send(res, 201, {
      status: { userInfo: { username: 'bob', uid: 'u-1', groups: ['sre', 'system:authenticated'] } },
    });
    return;
  }
  const list = /^\/apis\/paddock\.dev\/v1alpha1(?:\/namespaces\/([^/]+))?\/approvals$/.exec(url.pathname);
  if (req.method === 'GET' && list) {
    const items = [...store.values()].filter((a) => !list[1] || a.metadata.namespace === list[1]);
    send(res, 200, { kind: 'ApprovalList', metadata: {}, items });
    return;
  }
  const one = /^\/apis\/paddock\.dev\/v1alpha1\/namespaces\/([^/]+)\/approvals\/([^/]+)$/.exec(url.pathname);
  const key = one ? `${one[1]}/${one[2]}` : '';
  const found = store.get(key);
  if (!found) {
    send(res, 404, {
      kind: 'Status',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      message: `approvals.paddock.dev "${one?.[2] ?? ''}" not found`,
      details: { name: one?.[2], group: 'paddock.dev', kind: 'approvals' },
    });
    return;
  }
  if (req.method === 'GET') {
    send(res, 200, found);
    return;
  }
  if (req.method === 'PATCH') {
    const patch = JSON.parse(text) as ApprovalView;
    const merged: ApprovalView = {
      ...found,
      spec: { ...found.spec, decisions: [...(found.spec.decisions ?? []), ...(patch.spec.decisions ?? [])] },
    };
    store.set(key, merged);
    send(res, 200, merged);
    return;
  }
  send(res, 405, { message: 'unexpected' });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        auth: req.headers.authorization,
        body: text ? (JSON.parse(text) as unknown) : undefined,
      });
      handle(req, res, text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  dir = mkdtempSync(join(tmpdir(), 'kubectl-paddock-'));
  kubeconfig = join(dir, 'config');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}` } }],
      users: [{ name: 'bob', user: { token: 'bob-token' } }],
      contexts: [{ name: 'fake-ctx', context: { cluster: 'fake', user: 'bob', namespace: 'team-a' } }],
      'current-context': 'fake-ctx',
    }),
  );
});

afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
  store = new Map();
  for (const a of [
    approval({}),
    approval({ name: 'other-approval-1', namespace: 'team-b' }),
    approval({ name: 'done-approval-1', status: { phase: 'Approved', decidedBy: 'carol,erin' } }),
  ])
    store.set(`${a.metadata.namespace}/${a.metadata.name}`, a);
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: MainIo = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    now: () => NOW,
    env: {},
  };
  const code = await main(['--kubeconfig', kubeconfig, ...args], io);
  return { code, out, err };
}

describe('kubectl paddock (fake API server)', () => {
  it('approve: who am I, read, then apply only my decision with my own field manager', async () => {
    const r = await run('approve', 'release-deploy-approval-1', '-m', 'lgtm');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe('approval.paddock.dev/release-deploy-approval-1 approved by bob (1/2 approvals)\n');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /apis/authentication.k8s.io/v1/selfsubjectreviews',
      `GET ${BASE}/namespaces/team-a/approvals/release-deploy-approval-1`,
      `PATCH ${BASE}/namespaces/team-a/approvals/release-deploy-approval-1?fieldManager=kubectl-paddock-bob`,
    ]);
    expect(seen.every((s) => s.auth === 'Bearer bob-token')).toBe(true);
    const patch = seen[2];
    expect(patch?.contentType).toBe('application/apply-patch+yaml');
    expect(patch?.body).toEqual({
      apiVersion: 'paddock.dev/v1alpha1',
      kind: 'Approval',
      metadata: {
        name: 'release-deploy-approval-1',
        namespace: 'team-a',
        uid: '11111111-2222-3333-4444-555555555555',
      },
      spec: {
        decisions: [{ user: 'bob', decision: 'Approve', comment: 'lgtm', at: '2026-03-01T12:00:00Z' }],
      },
    });
  });

  it('reject needs -m; nothing is sent without it', async () => {
    const r = await run('reject', 'release-deploy-approval-1');
    expect(r.code).toBe(1);
    expect(r.err).toContain("required option '-m, --message <text>' not specified");
    expect(seen).toEqual([]);
    const empty = await run('reject', 'release-deploy-approval-1', '-m', ' ');
    expect(empty.code).toBe(1);
    expect(empty.err).toBe('error: a rejection needs a reason: pass -m "why"\n');
    expect(seen.some((s) => s.method === 'PATCH')).toBe(false);
  });

  it('refuses before writing when already decided by me or when decided', async () => {
    expect((await run('approve', 'release-deploy-approval-1')).code).toBe(0);
    const again = await run('reject', 'release-deploy-approval-1', '-m', 'changed my mind');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(
      /^error: you \(bob\) already decided approval release-deploy-approval-1: Approve at /,
    );
    const decided = await run('approve', 'done-approval-1');
    expect(decided.code).toBe(1);
    expect(decided.err).toBe(
      'error: approval done-approval-1 is already Approved by carol,erin; a decided approval cannot change\n',
    );
    expect(seen.filter((s) => s.method === 'PATCH')).toHaveLength(1);
  });

  it('-n overrides the context namespace, before or after the command; 404 names both', async () => {
    const r = await run('describe', 'release-deploy-approval-1', '-n', 'team-b');
    expect(r.code).toBe(1);
    expect(r.err).toBe('error: approval release-deploy-approval-1 not found in namespace team-b\n');
    let out = '';
    const io: MainIo = { out: (t) => void (out += t), err: (t) => expect.fail(t), now: () => NOW, env: {} };
    expect(await main(['-n', 'team-b', '--kubeconfig', kubeconfig, 'list', '-o', 'name'], io)).toBe(0);
    expect(out).toBe('approval.paddock.dev/other-approval-1\n');
  });

  it('list: Pending in the namespace by default, --all for decided, -A across namespaces', async () => {
    const r = await run('list');
    expect(r.out.trimEnd().split('\n')).toHaveLength(2);
    expect(r.out).toContain('release-deploy-approval-1');
    expect((await run('list', '--all')).out).toContain('done-approval-1');
    const all = await run('list', '-A', '-o', 'name');
    expect(all.out.split('\n').filter(Boolean).sort()).toEqual([
      'approval.paddock.dev/other-approval-1',
      'approval.paddock.dev/release-deploy-approval-1',
    ]);
    expect(seen.at(-1)?.url).toBe(`${BASE}/approvals?limit=500`);
    const none = await run('list', '-n', 'empty');
    expect(none).toEqual({ code: 0, out: '', err: 'No pending approvals found in namespace empty.\n' });
    const bad = await run('list', '-o', 'wide');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("argument 'wide' is invalid");
  });

  it('whoami prints the authenticated user and groups', async () => {
    const r = await run('whoami');
    expect(r.out).toBe(
      'ATTRIBUTE   VALUE\nUsername    bob\nUID         u-1\nGroups      [sre system:authenticated]\n',
    );
    const j = await run('whoami', '-o', 'json');
    expect(JSON.parse(j.out)).toMatchObject({ username: 'bob', groups: ['sre', 'system:authenticated'] });
  });

  it('--context is accepted only when it is the current context', async () => {
    expect((await run('--context', 'fake-ctx', 'whoami')).code).toBe(0);
    const r = await run('--context', 'prod', 'whoami');
    expect(r.code).toBe(1);
    expect(r.err).toContain('--context is not supported');
    expect(r.err).toContain('kubectl config use-context prod');
  });

  it('a missing kubeconfig and an unreachable server are one clear line each', async () => {
    let msg = '';
    const io: MainIo = { out: () => {}, err: (t) => void (msg += t), now: () => NOW, env: {} };
    expect(await main(['--kubeconfig', join(dir, 'nope'), 'list'], io)).toBe(1);
    expect(msg).toMatch(/^error: .*nope: cannot read kubeconfig/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const unreachable = join(dir, 'unreachable');
    writeFileSync(
      unreachable,
      stringify({
        clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${port}` } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    msg = '';
    expect(await main(['--kubeconfig', unreachable, 'list'], io)).toBe(1);
    expect(msg).toBe(
      `error: cannot reach the Kubernetes API server at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  it('--help exits 0 with examples', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: kubectl paddock');
    expect(r.out).toContain('kubectl paddock approve');
  });
});
