// The SDK keeps its own copy of the agent contract so it can be bundled without the operator
// (sdk/typescript/src/contract.ts); this holds the copy to what the operator really sets in agent pods.
import { describe, expect, it } from 'vitest';
import * as labels from '../../../operator/src/api/labels.ts';
import { MAX_OUTPUTS_BYTES as OPERATOR_MAX_OUTPUTS } from '../../../operator/src/controllers/workflow/cel-estimate.ts';
import * as contract from '../../../sdk/typescript/src/contract.ts';

describe('the SDK contract equals the operator', () => {
  it('names the same environment variables and files', () => {
    expect(contract.ENV_INPUTS).toBe(labels.ENV_INPUTS);
    expect(contract.ENV_INPUTS_FILE).toBe(labels.ENV_INPUTS_FILE);
    expect(contract.ENV_OUTPUTS_FILE).toBe(labels.ENV_OUTPUTS_FILE);
    expect(contract.ENV_WORKFLOW).toBe(labels.ENV_WORKFLOW);
    expect(contract.ENV_STEP).toBe(labels.ENV_STEP);
    expect(contract.ENV_ATTEMPT).toBe(labels.ENV_ATTEMPT);
    expect(contract.DEFAULT_OUTPUTS_FILE).toBe(labels.TERMINATION_MESSAGE_PATH);
  });

  it('has the same outputs limit', () => {
    expect(contract.MAX_OUTPUTS_BYTES).toBe(OPERATOR_MAX_OUTPUTS);
  });
});
