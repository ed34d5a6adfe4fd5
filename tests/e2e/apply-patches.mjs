// Applies each JSON Patch that the real server returned, with fast-json-patch
// (an RFC 6902 implementation that shares no code with immutable-guard), and
// checks the patched object.
//
//   node apply-patches.mjs PATCHES.jsonl
//
// Each line is {"name", "action", "object", "patch"}: the case name, the
// --mutate-action (annotate or set-mutable), the request's object and the
// reply's base64 patch. Prints one line per failure and "N passed, N failed".
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import jsonpatch from "fast-json-patch";

const lines = readFileSync(process.argv[2], "utf8").split("\n").filter((line) => line.trim());
let passed = 0;
let failed = 0;

for (const line of lines) {
  const entry = JSON.parse(line);
  try {
    const kind = entry.object.kind;
    assert.match(entry.patch, /^[A-Za-z0-9+/]*={0,2}$/, "standard base64 alphabet with padding");
    const patch = JSON.parse(Buffer.from(entry.patch, "base64").toString("utf8"));
    assert.ok(Array.isArray(patch) && patch.length > 0, "patch is a non-empty array");
    const errors = jsonpatch.validate(patch, structuredClone(entry.object));
    assert.equal(errors, undefined, `patch does not apply: ${errors}`);
    const after = jsonpatch.applyPatch(structuredClone(entry.object), patch, true, false).newDocument;

    if (entry.action === "annotate") {
      const annotations = kind === "ClusterExternalSecret"
        ? after.spec.externalSecretMetadata.annotations
        : after.metadata.annotations;
      assert.equal(annotations["immutable-guard.io/rotation"], "recreate");
    } else {
      const target = kind === "ClusterExternalSecret" ? after.spec.externalSecretSpec.target : after.spec.target;
      assert.equal(target.immutable, false);
    }
    passed++;
  } catch (error) {
    failed++;
    console.log(`FAIL ${entry.name} [${entry.action}]: ${error.message}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
