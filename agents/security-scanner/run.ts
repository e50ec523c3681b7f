// The scanner's run: clone, read, scan (pure), shape the outputs (pure).
import type { AgentContext } from '../../sdk/typescript/src/index.ts';
import { locate, openRepository } from '../common/run-support.ts';
import type { Severity } from './advisories.ts';
import { scannerOutputs, scanRepository, type ScannerOutputs } from './scan.ts';

export interface ScannerInputs {
  readonly repositoryPath: string;
  readonly cve?: string;
  readonly severityThreshold?: Severity;
}

export async function runScanner(inputs: ScannerInputs, ctx: AgentContext): Promise<ScannerOutputs> {
  const location = locate(inputs.repositoryPath);
  const workspace = await openRepository(location, ctx);
  try {
    const result = scanRepository(workspace.files, {
      cve: inputs.cve,
      severityThreshold: inputs.severityThreshold ?? 'medium',
    });
    ctx.log.info('scanned', {
      vulnerabilities: result.vulnerabilities.length,
      secrets: result.secrets.length,
      patchedFiles: result.patches.length,
    });
    const ref = location.ref === undefined ? '' : `#${location.ref}`;
    return scannerOutputs(result, `${location.display}${ref}`);
  } finally {
    await workspace.dispose();
  }
}
