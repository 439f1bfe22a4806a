#!/usr/bin/env node
// An independent Intel SGX DCAP quote v3 verifier, written against the spec (Intel DCAP ECDSA
// quote layout; shared/reference/attestation.md §1–2) with Node's built-in crypto only. It
// shares no code with cloak: it checks cloak's simulated quotes and, run on Intel's real
// sample, proves that it is itself right.
//
// usage: node dcap_verify.mjs --quote FILE --collateral DIR --root FILE(.pem|.der)
//                             [--time ISO8601|unix-seconds|none]
// The collateral directory has the dcap-qvl split layout: tcb_info_body.json, tcb_info.sig,
// qe_identity_body.json, qe_identity.sig, root_ca_crl.der, pck_crl.der,
// tcb_signing_chain.pem, pck_crl_issuer_chain.pem. --time defaults to now; "none" skips
// every validity-period check (certificates, CRLs, TCB info, QE identity).
// Prints one JSON object on stdout. Exit 0: every check passed. Exit 1: a check failed
// ({"ok":false,"reason":...}). Exit 2: bad usage.
import { X509Certificate, createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

class CheckFailed extends Error {}
function check(cond, reason) {
  if (!cond) throw new CheckFailed(reason);
}

const INTEL_QE_VENDOR = '939a7233f79c4ca9940a0db3957f0607';
const SGX_EXT_OID = '1.2.840.113741.1.13.1';
const STATUS_RANK = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked'];

// ---- minimal DER reader (X.690): enough for certificates, CRLs and the SGX extension ----
function derNode(buf, off) {
  check(off + 2 <= buf.length, 'DER: truncated header');
  const tag = buf[off];
  let len = buf[off + 1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    check(n >= 1 && n <= 4 && off + 2 + n <= buf.length, 'DER: bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i];
    hdr += n;
  }
  const start = off + hdr;
  check(start + len <= buf.length, 'DER: value runs past the end');
  return { tag, start, end: start + len, off, value: buf.subarray(start, start + len),
    raw: buf.subarray(off, start + len) };
}
function derChildren(buf, node) {
  const out = [];
  for (let off = node.start; off < node.end;) {
    const c = derNode(buf, off);
    check(c.end <= node.end, 'DER: child runs past its parent');
    out.push(c);
    off = c.end;
  }
  return out;
}
function oidText(bytes) {
  const arcs = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) { arcs.push(v); v = 0; }
  }
  const first = arcs.shift();
  const a0 = first < 80 ? Math.floor(first / 40) : 2;
  return [a0, first - a0 * 40, ...arcs].join('.');
}
function derUint(bytes) {
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  return v;
}
function derTime(node) { // UTCTime (0x17) or GeneralizedTime (0x18)
  const s = node.value.toString('latin1');
  let m;
  if (node.tag === 0x17 && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const yy = +m[1];
    return Date.UTC(yy < 50 ? 2000 + yy : 1900 + yy, m[2] - 1, m[3], m[4], m[5], m[6]);
  }
  if (node.tag === 0x18 && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s)))
    return Date.UTC(+m[1], m[2] - 1, m[3], m[4], m[5], m[6]);
  throw new CheckFailed(`DER: bad time ${s}`);
}

// ---- certificates ----
function splitPem(text) {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) || [])
    .map((p) => new X509Certificate(p));
}
function certTbs(cert) { // -> { serial (hex), subject (DER), extensions: Map oid -> value }
  const der = cert.raw;
  const tbs = derChildren(der, derChildren(der, derNode(der, 0))[0]);
  let i = tbs[0].tag === 0xa0 ? 1 : 0; // [0] version
  const serial = tbs[i].value;
  const subject = tbs[i + 4].raw;
  const extensions = new Map();
  for (const f of tbs.slice(i + 6)) {
    if (f.tag !== 0xa3) continue;
    for (const ext of derChildren(der, derChildren(der, f)[0])) {
      const parts = derChildren(der, ext);
      extensions.set(oidText(parts[0].value), parts[parts.length - 1].value);
    }
  }
  return { serial: Buffer.from(serial).toString('hex').replace(/^(00)+(?=.)/, ''), subject, extensions };
}
function checkValidAt(cert, what, T) {
  if (T === null) return;
  check(Date.parse(cert.validFrom) <= T && T <= Date.parse(cert.validTo),
    `${what} is not valid at ${new Date(T).toISOString()} (${cert.validFrom} .. ${cert.validTo})`);
}
// cert must be issued and signed by issuer
function checkSignedBy(cert, issuer, what) {
  check(cert.checkIssued(issuer), `${what}: issuer name does not match ${issuer.subject.split('\n')[0]}`);
  check(cert.verify(issuer.publicKey), `${what}: certificate signature does not verify under its issuer`);
}

