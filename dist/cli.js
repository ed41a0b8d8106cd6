#!/usr/bin/env node
import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 581:
/***/ ((module, __unused_webpack___webpack_exports__, __nccwpck_require__) => {

__nccwpck_require__.a(module, async (__webpack_handle_async_dependencies__, __webpack_async_result__) => { try {
/* harmony import */ var _cli_main_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(876);

process.exitCode = await (0,_cli_main_js__WEBPACK_IMPORTED_MODULE_0__/* .cli */ .x)(process.argv.slice(2));

__webpack_async_result__();
} catch(e) { __webpack_async_result__(e); } }, 1);

/***/ }),

/***/ 876:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  x: () => (/* binding */ cli)
});

;// CONCATENATED MODULE: ./src/errors.ts
class FluxgateError extends Error {
    code;
    exitCode;
    constructor(code, message, options = {}) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = 'FluxgateError';
        this.code = code;
        this.exitCode = options.exitCode ?? (code === 'USAGE' || code === 'NOT_IMPLEMENTED' ? 2 : 1);
    }
}
class UsageError extends FluxgateError {
    constructor(message) {
        super('USAGE', message, { exitCode: 2 });
        this.name = 'UsageError';
    }
}
/** The one line a user sees for any thrown value. */
function errorLine(err) {
    const message = err instanceof Error ? err.message : String(err);
    return message.split('\n')[0]?.trim() || 'unknown error';
}
function exitCodeOf(err) {
    return err instanceof FluxgateError ? err.exitCode : 1;
}

;// CONCATENATED MODULE: ./src/options/flags.ts

function emptyRawArgs() {
    return { values: new Map(), positionals: [] };
}
class ArgReader {
    command;
    raw;
    constructor(command, raw) {
        this.command = command;
        this.raw = raw;
    }
    string(name) {
        const v = this.raw.values.get(name);
        if (v === undefined)
            return undefined;
        if (typeof v !== 'string')
            throw new UsageError(`${this.command}: --${name} takes a value`);
        return v;
    }
    requiredString(name) {
        const v = this.string(name);
        if (v === undefined || v === '')
            throw new UsageError(`${this.command}: --${name} is required`);
        return v;
    }
    choice(name, choices, fallback) {
        const v = this.string(name);
        if (v === undefined || v === '')
            return fallback;
        if (!choices.includes(v)) {
            throw new UsageError(`${this.command}: --${name} must be one of ${choices.join('|')}, got '${v}'`);
        }
        return v;
    }
    boolean(name, fallback = false) {
        const v = this.raw.values.get(name);
        if (v === undefined)
            return fallback;
        if (typeof v === 'boolean')
            return v;
        if (typeof v === 'string')
            return parseBoolean(this.command, name, v);
        throw new UsageError(`${this.command}: --${name} is a switch`);
    }
    list(name) {
        const v = this.raw.values.get(name);
        if (v === undefined)
            return [];
        if (Array.isArray(v))
            return v.flatMap(splitList);
        if (typeof v === 'string')
            return splitList(v);
        throw new UsageError(`${this.command}: --${name} takes values`);
    }
    integer(name, fallback, min = 1) {
        const v = this.string(name);
        if (v === undefined || v === '')
            return fallback;
        const n = Number(v);
        if (!Number.isInteger(n) || n < min) {
            throw new UsageError(`${this.command}: --${name} must be a whole number ≥ ${min}, got '${v}'`);
        }
        return n;
    }
    positional(index) {
        return this.raw.positionals[index];
    }
    requiredPositional(index, what) {
        const v = this.positional(index);
        if (!v)
            throw new UsageError(`${this.command}: ${what} is required`);
        return v;
    }
}
/** Lists are comma or newline separated, in action inputs and in each repeated CLI flag alike. */
function splitList(value) {
    return value
        .split(/[\n,]/)
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
}
function parseBoolean(command, name, value) {
    const v = value.trim().toLowerCase();
    if (v === '' || v === 'false' || v === '0' || v === 'no')
        return false;
    if (v === 'true' || v === '1' || v === 'yes')
        return true;
    throw new UsageError(`${command}: --${name} must be true or false, got '${value}'`);
}
/** `KEY=VALUE` pairs (mirrors, sources, annotations). */
function parseKeyValue(command, flag, item) {
    const i = item.indexOf('=');
    if (i <= 0 || i === item.length - 1) {
        throw new UsageError(`${command}: --${flag} expects KEY=VALUE, got '${item}'`);
    }
    return [item.slice(0, i), item.slice(i + 1)];
}

