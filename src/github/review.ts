import type { CommandIO } from '../commands/types.js';
import type { DiffOptions } from '../commands/diff.js';
import type { ClusterDiff } from '../diff/objects.js';

/** Posts the review as a sticky PR comment; returns its URL, or undefined when it could not. */
export async function postReview(
  _diff: ClusterDiff,
  _options: DiffOptions,
  io: CommandIO,
): Promise<string | undefined> {
  io.log.warn('comment: posting the review is not implemented yet; the review is in the job summary');
  return undefined;
}
