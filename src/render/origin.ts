import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { yamlDocuments } from '../util/yaml-documents.js';
import type { KubeObject } from './types.js';

/** Where something is defined: a repository-relative file and its 1-based line, when known. */
export interface Origin {
  file: string;
  line?: number;
}

/**
 * The annotation kustomize writes with `buildMetadata: [originAnnotations]`
 * (kustomize api/resource/origin.go): `path` of the file relative to the kustomization root, or
 * `configuredIn` for generated objects; `repo`/`ref` for remote ones.
 */
export const ORIGIN_ANNOTATION = 'config.kubernetes.io/origin';

/** An error at a place in a source: `file` relative to the source root, `line` 1-based. */
export class LocatedError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/**
 * The file an object came from, from its origin annotation, relative to the source root; the
 * annotation is removed unless the kustomization asked for it (then Flux applies it too).
 * `buildDir` is the built directory relative to the source root.
 */
export function takeOrigin(
  object: KubeObject,
  buildDir: string,
  keep: boolean,
): { file: string; generated: boolean } | undefined {
  const annotations = object?.metadata?.annotations;
  const text = annotations?.[ORIGIN_ANNOTATION];
  if (text === undefined) return undefined;
  if (!keep) {
    delete annotations![ORIGIN_ANNOTATION];
    if (Object.keys(annotations!).length === 0) delete object.metadata.annotations;
  }
  const doc = yamlDocuments(String(text))[0]?.value as Record<string, unknown> | null | undefined;
  if (!doc || typeof doc !== 'object' || doc.repo) return undefined;
  const path = typeof doc.path === 'string' ? doc.path : doc.configuredIn;
  if (typeof path !== 'string' || !path || posix.isAbsolute(path)) return undefined;
  const file = posix.normalize(posix.join(buildDir || '.', path));
  if (file === '..' || file.startsWith('../')) return undefined;
  return { file, generated: typeof doc.path !== 'string' };
}

interface DocumentPlace {
  kind?: string;
  name?: string;
  line: number;
  start: number;
  end: number;
}

/**
 * Lines in the files of one source root, read once each: the document that defines an object,
 * the line of a text inside it. Positions come from the `yaml` package's node ranges.
 */
export class SourceLines {
  private readonly files = new Map<string, { text: string; docs: DocumentPlace[] } | undefined>();

  /**
   * `read` gives a file's text by its path in the source (default: from disk below `root`);
   * `lasting`: it still does after the render (a git side's tree), so nothing is read ahead.
   */
  constructor(
    root: string,
    private readonly readText: (file: string) => string | undefined = (file) =>
      readFileSync(join(root, file), 'utf8'),
    private readonly lasting = false,
  ) {}

  /** Texts read ahead of their parse (see `hold`). */
  private readonly held = new Map<string, string | undefined>();

  /**
   * Reads `file` now and parses it only when a line is asked for: a line may be asked for
   * after the render, when the source's directory is gone.
   */
  hold(file: string): void {
    if (this.lasting || this.files.has(file) || this.held.has(file)) return;
    let text: string | undefined;
    try {
      text = this.readText(file);
    } catch {
      text = undefined;
    }
    this.held.set(file, text);
  }

  private read(file: string) {
    if (this.files.has(file)) return this.files.get(file);
    let entry: { text: string; docs: DocumentPlace[] } | undefined;
    try {
      const text = this.held.has(file) ? this.held.get(file) : this.readText(file);
      this.held.delete(file);
      if (text === undefined) throw new Error(`${file}: not in the source`);
      const places: DocumentPlace[] = [];
      for (const doc of yamlDocuments(text)) {
        if (!doc.isMap || !doc.range) continue;
        places.push({
          kind: doc.kind,
          name: doc.name,
          line: doc.line,
          start: doc.range[0],
          end: doc.range[2],
        });
      }
      entry = { text, docs: places };
    } catch {
      entry = undefined;
    }
    this.files.set(file, entry);
    return entry;
  }

  /**
   * The document of `file` that defines a `kind` named `name` as rendered (a namePrefix or
   * nameSuffix may have been added): the exact name, else the longest name inside it, else the
   * only document of that kind.
   */
  private place(file: string, kind: string, name: string): DocumentPlace | undefined {
    const docs = this.read(file)?.docs.filter((d) => d.kind === kind) ?? [];
    return (
      docs.find((d) => d.name === name) ??
      docs
        .filter((d) => d.name && name.includes(d.name))
        .sort((a, b) => b.name!.length - a.name!.length)[0] ??
      (docs.length === 1 ? docs[0] : undefined)
    );
  }

  /** The line where `file` defines the object, if one document matches. */
  lineOf(file: string, kind: string, name: string): number | undefined {
    return this.place(file, kind, name)?.line;
  }

  /**
   * The line of the first occurrence of `needle` inside the object's document (a `${VAR}` it
   * references), else the document's first line.
   */
  lineOfText(file: string, kind: string, name: string, needle: string): number | undefined {
    const entry = this.read(file);
    const doc = this.place(file, kind, name);
    if (!entry || !doc) return undefined;
    const at = entry.text.slice(doc.start, doc.end).indexOf(needle);
    if (at < 0) return doc.line;
    return entry.text.slice(0, doc.start + at).split('\n').length;
  }

  /**
   * The line of a generator's `name:` in a kustomization file, for a generated object: the
   * longest name the rendered one (prefix, suffix and hash added) contains.
   */
  lineOfGenerator(file: string, renderedName: string): number | undefined {
    const text = this.read(file)?.text;
    if (!text) return undefined;
    let best: { line: number; length: number } | undefined;
    text.split('\n').forEach((l, i) => {
      const m = /^\s*-?\s*name:\s*["']?([^"'\s#]+)["']?\s*(#.*)?$/.exec(l);
      if (m && renderedName.includes(m[1]!) && (!best || m[1]!.length > best.length))
        best = { line: i + 1, length: m[1]!.length };
    });
    return best?.line;
  }
}
