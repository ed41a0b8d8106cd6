/**
 * The documents of a YAML text, parsed once per distinct text in a process: one file is read by
 * the Flux graph, the entry's bootstrap lookup, the kustomization generator's check and the
 * origin lines, on each side of a diff, and the `yaml` parser is the engine's largest cost.
 */
import { isMap, LineCounter, parseAllDocuments } from 'yaml';

/** One document, as plain data (shared between callers: never to be changed). */
export interface YamlDocument {
  /** The value as JSON (`toJSON`), frozen; undefined when it cannot be had (see `invalid`). */
  readonly value: unknown;
  /** Why the value cannot be had (the `yaml` package's error, e.g. an alias count over its limit). */
  readonly invalid?: string;
  /** The first parse error: its first line and 1-based line number. */
  readonly error?: { readonly message: string; readonly line?: number };
  /** Whether the contents are a mapping. */
  readonly isMap: boolean;
  /** `kind` and `metadata.name` when they are strings. */
  readonly kind?: string;
  readonly name?: string;
  /** Offsets of the contents: start, end of value, end of node (the `yaml` package's range). */
  readonly range?: readonly [number, number, number];
  /** 1-based line where the contents start (1 without contents). */
  readonly line: number;
}

/** Texts kept, by total length: enough for a large fleet's YAML, bounded for any repository. */
const MAX_KEPT_CHARS = 64 * 1024 * 1024;
const kept = new Map<string, readonly YamlDocument[]>();
let keptChars = 0;

/** Callers share one value: a change would reach every later reader of the same text. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function parse(text: string): readonly YamlDocument[] {
  const counter = new LineCounter();
  const docs: YamlDocument[] = [];
  let parsed;
  try {
    parsed = parseAllDocuments(text, { lineCounter: counter, logLevel: 'silent' });
  } catch (err) {
    // The parser gave up (hostile input): one document that is an error, as a caller reports it.
    const message = (err as Error).message.split('\n')[0]!;
    return [{ value: undefined, invalid: message, error: { message }, isMap: false, line: 1 }];
  }
  for (const doc of parsed) {
    const contents = doc.contents as { range?: [number, number, number] } | null;
    let value: unknown;
    let invalid: string | undefined;
    try {
      value = deepFreeze(doc.toJSON());
    } catch (err) {
      invalid = (err as Error).message.split('\n')[0]!;
    }
    const scalar = (...path: string[]) => {
      const v = doc.getIn(path);
      return typeof v === 'string' ? v : undefined;
    };
    const error = doc.errors[0];
    docs.push({
      value,
      ...(invalid !== undefined ? { invalid } : {}),
      ...(error ? { error: { message: error.message.split('\n')[0]!, line: error.linePos?.[0].line } } : {}),
      isMap: isMap(doc.contents),
      kind: scalar('kind'),
      name: scalar('metadata', 'name'),
      range: contents?.range,
      line: contents?.range ? counter.linePos(contents.range[0]).line : 1,
    });
  }
  return docs;
}

/** The documents of `text`; the same array for the same text while it is kept. */
export function yamlDocuments(text: string): readonly YamlDocument[] {
  const found = kept.get(text);
  if (found) {
    // Most recently used last: the oldest go first when the bound is reached.
    kept.delete(text);
    kept.set(text, found);
    return found;
  }
  const docs = parse(text);
  if (text.length <= MAX_KEPT_CHARS) {
    kept.set(text, docs);
    keptChars += text.length;
    for (const [oldest] of kept) {
      if (keptChars <= MAX_KEPT_CHARS) break;
      kept.delete(oldest);
      keptChars -= oldest.length;
    }
  }
  return docs;
}
