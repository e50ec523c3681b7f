import { describe, expect, it } from 'vitest';
import { ADVISORIES, findVulnerabilities, safeUpgrade } from '../../../agents/security-scanner/advisories.ts';
import { applyUpgrades } from '../../../agents/security-scanner/fixes.ts';
import {
  parseGoMod,
  parsePackageJson,
  parsePackageLock,
  parseRequirements,
  readDependencies,
} from '../../../agents/security-scanner/manifests.ts';
import { scannerOutputs, scanRepository } from '../../../agents/security-scanner/scan.ts';
import { compareVersions, inRange, parseVersion } from '../../../agents/security-scanner/versions.ts';
import { applyFilePatch, parseUnifiedDiff } from '../../../agents/patcher/diff.ts';
import { filesAt } from '../../../agents/fixtures/repository-content.ts';
import { jsonBytes } from '../../../agents/common/fit-outputs.ts';

const v = (s: string) => {
  const parsed = parseVersion(s);
  if (!parsed) throw new Error(`bad version ${s}`);
  return parsed;
};
const fixture = (branch = 'main') => Object.entries(filesAt(branch)).map(([path, text]) => ({ path, text }));

describe('versions', () => {
  it('compares release numbers numerically, missing parts as zero', () => {
    expect(compareVersions(v('1.10.0'), v('1.9.9'))).toBe(1);
    expect(compareVersions(v('5.4'), v('5.4.0'))).toBe(0);
    expect(compareVersions(v('v0.10.0'), v('0.17.0'))).toBe(-1);
  });

  it('sorts a pre-release before its release', () => {
    expect(compareVersions(v('1.0.0-rc.1'), v('1.0.0'))).toBe(-1);
    expect(compareVersions(v('1.0.0-rc.2'), v('1.0.0-rc.10'))).toBe(-1);
    expect(compareVersions(v('1.0.0-alpha'), v('1.0.0-beta'))).toBe(-1);
  });

  it('matches ranges with AND inside an alternative and OR between them', () => {
    expect(inRange(v('2.25.1'), '>=2.3.0 <2.31.0')).toBe(true);
    expect(inRange(v('2.31.0'), '>=2.3.0 <2.31.0')).toBe(false);
    expect(inRange(v('2.2.0'), '>=2.3.0 <2.31.0')).toBe(false);
    expect(inRange(v('3.0.5'), '<2.6.7 || >=3.0.0 <3.1.1')).toBe(true);
    expect(inRange(v('3.1.1'), '<2.6.7 || >=3.0.0 <3.1.1')).toBe(false);
    expect(inRange(v('1.0.0'), '< 1.2')).toBe(true);
    expect(inRange(v('1.0.0'), '*')).toBe(true);
  });

  it('refuses a malformed range', () => {
    expect(() => inRange(v('1.0.0'), '<banana')).toThrow(/invalid version comparator/);
  });

  it('every range and fixed version in the advisory database parses, and fixed versions are not affected', () => {
    for (const a of ADVISORIES) {
      for (const fixed of a.fixed) {
        expect(inRange(v(fixed), a.affected), `${a.id} ${fixed}`).toBe(false);
      }
    }
  });
});

