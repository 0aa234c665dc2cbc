// Offline checks of the deploy files, run by scripts/test.sh:
//  - docker-compose.yml against the Compose specification and dclint's rules (no warnings allowed);
//  - each Dockerfile's restore layer copies every project its runnable depends on;
//  - docker-compose.yml and deploy/local-cluster.sh share deploy/base/cluster.env;
//  - every Kubernetes kustomization renders with `kubectl kustomize`, and every rendered object validates against the
//    Kubernetes API schema of its kind, with probes, autoscalers and the disruption budget pointing at real things.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const kubectl = process.argv[2] ?? "kubectl";
const failures = [];
const check = (ok, message) => { if (!ok) failures.push(message); };

// Compose.
try {
  execFileSync(join(here, "node_modules/.bin/dclint"), ["--max-warnings", "0", "docker-compose.yml"], { cwd: root, stdio: "pipe" });
} catch (e) {
  failures.push("dclint docker-compose.yml:\n" + e.stdout?.toString() + e.stderr?.toString());
}
const compose = parseAllDocuments(readFileSync(join(root, "docker-compose.yml"), "utf8"))[0].toJS();
for (const name of ["silo", "api"]) {
  check(compose.services[name]?.env_file === "deploy/base/cluster.env", `compose service ${name} must read deploy/base/cluster.env`);
}
check(readFileSync(join(root, "deploy/local-cluster.sh"), "utf8").includes("base/cluster.env"), "local-cluster.sh must read deploy/base/cluster.env");
check(compose.services.api?.ports?.some(p => String(p).endsWith(":8080")), "the API must publish port 8080");
for (const [name, service] of Object.entries(compose.services)) {
  if (name !== "kafka-topics") check(service.healthcheck?.test, `compose service ${name} needs a health check`);
}

// Dockerfiles: the restore layer must hold the runnable's whole project closure.
const closure = (project, seen = new Set()) => {
  if (seen.has(project)) return seen;
  seen.add(project);
  const text = readFileSync(join(root, project), "utf8");
  for (const m of text.matchAll(/ProjectReference Include="([^"]+)"/g)) {
    closure(join(dirname(project), m[1].replaceAll("\\", "/")), seen);
  }
  return seen;
};
for (const runnable of ["Tekana.Silo", "Tekana.Api"]) {
  const dockerfile = readFileSync(join(root, "src", runnable, "Dockerfile"), "utf8");
  for (const project of closure(`src/${runnable}/${runnable}.csproj`)) {
    check(dockerfile.includes(`COPY ${project} `), `src/${runnable}/Dockerfile does not copy ${project} before restoring`);
  }
  check(/^USER \$APP_UID$/m.test(dockerfile), `src/${runnable}/Dockerfile must run as the image's non-root user`);
  check((dockerfile.match(/^FROM /gm) ?? []).length >= 2, `src/${runnable}/Dockerfile must be multi-stage`);
}

// Kubernetes.
const modelPath = (apiVersion, kind) => {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
};
for (const target of ["deploy/base", "deploy/overlays/production"]) {
  let rendered;
  try {
    rendered = execFileSync(kubectl, ["kustomize", target], { cwd: root, stdio: "pipe" }).toString();
  } catch (e) {
    failures.push(`kubectl kustomize ${target}:\n${e.stderr?.toString() ?? e.message}`);
    continue;
  }
  const objects = parseAllDocuments(rendered).map(d => d.toJS()).filter(Boolean);
  for (const object of objects) {
    const label = `${target}: ${object.kind}/${object.metadata?.name}`;
    try {
      const module = await import(modelPath(object.apiVersion, object.kind));
      new module[object.kind](object).validate();
    } catch (e) {
      failures.push(`${label} does not validate: ${e.message}`);
    }
  }
  const byKind = kind => objects.filter(o => o.kind === kind);
  for (const deployment of byKind("Deployment")) {
    for (const container of deployment.spec.template.spec.containers) {
      check(container.readinessProbe?.httpGet?.path === "/health/ready", `${target}: ${deployment.metadata.name} readiness probe must be /health/ready`);
      check(container.livenessProbe?.httpGet?.path === "/health/live", `${target}: ${deployment.metadata.name} liveness probe must be /health/live`);
    }
    check(deployment.spec.template.spec.securityContext?.runAsNonRoot === true, `${target}: ${deployment.metadata.name} must run as non-root`);
  }
  for (const hpa of byKind("HorizontalPodAutoscaler")) {
    check(byKind(hpa.spec.scaleTargetRef.kind).some(o => o.metadata.name === hpa.spec.scaleTargetRef.name), `${target}: HPA ${hpa.metadata.name} targets nothing`);
  }
  const silo = byKind("Deployment").find(d => d.metadata.name === "tekana-silo");
  for (const pdb of byKind("PodDisruptionBudget")) {
    const labels = silo?.spec.template.metadata.labels ?? {};
    check(Object.entries(pdb.spec.selector.matchLabels).every(([k, v]) => labels[k] === v), `${target}: PDB ${pdb.metadata.name} selects no silo`);
  }
  check(byKind("HorizontalPodAutoscaler").length === 2, `${target}: an autoscaler for the silo and one for the API`);
  check(byKind("ConfigMap").length === 1 && byKind("Secret").length === 1, `${target}: one ConfigMap and one Secret`);
  const env = silo?.spec.template.spec.containers[0].env ?? [];
  for (const name of ["POD_NAME", "POD_NAMESPACE", "POD_IP", "ORLEANS_SERVICE_ID", "ORLEANS_CLUSTER_ID", "Orleans__Kubernetes"]) {
    check(env.some(e => e.name === name), `${target}: the silo needs ${name} for Orleans' Kubernetes hosting`);
  }
  console.log(`${target}: ${objects.length} objects rendered and validated`);
}

if (failures.length > 0) {
  console.error(`deploy checks failed:\n - ${failures.join("\n - ")}`);
  process.exit(1);
}
console.log("deploy checks passed: docker-compose.yml, Dockerfiles, Kubernetes manifests");
