// The config's JSON Schema through a real validator (Ajv, draft-07, strict), as an editor's YAML
// language server would use it: the schema `livebridge --print-config-schema` prints compiles,
// is the file the build installs, passes every file in config/examples/ and
// tests/config_schema/good/, and fails every file in tests/config_schema/bad/ at the place the
// file's `# schema:` line names (the loader refuses the same files: tests/unit/config_keys_test.cpp).
// usage: node check.mjs LIVEBRIDGE_BIN SOURCE_DIR INSTALLED_SCHEMA
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import Ajv from 'ajv';
import YAML from 'yaml';

const [binary, source, installed] = process.argv.slice(2);
let passed = 0;
let failed = 0;
const ok = (what) => { passed++; console.log(`ok - ${what}`); };
const notOk = (what, detail) => {
  failed++;
  console.log(`not ok - ${what}`);
  if (detail) console.log(`  ${detail.replaceAll('\n', '\n  ')}`);
};

const printed = execFileSync(binary, ['--print-config-schema'], { encoding: 'utf8' });
const schema = JSON.parse(printed);
if (readFileSync(installed, 'utf8') === printed) {
  ok(`${basename(installed)} as built for installing is what the binary prints`);
} else {
  notOk(`${basename(installed)} as built for installing is what the binary prints`);
}

// strict: unknown keywords and misplaced ones are errors, so a mistake in the generator fails here.
// A tool's oneOf names keys its properties define beside it, which strictRequired would refuse.
const ajv = new Ajv({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true });
let validate;
try {
  validate = ajv.compile(schema);
  ok('the schema compiles as draft-07 in strict mode');
} catch (e) {
  notOk('the schema compiles as draft-07 in strict mode', e.message);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(1);
}

// YAML 1.2 core types, as the loader and the YAML language server read plain scalars.
function load(file) {
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) throw new Error(`${file}: not YAML: ${doc.errors[0].message}`);
  return doc.toJS();
}

// Where an error points: the key itself for an unknown or a missing key.
function place(error) {
  if (error.keyword === 'additionalProperties') return `${error.instancePath}/${error.params.additionalProperty}`;
  if (error.keyword === 'required') return `${error.instancePath}/${error.params.missingProperty}`;
  return error.instancePath;
}
const describe = (errors) => errors.map((e) => `${place(e) || '/'}: ${e.message}`).join('\n');

const yamlFiles = (dir) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(dir, f));
const good = [...yamlFiles(join(source, 'config/examples')), join(source, 'config/livebridge.yaml'),
  ...yamlFiles(join(source, 'tests/config_schema/good'))];
for (const file of good) {
  const what = `${file.slice(source.length + 1)} passes`;
  if (validate(load(file))) ok(what); else notOk(what, describe(validate.errors));
}

const bad = yamlFiles(join(source, 'tests/config_schema/bad'));
for (const file of bad) {
  const name = file.slice(source.length + 1);
  const expected = /^# schema: (\S+)$/m.exec(readFileSync(file, 'utf8'))?.[1];
  if (!expected) {
    notOk(`${name} says where the schema refuses it (# schema: /json/pointer)`);
  } else if (validate(load(file))) {
    notOk(`${name} fails at ${expected}`, 'it passes');
  } else if (validate.errors.some((e) => place(e) === expected)) {
    ok(`${name} fails at ${expected}`);
  } else {
    notOk(`${name} fails at ${expected}`, `it fails elsewhere:\n${describe(validate.errors)}`);
  }
}
if (good.length < 10 || bad.length < 10) notOk(`found ${good.length} good and ${bad.length} bad files`);

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