describe('manifests', () => {
  it('reads lockfile v3 entries with the line of their version', () => {
    const text = filesAt('main')['package-lock.json'] ?? '';
    const deps = parsePackageLock('package-lock.json', text);
    const lodash = deps.find((d) => d.name === 'lodash');
    expect(lodash).toMatchObject({ ecosystem: 'npm', version: '4.17.15' });
    expect(text.split('\n')[(lodash?.line ?? 0) - 1]).toContain('"version": "4.17.15"');
    expect(deps.map((d) => d.name).sort()).toEqual(['lodash', 'minimist', 'node-fetch']);
  });

  it('reads lockfile v1 nested dependencies', () => {
    const text = JSON.stringify(
      {
        lockfileVersion: 1,
        dependencies: { a: { version: '1.0.0', dependencies: { b: { version: '2.0.0' } } } },
      },
      null,
      2,
    );
    expect(parsePackageLock('l.json', text).map((d) => `${d.name}@${d.version}`)).toEqual([
      'a@1.0.0',
      'b@2.0.0',
    ]);
  });

  it('takes exact package.json versions only, and only without a lockfile beside it', () => {
    const pkg = '{"dependencies": {"a": "1.2.3", "b": "^1.0.0", "c": "=2.0.0"}}';
    expect(parsePackageJson('package.json', pkg).map((d) => `${d.name}@${d.version}`)).toEqual([
      'a@1.2.3',
      'c@2.0.0',
    ]);
    const deps = readDependencies([
      { path: 'package.json', text: pkg },
      { path: 'package-lock.json', text: '{"packages": {"node_modules/a": {"version": "1.2.4"}}}' },
      { path: 'other/package.json', text: pkg },
    ]);
    expect(deps.map((d) => `${d.file}:${d.name}@${d.version}`)).toEqual([
      'package-lock.json:a@1.2.4',
      'other/package.json:a@1.2.3',
      'other/package.json:c@2.0.0',
    ]);
  });

  it('reads == pins from requirements files, PEP 503-normalised, ignoring ranges and comments', () => {
    const deps = parseRequirements(
      'r.txt',
      '# c\nPyYAML==5.3.1\nrequests>=2.0\nzope.interface==5.0 # pinned\n',
    );
    expect(deps.map((d) => `${d.name}@${d.version}:${d.line}`)).toEqual([
      'pyyaml@5.3.1:2',
      'zope-interface@5.0:4',
    ]);
  });

  it('reads go.mod requires, in blocks and on single lines', () => {
    const deps = parseGoMod(
      'go.mod',
      'module x\n\nrequire a.com/b v1.0.0\nrequire (\n\tgolang.org/x/net v0.10.0\n)\n',
    );
    expect(deps.map((d) => `${d.name}@${d.version}:${d.line}`)).toEqual([
      'a.com/b@v1.0.0:3',
      'golang.org/x/net@v0.10.0:5',
    ]);
  });
});

describe('advisories', () => {
  it('finds every planted vulnerability of the fixture repository', () => {
    const found = findVulnerabilities(readDependencies(fixture())).map(
      (x) => `${x.advisory.id} ${x.dependency.name}@${x.dependency.version} -> ${x.fixedIn}`,
    );
    expect(found.sort()).toEqual([
      'CVE-2020-14343 pyyaml@5.3.1 -> 5.4',
      'CVE-2020-8203 lodash@4.17.15 -> 4.17.21',
      'CVE-2021-23337 lodash@4.17.15 -> 4.17.21',
      'CVE-2021-44906 minimist@1.2.5 -> 1.2.6',
      'CVE-2023-44487 golang.org/x/net@v0.10.0 -> v0.17.0',
      'CVE-2024-22195 jinja2@3.1.2 -> 3.1.3',
    ]);
  });

  it('upgrades to the smallest safe release above the installed one, never down', () => {
    const fetch = ADVISORIES.filter((a) => a.package === 'node-fetch');
    expect(safeUpgrade(fetch, '2.6.0')).toBe('2.6.7');
    expect(safeUpgrade(fetch, '3.0.0')).toBe('3.1.1');
    const lodash = ADVISORIES.filter((a) => a.package === 'lodash');
    // 4.17.19 fixes one advisory but not the other: skip to 4.17.21.
    expect(safeUpgrade(lodash, '4.17.15')).toBe('4.17.21');
  });
});

