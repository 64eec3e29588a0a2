// Small third-party ONNX models and cards for the e2e tests, written by tests/own_models.py.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import config from '../../playwright.config.js';

const SCRIPT = `
import json, sys, zipfile
from pathlib import Path
from own_models import LABELS_OUTPUTS, card, image_model, labels_model, write_models
out = Path(sys.argv[1])
found = write_models(out)
conf = [{"name": "seg", "kind": "labels"},
        {"name": "prob", "kind": "probability", "meaning": "confidence"}]
(out / "byo_conf.json").write_text(json.dumps(card("byo_conf", conf, file="byo_labels.onnx")))
with zipfile.ZipFile(out / "byo_zip.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("model.onnx", labels_model())
    z.writestr("card.json", json.dumps(card("byo_zip", LABELS_OUTPUTS)))
(out / "garbage.onnx").write_bytes(b"this is not a model")
(out / "small_grid.onnx").write_bytes(labels_model(dims=[1, 1, 16, 16, 16]))
bad = card("byo_bad", LABELS_OUTPUTS)
bad["runtime"]["input"]["orientation"] = "RRS"
(out / "bad_card.json").write_text(json.dumps(bad))
(out / "image_as_labels.json").write_text(json.dumps(card("byo_wrong", LABELS_OUTPUTS, file="x")))
`;

/** Write the models into a new temporary folder; returns {folder, file(name)}. */
export function writeOwnModels() {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'meshseg-own-'));
  const root = path.resolve(config.root);
  const env = { ...process.env, PYTHONPATH: [path.join(root, 'tests'), path.join(root, 'py')].join(path.delimiter) };
  const done = spawnSync('python3', ['-c', SCRIPT, folder], { encoding: 'utf-8', env });
  if (done.status !== 0) throw new Error(`writing the test models failed: ${done.stderr}`);
  return { folder, file: (name) => path.join(folder, name) };
}
