import { describe, expect, it } from 'vitest';
import { complianceOutputs } from '../../../agents/compliance-checker/outputs.ts';
import {
  checkCompliance,
  checkLicenses,
  checkSecrets,
  checkSecurityHeaders,
} from '../../../agents/compliance-checker/rules.ts';
import { jsonBytes } from '../../../agents/common/fit-outputs.ts';
import { filesAt } from '../../../agents/fixtures/repository-content.ts';

const fixture = () => Object.entries(filesAt('main')).map(([path, text]) => ({ path, text }));
const MIT = 'MIT License\n\nPermission is hereby granted, free of charge, to any person\n';

describe('licenses', () => {
  it('finds the fixture file without a license header, and nothing else', () => {
    expect(checkLicenses(fixture())).toEqual([
      {
        rule: 'licenses',
        severity: 'warning',
        file: 'src/server.js',
        line: 1,
        message: 'no license header (SPDX-License-Identifier or Copyright) in the first 10 lines',
      },
    ]);
  });

  it('a missing LICENSE is critical; an unknown one and a package.json mismatch are warnings', () => {
    expect(checkLicenses([{ path: 'a.md', text: '' }])).toMatchObject([
      { severity: 'critical', file: 'LICENSE', line: 0 },
    ]);
    expect(checkLicenses([{ path: 'LICENSE', text: 'All rights reserved.' }])).toMatchObject([
      { severity: 'warning', message: /not one of/ },
    ]);
    const mismatch = checkLicenses([
      { path: 'LICENSE', text: MIT },
      { path: 'package.json', text: '{\n  "name": "x",\n  "license": "ISC"\n}\n' },
    ]);
    expect(mismatch).toEqual([
      {
        rule: 'licenses',
        severity: 'warning',
        file: 'package.json',
        line: 3,
        message: 'package.json declares ISC but LICENSE is MIT',
      },
    ]);
  });
});

describe('security-headers', () => {
  it('reports each missing header at the line that starts the server', () => {
    const v = checkSecurityHeaders(fixture());
    expect(v.map((x) => `${x.file}:${x.line} ${x.message}`)).toEqual([
      'src/server.js:8 the HTTP server never sets Content-Security-Policy',
      'src/server.js:8 the HTTP server never sets Strict-Transport-Security',
      'src/server.js:8 the HTTP server never sets X-Content-Type-Options',
      'src/server.js:8 the HTTP server never sets X-Frame-Options',
    ]);
  });

  it('accepts headers that are set, or helmet; notes a repository without a server', () => {
    const server =
      "const s = http.createServer((q, r) => {\n  r.setHeader('Content-Security-Policy', \"frame-ancestors 'none'\");\n";
    const set = checkSecurityHeaders([{ path: 's.js', text: server }]);
    expect(set.map((x) => x.message)).toEqual([
      'the HTTP server never sets Strict-Transport-Security',
      'the HTTP server never sets X-Content-Type-Options',
    ]);
    expect(
      checkSecurityHeaders([{ path: 's.js', text: 'const app = express();\napp.use(helmet());\n' }]),
    ).toEqual([]);
    expect(checkSecurityHeaders([{ path: 'a.py', text: 'print(1)\n' }])).toMatchObject([
      { severity: 'info' },
    ]);
  });
});

describe('secrets', () => {
  it('reports the fixture secrets as critical without quoting them', () => {
    const v = checkSecrets(fixture());
    expect(v.map((x) => `${x.file}:${x.line} ${x.message}`)).toEqual([
      'config/deploy.env:3 committed AWS access key ID (aws-access-key-id)',
      'config/deploy.env:4 committed AWS secret access key (aws-secret-access-key)',
      'config/deploy-key.pem:1 committed private key (PEM) (private-key)',
    ]);
    expect(JSON.stringify(v)).not.toMatch(/AKIA|EXAMPLEKEY/);
  });
});

describe('checkCompliance and its outputs', () => {
  it('orders by severity, then rule, file and line, and fails the fixture', () => {
    const v = checkCompliance(fixture(), ['secrets', 'licenses', 'security-headers', 'licenses']);
    expect(v.map((x) => x.severity)).toEqual([
      'critical',
      'critical',
      'critical',
      ...Array<string>(5).fill('warning'),
    ]);
    expect(v[3]).toMatchObject({ rule: 'licenses', file: 'src/server.js' });
    const out = complianceOutputs(v, ['licenses', 'security-headers', 'secrets'], 'http://h/app.git');
    expect(out.passed).toBe(false);
    expect(out.counts).toEqual({ critical: 3, warning: 5, info: 0 });
    expect(out.summary).toBe(
      'failed: 3 critical, 5 warning, 0 info violation(s) of licenses, security-headers, secrets in http://h/app.git',
    );
  });

  it('passes with info violations only', () => {
    const out = complianceOutputs(
      checkCompliance([{ path: 'LICENSE', text: MIT }], ['security-headers']),
      ['security-headers'],
      'r',
    );
    expect(out.passed).toBe(true);
  });

  it('stays within 4096 bytes with hundreds of violations, counting what it left out', () => {
    const files = Array.from({ length: 400 }, (_, i) => ({
      path: `src/file-with-a-long-name-${i}.js`,
      text: 'x\n',
    }));
    const out = complianceOutputs(checkCompliance(files, ['licenses']), ['licenses'], 'r');
    expect(jsonBytes(out)).toBeLessThanOrEqual(4096);
    expect(out.violations.length).toBeLessThanOrEqual(30);
    expect(out.counts.warning).toBe(400);
    expect(out.summary).toMatch(/\d+ not listed/);
  });
});
