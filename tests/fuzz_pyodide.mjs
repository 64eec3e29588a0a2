// The header-fuzz cases through the page's Python: Pyodide under Node.js with the
// packages the worker loads (numpy from the lock; scipy, nibabel, meshseg from
// dist/wheels/manifest.json), then meshseg.loading.load_scan on each case's bytes, as
// the worker does. By default the current py/meshseg sources shadow the meshseg wheel
// (dist/ may predate them); --wheel uses the wheel as built.
//
// Usage: node tests/fuzz_pyodide.mjs FOLDER [--wheel]
//   FOLDER: files and cases.json from tests/header_fuzz.py write_cases().
// Prints one JSON line: {cases, accepted, refused, other, failures, meshseg, seconds}.
// Exit status 0 when no case gave "other", 1 when some did, 2 on a setup failure.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPyodide } from 'pyodide';

const tests = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(tests);
const dist = path.join(root, 'dist');

const RUN = `
import json, os, sys, time
sys.path.insert(0, "/fuzz")
import header_fuzz
import meshseg.loading

def run(folder):
    started = time.perf_counter()
    entries = json.load(open(os.path.join(folder, "cases.json")))
    counts = {"accepted": 0, "refused": 0, "other": 0}
    failures = []
    for entry in entries:
        with open(os.path.join(folder, entry["name"]), "rb") as handle:
            content = handle.read()
        kind, detail = header_fuzz.outcome(content, entry["name"], entry["format"])
        counts[kind] += 1
        if kind == "other":
            failures.append({"family": entry["family"], "seed": entry["seed"],
                             "description": entry["description"], "detail": detail})
    return json.dumps({"cases": len(entries), **counts, "failures": failures,
                       "meshseg": os.path.dirname(meshseg.loading.__file__),
                       "seconds": round(time.perf_counter() - started, 2)})
run
`;

function copyTree(pyodide, from, to) {
  pyodide.FS.mkdirTree(to);
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== '__pycache__') copyTree(pyodide, source, `${to}/${entry.name}`);
    } else if (entry.name.endsWith('.py') || entry.name.endsWith('.json')) {
      pyodide.FS.writeFile(`${to}/${entry.name}`, fs.readFileSync(source));
    }
  }
}

async function main(folder, useWheel) {
  const started = performance.now();
  // The runtime from node_modules/pyodide (dist/pyodide/pyodide.asm.js is a script that
  // Node cannot import inside this "type": "module" package), the same version as dist's;
  // the packages from dist/pyodide through its lock, as the page loads them.
  const pyodide = await loadPyodide({
    lockFileURL: path.join(dist, 'pyodide', 'pyodide-lock.json'),
    packageCacheDir: path.join(dist, 'pyodide'), fullStdLib: false,
    stdout: () => {}, stderr: (line) => console.error(`[python] ${line}`),
  });
  const served = JSON.parse(fs.readFileSync(path.join(dist, 'pyodide', 'pyodide-lock.json')));
  if (served.info.version !== pyodide.version) {
    throw new Error(`dist/ serves Pyodide ${served.info.version}, node_modules has ${pyodide.version}`);
  }
  const { lock, wheels } = JSON.parse(fs.readFileSync(path.join(dist, 'wheels', 'manifest.json')));
  const errors = [];
  const options = { messageCallback: () => {}, errorCallback: (m) => errors.push(m) };
  await pyodide.loadPackage(lock, options);
  await pyodide.loadPackage(wheels.map((name) => path.join(dist, 'wheels', name)), options);
  const missing = [...lock, ...wheels.map((name) => name.split('-')[0])]
    .filter((name) => !(name in pyodide.loadedPackages));
  if (missing.length > 0 || errors.length > 0) {
    throw new Error(`could not load ${missing.join(', ')}: ${errors.join('; ')}`);
  }
  if (!useWheel) {
    copyTree(pyodide, path.join(root, 'py', 'meshseg'), '/src/meshseg');
    pyodide.runPython('import sys; sys.path.insert(0, "/src")');
  }
  pyodide.FS.mkdirTree('/fuzz');
  for (const name of ['header_fuzz.py', 'synthetic.py']) {
    pyodide.FS.writeFile(`/fuzz/${name}`, fs.readFileSync(path.join(tests, name)));
  }
  pyodide.FS.mkdirTree('/cases');
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: path.resolve(folder) }, '/cases');
  const setup = (performance.now() - started) / 1000;
  const run = pyodide.runPython(RUN);
  const summary = JSON.parse(run('/cases'));
  run.destroy();
  summary.setup_seconds = Math.round(setup * 100) / 100;
  summary.pyodide = pyodide.version;
  console.log(JSON.stringify(summary));
  return summary.other === 0 ? 0 : 1;
}

const [folder, flag] = process.argv.slice(2);
if (!folder || (flag && flag !== '--wheel')) {
  console.error('usage: node tests/fuzz_pyodide.mjs FOLDER [--wheel]');
  process.exit(2);
}
main(folder, flag === '--wheel').then((status) => process.exit(status), (error) => {
  console.error(`fuzz_pyodide: ${error.stack || error.message}`);
  process.exit(2);
});
