/**
 * What the Flux Operator would create from the scanned files, located at the object that
 * generates it: a ResourceSet's generated objects (an OCIRepository per tenant with
 * `spec.verify` is verified like one written out) and a FluxInstance's sync source. A
 * ResourceSet that fails to expand adds nothing: `fluxgate render` reports why.
 */
import { isFluxInstance, isInputProvider, isResourceSet, type KubeObject } from '../flux/objects.js';
import { fluxInstanceSync } from '../flux/operator/fluxinstance.js';
import { expandResourceSet } from '../flux/operator/resourceset.js';

/** policy.ts Located, as far as generation needs it (a type of its own: policy.ts imports this). */
interface Located {
  file: string;
  line: number;
  object: Record<string, unknown>;
  namespace?: string;
  lineOf(path: string[]): number;
}

export function generatedObjects(scanned: Located[]): Located[] {
  const candidates = scanned
    .map((l) => l.object as unknown as KubeObject)
    .filter((o) => isInputProvider(o) && typeof o.metadata?.name === 'string');
  const out: Located[] = [];
  for (const l of scanned) {
    const o = l.object as unknown as KubeObject;
    if (typeof o.metadata?.name !== 'string') continue;
    let generated: KubeObject[] = [];
    try {
      const namespace = l.namespace ?? o.metadata.namespace;
      const placed = namespace ? { ...o, metadata: { ...o.metadata, namespace } } : o;
      if (isResourceSet(o)) generated = expandResourceSet(placed, candidates).objects;
      else if (isFluxInstance(o)) {
        const sync = fluxInstanceSync(placed);
        generated = sync ? [sync.source] : [];
      }
    } catch {
      continue;
    }
    // Findings point at the templates (spec.resources, resourcesTemplate or steps), not the object's head.
    const spec = (o.spec ?? {}) as Record<string, unknown>;
    const key = ['resources', 'resourcesTemplate', 'steps', 'sync'].find((k) => spec[k] !== undefined);
    const line = key ? l.lineOf(['spec', key]) : l.line;
    for (const g of generated)
      out.push({
        file: l.file,
        line,
        object: g as unknown as Record<string, unknown>,
        namespace: g.metadata?.namespace || undefined,
        lineOf: () => line,
      });
  }
  return out;
}
