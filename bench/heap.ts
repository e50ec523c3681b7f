// Summarizes a V8 .heapsnapshot (from `node bench/run.ts --heap-snapshot`): live heap
// (the snapshot is taken after a full GC) by node type and constructor, self sizes.
// Retained sizes need a dominator tree; self sizes by constructor already say what
// the heap is made of.
//
//   node --max-old-space-size=8192 bench/heap.ts <file.heapsnapshot> [--top 30]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string' } }, allowPositionals: true });
const top = Number(values.top ?? 30);
for (const file of positionals) {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const byType = new Map<string, [number, number]>();
  const byName = new Map<string, [number, number]>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]!] ?? '?';
    const size = snap.nodes[i + iSize]!;
    total += size;
    const t = byType.get(type) ?? [0, 0];
    t[0] += size;
    t[1]++;
    byType.set(type, t);
    let name = type;
    if (type === 'object' || type === 'closure' || type === 'native')
      name = `${type} ${snap.strings[snap.nodes[i + iName]!] ?? '?'}`;
    const n = byName.get(name) ?? [0, 0];
    n[0] += size;
    n[1]++;
    byName.set(name, n);
  }
  const fmt = ([size, count]: [number, number], label: string): string =>
    `  ${(size / 2 ** 20).toFixed(1).padStart(8)} MiB  ${((size / total) * 100).toFixed(1).padStart(5)} %  ${String(count).padStart(9)}  ${label}`;
  const lines = [
    `== ${file}`,
    `live heap: ${(total / 2 ** 20).toFixed(1)} MiB in ${snap.nodes.length / width} nodes`,
    '',
    'by node type:',
  ];
  for (const [k, v] of [...byType].sort((a, b) => b[1][0] - a[1][0])) lines.push(fmt(v, k));
  lines.push('', `by constructor (top ${top}):`);
  for (const [k, v] of [...byName].sort((a, b) => b[1][0] - a[1][0]).slice(0, top)) lines.push(fmt(v, k));
  process.stdout.write(`${lines.join('\n')}\n`);
}