;// CONCATENATED MODULE: ./src/options/common.ts
/** Flags every registry-talking command takes (DESIGN.md: `--insecure-registry`, `--creds`). */
const registryFlags = [
    {
        name: 'insecure-registry',
        type: 'boolean',
        description: 'Talk plain HTTP to the registry (loopback registries always may).',
    },
    {
        name: 'creds',
        type: 'string',
        value: 'USER:PASSWORD',
        secret: true,
        description: 'Registry credentials; a value without ":" is sent as a bearer token. Default: docker config.json, and GITHUB_TOKEN for ghcr.io in the action.',
    },
];
function formatFlag(choices, fallback) {
    return {
        name: 'format',
        type: 'string',
        value: choices.join('|'),
        choices,
        default: fallback,
        description: `Output format on stdout (logs go to stderr). Default ${fallback}.`,
    };
}
const verboseFlag = {
    name: 'verbose',
    type: 'boolean',
    description: 'Log debug detail to stderr.',
};
/** Signing flags shared by `push --sign` and `sign`. */
const signingFlags = [
    {
        name: 'cosign-key',
        type: 'string',
        value: 'FILE',
        description: 'cosign private key file (cosign format; password from COSIGN_PASSWORD or --cosign-password).',
    },
    {
        name: 'cosign-password',
        type: 'string',
        secret: true,
        description: 'Password of the cosign key (default: the COSIGN_PASSWORD environment variable).',
    },
    {
        name: 'keyless',
        type: 'boolean',
        description: 'cosign keyless: the GitHub OIDC token, a Fulcio certificate and a Rekor entry.',
    },
    {
        name: 'bundle-format',
        type: 'boolean',
        description: 'cosign: also store a Sigstore bundle as an OCI 1.1 referrer (cosign v3 layout).',
    },
    {
        name: 'fulcio-url',
        type: 'string',
        value: 'URL',
        description: 'Fulcio for keyless signing (default public good).',
    },
    {
        name: 'rekor-url',
        type: 'string',
        value: 'URL',
        description: 'Rekor for keyless signing (default public good).',
    },
    {
        name: 'notation-key',
        type: 'string',
        value: 'FILE',
        description: 'notation: PEM private key of the signing certificate.',
    },
    {
        name: 'notation-cert',
        type: 'string',
        value: 'FILE',
        description: 'notation: PEM certificate chain, leaf first.',
    },
    {
        name: 'signature-format',
        type: 'string',
        value: 'jws|cose',
        choices: ['jws', 'cose'],
        default: 'jws',
        description: 'notation envelope format. Default jws.',
    },
    {
        name: 'expiry',
        type: 'string',
        value: 'DURATION',
        description: 'notation: signature expiry after signing, e.g. 720h.',
    },
];
/** Every flag a registry reference positional (`oci://HOST/REPO[:TAG|@DIGEST]`) goes with, in the action as `url`. */
const urlPositional = (required, description) => ({
    name: 'oci://HOST/REPO[:TAG|@DIGEST]',
    input: 'url',
    required,
    description,
});

;// CONCATENATED MODULE: ./src/commands/types.ts
function defineCommand(def) {
    return def;
}

;// CONCATENATED MODULE: ./src/commands/not-implemented.ts

/** Commands whose issue has not landed say so (exit 2) instead of printing fake output. */
function notImplemented(command) {
    throw new FluxgateError('NOT_IMPLEMENTED', `${command}: not implemented yet`);
}

;// CONCATENATED MODULE: external "node:os"
const external_node_os_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:os");
;// CONCATENATED MODULE: ./src/commands/render.ts





/** Flags of the render engine, shared by `render`, `diff` and `verify --path`. */
const renderEngineFlags = [
    {
        name: 'repo',
        type: 'string',
        value: 'DIR',
        description: 'Root of the repository being rendered (GitRepository sources resolve to it). Default: current directory.',
    },
    {
        name: 'source',
        type: 'list',
        value: 'KIND/NS/NAME=DIR',
        description: 'Map a source (e.g. GitRepository/flux-system/infra, or NS/NAME) to a local directory.',
    },
    {
        name: 'no-strict-substitute',
        type: 'boolean',
        description: 'Undefined postBuild variables become empty instead of failing (Flux < 2.9 behaviour).',
    },
    {
        name: 'registry-mirror',
        type: 'list',
        value: 'HOST=HOST2',
        description: 'Fetch OCI sources and charts of HOST from HOST2 (air-gapped runners, pull-through caches).',
    },
    {
        name: 'helm-repo-mirror',
        type: 'list',
        value: 'URL=URL2',
        description: 'Fetch charts of the HTTP Helm repository URL from URL2.',
    },
    {
        name: 'concurrency',
        type: 'string',
        value: 'N',
        description: 'Builds run in parallel. Default: the number of cores.',
    },
    {
        name: 'cache-dir',
        type: 'string',
        value: 'DIR',
        description: 'Chart and artifact cache, keyed by digest.',
    },
    {
        name: 'kube-version',
        type: 'string',
        value: 'VERSION',
        description: 'Kubernetes version charts see (.Capabilities.KubeVersion).',
    },
    {
        name: 'api-versions',
        type: 'list',
        value: 'GROUP/VERSION[/KIND]',
        description: 'Extra API versions charts see (.Capabilities.APIVersions).',
    },
    ...registryFlags,
];
function readRenderEngineOptions(args, command) {
    const pairs = (flag) => new Map(args.list(flag).map((item) => parseKeyValue(command, flag, item)));
    return {
        repo: args.string('repo') || '.',
        sources: pairs('source'),
        strictSubstitute: !args.boolean('no-strict-substitute'),
        registryMirrors: pairs('registry-mirror'),
        helmRepoMirrors: pairs('helm-repo-mirror'),
        concurrency: args.integer('concurrency', (0,external_node_os_namespaceObject.availableParallelism)()),
        cacheDir: args.string('cache-dir') || undefined,
        kubeVersion: args.string('kube-version') || undefined,
        apiVersions: args.list('api-versions'),
        insecureRegistry: args.boolean('insecure-registry'),
        creds: args.string('creds') || undefined,
    };
}
const renderCommand = defineCommand({
    name: 'render',
    summary: 'Render every object Flux would apply to a cluster, with the Flux object that applies it.',
    flags: [
        {
            name: 'path',
            type: 'string',
            value: 'DIR',
            description: 'Cluster entry directory, relative to the repository root (e.g. clusters/production).',
        },
        formatFlag(['yaml', 'json'], 'yaml'),
        {
            name: 'output-dir',
            type: 'string',
            value: 'DIR',
            description: 'Also write one YAML file per owner here.',
        },
        ...renderEngineFlags,
        verboseFlag,
    ],
    toOptions(raw) {
        const args = new ArgReader('render', raw);
        return {
            ...readRenderEngineOptions(args, 'render'),
            path: args.string('path') || '.',
            format: args.choice('format', ['yaml', 'json'], 'yaml'),
            outputDir: args.string('output-dir') || undefined,
        };
    },
    async run() {
        notImplemented('render');
    },
});

