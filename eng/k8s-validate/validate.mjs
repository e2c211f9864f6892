// Validates every Kubernetes manifest (*.yaml, every document) in a folder against the Kubernetes API schemas
// compiled into the npm package kubernetes-models (types, formats, enums, required fields of each object).
// Usage: node eng/k8s-validate/validate.mjs DIR      (eng/container.sh validate-k8s runs it)
// Exit code 0 when every document is a known apiVersion/kind and valid; 1 otherwise, one line per error.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

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
  return errors;
}

// The validator must reject what the API server rejects: a wrong type and a missing required field.
const broken = {
  apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "broken" },
  spec: { replicas: "two", template: { spec: { containers: [{ name: "c", image: "i", ports: [{ containerPort: "80" }] }] } } },
};
const brokenErrors = (await validate(broken)).join("; ");
for (const expected of ["replicas", "containerPort", "selector"]) {
  if (!brokenErrors.includes(expected)) {
    console.error(`validate.mjs: self-check failed: an invalid Deployment was not rejected for '${expected}' (${brokenErrors})`);
    process.exit(1);
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
console.log(`kubernetes manifests: ${ok} valid, ${failed} invalid (schemas: kubernetes-models)`);
process.exit(failed === 0 && ok > 0 ? 0 : 1);
