// The TypeScript agent SDK end to end in one process (sdk/typescript/src/run.ts): inputs, schemas, exit
// codes, the 4096-byte outputs limit and the scrubbing of sensitive values (docs/agent-authors.md#writing-an-agent-with-the-sdk).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AgentFailure,
  defineAgent,
  executeAgent,
  EXIT_CODES,
  MAX_OUTPUTS_BYTES,
  type AgentDefinition,
  type JsonSchema,
} from '../../../sdk/typescript/src/index.ts';

const TOKEN = 'tok-3f9a1c77e2';
const ENV_SECRET = 'env-secret-5d1b22';

const inputsSchema: JsonSchema = {
  type: 'object',
  required: ['repo'],
  additionalProperties: false,
  properties: {
    repo: { type: 'string' },
    token: { type: 'string', 'x-paddock-sensitive': true },
    credentials: {
      type: 'object',
      'x-paddock-sensitive': true,
      properties: { user: { type: 'string' }, password: { type: 'string' } },
    },
    limit: { type: 'integer', maximum: 10 },
  },
};
const outputsSchema: JsonSchema = {
  type: 'object',
  required: ['summary'],
  properties: {
    summary: { type: 'string' },
    count: { type: 'integer', minimum: 0 },
    leaked: {
      type: 'array',
      items: { type: 'object', properties: { match: { type: 'string', 'x-paddock-sensitive': true } } },
    },
  },
};

let dir: string;
let logs: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paddock-sdk-test-'));
  logs = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function env(inputs: unknown, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PADDOCK_INPUTS: JSON.stringify(inputs),
    PADDOCK_OUTPUTS_FILE: join(dir, 'termination-log'),
    PADDOCK_WORKFLOW: 'wf',
    PADDOCK_STEP: 'scan',
    PADDOCK_ATTEMPT: '2',
    ...extra,
  };
}

async function run<O>(def: AgentDefinition<Record<string, unknown>, O>, e: NodeJS.ProcessEnv) {
  const result = await executeAgent(def, e, { writeLog: (line) => logs.push(line) });
  const file = readFileSync(join(dir, 'termination-log'), 'utf8');
  return { ...result, file, log: logs.join('') };
}

function agent<O>(
  body: (inputs: Record<string, unknown>) => Promise<O> | O,
): AgentDefinition<Record<string, unknown>, O> {
  return defineAgent({ name: 'test', inputsSchema, outputsSchema, run: async (inputs) => body(inputs) });
}

describe('success', () => {
  it('writes the outputs as compact JSON and exits 0; the context carries the pod identity', async () => {
    let seen: unknown;
    const def = defineAgent({
      name: 'ctx',
      run: (_inputs: unknown, ctx) => {
        seen = { workflow: ctx.workflow, step: ctx.step, attempt: ctx.attempt, tmpDir: ctx.tmpDir };
        return Promise.resolve({ summary: 'ok', count: 2 });
      },
    });
    const r = await run(def, env({ repo: 'r' }, { TMPDIR: dir }));
    expect(r.exitCode).toBe(EXIT_CODES.ok);
    expect(r.file).toBe('{"summary":"ok","count":2}');
    expect(seen).toEqual({ workflow: 'wf', step: 'scan', attempt: 2, tmpDir: dir });
  });

  it("uses /tmp as the context's tmpDir when TMPDIR is not set (as in a pod)", async () => {
    let tmp = '';
    const r = await run(
      defineAgent({ name: 't', run: (_i: unknown, ctx) => Promise.resolve(((tmp = ctx.tmpDir), {})) }),
      env({}),
    );
    expect(r.exitCode).toBe(0);
    expect(tmp).toBe('/tmp');
    expect(r.file).toBe('{}');
  });

  it('an agent that returns nothing writes {}', async () => {
    const r = await run(defineAgent({ name: 'void', run: () => Promise.resolve(undefined) }), env({}));
    expect([r.exitCode, r.file]).toEqual([0, '{}']);
  });
});

