/**
 * `npm run jwt:demo`: a demo signing key for the JWT walk-through, offline.
 *   npm run jwt:demo                         makes (or reuses) an ES256 key in .jwt-demo-key.json and
 *                                            writes its public key set to .dev.vars as JWT_JWKS
 *   npm run -s jwt:demo -- token alice [600]  prints a token for subject alice, valid 600 s
 *   npm run -s jwt:demo -- jwks               prints the public key set
 * The private key stays in .jwt-demo-key.json (git-ignored); it is for local use only.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";

const KEY_FILE = ".jwt-demo-key.json";
const KID = "demo-es256";

async function privateJwk(): Promise<JWK> {
  if (existsSync(KEY_FILE)) return JSON.parse(readFileSync(KEY_FILE, "utf8")) as JWK;
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: KID, alg: "ES256" };
  writeFileSync(KEY_FILE, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}

function publicSet(jwk: JWK): string {
  const { d: _private, ...pub } = jwk;
  return JSON.stringify({ keys: [pub] });
}

const [command = "setup", subject = "alice", ttl = "600"] = process.argv.slice(2);
const jwk = await privateJwk();
if (command === "jwks") {
  console.log(publicSet(jwk));
} else if (command === "token") {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub: subject, jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: "ES256", kid: KID })
    .setIssuedAt(now)
    .setExpirationTime(now + Number(ttl))
    .sign(await importJWK(jwk, "ES256"));
  console.log(token);
} else if (command === "setup") {
  if (!existsSync(".dev.vars")) copyFileSync(".dev.vars.example", ".dev.vars");
  const lines = readFileSync(".dev.vars", "utf8")
    .split("\n")
    .filter((l) => !l.startsWith("JWT_JWKS="));
  lines.push(`JWT_JWKS='${publicSet(jwk)}'`);
  writeFileSync(".dev.vars", `${lines.filter((l, i) => l !== "" || i < lines.length - 1).join("\n")}\n`);
  console.log(`jwt:demo: key ${KID} in ${KEY_FILE}; its public key set is JWT_JWKS in .dev.vars (restart npm run dev)`);
  console.log(`jwt:demo: a token: TOKEN=$(npm run -s jwt:demo -- token alice)`);
} else {
  console.error("usage: npm run jwt:demo [-- setup | jwks | token <subject> [ttl seconds]]");
  process.exit(2);
}
