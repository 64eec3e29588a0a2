// Validate a BIDS dataset offline with the npm package bids-validator (v1.15), and print
// one JSON object: {validator, schemaVersion, errors: [...], warnings: [...]}, each issue
// {code, location, subCode, message}.
//
//   node tests/bids_validate.mjs DIR            the schema validator (the one that knows
//                                              derivatives: dseg, probseg, space-, desc-)
//   node tests/bids_validate.mjs DIR --legacy   the package's default CLI (bids-validator DIR)
//
// The package's CLI is its legacy validator: it has no rules for derivative files (a
// dataset with DatasetType "derivative" gives NOT_INCLUDED for every dseg) and it skips
// <raw>/derivatives/ altogether. The package also ships the schema-based validator
// (dist/validator/main.js, the bids-validator 2 code, built for Deno); it runs here under
// Node on a file list, as it does in the browser, with the schema bundled in the package
// (no network). Used by tests/test_export_bids.py and tests/e2e/batch.test.mjs.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGE = path.join(root, 'node_modules', 'bids-validator');

function walk(dir, prefix = '') {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...walk(path.join(dir, entry.name), relative));
    else if (entry.isFile()) found.push(relative);
  }
  return found;
}

/** A File-like object the validator's browser file tree reads (size, stream, text, slice). */
async function fileOf(dataset, relative) {
  const blob = await fs.openAsBlob(path.join(dataset, relative));
  return {
    name: path.basename(relative),
    webkitRelativePath: `dataset/${relative}`,
    size: blob.size,
    stream: () => blob.stream(),
    text: () => blob.text(),
    slice: (start, end) => blob.slice(start, end),
  };
}

function issue(raw) {
  return { code: raw.code, location: raw.location ?? null, subCode: raw.subCode ?? null,
    message: (raw.issueMessage ?? '').trim() || null };
}

export async function validateSchema(dataset) {
  const { version } = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf-8'));
  const validator = await import(path.join(PACKAGE, 'dist', 'validator', 'main.js'));
  const files = await Promise.all(walk(dataset).map((relative) => fileOf(dataset, relative)));
  const tree = await validator.fileListToTree(files);
  const result = await validator.validate(tree, { datasetPath: dataset, debug: 'ERROR' }, {});
  const issues = [...(result.issues.issues ?? result.issues)].map((raw) => ({ ...issue(raw), severity: raw.severity }));
  return {
    validator: `bids-validator ${version} (schema validator, schema ${result.summary.schemaVersion})`,
    schemaVersion: result.summary.schemaVersion,
    errors: issues.filter((i) => i.severity === 'error').map(({ severity, ...rest }) => rest),
    warnings: issues.filter((i) => i.severity === 'warning').map(({ severity, ...rest }) => rest),
  };
}

export function validateLegacy(dataset) {
  const { version } = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf-8'));
  const done = spawnSync(path.join(root, 'node_modules', '.bin', 'bids-validator'), [dataset, '--json'],
    { encoding: 'utf-8', maxBuffer: 64 << 20 });
  let report;
  try {
    report = JSON.parse(done.stdout);
  } catch {
    throw new Error(`bids-validator ${dataset} gave no JSON (status ${done.status}): ${done.stderr.slice(0, 2000)}`);
  }
  const list = (issues) => issues.map((raw) => ({ code: raw.key, location: raw.files?.[0]?.file?.relativePath ?? null,
    subCode: null, message: raw.reason ?? null, files: raw.files?.length ?? 0 }));
  return { validator: `bids-validator ${version} (CLI)`, schemaVersion: null,
    errors: list(report.issues.errors), warnings: list(report.issues.warnings) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [dataset, mode] = process.argv.slice(2);
  if (!dataset) {
    console.error('usage: node tests/bids_validate.mjs DIR [--legacy]');
    process.exit(2);
  }
  const report = mode === '--legacy' ? validateLegacy(path.resolve(dataset)) : await validateSchema(path.resolve(dataset));
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}