;// CONCATENATED MODULE: ./src/commands/diff.ts





const DEFAULT_STRIP_ATTRS = ['helm.sh/chart', 'checksum/config', 'app.kubernetes.io/version', 'chart'];
const diffCommand = defineCommand({
    name: 'diff',
    summary: 'Render base and head of a change and report the objects added, removed or modified, per owner.',
    flags: [
        {
            name: 'base',
            type: 'string',
            value: 'REF|DIR',
            description: 'Base of the change: a git ref or a directory.',
        },
        {
            name: 'head',
            type: 'string',
            value: 'REF|DIR',
            description: 'Head of the change: a git ref or a directory.',
        },
        {
            name: 'path',
            type: 'list',
            value: 'DIR',
            description: 'Cluster entry directories (one or more, e.g. clusters/production,clusters/staging).',
        },
        formatFlag(['markdown', 'json', 'unified'], 'markdown'),
        {
            name: 'strip-attrs',
            type: 'list',
            value: 'KEY',
            description: `Labels/annotations ignored in the diff. Default: ${DEFAULT_STRIP_ATTRS.join(',')}.`,
        },
        {
            name: 'changed-only',
            type: 'boolean',
            description: 'Render only what the changed files can affect (default on for git refs).',
        },
        {
            name: 'diff-path',
            type: 'string',
            value: 'FILE',
            description: 'Write the complete review (markdown) to this file.',
        },
        {
            name: 'verify',
            type: 'boolean',
            description: 'Also verify the signatures of the sources the change touches.',
        },
        {
            name: 'comment',
            type: 'boolean',
            actionOnly: true,
            description: 'Post the review as a sticky PR comment, with job summary and annotations.',
        },
        {
            name: 'comment-key',
            type: 'string',
            value: 'KEY',
            description: 'Keeps one sticky comment per key (e.g. per cluster set). Default: the paths.',
        },
        ...renderEngineFlags,
        verboseFlag,
    ],
    toOptions(raw, env) {
        const args = new ArgReader('diff', raw);
        const changed = raw.values.has('changed-only') ? args.boolean('changed-only') : undefined;
        return {
            ...readRenderEngineOptions(args, 'diff'),
            base: args.requiredString('base'),
            head: args.requiredString('head'),
            paths: args.list('path').length ? args.list('path') : ['.'],
            format: args.choice('format', ['markdown', 'json', 'unified'], 'markdown'),
            stripAttrs: raw.values.has('strip-attrs') ? args.list('strip-attrs') : DEFAULT_STRIP_ATTRS,
            changedOnly: changed,
            comment: args.boolean('comment'),
            commentKey: args.string('comment-key') || undefined,
            verify: args.boolean('verify'),
            diffPath: args.string('diff-path') || undefined,
            githubToken: env.GITHUB_TOKEN || undefined,
        };
    },
    async run() {
        notImplemented('diff');
    },
});

;// CONCATENATED MODULE: ./src/commands/verify.ts






