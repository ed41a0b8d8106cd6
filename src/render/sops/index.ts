import {
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KubeObject, SecretMasker } from '../types.js';
import { decryptBranches, repositoryRegExp, SopsDecryptError, verifyMac } from './decrypt.js';
import { SopsKeyError, SopsKeys } from './keys.js';
import {
  detectFormat,
  emitPlain,
  FORMAT_MARKERS,
  formatForPath,
  fromPlain,
  loadEncrypted,
  metadataOf,
  SopsFormatError,
  toPlain,
  type SopsFormat,
  type SopsMetadata,
} from './tree.js';

export { SopsKeys, SopsKeyError } from './keys.js';

/** kustomize-controller internal/decryptor maxEncryptedFileSize. */
const MAX_ENCRYPTED_FILE_SIZE = 5 << 20;
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const DECRYPT_OPT_OUT = 'kustomize.toolkit.fluxcd.io/decrypt';

/** A Flux Kustomization's `spec.decryption`, when it asks for SOPS. */
export function sopsDecryption(flux: KubeObject): { secretRef?: { name?: string } } | undefined {
  const d = (flux.spec as Record<string, unknown> | undefined)?.decryption as
    { provider?: string; secretRef?: { name?: string } } | undefined;
  return d && d.provider === 'sops' ? d : undefined;
}

/** kustomize-controller decryptor.IsDecryptionDisabled. */
function decryptionDisabled(o: KubeObject): boolean {
  return (o.metadata?.annotations?.[DECRYPT_OPT_OUT] ?? '').toLowerCase() === 'disabled';
}

/** kustomize-controller decryptor.IsEncryptedSecret: a v1 Secret with a `sops` field. */
export function isEncryptedSecret(o: KubeObject): boolean {
  return o.kind === 'Secret' && o.apiVersion === 'v1' && o.sops !== undefined;
}

/** kustomize-controller isSOPSEncryptedResource: `sops.mac` is set. */
function isSopsResource(o: KubeObject): boolean {
  const sops = o.sops as Record<string, unknown> | undefined;
  return !!sops && typeof sops === 'object' && !!sops.mac;
}

/**
 * How a Secret that stays encrypted (no key given to fluxgate) is shown: every value is the same
 * placeholder, and one line says that the values cannot be compared, with a marker of the
 * document's MAC so a change to the file shows as one changed line instead of churn per key.
 */
export function sealedSecret(object: KubeObject, masker: SecretMasker): KubeObject {
  const sealed: KubeObject = { ...object };
  for (const field of ['data', 'stringData'] as const) {
    const values = object[field];
    if (values && typeof values === 'object')
      sealed[field] = Object.fromEntries(Object.keys(values).map((k) => [k, '(sops-encrypted)']));
  }
  const mac = String((object.sops as Record<string, unknown> | undefined)?.mac ?? '');
  sealed.sops = `encrypted; no SOPS key given to fluxgate, so its values are not compared (revision ${masker.mask(mac)})`;
  return sealed;
}

/** Whether a rendered object still carries SOPS ciphertext (shown with sealedSecret). */
export function isSealed(o: KubeObject): boolean {
  return o.kind === 'Secret' && isSopsResource(o);
}

interface BuildContext {
  /** The private copy of the source the build reads (committed files, for the MAC). */
  sourceRoot: string;
  keys: SopsKeys;
}

/**
 * SOPS as kustomize-controller decrypts it (internal/decryptor/decryptor.go), in memory with the
 * keys handed to fluxgate. One per render; data keys and checked files are remembered.
 */
export class SopsDecryptor {
  private readonly dataKeys = new WeakMap<SopsKeys, Map<string, Promise<Buffer | undefined>>>();
  private readonly macIndex = new Map<string, Map<string, string[]>>();
  private readonly checkedFiles = new Map<string, Promise<string | undefined>>();
  private readonly missed = new Set<string>();

  constructor(
    readonly keys: SopsKeys,
    private readonly masker: SecretMasker,
  ) {}

