// The article's status is derived from its artifacts' statuses, never stored independently of them.
import type { ArticleStatus, ArtifactStatus } from './types.ts';

export function deriveArticleStatus(statuses: readonly ArtifactStatus[]): ArticleStatus {
  if (statuses.length === 0) return 'pending';
  const n = (s: ArtifactStatus) => statuses.filter((x) => x === s).length;
  const pending = n('pending');
  const running = n('running');
  if (running > 0 || (pending > 0 && pending < statuses.length)) return 'running';
  if (pending === statuses.length) return 'pending';
  const succeeded = n('succeeded');
  const failed = n('failed');
  if (succeeded === 0) return 'failed';
  return failed > 0 ? 'partial' : 'complete';
}
