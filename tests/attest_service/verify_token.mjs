// Independent check of a cloak attestation token with Node's own crypto (no cloak code):
// node verify_token.mjs TOKEN_FILE JWKS_FILE ISSUER
// Verifies RS256 under the JWKS key named by the header's kid, that x5c[0] holds the same
// key, and the issuer; prints "ok" or exits 1 with a reason.
import { readFileSync } from 'node:fs';
import crypto from 'node:crypto';

const [tokenFile, jwksFile, issuer] = process.argv.slice(2);
const token = readFileSync(tokenFile, 'utf8').trim();
const jwks = JSON.parse(readFileSync(jwksFile, 'utf8'));
const [h, p, s] = token.split('.');
const header = JSON.parse(Buffer.from(h, 'base64url').toString());
const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
const die = (m) => { console.error(m); process.exit(1); };
if (header.alg !== 'RS256') die(`alg ${header.alg}`);
const jwk = jwks.keys.find((k) => k.kid === header.kid);
if (!jwk) die(`no JWKS key with kid ${header.kid}`);
const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
const cert = new crypto.X509Certificate(Buffer.from(jwk.x5c[0], 'base64'));
if (!cert.publicKey.equals(key)) die('x5c[0] does not hold the JWK key');
const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
if (!ok) die('signature does not verify');
if (claims.iss !== issuer) die(`iss ${claims.iss} != ${issuer}`);
if (header.jku !== `${issuer}/certs`) die(`jku ${header.jku}`);
console.log('ok');
