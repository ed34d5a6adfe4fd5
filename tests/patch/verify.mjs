// Applies every patch the mutating webhook returns for the policy case table
// and the seed reviews with fast-json-patch, an RFC 6902 implementation that
// shares no code with immutable-guard. Then checks the result, and that the
// webhook returns no patch for its own output (idempotence).
//
//   node verify.mjs REVIEW_TOOL POLICY_CASES_JSON [SEED_REVIEW_JSON...]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import jsonpatch from "fast-json-patch";

const [tool, casesFile, ...seedFiles] = process.argv.slice(2);
let passed = 0;
let failed = 0;

function decide(review, action) {
  const output = execFileSync(tool, ["mutate", action], {
    input: JSON.stringify(review),
    stdio: ["pipe", "pipe", "ignore"],
  });
  return JSON.parse(output.toString());
}

function annotationsOf(object, kind) {
  return kind === "ClusterExternalSecret"
    ? object.spec?.externalSecretMetadata?.annotations
    : object.metadata?.annotations;
}

function targetOf(object, kind) {
  return kind === "ClusterExternalSecret" ? object.spec.externalSecretSpec.target : object.spec.target;
}

function check(name, review, action) {
  const kind = review.request.kind.kind;
  const result = decide(review, action);
  assert.equal(result.decision, "patched", "decision");
  const response = result.reply.response;
  assert.equal(response.patchType, "JSONPatch");
  assert.match(response.patch, /^[A-Za-z0-9+/]*={0,2}$/, "standard base64 alphabet with padding");
  const patch = JSON.parse(Buffer.from(response.patch, "base64").toString("utf8"));
  assert.ok(Array.isArray(patch), "patch is an array");
  assert.ok(patch.length > 0, "patch is not empty");

  const before = structuredClone(review.request.object);
  const errors = jsonpatch.validate(patch, structuredClone(before));
  assert.equal(errors, undefined, `patch does not validate: ${errors}`);
  const after = jsonpatch.applyPatch(structuredClone(before), patch, true, false).newDocument;

  if (action === "annotate") {
    assert.equal(annotationsOf(after, kind)["immutable-guard.io/rotation"], "recreate");
    const previous = annotationsOf(before, kind) ?? {};
    for (const [key, value] of Object.entries(previous)) {
      assert.equal(annotationsOf(after, kind)[key], value, `annotation ${key} kept`);
    }
    assert.deepEqual(after.spec.target ?? after.spec.externalSecretSpec?.target,
                     before.spec.target ?? before.spec.externalSecretSpec?.target, "target untouched");
  } else {
    assert.equal(targetOf(after, kind).immutable, false);
    assert.deepEqual(annotationsOf(after, kind), annotationsOf(before, kind), "annotations untouched");
  }

  // Nothing else changed: every difference lies on the path of the intended change.
  const intended = action === "annotate"
    ? (kind === "ClusterExternalSecret" ? "/spec/externalSecretMetadata" : "/metadata")
    : (kind === "ClusterExternalSecret" ? "/spec/externalSecretSpec/target/immutable" : "/spec/target/immutable");
  for (const difference of jsonpatch.compare(before, after)) {
    assert.ok(difference.path.startsWith(intended), `unexpected change at ${difference.path}`);
    if (action === "annotate") {
      assert.ok(difference.op === "add" || difference.path.endsWith("/annotations"),
                `annotate only adds, saw ${difference.op} ${difference.path}`);
    }
  }

  const again = structuredClone(review);
  again.request.object = after;
  const second = decide(again, action);
  assert.equal(second.reply.response.patch, undefined, "no patch for the webhook's own output");
  assert.notEqual(second.decision, "patched");
  return patch.length;
}

function run(name, review, action) {
  try {
    const operations = check(name, review, action);
    passed++;
    console.log(`ok   ${name} [${action}] (${operations} operation${operations === 1 ? "" : "s"})`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${name} [${action}]: ${error.message}`);
  }
}

const table = JSON.parse(readFileSync(casesFile, "utf8"));
for (const testCase of table.cases) {
  for (const action of ["annotate", "set-mutable"]) {
    if (testCase.expect[`mutate:${action}`] === "patched") run(testCase.name, testCase.review, action);
  }
}
for (const file of seedFiles) {
  const review = JSON.parse(readFileSync(file, "utf8"));
  for (const action of ["annotate", "set-mutable"]) {
    const result = decide(review, action);
    if (result.decision === "patched") run(file.split("/").pop(), review, action);
  }
}
if (passed < 40) {
  failed++;
  console.log(`FAIL expected at least 40 patched cases, saw ${passed}`);
}
console.log(`patch: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