  /** The keys for one Kustomization: ours, and those of its decryption Secret when the repo holds it in clear. */
  async keysFor(flux: KubeObject, lookup: (name: string) => KubeObject | undefined): Promise<SopsKeys> {
    const name = sopsDecryption(flux)?.secretRef?.name;
    const secret = name ? lookup(name) : undefined;
    if (!secret || secret.kind !== 'Secret' || secret.sops !== undefined) return this.keys;
    const values = new Map<string, string>();
    for (const [k, v] of Object.entries((secret.data as Record<string, string>) ?? {}))
      values.set(k, Buffer.from(String(v ?? ''), 'base64').toString('utf8'));
    for (const [k, v] of Object.entries((secret.stringData as Record<string, string>) ?? {}))
      values.set(k, String(v ?? ''));
    const where = `decryption Secret ${secret.metadata.namespace ?? ''}/${name}`.replace(' /', ' ');
    return this.keys.with(await SopsKeys.fromSecretData(values, where));
  }

  private async dataKey(metadata: SopsMetadata, keys: SopsKeys): Promise<Buffer | undefined> {
    let cache = this.dataKeys.get(keys);
    if (!cache) this.dataKeys.set(keys, (cache = new Map()));
    const id = JSON.stringify(metadata.keyGroups);
    let key = cache.get(id);
    if (!key) {
      key = keys.dataKey(metadata);
      cache.set(id, key);
    }
    return key;
  }

