// Replace the Python sources of zip archives (wheels, the stdlib zip) by bytecode compiled
// by Pyodide's own CPython (node_modules/pyodide), in place: see tools/sourceless.py.
// Usage: node tools/compile-python.mjs ARCHIVE...   (prints one JSON line per archive)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPyodide } from 'pyodide';

async function main(archives) {
  const tools = path.dirname(fileURLToPath(import.meta.url));
  const pyodide = await loadPyodide({ stdout: () => {}, stderr: (line) => console.error(line) });
  pyodide.FS.mkdirTree('/tools');
  pyodide.FS.writeFile('/tools/sourceless.py', fs.readFileSync(path.join(tools, 'sourceless.py')));
  const compile = pyodide.runPython(`
import sys
sys.path.insert(0, "/tools")
from sourceless import sourceless
def compile_file(source, target):
    with open(source, "rb") as file:
        data = file.read()
    with open(target, "wb") as file:
        file.write(sourceless(data))
compile_file`);
  for (const archive of archives) {
    const before = fs.readFileSync(archive);
    pyodide.FS.writeFile('/tmp/archive', before);
    compile('/tmp/archive', '/tmp/compiled');
    const after = pyodide.FS.readFile('/tmp/compiled');
    fs.writeFileSync(archive, after);
    console.log(JSON.stringify({ archive, before: before.length, after: after.length }));
  }
  compile.destroy();
  const magic = pyodide.runPython('import importlib.util; importlib.util.MAGIC_NUMBER.hex()');
  console.log(JSON.stringify({ python: pyodide.runPython('sys.version.split()[0]'), magic }));
}

const archives = process.argv.slice(2).map((file) => path.resolve(file));
if (archives.length === 0) {
  console.error('usage: node tools/compile-python.mjs ARCHIVE...');
  process.exit(2);
}
main(archives).catch((error) => {
  console.error(`compile-python: ${error.message}`);
  process.exit(1);
});