const verifyCommand = defineCommand({
    name: 'verify',
    summary: 'Verify signatures (one artifact, or every source with spec.verify) and run the Flux policy checks.',
    positionals: [urlPositional(false, 'One artifact to verify; without it, every source under --path.')],
    flags: [
        {
            name: 'path',
            type: 'string',
            value: 'DIR',
            description: 'Cluster entry directory (without an oci:// reference).',
        },
        formatFlag(['text', 'json'], 'text'),
        {
            name: 'provider',
            type: 'string',
            value: 'cosign|notation',
            choices: ['cosign', 'notation'],
            default: 'cosign',
            description: 'Signature provider for an oci:// reference. Default cosign.',
        },
        {
            name: 'key',
            type: 'list',
            value: 'FILE',
            description: 'cosign public key(s); any one verifying is enough.',
        },
        {
            name: 'certificate-identity',
            type: 'string',
            value: 'S',
            description: 'Keyless: exact certificate subject.',
        },
        {
            name: 'certificate-identity-regexp',
            type: 'string',
            value: 'RE',
            description: 'Keyless: certificate subject regular expression.',
        },
        {
            name: 'certificate-oidc-issuer',
            type: 'string',
            value: 'S',
            description: 'Keyless: exact OIDC issuer.',
        },
        {
            name: 'certificate-oidc-issuer-regexp',
            type: 'string',
            value: 'RE',
            description: 'Keyless: OIDC issuer regular expression.',
        },
        {
            name: 'trusted-root',
            type: 'string',
            value: 'FILE',
            description: 'Sigstore trusted_root.json (default: the public-good root).',
        },
        {
            name: 'insecure-ignore-tlog',
            type: 'boolean',
            description: 'Keyless: do not require a Rekor entry (as cosign). Off by default.',
        },
        { name: 'trust-policy', type: 'string', value: 'FILE', description: 'notation trust policy document.' },
        {
            name: 'trust-store',
            type: 'list',
            value: 'TYPE:NAME=DIR',
            description: 'notation trust store, e.g. ca:acme=certs/.',
        },
        {
            name: 'verify-secret',
            type: 'list',
            value: 'NS/NAME=DIR',
            description: 'Files of a verify Secret kept outside the repository.',
        },
        {
            name: 'require-signatures',
            type: 'boolean',
            description: 'OCI sources without spec.verify are errors.',
        },
        { name: 'require-digests', type: 'boolean', description: 'OCI refs by mutable tag are errors.' },
        ...renderEngineFlags.filter((f) => !registryFlags.some((r) => r.name === f.name)),
        ...registryFlags,
        verboseFlag,
    ],
    toOptions(raw) {
        const args = new ArgReader('verify', raw);
        const reference = args.positional(0);
        if (reference !== undefined && !reference.startsWith('oci://')) {
            throw new UsageError(`verify: expected an oci:// reference, got '${reference}'`);
        }
        const pairs = (flag) => new Map(args.list(flag).map((item) => parseKeyValue('verify', flag, item)));
        return {
            ...readRenderEngineOptions(args, 'verify'),
            reference,
            path: args.string('path') || '.',
            format: args.choice('format', ['text', 'json'], 'text'),
            provider: args.choice('provider', ['cosign', 'notation'], 'cosign'),
            keys: args.list('key'),
            certificateIdentity: args.string('certificate-identity') || undefined,
            certificateIdentityRegexp: args.string('certificate-identity-regexp') || undefined,
            certificateOidcIssuer: args.string('certificate-oidc-issuer') || undefined,
            certificateOidcIssuerRegexp: args.string('certificate-oidc-issuer-regexp') || undefined,
            trustedRoot: args.string('trusted-root') || undefined,
            insecureIgnoreTlog: args.boolean('insecure-ignore-tlog'),
            trustPolicy: args.string('trust-policy') || undefined,
            trustStores: pairs('trust-store'),
            verifySecrets: pairs('verify-secret'),
            requireSignatures: args.boolean('require-signatures'),
            requireDigests: args.boolean('require-digests'),
        };
    },
    async run() {
        notImplemented('verify');
    },
});

;// CONCATENATED MODULE: ./src/commands/artifact-flags.ts


/** How the content of a Flux artifact is collected (build, push, diff-artifact). */
const contentFlags = [
    {
        name: 'path',
        type: 'string',
        value: 'DIR|FILE|-',
        description: 'Directory, single file, or - for stdin, as `flux build artifact` takes it.',
    },
    {
        name: 'ignore-paths',
        type: 'list',
        value: 'PATTERN',
        description: 'gitignore patterns left out; a given list replaces the flux CLI defaults (VCS files and binary extensions).',
    },
    {
        name: 'resolve-symlinks',
        type: 'boolean',
        description: 'Copy the targets of symlinks instead of skipping them (cycles are broken).',
    },
];
function readContentOptions(args, raw) {
    return {
        path: args.requiredString('path'),
        ignorePaths: raw.values.has('ignore-paths') ? args.list('ignore-paths') : undefined,
        resolveSymlinks: args.boolean('resolve-symlinks'),
    };
}
function readSigningOptions(command, args, provider, env) {
    const opts = {
        provider,
        cosignKey: args.string('cosign-key') || undefined,
        cosignPassword: args.string('cosign-password') ?? env.COSIGN_PASSWORD,
        keyless: args.boolean('keyless'),
        bundleFormat: args.boolean('bundle-format'),
        fulcioUrl: args.string('fulcio-url') || undefined,
        rekorUrl: args.string('rekor-url') || undefined,
        notationKey: args.string('notation-key') || undefined,
        notationCert: args.string('notation-cert') || undefined,
        signatureFormat: args.choice('signature-format', ['jws', 'cose'], 'jws'),
        expiry: args.string('expiry') || undefined,
    };
    if (provider === 'cosign') {
        if (opts.cosignKey && opts.keyless)
            throw new UsageError(`${command}: --cosign-key and --keyless exclude each other`);
        if (!opts.cosignKey && !opts.keyless)
            throw new UsageError(`${command}: cosign signing needs --cosign-key FILE or --keyless`);
    }
    else if (!opts.notationKey || !opts.notationCert) {
        throw new UsageError(`${command}: notation signing needs --notation-key FILE and --notation-cert FILE`);
    }
    return opts;
}

