#!/usr/bin/env node
/*
 * A small CLI over Digital Bazaar's Data Integrity libraries, used by
 * tests/interop/test_node_interop.py to cross-check bpl's signing layer.
 *
 * Usage (JSON on stdin, JSON on stdout):
 *
 *   node di.mjs sign <suite>   {"document", "secretKeyMultibase", ["publicKeyMultibase"],
 *                               ["created"]}                    -> the signed document
 *   node di.mjs verify         <signed document>                -> verification report
 *   node di.mjs batch          [request, ...]                   -> [response, ...]
 *
 * <suite> is eddsa-jcs-2022 or eddsa-rdfc-2022. Signing a document that already has a
 * proof appends a proof to its proof set (jsonld-signatures' ProofSet.add).
 *
 * A batch request is {"op": "sign", "suite", ...the sign fields},
 * {"op": "verify", "document"} or {"op": "jcs", "value"}; a sign response is
 * {"ok": true, "document"} or {"ok": false, "error"}, a verify response is the
 * verification report, a jcs response {"ok": true, "canonical": "<RFC 8785 text>"}.
 *
 * The verification report:
 *   verified        every proof of the document verified, each one on its own and all of
 *                   them together through jsonld-signatures' proof-set verification
 *   libraryVerified jsonld-signatures' own top-level `verified` for the whole document:
 *                   true as soon as ANY matching proof verifies (see README)
 *   proofCount      how many proofs the document carries
 *   results         one entry per proof, in document order: {index, cryptosuite,
 *                   verificationMethod, verified, alone, inSet, errors}: `alone` when
 *                   the proof verifies on a copy of the document that carries only it,
 *                   `inSet` when it verified in the whole proof set; `verified` = both
 *   errors          messages of everything that went wrong
 *
 * Nothing is fetched: the document loader serves the project's local context files and
 * resolves did:key Ed25519 verification methods by decoding them; anything else throws.
 *
 * Exit status: 0 when the command ran (whatever the verification outcome), 2 for a usage
 * error, 1 for anything unexpected (message on stderr).
 */
