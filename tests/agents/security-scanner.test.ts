// The security scanner end to end: cloned over smart HTTP from the fixture server, real findings, a patch that
// applies to the served repository, clear failures.
import { describe, expect, it } from 'vitest';
import { applyFilePatch, parseUnifiedDiff } from '../../agents/patcher/diff.ts';
import { filesAt } from '../../agents/fixtures/repository-content.ts';
import type { ScannerOutputs } from '../../agents/security-scanner/scan.ts';
import { outputsOf, runAgent, useFixtures } from './support.ts';

describe('security-scanner', () => {
  const fixtures = useFixtures();

  it('finds the planted vulnerable pins and secrets, and proposes a patch that applies', async () => {
    const run = await runAgent('security-scanner', {
      repositoryPath: fixtures().repositoryUrl,
      severityThreshold: 'low',
    });
    const out = outputsOf<ScannerOutputs>(run);
    expect(Buffer.byteLength(run.written)).toBeLessThanOrEqual(4096);
    expect(out.findings).toBe(9);
    expect(out.critical).toBe(5);
    expect(out.vulnerabilities.map((v) => `${v.id} ${v.package}@${v.version}->${v.fixedIn ?? ''}`)).toEqual([
      'CVE-2021-44906 minimist@1.2.5->1.2.6',
      'CVE-2020-14343 pyyaml@5.3.1->5.4',
      'CVE-2021-23337 lodash@4.17.15->4.17.21',
      'CVE-2020-8203 lodash@4.17.15->4.17.21',
      'CVE-2023-44487 golang.org/x/net@v0.10.0->v0.17.0',
      'CVE-2024-22195 jinja2@3.1.2->3.1.3',
    ]);
    expect(out.leakedSecrets.map((s) => `${s.rule} ${s.file}:${s.line}`).sort()).toEqual([
      'aws-access-key-id config/deploy.env:3',
      'aws-secret-access-key config/deploy.env:4',
      'private-key config/deploy-key.pem:1',
    ]);
    // The sensitive field carries the real value (the operator redacts it in status, not the agent).
    expect(out.leakedSecrets.find((s) => s.rule === 'aws-access-key-id')?.match).toMatch(
      /^AKIA[0-9A-Z]{16}$/,
    );
    const diff = parseUnifiedDiff(out.patch ?? '');
    if (!diff.ok) throw new Error(diff.error);
    const files = filesAt('main');
    expect(diff.files.map((f) => f.newPath)).toEqual([
      'package-lock.json',
      'package.json',
      'tools/go.mod',
      'worker/requirements.txt',
    ]);
    for (const f of diff.files) expect(applyFilePatch(files[f.oldPath ?? ''], f).ok).toBe(true);
    // The log never shows the secret values.
    expect(run.stderr).not.toMatch(/AKIA[0-9A-Z]{16}/);
  });

  it('scans the ref after #, honours the threshold and a single CVE', async () => {
    const out = outputsOf<ScannerOutputs>(
      await runAgent('security-scanner', {
        repositoryPath: `${fixtures().repositoryUrl}#feature/report`,
        severityThreshold: 'critical',
        cve: 'CVE-2021-44906',
      }),
    );
    expect(out.vulnerabilities.map((v) => v.id)).toEqual(['CVE-2021-44906']);
    expect(out.findings).toBe(4); // minimist and the three critical secrets
    expect(out.summary).toContain('#feature/report');
    expect(out.patch).toContain('+    "minimist": "1.2.6"');
    expect(out.patch).not.toContain('lodash-4.17.21');
  });

  it('fails with one clear line when the repository does not exist', async () => {
    const run = await runAgent('security-scanner', { repositoryPath: `${fixtures().baseUrl}/git/nope.git` });
    expect(run.exitCode).toBe(1);
    expect(run.written).toMatch(/^git clone http:\/\/127\.0\.0\.1:\d+\/git\/nope\.git failed: /);
  });

  it('refuses inputs that do not match its inputsSchema (exit 2)', async () => {
    const run = await runAgent('security-scanner', { repositoryPath: 'ftp://x', extra: 1 });
    expect(run.exitCode).toBe(2);
    expect(run.written).toContain('inputs do not match inputsSchema');
  });
});