;// CONCATENATED MODULE: ./src/commands/build.ts





const buildCommand = defineCommand({
    name: 'build',
    summary: 'Build the Flux artifact layer (tar+gzip) of a directory, reproducibly.',
    flags: [
        ...contentFlags,
        {
            name: 'output',
            type: 'string',
            value: 'FILE.tgz',
            description: 'Where to write the layer. Default artifact.tgz.',
        },
        {
            name: 'format',
            type: 'string',
            value: 'text|json',
            choices: ['text', 'json'],
            description: 'Output format.',
        },
        verboseFlag,
    ],
    toOptions(raw) {
        const args = new ArgReader('build', raw);
        return {
            ...readContentOptions(args, raw),
            output: args.string('output') || 'artifact.tgz',
            format: args.choice('format', ['text', 'json'], 'text'),
        };
    },
    async run() {
        notImplemented('build');
    },
});

;// CONCATENATED MODULE: ./src/commands/push.ts






const pushCommand = defineCommand({
    name: 'push',
    summary: 'Build a directory as a Flux OCI artifact, push it, tag it and optionally sign it.',
    positionals: [urlPositional(true, 'Where to push, e.g. oci://ghcr.io/org/app/manifests:v1.2.3.')],
    flags: [
        ...contentFlags,
        {
            name: 'source',
            type: 'string',
            value: 'URL',
            description: 'org.opencontainers.image.source (action default: the repository URL).',
        },
        {
            name: 'revision',
            type: 'string',
            value: 'REV',
            description: 'org.opencontainers.image.revision, e.g. main@sha1:<sha> (action default: from the GitHub context).',
        },
        { name: 'tag', type: 'list', value: 'TAG', description: 'More tags for the pushed digest.' },
        {
            name: 'reproducible',
            type: 'boolean',
            description: 'Fixed created time: the same content gives the same digest.',
        },
        { name: 'annotation', type: 'list', value: 'KEY=VALUE', description: 'Extra manifest annotations.' },
        {
            name: 'sign',
            type: 'string',
            value: 'cosign|notation',
            choices: ['cosign', 'notation'],
            description: 'Sign the pushed digest.',
        },
        ...signingFlags,
        formatFlag(['text', 'json'], 'text'),
        ...registryFlags,
        verboseFlag,
    ],
    toOptions(raw, env) {
        const args = new ArgReader('push', raw);
        const url = args.requiredPositional(0, 'an oci://HOST/REPO:TAG reference');
        if (!url.startsWith('oci://'))
            throw new UsageError(`push: expected an oci:// reference, got '${url}'`);
        const sign = args.string('sign');
        if (sign && sign !== 'cosign' && sign !== 'notation') {
            throw new UsageError(`push: --sign must be cosign or notation, got '${sign}'`);
        }
        return {
            ...readContentOptions(args, raw),
            url,
            source: args.string('source') || undefined,
            revision: args.string('revision') || undefined,
            tags: args.list('tag'),
            reproducible: args.boolean('reproducible'),
            annotations: args.list('annotation').map((a) => parseKeyValue('push', 'annotation', a)),
            signing: sign ? readSigningOptions('push', args, sign, env) : undefined,
            format: args.choice('format', ['text', 'json'], 'text'),
            insecureRegistry: args.boolean('insecure-registry'),
            creds: args.string('creds') || undefined,
        };
    },
    async run() {
        notImplemented('push');
    },
});

;// CONCATENATED MODULE: ./src/commands/sign.ts






const signCommand = defineCommand({
    name: 'sign',
    summary: 'Sign an artifact by digest with cosign (key or keyless) or notation (X.509).',
    positionals: [urlPositional(true, 'The artifact to sign, by digest: oci://HOST/REPO@sha256:….')],
    flags: [
        {
            name: 'provider',
            type: 'string',
            value: 'cosign|notation',
            choices: ['cosign', 'notation'],
            default: 'cosign',
            description: 'Signature format. Default cosign.',
        },
        ...signingFlags,
        formatFlag(['text', 'json'], 'text'),
        ...registryFlags,
        verboseFlag,
    ],
    toOptions(raw, env) {
        const args = new ArgReader('sign', raw);
        const url = args.requiredPositional(0, 'an oci://HOST/REPO@DIGEST reference');
        if (!url.startsWith('oci://'))
            throw new UsageError(`sign: expected an oci:// reference, got '${url}'`);
        const provider = args.choice('provider', ['cosign', 'notation'], 'cosign');
        return {
            url,
            signing: readSigningOptions('sign', args, provider, env),
            format: args.choice('format', ['text', 'json'], 'text'),
            insecureRegistry: args.boolean('insecure-registry'),
            creds: args.string('creds') || undefined,
        };
    },
    async run() {
        notImplemented('sign');
    },
});