import crypto from 'node:crypto';
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as base58btc from 'base58-universal';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {
  createSignCryptosuite as createJcsSignCryptosuite,
  createVerifyCryptosuite as createJcsVerifyCryptosuite
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {cryptosuite as rdfcCryptosuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import jsigs from 'jsonld-signatures';

const {purposes: {AssertionProofPurpose}} = jsigs;

const JCS = 'eddsa-jcs-2022';
const RDFC = 'eddsa-rdfc-2022';
const SUITES = [JCS, RDFC];

// ---------------------------------------------------------------------------------------
// Document loader: local files and did:key only.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';
const DID_V1 = 'https://www.w3.org/ns/did/v1';

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function loadContexts() {
  const files = {
    'https://www.w3.org/ns/credentials/v2': 'signing/contexts/credentials-v2.jsonld',
    'https://w3id.org/security/data-integrity/v2': 'signing/contexts/data-integrity-v2.jsonld',
    [MULTIKEY_V1]: 'signing/contexts/multikey-v1.jsonld',
    'https://www.w3.org/ns/credentials/examples/v2':
      'tests/vectors/jsonld-contexts/credentials-examples-v2.jsonld'
  };
  // The project's own contexts, exactly as the Python loader finds them.
  const index = readJson(join(ROOT, 'schemas', 'contexts', 'index.json'));
  for(const [url, name] of Object.entries(index)) {
    files[url] = join('schemas', 'contexts', name);
  }
  const contexts = new Map();
  for(const [url, file] of Object.entries(files)) {
    contexts.set(url, readJson(join(ROOT, file)));
  }
  return contexts;
}

const CONTEXTS = loadContexts();

// Multicodec ed25519-pub (0xed) as an unsigned varint.
const ED25519_PUB_HEADER = [0xed, 0x01];

function decodeEd25519Multibase(multibase, url) {
  if(typeof multibase !== 'string' || !multibase.startsWith('z')) {
    throw new Error(`did:key ${url}: not a base58btc multibase key`);
  }
  let bytes;
  try {
    bytes = base58btc.decode(multibase.slice(1));
  } catch(e) {
    throw new Error(`did:key ${url}: invalid base58btc (${e.message})`);
  }
  if(!(bytes.length === 34 && bytes[0] === ED25519_PUB_HEADER[0] &&
    bytes[1] === ED25519_PUB_HEADER[1])) {
    throw new Error(`did:key ${url}: not an Ed25519 public key (only those are served)`);
  }
  return bytes.slice(2);
}

function resolveDidKey(url) {
  const match = /^did:key:([^#/?]+)(?:#([^#/?]+))?$/.exec(url);
  if(!match) {
    throw new Error(`did:key ${url}: unsupported did:key URL`);
  }
  const [, multibase, fragment] = match;
  decodeEd25519Multibase(multibase, url);
  const did = `did:key:${multibase}`;
  const vmId = `${did}#${multibase}`;
  if(fragment !== undefined && fragment !== multibase) {
    throw new Error(`did:key ${url}: the fragment must repeat the key (${multibase})`);
  }
  const verificationMethod = {
    '@context': MULTIKEY_V1,
    id: vmId,
    type: 'Multikey',
    controller: did,
    publicKeyMultibase: multibase
  };
  if(fragment !== undefined) {
    return verificationMethod;
  }
  // The DID document. Its first @context is the DID v1 one, which lets
  // jsonld-signatures' ControllerProofPurpose read assertionMethod without framing, so
  // the DID context itself is never loaded.
  const {'@context': _ignored, ...vm} = verificationMethod;
  return {
    '@context': [DID_V1, MULTIKEY_V1],
    id: did,
    verificationMethod: [vm],
    authentication: [vmId],
    assertionMethod: [vmId],
    capabilityDelegation: [vmId],
    capabilityInvocation: [vmId]
  };
}

async function documentLoader(url) {
  if(CONTEXTS.has(url)) {
    return {
      contextUrl: null, documentUrl: url, document: structuredClone(CONTEXTS.get(url)),
      tag: 'static'
    };
  }
  if(typeof url === 'string' && url.startsWith('did:key:')) {
    return {contextUrl: null, documentUrl: url, document: resolveDidKey(url)};
  }
  throw new Error(
    `interop document loader: refusing to load ${JSON.stringify(url)} ` +
    '(only the local context files and did:key Ed25519 keys are served)');
}

// ---------------------------------------------------------------------------------------
// Keys.

// PKCS#8 prefix of a raw 32-byte Ed25519 seed, to derive the public key with node:crypto.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_PRIV_HEADER = [0x80, 0x26];

function publicMultibaseFromSecret(secretKeyMultibase) {
  if(typeof secretKeyMultibase !== 'string' || !secretKeyMultibase.startsWith('z')) {
    throw new Error('secretKeyMultibase must be a base58btc multibase string');
  }
  const bytes = base58btc.decode(secretKeyMultibase.slice(1));
  if(!(bytes.length === 34 && bytes[0] === ED25519_PRIV_HEADER[0] &&
    bytes[1] === ED25519_PRIV_HEADER[1])) {
    throw new Error('secretKeyMultibase is not an Ed25519 secret Multikey (0x8026 + 32 bytes)');
  }
  const privateKey = crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(bytes.slice(2))]),
    format: 'der',
    type: 'pkcs8'
  });
  const jwk = crypto.createPublicKey(privateKey).export({format: 'jwk'});
  const publicKey = Buffer.from(jwk.x, 'base64url');
  return 'z' + base58btc.encode(Uint8Array.from([...ED25519_PUB_HEADER, ...publicKey]));
}

