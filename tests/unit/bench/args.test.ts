// The benchmark's flags (bench/lib/args.ts): phase selection with --skip and --only, the real-node
// phase's settings, and the refusals.
import { describe, expect, it } from 'vitest';
import { parseBenchArgs, PHASES } from '../../../bench/lib/args.ts';

const parse = (...argv: string[]) => {
  const a = parseBenchArgs(argv);
  if (!a) throw new Error('help');
  return a;
};

describe('parseBenchArgs', () => {
  it('runs every phase by default, the real node included', () => {
    const a = parse();
    expect(a.skip.size).toBe(0);
    expect(PHASES).toContain('real-node');
    expect(a.realNodeRuns).toBe(30);
    expect(a.realNodeGapMs).toBe(2000);
    expect(a.realNodeLockWaitSeconds).toBe(1200);
    expect(a.realNodeGate).toBe('both');
  });

  it('--only runs the named phases and skips every other', () => {
    const a = parse('--only', 'real-node');
    expect([...a.skip].sort()).toEqual(PHASES.filter((p) => p !== 'real-node').sort());
    const b = parse('--only', 'latency,rss');
    expect(b.skip.has('latency')).toBe(false);
    expect(b.skip.has('rss')).toBe(false);
    expect(b.skip.has('real-node')).toBe(true);
  });

  it('--skip takes the real node too', () => {
    expect(parse('--skip', 'real-node,rss').skip).toEqual(new Set(['real-node', 'rss']));
  });

  it('refuses unknown phases, an empty --only, and --skip with --only', () => {
    expect(() => parse('--skip', 'docker')).toThrow(/--skip: unknown phase docker/);
    expect(() => parse('--only', 'real')).toThrow(/--only: unknown phase real \(phases: latency, /);
    expect(() => parse('--only', '')).toThrow(/--only: name at least one phase/);
    expect(() => parse('--skip', 'rss', '--only', 'real-node')).toThrow(/give one of them/);
  });

  it('takes the real-node settings, and --small runs 20', () => {
    const a = parse('--real-node-runs', '25', '--real-node-gap-ms', '0', '--real-node-lock-wait', '60');
    expect([a.realNodeRuns, a.realNodeGapMs, a.realNodeLockWaitSeconds]).toEqual([25, 0, 60]);
    expect(parse('--small').realNodeRuns).toBe(20);
    expect(() => parse('--real-node-runs', '0')).toThrow(/--real-node-runs must be an integer >= 1/);
    expect(parse('--real-node-gate', 'on').realNodeGate).toBe('on');
    expect(parse('--real-node-gate', 'off').realNodeGate).toBe('off');
    expect(() => parse('--real-node-gate', 'yes')).toThrow(/--real-node-gate must be on, off or both/);
  });
});
