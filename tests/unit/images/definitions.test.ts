// Which images `make images` builds (images/src/definitions.ts), what goes into the operator's
// node_modules layer (images/src/build.ts keepInImage) and the Debian pins (images/src/debian.ts).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keepInImage } from '../../../images/src/build.ts';
import { debFileName, parsePins, PINS_FILE } from '../../../images/src/debian.ts';
import {
  discoverFolderImages,
  parseImageFile,
  productionPackagePaths,
} from '../../../images/src/definitions.ts';
import { pickFromPackage, RUNTIME_PACKAGES, runtimeFiles } from '../../../images/src/runtime-layer.ts';

const work = mkdtempSync(join(tmpdir(), 'paddock-defs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function file(path: string, text = ''): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

describe('discoverFolderImages', () => {
  it('finds agents and fixtures with a main.ts or an image.json and says why others are skipped', () => {
    const repo = join(work, 'repo');
    file(join(repo, 'agents/security-scanner/main.ts'));
    file(join(repo, 'agents/patcher/apply.ts')); // no main.ts yet
    file(join(repo, 'agents/common/git.ts')); // shared code, never an image
    file(join(repo, 'agents/fixtures/webhook-receiver/main.ts'));
    file(join(repo, 'agents/fixtures/repo-content/README.md')); // content only
    file(
      join(repo, 'agents/fixtures/git-server/image.json'),
      JSON.stringify({ runtime: 'none', debianPackages: ['git'], entrypoint: ['/usr/bin/git', 'daemon'] }),
    );
    const { images, skipped } = discoverFolderImages(repo);
    expect(images.map((i) => [i.name, i.entry])).toEqual([
      ['agent-security-scanner', 'agents/security-scanner/main.ts'],
      ['fixture-git-server', undefined],
      ['fixture-webhook-receiver', 'agents/fixtures/webhook-receiver/main.ts'],
    ]);
    expect(skipped).toEqual([
      'agents/patcher: no main.ts and no image.json',
      'agents/fixtures/repo-content: no main.ts and no image.json',
    ]);
  });

  it('refuses two folders giving one image name', () => {
    const repo = join(work, 'dup');
    file(join(repo, 'agents/a/main.ts'));
    file(join(repo, 'agents/b/main.ts'));
    file(join(repo, 'agents/b/image.json'), JSON.stringify({ name: 'agent-a' }));
    expect(() => discoverFolderImages(repo)).toThrow(/image name agent-a is used by agents\/a and agents\/b/);
  });

  it('is empty for a repository without agents/', () => {
    expect(discoverFolderImages(join(work, 'nothing'))).toEqual({ images: [], skipped: [] });
  });
});

describe('parseImageFile', () => {
  it('accepts every documented field', () => {
    const parsed = parseImageFile(
      {
        name: 'fixture-git',
        entry: null,
        runtime: 'none',
        debianPackages: ['git'],
        files: [{ from: 'repo', to: '/srv/repo' }],
        entrypoint: ['/usr/bin/git'],
        cmd: ['daemon'],
        env: { A: 'b' },
        workingDir: '/srv',
        user: '65532:65532',
        exposedPorts: ['9418/tcp'],
      },
      'x/image.json',
    );
    expect(parsed.debianPackages).toEqual(['git']);
    expect(parsed.files).toEqual([{ from: 'repo', to: '/srv/repo' }]);
  });

  it('names the file and the field of each mistake', () => {
    const bad: [unknown, RegExp][] = [
      [[], /x\/image.json: must be a JSON object/],
      [{ nmae: 'a' }, /unknown field "nmae"/],
      [{ name: 'Upper' }, /name must match/],
      [{ entry: '../other/main.ts' }, /entry must be a path inside the folder/],
      [{ runtime: 'python' }, /runtime must be "node" or "none"/],
      [{ debianPackages: 'git' }, /debianPackages: must be an array of strings/],
      [{ files: [{ from: '/etc', to: '/etc' }] }, /files\[0\].from: must be a path inside the folder/],
      [{ files: [{ from: 'a', to: 'relative' }] }, /files\[0\].to: must be an absolute path/],
      [{ env: { A: 1 } }, /env must be an object of strings/],
      [{ runtime: 'none' }, /runtime "none" needs an entrypoint/],
      [{ runtime: 'none', entrypoint: ['/x'], entry: 'main.ts' }, /runtime "none" cannot run an entry/],
    ];
    for (const [json, message] of bad) expect(() => parseImageFile(json, 'x/image.json')).toThrow(message);
  });
});

describe('productionPackagePaths', () => {
  it('keeps packages not marked dev, nested ones included, links left out', () => {
    const lock = {
      packages: {
        '': { name: 'root' },
        'node_modules/ajv': {},
        'node_modules/ajv/node_modules/fast-uri': {},
        'node_modules/vitest': { dev: true },
        'node_modules/fsevents': { dev: true, optional: true },
        'node_modules/peer-thing': { peer: true },
        'node_modules/local': { link: true },
      },
    };
    expect(productionPackagePaths(lock)).toEqual([
      'node_modules/ajv',
      'node_modules/ajv/node_modules/fast-uri',
      'node_modules/peer-thing',
    ]);
    expect(() => productionPackagePaths({ lockfileVersion: 1 })).toThrow(/lockfileVersion 2 or 3/);
  });

  it('on the repository lockfile: the operator dependencies in, the toolchain and the node package out', () => {
    const paths = productionPackagePaths(JSON.parse(readFileSync('package-lock.json', 'utf8')) as unknown);
    for (const name of ['ajv', 'pino', '@kubernetes/client-node', 'yaml'])
      expect(paths).toContain(`node_modules/${name}`);
    for (const name of ['vitest', 'typescript', 'esbuild', 'node', 'eslint'])
      expect(paths).not.toContain(`node_modules/${name}`);
  });
});

describe('keepInImage', () => {
  it('drops nested node_modules, TypeScript, source maps and docs, keeps code, JSON, wasm and licenses', () => {
    expect(keepInImage('node_modules', true)).toBe(false);
    expect(keepInImage('dist', true)).toBe(true);
    for (const kept of [
      'dist/index.js',
      'lib/x.cjs',
      'package.json',
      'r.wasm',
      'LICENSE',
      'LICENSE.md',
      'NOTICE.txt',
    ]) {
      expect(keepInImage(kept, false)).toBe(true);
    }
    for (const dropped of [
      'dist/index.d.ts',
      'src/x.ts',
      'a.mts',
      'dist/index.js.map',
      'README.md',
      'CHANGELOG.md',
    ]) {
      expect(keepInImage(dropped, false)).toBe(false);
    }
  });
});

describe('Debian pins', () => {
  it('the committed pins file has every runtime package for amd64', () => {
    const pins = parsePins(JSON.parse(readFileSync(PINS_FILE, 'utf8')) as unknown, 'amd64');
    for (const name of RUNTIME_PACKAGES) expect(pins.get(name)?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names the field of a bad pin and a missing architecture', () => {
    expect(() => parsePins({}, 'arm64')).toThrow(/no pins for architecture arm64/);
    expect(() => parsePins({ amd64: { libc6: { version: '2.36', sha256: 'x' } } }, 'amd64')).toThrow(
      /amd64\.libc6\.sha256: not a sha256/,
    );
    expect(() =>
      parsePins({ amd64: { libc6: { version: 'abc', sha256: 'a'.repeat(64) } } }, 'amd64'),
    ).toThrow(/amd64\.libc6\.version: not a Debian version/);
  });

  it('names files as apt does, epoch colon escaped', () => {
    expect(debFileName('git', '1:2.39.5-0+deb12u3', 'amd64')).toBe('git_1%3a2.39.5-0+deb12u3_amd64.deb');
  });
});

describe('runtime layer file selection', () => {
  it('lists the loader, libc, libm, libdl, libpthread, libstdc++ and libgcc_s for amd64', () => {
    const files = runtimeFiles('amd64');
    expect(files.libc6).toContain('lib64/ld-linux-x86-64.so.2');
    expect(files.libc6).toContain('lib/x86_64-linux-gnu/libc.so.6');
    expect(files['libstdc++6']).toEqual(['usr/lib/x86_64-linux-gnu/libstdc++.so.6']);
    expect(files['libgcc-s1']).toEqual(['lib/x86_64-linux-gnu/libgcc_s.so.1']);
    expect(() => runtimeFiles('s390x')).toThrow(/no Node runtime layer for architecture s390x/);
  });

  it('follows symlinks inside the package, relative and absolute, keeping link and target', async () => {
    const pkg = join(work, 'pkg');
    file(join(pkg, 'usr/lib/t/libx.so.6.0.30'), 'elf');
    symlinkSync('libx.so.6.0.30', join(pkg, 'usr/lib/t/libx.so.6'));
    file(join(pkg, 'lib/t/ld.so.2'), 'ld');
    mkdirSync(join(pkg, 'lib64'));
    symlinkSync('/lib/t/ld.so.2', join(pkg, 'lib64/ld.so.2'));
    const entries = await pickFromPackage(pkg, ['usr/lib/t/libx.so.6', 'lib64/ld.so.2'], 'p');
    expect(entries.map((e) => `${e.type}:${e.path}`)).toEqual([
      'symlink:usr/lib/t/libx.so.6',
      'file:usr/lib/t/libx.so.6.0.30',
      'symlink:lib64/ld.so.2',
      'file:lib/t/ld.so.2',
    ]);
    await expect(pickFromPackage(pkg, ['lib/none.so'], 'libc6')).rejects.toThrow(
      /Debian package libc6 has no \/lib\/none.so/,
    );
  });
});
