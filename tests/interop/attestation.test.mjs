// Interop: the official, unmodified @azure/attestation 1.0.0 SDK and `jose` against
// `cloak attest serve` over HTTPS. Started by run.sh, which launches the service, and gives
// this process CLOAK_ATTEST_URL (the service's issuer / base URL), CLOAK_BUILD_DIR,
// CLOAK_PLATFORM_DIR, CLOAK_INTEROP_TMP, and NODE_EXTRA_CA_CERTS=DATA/ca.pem (the SDK has no
// CA option, so the service's local CA is trusted the standard Node way).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import attestation from "@azure/attestation";
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from "jose";

const { AttestationClient, AttestationAdministrationClient, KnownAttestationType } = attestation;

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run this through tests/interop/run.sh)`);
  return v;
};
const url = env("CLOAK_ATTEST_URL");
const build = env("CLOAK_BUILD_DIR");
const tmp = env("CLOAK_INTEROP_TMP");
const platformDir = env("CLOAK_PLATFORM_DIR");
env("NODE_EXTRA_CA_CERTS");
const cloak = join(build, "bin", "cloak");
const image = join(build, "examples", "hello", "enclave.signed");

// The service does not authenticate callers yet, so the admin client's required
// TokenCredential is a dummy that returns a fixed token (the SDK still sends it as Bearer).
const dummyCredential = {
  getToken: async () => ({ token: "interop-dummy-token", expiresOnTimestamp: Date.now() + 3600e3 }),
};

const info = JSON.parse(execFileSync(cloak, ["enclave", "info", "--json", image], { encoding: "utf8" }));
const runTimeData = Buffer.from("cloak interop runtime data: " + Date.now());

// A simulated SGX quote (sim platform) whose REPORTDATA starts with SHA-256(runTimeData).
function simQuote(rtd) {
  const out = join(tmp, `q-${Math.random().toString(16).slice(2)}.dat`);
  const rd = createHash("sha256").update(rtd).digest("hex");
  execFileSync(cloak, ["enclave", "quote", image, "--report-data", rd, "--platform-dir", platformDir, "-o", out], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  return readFileSync(out);
}

const quote = simQuote(runTimeData);
let attestToken; // the serialized JWT from attestSgxEnclave, reused by the jose test

// SDK 1.0.0 quirk: a validationOptions object without `validateToken: true` turns all token
// validation off (getTokenProblems returns at once), so every options object here sets it.
test("AttestationClient attests a simulated SGX quote and validates the token via /certs", async () => {
  let validatorCalls = 0;
  let validatorSigner;
  const client = new AttestationClient(url, {
    validationOptions: {
      validateToken: true,
      validateExpirationTime: true,
      validateNotBeforeTime: true,
      validateIssuer: true,
      expectedIssuer: url,
      timeValidationSlack: 30,
      validateAttestationToken: (token, signer) => {
        validatorCalls++;
        validatorSigner = signer;
        return undefined;
      },
    },
  });
  const res = await client.attestSgxEnclave(quote, { runTimeData });
  const r = res.body;
  assert.equal(r.issuer, url);
  assert.equal(r.verifierType, "sgx");
  assert.equal(r.version, "1.0");
  assert.equal(r.mrEnclave, info.mrenclave);
  assert.equal(r.mrSigner, info.mrsigner);
  assert.equal(r.productId, info.product_id);
  assert.equal(r.svn, info.svn);
  assert.equal(r.isDebuggable, false);
  assert.ok(r.uniqueId && r.uniqueId.length > 0, "jti");
  assert.ok(r.policyHash instanceof Uint8Array && r.policyHash.length === 32, "x-ms-policy-hash");
  assert.deepEqual(Buffer.from(r.enclaveHeldData), runTimeData, "x-ms-sgx-ehd = runtime data");
  // The SDK validated the token: its hook was called with the JWKS signer that matched the kid.
  assert.equal(validatorCalls, 1);
  assert.ok(validatorSigner, "the SDK found a signer for the token");
  assert.equal(validatorSigner.keyId, res.token.keyId);
  assert.equal(res.token.algorithm, "RS256");
  assert.equal(res.token.keyUrl, url + "/certs");
  const body = res.token.getBody();
  assert.equal(body["x-cloak-sim"], true, "simulated evidence is marked");
  assert.equal(body["x-ms-attestation-type"], "sgx");
  attestToken = res.token.serialize();
});

test("the SDK refuses the token when it expects another issuer", async () => {
  const client = new AttestationClient(url, {
    validationOptions: { validateToken: true, validateIssuer: true, expectedIssuer: "https://not-the-issuer.invalid" },
  });
  await assert.rejects(client.attestSgxEnclave(quote, { runTimeData }), /issuer/i);
});

test("a runtime-data mismatch is refused through the SDK", async () => {
  const client = new AttestationClient(url);
  await assert.rejects(client.attestSgxEnclave(quote, { runTimeData: Buffer.from("other data") }), (e) => {
    assert.equal(e.statusCode, 400);
    assert.equal(e.code, "RuntimeDataMismatch");
    return true;
  });
});

test("getOpenIdMetadata and getAttestationSigners", async () => {
  const client = new AttestationClient(url);
  const md = await client.getOpenIdMetadata();
  assert.equal(md.issuer, url);
  assert.equal(md.jwks_uri, url + "/certs");
  assert.ok(md.id_token_signing_alg_values_supported.includes("RS256"));
  assert.ok(Array.isArray(md.claims_supported));
  const signers = await client.getAttestationSigners();
  assert.ok(signers.length >= 1);
  const kid = decodeProtectedHeader(attestToken).kid;
  const s = signers.find((x) => x.keyId === kid);
  assert.ok(s, "the token's kid is among the signers");
  assert.ok(s.certificates.length >= 1);
  assert.match(s.certificates[0], /-----BEGIN CERTIFICATE-----/);
});

test("AttestationAdministrationClient gets, sets and resets the SgxEnclave policy", async () => {
  let signed = 0;
  const admin = new AttestationAdministrationClient(url, dummyCredential, {
    validationOptions: {
      validateToken: true,
      validateExpirationTime: true,
      validateNotBeforeTime: true,
      validateIssuer: true,
      expectedIssuer: url,
      validateAttestationToken: (token, signer) => {
        if (signer && signer.keyId === token.keyId) signed++;
        return undefined;
      },
    },
  });
  const type = KnownAttestationType.SgxEnclave;
  const before = await admin.getPolicy(type);
  assert.match(before.body, /authorizationrules/);
  const policy =
    "version= 1.0;\n" +
    "authorizationrules { c:[type==\"$is-debuggable\"] => permit(); };\n" +
    "issuancerules {\n" +
    "  c:[type==\"$sgx-mrenclave\"] => issue(type=\"sgx-mrenclave\", value=c.value);\n" +
    "  => issue(type=\"interop-marker\", value=\"set-by-azure-sdk\");\n" +
    "};\n";
  const set = await admin.setPolicy(type, policy); // unsigned (alg "none")
  assert.equal(set.body.policyResolution, "Updated");
  assert.equal(set.body.policyTokenHash.length, 32);
  const after = await admin.getPolicy(type);
  assert.equal(after.body, policy);
  // The new policy is in effect for attestation.
  const client = new AttestationClient(url);
  const res = await client.attestSgxEnclave(simQuote(runTimeData), { runTimeData });
  assert.equal(res.token.getBody()["interop-marker"], "set-by-azure-sdk");
  const reset = await admin.resetPolicy(type);
  assert.equal(reset.body.policyResolution, "Removed");
  const back = await admin.getPolicy(type);
  assert.equal(back.body, before.body);
  assert.equal(signed, 5, "every admin response token was validated against a /certs signer");
});

test("jose verifies the same token with createRemoteJWKSet(/certs)", async () => {
  assert.ok(attestToken, "the SDK test produced a token");
  const jwks = createRemoteJWKSet(new URL(url + "/certs"));
  const { payload, protectedHeader } = await jwtVerify(attestToken, jwks, {
    issuer: url,
    algorithms: ["RS256"],
  });
  assert.equal(protectedHeader.alg, "RS256");
  assert.equal(payload["x-ms-sgx-mrenclave"], info.mrenclave);
  assert.equal(payload.iss, url);
  await assert.rejects(jwtVerify(attestToken, jwks, { issuer: "https://not-the-issuer.invalid" }));
});
