// Interop: the official, unmodified @azure/keyvault-keys 4.10.2 KeyClient and
// CryptographyClient against `cloak vault serve` over HTTPS. Started by run_vault.sh, which
// launches `cloak attest serve --allow-sim` and `cloak vault serve --trust-issuer <it>` and
// gives this process CLOAK_VAULT_URL, CLOAK_VAULT_TOKEN_FILE (a crypto-officer bearer token
// from `cloak vault token`), CLOAK_ATTEST_URL (the attestation issuer), CLOAK_BUILD_DIR,
// CLOAK_PLATFORM_DIR, CLOAK_INTEROP_TMP and NODE_EXTRA_CA_CERTS (both services' local CAs).
//
// Expectations come from outside the vault: node:crypto checks every signature, encrypts what
// the vault must decrypt, and opens the Secure Key Release envelope (RSA-OAEP + RFC 5649 AES
// key wrap with padding) to compare the released key with the key's public part.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  verify as cryptoVerify,
} from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KeyClient, CryptographyClient } from "@azure/keyvault-keys";
import attestation from "@azure/attestation";
import { compactVerify, decodeProtectedHeader, importX509 } from "jose";

const { AttestationClient } = attestation;

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run this through tests/interop/run_vault.sh)`);
  return v;
};
const vaultUrl = env("CLOAK_VAULT_URL");
const attestUrl = env("CLOAK_ATTEST_URL");
const build = env("CLOAK_BUILD_DIR");
const tmp = env("CLOAK_INTEROP_TMP");
const platformDir = env("CLOAK_PLATFORM_DIR");
env("NODE_EXTRA_CA_CERTS");
const token = readFileSync(env("CLOAK_VAULT_TOKEN_FILE"), "utf8").trim();
const cloak = join(build, "bin", "cloak");
const image = join(build, "examples", "hello", "enclave.signed");

// The client recipe of azure-api.md §2: a static credential, no challenge resource check
// (the vault is not under *.vault.azure.net), no retries (a failure shows at once).
const credential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600e3 }) };
const clientOptions = {
  disableChallengeResourceVerification: true,
  serviceVersion: "7.6",
  retryOptions: { maxRetries: 0 },
};
const client = new KeyClient(vaultUrl, credential, clientOptions);
const cryptoClient = (keyOrId) => new CryptographyClient(keyOrId, credential, clientOptions);

const b64u = (b) => Buffer.from(b).toString("base64url");
const sha256 = (b) => createHash("sha256").update(b).digest();
const ALL_OPS = ["encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify"];

// The RestError the SDK throws: HTTP status and the service's error code.
async function rejectsWith(promise, status, code) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.statusCode, status, `HTTP status (${e.message})`);
    if (code) assert.equal(e.code, code, `error code (${e.message})`);
    return true;
  });
}
async function rejects4xx(promise) {
  await assert.rejects(promise, (e) => {
    assert.ok(e.statusCode >= 400 && e.statusCode < 500, `a 4xx refusal, got ${e.statusCode}: ${e.message}`);
    return true;
  });
}

function assertKeyId(key, name) {
  assert.equal(key.name, name);
  assert.match(key.properties.version, /^[0-9a-f]{32}$/);
  assert.equal(key.id, `${vaultUrl}/keys/${name}/${key.properties.version}`, "kid is an absolute URL here");
  assert.equal(key.properties.vaultUrl, vaultUrl);
}

// RSA public key (node KeyObject) from a Key Vault JWK (n, e as bytes).
const rsaPublic = (jwk) =>
  createPublicKey({ key: { kty: "RSA", n: b64u(jwk.n), e: b64u(jwk.e) }, format: "jwk" });
const ecPublic = (jwk) =>
  createPublicKey({ key: { kty: "EC", crv: jwk.crv, x: b64u(jwk.x), y: b64u(jwk.y) }, format: "jwk" });

// The release policy of the brief: the attestation issuer, a non-debuggable enclave.
const releasePolicyFor = (debuggable) => ({
  contentType: "application/json; charset=utf-8",
  immutable: false,
  encodedPolicy: Buffer.from(
    JSON.stringify({
      version: "1.0.0",
      anyOf: [{ authority: attestUrl, allOf: [{ claim: "x-ms-sgx-is-debuggable", equals: debuggable }] }],
    }),
  ),
});

const keys = {}; // created by the first tests, used by the later ones

test("createRsaKey: RSA-HSM 2048, exportable, with a release policy and tags", async () => {
  const policy = releasePolicyFor(false);
  const k = await client.createRsaKey("rsa-release", {
    keySize: 2048,
    hsm: true,
    exportable: true,
    releasePolicy: policy,
    keyOps: ALL_OPS,
    tags: { purpose: "interop" },
  });
  assertKeyId(k, "rsa-release");
  assert.equal(k.keyType, "RSA-HSM");
  assert.equal(k.key.n.length, 256, "2048-bit modulus");
  assert.deepEqual(Buffer.from(k.key.e), Buffer.from([1, 0, 1]));
  assert.equal(k.key.d, undefined, "no private member");
  assert.deepEqual([...k.keyOperations].sort(), [...ALL_OPS].sort());
  assert.equal(k.properties.exportable, true);
  assert.equal(k.properties.enabled, true);
  assert.deepEqual(k.properties.tags, { purpose: "interop" });
  assert.ok(k.properties.createdOn instanceof Date);
  assert.ok(k.properties.recoveryLevel);
  const rp = k.properties.releasePolicy;
  assert.ok(rp && rp.encodedPolicy, "the release policy comes back");
  assert.deepEqual(JSON.parse(Buffer.from(rp.encodedPolicy).toString()), JSON.parse(policy.encodedPolicy.toString()));
  keys.rsaRelease = k;
});

test("createEcKey P-256 and createOctKey oct-HSM 256", async () => {
  const ec = await client.createEcKey("ec-p256", { curve: "P-256", keyOps: ["sign", "verify"] });
  assertKeyId(ec, "ec-p256");
  assert.equal(ec.keyType, "EC");
  assert.equal(ec.key.crv, "P-256");
  assert.equal(ec.key.x.length, 32);
  assert.equal(ec.key.y.length, 32);
  ecPublic(ec.key); // a valid point
  keys.ec = ec;

  const oct = await client.createOctKey("oct-hsm", { hsm: true, keySize: 256, keyOps: ALL_OPS.slice(0, 4) });
  assertKeyId(oct, "oct-hsm");
  assert.equal(oct.keyType, "oct-HSM");
  assert.equal(oct.key.k, undefined, "a symmetric key never leaves the vault in a get");
  keys.oct = oct;

  const rsa = await client.createRsaKey("rsa-ops", { keySize: 2048, keyOps: ALL_OPS });
  assert.equal(rsa.keyType, "RSA");
  keys.rsa = rsa;
});

test("importKey with hardwareProtected (the capital Hsm flag) keeps the key: vault signs, node verifies", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const j = privateKey.export({ format: "jwk" });
  const jwk = { kty: "RSA", keyOps: ["sign", "verify", "decrypt", "encrypt"] };
  for (const m of ["n", "e", "d", "p", "q", "dp", "dq", "qi"]) jwk[m] = Buffer.from(j[m], "base64url");
  const k = await client.importKey("imported", jwk, { hardwareProtected: true, tags: { src: "node" } });
  assertKeyId(k, "imported");
  assert.equal(k.keyType, "RSA-HSM", "Hsm: true imports into the HSM kind");
  assert.equal(b64u(k.key.n), j.n);
  assert.equal(k.key.d, undefined);
  const cc = cryptoClient(k.id);
  const digest = sha256(Buffer.from("imported key signs"));
  const sig = await cc.sign("RS256", digest);
  assert.ok(cryptoVerify("sha256", Buffer.from("imported key signs"), publicKey, Buffer.from(sig.result)));
  // node encrypts under the imported public key; the vault decrypts with the imported private key
  const ct = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" }, Buffer.from("to the vault"));
  const pt = await cc.decrypt({ algorithm: "RSA-OAEP", ciphertext: ct });
  assert.equal(Buffer.from(pt.result).toString(), "to the vault");
});

test("getKey: latest and by version", async () => {
  const latest = await client.getKey("rsa-release");
  assert.equal(latest.id, keys.rsaRelease.id);
  assert.deepEqual(Buffer.from(latest.key.n), Buffer.from(keys.rsaRelease.key.n));
  const byVersion = await client.getKey("rsa-release", { version: keys.rsaRelease.properties.version });
  assert.equal(byVersion.id, keys.rsaRelease.id);
  await rejectsWith(client.getKey("no-such-key"), 404, "KeyNotFound");
  await rejectsWith(client.getKey("rsa-release", { version: "0".repeat(32) }), 404, "KeyNotFound");
});

test("the 401 challenge, then a refused bogus token", async () => {
  const bad = new KeyClient(
    vaultUrl,
    { getToken: async () => ({ token: "not-a-jwt", expiresOnTimestamp: Date.now() + 3600e3 }) },
    clientOptions,
  );
  await rejectsWith(bad.getKey("rsa-release"), 401);
});

test("a client on the SDK's default api-version (2025-07-01) works too", async () => {
  const c = new KeyClient(vaultUrl, credential, { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });
  const k = await c.getKey("ec-p256");
  assert.equal(k.id, keys.ec.id);
});

test("rotateKey: a new latest version; listPropertiesOfKeyVersions lists both", async () => {
  const rotated = await client.rotateKey("ec-p256");
  assertKeyId(rotated, "ec-p256");
  assert.notEqual(rotated.properties.version, keys.ec.properties.version);
  assert.equal(rotated.key.crv, "P-256");
  assert.notDeepEqual(Buffer.from(rotated.key.x), Buffer.from(keys.ec.key.x), "new key material");
  assert.equal((await client.getKey("ec-p256")).properties.version, rotated.properties.version);
  const old = await client.getKey("ec-p256", { version: keys.ec.properties.version });
  assert.deepEqual(Buffer.from(old.key.x), Buffer.from(keys.ec.key.x));
  const seen = [];
  for await (const page of client.listPropertiesOfKeyVersions("ec-p256").byPage({ maxPageSize: 1 })) {
    assert.ok(page.length <= 1);
    for (const p of page) {
      assert.equal(p.id, `${vaultUrl}/keys/ec-p256/${p.version}`, "versions carry full identifiers");
      seen.push(p.version);
    }
  }
  assert.deepEqual(seen.sort(), [keys.ec.properties.version, rotated.properties.version].sort());
  keys.ecRotated = rotated;
});

test("listPropertiesOfKeys: pages of 2 with nextLink, every key exactly once", async () => {
  const extra = [];
  for (let i = 0; i < 7; i++) {
    extra.push(`page-${i}`);
    await client.createOctKey(`page-${i}`, { keySize: 128 });
  }
  const names = [];
  let pages = 0;
  for await (const page of client.listPropertiesOfKeys().byPage({ maxPageSize: 2 })) {
    pages++;
    assert.ok(page.length <= 2, `page of ${page.length}`);
    for (const p of page) {
      names.push(p.name);
      // a KeyItem of GET /keys carries the base identifier (no version), as in Azure
      assert.equal(p.id, `${vaultUrl}/keys/${p.name}`);
    }
  }
  assert.equal(new Set(names).size, names.length, "no key twice");
  for (const n of [...extra, "rsa-release", "ec-p256", "oct-hsm", "rsa-ops", "imported"]) assert.ok(names.includes(n), n);
  assert.ok(pages >= Math.ceil(names.length / 2), `${pages} pages for ${names.length} keys`);
  // the plain iterator (no maxresults) agrees
  const all = [];
  for await (const p of client.listPropertiesOfKeys()) all.push(p.name);
  assert.deepEqual(all.sort(), [...names].sort());
});

test("updateKeyProperties: disable and tag; a disabled key does no crypto", async () => {
  const k = await client.createOctKey("oct-update", { keySize: 256, keyOps: ["encrypt", "decrypt"] });
  const u = await client.updateKeyProperties("oct-update", k.properties.version, { enabled: false, tags: { state: "off" } });
  assert.equal(u.properties.enabled, false);
  assert.deepEqual(u.properties.tags, { state: "off" });
  const g = await client.getKey("oct-update");
  assert.equal(g.properties.enabled, false);
  assert.deepEqual(g.properties.tags, { state: "off" });
  await rejects4xx(cryptoClient(k.id).encrypt({ algorithm: "A256GCM", plaintext: Buffer.from("x") }));
  const on = await client.updateKeyProperties("oct-update", k.properties.version, { enabled: true });
  assert.equal(on.properties.enabled, true);
  const r = await cryptoClient(k.id).encrypt({ algorithm: "A256GCM", plaintext: Buffer.from("x") });
  assert.equal(r.result.length, 1);
});

test("beginDeleteKey, getDeletedKey, listDeletedKeys, beginRecoverDeletedKey, purgeDeletedKey", async () => {
  const v1 = await client.createEcKey("to-delete", { curve: "P-256" });
  const v2 = await client.rotateKey("to-delete");
  const poller = await client.beginDeleteKey("to-delete", { intervalInMs: 50 });
  const deleted = await poller.pollUntilDone();
  assert.equal(deleted.name, "to-delete");
  assert.ok(deleted.properties.recoveryId, "recoveryId");
  assert.ok(deleted.properties.deletedOn instanceof Date, "deletedOn");
  assert.ok(deleted.properties.scheduledPurgeDate instanceof Date, "scheduledPurgeDate");
  await rejectsWith(client.getKey("to-delete"), 404, "KeyNotFound");
  const dk = await client.getDeletedKey("to-delete");
  assert.equal(dk.properties.version, v2.properties.version, "the latest version");
  const listed = [];
  for await (const d of client.listDeletedKeys()) listed.push(d.name);
  assert.ok(listed.includes("to-delete"));
  // the name cannot be reused while the key is recoverable
  await rejectsWith(client.createEcKey("to-delete", { curve: "P-256" }), 409, "Conflict");

  const rp = await client.beginRecoverDeletedKey("to-delete", { intervalInMs: 50 });
  const recovered = await rp.pollUntilDone();
  assert.equal(recovered.name, "to-delete");
  const versions = [];
  for await (const p of client.listPropertiesOfKeyVersions("to-delete")) versions.push(p.version);
  assert.deepEqual(versions.sort(), [v1.properties.version, v2.properties.version].sort(), "every version is back");
  await rejectsWith(client.getDeletedKey("to-delete"), 404, "KeyNotFound");

  await (await client.beginDeleteKey("to-delete", { intervalInMs: 50 })).pollUntilDone();
  await client.purgeDeletedKey("to-delete");
  await rejectsWith(client.getDeletedKey("to-delete"), 404, "KeyNotFound");
  await rejectsWith(client.getKey("to-delete"), 404, "KeyNotFound");
  const fresh = await client.createEcKey("to-delete", { curve: "P-256" });
  const after = [];
  for await (const p of client.listPropertiesOfKeyVersions("to-delete")) after.push(p.version);
  assert.deepEqual(after, [fresh.properties.version], "the purged versions are gone");
});

test("backupKey / restoreKeyBackup: the same key comes back", async () => {
  const k = await client.createRsaKey("backed-up", { keySize: 2048, keyOps: ["sign", "verify"] });
  const digest = sha256(Buffer.from("signed before the backup"));
  const sig = (await cryptoClient(k.id).sign("RS256", digest)).result;
  const blob = await client.backupKey("backed-up");
  assert.ok(blob instanceof Uint8Array && blob.length > 0);
  await rejectsWith(client.restoreKeyBackup(blob), 409); // the name is in use
  await (await client.beginDeleteKey("backed-up", { intervalInMs: 50 })).pollUntilDone();
  await client.purgeDeletedKey("backed-up");
  const tampered = Buffer.from(blob);
  tampered[tampered.length >> 1] ^= 1;
  await rejects4xx(client.restoreKeyBackup(tampered));
  const r = await client.restoreKeyBackup(blob);
  assert.equal(r.id, k.id, "same name and version");
  assert.deepEqual(Buffer.from(r.key.n), Buffer.from(k.key.n));
  // the restored private key verifies the old signature and signs for node's public key
  assert.equal((await cryptoClient(r.id).verify("RS256", digest, sig)).result, true);
  const sig2 = (await cryptoClient(r.id).sign("RS256", digest)).result;
  assert.ok(cryptoVerify("sha256", Buffer.from("signed before the backup"), rsaPublic(k.key), Buffer.from(sig2)));
});

test("getRandomBytes", async () => {
  const a = await client.getRandomBytes(32);
  const b = await client.getRandomBytes(32);
  assert.equal(a.length, 32);
  assert.equal(b.length, 32);
  assert.notDeepEqual(Buffer.from(a), Buffer.from(b));
});

test("CryptographyClient RSA: encrypt/decrypt RSA-OAEP, RSA-OAEP-256, RSA1_5; wrap/unwrap RSA-OAEP-256", async () => {
  const k = keys.rsa;
  const cc = cryptoClient(k.id);
  const pub = rsaPublic(k.key);
  const msg = Buffer.from("attack at dawn");
  for (const algorithm of ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"]) {
    const enc = await cc.encrypt({ algorithm, plaintext: msg });
    assert.equal(enc.result.length, 256, algorithm);
    const dec = await cc.decrypt({ algorithm, ciphertext: enc.result });
    assert.deepEqual(Buffer.from(dec.result), msg, algorithm);
  }
  // node encrypts, the vault decrypts: OAEP with SHA-1 and with SHA-256, and PKCS#1 v1.5
  const cases = [
    ["RSA-OAEP", { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" }],
    ["RSA-OAEP-256", { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }],
    ["RSA1_5", { padding: constants.RSA_PKCS1_PADDING }],
  ];
  for (const [algorithm, opts] of cases) {
    const ct = publicEncrypt({ key: pub, ...opts }, msg);
    const dec = await cc.decrypt({ algorithm, ciphertext: ct });
    assert.deepEqual(Buffer.from(dec.result), msg, `node ${algorithm} -> vault`);
  }
  // a ciphertext for another algorithm does not decrypt
  const oaep256 = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, msg);
  await rejects4xx(cc.decrypt({ algorithm: "RSA-OAEP", ciphertext: oaep256 }));

  const cek = randomBytes(32);
  const w = await cc.wrapKey("RSA-OAEP-256", cek);
  assert.deepEqual(Buffer.from((await cc.unwrapKey("RSA-OAEP-256", w.result)).result), cek);
  const nodeWrapped = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, cek);
  assert.deepEqual(Buffer.from((await cc.unwrapKey("RSA-OAEP-256", nodeWrapped)).result), cek);
});

test("CryptographyClient RSA: sign/verify RS256 and PS256, signData/verifyData; node verifies", async () => {
  const k = keys.rsa;
  const cc = cryptoClient(k.id);
  const pub = rsaPublic(k.key);
  const data = Buffer.from("the quick brown fox");
  const digest = sha256(data);
  for (const algorithm of ["RS256", "PS256"]) {
    const s = await cc.sign(algorithm, digest);
    assert.equal(s.result.length, 256);
    const opts = algorithm === "PS256"
      ? { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : { key: pub, padding: constants.RSA_PKCS1_PADDING };
    assert.ok(cryptoVerify("sha256", data, opts, Buffer.from(s.result)), `node verifies ${algorithm}`);
    assert.equal((await cc.verify(algorithm, digest, s.result)).result, true, `vault verifies ${algorithm}`);
    const wrong = sha256(Buffer.from("another message"));
    assert.equal((await cc.verify(algorithm, wrong, s.result)).result, false, `${algorithm} wrong digest`);
    const sd = await cc.signData(algorithm, data);
    assert.ok(cryptoVerify("sha256", data, opts, Buffer.from(sd.result)), `node verifies signData ${algorithm}`);
    assert.equal((await cc.verify(algorithm, digest, sd.result)).result, true, `vault verifies signData ${algorithm}`);
    // verifyData with an RSA key never reaches the vault: 4.10.2's local RSA provider checks it
    // with node's createVerify and default (PKCS#1 v1.5) padding, so it can only accept RS*.
    if (algorithm === "RS256") assert.equal((await cc.verifyData(algorithm, data, sd.result)).result, true);
  }
});

test("CryptographyClient EC: ES256 sign/verify, signData/verifyData; node verifies R||S", async () => {
  const k = keys.ecRotated ?? keys.ec;
  const cc = cryptoClient(k.id);
  const pub = ecPublic(k.key);
  const data = Buffer.from("elliptic");
  const s = await cc.sign("ES256", sha256(data));
  assert.equal(s.result.length, 64, "JOSE R||S");
  assert.ok(cryptoVerify("sha256", data, { key: pub, dsaEncoding: "ieee-p1363" }, Buffer.from(s.result)));
  assert.equal((await cc.verify("ES256", sha256(data), s.result)).result, true);
  const bad = Buffer.from(s.result);
  bad[10] ^= 0x40;
  assert.equal((await cc.verify("ES256", sha256(data), bad)).result, false);
  const sd = await cc.signData("ES256", data);
  assert.ok(cryptoVerify("sha256", data, { key: pub, dsaEncoding: "ieee-p1363" }, Buffer.from(sd.result)));
  assert.equal((await cc.verifyData("ES256", data, sd.result)).result, true);
});

test("CryptographyClient oct: A256GCM with aad, A256KW wrap/unwrap; tampering is refused", async () => {
  const cc = cryptoClient(keys.oct.id);
  const plaintext = Buffer.from("hi there, GCM");
  const aad = Buffer.from("aad");
  const enc = await cc.encrypt({ algorithm: "A256GCM", plaintext, additionalAuthenticatedData: aad });
  assert.equal(enc.result.length, plaintext.length);
  assert.equal(enc.iv.length, 12);
  assert.equal(enc.authenticationTag.length, 16);
  const dec = await cc.decrypt({ algorithm: "A256GCM", ciphertext: enc.result, iv: enc.iv, authenticationTag: enc.authenticationTag, additionalAuthenticatedData: aad });
  assert.deepEqual(Buffer.from(dec.result), plaintext);
  await rejects4xx(cc.decrypt({ algorithm: "A256GCM", ciphertext: enc.result, iv: enc.iv, authenticationTag: enc.authenticationTag, additionalAuthenticatedData: Buffer.from("other") }));
  const cek = randomBytes(32);
  const w = await cc.wrapKey("A256KW", cek);
  assert.equal(w.result.length, 40, "RFC 3394: 8 bytes longer");
  assert.deepEqual(Buffer.from((await cc.unwrapKey("A256KW", w.result)).result), cek);
  const bad = Buffer.from(w.result);
  bad[0] ^= 1;
  await rejects4xx(cc.unwrapKey("A256KW", bad));
});

// ---- Secure Key Release ----

// A simulated SGX quote (sim platform) whose REPORTDATA starts with SHA-256(runtime data), as
// in attestation.test.mjs.
function simQuote(rtd) {
  const out = join(tmp, `q-${Math.random().toString(16).slice(2)}.dat`);
  execFileSync(cloak, ["enclave", "quote", image, "--report-data", sha256(rtd).toString("hex"), "--platform-dir", platformDir, "-o", out], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  return readFileSync(out);
}

// The workload's key-encryption key (RSA 2048) and an attestation token whose x-ms-runtime
// carries its public half, from `cloak attest serve` through the official attestation SDK.
const kek = generateKeyPairSync("rsa", { modulusLength: 2048 });
let targetToken;
async function target() {
  if (targetToken) return targetToken;
  const pub = kek.publicKey.export({ format: "jwk" });
  const rtd = Buffer.from(JSON.stringify({ keys: [{ kid: "interop-kek", kty: "RSA", key_ops: ["encrypt"], n: pub.n, e: pub.e }] }));
  const ac = new AttestationClient(attestUrl);
  const res = await ac.attestSgxEnclave(simQuote(rtd), { runTimeJson: rtd });
  const body = res.token.getBody();
  // what the release policy and the vault read from the token
  assert.equal(body["x-ms-sgx-is-debuggable"], false, "simulated quotes are non-debug");
  assert.equal(body.iss, attestUrl);
  assert.equal(body["x-ms-runtime"].keys[0].kid, "interop-kek");
  targetToken = res.token.serialize();
  return targetToken;
}

// Open a release result: verify the JWS with the certificate in its x5c header, then unwrap
// key_hsm (CKM_RSA_AES_KEY_WRAP: RSA-OAEP-SHA1 of an AES-256 key || RFC 5649 wrap of the key).
async function openRelease(value, expectedKid) {
  const hdr = decodeProtectedHeader(value);
  assert.ok(Array.isArray(hdr.x5c) && hdr.x5c.length >= 1, "the release JWS carries its certificate");
  const pem = `-----BEGIN CERTIFICATE-----\n${hdr.x5c[0]}\n-----END CERTIFICATE-----`;
  const { payload } = await compactVerify(value, await importX509(pem, hdr.alg));
  const body = JSON.parse(Buffer.from(payload).toString());
  const bundle = body.response.key;
  assert.equal(bundle.key.kid, expectedKid);
  const kh = JSON.parse(Buffer.from(bundle.key.key_hsm, "base64url").toString());
  assert.equal(kh.schema_version, "1.0");
  assert.equal(kh.header.kid, "interop-kek");
  assert.equal(kh.header.alg, "dir");
  assert.equal(kh.header.enc, "CKM_RSA_AES_KEY_WRAP");
  const ct = Buffer.from(kh.ciphertext, "base64url");
  const aesKey = privateDecrypt({ key: kek.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" }, ct.subarray(0, 256));
  assert.equal(aesKey.length, 32, "an AES-256 wrapping key");
  const d = createDecipheriv("id-aes256-wrap-pad", aesKey, Buffer.from("A65959A6", "hex"));
  return { body, key: Buffer.concat([d.update(ct.subarray(256)), d.final()]) };
}

test("releaseKey: the released RSA key is a PKCS#8 key matching n/e, and decrypts what the vault encrypted", async () => {
  const k = keys.rsaRelease;
  const t = await target();
  const rel = await client.releaseKey("rsa-release", t, { algorithm: "CKM_RSA_AES_KEY_WRAP", nonce: "interop-nonce-1" });
  assert.equal(typeof rel.value, "string");
  const { key: der } = await openRelease(rel.value, k.id);
  const priv = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const pj = priv.export({ format: "jwk" });
  assert.equal(pj.kty, "RSA");
  assert.equal(pj.n, b64u(k.key.n));
  assert.equal(pj.e, b64u(k.key.e));
  // the vault encrypts (RSA-OAEP-256 runs on the server), the released key decrypts
  const enc = await cryptoClient(k.id).encrypt({ algorithm: "RSA-OAEP-256", plaintext: Buffer.from("for the enclave") });
  const pt = privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, Buffer.from(enc.result));
  assert.equal(pt.toString(), "for the enclave");
  // by version too
  const rel2 = await client.releaseKey("rsa-release", t, { version: k.properties.version, nonce: "interop-nonce-2" });
  const { key: der2 } = await openRelease(rel2.value, k.id);
  assert.equal(createPrivateKey({ key: der2, format: "der", type: "pkcs8" }).export({ format: "jwk" }).n, pj.n);
});

test("releaseKey refusals: replayed nonce, key without a policy, policy not met", async () => {
  const t = await target();
  await rejects4xx(client.releaseKey("rsa-release", t, { algorithm: "CKM_RSA_AES_KEY_WRAP", nonce: "interop-nonce-1" }));
  await rejects4xx(client.releaseKey("rsa-ops", t, { nonce: "interop-nonce-3" }));
  await client.createRsaKey("rsa-debug-only", { keySize: 2048, exportable: true, releasePolicy: releasePolicyFor(true) });
  await rejects4xx(client.releaseKey("rsa-debug-only", t, { nonce: "interop-nonce-4" }));
  await rejects4xx(client.releaseKey("rsa-release", "not.a.token", { nonce: "interop-nonce-5" }));
});

test("releaseKey of an oct-HSM key: node checks the vault's A256GCM and A256KW with the released bytes", async () => {
  const k = await client.createOctKey("oct-release", { hsm: true, keySize: 256, exportable: true, releasePolicy: releasePolicyFor(false), keyOps: ALL_OPS.slice(0, 4) });
  const cc = cryptoClient(k.id);
  const plaintext = Buffer.from("sealed by the vault");
  const aad = Buffer.from("header");
  const enc = await cc.encrypt({ algorithm: "A256GCM", plaintext, additionalAuthenticatedData: aad });
  const cek = randomBytes(32);
  const wrapped = (await cc.wrapKey("A256KW", cek)).result;
  const rel = await client.releaseKey("oct-release", await target(), { nonce: "interop-nonce-6" });
  const { key } = await openRelease(rel.value, k.id);
  assert.equal(key.length, 32, "raw AES-256 key bytes");
  const d = createDecipheriv("aes-256-gcm", key, Buffer.from(enc.iv));
  d.setAAD(aad);
  d.setAuthTag(Buffer.from(enc.authenticationTag));
  assert.deepEqual(Buffer.concat([d.update(Buffer.from(enc.result)), d.final()]), plaintext);
  const w = createCipheriv("id-aes256-wrap", key, Buffer.from("A6A6A6A6A6A6A6A6", "hex"));
  assert.deepEqual(Buffer.concat([w.update(cek), w.final()]), Buffer.from(wrapped), "RFC 3394 is deterministic");
});
