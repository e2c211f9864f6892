// Unknown-field check for Kubernetes objects: kubernetes-models' compiled validators check types, formats, enums
// and required fields but let unknown fields through (a misspelled `livenesProbe` would pass, and the API server
// would drop it or, with strict field validation, refuse it). This walks an object along the interfaces of the
// package's type declarations (*.d.ts, generated from the same OpenAPI schemas) and reports every field that its
// type does not declare. Maps ({ [key: string]: ... }) and non-object types are not descended into.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const nodeModules = join(dirname(fileURLToPath(import.meta.url)), "node_modules");
const cache = new Map();

function declarationFile(specifier, fromFile) {
  const base = specifier.startsWith(".") ? join(dirname(fromFile), specifier) : join(nodeModules, specifier);
  const file = base.replace(/\.js$/, "") + ".d.ts";
  if (!existsSync(file)) throw new Error(`strict.mjs: no declarations at ${file} (from ${fromFile})`);
  return file;
}

// { imports: Map<name, file>, interfaces: Map<name, Map<prop, type|null>> } of one .d.ts file
function parse(file) {
  if (cache.has(file)) return cache.get(file);
  const text = readFileSync(file, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/import \{([^}]*)\} from "([^"]+)"/g)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) imports.set(name, m[2]);
  }
  // re-exports under the long schema name: export type { IDeploymentSpec as IIoK8sApiAppsV1DeploymentSpec, ... }
  const aliases = new Map();
  for (const m of text.matchAll(/export type \{([^}]*)\}/g)) {
    for (const part of m[1].split(",")) {
      const a = /^\s*(\w+) as (\w+)\s*$/.exec(part);
      if (a) aliases.set(a[2], a[1]);
    }
  }
  const interfaces = new Map();
  for (const m of text.matchAll(/^export interface (\w+)[^{]*\{\n([\s\S]*?)\n\}/gm)) {
    const props = new Map();
    for (const p of m[2].matchAll(/^ {4}"([^"]+)"\??: (.*)$/gm)) {
      const type = p[2].trim().replace(/;$/, "");
      props.set(p[1], type.startsWith("{") ? null : type);
    }
    interfaces.set(m[1], props);
  }
  for (const [alias, name] of aliases) if (interfaces.has(name)) interfaces.set(alias, interfaces.get(name));
  const parsed = { imports, interfaces, file };
  cache.set(file, parsed);
  return parsed;
}

// The properties of interface NAME as seen from FILE (declared there or imported), or undefined for a type alias.
function lookup(name, file) {
  const here = parse(file);
  if (here.interfaces.has(name)) return { props: here.interfaces.get(name), file };
  const from = here.imports.get(name);
  if (!from) return undefined;
  const target = declarationFile(from, file);
  const there = parse(target);
  return there.interfaces.has(name) ? { props: there.interfaces.get(name), file: target } : undefined;
}

function walk(value, type, file, path, errors) {
  if (value === null || typeof value !== "object" || !type) return;
  const array = /^Array<(\w+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, array[1], file, `${path}[${i}]`, errors));
    return;
  }
  if (!/^\w+$/.test(type) || Array.isArray(value)) return;
  const found = lookup(type, file);
  if (!found) return; // a type alias (string, IntOrString, Quantity, ...)
  for (const [key, v] of Object.entries(value)) {
    if (!found.props.has(key)) {
      errors.push(`${path}.${key}: unknown field (not in ${type.replace(/^I(IoK8s)?/, "")})`);
    } else {
      walk(v, found.props.get(key), found.file, `${path}.${key}`, errors);
    }
  }
}

/** Unknown fields of a Kubernetes object of apiVersion/kind, as "path: message" lines. */
export function unknownFields(obj) {
  const file = declarationFile(`kubernetes-models/${obj.apiVersion}/${obj.kind}`, "");
  const errors = [];
  walk(obj, `I${obj.kind}`, file, obj.kind, errors);
  return errors;
}
