// The security-scanner agent (examples/agents/security-scanner.yaml): SDK wiring only; see run.ts and scan.ts.
import { defineAgent, runAgent } from '../../sdk/typescript/src/index.ts';
import { runScanner, type ScannerInputs } from './run.ts';
import type { ScannerOutputs } from './scan.ts';
import { inputsSchema, outputsSchema } from './schemas.ts';

await runAgent(
  defineAgent<ScannerInputs, ScannerOutputs>({
    name: 'security-scanner',
    inputsSchema,
    outputsSchema,
    run: runScanner,
  }),
);
