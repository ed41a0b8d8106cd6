import type { CommentMode } from '../github/review.js';
import type { RenderEngineOptions } from '../render/options.js';
import type { ShardSpec } from '../flux/shard.js';
import type { ClusterAccessOptions } from '../cluster/client.js';

/** The diff domain's options (`fluxgate diff`). */
export interface DiffOptions extends RenderEngineOptions {
  base: string;
  head: string;
  paths: string[];
  format: 'markdown' | 'json' | 'unified' | 'html';
  stripAttrs: string[];
  /** undefined: on for git refs, off for directories. */
  changedOnly?: boolean;
  comment: CommentMode;
  /** The pull request to comment on (workflow_run workflows); default: the event's. */
  prNumber?: number;
  /** `new`: only errors the change brings (or on owners it changes) fail; `all`: any error. */
  failOnErrors: 'new' | 'all';
  commentKey?: string;
  verify: boolean;
  /** `--verify`: Secrets kept outside the repository, and the policy knobs of `verify`. */
  verifySecrets: Map<string, string>;
  requireSignatures: boolean;
  requireDigests: boolean;
  requireEncryptedSecrets: boolean;
  fluxVersion?: string;
  diffPath?: string;
  githubToken?: string;
  /** `--shard I/N`: render this cell's share and write a partial report for `merge`. */
  shard?: ShardSpec;
  /** Where the partial report goes (`--output`). */
  output?: string;
  /** `--cluster`: head against the live cluster (no base). */
  cluster?: ClusterAccessOptions;
}