// The Intel SGX PCK extension (attestation.md §2 step 4).
function parseSgxExtension(value) {
  const top = derNode(value, 0);
  const out = { comp: [] };
  for (const item of derChildren(value, top)) {
    const [oidNode, v] = derChildren(value, item);
    const oid = oidText(oidNode.value);
    if (oid === `${SGX_EXT_OID}.1`) out.ppid = v.value.toString('hex');
    else if (oid === `${SGX_EXT_OID}.3`) out.pceid = v.value.toString('hex');
    else if (oid === `${SGX_EXT_OID}.4`) out.fmspc = v.value.toString('hex');
    else if (oid === `${SGX_EXT_OID}.5`) out.sgxType = derUint(v.value);
    else if (oid === `${SGX_EXT_OID}.2`) {
      for (const t of derChildren(value, v)) {
        const [o2, v2] = derChildren(value, t);
        const arcs = oidText(o2.value).slice(SGX_EXT_OID.length + 3); // after ".2."
        const n = +arcs;
        if (n >= 1 && n <= 16) { check(v2.tag === 0x02, 'SGX ext: comp svn not INTEGER'); out.comp[n - 1] = derUint(v2.value); }
        else if (n === 17) out.pcesvn = derUint(v2.value);
        else if (n === 18) out.cpusvn = v2.value.toString('hex');
      }
    }
  }
  check(out.fmspc && out.fmspc.length === 12, 'PCK SGX extension has no 6-byte FMSPC');
  check(out.pceid && out.pceid.length === 4, 'PCK SGX extension has no 2-byte PCE-ID');
  check(out.comp.length === 16 && out.comp.every((x) => Number.isInteger(x)), 'PCK SGX extension lacks 16 comp SVNs');
  check(Number.isInteger(out.pcesvn), 'PCK SGX extension has no PCESVN');
  return out;
}

// CRL: signed by issuer, issuer name matches, valid at T; returns the revoked serials (hex).
function checkCrl(der, issuer, what, T) {
  const top = derNode(der, 0);
  const [tbs, , sigBits] = derChildren(der, top);
  check(sigBits && sigBits.tag === 0x03 && sigBits.value[0] === 0, `${what}: bad signature BIT STRING`);
  check(verify('sha256', tbs.raw, { key: issuer.publicKey, dsaEncoding: 'der' }, sigBits.value.subarray(1)),
    `${what}: CRL signature does not verify under ${issuer.subject.split('\n')[0]}`);
  const f = derChildren(der, tbs);
  let i = f[0].tag === 0x02 ? 1 : 0; // version
  check(f[i + 1].raw.equals(certTbs(issuer).subject), `${what}: CRL issuer is not ${issuer.subject.split('\n')[0]}`);
  const thisUpdate = derTime(f[i + 2]);
  let j = i + 3;
  let nextUpdate = null;
  if (f[j] && (f[j].tag === 0x17 || f[j].tag === 0x18)) nextUpdate = derTime(f[j++]);
  if (T !== null) {
    check(thisUpdate <= T && (nextUpdate === null || T <= nextUpdate), `${what}: CRL is not valid at ${new Date(T).toISOString()}`);
  }
  const revoked = [];
  if (f[j] && f[j].tag === 0x30) {
    for (const entry of derChildren(der, f[j])) {
      revoked.push(Buffer.from(derChildren(der, entry)[0].value).toString('hex').replace(/^(00)+(?=.)/, ''));
    }
  }
  return revoked;
}