;// CONCATENATED MODULE: ./src/commands/tag.ts





const tagCommand = defineCommand({
    name: 'tag',
    summary: 'Add tags to an artifact digest (no blob is pushed again).',
    positionals: [urlPositional(true, 'The artifact, by digest or tag.')],
    flags: [
        { name: 'tag', type: 'list', value: 'TAG', description: 'Tags to add (required).' },
        formatFlag(['text', 'json'], 'text'),
        ...registryFlags,
        verboseFlag,
    ],
    toOptions(raw) {
        const args = new ArgReader('tag', raw);
        const url = args.requiredPositional(0, 'an oci://HOST/REPO@DIGEST reference');
        if (!url.startsWith('oci://'))
            throw new UsageError(`tag: expected an oci:// reference, got '${url}'`);
        const tags = args.list('tag');
        if (tags.length === 0)
            throw new UsageError('tag: --tag is required');
        return {
            url,
            tags,
            format: args.choice('format', ['text', 'json'], 'text'),
            insecureRegistry: args.boolean('insecure-registry'),
            creds: args.string('creds') || undefined,
        };
    },
    async run() {
        notImplemented('tag');
    },
});

;// CONCATENATED MODULE: ./src/commands/pull.ts





const pullCommand = defineCommand({
    name: 'pull',
    summary: "Write a Flux artifact's content to a directory.",
    positionals: [urlPositional(true, 'The artifact to pull.')],
    flags: [
        {
            name: 'output',
            type: 'string',
            value: 'DIR',
            description: 'Directory to write the content into (required).',
        },
        formatFlag(['text', 'json'], 'text'),
        ...registryFlags,
        verboseFlag,
    ],
    toOptions(raw) {
        const args = new ArgReader('pull', raw);
        const url = args.requiredPositional(0, 'an oci://HOST/REPO[:TAG|@DIGEST] reference');
        if (!url.startsWith('oci://'))
            throw new UsageError(`pull: expected an oci:// reference, got '${url}'`);
        return {
            url,
            output: args.requiredString('output'),
            format: args.choice('format', ['text', 'json'], 'text'),
            insecureRegistry: args.boolean('insecure-registry'),
            creds: args.string('creds') || undefined,
        };
    },
    async run() {
        notImplemented('pull');
    },
});

;// CONCATENATED MODULE: ./src/commands/diff-artifact.ts






const diffArtifactCommand = defineCommand({
    name: 'diff-artifact',
    summary: 'Say whether a directory differs from a pushed artifact, entry by entry (names, modes, contents).',
    positionals: [urlPositional(true, 'The pushed artifact.')],
    flags: [...contentFlags, formatFlag(['text', 'json'], 'text'), ...registryFlags, verboseFlag],
    toOptions(raw) {
        const args = new ArgReader('diff-artifact', raw);
        const url = args.requiredPositional(0, 'an oci://HOST/REPO[:TAG|@DIGEST] reference');
        if (!url.startsWith('oci://'))
            throw new UsageError(`diff-artifact: expected an oci:// reference, got '${url}'`);
        return {
            ...readContentOptions(args, raw),
            url,
            format: args.choice('format', ['text', 'json'], 'text'),
            insecureRegistry: args.boolean('insecure-registry'),
            creds: args.string('creds') || undefined,
        };
    },
    async run() {
        notImplemented('diff-artifact');
    },
});

;// CONCATENATED MODULE: ./src/commands/generate-key-pair.ts




const generateKeyPairCommand = defineCommand({
    name: 'generate-key-pair',
    summary: 'Write cosign.key and cosign.pub as `cosign generate-key-pair` does (password from COSIGN_PASSWORD).',
    flags: [
        {
            name: 'output-key-prefix',
            type: 'string',
            value: 'PREFIX',
            description: 'File name prefix. Default cosign (cosign.key, cosign.pub).',
        },
        verboseFlag,
    ],
    toOptions(raw, env) {
        const args = new ArgReader('generate-key-pair', raw);
        return { outputKeyPrefix: args.string('output-key-prefix') || 'cosign', password: env.COSIGN_PASSWORD };
    },
    async run() {
        notImplemented('generate-key-pair');
    },
});

;// CONCATENATED MODULE: ./src/commands/index.ts










/** Every command, in the order help lists them. */
const commands = [
    renderCommand,
    diffCommand,
    verifyCommand,
    buildCommand,
    pushCommand,
    signCommand,
    tagCommand,
    pullCommand,
    diffArtifactCommand,
    generateKeyPairCommand,
];
function findCommand(name) {
    return commands.find((c) => c.name === name);
}

