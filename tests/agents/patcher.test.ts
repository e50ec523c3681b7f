// The patcher end to end: the scanner's patch applied to the served repository (checked by cloning it back),
// a backup branch, idempotent retries, and conflicts that change nothing.
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { describe, expect, it } from 'vitest';
import type { PatcherOutputs } from '../../agents/patcher/run.ts';
import type { ScannerOutputs } from '../../agents/security-scanner/scan.ts';
import { cloneBack, outputsOf, remoteHeads, runAgent, useFixtures } from './support.ts';

describe('patcher', () => {
  const fixtures = useFixtures();

  it('applies the scanner patch: a commit on the target branch and a backup branch at the previous head', async () => {
    const url = fixtures().repositoryUrl;
    const before = await remoteHeads(url);
    const scan = outputsOf<ScannerOutputs>(
      await runAgent('security-scanner', { repositoryPath: url, severityThreshold: 'low' }),
    );
    const run = { workflow: 'fix-cve', step: 'patch' };
    const out = outputsOf<PatcherOutputs>(
      await runAgent('patcher', { repositoryPath: url, patchContent: scan.patch, targetBranch: 'main' }, run),
    );
    expect(out).toMatchObject({
      applied: true,
      filesModified: ['package-lock.json', 'package.json', 'tools/go.mod', 'worker/requirements.txt'],
      backupPath: 'paddock/backup/fix-cve/patch/main',
      conflicts: [],
    });
    const after = await remoteHeads(url);
    expect(after['main']).toBe(out.commit);
    expect(after['paddock/backup/fix-cve/patch/main']).toBe(before['main']);
    expect(after['feature/report']).toBe(before['feature/report']);

    const clone = await cloneBack(url);
    try {
      const { commit } = await git.readCommit({ fs, dir: clone.dir, oid: out.commit ?? '' });
      expect(commit.parent).toEqual([before['main']]);
      expect(commit.message).toContain('Paddock-Run: fix-cve/patch');
      expect(await readFile(join(clone.dir, 'worker/requirements.txt'), 'utf8')).toContain('PyYAML==5.4\n');
      expect(await readFile(join(clone.dir, 'package.json'), 'utf8')).toContain('"minimist": "1.2.6"');
    } finally {
      await clone.dispose();
    }

    // Scanning again finds no vulnerable dependency left (the secrets are still there).
    const rescan = outputsOf<ScannerOutputs>(
      await runAgent('security-scanner', { repositoryPath: url, severityThreshold: 'low' }),
    );
    expect(rescan.vulnerabilities).toEqual([]);
    expect(rescan.patch).toBeUndefined();

    // A retry of the same step reports the earlier commit instead of patching twice.
    const retry = outputsOf<PatcherOutputs>(
      await runAgent('patcher', { repositoryPath: url, patchContent: scan.patch }, run),
    );
    expect(retry).toMatchObject({ applied: true, commit: out.commit, filesModified: out.filesModified });
    expect(retry.summary).toMatch(/already applied to main by an earlier attempt/);
    expect((await remoteHeads(url))['main']).toBe(out.commit);
  });

  it('aborts on a conflict: nothing pushed, no backup branch, every conflict listed', async () => {
    const url = fixtures().repositoryUrl;
    const before = await remoteHeads(url);
    const patch = [
      '--- a/src/util.js',
      '+++ b/src/util.js',
      '@@ -1,2 +1,2 @@',
      '-// SPDX-License-Identifier: MIT',
      '+// SPDX-License-Identifier: Apache-2.0',
      ' // Copyright (c) 2026 Acme Shop authors',
      '--- a/README.md',
      '+++ b/README.md',
      '@@ -1 +1 @@',
      '-# Not the title this repository has',
      '+# Acme',
      '--- /dev/null',
      '+++ b/LICENSE',
      '@@ -0,0 +1 @@',
      '+Apache',
      '',
    ].join('\n');
    const out = outputsOf<PatcherOutputs>(
      await runAgent(
        'patcher',
        { repositoryPath: url, patchContent: patch },
        { workflow: 'w2', step: 'patch' },
      ),
    );
    expect(out).toMatchObject({ applied: false, filesModified: [], backupPath: '' });
    expect(out.conflicts).toEqual([
      {
        file: 'README.md',
        reason: 'hunk 1 (@@ -1,1) does not match the file: its context or removed lines differ',
      },
      { file: 'LICENSE', reason: 'the file already exists' },
    ]);
    expect(await remoteHeads(url)).toEqual(before);
  });

  it('refuses a malformed diff and an unknown branch with a clear reason, changing nothing', async () => {
    const url = fixtures().repositoryUrl;
    const before = await remoteHeads(url);
    const bad = await runAgent('patcher', {
      repositoryPath: url,
      patchContent: '--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n-a\n',
    });
    expect(bad.exitCode).toBe(1);
    expect(bad.written).toBe(
      'patchContent: not a valid unified diff: line 3: hunk says -2 +1 lines but has -1 +0',
    );
    const branch = await runAgent('patcher', {
      repositoryPath: url,
      targetBranch: 'release',
      patchContent: '--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# Acme Shop\n+# Acme\n',
    });
    expect(branch.exitCode).toBe(1);
    expect(branch.written).toMatch(/has no branch, tag or commit "release"$/);
    expect(await remoteHeads(url)).toEqual(before);
  });

  it('without a backup when createBackup is false', async () => {
    const url = fixtures().repositoryUrl;
    const out = outputsOf<PatcherOutputs>(
      await runAgent(
        'patcher',
        {
          repositoryPath: `${url}#feature/report`,
          createBackup: false,
          patchContent:
            '--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# Acme Shop\n+# Acme Shop (reports)\n',
        },
        { workflow: 'w3', step: 'patch' },
      ),
    );
    expect(out).toMatchObject({ applied: true, backupPath: '', filesModified: ['README.md'] });
    const heads = await remoteHeads(url);
    expect(heads['feature/report']).toBe(out.commit);
    expect(Object.keys(heads).filter((b) => b.includes('w3'))).toEqual([]);
  });
});
