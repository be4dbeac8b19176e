import type { ApprovalEvidence } from '../../../specs/index.ts';
import { evaluateApprovals } from '../../git/approval.ts';
import { pendingChanges, type ApprovedState } from '../../git/approved-tree.ts';
import { describePending, pendingByRequest } from '../pending.ts';
import { kindOf, nameOf, type PassMemory } from './memory.ts';
import type { Approved, Sourced, StepDeps } from './types.ts';

/**
 * Step 2, approve: the evidence of every modelled request (how its approved content got
 * in, or why a new one waits), and the changes on the branch that wait for approval. The
 * last pass's evidence is reused while the desired state is unchanged and no decision is
 * still open.
 */
export async function approveStep(d: StepDeps, m: PassMemory, s: Sourced): Promise<Approved> {
  const previous = s.reused ? m.lastSnapshot : undefined;
  const settled = previous && ![...previous.approvals.values()].some((e) => e.retry) ? previous.approvals : undefined;
  const approvals = settled ?? (await approvalsOf(d, m, s.state, s.head));
  m.lastSnapshot = { model: s.model, approvals };

  if (m.pendingAt?.head !== s.head) {
    const pending = await describePending(pendingChanges(s.state), s.state, {
      nameOf: (path) => nameOf(m.parsed.get(path)),
      readBlobs: (ids) => d.source.readBlobs(ids),
      cache: m.pendingFields,
    });
    m.pendingAt = { head: s.head, pending, byRequest: pendingByRequest(pending, s.model) };
  }
  const { pending, byRequest } = m.pendingAt;
  if (pending.length > 0) {
    d.log.warn('unapproved changes on the branch are not acted on', {
      branch: d.source.branch,
      count: pending.length,
      paths: pending.slice(0, 20).map((p) => p.path),
    });
  }
  return { approvals, pending, pendingByRequest: byRequest };
}

/**
 * Evidence per modelled request path. In github-review mode the reviews of the pull
 * request that brought a request decide for requests (github-review.ts); a decision GitHub
 * could not give (`retry`) is asked again next pass, never approved.
 */
async function approvalsOf(
  d: StepDeps,
  m: PassMemory,
  state: ApprovedState,
  head: string,
): Promise<Map<string, ApprovalEvidence>> {
  const out = new Map<string, ApprovalEvidence>();
  const requestPaths: string[] = [];
  for (const [path, file] of m.parsed) {
    if (kindOf(file) !== 'PrivacyRequest') continue;
    requestPaths.push(path);
    const evidence = state.approved.get(path)?.evidence ??
      state.refused.get(path)?.evidence ?? {
        approved: false,
        mode: state.config.spec.approval.mode,
        approvers: [],
        reason: 'not approved',
      };
    out.set(path, evidence);
  }
  const policy = state.config.spec.approval;
  if (policy.mode === 'github-review' && requestPaths.length > 0) {
    const github = await d.githubGate?.(policy);
    const decided = await evaluateApprovals(d.source, requestPaths, {
      head,
      policy,
      controllerIdentity: state.config.spec.identity,
      github,
    });
    for (const [path, evidence] of decided) out.set(path, evidence);
  }
  return out;
}