;// CONCATENATED MODULE: ./src/log.ts
class StderrLogger {
    verbose;
    write;
    secrets = new Set();
    constructor(verbose = false, write = (line) => process.stderr.write(line + '\n')) {
        this.verbose = verbose;
        this.write = write;
    }
    debug(message) {
        if (this.verbose)
            this.write(this.redact(message));
    }
    info(message) {
        this.write(this.redact(message));
    }
    warn(message, annotation) {
        this.write(`warning: ${this.redact(where(annotation))}${this.redact(message)}`);
    }
    error(message, annotation) {
        this.write(`error: ${this.redact(where(annotation))}${this.redact(message)}`);
    }
    async group(name, fn) {
        this.debug(`» ${name}`);
        return fn();
    }
    mask(secret) {
        if (secret.length >= 3)
            this.secrets.add(secret);
    }
    redact(text) {
        let out = text;
        for (const s of this.secrets)
            out = out.split(s).join('***');
        return out;
    }
}
function where(annotation) {
    if (!annotation?.file)
        return '';
    return annotation.line ? `${annotation.file}:${annotation.line}: ` : `${annotation.file}: `;
}
/** A logger that drops everything: for library callers and tests that do not care. */
const silentLogger = {
    debug() { },
    info() { },
    warn() { },
    error() { },
    group: (_name, fn) => fn(),
    mask() { },
};

;// CONCATENATED MODULE: ./src/options/argv.ts

/**
 * The CLI's argument parser: `--name value`, `--name=value`, `--switch`, `--no-switch`,
 * repeated list flags. Unknown flags are bad usage (exit 2), named in the message.
 */
function parseArgv(command, argv, flags) {
    const byName = new Map(flags.map((f) => [f.name, f]));
    const values = new Map();
    const positionals = [];
    let onlyPositionals = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (onlyPositionals || !arg.startsWith('--') || arg === '-') {
            if (arg === '--' && !onlyPositionals) {
                onlyPositionals = true;
                continue;
            }
            positionals.push(arg);
            continue;
        }
        const eq = arg.indexOf('=');
        let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
        let inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
        let spec = byName.get(name);
        if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean') {
            spec = byName.get(name.slice(3));
            name = name.slice(3);
            if (inline !== undefined)
                throw new UsageError(`${command}: --no-${name} takes no value`);
            inline = 'false';
        }
        if (!spec)
            throw new UsageError(`${command}: unknown flag --${name} (see 'fluxgate ${command} --help')`);
        if (spec.type === 'boolean') {
            values.set(name, inline === undefined ? true : inline);
            continue;
        }
        if (inline === undefined) {
            const next = argv[i + 1];
            if (next === undefined || (next.startsWith('--') && next.length > 2)) {
                throw new UsageError(`${command}: --${name} needs a value`);
            }
            inline = next;
            i++;
        }
        if (spec.type === 'list') {
            const prev = values.get(name);
            const list = Array.isArray(prev) ? prev : [];
            list.push(inline);
            values.set(name, list);
        }
        else {
            if (values.has(name))
                throw new UsageError(`${command}: --${name} given twice`);
            values.set(name, inline);
        }
    }
    return { values, positionals };
}

;// CONCATENATED MODULE: ./src/options/help.ts
function mainHelp(commands, version) {
    const width = Math.max(...commands.map((c) => c.name.length));
    return [
        `fluxgate ${version}: render, diff, verify, build, push and sign Flux manifests and OCI artifacts`,
        '',
        'Usage: fluxgate <command> [flags]',
        '',
        'Commands:',
        ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
        '',
        "Run 'fluxgate <command> --help' for the flags of a command.",
        'Exit codes: 0 success, 1 the work failed, 2 bad usage.',
        '',
    ].join('\n');
}
function commandHelp(command) {
    const flags = command.flags.filter((f) => !f.actionOnly || f.type === 'boolean');
    const positional = (command.positionals ?? []).map((p) => (p.required ? p.name : `[${p.name}]`)).join(' ');
    const label = (f) => `--${f.name}${f.type === 'boolean' ? '' : ` ${f.value ?? 'VALUE'}`}${f.type === 'list' ? '...' : ''}`;
    const width = Math.min(40, Math.max(...flags.map((f) => label(f).length)));
    return [
        `fluxgate ${command.name}: ${command.summary}`,
        '',
        `Usage: fluxgate ${command.name}${positional ? ' ' + positional : ''} [flags]`,
        ...(command.positionals ?? []).map((p) => `  ${p.name}: ${p.description}`),
        '',
        'Flags:',
        ...flags.map((f) => {
            const l = label(f);
            return l.length > width
                ? `  ${l}\n  ${''.padEnd(width)}  ${f.description}`
                : `  ${l.padEnd(width)}  ${f.description}`;
        }),
        `  ${'--help'.padEnd(width)}  Show this help.`,
        '',
    ].join('\n');
}

;// CONCATENATED MODULE: ./src/run.ts

/**
 * Runs one command for either front end: raw values → typed options → the command. Errors
 * become one line on the logger and the contract's exit code.
 */
async function runCommand(command, raw, io) {
    try {
        const options = command.toOptions(raw, io.env);
        const result = await command.run(options, io);
        for (const [name, value] of Object.entries(result.outputs ?? {}))
            io.action?.setOutput(name, value);
        return result.exitCode;
    }
    catch (err) {
        io.log.error(errorLine(err));
        if (err instanceof Error && err.stack)
            io.log.debug(err.stack);
        return exitCodeOf(err);
    }
}

