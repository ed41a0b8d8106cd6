/** Every output the action may set, for action.yml; commands set the ones that apply to them. */
export const ACTION_OUTPUTS: { name: string; description: string }[] = [
  { name: 'objects', description: 'render: number of objects rendered.' },
  { name: 'errors', description: 'render, diff: number of render errors.' },
  { name: 'changed', description: "diff: 'true' when the change alters any object Flux applies." },
  { name: 'added', description: 'diff: number of objects added.' },
  { name: 'removed', description: 'diff: number of objects removed.' },
  { name: 'modified', description: 'diff: number of objects modified.' },
  { name: 'diff-path', description: 'diff: file holding the complete review (markdown), for upload.' },
  {
    name: 'review-path',
    description:
      'diff: the review as a file for a workflow artifact: the self-contained HTML page with format: html, else the diff-path file.',
  },
  {
    name: 'json-path',
    description: 'diff: file holding the complete JSON result (the json output drops diffs when large).',
  },
  {
    name: 'report-path',
    description: 'render, diff with shard: file holding the partial report, for upload and `merge`.',
  },
  { name: 'comment-url', description: 'diff: URL of the sticky PR comment, when one was posted.' },
  {
    name: 'verified',
    description: "verify, diff with verify: 'true' when every signature checked verified.",
  },
  { name: 'findings', description: 'verify, diff with verify: the policy findings as JSON.' },
  { name: 'digest', description: 'build, push, pull: digest of the artifact (sha256:…).' },
  {
    name: 'pushed',
    description: "push: 'false' when --diff-tag found the content unchanged (nothing pushed or signed).",
  },
  { name: 'digest-url', description: 'push: HOST/REPO@DIGEST of the artifact the tags point at.' },
  { name: 'url', description: 'push: oci://HOST/REPO@DIGEST of the pushed artifact.' },
  { name: 'tags', description: 'push, tag: the tags pointing at the digest, comma separated.' },
  { name: 'revision', description: 'push: the org.opencontainers.image.revision pushed.' },
  { name: 'signatures', description: 'push, sign: the signatures made, as JSON.' },
  { name: 'attestations', description: 'push --attest, attest: the attestations made, as JSON.' },
  {
    name: 'migrated',
    description: 'migrate: number of apiVersion lines rewritten (or that would be, with dry-run).',
  },
  {
    name: 'oci-repository',
    description: 'push: an OCIRepository manifest (YAML) that picks the artifact up.',
  },
  {
    name: 'picked-up',
    description:
      'push with wait, wait: the OCIRepositories and Kustomizations that took the artifact, with the revision and when, as JSON.',
  },
  { name: 'json', description: 'Every command: its complete JSON result.' },
];