async function signerFor({secretKeyMultibase, publicKeyMultibase}) {
  const derived = publicMultibaseFromSecret(secretKeyMultibase);
  if(publicKeyMultibase !== undefined && publicKeyMultibase !== derived) {
    throw new Error('publicKeyMultibase does not belong to secretKeyMultibase');
  }
  const did = `did:key:${derived}`;
  const keyPair = await Ed25519Multikey.from({
    '@context': MULTIKEY_V1,
    type: 'Multikey',
    id: `${did}#${derived}`,
    controller: did,
    publicKeyMultibase: derived,
    secretKeyMultibase
  });
  return keyPair.signer();
}

// ---------------------------------------------------------------------------------------
// Sign and verify.

function signingCryptosuite(suite) {
  if(suite === JCS) {
    return createJcsSignCryptosuite();
  }
  if(suite === RDFC) {
    return rdfcCryptosuite;
  }
  throw new Error(`unknown cryptosuite ${JSON.stringify(suite)} (known: ${SUITES.join(', ')})`);
}

async function sign({suite, document, secretKeyMultibase, publicKeyMultibase, created}) {
  if(!(document && typeof document === 'object' && !Array.isArray(document))) {
    throw new Error('"document" must be a JSON object');
  }
  const signer = await signerFor({secretKeyMultibase, publicKeyMultibase});
  const proofSuite = new DataIntegrityProof({
    signer, date: created, cryptosuite: signingCryptosuite(suite)
  });
  // jsigs.sign adds to the object it is given (and appends to an existing proof set).
  return jsigs.sign(structuredClone(document), {
    suite: proofSuite,
    purpose: new AssertionProofPurpose(),
    documentLoader
  });
}

function verifyingSuites() {
  return [
    new DataIntegrityProof({cryptosuite: createJcsVerifyCryptosuite()}),
    new DataIntegrityProof({cryptosuite: rdfcCryptosuite})
  ];
}

function messages(error) {
  if(error === undefined || error === null) {
    return [];
  }
  if(Array.isArray(error)) {
    return error.flatMap(messages);
  }
  if(Array.isArray(error.errors) && error.errors.length > 0) {
    return error.errors.flatMap(messages);
  }
  const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
  return [`${name}${error.message ?? String(error)}`];
}

function resultErrors(result) {
  return [
    ...messages(result.error),
    ...[].concat(result.purposeResult ?? [])
      .filter(p => p && p.valid === false)
      .flatMap(p => messages(p.error))
  ].filter((m, i, all) => all.indexOf(m) === i);
}

// jsonld-signatures lists results in the order their verifications finished, each with a
// copy of its proof (with the document's @context added, except for JCS proofs): find
// which proof of the document each result is about.
function matchResultsToProofs(results, proofs) {
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const matches = (proof, seen) => proof && typeof proof === 'object' && seen &&
    Object.keys(proof).every(k => same(proof[k], seen[k])) &&
    Object.keys(seen).every(k => k in proof || k === '@context');
  const byIndex = new Map();
  for(const result of results) {
    const index = proofs.findIndex((proof, i) => !byIndex.has(i) && matches(proof, result.proof));
    if(index >= 0) {
      byIndex.set(index, result);
    }
  }
  return byIndex;
}

async function jsigsVerify(document) {
  return jsigs.verify(document, {
    suite: verifyingSuites(),
    purpose: new AssertionProofPurpose(),
    documentLoader
  });
}

