import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { field, objectKey } from '../flux/objects.js';
import { resolveOciRef, type OciRefSpec } from '../flux/oci-ref.js';
import { RegistryClient } from '../oci/client.js';
import { parseOciReference } from '../oci/reference.js';
import { pullArtifact } from '../oci/artifact/pull.js';
import { extractLayer } from '../oci/artifact/untar.js';
import ignore from 'ignore';
import type { Logger } from '../log.js';
import type { KubeObject } from './types.js';
import { gitSourceMatcher } from './sourceignore.js';

export class SourceError extends Error {}

export interface SourceContext {
  repo: string;
  /** `Kind/ns/name` or `ns/name` → directory (--source). */
  mappings: Map<string, string>;
  lookup(kind: string, namespace: string, name: string): KubeObject | undefined;
  /** The ArtifactGenerator that produces ExternalArtifact namespace/name. */
  findGenerator(namespace: string, artifactName: string): KubeObject | undefined;
  registry(insecure: boolean): RegistryClient;
  log: Logger;
}

/**
 * Turns source references into local, private, writable directories (one per source and run):
 * builds write their kustomization overlays there, never into the user's tree.
 */
export class SourceResolver {
  private readonly dirs = new Map<string, Promise<string>>();
  private readonly work = mkdtempSync(join(tmpdir(), 'fluxgate-sources-'));

  constructor(private readonly ctx: SourceContext) {}

  get workDir(): string {
    return this.work;
  }

  resolve(kind: string, namespace: string, name: string): Promise<string> {
    const key = objectKey(kind, namespace, name);
    let dir = this.dirs.get(key);
    if (!dir) {
      dir = this.fetch(kind, namespace, name);
      this.dirs.set(key, dir);
    }
    return dir;
  }

  private async fetch(kind: string, namespace: string, name: string): Promise<string> {
    const mapped =
      this.ctx.mappings.get(`${kind}/${namespace}/${name}`) ?? this.ctx.mappings.get(`${namespace}/${name}`);
    const target = join(this.work, `${kind}-${namespace}-${name}`);
    const specIgnore =
      kind === 'GitRepository'
        ? field<string>(this.ctx.lookup(kind, namespace, name) ?? {}, 'spec', 'ignore')
        : undefined;
    if (mapped) return this.copyTree(resolve(mapped), target, specIgnore);
    switch (kind) {
      case 'GitRepository':
        return this.copyTree(this.ctx.repo, target, specIgnore);
      case 'OCIRepository':
        return this.pullOci(namespace, name, target);
      case 'ExternalArtifact':
        return this.assembleExternalArtifact(namespace, name, target);
      case 'Bucket':
        throw new SourceError(
          `Bucket ${namespace}/${name}: Bucket sources are not supported; map it with --source Bucket/${namespace}/${name}=DIR`,
        );
      default:
        throw new SourceError(`unsupported source kind ${kind} (${namespace}/${name})`);
    }
  }

  /** A private copy of a Git source's tree, without what source-controller leaves out of its artifact. */
  private copyTree(from: string, to: string, specIgnore?: string): string {
    if (!existsSync(from)) throw new SourceError(`source directory ${from} does not exist`);
    const matcher = gitSourceMatcher(from, specIgnore);
    cpSync(from, to, {
      recursive: true,
      filter: (src) => {
        const rel = relative(from, src).split(sep).join('/');
        if (!rel) return true;
        const isDir = statSync(src, { throwIfNoEntry: false })?.isDirectory() ?? false;
        return !matcher.ignores(isDir ? `${rel}/` : rel);
      },
    });
    return to;
  }