// body + raw r||s signature under the signing cert of tcb_signing_chain.pem (chained to root)
function checkSignedJson(dir, bodyName, sigName, signer, T) {
  const body = readFileSync(join(dir, bodyName));
  const sig = readFileSync(join(dir, sigName));
  check(sig.length === 64, `${sigName} is ${sig.length} bytes, not 64 (raw r||s)`);
  check(verify('sha256', body, { key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, sig),
    `${sigName} does not verify over ${bodyName} under the TCB signing certificate`);
  const j = JSON.parse(body.toString('utf8'));
  if (T !== null) {
    check(Date.parse(j.issueDate) <= T && T <= Date.parse(j.nextUpdate),
      `${bodyName} is not valid at ${new Date(T).toISOString()} (${j.issueDate} .. ${j.nextUpdate})`);
  }
  return j;
}

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(quote|collateral|root|time)(?:=(.*))?$/.exec(argv[i]);
    if (!m) return null;
    a[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
  }
  if (!a.quote || !a.collateral || !a.root) return null;
  if (a.time === undefined) a.T = Date.now();
  else if (a.time === 'none') a.T = null;
  else if (/^\d+$/.test(a.time)) a.T = Number(a.time) * 1000;
  else a.T = Date.parse(a.time);
  if (Number.isNaN(a.T)) return null;
  return a;
}

