// sandbox-probe: reports what the Paddock sandbox lets an agent do (probe.ts). Not an example of
// real work: a tool to check a cluster's sandbox, meant for the real-node tests and
// documented in docs/security.md ("Checking a cluster's sandbox").
//
// Modes (input `mode`):
//   inspect  identity, writable paths, mounted token, visible paths, connections, DNS (default)
//   memory   allocate `memoryMiB` (expect an OOM kill under a lower limit)
//   fork     start sleeping processes until refused (expect the node's pod pids limit)
//   serve    accept TCP connections on `port` for `seconds` (a target for other probes)
//   output   write outputs of exactly `outputBytes` bytes of JSON, through the SDK (which refuses
//            more than 4096) or, with raw: true, straight to the termination file
import { writeFileSync } from 'node:fs';
import { defineAgent, runAgent } from '../../sdk/typescript/src/index.ts';
import {
  forkUntilRefused,
  hogMemory,
  identity,
  paddedOutputs,
  serve,
  tryConnect,
  tryResolve,
  tryWrite,
  visible,
} from './probe.ts';

interface Target {
  name: string;
  host: string;
  port: number;
}

interface Inputs {
  mode?: 'inspect' | 'memory' | 'fork' | 'output' | 'serve';
  port?: number;
  seconds?: number;
  paths?: string[];
  connect?: Target[];
  resolve?: string[];
  timeoutMs?: number;
  memoryMiB?: number;
  forkMax?: number;
  outputBytes?: number;
  raw?: boolean;
  startDelayMs?: number;
}

const TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const inputsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { enum: ['inspect', 'memory', 'fork', 'output', 'serve'] },
    port: { type: 'integer', minimum: 1024, maximum: 65535 },
    seconds: { type: 'integer', minimum: 1, maximum: 3600 },
    paths: { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 256 } },
    connect: {
      type: 'array',
      maxItems: 20,
      items: {
        type: 'object',
        required: ['name', 'host', 'port'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', maxLength: 40 },
          host: { type: 'string', maxLength: 253 },
          port: { type: 'integer', minimum: 1, maximum: 65535 },
        },
      },
    },
    resolve: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 253 } },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 30000 },
    memoryMiB: { type: 'integer', minimum: 16, maximum: 65536 },
    forkMax: { type: 'integer', minimum: 1, maximum: 100000 },
    outputBytes: { type: 'integer', minimum: 16, maximum: 1000000 },
    raw: { type: 'boolean' },
    // Wait before probing: separates what the sandbox allows from what a policy engine allowed before it
    // enforced the pod's NetworkPolicies.
    startDelayMs: { type: 'integer', minimum: 0, maximum: 60000 },
  },
};

const agent = defineAgent<Inputs, Record<string, unknown>>({
  name: 'sandbox-probe',
  inputsSchema,
  async run(inputs, ctx) {
    const timeoutMs = inputs.timeoutMs ?? 3000;
    if (inputs.startDelayMs) await new Promise((r) => setTimeout(r, inputs.startDelayMs));
    switch (inputs.mode ?? 'inspect') {
      case 'serve':
        return { accepted: await serve(inputs.port ?? 8080, inputs.seconds ?? 60) };
      case 'memory': {
        const held = hogMemory(inputs.memoryMiB ?? 4096);
        return { heldMiB: held };
      }
      case 'fork': {
        const r = await forkUntilRefused(['/bin/busybox', 'sleep', '300'], inputs.forkMax ?? 5000);
        ctx.log.info('fork', r);
        return r;
      }
      case 'output': {
        const outputs = paddedOutputs(inputs.outputBytes ?? 4096);
        if (inputs.raw) {
          // Past the SDK's check: what the kubelet does with a larger file.
          writeFileSync(
            process.env['PADDOCK_OUTPUTS_FILE'] ?? '/dev/termination-log',
            JSON.stringify(outputs),
          );
          process.exit(0);
        }
        return outputs;
      }
      default: {
        const connections: Record<string, string> = {};
        await Promise.all(
          (inputs.connect ?? []).map(async (t) => {
            connections[t.name] = await tryConnect(t.host, t.port, timeoutMs);
          }),
        );
        const names: Record<string, string[] | string> = {};
        await Promise.all(
          (inputs.resolve ?? []).map(async (n) => {
            names[n] = await tryResolve(n, timeoutMs);
          }),
        );
        return {
          identity: identity(),
          writes: { root: tryWrite('/probe'), etc: tryWrite('/etc/probe'), tmp: tryWrite('/tmp/probe') },
          tokenMounted: visible([TOKEN_DIR])[TOKEN_DIR] ?? false,
          visible: visible(inputs.paths ?? []),
          connect: connections,
          resolve: names,
        };
      }
    }
  },
});

await runAgent(agent);