describe('inputs', () => {
  it('invalid inputs exit 2 with the JSON pointer of the field, and run() is not called', async () => {
    let called = false;
    const r = await run(
      agent(() => ((called = true), { summary: 'x' })),
      env({ repo: 'r', limit: 11 }),
    );
    expect(r.exitCode).toBe(EXIT_CODES.invalidInputs);
    expect(r.file).toBe('inputs do not match inputsSchema at /limit: must be <= 10');
    expect(called).toBe(false);
  });

  it('names a missing field and an unknown one by pointer', async () => {
    const r = await run(
      agent(() => ({ summary: 'x' })),
      env({ rpeo: 'r' }),
    );
    expect(r.exitCode).toBe(2);
    expect(r.file).toContain('at /repo: is required');
    expect(r.file).toContain('at /rpeo: is not a known field');
  });

  it('never shows a sensitive input in an error, even when that input is the invalid one', async () => {
    const r = await run(
      agent(() => ({ summary: 'x' })),
      env({ repo: 'r', credentials: { user: 'admin-user', password: 42 } }),
    );
    expect(r.exitCode).toBe(2);
    // The pointer stops at the sensitive object: its own keys are data too.
    expect(r.file).toBe('inputs do not match inputsSchema at /credentials: must be string');
    expect(r.log).not.toContain('admin-user');
  });

  it('inputs that are not JSON exit 2 without quoting them', async () => {
    const r = await run(
      agent(() => ({ summary: 'x' })),
      {
        ...env({}),
        PADDOCK_INPUTS: `{"repo": "r", "token": "${TOKEN}" oops}`,
      },
    );
    expect(r.exitCode).toBe(2);
    expect(r.file).toMatch(/^\$PADDOCK_INPUTS is not valid JSON \(\d+ bytes/);
    expect(r.file + r.log).not.toContain(TOKEN);
  });

  it('no inputs at all exit 2 naming both sources', async () => {
    const { PADDOCK_INPUTS: _dropped, ...rest } = env({});
    const r = await run(
      agent(() => ({ summary: 'x' })),
      rest,
    );
    expect(r.exitCode).toBe(2);
    expect(r.file).toContain('neither $PADDOCK_INPUTS nor $PADDOCK_INPUTS_FILE is set');
  });
});

describe('outputs', () => {
  /** Outputs whose compact JSON is exactly `bytes` UTF-8 bytes, using 2-byte characters so bytes != characters. */
  function outputsOfBytes(bytes: number): { summary: string } {
    const frame = Buffer.byteLength('{"summary":""}', 'utf8');
    const body = bytes - frame;
    const text = 'é'.repeat(Math.floor(body / 2)) + 'a'.repeat(body % 2);
    const out = { summary: text };
    expect(Buffer.byteLength(JSON.stringify(out), 'utf8')).toBe(bytes);
    return out;
  }

  it(`exactly ${MAX_OUTPUTS_BYTES} bytes pass and are written whole`, async () => {
    const out = outputsOfBytes(4096);
    const r = await run(
      agent(() => out),
      env({ repo: 'r' }),
    );
    expect(r.exitCode).toBe(0);
    expect(Buffer.byteLength(r.file, 'utf8')).toBe(4096);
    expect(JSON.parse(r.file)).toEqual(out);
  });

  it('4097 bytes exit 4 with a reason naming both sizes, and the outputs are not written', async () => {
    const r = await run(
      agent(() => outputsOfBytes(4097)),
      env({ repo: 'r' }),
    );
    expect(r.exitCode).toBe(EXIT_CODES.outputsTooLarge);
    expect(r.file).toContain('4097 bytes');
    expect(r.file).toContain('4096-byte limit');
    expect(r.file).not.toContain('éé');
  });

  it('outputs that do not match outputsSchema exit 3 naming the field', async () => {
    const r = await run(
      agent(() => ({ summary: 'x', count: -1 })),
      env({ repo: 'r' }),
    );
    expect(r.exitCode).toBe(EXIT_CODES.invalidOutputs);
    expect(r.file).toBe('outputs do not match outputsSchema at /count: must be >= 0');
  });

  it('outputs that are not a JSON object exit 3', async () => {
    const r = await run(defineAgent({ name: 'arr', run: () => Promise.resolve([1, 2]) }), env({}));
    expect(r.exitCode).toBe(3);
    expect(r.file).toBe('outputs must be a JSON object, not an array');
  });
});

describe('failures', () => {
  it('AgentFailure exits 1 with its message as the reason', async () => {
    const r = await run(
      agent(() => {
        throw new AgentFailure('git clone failed: repository not found');
      }),
      env({ repo: 'r' }),
    );
    expect([r.exitCode, r.file]).toEqual([1, 'git clone failed: repository not found']);
  });

  it('AgentFailure may choose its exit code (1-125), anything else becomes 1', async () => {
    expect(new AgentFailure('x', { exitCode: 9 }).exitCode).toBe(9);
    expect(new AgentFailure('x', { exitCode: 0 }).exitCode).toBe(1);
    expect(new AgentFailure('x', { exitCode: 300 }).exitCode).toBe(1);
    const r = await run(
      agent(() => {
        throw new AgentFailure('no', { exitCode: 9 });
      }),
      env({ repo: 'r' }),
    );
    expect(r.exitCode).toBe(9);
  });

  it('an uncaught error exits 1 with its class and message', async () => {
    const r = await run(
      agent(() => {
        throw new RangeError('index out of range');
      }),
      env({ repo: 'r' }),
    );
    expect([r.exitCode, r.file]).toEqual([1, 'uncaught RangeError: index out of range']);
  });

  it('a long reason is cut to one line of at most 512 characters', async () => {
    const r = await run(
      agent(() => {
        throw new AgentFailure(`first line\n${'y'.repeat(2000)}`);
      }),
      env({ repo: 'r' }),
    );
    expect(r.file.length).toBe(512);
    expect(r.file).not.toContain('\n');
    expect(r.file.startsWith('first line y')).toBe(true);
  });

  it('a schema that does not compile fails with exit 1 and says which one', async () => {
    const r = await run(
      defineAgent({
        name: 'bad',
        outputsSchema: { type: 'object', properties: { a: { type: 'nope' } } },
        run: () => Promise.resolve({}),
      }),
      env({}),
    );
    expect(r.exitCode).toBe(1);
    expect(r.file).toContain('outputsSchema is not a valid JSON Schema');
  });
});

describe('sensitive values', () => {
  it('never reach the logs or the termination file: sensitive inputs, outputs and secret env values', async () => {
    const password = 'pw-77aa90bcd';
    const r = await run(
      agent((inputs) => {
        // A careless failure message: a sensitive input, a sensitive object and a secret env value.
        throw new AgentFailure(
          `login ${String(inputs['token'])} / ${JSON.stringify(inputs['credentials'])} with ${ENV_SECRET} failed`,
        );
      }),
      env(
        { repo: 'r', token: TOKEN, credentials: { user: 'u-bob', password } },
        { GITHUB_TOKEN: ENV_SECRET },
      ),
    );
    expect(r.exitCode).toBe(1);
    for (const secret of [TOKEN, password, ENV_SECRET, 'u-bob']) {
      expect(r.file).not.toContain(secret);
      expect(r.log).not.toContain(secret);
    }
    expect(r.file).toContain('[REDACTED]');
  });

  it('the logger redacts sensitive inputs and secret env values wherever they appear in a line', async () => {
    const leakedKey = 'AKIAABCDEFGHIJKLMNOP';
    const listed = 'listed-secret-value';
    const def = defineAgent({
      name: 'logs',
      inputsSchema,
      outputsSchema,
      secretEnv: ['PLAIN_NAMED'],
      run: (inputs: Record<string, unknown>, ctx) => {
        ctx.log.info(`using token ${String(inputs['token'])}`, { inputs, env: listed });
        ctx.log.warn('nested', { deep: { list: [inputs['token']], [String(inputs['token'])]: 1 } });
        return Promise.resolve({ summary: 'one leak', leaked: [{ match: leakedKey }] });
      },
    });
    const r = await run(def, env({ repo: 'r', token: TOKEN }, { PLAIN_NAMED: listed }));
    expect(r.exitCode).toBe(0);
    expect(r.log).not.toContain(TOKEN);
    // A variable listed in secretEnv is scrubbed although its name does not look secret.
    expect(r.log).not.toContain(listed);
    const lines = r.log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'using token [REDACTED]',
      inputs: { repo: 'r', token: '[REDACTED]' },
      agent: 'logs',
      workflow: 'wf',
      step: 'scan',
      attempt: 2,
    });
    // The outputs themselves are written as they are: the operator redacts them in status.
    expect(JSON.parse(r.file)).toEqual({ summary: 'one leak', leaked: [{ match: leakedKey }] });
  });

  it('log lines below LOG_LEVEL are dropped', async () => {
    const def = defineAgent({
      name: 'lvl',
      run: (_i: unknown, ctx) => {
        ctx.log.debug('hidden');
        ctx.log.warn('shown');
        return Promise.resolve({});
      },
    });
    await run(def, env({}, { LOG_LEVEL: 'warn' }));
    expect(logs.join('')).not.toContain('hidden');
    expect(logs.join('')).toContain('shown');
  });
});