function verifyQuote(a) {
  const T = a.T;
  const q = readFileSync(a.quote);
  const pinnedRoot = new X509Certificate(readFileSync(a.root));

  // 1. header (48) + SGX report body (384) + u32 signature data length
  check(q.length >= 436, `quote is ${q.length} bytes, shorter than header+body+length (436)`);
  check(q.readUInt16LE(0) === 3, `quote version ${q.readUInt16LE(0)}, expected 3`);
  check(q.readUInt16LE(2) === 2, `attestation key type ${q.readUInt16LE(2)}, expected 2 (ECDSA P-256)`);
  check(q.readUInt32LE(4) === 0, 'tee_type is not 0 (SGX)');
  check(q.subarray(12, 28).toString('hex') === INTEL_QE_VENDOR, 'QE vendor id is not Intel\'s');
  const signed = q.subarray(0, 432);
  const body = q.subarray(48, 432);
  const sdLen = q.readUInt32LE(432);
  check(436 + sdLen <= q.length, `signature data length ${sdLen} runs past the quote (${q.length} bytes)`);
  const sd = q.subarray(436, 436 + sdLen);
  check(sd.length >= 584, 'signature data too short');
  const quoteSig = sd.subarray(0, 64);
  const attPub = sd.subarray(64, 128);
  const qeReport = sd.subarray(128, 512);
  const qeSig = sd.subarray(512, 576);
  const authLen = sd.readUInt16LE(576);
  check(578 + authLen + 6 <= sd.length, 'QE auth data runs past the signature data');
  const auth = sd.subarray(578, 578 + authLen);
  let off = 578 + authLen;
  const certType = sd.readUInt16LE(off);
  const certLen = sd.readUInt32LE(off + 2);
  check(certType === 5, `certification data type ${certType}, expected 5 (PCK chain)`);
  check(off + 6 + certLen === sd.length, 'certification data does not end where the signature data ends');
  const certData = sd.subarray(off + 6, off + 6 + certLen);

  // 6. quote signature by the attestation key over [0,432)
  let attKey;
  try {
    attKey = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: attPub.subarray(0, 32).toString('base64url'),
      y: attPub.subarray(32, 64).toString('base64url') }, format: 'jwk' });
  } catch (e) {
    throw new CheckFailed(`the attestation key in the quote is not a P-256 point (${e.message})`);
  }
  check(verify('sha256', signed, { key: attKey, dsaEncoding: 'ieee-p1363' }, quoteSig),
    'quote signature does not verify under the attestation key (signed region [0,432))');

  // 2. PCK chain leaf -> intermediate -> root, root = the pinned root
  const chain = splitPem(certData.toString('latin1'));
  check(chain.length === 3, `PCK chain has ${chain.length} certificates, expected 3`);
  const [leaf, inter, root] = chain;
  check(root.raw.equals(pinnedRoot.raw), 'the chain\'s root is not the pinned root certificate');
  checkSignedBy(root, root, 'root');
  checkSignedBy(inter, root, 'PCK CA');
  checkSignedBy(leaf, inter, 'PCK leaf');
  check(root.ca && inter.ca && !leaf.ca, 'basicConstraints: root and PCK CA must be CAs, the leaf must not');
  checkValidAt(root, 'root certificate', T);
  checkValidAt(inter, 'PCK CA certificate', T);
  checkValidAt(leaf, 'PCK leaf certificate', T);

  // 5. QE report signature by the PCK leaf key, and the attestation key binding
  check(verify('sha256', qeReport, { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, qeSig),
    'QE report signature does not verify under the PCK leaf key');
  const bind = createHash('sha256').update(attPub).update(auth).digest();
  check(qeReport.subarray(320, 352).equals(bind), 'QE REPORTDATA[0:32] != SHA-256(attestation key || QE auth data)');
  check(qeReport.subarray(352, 384).every((b) => b === 0), 'QE REPORTDATA[32:64] is not zero');

  // 4. PCK SGX extension
  const leafTbs = certTbs(leaf);
  const extValue = leafTbs.extensions.get(SGX_EXT_OID);
  check(extValue, `PCK leaf has no SGX extension ${SGX_EXT_OID}`);
  const sgx = parseSgxExtension(extValue);

  // 7./8. TCB info and QE identity: signed by the TCB signing cert, which chains to the root
  const signingChain = splitPem(readFileSync(join(a.collateral, 'tcb_signing_chain.pem'), 'latin1'));
  check(signingChain.length >= 2, 'tcb_signing_chain.pem must hold the signing cert and the root');
  const signer = signingChain[0];
  check(signingChain[signingChain.length - 1].raw.equals(pinnedRoot.raw), 'tcb_signing_chain.pem does not end in the pinned root');
  checkSignedBy(signer, pinnedRoot, 'TCB signing certificate');
  checkValidAt(signer, 'TCB signing certificate', T);
  const tcbInfo = checkSignedJson(a.collateral, 'tcb_info_body.json', 'tcb_info.sig', signer, T);
  const qeId = checkSignedJson(a.collateral, 'qe_identity_body.json', 'qe_identity.sig', signer, T);

  // 3. revocation: root CRL (PCK CA, TCB signer not listed), PCK CRL (leaf not listed)
  const rootRevoked = checkCrl(readFileSync(join(a.collateral, 'root_ca_crl.der')), pinnedRoot, 'root_ca_crl.der', T);
  const interSerial = certTbs(inter).serial;
  check(!rootRevoked.includes(interSerial), 'the PCK CA certificate is revoked');
  check(!rootRevoked.includes(certTbs(signer).serial), 'the TCB signing certificate is revoked');
  const crlChain = splitPem(readFileSync(join(a.collateral, 'pck_crl_issuer_chain.pem'), 'latin1'));
  check(crlChain.length >= 2 && crlChain[crlChain.length - 1].raw.equals(pinnedRoot.raw), 'pck_crl_issuer_chain.pem does not end in the pinned root');
  checkSignedBy(crlChain[0], pinnedRoot, 'PCK CRL issuer');
  const pckRevoked = checkCrl(readFileSync(join(a.collateral, 'pck_crl.der')), inter, 'pck_crl.der', T);
  check(!pckRevoked.includes(leafTbs.serial), 'the PCK leaf certificate is revoked');

  // 7. TCB info matches the platform
  check(tcbInfo.id === 'SGX' && (tcbInfo.version === 2 || tcbInfo.version === 3), `tcbInfo id/version ${tcbInfo.id}/${tcbInfo.version}`);
  check(String(tcbInfo.fmspc).toLowerCase() === sgx.fmspc, `tcbInfo fmspc ${tcbInfo.fmspc} != PCK FMSPC ${sgx.fmspc}`);
  check(String(tcbInfo.pceId).toLowerCase() === sgx.pceid, `tcbInfo pceId ${tcbInfo.pceId} != PCK PCE-ID ${sgx.pceid}`);

  // 8. QE identity matches the QE report
  check(qeId.id === 'QE' && qeId.version === 2, `QE identity id/version ${qeId.id}/${qeId.version}`);
  check(String(qeId.mrsigner).toLowerCase() === qeReport.subarray(128, 160).toString('hex'), 'QE identity mrsigner != QE report MRSIGNER');
  check(qeId.isvprodid === qeReport.readUInt16LE(256), 'QE identity isvprodid != QE report ISVPRODID');
  const misc = qeReport.readUInt32LE(16);
  check(((misc & parseInt(qeId.miscselectMask, 16)) >>> 0) === (parseInt(qeId.miscselect, 16) >>> 0), 'QE MISCSELECT does not match the QE identity under its mask');
  const attrs = Buffer.from(qeId.attributes, 'hex');
  const mask = Buffer.from(qeId.attributesMask, 'hex');
  check(attrs.length === 16 && mask.length === 16, 'QE identity attributes must be 16 bytes');
  for (let i = 0; i < 16; i++) check((qeReport[48 + i] & mask[i]) === attrs[i], 'QE ATTRIBUTES do not match the QE identity under its mask');
  const qeSvn = qeReport.readUInt16LE(258);
  const qeLevel = qeId.tcbLevels.find((l) => l.tcb.isvsvn <= qeSvn);
  check(qeLevel, `QE ISVSVN ${qeSvn} is below every QE identity TCB level`);

  // 9. platform TCB level: first level with every comp svn and the pcesvn at or below the PCK's
  const level = tcbInfo.tcbLevels.find((l) => {
    const comps = l.tcb.sgxtcbcomponents;
    check(Array.isArray(comps) && comps.length === 16, 'tcbLevel without 16 sgxtcbcomponents');
    return comps.every((c, i) => sgx.comp[i] >= c.svn) && sgx.pcesvn >= l.tcb.pcesvn;
  });
  check(level, 'TCB level not supported: the PCK TCB is below every tcbInfo level');
  const worst = [level.tcbStatus, qeLevel.tcbStatus].sort((x, y) => STATUS_RANK.indexOf(y) - STATUS_RANK.indexOf(x))[0];

  const flags = body.readBigUInt64LE(48);
  return {
    ok: true,
    mrenclave: body.subarray(64, 96).toString('hex'),
    mrsigner: body.subarray(128, 160).toString('hex'),
    isvprodid: body.readUInt16LE(256),
    isvsvn: body.readUInt16LE(258),
    reportdata: body.subarray(320, 384).toString('hex'),
    debug: (flags & 2n) !== 0n,
    cpusvn: body.subarray(0, 16).toString('hex'),
    fmspc: sgx.fmspc,
    pceid: sgx.pceid,
    pcesvn: sgx.pcesvn,
    tcbStatus: worst,
    platformTcbStatus: level.tcbStatus,
    qeTcbStatus: qeLevel.tcbStatus,
    advisoryIDs: [...new Set([...(level.advisoryIDs || []), ...(qeLevel.advisoryIDs || [])])],
    time: T === null ? null : new Date(T).toISOString(),
  };
}

const args = parseArgs(process.argv.slice(2));
if (!args) {
  process.stderr.write('usage: node dcap_verify.mjs --quote FILE --collateral DIR --root FILE [--time ISO|unix|none]\n');
  process.exit(2);
}
try {
  process.stdout.write(JSON.stringify(verifyQuote(args)) + '\n');
  process.exit(0);
} catch (e) {
  const reason = e instanceof CheckFailed ? e.message : `${e.name}: ${e.message}`;
  process.stdout.write(JSON.stringify({ ok: false, reason }) + '\n');
  process.stderr.write(`dcap_verify: REJECTED: ${reason}\n`);
  process.exit(1);
}
