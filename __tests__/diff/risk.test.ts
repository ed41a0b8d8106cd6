import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { diffRenders } from '../../src/diff/objects.js';
import { reviewMarkdown } from '../../src/diff/markdown.js';
import type { KubeObject, RenderResult } from '../../src/render/types.js';

const owner = { kind: 'Kustomization' as const, namespace: 'flux-system', name: 'infra' };
const side = (yaml: string): RenderResult => ({
  objects: parseAllDocuments(yaml).map((d) => ({ owner, object: d.toJSON() as KubeObject })),
  errors: [],
  rendered: [owner],
});

const base = side(`
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: data, namespace: db }
spec: { resources: { requests: { storage: 10Gi } } }
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent, namespace: ops }
spec:
  template:
    spec:
      containers:
        - name: agent
          image: ghcr.io/acme/agent:1.0.0
          ports: [{ name: metrics, containerPort: 9100 }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: web }
spec:
  replicas: 3
  template:
    spec:
      containers: [{ name: web, image: ghcr.io/acme/web:1.4.2 }]
`);
const head = side(`
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent, namespace: ops }
spec:
  template:
    spec:
      hostNetwork: true
      volumes: [{ name: root, hostPath: { path: / } }]
      containers:
        - name: agent
          image: ghcr.io/acme/agent:latest
          securityContext: { privileged: true, capabilities: { add: [SYS_ADMIN] } }
          ports: [{ name: metrics, containerPort: 9200 }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: web }
spec:
  replicas: 0
  template:
    spec:
      containers: [{ name: web, image: ghcr.io/acme/web:1.4.2 }]
`);

describe('risks and changed fields', () => {
  const diff = diffRenders('clusters/production', base, head, []);
  const risks = Object.fromEntries(diff.changes.map((c) => [`${c.kind}/${c.name}`, c.risks]));

  it('flags a deleted PVC, a privileged DaemonSet on the host network, a mutable tag and replicas to 0', () => {
    expect(risks['PersistentVolumeClaim/data']).toEqual(['deletes a PersistentVolumeClaim']);
    expect(risks['DaemonSet/agent']).toEqual([
      'gains hostNetwork',
      'mounts hostPath /',
      'container agent becomes privileged',
      'container agent adds capabilities SYS_ADMIN',
      'container agent moves to the mutable image ghcr.io/acme/agent:latest',
    ]);
    expect(risks['Deployment/web']).toEqual(['scales to 0 replicas']);
  });

  it('lists the risks at the top of the review, each linking to its section', () => {
    const md = reviewMarkdown(diff).markdown;
    const section = md.indexOf('### ⚠️ Needs a second look');
    expect(section).toBeGreaterThan(0);
    expect(section).toBeLessThan(md.indexOf('| Cluster | Owner |'));
    expect(md).toMatch(/- \[DaemonSet ops\/agent\]\(#fluxgate-owner-1\) gains hostNetwork; /);
    expect(md).toContain(
      '- [PersistentVolumeClaim db/data](#fluxgate-owner-1) deletes a PersistentVolumeClaim',
    );
  });

  it('names list items by key: containers and ports by name', () => {
    const agent = diff.changes.find((c) => c.name === 'agent')!;
    expect(agent.fields.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        'spec.template.spec.containers[name=agent].image',
        'spec.template.spec.containers[name=agent].ports[name=metrics].containerPort',
        'spec.template.spec.hostNetwork',
      ]),
    );
    expect(agent.fields.find((f) => f.path.endsWith('containerPort'))).toMatchObject({
      before: 9100,
      after: 9200,
    });
  });
});
