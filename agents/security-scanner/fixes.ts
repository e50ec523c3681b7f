// Turns the vulnerabilities that have a safe upgrade into edits of the manifests that pin them, and the edits into
// one unified diff (the patcher's input). What is edited:
// - package.json and lockfiles: every `"name": "<old>"` spec (with an optional ^, ~ or = kept as written);
//   in lockfile v2/v3 entries also the "version" and the tarball URL in "resolved", and "integrity" is dropped
//   (npm recomputes it on the next install; a hash for the new tarball cannot be known offline);
// - requirements*.txt: `name==old` becomes `name==new`;
// - go.mod: the require line's version (go.sum needs `go mod tidy` afterwards; the report says so).
// Files that do not end with a newline are left alone: their last line cannot be diffed faithfully.
import type { Vulnerability } from './advisories.ts';
import { unifiedDiff } from '../common/unified-diff.ts';

export interface Upgrade {
  readonly ecosystem: string;
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/') + 1);
}

function bumpNpmSpecs(lines: string[], u: Upgrade): void {
  const spec = new RegExp(`^(\\s*"${escapeRegExp(u.name)}"\\s*:\\s*")([~^=]?v?)${escapeRegExp(u.from)}(")`);
  for (let i = 0; i < lines.length; i++) lines[i] = (lines[i] ?? '').replace(spec, `$1$2${u.to}$3`);
}

function bumpLockEntries(lines: string[], u: Upgrade): void {
  const entry = new RegExp(`^\\s*"(?:[^"]*/)?node_modules/${escapeRegExp(u.name)}"\\s*:\\s*\\{\\s*$`);
  for (let i = 0; i < lines.length; i++) {
    if (!entry.test(lines[i] ?? '')) continue;
    const inEntry: number[] = [];
    for (let j = i + 1; j < lines.length && !/^\s*\}/.test(lines[j] ?? ''); j++) inEntry.push(j);
    if (!inEntry.some((j) => (lines[j] ?? '').includes(`"version": "${u.from}"`))) continue;
    for (const j of inEntry) {
      const line = lines[j] ?? '';
      if (line.includes('"version":')) lines[j] = line.replace(`"${u.from}"`, `"${u.to}"`);
      else if (line.includes('"resolved":')) lines[j] = line.replace(`-${u.from}.tgz`, `-${u.to}.tgz`);
      else if (line.includes('"integrity":')) lines[j] = '\u0000drop';
    }
  }
  // Drop the integrity lines, then any comma left dangling before a closing brace.
  const kept = lines.filter((l) => l !== '\u0000drop');
  for (let i = 0; i + 1 < kept.length; i++)
    if (/^\s*\}/.test(kept[i + 1] ?? '') && (kept[i] ?? '').endsWith(','))
      kept[i] = (kept[i] ?? '').slice(0, -1);
  lines.splice(0, lines.length, ...kept);
}

/** The new text of every manifest the upgrades change (unchanged files are absent). */
export function applyUpgrades(
  files: readonly { path: string; text: string }[],
  vulnerabilities: readonly Vulnerability[],
): Map<string, string> {
  const upgrades = new Map<string, { u: Upgrade; file: string }>();
  for (const v of vulnerabilities) {
    if (v.fixedIn === undefined) continue;
    const d = v.dependency;
    upgrades.set(`${d.file}\u0000${d.name}\u0000${d.version}`, {
      u: { ecosystem: d.ecosystem, name: d.name, from: d.version, to: v.fixedIn },
      file: d.file,
    });
  }
  const byPath = new Map(files.map((f) => [f.path, f.text]));
  const edited = new Map<string, string[]>();
  const linesOf = (path: string): string[] | undefined => {
    const existing = edited.get(path);
    if (existing) return existing;
    const text = byPath.get(path);
    if (text === undefined || !text.endsWith('\n')) return undefined;
    const lines = text.slice(0, -1).split('\n');
    edited.set(path, lines);
    return lines;
  };
  for (const { u, file } of upgrades.values()) {
    if (u.ecosystem === 'npm') {
      const lock = linesOf(file);
      if (lock && file.endsWith('package-lock.json')) bumpLockEntries(lock, u);
      if (lock) bumpNpmSpecs(lock, u);
      const manifest = linesOf(`${dirOf(file)}package.json`);
      if (manifest && file !== `${dirOf(file)}package.json`) bumpNpmSpecs(manifest, u);
    } else if (u.ecosystem === 'pypi') {
      const lines = linesOf(file);
      const pin = new RegExp(`(===?\\s*)${escapeRegExp(u.from)}(?![0-9A-Za-z.])`);
      if (lines)
        for (let i = 0; i < lines.length; i++) {
          const name = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(lines[i] ?? '')?.[1];
          if (name && name.toLowerCase().replace(/[-_.]+/g, '-') === u.name)
            lines[i] = (lines[i] ?? '').replace(pin, `$1${u.to}`);
        }
    } else {
      const lines = linesOf(file);
      const req = new RegExp(
        `^(\\s*(?:require\\s+)?${escapeRegExp(u.name)}\\s+)${escapeRegExp(u.from)}(?=\\s|$)`,
      );
      if (lines) for (let i = 0; i < lines.length; i++) lines[i] = (lines[i] ?? '').replace(req, `$1${u.to}`);
    }
  }
  const out = new Map<string, string>();
  for (const [path, lines] of edited) {
    const text = `${lines.join('\n')}\n`;
    if (text !== byPath.get(path)) out.set(path, text);
  }
  return out;
}

/** One unified diff over every changed file, in path order. */
export function upgradePatch(
  files: readonly { path: string; text: string }[],
  changed: Map<string, string>,
): string[] {
  const byPath = new Map(files.map((f) => [f.path, f.text]));
  return [...changed.keys()]
    .sort()
    .map((path) => unifiedDiff(path, byPath.get(path) ?? '', changed.get(path) ?? ''));
}
