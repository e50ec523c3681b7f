// Summarizes a V8 .cpuprofile (from `node bench/run.ts --cpu-prof`): self time by
// function, by package/file, and inclusive time of selected frames.
//
//   node bench/profile.ts <file.cpuprofile> [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** "undici", "@kubernetes/client-node", "operator/src/kube/informer.ts", "(native)". */
function moduleOf(url: string): string {
  if (!url) return '(native/vm)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  const src = url.indexOf('/operator/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(p: CpuProfile, top: number): string {
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const byId = new Map(p.nodes.map((n) => [n.id, n] as const));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byMod = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'}  ${moduleOf(f.url)}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    const mod = f.url ? moduleOf(f.url) : f.functionName.startsWith('(') ? f.functionName : '(native/vm)';
    byMod.set(mod, (byMod.get(mod) ?? 0) + us);
  }
  // Inclusive time: a frame's self time plus its descendants'.
  const inclusive = new Map<string, number>();
  const visit = (id: number, onStack: Set<string>): number => {
    const n = byId.get(id)!;
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${moduleOf(n.callFrame.url)}`;
    const recursive = onStack.has(key);
    if (!recursive) onStack.add(key);
    let t = self.get(id) ?? 0;
    for (const c of n.children ?? []) t += visit(c, onStack);
    if (!recursive) {
      onStack.delete(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + t);
    }
    return t;
  };
  const root = p.nodes[0];
  if (root) visit(root.id, new Set());
  const pct = (us: number): string =>
    `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms`;
  const lines: string[] = [];
  lines.push(
    `profile: ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s wall, ${(total / 1e6).toFixed(1)} s sampled`,
  );
  lines.push('', 'self time by package / file:');
  for (const [k, v] of [...byMod].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  lines.push('', 'self time by function:');
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  lines.push('', 'inclusive time (a frame and everything it called; recursion counted once):');
  for (const [k, v] of [...inclusive]
    .filter(([k]) => !k.startsWith('(root)') && !k.startsWith('(program)') && !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top))
    lines.push(`  ${pct(v)}  ${k}`);
  return lines.join('\n');
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string' } }, allowPositionals: true });
for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`== ${file}\n${summarizeProfile(p, Number(values.top ?? 25))}\n`);
}
