// The code reviewer's run: clone at the ref to review, find the changed files (given, or against the baseline),
// review them (pure), shape the outputs (pure), and apply the optional quality gate.
import { AgentFailure, type AgentContext } from '../../sdk/typescript/src/index.ts';
import { changedPaths, resolveCommit } from '../common/git.ts';
import { clearly, locate, openRepository } from '../common/run-support.ts';
import { reviewChanges, reviewerOutputs, type ReviewerOutputs } from './review.ts';

export interface ReviewerInputs {
  readonly repositoryPath: string;
  readonly changedFiles?: readonly string[];
  readonly baseline?: string;
  readonly failBelow?: number;
}

export async function runReviewer(inputs: ReviewerInputs, ctx: AgentContext): Promise<ReviewerOutputs> {
  const location = locate(inputs.repositoryPath);
  const workspace = await openRepository(location, ctx);
  try {
    const { checkout, files } = workspace;
    let changed: readonly string[];
    let against: string;
    if (inputs.changedFiles !== undefined && inputs.changedFiles.length > 0) {
      changed = inputs.changedFiles;
      against = inputs.baseline === undefined ? 'as listed' : `against ${inputs.baseline}`;
    } else if (inputs.baseline !== undefined) {
      const baseline = inputs.baseline;
      const base = await clearly(() => resolveCommit(checkout.dir, baseline)).catch(() => {
        throw new AgentFailure(`baseline: no branch, tag or commit "${baseline}" in ${location.display}`);
      });
      changed = await changedPaths(checkout.dir, base, checkout.commit);
      against = `against ${baseline}`;
    } else {
      changed = files.map((f) => f.path);
      against = 'in the whole repository';
    }
    ctx.log.info('reviewing', { files: changed.length, against });
    const review = reviewChanges(files, changed);
    const outputs = reviewerOutputs(review, against);
    if (inputs.failBelow !== undefined && review.score < inputs.failBelow) {
      throw new AgentFailure(
        `score ${review.score} is below failBelow ${inputs.failBelow}: ${outputs.summary}`,
      );
    }
    return outputs;
  } finally {
    await workspace.dispose();
  }
}