async function verify(document) {
  if(!(document && typeof document === 'object' && !Array.isArray(document))) {
    return {
      verified: false, libraryVerified: false, proofCount: 0, results: [],
      errors: ['the document must be a JSON object']
    };
  }
  const proofs = document.proof === undefined ? [] : [].concat(document.proof);
  const errors = [];

  // 1. The whole document through jsonld-signatures' proof-set verification.
  const whole = await jsigsVerify(structuredClone(document));
  const wholeResults = whole.results ?? [];
  if(!whole.verified || wholeResults.length !== proofs.length) {
    errors.push(...messages(whole.error));
  }
  if(wholeResults.length !== proofs.length) {
    errors.push(
      `jsonld-signatures checked ${wholeResults.length} of ${proofs.length} proofs ` +
      '(proofs matching no suite or purpose are skipped silently)');
  }
  const wholeByIndex = matchResultsToProofs(wholeResults, proofs);

  // 2. Each proof on its own, on a copy of the document that carries only that proof.
  const results = [];
  for(const [index, proof] of proofs.entries()) {
    const single = await jsigsVerify(structuredClone({...document, proof}));
    const singleResults = single.results ?? [];
    const fromWhole = wholeByIndex.get(index);
    const alone = single.verified === true && singleResults.length === 1 &&
      singleResults[0].verified === true;
    const inSet = fromWhole?.verified === true;
    const ok = alone && inSet;
    const proofErrors = [
      ...(singleResults.length ? singleResults.flatMap(resultErrors) : messages(single.error)),
      ...(fromWhole ? resultErrors(fromWhole) : ['not checked in the proof set'])
    ].filter((m, i, all) => all.indexOf(m) === i);
    results.push({
      index,
      cryptosuite: proof?.cryptosuite ?? null,
      verificationMethod: proof?.verificationMethod ?? null,
      verified: ok,
      alone,
      inSet,
      errors: ok ? [] : proofErrors
    });
  }
  if(proofs.length === 0) {
    errors.push('the document has no proof');
  }
  for(const r of results) {
    if(!r.verified) {
      errors.push(...r.errors.map(m => `proof ${r.index}: ${m}`));
    }
  }
  return {
    verified: proofs.length > 0 && results.every(r => r.verified) &&
      wholeResults.length === proofs.length && wholeResults.every(r => r.verified),
    libraryVerified: whole.verified === true,
    proofCount: proofs.length,
    results,
    errors: errors.filter((m, i, all) => all.indexOf(m) === i)
  };
}

async function handle(request) {
  if(!(request && typeof request === 'object')) {
    return {ok: false, error: 'a request must be a JSON object'};
  }
  if(request.op === 'sign') {
    try {
      return {ok: true, document: await sign(request)};
    } catch(e) {
      return {ok: false, error: messages(e).join('; ')};
    }
  }
  if(request.op === 'verify') {
    return verify(request.document);
  }
  if(request.op === 'jcs') {
    // The RFC 8785 canonical form eddsa-jcs-2022 hashes (the `canonicalize` package).
    try {
      return {ok: true, canonical: await createJcsVerifyCryptosuite().canonize(request.value)};
    } catch(e) {
      return {ok: false, error: messages(e).join('; ')};
    }
  }
  return {ok: false, error: `unknown op ${JSON.stringify(request.op)} (sign, verify, jcs)`};
}

// ---------------------------------------------------------------------------------------
// CLI.

function usage(message) {
  process.stderr.write(
    `${message}\nusage: node di.mjs sign <${SUITES.join('|')}> | verify | batch ` +
    '(JSON on stdin)\n');
  process.exit(2);
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch(e) {
    usage(`stdin is not JSON: ${e.message}`);
  }
}

async function main(argv) {
  const [command, ...rest] = argv;
  let output;
  if(command === 'sign') {
    if(rest.length !== 1 || !SUITES.includes(rest[0])) {
      usage(`sign needs one cryptosuite (${SUITES.join(', ')})`);
    }
    output = await sign({...await readStdin(), suite: rest[0]});
  } else if(command === 'verify') {
    if(rest.length) {
      usage('verify takes no arguments');
    }
    output = await verify(await readStdin());
  } else if(command === 'batch') {
    if(rest.length) {
      usage('batch takes no arguments');
    }
    const requests = await readStdin();
    if(!Array.isArray(requests)) {
      usage('batch reads a JSON array of requests');
    }
    output = [];
    for(const request of requests) {
      output.push(await handle(request));
    }
  } else {
    usage(`unknown command ${JSON.stringify(command ?? '')}`);
  }
  process.stdout.write(JSON.stringify(output) + '\n');
}

main(process.argv.slice(2)).catch(e => {
  process.stderr.write(`di.mjs: ${e?.stack ?? e}\n`);
  process.exit(1);
});
