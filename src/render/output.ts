import { Document } from 'yaml';
import { oneLine } from '../util/text.js';
import { ownerKey, type OwnerRef, type RenderResult } from './types.js';

/**
 * The JSON of the contract: `{"objects":[{"owner","object"}],"errors":[{"owner","message"}]}`,
 * each entry with its `origin` (`{file, line}` in the repository) when known.
 */
export function renderJson(result: RenderResult): string {
  return (
    JSON.stringify(
      {
        objects: result.objects.map((o) => ({
          owner: o.owner,
          object: o.object,
          ...(o.origin ? { origin: o.origin } : {}),
        })),
        errors: result.errors.map((e) => ({
          owner: e.owner,
          message: e.message,
          ...(e.origin ? { origin: e.origin } : {}),
        })),
        warnings: (result.warnings ?? []).map((e) => ({
          owner: e.owner,
          message: e.message,
          ...(e.origin ? { origin: e.origin } : {}),
        })),
        notices: (result.notices ?? []).map((e) => ({ owner: e.owner, message: e.message })),
        suspended: result.suspended ?? [],
      },
      null,
      2,
    ) + '\n'
  );
}

/**
 * Multi-document YAML, each object under a comment naming the Flux object that applies it. The
 * owner is escaped to one line and the yaml library writes the comment, so a name holding a line
 * break cannot start a document of its own.
 */
export function renderYaml(result: RenderResult, owner?: OwnerRef): string {
  return result.objects
    .filter((o) => !owner || ownerKey(o.owner) === ownerKey(owner))
    .map((o) => {
      const doc = new Document(o.object);
      if (doc.contents) doc.contents.commentBefore = ` owner: ${oneLine(ownerKey(o.owner))}`;
      return `---\n${doc.toString({ lineWidth: 0 })}`;
    })
    .join('');
}

/** One file name per owner for --output-dir. */
export function ownerFileName(owner: OwnerRef): string {
  return `${owner.kind.toLowerCase()}-${owner.namespace}-${owner.name}.yaml`.replace(/[^\w.-]/g, '_');
}
