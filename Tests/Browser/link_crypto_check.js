// Runs in Chromium beside link-crypto.js (loaded as a classic <script>): checks it against the vectors libsodium made
// (vectors.json and the files it names, written by Tests/GalleryTests/LinkCryptoTests.swift). Driven by
// link_crypto_browser.py: runCheck(name) resolves to {ok, failures: [...], notes: [...]}.
'use strict';

const K = window.KeepsakeLinkCrypto;
let vectorsPromise = null;

function vectors() {
  if (!vectorsPromise) vectorsPromise = fetch('vectors.json').then((r) => r.json());
  return vectorsPromise;
}

async function load(name) {
  const response = await fetch(name);
  if (!response.ok) throw new Error('fetch ' + name + ': ' + response.status);
  return new Uint8Array(await response.arrayBuffer());
}

function hex(bytes) { return K.hexEncode(bytes); }
function fromHex(text) { return K.hexDecode(text); }

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) { out.set(p, pos); pos += p.length; }
  return out;
}

// A deterministic generator for the piece sizes, so a failure can be replayed.
function rng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
}

/** Feeds sealed to a fresh opener in pieces of random sizes up to maxPiece; the concatenated plaintext. */
function openInPieces(key, sealed, chunkSize, seed, maxPiece) {
  const next = rng(seed);
  const opener = K.createOpener(key, chunkSize);
  const parts = [];
  let pos = 0;
  while (pos < sealed.length) {
    const size = Math.min(sealed.length - pos, next(maxPiece + 1));  // 0-byte pieces too
    parts.push(...opener.push(sealed.subarray(pos, pos + size)));
    pos += size;
  }
  parts.push(...opener.finish());
  return concat(parts);
}

async function openThroughStream(key, sealed, chunkSize, pieceSize) {
  const source = new ReadableStream({
    start(controller) {
      for (let pos = 0; pos < sealed.length; pos += pieceSize) controller.enqueue(sealed.slice(pos, pos + pieceSize));
      controller.close();
    },
  });
  const parts = [];
  const reader = source.pipeThrough(K.createOpenerStream(key, chunkSize)).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return concat(parts);
}

