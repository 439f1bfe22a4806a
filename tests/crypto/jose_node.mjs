// Independent JOSE peer for test_jose_node: Node.js built-in crypto only, no cloak code.
//   node jose_node.mjs verify <cases.json>  -- each case {alg, jwk, token, payload, expect}:
//        checks the signature with crypto.verify and the public JWK; prints one line per case,
//        exits 1 when any result differs from `expect` ("ok" or "bad").
//   node jose_node.mjs sign <out.json>      -- generates keys, signs a token per algorithm and
//        writes [{alg, jwk, token, payload}] for cloak to verify.
import crypto from 'node:crypto';
import fs from 'node:fs';

const ALGS = {
  RS256: { md: 'sha256', kind: 'rsa' }, RS384: { md: 'sha384', kind: 'rsa' }, RS512: { md: 'sha512', kind: 'rsa' },
  PS256: { md: 'sha256', kind: 'pss', salt: 32 }, PS384: { md: 'sha384', kind: 'pss', salt: 48 },
  PS512: { md: 'sha512', kind: 'pss', salt: 64 },
  ES256: { md: 'sha256', kind: 'ec', crv: 'P-256' }, ES384: { md: 'sha384', kind: 'ec', crv: 'P-384' },
  ES512: { md: 'sha512', kind: 'ec', crv: 'P-521' }, ES256K: { md: 'sha256', kind: 'ec', crv: 'secp256k1' },
};

function opts(a, key) {
  if (a.kind === 'ec') return { key, dsaEncoding: 'ieee-p1363' }; // RFC 7518 §3.4: r||s
  if (a.kind === 'pss') return { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: a.salt };
  return { key, padding: crypto.constants.RSA_PKCS1_PADDING };
}

function verify(c) {
  const a = ALGS[c.alg];
  const [h, p, s] = c.token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  if (header.alg !== c.alg) return `header alg ${header.alg}`;
  if (Buffer.from(p, 'base64url').toString('utf8') !== c.payload) return 'payload differs';
  const key = crypto.createPublicKey({ key: c.jwk, format: 'jwk' });
  const ok = crypto.verify(a.md, Buffer.from(`${h}.${p}`), opts(a, key), Buffer.from(s, 'base64url'));
  return ok ? 'ok' : 'bad';
}

const [mode, file] = process.argv.slice(2);
if (mode === 'verify') {
  let failed = 0;
  for (const c of JSON.parse(fs.readFileSync(file, 'utf8'))) {
    let got;
    try { got = verify(c); } catch (e) { got = `error: ${e.message}`; }
    const pass = got === c.expect;
    if (!pass) failed++;
    console.log(`${pass ? 'PASS' : 'FAIL'} ${c.alg} ${c.note || ''}: node says ${got}, expected ${c.expect}`);
  }
  process.exit(failed ? 1 : 0);
} else if (mode === 'sign') {
  const out = [];
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  for (const [alg, a] of Object.entries(ALGS)) {
    const kp = a.kind === 'ec' ? crypto.generateKeyPairSync('ec', { namedCurve: a.crv }) : rsa;
    const payload = JSON.stringify({ iss: 'node', alg, n: crypto.randomBytes(8).toString('hex') });
    const h = Buffer.from(JSON.stringify({ alg, kid: 'node-' + alg, typ: 'JWT' })).toString('base64url');
    const p = Buffer.from(payload).toString('base64url');
    const sig = crypto.sign(a.md, Buffer.from(`${h}.${p}`), opts(a, kp.privateKey)).toString('base64url');
    out.push({ alg, jwk: kp.publicKey.export({ format: 'jwk' }), token: `${h}.${p}.${sig}`, payload });
  }
  fs.writeFileSync(file, JSON.stringify(out));
} else {
  console.error('usage: node jose_node.mjs verify|sign <file>');
  process.exit(2);
}