;// CONCATENATED MODULE: ./src/version.ts
/** Kept in step with package.json by the bundle script's check. */
const VERSION = '0.1.0';

;// CONCATENATED MODULE: ./src/cli/main.ts







const processIO = {
    env: process.env,
    cwd: process.cwd(),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
};
/** The CLI front end: argv in, exit code out. Everything else is the engine's. */
async function cli(argv, io = processIO) {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
        io.stdout(mainHelp(commands, VERSION));
        return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === 'version') {
        io.stdout(`${VERSION}\n`);
        return 0;
    }
    const command = findCommand(name);
    if (!command) {
        io.stderr(`error: unknown command '${name}' (run 'fluxgate --help' for the list)\n`);
        return 2;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout(commandHelp(command));
        return 0;
    }
    const log = new StderrLogger(rest.includes('--verbose'), (line) => io.stderr(line + '\n'));
    let raw;
    try {
        raw = parseArgv(name, rest, command.flags);
    }
    catch (err) {
        log.error(errorLine(err));
        return 2;
    }
    return runCommand(command, raw, { log, stdout: io.stdout, env: io.env, cwd: io.cwd });
}


/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId](module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/async module */
/******/ (() => {
/******/ 	var webpackQueues = typeof Symbol === "function" ? Symbol("webpack queues") : "__webpack_queues__";
/******/ 	var webpackExports = typeof Symbol === "function" ? Symbol("webpack exports") : "__webpack_exports__";
/******/ 	var webpackError = typeof Symbol === "function" ? Symbol("webpack error") : "__webpack_error__";
/******/ 	var resolveQueue = (queue) => {
/******/ 		if(queue && queue.d < 1) {
/******/ 			queue.d = 1;
/******/ 			queue.forEach((fn) => (fn.r--));
/******/ 			queue.forEach((fn) => (fn.r-- ? fn.r++ : fn()));
/******/ 		}
/******/ 	}
/******/ 	var wrapDeps = (deps) => (deps.map((dep) => {
/******/ 		if(dep !== null && typeof dep === "object") {
/******/ 			if(dep[webpackQueues]) return dep;
/******/ 			if(dep.then) {
/******/ 				var queue = [];
/******/ 				queue.d = 0;
/******/ 				dep.then((r) => {
/******/ 					obj[webpackExports] = r;
/******/ 					resolveQueue(queue);
/******/ 				}, (e) => {
/******/ 					obj[webpackError] = e;
/******/ 					resolveQueue(queue);
/******/ 				});
/******/ 				var obj = {};
/******/ 				obj[webpackQueues] = (fn) => (fn(queue));
/******/ 				return obj;
/******/ 			}
/******/ 		}
/******/ 		var ret = {};
/******/ 		ret[webpackQueues] = x => {};
/******/ 		ret[webpackExports] = dep;
/******/ 		return ret;
/******/ 	}));
/******/ 	__nccwpck_require__.a = (module, body, hasAwait) => {
/******/ 		var queue;
/******/ 		hasAwait && ((queue = []).d = -1);
/******/ 		var depQueues = new Set();
/******/ 		var exports = module.exports;
/******/ 		var currentDeps;
/******/ 		var outerResolve;
/******/ 		var reject;
/******/ 		var promise = new Promise((resolve, rej) => {
/******/ 			reject = rej;
/******/ 			outerResolve = resolve;
/******/ 		});
/******/ 		promise[webpackExports] = exports;
/******/ 		promise[webpackQueues] = (fn) => (queue && fn(queue), depQueues.forEach(fn), promise["catch"](x => {}));
/******/ 		module.exports = promise;
/******/ 		body((deps) => {
/******/ 			currentDeps = wrapDeps(deps);
/******/ 			var fn;
/******/ 			var getResult = () => (currentDeps.map((d) => {
/******/ 				if(d[webpackError]) throw d[webpackError];
/******/ 				return d[webpackExports];
/******/ 			}))
/******/ 			var promise = new Promise((resolve) => {
/******/ 				fn = () => (resolve(getResult));
/******/ 				fn.r = 0;
/******/ 				var fnQueue = (q) => (q !== queue && !depQueues.has(q) && (depQueues.add(q), q && !q.d && (fn.r++, q.push(fn))));
/******/ 				currentDeps.map((dep) => (dep[webpackQueues](fnQueue)));
/******/ 			});
/******/ 			return fn.r ? promise : getResult();
/******/ 		}, (err) => ((err ? reject(promise[webpackError] = err) : outerResolve(exports)), resolveQueue(queue)));
/******/ 		queue && queue.d < 0 && (queue.d = 0);
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/************************************************************************/
/******/ 
/******/ // startup
/******/ // Load entry module and return exports
/******/ // This entry module used 'module' so it can't be inlined
/******/ var __webpack_exports__ = __nccwpck_require__(581);
/******/ __webpack_exports__ = await __webpack_exports__;
/******/ 