const checks = {
  // init_pull / pull, chunk by chunk, against libsodium's push: messages, tags (PUSH, REKEY, FINAL), additional data,
  // the counter wrapping; a forged chunk throws and leaves the state able to open the genuine one.
  async chunks(v, failures, notes) {
    let pulled = 0;
    for (const c of v.chunks) {
      const state = K.init_pull(fromHex(c.header), fromHex(c.key));
      if (c.counter !== undefined && c.counter !== null) state.nonce[0] = c.counter;
      c.chunks.forEach((chunk, i) => {
        const sealed = fromHex(chunk.sealed);
        const forged = sealed.slice();
        forged[(7 * i + 3) % forged.length] ^= 1 << (i % 8);
        try {
          state.pull(forged, fromHex(chunk.ad));
          failures.push(`${c.name} chunk ${i}: a forged chunk was accepted`);
        } catch (e) {
          if (!(e instanceof K.SecretStreamError) || e.kind !== 'authentication') failures.push(`${c.name} chunk ${i}: forged chunk threw ${e}`);
        }
        try {
          const { message, tag } = state.pull(sealed, fromHex(chunk.ad));
          if (hex(message) !== chunk.message) failures.push(`${c.name} chunk ${i}: message differs from libsodium's`);
          if (tag !== chunk.tag) failures.push(`${c.name} chunk ${i}: tag ${tag}, libsodium's ${chunk.tag}`);
          pulled++;
        } catch (e) { failures.push(`${c.name} chunk ${i}: ${e}`); }
      });
    }
    notes.push(`${pulled} chunks of ${v.chunks.length} streams`);
  },

  async 'open-whole'(v, failures, notes) {
    for (const s of v.streams) {
      const [sealed, plain] = await Promise.all([load(s.sealed), load(s.plain)]);
      try {
        const opened = K.openSecretStream(fromHex(s.key), sealed, s.chunkSize);
        if (!sameBytes(opened, plain)) failures.push(`${s.name}: plaintext differs from libsodium's`);
      } catch (e) { failures.push(`${s.name}: ${e}`); }
    }
    notes.push(`${v.streams.length} objects`);
  },

  async 'open-streaming'(v, failures, notes) {
    for (const [n, s] of v.streams.entries()) {
      const [sealed, plain] = await Promise.all([load(s.sealed), load(s.plain)]);
      const key = fromHex(s.key);
      const feeds = [
        ['random pieces', () => openInPieces(key, sealed, s.chunkSize, 1000 + n, Math.min(2 * s.chunkSize + 40, 1 << 20))],
        ['one push', () => openInPieces(key, sealed, s.chunkSize, 1, sealed.length)],
        ['a TransformStream', () => openThroughStream(key, sealed, s.chunkSize, 65536 + 3)],
      ];
      if (sealed.length < 5000) feeds.push(['single bytes', () => openInPieces(key, sealed, s.chunkSize, 7, 1)]);
      for (const [how, open] of feeds) {
        try {
          if (!sameBytes(await open(), plain)) failures.push(`${s.name} (${how}): plaintext differs from libsodium's`);
        } catch (e) { failures.push(`${s.name} (${how}): ${e}`); }
      }
    }
    notes.push(`${v.streams.length} objects, each fed 3 or 4 ways`);
  },

  async 'refuse-tampered'(v, failures, notes) {
    const refusedWith = (name, how, run, kind) => {
      try {
        run();
        failures.push(`${name} (${how}): accepted`);
      } catch (e) {
        if (!(e instanceof K.SecretStreamError)) failures.push(`${name} (${how}): threw ${e}, not a SecretStreamError`);
        else if (kind && e.kind !== kind) failures.push(`${name} (${how}): refused as ${e.kind}, not ${kind}`);
      }
    };
    for (const t of v.tampered) {
      const sealed = await load(t.sealed);
      const key = fromHex(t.key);
      refusedWith(t.name, 'whole', () => K.openSecretStream(key, sealed, t.chunkSize), t.kind);
      refusedWith(t.name, 'pieces', () => openInPieces(key, sealed, t.chunkSize, 99, 2 * t.chunkSize + 40), t.kind);
    }
    notes.push(`${v.tampered.length} tampered objects`);
  },

  async blake2b(v, failures, notes) {
    for (const h of v.hashes) {
      const input = (await load(h.input)).subarray(h.offset, h.offset + h.length);
      if (hex(K.blake2b(input)) !== h.digest) failures.push(`${h.name}: digest differs from libsodium's`);
      const next = rng(h.length + 5);
      const hasher = new K.Blake2b();
      for (let pos = 0; pos < input.length;) {
        const size = Math.min(input.length - pos, next(300));
        hasher.update(input.subarray(pos, pos + size));
        pos += size;
      }
      if (hex(hasher.final()) !== h.digest) failures.push(`${h.name} (in pieces): digest differs from libsodium's`);
    }
    notes.push(`${v.hashes.length} inputs`);
  },

  async encoding(v, failures, notes) {
    for (const e of v.encodings) {
      const bytes = fromHex(e.hex);
      if (K.base64urlEncode(bytes) !== e.base64url) failures.push(`base64url of ${e.hex}: ${K.base64urlEncode(bytes)}, Foundation's ${e.base64url}`);
      try {
        if (hex(K.base64urlDecode(e.base64url)) !== e.hex.toLowerCase()) failures.push(`base64url decode of ${e.base64url} differs`);
      } catch (err) { failures.push(`base64url decode of ${e.base64url}: ${err}`); }
      if (hex(bytes) !== e.hex.toLowerCase()) failures.push(`hex round trip of ${e.hex}`);
      if (hex(K.base64urlDecode(K.base64urlEncode(bytes))) !== hex(bytes)) failures.push(`base64url round trip of ${e.hex}`);
    }
    for (const e of v.encodings) {
      const bytes = fromHex(e.hex);
      if (!K.equalBytes(bytes, bytes.slice())) failures.push(`equalBytes refuses two copies of ${e.hex}`);
      for (let i = 0; i < bytes.length; i++) {
        const other = bytes.slice();
        other[i] ^= 0x80;
        if (K.equalBytes(bytes, other)) failures.push(`equalBytes accepts ${e.hex} with byte ${i} changed`);
      }
      if (K.equalBytes(bytes, new Uint8Array(bytes.length + 1))) failures.push(`equalBytes accepts a longer array than ${e.hex}`);
    }
    for (const bad of v.invalidBase64url) {
      try { K.base64urlDecode(bad); failures.push(`base64url ${JSON.stringify(bad)} was accepted`); } catch (e) { /* refused */ }
    }
    for (const bad of v.invalidHex) {
      try { K.hexDecode(bad); failures.push(`hex ${JSON.stringify(bad)} was accepted`); } catch (e) { /* refused */ }
    }
    notes.push(`${v.encodings.length} byte strings, ${v.invalidBase64url.length + v.invalidHex.length} invalid texts`);
  },

  // A 20 MB original: decrypted whole and in 64 KiB pieces, then hashed, each timed (best of three).
  async throughput(v, failures, notes) {
    const t = v.throughput;
    const sealed = await load(t.sealed);
    const key = fromHex(t.key);
    const mb = t.size / 1e6;
    const best = (run) => {
      let fastest = Infinity, result;
      for (let i = 0; i < 3; i++) {
        const start = performance.now();
        result = run();
        fastest = Math.min(fastest, performance.now() - start);
      }
      return [result, fastest];
    };
    const [plain, openMs] = best(() => K.openSecretStream(key, sealed));
    const [streamed, streamMs] = best(() => openInPieces(key, sealed, K.CHUNK_SIZE, 3, 65536));
    const [digest, hashMs] = best(() => K.blake2b(plain));
    if (plain.length !== t.size) failures.push(`opened ${plain.length} bytes, not ${t.size}`);
    if (hex(digest) !== t.plainDigest) failures.push('the opened 20 MB differ from what libsodium sealed');
    if (!sameBytes(streamed, plain)) failures.push('the 20 MB fed in pieces differ from the whole');
    notes.push(`MEASURE secretstream open ${mb} MB: ${openMs.toFixed(0)} ms (${(mb / openMs * 1000).toFixed(0)} MB/s); ` +
      `in 64 KiB pieces: ${streamMs.toFixed(0)} ms (${(mb / streamMs * 1000).toFixed(0)} MB/s); ` +
      `BLAKE2b: ${hashMs.toFixed(0)} ms (${(mb / hashMs * 1000).toFixed(0)} MB/s)`);
  },
};

window.runCheck = async function runCheck(name) {
  const failures = [], notes = [];
  try {
    if (typeof KeepsakeLinkCrypto !== 'object' || KeepsakeLinkCrypto === null) throw new Error('link-crypto.js defined no global KeepsakeLinkCrypto');
    if (!checks[name]) throw new Error('no check ' + name);
    await checks[name](await vectors(), failures, notes);
  } catch (e) {
    failures.push(String(e && e.stack || e));
  }
  return { ok: failures.length === 0, failures: failures.slice(0, 40), failureCount: failures.length, notes };
};