describe('fixes', () => {
  it('bumps the lockfile entry, its resolved URL and the package.json spec, dropping the integrity', () => {
    const files = fixture();
    const vulns = findVulnerabilities(readDependencies(files));
    const changed = applyUpgrades(files, vulns);
    expect([...changed.keys()].sort()).toEqual([
      'package-lock.json',
      'package.json',
      'tools/go.mod',
      'worker/requirements.txt',
    ]);
    const lock = JSON.parse(changed.get('package-lock.json') ?? '') as {
      packages: Record<
        string,
        { version?: string; resolved?: string; integrity?: string; dependencies?: object }
      >;
    };
    expect(lock.packages['node_modules/lodash']).toEqual({
      version: '4.17.21',
      resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz',
    });
    expect(lock.packages['node_modules/node-fetch']?.integrity).toMatch(/^sha512-/); // untouched
    expect(lock.packages['']?.dependencies).toEqual({
      lodash: '4.17.21',
      minimist: '1.2.6',
      'node-fetch': '2.6.7',
    });
    expect(changed.get('package.json')).toContain('"minimist": "1.2.6"');
    expect(changed.get('worker/requirements.txt')).toBe(
      "# The worker's pinned dependencies\nPyYAML==5.4\nrequests==2.31.0\nJinja2==3.1.3\n",
    );
    expect(changed.get('tools/go.mod')).toContain('\tgolang.org/x/net v0.17.0\n');
    // After the upgrades, the same scan finds no vulnerable dependency.
    const after = files.map((f) => ({ path: f.path, text: changed.get(f.path) ?? f.text }));
    expect(findVulnerabilities(readDependencies(after))).toEqual([]);
  });
});

describe('scanRepository and scannerOutputs', () => {
  it('reports the fixture repository: vulnerabilities, secrets and a patch that applies', () => {
    const files = fixture();
    const result = scanRepository(files, { severityThreshold: 'low' });
    expect(result.vulnerabilities).toHaveLength(6);
    expect(result.secrets.map((s) => `${s.rule} ${s.file}:${s.line}`)).toEqual([
      'aws-access-key-id config/deploy.env:3',
      'aws-secret-access-key config/deploy.env:4',
      'private-key config/deploy-key.pem:1',
    ]);
    const out = scannerOutputs(result, 'http://git/app.git');
    expect(out.findings).toBe(9);
    expect(out.critical).toBe(5); // minimist, PyYAML, and three secrets
    expect(jsonBytes(out)).toBeLessThanOrEqual(4096);
    expect(out.summary).toMatch(
      /^6 vulnerable dependencies and 3 committed secret\(s\) in http:\/\/git\/app.git/,
    );
    // The patch is a valid unified diff that applies to the repository as it is.
    const parsed = parseUnifiedDiff(out.patch ?? '');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    for (const file of parsed.files) {
      const before = files.find((f) => f.path === file.oldPath)?.text;
      const applied = applyFilePatch(before, file);
      expect(applied.ok, `${file.newPath}`).toBe(true);
    }
  });

  it('honours the severity threshold and a single CVE', () => {
    const files = fixture();
    const high = scanRepository(files, { severityThreshold: 'high' });
    expect(high.vulnerabilities.map((x) => x.advisory.id)).not.toContain('CVE-2024-22195');
    const one = scanRepository(files, { severityThreshold: 'low', cve: 'CVE-2021-44906' });
    expect(one.vulnerabilities.map((x) => x.dependency.name)).toEqual(['minimist']);
    expect(one.patches.join('')).toContain('+    "minimist": "1.2.6"');
    expect(one.patches.join('')).not.toContain('lodash-4.17.21');
  });

  it('stays within 4096 bytes with many findings, counting what it left out', () => {
    const many = Array.from({ length: 300 }, (_, i) => `PyYAML==5.3.${i % 3}`).join('\n');
    const files = [{ path: 'requirements.txt', text: `${many}\n` }];
    const out = scannerOutputs(scanRepository(files, { severityThreshold: 'low' }), 'r');
    expect(out.findings).toBe(300);
    expect(jsonBytes(out)).toBeLessThanOrEqual(4096);
    expect(out.vulnerabilities.length).toBeLessThan(300);
    expect(out.summary).toMatch(/finding\(s\) not listed/);
  });

  it('reports nothing for a clean repository, and no patch', () => {
    const out = scannerOutputs(
      scanRepository([{ path: 'a.js', text: 'x\n' }], { severityThreshold: 'low' }),
      'r',
    );
    expect(out).toEqual({
      findings: 0,
      critical: 0,
      summary: 'no findings in r',
      vulnerabilities: [],
      leakedSecrets: [],
    });
  });
});