  private async pullOci(namespace: string, name: string, target: string): Promise<string> {
    const source = this.ctx.lookup('OCIRepository', namespace, name);
    if (!source) throw new SourceError(`OCIRepository ${namespace}/${name} not found in the rendered tree`);
    const url = field<string>(source, 'spec', 'url') ?? '';
    const ref = parseOciReference(url);
    const client = this.ctx.registry(field<boolean>(source, 'spec', 'insecure') === true);
    const mediaType = field<string>(source, 'spec', 'layerSelector', 'mediaType');
    const operation = field<string>(source, 'spec', 'layerSelector', 'operation') ?? 'extract';
    const resolved = await resolveOciRef(
      client,
      ref.registry,
      ref.repository,
      field<OciRefSpec>(source, 'spec', 'ref'),
      {
        helmTags: mediaType === 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
      },
    );
    const pulled = await pullArtifact(client, { ...ref, digest: resolved.digest, tag: undefined }, mediaType);
    mkdirSync(target, { recursive: true });
    if (operation === 'copy')
      writeFileSync(join(target, `${resolved.digest.replace(':', '-')}.tgz`), pulled.layer);
    else await extractLayer(pulled.layer, target, `OCIRepository ${namespace}/${name}`);
    this.ctx.log.debug(
      `OCIRepository ${namespace}/${name}: ${url} resolved to ${resolved.tag ?? ''}@${resolved.digest}`,
    );
    return target;
  }

  /** source-watcher's ArtifactGenerator: copy rules from aliased sources into one artifact. */
  private async assembleExternalArtifact(namespace: string, name: string, target: string): Promise<string> {
    const generator = this.ctx.findGenerator(namespace, name);
    if (!generator)
      throw new SourceError(
        `ExternalArtifact ${namespace}/${name}: no ArtifactGenerator in the rendered tree produces it`,
      );
    const artifact = (
      field<{ name: string; copy?: CopyRule[] }[]>(generator, 'spec', 'artifacts') ?? []
    ).find((a) => a.name === name)!;
    const aliases = new Map<string, string>();
    for (const s of field<{ alias: string; kind: string; name: string; namespace?: string }[]>(
      generator,
      'spec',
      'sources',
    ) ?? []) {
      aliases.set(
        s.alias,
        await this.resolve(s.kind, s.namespace || generator.metadata.namespace || namespace, s.name),
      );
    }
    mkdirSync(target, { recursive: true });
    for (const rule of artifact.copy ?? [])
      applyCopyRule(rule, aliases, target, `ArtifactGenerator ${describeGen(generator)}`);
    return target;
  }
}

const describeGen = (g: KubeObject) => `${g.metadata.namespace ?? ''}/${g.metadata.name}`;

interface CopyRule {
  from: string;
  to: string;
  exclude?: string[];
}

/**
 * One copy rule: `@alias/path` with `*`/`**` globs (the part before the first glob is the base,
 * kept out of the destination path); a plain file goes into `to/` or becomes `to`; a plain
 * directory is copied as `to/<name>` (or to `to` without a trailing slash).
 */
export function applyCopyRule(
  rule: CopyRule,
  aliases: Map<string, string>,
  artifactDir: string,
  what: string,
): void {
  const from = /^@([^/]+)\/?(.*)$/.exec(rule.from);
  const to = /^@artifact\/?(.*)$/.exec(rule.to);
  if (!from || !to) throw new SourceError(`${what}: invalid copy rule ${rule.from} → ${rule.to}`);
  const root = aliases.get(from[1]!);
  if (!root) throw new SourceError(`${what}: copy rule ${rule.from}: unknown source alias @${from[1]}`);
  const pattern = from[2]!;
  const dest = join(artifactDir, to[1]!);
  const toDir = rule.to.endsWith('/') || to[1] === '';
  const excluded = ignore().add(rule.exclude ?? []);
  const globAt = pattern.search(/[*?[]/);
  if (globAt < 0) {
    const src = join(root, pattern);
    if (!existsSync(src)) throw new SourceError(`${what}: copy rule ${rule.from}: not found`);
    const out = toDir ? join(dest, basename(src)) : dest;
    mkdirSync(dirname(out), { recursive: true });
    cpSync(src, out, { recursive: true });
    return;
  }
  const baseDir = pattern.slice(0, globAt).replace(/[^/]*$/, '');
  const matcher = globRegex(pattern);
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const rel = relative(root, path).split(sep).join('/');
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      if (!matcher.test(rel) || excluded.ignores(rel)) continue;
      const out = join(dest, rel.slice(baseDir.length));
      mkdirSync(dirname(out), { recursive: true });
      cpSync(path, out);
    }
  };
  walk(join(root, baseDir));
}

function globRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
