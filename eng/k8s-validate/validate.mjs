// Validates every Kubernetes manifest (*.yaml, every document) in a folder against the Kubernetes API schemas
// compiled into the npm package kubernetes-models (types, formats, enums, required fields of each object), and
// reports fields the schemas do not declare (strict.mjs: a misspelled field is an error, as with kubectl's
// strict field validation).
// Usage: node eng/k8s-validate/validate.mjs DIR      (eng/container.sh validate-k8s runs it)
// Exit code 0 when every document is a known apiVersion/kind and valid; 1 otherwise, one line per error.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { unknownFields } from "./strict.mjs";

const dir = process.argv[2];
if (!dir || process.argv.includes("--help")) {
  console.error("usage: node validate.mjs DIR   (validates DIR/*.yaml against the Kubernetes API schemas)");
  process.exit(dir ? 0 : 2);
}

async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return undefined;
  let mod;
  try {
    mod = await import(`kubernetes-models/${apiVersion}`);
  } catch {
    return undefined;
  }
  return mod[kind];
}

async function validate(doc) {
  const Model = await modelFor(doc?.apiVersion, doc?.kind);
  if (!Model) return [`unknown apiVersion/kind ${doc?.apiVersion}/${doc?.kind}`];
  const errors = [];
  if (!doc.metadata?.name) errors.push("metadata.name is missing");
  try {
    new Model(doc).validate();
  } catch (e) {
    errors.push(e.message);
  }
  errors.push(...unknownFields(doc));
  return errors;
}

// The validator must reject what the API server rejects: a wrong type, a missing required field, a misspelled
// field deep inside a pod template.
const container = { name: "c", image: "i", ports: [{ containerPort: "80" }], livenesProbe: {} };
const brokenObjects = [
  [{ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "broken" },
     spec: { replicas: "two", template: { spec: { containers: [container] } } } },
   ["replicas", "containerPort", "selector", "livenesProbe"]],
  [{ apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "broken" },
     spec: { schedule: "0 5 * * 1", jobTemplate: { spec: { template: { spec: { restartPolicy: "Never",
       containers: [{ name: "c", image: "i", securityContxt: {} }] } } } } } },
   ["securityContxt"]],
];
for (const [obj, expected] of brokenObjects) {
  const errors = (await validate(obj)).join("; ");
  for (const field of expected) {
    if (!errors.includes(field)) {
      console.error(`validate.mjs: self-check failed: an invalid ${obj.kind} was not rejected for '${field}' (${errors})`);
      process.exit(1);
    }
  }
}

const files = readdirSync(dir).filter((f) => f.endsWith(".yaml") || f.endsWith(".yml")).sort();
if (files.length === 0) {
  console.error(`validate.mjs: no *.yaml in ${dir}`);
  process.exit(1);
}
let ok = 0;
let failed = 0;
for (const file of files) {
  const docs = parseAllDocuments(readFileSync(join(dir, file), "utf8"), { strict: true, uniqueKeys: true });
  for (const [i, d] of docs.entries()) {
    const where = `${file}${docs.length > 1 ? `#${i + 1}` : ""}`;
    if (d.errors.length > 0) {
      failed++;
      console.error(`FAIL ${where}: YAML: ${d.errors.map((e) => e.message).join("; ")}`);
      continue;
    }
    const obj = d.toJS();
    if (obj === null || obj === undefined) continue; // an empty document (e.g. after a trailing ---)
    const errors = await validate(obj);
    if (errors.length > 0) {
      failed++;
      console.error(`FAIL ${where} ${obj.kind}/${obj.metadata?.name}: ${errors.join("; ")}`);
    } else {
      ok++;
      console.log(`ok   ${where} ${obj.apiVersion} ${obj.kind}/${obj.metadata.name}`);
    }
  }
}
console.log(`kubernetes manifests: ${ok} valid, ${failed} invalid (schemas: kubernetes-models, unknown fields refused)`);
process.exit(failed === 0 && ok > 0 ? 0 : 1);
