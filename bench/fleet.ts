/**
 * A synthetic Flux fleet, deterministic from a seed: N apps, each with its Flux Kustomization,
 * a base and an overlay, postBuild substitutions (inline and from a ConfigMap), a Secret, and a
 * HelmRelease on a chart that lives in the repository (no network needed).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface FleetOptions {
  apps: number;
  seed: number;
  cluster?: string;
}

/** mulberry32: a tiny PRNG, so the same seed gives the same fleet on every machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const appName = (i: number) => `app-${String(i).padStart(3, '0')}`;

export function generateFleet(options: FleetOptions): Map<string, string> {
  const cluster = options.cluster ?? 'production';
  const rnd = random(options.seed);
  const files = new Map<string, string>();
  const put = (path: string, content: string) => files.set(path, content.replace(/^\n/, ''));

  put(
    `clusters/${cluster}/cluster-vars.yaml`,
    `
apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-vars
  namespace: flux-system
data:
  cluster_name: ${cluster}
  region: eu-west-${1 + Math.floor(rnd() * 3)}
`,
  );
  put(
    `clusters/${cluster}/charts-source.yaml`,
    `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: fleet-charts
  namespace: flux-system
spec:
  interval: 10m
  url: https://git.example.com/fleet.git
  ref:
    branch: main
`,
  );
  put(
    'charts/app/Chart.yaml',
    `
apiVersion: v2
name: app
version: 1.0.0
appVersion: "1.0.0"
`,
  );
  put('charts/app/values.yaml', 'replicaCount: 1\nimage: ghcr.io/acme/worker:1.0.0\nmessage: hello\n');
  put(
    'charts/app/templates/worker.yaml',
    `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-worker
  labels:
    app.kubernetes.io/name: {{ .Release.Name }}-worker
    helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Release.Name }}-worker
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .Release.Name }}-worker
    spec:
      containers:
        - name: worker
          image: {{ .Values.image }}
          env:
            - name: MESSAGE
              value: {{ .Values.message | quote }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  message: {{ .Values.message | quote }}
`,
  );

  for (let i = 0; i < options.apps; i++) {
    const name = appName(i);
    const replicas = 1 + Math.floor(rnd() * 5);
    const minor = Math.floor(rnd() * 20);
    put(
      `clusters/${cluster}/apps/${name}.yaml`,
      `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ${name}
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/${name}/overlays/${cluster}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  targetNamespace: ${name}
  postBuild:
    substitute:
      app_name: ${name}
      replicas: "${replicas}"
    substituteFrom:
      - kind: ConfigMap
        name: cluster-vars
`,
    );
    put(
      `apps/${name}/base/kustomization.yaml`,
      `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - namespace.yaml
  - deployment.yaml
  - service.yaml
  - secret.yaml
  - release.yaml
`,
    );
    put(
      `apps/${name}/base/namespace.yaml`,
      `
apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
`,
    );
    put(
      `apps/${name}/base/deployment.yaml`,
      `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: \${app_name}
    cluster: \${cluster_name}
spec:
  replicas: \${replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.${minor}.0
          env:
            - name: REGION
              value: \${region}
          ports:
            - containerPort: 8080
`,
    );
    put(
      `apps/${name}/base/service.yaml`,
      `
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 8080
`,
    );
    put(
      `apps/${name}/base/secret.yaml`,
      `
apiVersion: v1
kind: Secret
metadata:
  name: web-credentials
stringData:
  token: bench-secret-${name}-${Math.floor(rnd() * 1e9)}
`,
    );
    put(
      `apps/${name}/base/release.yaml`,
      `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: worker
spec:
  interval: 10m
  chart:
    spec:
      chart: ./charts/app
      sourceRef:
        kind: GitRepository
        name: fleet-charts
        namespace: flux-system
  values:
    replicaCount: ${1 + Math.floor(rnd() * 3)}
    message: ${name} says hello
`,
    );
    put(
      `apps/${name}/overlays/${cluster}/kustomization.yaml`,
      `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: ghcr.io/acme/web
    newTag: 1.${minor}.1
patches:
  - target:
      kind: Deployment
      name: web
    patch: |
      - op: add
        path: /metadata/annotations
        value:
          fleet.example.com/overlay: ${cluster}
`,
    );
  }
  return files;
}

export function writeFleet(dir: string, options: FleetOptions): void {
  for (const [path, content] of generateFleet(options)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** A one-app change (its overlay's image tag), as a PR touching one app would make. Returns the file changed. */
export function changeOneApp(dir: string, index: number, cluster = 'production'): string {
  const path = `apps/${appName(index)}/overlays/${cluster}/kustomization.yaml`;
  const file = join(dir, path);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/newTag: .*/, 'newTag: 9.9.9'));
  return path;
}

/** App `index` without its Secret (the build cache never stores an output that holds one). */
export function dropSecret(dir: string, index: number): void {
  const base = join(dir, `apps/${appName(index)}/base`);
  const file = join(base, 'kustomization.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('  - secret.yaml\n', ''));
  rmSync(join(base, 'secret.yaml'));
}