  /**
   * kustomize-controller DecryptSources: the SOPS-encrypted files that secretGenerators (files,
   * envs) and patches of `dir`'s kustomization (and the ones it reaches) read, decrypted; when
   * there are some, the build reads a copy of the source with them in clear (removed after the
   * build), so that another Kustomization reading the same source still sees ciphertext.
   */
  async withDecryptedSources<T>(
    ctx: BuildContext & { dir: string; components: string[]; workDir: string },
    build: (sourceRoot: string, dir: string) => Promise<T>,
  ): Promise<T> {
    const files = encryptedSources(ctx.sourceRoot, ctx.dir, ctx.components);
    if (!files.length) return build(ctx.sourceRoot, ctx.dir);
    const plain: [string, string][] = [];
    for (const { path, format } of files) {
      const rel = relative(ctx.sourceRoot, path).split(sep).join('/');
      const text = readFileSync(path, 'utf8');
      const out = await this.decryptDocument(text, format, format, ctx.keys, rel);
      if (out !== undefined) plain.push([rel, out]);
    }
    if (!plain.length) return build(ctx.sourceRoot, ctx.dir);
    const copy = mkdtempSync(join(ctx.workDir, 'sops-'));
    try {
      cpSync(ctx.sourceRoot, copy, { recursive: true, verbatimSymlinks: true });
      for (const [rel, text] of plain) writeFileSync(join(copy, rel), text, { mode: 0o600 });
      return await build(copy, join(copy, relative(ctx.sourceRoot, ctx.dir)));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }

  /**
   * A whole SOPS document, MAC checked, emitted in `outputFormat` (SopsDecryptWithFormat with the
   * integrity check sops decrypt does). `undefined` when we hold no key for it.
   */
  private async decryptDocument(
    text: string,
    inputFormat: SopsFormat,
    outputFormat: SopsFormat,
    keys: SopsKeys,
    what: string,
  ): Promise<string | undefined> {
    try {
      const tree = loadEncrypted(text, inputFormat);
      const key = await this.dataKey(tree.metadata, keys);
      if (!key) return undefined;
      const decrypted = decryptBranches(tree.branches, tree.metadata, key, (p) => `at ${p}`);
      verifyMac(tree, decrypted.mac, key);
      return emitPlain(decrypted.branches, outputFormat);
    } catch (err) {
      throw new SopsDecryptError(`${what}: ${sopsMessage(err)}`);
    }
  }

  /**
   * kustomize-controller's per-resource step after the build: with `spec.decryption`, a
   * SOPS-encrypted object is decrypted (its committed file's MAC checked) and a Secret value that
   * holds a SOPS document is decrypted into the format its key names; without it, an encrypted
   * Secret is refused as the controller refuses to apply it.
   */
  async decryptObjects(
    objects: KubeObject[],
    ctx: BuildContext & { decryption: boolean },
  ): Promise<KubeObject[]> {
    const out: KubeObject[] = [];
    for (const o of objects) {
      if (!o || typeof o !== 'object' || decryptionDisabled(o)) {
        out.push(o);
        continue;
      }
      const name = `${o.kind} ${o.metadata?.namespace ? o.metadata.namespace + '/' : ''}${o.metadata?.name}`;
      if (!ctx.decryption) {
        // kustomization_controller.go apply: refused before anything is applied.
        if (isEncryptedSecret(o))
          throw new SopsDecryptError(
            // ssautil.FmtUnstructured: Kind/namespace/name, Kind/name without a namespace.
            `${o.kind}/${o.metadata?.namespace ? o.metadata.namespace + '/' : ''}${o.metadata?.name} is SOPS encrypted, configuring decryption is required for this secret to be reconciled`,
          );
        out.push(o);
        continue;
      }
      try {
        out.push(await this.decryptObject(o, ctx));
      } catch (err) {
        throw new SopsDecryptError(`decryption failed for ${name}: ${sopsMessage(err)}`);
      }
    }
    return out;
  }

  private async decryptObject(o: KubeObject, ctx: BuildContext): Promise<KubeObject> {
    if (isSopsResource(o)) {
      const metadata = metadataOf(o);
      const key = await this.dataKey(metadata, ctx.keys);
      if (!key) return o; // no key: shown sealed
      await this.checkCommittedFile(o, ctx);
      const body = { ...o };
      delete body.sops;
      const decrypted = decryptBranches([fromPlain(body)], metadata, key, (p) => `at ${p}`);
      const plain = toPlain(decrypted.branches[0]!) as KubeObject;
      // A decrypted non-Secret would show its values in clear: its encrypted values become markers.
      return o.kind === 'Secret' ? plain : this.maskPaths(plain, decrypted.encryptedPaths);
    }
    if (o.kind !== 'Secret' || !o.data || typeof o.data !== 'object') return o;
    const data = { ...(o.data as Record<string, string>) };
    for (const [k, v] of Object.entries(data)) {
      const text = Buffer.from(String(v ?? ''), 'base64').toString('utf8');
      const format = detectFormat(text);
      if (!format) continue;
      const out = await this.decryptDocument(text, format, formatForPath(k), ctx.keys, `Secret field '${k}'`);
      if (out !== undefined) data[k] = Buffer.from(out, 'utf8').toString('base64');
    }
    return { ...o, data };
  }

  private maskPaths(o: KubeObject, paths: Set<string>): KubeObject {
    const walk = (v: unknown, path: string[]): unknown => {
      if (Array.isArray(v)) return v.map((x) => walk(x, path));
      if (v && typeof v === 'object')
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]));
      return paths.has(path.join(':') + ':') && v !== null ? this.masker.mask(String(v)) : v;
    };
    return walk(o, []) as KubeObject;
  }

  /**
   * The MAC is checked on the file as committed (sops decrypt's integrity check): the object
   * kustomize built carries labels, namespaces or prefixes the MAC does not cover, which is why
   * kustomize-controller leaves checkSopsMac off. The committed file is one with the object's MAC
   * that holds every encrypted value of the object (copies of a file may sit in several places:
   * one that verifies is enough); a file not found in the source (a remote base) is not checked.
   */
  private async checkCommittedFile(o: KubeObject, ctx: BuildContext): Promise<void> {
    const mac = String((o.sops as Record<string, unknown>).mac);
    let files = this.committedFiles(ctx.sourceRoot).get(mac);
    if (!files && !this.missed.has(mac)) {
      // A lazily written source may have gained files since it was indexed.
      this.missed.add(mac);
      this.macIndex.delete(ctx.sourceRoot);
      files = this.committedFiles(ctx.sourceRoot).get(mac);
    }
    const values: string[] = [];
    const collect = (v: unknown) => {
      if (typeof v === 'string' && v.startsWith('ENC[')) values.push(v);
      else if (v && typeof v === 'object') Object.values(v).forEach(collect);
    };
    collect({ ...o, sops: undefined });
    const candidates = (files ?? []).filter((f) => {
      const text = readFileSync(f, 'utf8');
      return values.every((v) => text.includes(v));
    });
    if (!candidates.length) return;
    const failures = await Promise.all(candidates.map((f) => this.checkFile(f, ctx)));
    if (failures.every((f) => f !== undefined)) throw new SopsDecryptError(failures[0]!);
  }

  /** The MAC check of one committed file: `undefined` when it holds, else the one-line reason. */
  private checkFile(file: string, ctx: BuildContext): Promise<string | undefined> {
    let check = this.checkedFiles.get(file);
    if (!check) {
      check = (async () => {
        const rel = relative(ctx.sourceRoot, file).split(sep).join('/');
        try {
          const tree = loadEncrypted(
            readFileSync(file, 'utf8'),
            formatForPath(file) === 'json' ? 'json' : 'yaml',
          );
          const key = await this.dataKey(tree.metadata, ctx.keys);
          if (!key) return undefined;
          const decrypted = decryptBranches(tree.branches, tree.metadata, key, (p) => `at ${p}`);
          verifyMac(tree, decrypted.mac, key);
          return undefined;
        } catch (err) {
          return `${rel}: ${sopsMessage(err)}`;
        }
      })();
      this.checkedFiles.set(file, check);
    }
    return check;
  }

  /** SOPS YAML/JSON files of a source by their MAC ciphertext. */
  private committedFiles(root: string): Map<string, string[]> {
    let index = this.macIndex.get(root);
    if (index) return index;
    index = new Map();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        if (entry === '.git' || entry.startsWith('.fluxgate-build-')) continue;
        const path = join(dir, entry);
        const stat = lstatSync(path);
        if (stat.isDirectory()) walk(path);
        else if (stat.isFile() && /\.(ya?ml|json)$/.test(entry) && stat.size <= MAX_ENCRYPTED_FILE_SIZE) {
          const text = readFileSync(path, 'utf8');
          if (!text.includes('ENC[AES256_GCM')) continue;
          for (const m of text.matchAll(/["']?mac["']?\s*:\s*["']?(ENC\[AES256_GCM,[^\]"']+\])/g))
            index.set(m[1]!, [...(index.get(m[1]!) ?? []), path]);
        }
      }
    };
    if (existsSync(root)) walk(root);
    this.macIndex.set(root, index);
    return index;
  }

  /** Rendered objects as the review shows them: still-encrypted Secrets sealed. */
  sealed(o: KubeObject): KubeObject | undefined {
    return isSealed(o) ? sealedSecret(o, this.masker) : undefined;
  }
}

function sopsMessage(err: unknown): string {
  if (err instanceof SopsDecryptError || err instanceof SopsFormatError || err instanceof SopsKeyError)
    return err.message.split('\n')[0]!;
  // Library errors never quote our input, but may span lines.
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/**
 * kustomize-controller decryptKustomizationSources over recurseKustomizationFiles: secretGenerator
 * `files` (format of the key, `.dockerconfigjson` as JSON) and `envs` (dotenv unless the name
 * says otherwise), and `patches[].path`, of every kustomization reached through resources and
 * components, inside the source; a file is encrypted when it holds its format's marker.
 */
function encryptedSources(
  root: string,
  dir: string,
  components: string[],
): { path: string; format: SopsFormat }[] {
  const found = new Map<string, SopsFormat>();
  const visited = new Set<string>();
  const inside = (p: string) => p === root || p.startsWith(root + sep);
  const consider = (base: string, ref: string, format: SopsFormat) => {
    const path = resolve(base, ref);
    if (!inside(path) || found.has(path)) return;
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile() || stat.size > MAX_ENCRYPTED_FILE_SIZE) return;
    if (readFileSync(path, 'utf8').includes(FORMAT_MARKERS[format])) found.set(path, format);
  };
  const visit = (path: string, extra: string[] = []) => {
    if (!inside(path) || visited.has(path)) return;
    visited.add(path);
    const file = KUSTOMIZATION_FILES.map((f) => join(path, f)).find((f) => existsSync(f));
    if (!file) return;
    let k: Record<string, unknown>;
    try {
      k = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
    } catch {
      return; // kustomize reports it
    }
    const generators = Array.isArray(k.secretGenerator)
      ? (k.secretGenerator as Record<string, unknown>[])
      : [];
    for (const gen of generators) {
      for (const source of Array.isArray(gen.files) ? (gen.files as string[]) : []) {
        const [key, ref] = String(source).includes('=') ? String(source).split(/=(.*)/s) : [source, source];
        consider(path, ref!, formatForPath(key!));
      }
      for (const env of Array.isArray(gen.envs) ? (gen.envs as string[]) : []) {
        const format = formatForPath(String(env));
        consider(path, String(env), format === 'binary' ? 'dotenv' : format);
      }
    }
    for (const patch of Array.isArray(k.patches) ? (k.patches as { path?: string }[]) : []) {
      if (!patch?.path || /^[a-z]+:\/\/[^/]/i.test(patch.path)) continue;
      consider(path, patch.path, formatForPath(patch.path));
    }
    const refs = [
      ...(Array.isArray(k.resources) ? (k.resources as string[]) : []),
      ...(Array.isArray(k.components) ? (k.components as string[]) : []),
      ...extra,
    ];
    for (const ref of refs) {
      if (typeof ref !== 'string') continue;
      const target = isAbsolute(ref) ? join(root, ref) : resolve(path, ref);
      if (existsSync(target) && lstatSync(target).isDirectory() && !extname(target).match(/^\.ya?ml$/))
        visit(target);
    }
  };
  visit(dir, components);
  return [...found].map(([path, format]) => ({ path, format }));
}

type Decryption = Record<string, unknown>;

/**
 * The decryption of the entry flux-system Kustomization, which fluxgate builds before it sees
 * its definition: the definition in the entry directory (bootstrap's gotk-sync, often patched in
 * its kustomization.yaml), or a FluxInstance whose kustomize patches add `spec.decryption` to the
 * Kustomizations it creates (flux-operator).
 */
export function entryDecryption(objects: KubeObject[]): Decryption | undefined {
  for (const o of objects) {
    if (
      o?.kind === 'Kustomization' &&
      String(o.apiVersion).startsWith('kustomize.toolkit.fluxcd.io/') &&
      o.metadata?.name === 'flux-system' &&
      (o.metadata.namespace ?? 'flux-system') === 'flux-system'
    ) {
      const d = (o.spec as Record<string, unknown> | undefined)?.decryption as Decryption | undefined;
      if (d?.provider === 'sops') return d;
    }
  }
  for (const o of objects) {
    if (o?.kind !== 'FluxInstance' || !String(o.apiVersion).startsWith('fluxcd.controlplane.io/')) continue;
    const kustomize = (o.spec as Record<string, unknown> | undefined)?.kustomize as
      { patches?: { patch?: string; target?: { kind?: string; name?: string } }[] } | undefined;
    for (const p of kustomize?.patches ?? []) {
      if (p.target?.kind && p.target.kind !== 'Kustomization') continue;
      if (p.target?.name) {
        let matches = false;
        try {
          matches = repositoryRegExp(`^(?:${p.target.name})$`).test('flux-system');
        } catch {
          matches = false;
        }
        if (!matches) continue;
      }
      let patch: unknown;
      try {
        patch = parseYaml(p.patch ?? '');
      } catch {
        continue;
      }
      const d = Array.isArray(patch)
        ? (patch as { op?: string; path?: string; value?: Decryption }[]).find(
            (op) => (op.op === 'add' || op.op === 'replace') && op.path === '/spec/decryption',
          )?.value
        : ((patch as { spec?: { decryption?: Decryption } } | null)?.spec?.decryption ?? undefined);
      if (d?.provider === 'sops') return d;
    }
  }
  return undefined;
}

/**
 * One Kustomization's build with SOPS as kustomize-controller does it: sources decrypted before
 * the build, objects after it. The entry Kustomization learns its decryption from what it built
 * and is built again when that decryption changes what the build reads.
 */
export async function buildWithSops(
  sops: SopsDecryptor,
  ctx: {
    flux: KubeObject;
    isEntry: boolean;
    sourceRoot: string;
    dir: string;
    components: string[];
    workDir: string;
    lookupSecret: (name: string) => KubeObject | undefined;
    /** Writes the build's files, when a lazily written source has not yet (a cached build). */
    prepare?: () => void;
  },
  build: (sourceRoot: string, dir: string) => Promise<KubeObject[]>,
): Promise<{ objects: KubeObject[]; flux: KubeObject }> {
  let flux = ctx.flux;
  let decryption = sopsDecryption(flux);
  let keys = decryption ? await sops.keysFor(flux, ctx.lookupSecret) : sops.keys;
  const run = () =>
    decryption ? sops.withDecryptedSources({ ...ctx, keys }, build) : build(ctx.sourceRoot, ctx.dir);
  let objects = await run();
  if (!decryption && ctx.isEntry) {
    const found = entryDecryption(objects);
    if (found) {
      flux = { ...flux, spec: { ...(flux.spec as object), decryption: found } };
      decryption = sopsDecryption(flux);
      keys = await sops.keysFor(flux, ctx.lookupSecret);
      ctx.prepare?.();
      if (encryptedSources(ctx.sourceRoot, ctx.dir, ctx.components).length) objects = await run();
    }
  }
  objects = await sops.decryptObjects(objects, {
    sourceRoot: ctx.sourceRoot,
    keys,
    decryption: !!decryption,
  });
  return { objects, flux };
}
