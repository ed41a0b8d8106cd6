import { stringify } from 'yaml';
import { ownerKey, type OwnerRef, type RenderResult } from './types.js';

/** The JSON of the contract: `{"objects":[{"owner","object"}],"errors":[{"owner","message"}]}`. */
export function renderJson(result: RenderResult): string {
  return (
    JSON.stringify(
      {
        objects: result.objects.map((o) => ({ owner: o.owner, object: o.object })),
        errors: result.errors.map((e) => ({ owner: e.owner, message: e.message })),
        warnings: (result.warnings ?? []).map((e) => ({ owner: e.owner, message: e.message })),
      },
      null,
      2,
    ) + '\n'
  );
}

/** Multi-document YAML, each object under a comment naming the Flux object that applies it. */
export function renderYaml(result: RenderResult, owner?: OwnerRef): string {
  return result.objects
    .filter((o) => !owner || ownerKey(o.owner) === ownerKey(owner))
    .map((o) => `---\n# owner: ${ownerKey(o.owner)}\n${stringify(o.object, { lineWidth: 0 })}`)
    .join('');
}

/** One file name per owner for --output-dir. */
export function ownerFileName(owner: OwnerRef): string {
  return `${owner.kind.toLowerCase()}-${owner.namespace}-${owner.name}.yaml`.replace(/[^\w.-]/g, '_');
}
